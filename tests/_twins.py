"""Compare hand-kept sync/async twins: they may differ only in async syntax (STYLE.md §1).

``twin_pairs`` finds every pair by name (``x``/``x``, ``x``/``ax``, ``_x``/``_ax``,
``__enter__``/``__aenter__``), so a new method is covered without being listed.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator, Sequence

# Async spellings -> sync ones, applied in order.
COMMON = (
    ("async def", "def"),
    ("async for", "for"),
    ("async with", "with"),
    ("await ", ""),
    ("aclose()", "close()"),
    ("anext(", "next("),
    ("asyncio.sleep", "time.sleep"),
    ("aiter_bytes", "iter_bytes"),
    ("aiter_raw", "iter_raw"),
    ("aread()", "read()"),
)


class _DropAnnotations(ast.NodeTransformer):
    """Types differ legitimately between twins (Generator / AsyncGenerator, httpx.Client /
    httpx.AsyncClient); the code must not."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        for arg in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs):
            arg.annotation = None
        if node.args.vararg:
            node.args.vararg.annotation = None
        if node.args.kwarg:
            node.args.kwarg.annotation = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:
            return ast.Pass()
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


class _YieldFrom(ast.NodeTransformer):
    """``for x in it: yield x`` is ``yield from it`` (which async code cannot spell, and
    which ruff writes for sync code)."""

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        body = node.body
        if (
            len(body) == 1
            and not node.orelse
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Yield)
            and isinstance(body[0].value.value, ast.Name)
            and isinstance(node.target, ast.Name)
            and body[0].value.value.id == node.target.id
        ):
            return ast.Expr(ast.YieldFrom(node.iter))
        return node


def normalized(function: object, replacements: Sequence[tuple[str, str]] = ()) -> str:
    """Source of ``function`` without its name, docstring or annotations, with async syntax
    mapped to sync."""
    code = getattr(function, "__code__", function)  # not inspect.unwrap: decorators vary
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    definition = tree.body[0]
    definition.name = "_"  # type: ignore[attr-defined]  # close / aclose, __enter__ / __aenter__
    definition.decorator_list = []  # type: ignore[attr-defined]
    body = definition.body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        del body[0]  # docstrings may differ
    tree = ast.fix_missing_locations(_DropAnnotations().visit(tree))
    text = ast.unparse(tree)
    for old, new in (*COMMON, *replacements):
        text = text.replace(old, new)
    tree = ast.fix_missing_locations(_YieldFrom().visit(ast.parse(text)))
    return ast.unparse(tree)  # drops parentheses that only "await" needed


def _methods(cls: type) -> dict[str, object]:
    return {
        name: value
        for name, value in vars(cls).items()
        if inspect.isfunction(value) and name not in ("__init__", "__repr__")
    }


def _async_name(name: str) -> list[str]:
    if name.startswith("__"):
        return [name, "__a" + name[2:]]
    if name.startswith("_"):
        return [name, "_a" + name[1:]]
    return [name, "a" + name]


def twin_pairs(sync_cls: type, async_cls: type) -> Iterator[tuple[str, object, object]]:
    """Every (name, sync method, async method) pair defined on the two classes.

    Raises AssertionError for a method that has no twin on the other side.
    """
    sync_methods, async_methods = _methods(sync_cls), _methods(async_cls)
    paired: set[str] = set()
    for name, sync in sync_methods.items():
        twin = next((n for n in _async_name(name) if n in async_methods), None)
        assert twin is not None, f"{sync_cls.__name__}.{name} has no async twin"
        paired.add(twin)
        yield name, sync, async_methods[twin]
    unpaired = set(async_methods) - paired
    assert not unpaired, f"{async_cls.__name__} has no sync twin for {sorted(unpaired)}"


def _async_names(name: str) -> list[str]:
    """Where an async twin's "a" may go: ``ax``, ``_ax``, ``_aget_x`` / ``aget_x``, ``_x_ay``."""
    head = len(name) - len(name.lstrip("_"))
    prefix, rest = name[:head], name[head:]
    names = [prefix + "a" + rest]
    parts = rest.split("_")
    for i in range(1, len(parts)):
        names.append(prefix + "_".join([*parts[:i], "a" + parts[i], *parts[i + 1 :]]))
    return names


def adapter_twins(cls: type) -> list[tuple[str, str, object, object]]:
    """Every (sync name, async name, sync, async) method pair defined on ``cls`` itself (or
    on a mixin it owns), found by name: whatever an adapter adds later is covered."""
    methods: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] in ("langchain_qwen", "llama_index_qwen"):
            methods.update(
                {
                    n: v
                    for n, v in vars(klass).items()
                    if inspect.isfunction(v) or isinstance(v, property)
                }
            )
    pairs = []
    for name, value in methods.items():
        for twin in _async_names(name):
            if twin in methods and twin != name:
                pairs.append((name, twin, value, methods[twin]))
                break
    return pairs
