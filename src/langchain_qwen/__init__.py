"""LangChain integration for Qwen on DashScope: ``ChatQwen`` and ``QwenEmbeddings``."""

from langchain_qwen._blocks import register as _register_blocks
from langchain_qwen.chat_models import ChatQwen
from langchain_qwen.embeddings import QwenEmbeddings

_register_blocks()  # standard content blocks for model_provider="dashscope"

__all__ = ["ChatQwen", "QwenEmbeddings"]
