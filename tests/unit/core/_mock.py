"""Helpers to serve recorded bytes through httpx.MockTransport, in small chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx

SSE = "text/event-stream;charset=UTF-8"
JSON = "application/json"


class ChunkedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body delivered in fixed-size chunks; records whether it was closed."""

    def __init__(self, body: bytes, size: int = 7, fail_after: int | None = None) -> None:
        self.chunks = [body[i : i + size] for i in range(0, len(body), size)]
        self.fail_after = fail_after
        self.closed = False
        self.served = 0

    def _next(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.fail_after is not None and self.served >= self.fail_after:
                raise httpx.ReadError("connection reset by peer")
            self.served += 1
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        yield from self._next()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._next():
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


Handler = Callable[[httpx.Request], httpx.Response]


def respond(
    body: bytes, status: int = 200, content_type: str = JSON, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": content_type, "x-request-id": "hdr-rid", **(headers or {})},
        stream=ChunkedStream(body),
    )
