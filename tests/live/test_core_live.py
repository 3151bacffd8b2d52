"""The transport against the real service (skipped without DASHSCOPE_API_KEY)."""

from __future__ import annotations

import pytest

from qwen_dashscope import AsyncDashScopeClient, AuthenticationError, DashScopeClient

MESSAGES = [{"role": "user", "content": "用一句话介绍杭州。"}]


def test_generate_and_stream() -> None:
    with DashScopeClient() as client:
        result = client.generate("qwen-turbo", MESSAGES, {"max_tokens": 64})
        assert result.text and result.request_id and result.usage.total_tokens > 0
        chunks = list(client.stream("qwen-turbo", MESSAGES, {"max_tokens": 64}))
        assert "".join(c.text for c in chunks)
        assert chunks[-1].finish_reason in ("stop", "length")


async def test_async_stream_and_embeddings() -> None:
    async with AsyncDashScopeClient() as client:
        text = "".join([c.text async for c in client.stream("qwen-turbo", MESSAGES)])
        assert text
        result = await client.embed(["风急天高猿啸哀"] * 12, dimension=256)
        assert len(result.vectors) == 12 and len(result.vectors[0]) == 256


def test_thinking_model_served_by_streaming_internally() -> None:
    with DashScopeClient() as client:
        result = client.generate("qwq-plus", [{"role": "user", "content": "1+1=?"}])
        assert result.reasoning and result.text


def test_bad_key_is_a_typed_error_with_region_hint() -> None:
    with (
        DashScopeClient(api_key="sk-invalid") as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.generate("qwen-turbo", MESSAGES)
    assert info.value.request_id
    assert "region" in str(info.value)
