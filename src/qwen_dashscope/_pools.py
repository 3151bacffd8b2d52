"""The default HTTP connection pools, shared by every client that was not given its own.

Frameworks create model objects freely and never close them, so the clients do not own
connections: the sync clients share one process-wide ``httpx.Client``; the async clients share
one ``httpx.AsyncClient`` per event loop (on aiohttp when the ``aiohttp`` extra is installed),
closed when that loop shuts down. Timeouts and headers are set per request.

A pool holds at most ``max_connections`` connections (``ClientSettings.max_connections``,
default ``DEFAULT_MAX_CONNECTIONS`` = 1,000, as the openai SDK), and keeps every one of them
alive between bursts (idle ones close after ``KEEPALIVE_EXPIRY`` seconds): 200 concurrent
calls use 200 connections at once, not two waves of 100, and the next burst reuses them.
Clients asking for another cap get a pool of their own (one per cap), so a small cap set on
one model object never throttles another.
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

from ._settings import DEFAULT_MAX_CONNECTIONS

__all__ = [
    "KEEPALIVE_EXPIRY",
    "default_async_http_client",
    "parsed_url",
    "pool_limits",
    "shared_async_http_client",
    "shared_http_client",
]

KEEPALIVE_EXPIRY = 5.0
"""Seconds an idle pooled connection stays open (httpx's default)."""


def pool_limits(max_connections: int = DEFAULT_MAX_CONNECTIONS) -> httpx.Limits:
    """A shared pool's limits: ``max_connections``, all of them kept alive while in use."""
    return httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )


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


class _NoCookieStore(httpx.Cookies):
    """The shared pools' cookies: always empty, and a response's cookies are not looked at.

    ``httpx`` hands every response to its cookie jar wrapped, with its request, in ``urllib``
    compatibility objects (~13 µs a call here), even when the jar then keeps nothing.
    """

    def __init__(self) -> None:
        super().__init__(_NoCookies())

    def extract_cookies(self, response: httpx.Response) -> None:  # noqa: ARG002
        return None


class Cookieless:
    """For the shared pools' client classes: their ``cookies`` are a ``_NoCookieStore``."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # noqa: ARG002
        raise TypeError("the shared connection pools keep no cookies (see qwen_dashscope._pools)")


_NO_COOKIES = _NoCookieStore()


class _SharedClient(Cookieless, httpx.Client):
    """The shared sync pool's client."""


class _SharedAsyncClient(Cookieless, httpx.AsyncClient):
    """The shared async pool's client when the aiohttp extra is not installed."""


_shared_lock = threading.Lock()
_shared_sync: dict[int, httpx.Client] = {}
_shared_async: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[int, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]]
] = weakref.WeakKeyDictionary()


def shared_http_client(max_connections: int = DEFAULT_MAX_CONNECTIONS) -> httpx.Client:
    """The process-wide default pool with this cap (thread-safe); timeouts and headers are
    per request.

    Frameworks create model objects freely and never close them; one shared pool means no
    unclosed sockets and connection reuse across instances (as langchain-openai does).
    Threads beyond the cap wait for a free connection (``batch()`` with more threads than
    connections), up to the read timeout.
    """
    client = _shared_sync.get(max_connections)
    if client is None or client.is_closed:
        with _shared_lock:
            client = _shared_sync.get(max_connections)
            if client is None or client.is_closed:
                client = _SharedClient(follow_redirects=False, limits=pool_limits(max_connections))
                _shared_sync[max_connections] = client
    return client


@atexit.register
def _close_shared_http_client() -> None:
    """Close the shared pools at interpreter exit (no unclosed-socket warnings)."""
    for client in list(_shared_sync.values()):
        client.close()


def shared_async_http_client(max_connections: int = DEFAULT_MAX_CONNECTIONS) -> httpx.AsyncClient:
    """The running event loop's default pool with this cap, closed when that loop shuts down."""
    loop = asyncio.get_running_loop()
    pools = _shared_async.get(loop)
    if pools is None:
        pools = _shared_async[loop] = {}
    entry = pools.get(max_connections)
    if entry is None or entry[0].is_closed:
        client = default_async_http_client(max_connections)
        pools[max_connections] = (client, _close_at_loop_shutdown(client))
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


def default_async_http_client(max_connections: int = DEFAULT_MAX_CONNECTIONS) -> httpx.AsyncClient:
    """An AsyncClient on the aiohttp transport when available (cheaper under concurrency)."""
    limits = pool_limits(max_connections)
    try:
        from ._aiohttp import CookielessAiohttpClient
    except ImportError:  # the aiohttp extra is not installed
        return _SharedAsyncClient(follow_redirects=False, limits=limits)
    return CookielessAiohttpClient(follow_redirects=False, limits=limits)
