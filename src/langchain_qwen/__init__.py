"""LangChain integration for Qwen on DashScope: ``ChatQwen`` and ``QwenEmbeddings``."""

from langchain_qwen.chat_models import ChatQwen
from langchain_qwen.embeddings import QwenEmbeddings

__all__ = ["ChatQwen", "QwenEmbeddings"]
