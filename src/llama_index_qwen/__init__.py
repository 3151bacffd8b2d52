"""LlamaIndex integration for Qwen on DashScope: ``Qwen`` (LLM), ``QwenEmbedding``,
``QwenMultiModalEmbedding`` and ``QwenRerank`` (a node postprocessor).

```python
from llama_index_qwen import Qwen, QwenEmbedding, QwenMultiModalEmbedding, QwenRerank
```
Built on the ``qwen_dashscope`` transport (native DashScope protocol over httpx). The classes
are loaded on first use (PEP 562): importing one does not import the others' modules.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .embeddings import DEFAULT_EMBEDDING_MODEL, QwenEmbedding
    from .llms import DEFAULT_MODEL, Qwen
    from .multi_modal_embeddings import QwenMultiModalEmbedding
    from .postprocessor import DEFAULT_RERANK_MODEL, QwenRerank

_LAZY = {
    "DEFAULT_EMBEDDING_MODEL": "embeddings",
    "QwenEmbedding": "embeddings",
    "DEFAULT_MODEL": "llms",
    "Qwen": "llms",
    "QwenMultiModalEmbedding": "multi_modal_embeddings",
    "DEFAULT_RERANK_MODEL": "postprocessor",
    "QwenRerank": "postprocessor",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and only those names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'llama_index_qwen' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_MODEL",
    "DEFAULT_RERANK_MODEL",
    "Qwen",
    "QwenEmbedding",
    "QwenMultiModalEmbedding",
    "QwenRerank",
]
