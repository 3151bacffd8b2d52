"""ChatQwen's sync and async bodies are kept by hand: they must differ only in async syntax."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from langchain_qwen import ChatQwen, QwenEmbeddings

_ASYNC_TO_SYNC = (
    ("async def", "def"),
    ("async for", "for"),
    ("await ", ""),
    ("AsyncCallbackManagerForLLMRun", "CallbackManagerForLLMRun"),
    ("AsyncIterator", "Iterator"),
    ("_async_client", "_client"),
    ("aclose()", "close()"),
    ("def _a", "def _"),
    ("def a", "def "),
    ("self._aembed", "self._embed"),
)


def normalized(function: object) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        del body[0]  # docstrings may differ
    text = ast.unparse(tree)
    for old, new in _ASYNC_TO_SYNC:
        text = text.replace(old, new)
    return ast.unparse(ast.parse(text))  # drops parentheses that only "await" needed


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
    assert normalized(getattr(cls, sync)) == normalized(getattr(cls, async_))
