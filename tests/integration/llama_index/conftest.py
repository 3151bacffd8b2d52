"""Factories for Qwen / QwenEmbedding on the emulator (no retries unless asked), closed after
each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope.testing import DashScopeEmulator
from tests._calls import qwen_embedding, qwen_llm

LLMFactory = Callable[..., Qwen]
EmbeddingFactory = Callable[..., QwenEmbedding]


async def _factory(
    build: Callable[..., Qwen | QwenEmbedding], emulator: DashScopeEmulator
) -> AsyncIterator[Callable[..., Any]]:
    """``build(emulator, ...)`` with ``max_retries=0`` by default; every instance closed
    afterwards."""
    created: list[Qwen | QwenEmbedding] = []

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("max_retries", 0)
        instance = build(emulator, **kwargs)
        created.append(instance)
        return instance

    yield factory
    for instance in created:
        instance.close()
        await instance.aclose()


@pytest.fixture
async def make_llm(emulator: DashScopeEmulator) -> AsyncIterator[LLMFactory]:
    async for factory in _factory(qwen_llm, emulator):
        yield factory


@pytest.fixture
async def make_embedding(emulator: DashScopeEmulator) -> AsyncIterator[EmbeddingFactory]:
    async for factory in _factory(qwen_embedding, emulator):
        yield factory
