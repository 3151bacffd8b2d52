"""The default connection pools: shared, cookie-less, and URLs parsed once."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("aiohttp")  # the aiohttp extra (part of "all")
import aiohttp

from qwen_dashscope._aiohttp import CookielessAiohttpClient
from qwen_dashscope._pools import default_async_http_client, parsed_url, shared_http_client


def test_endpoint_urls_are_parsed_once() -> None:
    url = "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
    assert parsed_url(url) is parsed_url(url)
    assert parsed_url(url) == httpx.URL(url)
    assert parsed_url(url.replace("-intl", "")).host == "dashscope.aliyuncs.com"


def test_the_sync_pool_keeps_no_cookie() -> None:
    jar = shared_http_client().cookies.jar
    response = httpx.Response(
        200,
        headers={"Set-Cookie": "acw_tc=abc;path=/;HttpOnly;Max-Age=1800"},
        request=httpx.Request("POST", "https://dashscope.aliyuncs.com/api/v1/x"),
    )
    shared_http_client().cookies.extract_cookies(response)
    assert len(jar) == 0


async def test_the_aiohttp_sessions_keep_no_cookie_direct_or_proxied() -> None:
    client = default_async_http_client()
    assert isinstance(client, CookielessAiohttpClient)
    proxied = CookielessAiohttpClient(proxy="http://proxy.example:3128")
    target = httpx.URL("https://dashscope.aliyuncs.com/api/v1/")
    # httpx picks the transport per URL (the proxy mount for ``proxied``).
    transports = [c._transport_for_url(target) for c in (client, proxied)]
    assert transports[1] is not proxied._transport
    for transport in transports:
        session = transport.get_client()  # type: ignore[attr-defined]
        try:
            assert isinstance(session, aiohttp.ClientSession)
            assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
        finally:
            await session.close()
    await client.aclose()
    await proxied.aclose()
