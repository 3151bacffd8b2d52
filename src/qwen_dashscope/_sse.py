"""A pure Server-Sent Events decoder for DashScope streams.

Bytes are split into lines before any UTF-8 decoding, so a chunk boundary inside a multi-byte
character (common with Chinese text) is harmless. DashScope frames events as
``id:N`` / ``event:result`` / ``:HTTP_STATUS/200`` / ``data:{json}`` / blank line; some real
captures lack the blank line, so a new ``id:`` or ``event:`` line after a ``data:`` line also
ends the pending event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

__all__ = ["LineDecoder", "SSEDecoder", "ServerSentEvent", "iter_sse"]


class ServerSentEvent(NamedTuple):
    """One decoded event. ``status`` is read from DashScope's ``:HTTP_STATUS/NNN`` comment."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    status: int | None = None


class LineDecoder:
    """Split a byte stream into decoded lines; safe across chunk boundaries.

    Lines end in ``\n`` or ``\r\n`` (DashScope sends ``\n``). Splitting happens on bytes, so
    UTF-8 is only decoded once a whole line is in hand.
    """

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        """Lines completed by ``chunk`` (without terminators)."""
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        return [line.removesuffix(b"\r").decode("utf-8") for line in lines]

    def flush(self) -> list[str]:
        """Whatever is left at end of stream."""
        rest, self._buffer = self._buffer, b""
        return [rest.removesuffix(b"\r").decode("utf-8")] if rest else []


class SSEDecoder:
    """Bytes -> events state machine (the shape of httpx-sse's decoder, one tight loop)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._status: int | None = None
        self._dirty = False

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._dirty:
            return None
        sse = None
        if self._data:
            sse = ServerSentEvent(
                self._event or "message", "\n".join(self._data), self._id, self._status
            )
        self._reset()
        return sse

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``; a partial last line waits for the next chunk."""
        data = self._buffer + chunk if self._buffer else chunk
        if b"\n" not in data:
            self._buffer = data
            return []
        *lines, self._buffer = data.split(b"\n")
        out: list[ServerSentEvent] = []
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            # Fast paths for the lines DashScope sends, on bytes; the rest goes to _line.
            if raw.startswith(b"data:"):
                value = raw[6:] if raw.startswith(b"data: ") else raw[5:]
                self._data.append(value.decode("utf-8"))
                self._dirty = True
            elif not raw:
                if self._dirty:
                    event = self._dispatch()
                    if event is not None:
                        out.append(event)
            elif raw.startswith(b":HTTP_STATUS/") and raw[13:].isdigit():
                self._status = int(raw[13:])
                self._dirty = True
            elif raw.startswith((b"id:", b"event:")):
                # Captures without blank-line separators: id/event after data starts anew.
                if self._data:
                    event = self._dispatch()
                    if event is not None:
                        out.append(event)
                name, _, text = raw.decode("utf-8").partition(":")
                text = text[1:] if text.startswith(" ") else text
                if name == "event":
                    self._event = text
                elif "\0" not in text:
                    self._id = text
                self._dirty = True
            else:
                self._line(raw.decode("utf-8"), out)
        return out

    def decode(self, line: str) -> list[ServerSentEvent]:
        """Feed one decoded line; returns the events it completes (zero or one, rarely two)."""
        out: list[ServerSentEvent] = []
        self._line(line, out)
        return out

    def _line(self, line: str, out: list[ServerSentEvent]) -> None:
        # Ordered by frequency in DashScope streams.
        if line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
            self._dirty = True
            return
        if not line:
            event = self._dispatch()
            if event is not None:
                out.append(event)
            return
        if line[0] == ":":
            if line.startswith(":HTTP_STATUS/"):
                try:
                    self._status = int(line[13:])
                except ValueError:
                    pass
                self._dirty = True
            return
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field not in ("id", "event"):
            return  # unknown field, or a "..." elision line in documentation examples
        # Captures without blank-line separators: a new id/event after data starts a new event.
        if self._data:
            event = self._dispatch()
            if event is not None:
                out.append(event)
        if field == "event":
            self._event = value
        elif "\0" not in value:
            self._id = value
        self._dirty = True

    def end(self) -> list[ServerSentEvent]:
        """End of stream: the partial last line, then whatever event is pending."""
        out: list[ServerSentEvent] = []
        if self._buffer:
            rest, self._buffer = self._buffer, b""
            self._line(rest.decode("utf-8").removesuffix("\r"), out)
        event = self._dispatch()
        if event is not None:
            out.append(event)
        return out


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole byte-chunk iterable (used for captures and tests)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.end()
