"""The core's clients over httpx.MockTransport: scripted answers, recorded bytes served in
small chunks, no server (the emulator layer is tests/conftest.py + tests/_calls.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

SSE = "text/event-stream;charset=UTF-8"
JSON = "application/json"
KEY = "sk-secret-key"


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


class Script:
    """A MockTransport handler serving scripted answers in order and recording the requests.

    Each item is a response, a callable returning one, or an exception to raise.
    """

    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item() if callable(item) else item  # type: ignore[no-any-return]


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], sync: bool, **kwargs: Any
) -> Any:
    """``DashScopeClient`` (``sync``) or ``AsyncDashScopeClient`` whose every request goes to
    ``handler``; ``api_key`` is ``KEY`` unless given (``api_key=None``: none)."""
    kwargs.setdefault("api_key", KEY)
    transport = httpx.MockTransport(handler)
    if sync:
        return DashScopeClient(http_client=httpx.Client(transport=transport), **kwargs)
    return AsyncDashScopeClient(http_client=httpx.AsyncClient(transport=transport), **kwargs)
