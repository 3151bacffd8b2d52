"""httpx over aiohttp (the ``aiohttp`` extra), with aiohttp's own cookie jar switched off.

aiohttp sessions keep cookies themselves, beneath httpx's jar, so the shared async pool's
"no cookies" rule (see ``_pools``) has to reach the aiohttp session too. The two hooks
overridden here are the ones ``HttpxAiohttpClient`` itself overrides on ``httpx.AsyncClient``.
Importing this module raises ImportError when the extra is not installed.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient
from httpx_aiohttp.transport import AiohttpTransport

from ._pools import Cookieless

__all__ = ["CookielessAiohttpClient"]


def _session(transport: AiohttpTransport) -> aiohttp.ClientSession:
    """The session ``AiohttpTransport`` would open (same connector), minus the cookie jar."""
    limit = transport.limits.max_connections
    connector = aiohttp.TCPConnector(
        keepalive_timeout=transport.limits.keepalive_expiry,
        ssl=transport.ssl_context,
        limit=0 if limit is None else limit,  # httpx's None (no limit) is aiohttp's 0
    )
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


def _cookieless(transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
    if isinstance(transport, AiohttpTransport) and transport.client is None:
        # The transport opens its session lazily, on the first request, from this factory.
        transport.client = lambda: _session(transport)
    return transport


class CookielessAiohttpClient(Cookieless, HttpxAiohttpClient):
    """``HttpxAiohttpClient`` keeping no cookies: neither its own (``Cookieless``) nor in its
    aiohttp sessions (direct and proxied)."""

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        return _cookieless(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        return _cookieless(super()._init_proxy_transport(*args, **kwargs))
