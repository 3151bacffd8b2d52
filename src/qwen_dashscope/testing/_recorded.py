"""What the emulator saw: one immutable record per HTTP request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

EndpointName = Literal[
    "text-generation",
    "multimodal-generation",
    "text-embedding",
    "text-rerank",
    "multimodal-embedding",
    "compat-chat",
    "compat-embeddings",
    "compat-rerank",
    "tokenizer",
    "other",
]

GENERATION_ENDPOINTS: frozenset[str] = frozenset(
    {"text-generation", "multimodal-generation", "compat-chat"}
)


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping; keys are stored lower-case.

    Repeated headers are joined with ``", "``.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        data: dict[str, str] = {}
        for key, value in items:
            low = key.lower()
            data[low] = f"{data[low]}, {value}" if low in data else value
        self._data = data

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Headers({self._data!r})"


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or the text items of a list (native or OpenAI)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            item["text"]
            for item in content
            if isinstance(item, dict) and isinstance(item.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received, in arrival order in ``DashScopeEmulator.requests``."""

    method: str
    path: str
    """URL path without the query string, e.g. ``/api/v1/services/aigc/...``."""
    headers: Headers
    body: dict[str, Any] | None
    """The parsed JSON object, or ``None`` when the body was not a JSON object."""
    raw_body: bytes
    endpoint: EndpointName
    stream: bool
    """Whether the response was SSE (native: X-DashScope-SSE / Accept; compat: ``stream``)."""

    @property
    def is_compat(self) -> bool:
        return self.endpoint.startswith("compat-")

    @property
    def model(self) -> str | None:
        model = (self.body or {}).get("model")
        return model if isinstance(model, str) else None

    @property
    def input(self) -> dict[str, Any]:
        """Native ``input`` object ({} when absent or on compat endpoints)."""
        value = (self.body or {}).get("input")
        return value if isinstance(value, dict) and not self.is_compat else {}

    @property
    def messages(self) -> list[dict[str, Any]]:
        """``input.messages`` (native) or ``messages`` (compat); [] when absent."""
        source = (self.body or {}) if self.is_compat else self.input
        value = source.get("messages")
        return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []

    @property
    def parameters(self) -> dict[str, Any]:
        """Native ``parameters``; on compat endpoints every top-level key but model/messages."""
        body = self.body or {}
        if self.is_compat:
            return {k: v for k, v in body.items() if k not in ("model", "messages", "input")}
        value = body.get("parameters")
        return value if isinstance(value, dict) else {}

    @property
    def tools(self) -> list[dict[str, Any]]:
        value = self.parameters.get("tools")
        return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []

    @property
    def last_user_text(self) -> str:
        """Text of the last user message (text items joined for list content), else the prompt."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return content_text(message.get("content"))
        prompt = self.input.get("prompt")
        return prompt if isinstance(prompt, str) else ""
