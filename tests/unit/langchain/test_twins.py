"""ChatQwen's sync and async bodies are kept by hand: they must differ only in async syntax."""

from __future__ import annotations

import pytest

from langchain_qwen import ChatQwen, QwenEmbeddings
from tests._twins import normalized

ASYNC_NAMES = (
    ("AsyncCallbackManagerForLLMRun", "CallbackManagerForLLMRun"),
    ("AsyncIterator", "Iterator"),
    ("_async_client", "_client"),
    ("def _a", "def _"),
    ("def a", "def "),
    ("self._aembed", "self._embed"),
)


@pytest.mark.parametrize(
    ("cls", "sync", "async_"),
    [
        # _generate/_agenerate differ by an async comprehension over the stream; not listed.
        (ChatQwen, "_stream", "_astream"),
        (QwenEmbeddings, "embed_documents", "aembed_documents"),
        (QwenEmbeddings, "embed_query", "aembed_query"),
    ],
)
def test_twins_match(cls: type, sync: str, async_: str) -> None:
    assert normalized(getattr(cls, sync), ASYNC_NAMES) == normalized(
        getattr(cls, async_), ASYNC_NAMES
    )
