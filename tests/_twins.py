"""Compare hand-kept sync/async twins: they may differ only in async syntax (STYLE.md §1)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Sequence

# Async spellings -> sync ones, applied in order.
COMMON = (
    ("async def", "def"),
    ("async for", "for"),
    ("async with", "with"),
    ("await ", ""),
    ("aclose()", "close()"),
)


def normalized(function: object, replacements: Sequence[tuple[str, str]] = ()) -> str:
    """Source of ``function`` without its docstring, async syntax mapped to sync."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        del body[0]  # docstrings may differ
    text = ast.unparse(tree)
    for old, new in (*COMMON, *replacements):
        text = text.replace(old, new)
    return ast.unparse(ast.parse(text))  # drops parentheses that only "await" needed
