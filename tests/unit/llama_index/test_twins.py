"""Qwen's sync and async bodies are kept by hand: they must differ only in async syntax."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from llama_index_qwen import Qwen

_ASYNC_TO_SYNC = (
    ("async def", "def"),
    ("async for", "for"),
    ("await ", ""),
    ("AsyncGenerator[ChatResponse, None]", "Generator[ChatResponse, None, None]"),
    ("_get_aclient", "_get_client"),
    ("aclose()", "close()"),
    ("def _a", "def _"),
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
    ("sync", "async_"), [("_chat", "_achat"), ("_stream_chat", "_astream_chat")]
)
def test_twins_match(sync: str, async_: str) -> None:
    assert normalized(getattr(Qwen, sync)) == normalized(getattr(Qwen, async_))
