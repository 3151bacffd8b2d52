"""LlamaIndex integration for Qwen on DashScope: ``Qwen`` (LLM) and ``QwenEmbedding``.

```python
from llama_index_qwen import Qwen, QwenEmbedding
```
Built on the ``qwen_dashscope`` transport (native DashScope protocol over httpx). Both classes
are loaded on first use (PEP 562): importing one does not import the other's module.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .embeddings import DEFAULT_EMBEDDING_MODEL, QwenEmbedding
    from .llms import DEFAULT_MODEL, Qwen

_LAZY = {
    "DEFAULT_EMBEDDING_MODEL": "embeddings",
    "QwenEmbedding": "embeddings",
    "DEFAULT_MODEL": "llms",
    "Qwen": "llms",
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


__all__ = ["DEFAULT_EMBEDDING_MODEL", "DEFAULT_MODEL", "Qwen", "QwenEmbedding"]
