"""Factories for Qwen / QwenEmbedding pointed at the emulator, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope.testing import DashScopeEmulator

LLMFactory = Callable[..., Qwen]
EmbeddingFactory = Callable[..., QwenEmbedding]


@pytest.fixture
async def make_llm(emulator: DashScopeEmulator) -> AsyncIterator[LLMFactory]:
    created: list[Qwen] = []

    def factory(**kwargs: Any) -> Qwen:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        llm = Qwen(**kwargs)
        created.append(llm)
        return llm

    yield factory
    for llm in created:
        llm.close()
        await llm.aclose()


@pytest.fixture
async def make_embedding(emulator: DashScopeEmulator) -> AsyncIterator[EmbeddingFactory]:
    created: list[QwenEmbedding] = []

    def factory(**kwargs: Any) -> QwenEmbedding:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        embedding = QwenEmbedding(**kwargs)
        created.append(embedding)
        return embedding

    yield factory
    for embedding in created:
        embedding.close()
        await embedding.aclose()
