"""The default connection pools: shared, cookie-less, and URLs parsed once."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("aiohttp")  # the aiohttp extra (part of "all")
import aiohttp

from qwen_dashscope import (
    DEFAULT_MAX_CONNECTIONS,
    AsyncDashScopeClient,
    ClientSettings,
    DashScopeClient,
    InvalidRequestError,
    connection_options,
)
from qwen_dashscope._aiohttp import CookielessAiohttpClient
from qwen_dashscope._pools import (
    KEEPALIVE_EXPIRY,
    default_async_http_client,
    parsed_url,
    pool_limits,
    shared_async_http_client,
    shared_http_client,
)


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


# -- pool sizes ---------------------------------------------------------------------------


def _sync_pool_limits(client: httpx.Client) -> tuple[int, int]:
    pool = client._transport._pool  # type: ignore[attr-defined]  # httpcore.ConnectionPool
    return pool._max_connections, pool._max_keepalive_connections


def test_the_shared_pools_hold_1000_connections_and_keep_them_all_alive() -> None:
    assert DEFAULT_MAX_CONNECTIONS == 1000
    assert _sync_pool_limits(shared_http_client()) == (1000, 1000)
    limits = pool_limits(7)
    assert (limits.max_connections, limits.max_keepalive_connections) == (7, 7)
    assert limits.keepalive_expiry == KEEPALIVE_EXPIRY


def test_each_pool_size_has_its_own_sync_pool() -> None:
    assert shared_http_client() is shared_http_client(DEFAULT_MAX_CONNECTIONS)
    small = shared_http_client(3)
    assert small is shared_http_client(3)
    assert small is not shared_http_client()
    assert _sync_pool_limits(small) == (3, 3)
    assert DashScopeClient(api_key="k", max_connections=3)._http is small
    assert DashScopeClient(api_key="k")._http is shared_http_client()


async def test_the_async_pool_is_sized_per_loop_and_cap() -> None:
    default = AsyncDashScopeClient(api_key="k")._http
    assert default is shared_async_http_client()
    small = AsyncDashScopeClient(api_key="k", max_connections=5)._http
    assert small is shared_async_http_client(5)
    assert small is not default
    for client, cap in ((default, 1000), (small, 5)):
        transport = client._transport_for_url(httpx.URL("https://dashscope.aliyuncs.com/"))
        session = transport.get_client()  # type: ignore[attr-defined]
        try:
            assert session.connector.limit == cap
            assert session.connector.limit_per_host == 0  # one host: the cap is the limit
        finally:
            await session.close()


def test_max_connections_is_checked() -> None:
    for bad in (0, -1, True, 2.5, "8"):
        with pytest.raises(InvalidRequestError, match="max_connections") as caught:
            ClientSettings.resolve(api_key="k", max_connections=bad)
        assert caught.value.param == "max_connections"
    assert ClientSettings.resolve(api_key="k").pool_size == DEFAULT_MAX_CONNECTIONS
    assert ClientSettings.resolve(api_key="k", max_connections=50).pool_size == 50


def test_max_connections_with_an_injected_client_is_an_error_not_ignored() -> None:
    with pytest.raises(InvalidRequestError, match="own limits") as caught:
        DashScopeClient(api_key="k", max_connections=5, http_client=httpx.Client())
    assert caught.value.param == "max_connections"
    with pytest.raises(InvalidRequestError, match="own limits"):
        AsyncDashScopeClient(api_key="k", max_connections=5, http_client=httpx.AsyncClient())


def test_model_objects_size_the_shared_pool_only_where_they_inject_nothing() -> None:
    from langchain_qwen import ChatQwen

    mine = httpx.Client()
    llm = ChatQwen(api_key="k", max_connections=4, http_client=mine)
    assert llm._client._http is mine  # the injected client keeps its own limits
    assert llm._client.settings.max_connections is None
    assert llm._async_client.settings.max_connections == 4  # the async side is shared
    with pytest.raises(ValueError, match="max_connections"):
        ChatQwen(
            api_key="k", max_connections=4, http_client=mine, http_async_client=httpx.AsyncClient()
        )


@pytest.mark.parametrize(
    ("path", "async_client"),
    [
        ("langchain_qwen:ChatQwen", "http_async_client"),
        ("langchain_qwen:QwenEmbeddings", "http_async_client"),
        ("langchain_qwen:QwenMultimodalEmbeddings", "http_async_client"),
        ("langchain_qwen:QwenRerank", "http_async_client"),
        ("llama_index_qwen:Qwen", "async_http_client"),
        ("llama_index_qwen:QwenEmbedding", "async_http_client"),
        ("llama_index_qwen:QwenMultiModalEmbedding", "async_http_client"),
        ("llama_index_qwen:QwenRerank", "async_http_client"),
    ],
)
def test_every_model_class_takes_max_connections(path: str, async_client: str) -> None:
    import importlib

    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    model = cls(api_key="k", max_connections=9)
    assert model.max_connections == 9
    assert connection_options(model)["max_connections"] == 9
    both = {"http_client": httpx.Client(), async_client: httpx.AsyncClient()}
    with pytest.raises(ValueError, match="max_connections"):
        cls(api_key="k", max_connections=9, **both)


def test_the_shared_pools_do_not_even_parse_response_cookies() -> None:
    response = httpx.Response(
        200,
        headers={"Set-Cookie": "acw_tc=abc;path=/"},
        request=httpx.Request("POST", "https://dashscope.aliyuncs.com/api/v1/x"),
    )
    for client in (shared_http_client(), default_async_http_client()):
        assert not client.cookies
        client.cookies.extract_cookies(response)
        assert not client.cookies
        with pytest.raises(TypeError, match="no cookies"):
            client.cookies = {"a": "b"}  # type: ignore[assignment]
