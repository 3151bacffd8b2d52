"""The README's code, by section: every ```python block sits between ``<!-- BEGIN name -->``
and ``<!-- END name -->`` markers, and tests run each section as a reader would paste it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REPLIES = ROOT / "examples" / "emulator-replies.json"
"""The replies file the README tells readers to start the command-line emulator with."""

_SECTION = re.compile(r"<!-- BEGIN (.*?) -->(.*?)<!-- END \1 -->", flags=re.DOTALL)
_PYTHON = re.compile(r"```python\n(.*?)```", flags=re.DOTALL)


def text() -> str:
    return README.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """Every marked section's text, by name."""
    return {m.group(1): m.group(2) for m in _SECTION.finditer(text())}


def section(name: str) -> str:
    return sections()[name]


def blocks(name: str) -> list[str]:
    """The ```python blocks of one section, in order."""
    return _PYTHON.findall(section(name))


def unmarked_blocks() -> list[str]:
    """```python blocks outside every marked section (there should be none)."""
    return _PYTHON.findall(_SECTION.sub("", text()))


def run(code: str | list[str], namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute README code in one namespace, blocks in order, as pasted into a session."""
    namespace = {"__name__": "__readme__"} if namespace is None else namespace
    for block in [code] if isinstance(code, str) else code:
        exec(compile(block, str(README), "exec"), namespace)
    return namespace
