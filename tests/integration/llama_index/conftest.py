"""Factories for Qwen / QwenEmbedding pointed at the emulator, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope.testing import DashScopeEmulator

LLMFactory = Callable[..., Qwen]
EmbeddingFactory = Callable[..., QwenEmbedding]


async def _factory(
    cls: type[Qwen] | type[QwenEmbedding], emulator: DashScopeEmulator
) -> AsyncIterator[Callable[..., Any]]:
    """Build ``cls`` pointed at the emulator (no retries); close every instance afterwards."""
    created: list[Qwen | QwenEmbedding] = []

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        instance = cls(**kwargs)
        created.append(instance)
        return instance

    yield factory
    for instance in created:
        instance.close()
        await instance.aclose()


@pytest.fixture
async def make_llm(emulator: DashScopeEmulator) -> AsyncIterator[LLMFactory]:
    async for factory in _factory(Qwen, emulator):
        yield factory


@pytest.fixture
async def make_embedding(emulator: DashScopeEmulator) -> AsyncIterator[EmbeddingFactory]:
    async for factory in _factory(QwenEmbedding, emulator):
        yield factory
