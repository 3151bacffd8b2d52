"""LangChain integration for Qwen on DashScope: ``ChatQwen``, ``QwenEmbeddings``,
``QwenMultimodalEmbeddings`` and ``QwenRerank``.

The classes are loaded on first use (PEP 562), so ``from langchain_qwen import QwenEmbeddings``
does not import the chat-model stack (``BaseChatModel``, the tracers). Importing ``ChatQwen``
registers its standard content-block translator (``model_provider="dashscope"``).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_qwen.chat_models import ChatQwen
    from langchain_qwen.embeddings import QwenEmbeddings
    from langchain_qwen.multimodal_embeddings import QwenMultimodalEmbeddings
    from langchain_qwen.rerank import QwenRerank

_LAZY = {
    "ChatQwen": "chat_models",
    "QwenEmbeddings": "embeddings",
    "QwenMultimodalEmbeddings": "multimodal_embeddings",
    "QwenRerank": "rerank",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and only those names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'langchain_qwen' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["ChatQwen", "QwenEmbeddings", "QwenMultimodalEmbeddings", "QwenRerank"]
