"""A pure Server-Sent Events decoder for DashScope streams.

Bytes are split into lines before any UTF-8 decoding, so a chunk boundary inside a multi-byte
character (common with Chinese text) is harmless. DashScope frames events as
``id:N`` / ``event:result`` / ``:HTTP_STATUS/200`` / ``data:{json}`` / blank line; some real
captures lack the blank line, so a new ``id:`` or ``event:`` line after a ``data:`` line also
ends the pending event.

Decoding is linear in the size of the stream however the bytes are chunked (a partial line
is kept as a list of pieces, joined once its end arrives), and a line or an event beyond
``max_size`` bytes is a ``ProtocolError`` rather than unbounded memory and CPU. A frame of the
usual shape that arrives whole is read in one step (five lines per event, on every event of
every stream, were the decoder's cost); tests check that it gives what the line by line path
gives however the bytes are cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ._errors import ProtocolError

__all__ = ["MAX_EVENT_BYTES", "SSEDecoder", "ServerSentEvent", "iter_sse"]

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""The largest line or event a stream may carry (16 MiB; DashScope events are a few KB)."""


class ServerSentEvent(NamedTuple):
    """One decoded event. ``status`` is read from DashScope's ``:HTTP_STATUS/NNN`` comment."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    status: int | None = None


class SSEDecoder:
    """Bytes -> events, one line at a time (the shape of httpx-sse's decoder)."""

    def __init__(self, *, max_size: int = MAX_EVENT_BYTES, request_id: str | None = None) -> None:
        self.max_size = max_size
        self.request_id = request_id
        self._pieces: list[bytes] = []  # the unfinished last line, in the chunks it came in
        self._pending = 0
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._id: str | None = None
        self._status: int | None = None
        self._dirty = False

    def _too_big(self, what: str) -> ProtocolError:
        return ProtocolError(
            f"the stream sent {what} over {self.max_size} bytes; DashScope events are far "
            "smaller, so the stream is not what the protocol says",
            request_id=self.request_id,
        )

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``; a partial last line waits for the next chunk."""
        if b"\n" not in chunk:
            if chunk:
                self._pieces.append(chunk)
                self._pending += len(chunk)
                if self._pending > self.max_size:
                    raise self._too_big("a line")
            return []
        if self._pieces:
            self._pieces.append(chunk)
            chunk = b"".join(self._pieces)
            self._pieces.clear()
        *lines, rest = chunk.split(b"\n")
        if rest:
            self._pieces.append(rest)
        self._pending = len(rest)
        if self._pending > self.max_size:
            raise self._too_big("a line")
        out: list[ServerSentEvent] = []
        i, count = 0, len(lines)
        while i < count:
            if i + 4 < count and not self._dirty and _whole_frame(lines, i, self.max_size):
                # Read at once, to the event the line by line path would make of it.
                identifier, data = lines[i][3:].removeprefix(b" "), lines[i + 3][5:]
                out.append(ServerSentEvent("result", self._text(data), self._text(identifier), 200))
                i += 5
                continue
            self._line(lines[i], out)
            i += 1
        return out

    def _text(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                f"the stream sent bytes that are not UTF-8 ({exc.reason} at byte {exc.start} "
                f"of a line): {raw[max(0, exc.start - 20) : exc.start + 20]!r}",
                request_id=self.request_id,
            ) from None

    def _line(self, raw: bytes, out: list[ServerSentEvent]) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            if self._dirty:
                self._dispatch(out)
            return
        if raw.startswith(b"data:"):
            value = raw[6:] if raw.startswith(b"data: ") else raw[5:]
            self._size += len(value)
            if self._size > self.max_size:
                raise self._too_big("an event")
            self._data.append(self._text(value))
            self._dirty = True
            return
        if raw[0] == 0x3A:  # ":" - a comment; DashScope puts the status in one
            if raw.startswith(b":HTTP_STATUS/") and raw[13:].isdigit():
                self._status = int(raw[13:])
                self._dirty = True
            return
        name, _, value = raw.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name not in (b"id", b"event"):
            return  # unknown field, or a "..." elision line in documentation examples
        # Captures without blank-line separators: a new id/event after data starts a new event.
        if self._data:
            self._dispatch(out)
        if name == b"event":
            self._event = self._text(value)
        elif b"\0" not in value:
            self._id = self._text(value)
        self._dirty = True

    def _dispatch(self, out: list[ServerSentEvent]) -> None:
        if self._data:
            out.append(
                ServerSentEvent(
                    self._event or "message", "\n".join(self._data), self._id, self._status
                )
            )
        self._reset()

    def end(self) -> list[ServerSentEvent]:
        """End of stream: the partial last line, then whatever event is pending."""
        out: list[ServerSentEvent] = []
        if self._pieces:
            rest = b"".join(self._pieces)
            self._pieces.clear()
            self._pending = 0
            self._line(rest, out)
        if self._dirty:
            self._dispatch(out)
        return out


def _whole_frame(lines: list[bytes], i: int, max_size: int) -> bool:
    """Whether ``lines[i : i + 5]`` are one DashScope frame in its usual shape
    (``id:N`` / ``event:result`` / ``:HTTP_STATUS/200`` / ``data:{json}`` / blank line, no
    ``\\r``, no NUL in the id, data within the cap): the five lines of one stream event,
    which a decoder with nothing pending reads in one step. Anything else goes line by line."""
    first, data = lines[i], lines[i + 3]
    return (
        lines[i + 1] == b"event:result"
        and lines[i + 2] == b":HTTP_STATUS/200"
        and not lines[i + 4]
        and first.startswith(b"id:")
        and data.startswith(b"data:")
        and not data.startswith(b"data: ")
        and not data.endswith(b"\r")
        and not first.endswith(b"\r")
        and b"\0" not in first
        and len(data) - 5 <= max_size
    )


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole byte-chunk iterable (used for captures and tests)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.end()
