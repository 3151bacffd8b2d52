"""Scripted replies: what the emulator answers to one request."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ReplyKind = Literal["default", "text", "tool_calls", "error", "drop", "raw"]
Syntax = Literal["hermes", "xml", "json"]
"""How a model writes a tool call as text: hermes JSON in ``<tool_call>`` tags (Qwen2.5/3),
``<function=…><parameter=…>`` XML (Qwen3-Coder, Qwen3.5+), or a bare JSON object."""


@dataclass(frozen=True)
class ToolCall:
    """One function call the emulated model makes.

    ``arguments`` is a dict (serialised with ``json.dumps(..., ensure_ascii=False)``, which gives
    the ``{"location": "杭州"}`` spacing seen in captures) or a ready string, sent verbatim (use it
    to send deliberately broken JSON). ``id`` defaults to ``"call_" + 22 hex`` derived from the
    request, so it is stable for a given request body.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True, init=False)
class Reply:
    """An immutable scripted answer, built with the classmethods.

    ``Reply()`` is the emulator's default reply (an echo of the request). Every keyword can be
    combined, e.g. ``Reply(text="hi", delay=0.5, finish_reason="length")``.

    On embedding and rerank requests only the transport parts apply (``error``, ``drop``,
    ``raw``, ``delay``); text and tool calls are ignored there.
    """

    kind: ReplyKind
    answer: str | None
    """The answer text (``None``: derived from the request)."""
    calls: tuple[ToolCall, ...]
    reasoning: str | None
    chunks: int | None
    finish_reason: str | None
    usage: Mapping[str, Any] | None
    status: int
    code: str
    message: str
    in_stream: bool
    after_chunks: int
    delay_seconds: float
    raw_body: bytes
    raw_headers: tuple[tuple[str, str], ...]
    unparsed: Syntax | None
    """The server's tool parser fails: the calls reach the client as text in this syntax."""
    in_reasoning: bool
    """The server's reasoning parser misroutes: the output lands in the reasoning field."""

    def __init__(
        self,
        *,
        kind: ReplyKind | None = None,
        text: str | None = None,
        tool_calls: Iterable[ToolCall] = (),
        reasoning: str | None = None,
        chunks: int | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        status: int = 200,
        code: str = "",
        message: str = "",
        in_stream: bool = False,
        after_chunks: int = 0,
        delay: float = 0.0,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        unparsed: Syntax | None = None,
        in_reasoning: bool = False,
    ) -> None:
        calls = tuple(tool_calls)
        if kind is None:
            kind = "tool_calls" if calls else ("text" if text is not None else "default")
        if chunks is not None and chunks < 1:
            raise ValueError("chunks must be >= 1")
        if after_chunks < 0 or delay < 0:
            raise ValueError("after_chunks and delay must be >= 0")
        if unparsed not in (None, "hermes", "xml", "json"):
            raise ValueError("unparsed must be 'hermes', 'xml', 'json' or None")
        values: dict[str, Any] = {
            "kind": kind,
            "answer": text,
            "calls": calls,
            "reasoning": reasoning,
            "chunks": chunks,
            "finish_reason": finish_reason,
            "usage": dict(usage) if usage is not None else None,
            "status": status,
            "code": code,
            "message": message,
            "in_stream": in_stream,
            "after_chunks": after_chunks,
            "delay_seconds": float(delay),
            "raw_body": bytes(body),
            "raw_headers": tuple((headers or {}).items()),
            "unparsed": unparsed,
            "in_reasoning": bool(in_reasoning),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def text(
        cls,
        text: str,
        *,
        chunks: int | None = None,
        reasoning: str | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """Answer ``text``, streamed in ``chunks`` events (default: one per ~4 characters).

        ``reasoning`` is sent first as ``reasoning_content`` when the request thinks (a short
        deterministic reasoning is generated otherwise); it is dropped when it does not.
        """
        return cls(
            kind="text",
            text=text,
            chunks=chunks,
            reasoning=reasoning,
            finish_reason=finish_reason,
            usage=usage,
            delay=delay,
        )

    @classmethod
    def tool_calls(
        cls,
        calls: Iterable[ToolCall],
        *,
        content: str = "",
        reasoning: str | None = None,
        usage: Mapping[str, Any] | None = None,
        finish_reason: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """Call the given tools (in parallel when several), ``finish_reason: "tool_calls"``."""
        calls = tuple(calls)
        if not calls:
            raise ValueError("Reply.tool_calls needs at least one ToolCall")
        return cls(
            kind="tool_calls",
            tool_calls=calls,
            text=content,
            reasoning=reasoning,
            usage=usage,
            finish_reason=finish_reason,
            delay=delay,
        )

    @classmethod
    def unparsed_tool_calls(
        cls,
        calls: Iterable[ToolCall],
        *,
        syntax: Syntax = "hermes",
        content: str = "",
        in_reasoning: bool = False,
        delay: float = 0.0,
    ) -> Reply:
        """The model calls tools but the server's parser fails to extract them (research
        notes §3): the calls arrive as text in ``syntax`` after ``content``, in the content
        (vLLM #20611, #22975) or, with ``in_reasoning``, inside the reasoning with an empty
        content (SGLang #26172, vLLM #39056); ``tool_calls`` stays empty and the
        finish_reason is ``"stop"``."""
        calls = tuple(calls)
        if not calls:
            raise ValueError("Reply.unparsed_tool_calls needs at least one ToolCall")
        return cls(
            kind="tool_calls",
            tool_calls=calls,
            text=content,
            unparsed=syntax,
            in_reasoning=in_reasoning,
            delay=delay,
        )

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        message: str,
        *,
        in_stream: bool = False,
        after_chunks: int = 0,
        text: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """Fail with ``status``/``code``/``message``.

        ``in_stream=True`` on a streaming request: HTTP 200 SSE, ``after_chunks`` normal events
        (of ``text`` or the default reply), then one ``event:error`` frame. Otherwise a non-200
        response with the endpoint's error envelope.
        """
        return cls(
            kind="error",
            status=status,
            code=code,
            message=message,
            in_stream=in_stream,
            after_chunks=after_chunks,
            text=text,
            delay=delay,
        )

    @classmethod
    def drop(cls, after_chunks: int = 0, *, text: str | None = None, delay: float = 0.0) -> Reply:
        """Close the TCP connection abruptly after ``after_chunks`` stream events (0: at once)."""
        return cls(kind="drop", after_chunks=after_chunks, text=text, delay=delay)

    @classmethod
    def delay(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Wait ``seconds`` before answering with ``then`` (default: the default reply)."""
        return (then or cls()).with_delay(seconds)

    @classmethod
    def raw(cls, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        """Send exactly this status, headers and body (Content-Length added when missing)."""
        return cls(kind="raw", status=status, body=body, headers=headers)

    def with_delay(self, seconds: float) -> Reply:
        """A copy of this reply that waits ``seconds`` first."""
        return self._replace(delay=seconds)

    def _replace(self, **changes: Any) -> Reply:
        current: dict[str, Any] = {
            "kind": self.kind,
            "text": self.answer,
            "tool_calls": self.calls,
            "reasoning": self.reasoning,
            "chunks": self.chunks,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "in_stream": self.in_stream,
            "after_chunks": self.after_chunks,
            "delay": self.delay_seconds,
            "body": self.raw_body,
            "headers": dict(self.raw_headers),
            "unparsed": self.unparsed,
            "in_reasoning": self.in_reasoning,
        }
        current.update(changes)
        return Reply(**current)
