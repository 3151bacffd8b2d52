"""The wire, as the tests see it.

- ``Captures`` (the ``wire`` fixture of tests/conftest.py): the real traffic captured in
  tests/fixtures/wire, read plainly (``json.loads`` of a body, of each SSE ``data:`` line),
  independently of the package's own decoders.
- ``core_wire`` / ``langchain_wire``: the native request body an adapter would send for a
  call, built without any I/O (adapter -> neutral ``ChatRequest`` -> the core's rules -> the
  native body: the same path the clients take, minus the network).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qwen_dashscope import ChatRequest, resolve_chat
from qwen_dashscope._native import render_chat

WIRE = Path(__file__).resolve().parent / "fixtures" / "wire"


class Captures:
    """The captures of one folder, by file name (``wire.json("embedding-v2.json")``)."""

    def __init__(self, folder: Path = WIRE) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        path = self.folder / name
        assert path.is_file(), f"no capture {name} in {self.folder}"
        return path

    def names(self) -> list[str]:
        """Every file of the folder (captures, requests, headers, ``.source`` notes)."""
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def bytes(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def text(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON ``data`` objects of a captured SSE stream, ``[DONE]`` left out (tolerates
        the docs' ``...`` elisions and fixtures without blank lines)."""
        events = []
        for line in self.text(name).splitlines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                if payload != "[DONE]":
                    events.append(json.loads(payload))
        return events

    def headers(self, name: str) -> dict[str, str]:
        """A ``.response-headers.txt`` capture (status line first), names lowercased."""
        lines = self.text(name).splitlines()[1:]
        pairs = (line.split(":", 1) for line in lines if line)
        return {key.strip().lower(): value.strip() for key, value in pairs}


def core_wire(request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
    """The body the core sends for a neutral request."""
    return render_chat(resolve_chat(request, stream=stream)).body


def langchain_wire(
    llm: Any, messages: Sequence[Any], *, stream: bool = False, **kwargs: Any
) -> dict[str, Any]:
    """ChatQwen: the body of ``llm.invoke(messages, **kwargs)``."""
    from langchain_core.messages import convert_to_messages

    return core_wire(llm._request(convert_to_messages(messages), None, kwargs), stream=stream)
