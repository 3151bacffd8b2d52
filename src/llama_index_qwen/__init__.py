"""LlamaIndex integration for Qwen on DashScope: ``Qwen`` (LLM) and ``QwenEmbedding``.

```python
from llama_index_qwen import Qwen, QwenEmbedding
```
Built on the ``qwen_dashscope`` transport (native DashScope protocol over httpx).
"""

from .embeddings import DEFAULT_EMBEDDING_MODEL, QwenEmbedding
from .llms import DEFAULT_MODEL, Qwen

__all__ = ["DEFAULT_EMBEDDING_MODEL", "DEFAULT_MODEL", "Qwen", "QwenEmbedding"]
