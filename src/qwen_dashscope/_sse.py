"""A pure Server-Sent Events decoder for DashScope streams.

Bytes are split into lines before any UTF-8 decoding, so a chunk boundary inside a multi-byte
character (common with Chinese text) is harmless. DashScope frames events as
``id:N`` / ``event:result`` / ``:HTTP_STATUS/200`` / ``data:{json}`` / blank line; some real
captures lack the blank line, so a new ``id:`` or ``event:`` line after a ``data:`` line also
ends the pending event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["LineDecoder", "SSEDecoder", "ServerSentEvent", "iter_sse"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
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
    """Line -> event state machine (the shape of httpx-sse's decoder)."""

    def __init__(self) -> None:
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
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._id,
                status=self._status,
            )
        self._reset()
        return sse

    def decode(self, line: str) -> list[ServerSentEvent]:
        """Feed one line; returns the events it completes (zero or one, rarely two)."""
        if not line:
            event = self._dispatch()
            return [event] if event else []
        if line.startswith(":"):
            comment = line[1:]
            if comment.startswith("HTTP_STATUS/"):
                try:
                    self._status = int(comment[len("HTTP_STATUS/") :])
                except ValueError:
                    pass
                self._dirty = True
            return []
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        out: list[ServerSentEvent] = []
        # Captures without blank-line separators: a new id/event after data starts a new event.
        if field in ("id", "event") and self._data:
            event = self._dispatch()
            if event:
                out.append(event)
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        else:  # unknown field (or a "..." elision line in documentation examples): ignored
            return out
        self._dirty = True
        return out

    def end(self) -> list[ServerSentEvent]:
        """End of stream: dispatch what is pending."""
        event = self._dispatch()
        return [event] if event else []


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole byte-chunk iterable (used for captures and tests)."""
    lines, decoder = LineDecoder(), SSEDecoder()
    for chunk in chunks:
        for line in lines.feed(chunk):
            yield from decoder.decode(line)
    for line in lines.flush():
        yield from decoder.decode(line)
    yield from decoder.end()
