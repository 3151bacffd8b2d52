"""Qwen's sync and async bodies are kept by hand: they must differ only in async syntax."""

from __future__ import annotations

import pytest

from llama_index_qwen import Qwen
from tests._twins import normalized

ASYNC_NAMES = (
    ("AsyncGenerator[ChatResponse, None]", "Generator[ChatResponse, None, None]"),
    ("_get_aclient", "_get_client"),
    ("def _a", "def _"),
    ("_alast(self._astream_chat", "_last(self._stream_chat"),
)


@pytest.mark.parametrize(
    ("sync", "async_"), [("_chat", "_achat"), ("_stream_chat", "_astream_chat")]
)
def test_twins_match(sync: str, async_: str) -> None:
    assert normalized(getattr(Qwen, sync), ASYNC_NAMES) == normalized(
        getattr(Qwen, async_), ASYNC_NAMES
    )
