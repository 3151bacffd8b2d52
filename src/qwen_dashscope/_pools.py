"""The default HTTP connection pools, shared by every client that was not given its own.

Frameworks create model objects freely and never close them, so the clients do not own
connections: the sync clients share one process-wide ``httpx.Client``; the async clients share
one ``httpx.AsyncClient`` per event loop (on aiohttp when the ``aiohttp`` extra is installed),
closed when that loop shuts down. Timeouts and headers are set per request.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import http.cookiejar
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import httpx

__all__ = [
    "default_async_http_client",
    "parsed_url",
    "shared_async_http_client",
    "shared_http_client",
]


@functools.lru_cache(maxsize=256)
def parsed_url(url: str) -> httpx.URL:
    """Each endpoint URL parsed once (httpx would parse the string on every request)."""
    return httpx.URL(url)


class _NoCookies(http.cookiejar.CookieJar):
    """The shared pools' cookie jar: it keeps nothing.

    A shared pool serves every client in the process, whatever its API key, so a cookie set
    in answer to one credential must not ride along with another's requests. DashScope's API
    authenticates each request by its bearer key and needs no cookies (and parsing
    ``Set-Cookie`` on every response is work for nothing). A client passed in by the user
    keeps its own jar.
    """

    def extract_cookies(self, *_: Any) -> None:
        return None

    def set_cookie(self, *_: Any) -> None:
        return None


_shared_lock = threading.Lock()
_shared_sync: httpx.Client | None = None
_shared_async: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]
] = weakref.WeakKeyDictionary()


def shared_http_client() -> httpx.Client:
    """The process-wide default pool (thread-safe); timeouts and headers are per request.

    Frameworks create model objects freely and never close them; one shared pool means no
    unclosed sockets and connection reuse across instances (as langchain-openai does).
    """
    global _shared_sync
    client = _shared_sync
    if client is None or client.is_closed:
        with _shared_lock:
            if _shared_sync is None or _shared_sync.is_closed:
                _shared_sync = httpx.Client(follow_redirects=False, cookies=_NoCookies())
            client = _shared_sync
    return client


@atexit.register
def _close_shared_http_client() -> None:
    """Close the shared pool at interpreter exit (no unclosed-socket warnings)."""
    if _shared_sync is not None:
        _shared_sync.close()


def shared_async_http_client() -> httpx.AsyncClient:
    """The default pool of the running event loop, closed when that loop shuts down."""
    loop = asyncio.get_running_loop()
    entry = _shared_async.get(loop)
    if entry is None or entry[0].is_closed:
        client = default_async_http_client()
        _shared_async[loop] = (client, _close_at_loop_shutdown(client))
        return client
    return entry[0]


def _close_at_loop_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Close ``client`` when its event loop shuts down.

    Nobody closes the pooled client of a chat model (LangChain and LlamaIndex have no such
    hook), and an unclosed aiohttp session warns when collected. An async generator started
    on the loop is finalized by ``loop.shutdown_asyncgens()``, which ``asyncio.run`` and
    ``asyncio.Runner`` call before closing the loop: its ``finally`` closes the client there.
    """

    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.aclose()

    generator = closer()
    step = generator.asend(None)  # registers it with the running loop's asyncgen hooks
    try:
        step.send(None)
    except StopIteration:
        pass
    return generator


def default_async_http_client() -> httpx.AsyncClient:
    """An AsyncClient on the aiohttp transport when available (cheaper under concurrency)."""
    try:
        from ._aiohttp import CookielessAiohttpClient
    except ImportError:  # the aiohttp extra is not installed
        return httpx.AsyncClient(follow_redirects=False, cookies=_NoCookies())
    return CookielessAiohttpClient(follow_redirects=False, cookies=_NoCookies())
