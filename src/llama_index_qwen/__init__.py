"""LlamaIndex integration for Qwen on DashScope: ``Qwen`` (LLM), ``QwenEmbedding``,
``QwenMultiModalEmbedding`` and ``QwenRerank`` (a node postprocessor).

```python
from llama_index_qwen import Qwen, QwenEmbedding, QwenMultiModalEmbedding, QwenRerank
```
Built on the ``qwen_dashscope`` transport (native DashScope protocol over httpx).
"""

from .embeddings import DEFAULT_EMBEDDING_MODEL, QwenEmbedding
from .llms import DEFAULT_MODEL, Qwen
from .multi_modal_embeddings import QwenMultiModalEmbedding
from .postprocessor import DEFAULT_RERANK_MODEL, QwenRerank

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_MODEL",
    "DEFAULT_RERANK_MODEL",
    "Qwen",
    "QwenEmbedding",
    "QwenMultiModalEmbedding",
    "QwenRerank",
]
