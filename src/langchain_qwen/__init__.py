"""LangChain integration for Qwen on DashScope: ``ChatQwen``, ``QwenEmbeddings``,
``QwenMultimodalEmbeddings`` and ``QwenRerank``."""

from langchain_qwen._blocks import register as _register_blocks
from langchain_qwen.chat_models import ChatQwen
from langchain_qwen.embeddings import QwenEmbeddings
from langchain_qwen.multimodal_embeddings import QwenMultimodalEmbeddings
from langchain_qwen.rerank import QwenRerank

_register_blocks()  # standard content blocks for model_provider="dashscope"

__all__ = ["ChatQwen", "QwenEmbeddings", "QwenMultimodalEmbeddings", "QwenRerank"]
