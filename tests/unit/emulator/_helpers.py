"""Helpers shared by the emulator tests: paths, strict SSE parsers, the shape function."""

from __future__ import annotations

import json
import re
from typing import Any

TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MM_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
EMBED_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
RERANK_PATH = "/api/v1/services/rerank/text-rerank/text-rerank"
COMPAT_CHAT_PATH = "/compatible-mode/v1/chat/completions"
COMPAT_EMBED_PATH = "/compatible-mode/v1/embeddings"
COMPAT_RERANK_PATH = "/compatible-api/v1/reranks"
MM_EMBED_PATH = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"
SSE = {"X-DashScope-SSE": "enable"}


def chat(text: str = "hello", **parameters: Any) -> dict[str, Any]:
    """A native text-generation body with one user message."""
    return {
        "model": parameters.pop("model", "qwen-plus"),
        "input": {"messages": [{"role": "user", "content": text}]},
        "parameters": parameters,
    }


FRAME_LINE = {
    0: re.compile(r"^id:[1-9]\d*$"),
    1: re.compile(r"^event:(result|error)$"),
    2: re.compile(r"^:HTTP_STATUS/\d{3}$"),
    3: re.compile(r"^data:\{.*\}$"),
    4: re.compile(r"^$"),
}


def native_frames(body: str) -> list[dict[str, Any]]:
    """Parse a native SSE body strictly: every event is exactly the five §5.1 lines.

    Returns ``{"id", "event", "status", "data"}`` per event; fails on any deviation.
    """
    assert body.endswith("\n\n"), "stream must end with a blank line"
    lines = body.split("\n")[:-1]  # the final "" after the last newline
    assert len(lines) % 5 == 0, lines
    frames = []
    for start in range(0, len(lines), 5):
        group = lines[start : start + 5]
        for i, line in enumerate(group):
            assert FRAME_LINE[i].match(line), (i, line)
        frames.append(
            {
                "id": int(group[0][3:]),
                "event": group[1][6:],
                "status": int(group[2][13:]),
                "data": json.loads(group[3][5:]),
            }
        )
    assert [f["id"] for f in frames] == list(range(1, len(frames) + 1))
    return frames


def compat_chunks(body: str) -> list[Any]:
    """Parse a compat SSE body: ``data: {json}`` + blank line each, ``[DONE]`` kept as a str."""
    assert body.endswith("\n\n")
    out: list[Any] = []
    for block in body[:-2].split("\n\n"):
        assert block.startswith("data: "), block
        assert "\n" not in block
        payload = block[6:]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Recursive shape: ``path:type`` for every leaf and container, list items merged as ``[]``."""
    if isinstance(value, dict):
        out = {f"{prefix}:object"} if prefix else set()
        for key, item in value.items():
            out |= key_paths(item, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list):
        out = {f"{prefix}:list"}
        for item in value:
            out |= key_paths(item, f"{prefix}[]")
        return out
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, (int, float)):
        kind = "number"
    elif isinstance(value, str):
        kind = "string"
    else:
        kind = "null"
    return {f"{prefix}:{kind}"}


def shapes(values: list[Any]) -> set[str]:
    out: set[str] = set()
    for value in values:
        out |= key_paths(value)
    return out
