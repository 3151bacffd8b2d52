"""The model capability table."""

from __future__ import annotations

import pytest

from qwen_dashscope import (
    DEFAULT_CAPABILITIES,
    ModelCapabilities,
    get_model_capabilities,
    register_model,
)
from qwen_dashscope._capabilities import _OVERRIDES


@pytest.mark.parametrize(
    ("model", "thinking", "stream_only_thinking", "endpoint", "vision"),
    [
        ("qwen-max", "none", False, "text", False),
        ("qwen-plus", "hybrid", False, "text", False),
        ("qwen-plus-latest", "hybrid", False, "text", False),
        ("qwen-plus-2025-07-28", "hybrid", False, "text", False),
        ("qwen-turbo", "hybrid", False, "text", False),
        ("qwen-flash", "hybrid", False, "text", False),
        ("qwen-long", "none", False, "text", False),
        ("qwen3-max", "hybrid", False, "text", False),
        ("qwen3-235b-a22b", "hybrid", True, "text", False),
        ("qwen3-32b", "hybrid", True, "text", False),
        ("qwen3-235b-a22b-thinking-2507", "always", True, "text", False),
        ("qwen3-235b-a22b-instruct-2507", "none", False, "text", False),
        # Families by shape, so new sizes follow (issue 8 defect 1: stream-only thinking).
        ("qwen3-30b-a3b-thinking-2507", "always", True, "text", False),
        ("qwen3-4b-thinking-2507", "always", True, "text", False),
        ("qwen3-next-80b-a3b-thinking", "always", True, "text", False),
        ("qwen3-vl-235b-a22b-thinking", "always", True, "multimodal", True),
        ("qwen3-vl-30b-a3b-instruct", "none", False, "multimodal", True),
        ("qwen3-coder-plus", "none", False, "text", False),
        ("qwq-plus", "always", True, "text", False),
        ("qwen-vl-plus", "none", False, "multimodal", True),
        ("qwen-vl-max-latest", "none", False, "multimodal", True),
        ("qwen3-vl-plus", "hybrid", True, "multimodal", True),
        ("qvq-max", "always", True, "multimodal", True),
        ("qwen3.5-plus", "hybrid", False, "multimodal", True),
        ("qwen3-omni-flash", "hybrid", True, "multimodal", True),
        ("text-embedding-v4", "none", False, "embedding", False),
        ("qwen3-rerank", "none", False, "rerank", False),
    ],
)
def test_families(
    model: str, thinking: str, stream_only_thinking: bool, endpoint: str, vision: bool
) -> None:
    caps = get_model_capabilities(model)
    assert caps.known
    assert (caps.thinking, caps.thinking_stream_only, caps.endpoint, caps.vision) == (
        thinking,
        stream_only_thinking,
        endpoint,
        vision,
    )
    assert caps.context_window > 0


@pytest.mark.parametrize(
    ("model", "batch", "dims"),
    [
        ("text-embedding-v1", 25, (1536,)),
        ("text-embedding-v2", 25, (1536,)),
        ("text-embedding-v3", 10, (1024, 768, 512, 256, 128, 64)),
        ("text-embedding-v4", 10, (2048, 1536, 1024, 768, 512, 256, 128, 64)),
    ],
)
def test_embedding_limits(model: str, batch: int, dims: tuple[int, ...]) -> None:
    caps = get_model_capabilities(model)
    assert (caps.embedding_batch_size, caps.embedding_dimensions) == (batch, dims)


def test_unknown_models_get_a_sane_default() -> None:
    caps = get_model_capabilities("my-finetuned-model")
    assert caps is DEFAULT_CAPABILITIES
    assert not caps.known
    assert caps.endpoint == "text" and caps.context_window >= 8192


@pytest.mark.parametrize(
    ("thinking", "default", "flag", "thinks"),
    [
        ("none", False, None, False),
        ("always", False, False, True),
        ("hybrid", False, None, False),
        ("hybrid", True, None, True),
        ("hybrid", True, False, False),
        ("hybrid", False, True, True),
    ],
)
def test_thinks(thinking: str, default: bool, flag: bool | None, thinks: bool) -> None:
    caps = ModelCapabilities(thinking=thinking, thinking_default=default)  # type: ignore[arg-type]
    assert caps.thinks(flag) is thinks


def test_user_override() -> None:
    mine = ModelCapabilities(context_window=123_456, thinking="always")
    register_model("qwen-plus", mine)
    try:
        assert get_model_capabilities("qwen-plus") is mine
    finally:
        _OVERRIDES.pop("qwen-plus")
    assert get_model_capabilities("qwen-plus").context_window != 123_456


@pytest.mark.parametrize(
    "model",
    [
        "qwen3-235b-a22b-thinking-2507",
        "qwen3-30b-a3b-thinking-2507",
        "qwen3-next-80b-a3b-thinking",
        "qwen3-vl-235b-a22b-thinking",
        "qwen3-14b-thinking-2507",
    ],
)
def test_open_source_thinking_models_only_answer_streams(model: str) -> None:
    caps = get_model_capabilities(model)
    assert caps.stream_only and caps.thinking == "always"


def test_suggestions_for_a_misspelled_model() -> None:
    from qwen_dashscope import suggest_models

    assert suggest_models("qwen-trubo")[0] == "qwen-turbo"
    assert suggest_models("qwen3-maxx")[0] == "qwen3-max"
    assert suggest_models("zzzz") == []
