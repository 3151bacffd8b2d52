"""The transport against the emulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from qwen_dashscope import (
    APIConnectionError,
    AsyncDashScopeClient,
    AuthenticationError,
    BadRequestError,
    DashScopeClient,
    RateLimitError,
    ServerError,
)
from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._calls import call, collect, core_client

USER = [{"role": "user", "content": "介绍一下杭州"}]


@pytest.mark.parametrize("sync", [True, False])
async def test_generate_and_stream_agree(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("西湖在杭州。", chunks=4), Reply.text("西湖在杭州。", chunks=4))
    client = core_client(emulator, sync)
    result = await call(client, "generate", "qwen-plus", USER)
    chunks = await collect(client, "stream", "qwen-plus", USER)
    assert result.text == "".join(c.text for c in chunks) == "西湖在杭州。"
    assert len(chunks) >= 4
    assert chunks[-1].finish_reason == result.finish_reason == "stop"
    assert chunks[-1].usage == result.usage
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens > 0
    assert result.request_id and chunks[0].request_id
    assert [r.stream for r in emulator.requests] == [False, True]


@pytest.mark.parametrize("sync", [True, False])
async def test_cumulative_mode_gives_the_same_deltas(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    reply = Reply.tool_calls(
        [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_weather", {"city": "上海"})],
    )
    emulator.enqueue(
        Reply.text("一二三四五六七八", chunks=5), Reply.text("一二三四五六七八", chunks=5)
    )
    emulator.enqueue(reply, reply)
    client = core_client(emulator, sync)
    inc = await collect(client, "stream", "qwen-plus", USER)
    cum = await collect(client, "stream", "qwen-plus", USER, {"incremental_output": False})
    assert [c.text for c in inc] == [c.text for c in cum]
    inc_tools = await collect(client, "stream", "qwen-plus", USER)
    cum_tools = await collect(client, "stream", "qwen-plus", USER, {"incremental_output": False})

    def shape(chunks: list[Any]) -> list[list[tuple[int, bool, str | None, str]]]:
        return [[(d.index, bool(d.id), d.name, d.arguments) for d in c.tool_calls] for c in chunks]

    assert shape(inc_tools) == shape(cum_tools)
    assert sum(bool(d.id) for c in cum_tools for d in c.tool_calls) == 2
    sent = [r.parameters.get("incremental_output") for r in emulator.requests]
    assert sent == [True, False, True, False]


@pytest.mark.parametrize("sync", [True, False])
async def test_parallel_tool_calls_stream(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(
        Reply.tool_calls(
            [
                ToolCall("get_weather", {"city": "杭州"}),
                ToolCall("get_time", {"tz": "Asia/Shanghai"}),
            ]
        )
    )
    chunks = await collect(core_client(emulator, sync), "stream", "qwen-plus", USER)
    by_index: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in chunk.tool_calls:
            entry = by_index.setdefault(delta.index, {"id": "", "name": "", "args": ""})
            entry["id"] += delta.id or ""
            entry["name"] += delta.name or ""
            entry["args"] += delta.arguments
    assert [(e["name"], json.loads(e["args"])) for _, e in sorted(by_index.items())] == [
        ("get_weather", {"city": "杭州"}),
        ("get_time", {"tz": "Asia/Shanghai"}),
    ]
    assert all(e["id"].startswith("call_") for e in by_index.values())
    assert chunks[-1].finish_reason == "tool_calls"


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize("model", ["qwq-plus", "qwen3-235b-a22b"])
async def test_stream_only_thinking_models_answer_non_streaming_calls(
    emulator: DashScopeEmulator, sync: bool, model: str
) -> None:
    emulator.enqueue(Reply.text("2", reasoning="1+1 等于 2"))
    result = await call(core_client(emulator, sync), "generate", model, USER)
    assert (result.reasoning, result.text) == ("1+1 等于 2", "2")
    assert result.usage.reasoning_tokens and result.usage.reasoning_tokens > 0
    (request,) = emulator.requests
    assert request.stream is True  # the service only serves this streamed


@pytest.mark.parametrize("sync", [True, False])
async def test_images_use_the_multimodal_endpoint(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("一只狗"))
    messages = [{"role": "user", "content": [{"image": "https://x/dog.png"}, {"text": "这是什么"}]}]
    result = await call(core_client(emulator, sync), "generate", "qwen-vl-max", messages)
    assert result.text == "一只狗"
    assert emulator.requests[0].endpoint == "multimodal-generation"


@pytest.mark.parametrize("sync", [True, False])
async def test_errors_are_typed(emulator: DashScopeEmulator, sync: bool) -> None:
    with pytest.raises(AuthenticationError) as info:
        await call(core_client(emulator, sync, api_key="sk-wrong"), "generate", "qwen-plus", USER)
    assert info.value.request_id and info.value.code == "InvalidApiKey"
    with pytest.raises(BadRequestError, match="Model not exist"):
        await call(core_client(emulator, sync), "generate", "no-such-model", USER)
    emulator.enqueue(
        Reply.error(
            400,
            "DataInspectionFailed",
            "Output data may contain inappropriate content.",
            in_stream=True,
            after_chunks=2,
        )
    )
    received: list[str] = []
    from qwen_dashscope import ContentFilterError

    with pytest.raises(ContentFilterError) as cf:
        client = core_client(emulator, sync)
        if sync:
            for chunk in client.stream("qwen-plus", USER):
                received.append(chunk.text)
        else:
            async for chunk in client.stream("qwen-plus", USER):
                received.append(chunk.text)
    assert len(received) == 2 and cf.value.request_id


@pytest.mark.parametrize("sync", [True, False])
async def test_retries_against_the_emulator(
    emulator: DashScopeEmulator, sync: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qwen_dashscope._client.backoff", lambda attempt: 0.01)
    emulator.enqueue(
        Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."),
        Reply.error(500, "InternalError", "boom", in_stream=True),
        Reply.drop(),
        Reply.text("终于"),
    )
    chunks = await collect(core_client(emulator, sync, max_retries=3), "stream", "qwen-plus", USER)
    assert "".join(c.text for c in chunks) == "终于"
    assert len(emulator.requests) == 4
    emulator.enqueue(*[Reply.error(503, "ModelUnavailable", "later")] * 2)
    with pytest.raises(ServerError):
        await call(core_client(emulator, sync, max_retries=1), "generate", "qwen-plus", USER)
    emulator.enqueue(Reply.error(429, "Throttling.AllocationQuota", "Allocated quota exceeded."))
    with pytest.raises(RateLimitError):
        await call(core_client(emulator, sync, max_retries=3), "generate", "qwen-plus", USER)
    assert len(emulator.requests) == 4 + 2 + 1


@pytest.mark.parametrize("sync", [True, False])
async def test_a_dropped_stream_after_data_is_an_error(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(
        Reply.drop(after_chunks=2, text="一二三四五六七八九十"), Reply.text("不会被重试")
    )
    with pytest.raises(APIConnectionError):
        await collect(core_client(emulator, sync), "stream", "qwen-plus", USER)
    assert len(emulator.requests) == 1


def test_breaking_out_of_a_sync_stream_frees_the_connection(emulator: DashScopeEmulator) -> None:
    http = httpx.Client(limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5, pool=2))
    with DashScopeClient(
        base_url=emulator.base_url, api_key=emulator.api_key, http_client=http
    ) as client:
        emulator.enqueue(Reply.text("字" * 400, chunks=100))
        for chunk in client.stream("qwen-plus", USER):
            assert chunk.text
            break
        # With one connection in the pool, a leaked stream would make this wait for the pool.
        assert client.generate("qwen-plus", USER).text.startswith("[emulator]")
    assert http.is_closed  # close() closes an injected client


@pytest.mark.parametrize("factory", ["httpx", "aiohttp"])
async def test_cancelling_an_async_stream_frees_the_connection(
    emulator: DashScopeEmulator, factory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.chunk_delay = 0.02
    if factory == "httpx":
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
    else:
        HttpxAiohttpClient = pytest.importorskip("httpx_aiohttp").HttpxAiohttpClient

        http = HttpxAiohttpClient(limits=httpx.Limits(max_connections=1))
    client = AsyncDashScopeClient(
        base_url=emulator.base_url, api_key=emulator.api_key, http_client=http
    )
    emulator.enqueue(Reply.text("字" * 400, chunks=100))
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream("qwen-plus", USER):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A leaked connection would block this second call on the 1-connection pool.
    result = await asyncio.wait_for(client.generate("qwen-plus", USER), 5)
    assert result.text.startswith("[emulator]")
    # aclose() on a partially consumed stream frees it too.
    emulator.enqueue(Reply.text("字" * 400, chunks=100))
    stream = client.stream("qwen-plus", USER)
    await stream.__anext__()
    await stream.aclose()
    assert (await asyncio.wait_for(client.generate("qwen-plus", USER), 5)).text
    await http.aclose()


async def test_default_async_pool_is_per_event_loop_and_closed_with_it(
    emulator: DashScopeEmulator,
) -> None:
    HttpxAiohttpClient = pytest.importorskip("httpx_aiohttp").HttpxAiohttpClient  # aiohttp extra

    client = AsyncDashScopeClient(base_url=emulator.base_url, api_key=emulator.api_key)
    other = AsyncDashScopeClient(base_url=emulator.base_url, api_key=emulator.api_key)
    assert (await client.generate("qwen-plus", USER)).text
    first = client._http
    assert isinstance(first, HttpxAiohttpClient)
    assert other._http is first  # shared by the clients of one loop

    def other_loop() -> tuple[Any, str]:
        async def go() -> tuple[Any, str]:
            text = (await client.generate("qwen-plus", USER)).text
            return client._http, text

        return asyncio.run(go())

    inner, text = await asyncio.to_thread(other_loop)
    assert text and inner is not first
    assert inner.is_closed  # asyncio.run shut its loop down and closed that loop's pool
    assert not first.is_closed


@pytest.mark.parametrize("sync", [True, False])
async def test_embeddings_and_rerank(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.shuffle_embeddings = True
    client = core_client(emulator, sync)
    docs = [f"文档 {i} 关于 {'杭州 西湖' if i == 17 else '别的 东西'}" for i in range(23)]
    result = await call(client, "embed", docs, text_type="document", dimension=256)
    assert len(result.vectors) == 23 and all(len(v) == 256 for v in result.vectors)
    query = (await call(client, "embed", ["杭州 西湖"], text_type="query", dimension=256)).vectors[
        0
    ]
    scores = [sum(a * b for a, b in zip(query, v, strict=True)) for v in result.vectors]
    assert max(range(23), key=scores.__getitem__) == 17
    sizes = [
        len(r.body["input"]["texts"]) for r in emulator.requests if r.endpoint == "text-embedding"
    ]
    assert sorted(sizes) == [1, 3, 10, 10]  # async batches run concurrently
    ranked = await call(client, "rerank", "杭州 西湖", docs, top_n=3, return_documents=True)
    assert ranked.results[0].index == 17
    assert ranked.results[0].document == docs[17]
    assert len(ranked.results) == 3


@pytest.mark.parametrize("sync", [True, False])
async def test_the_key_never_reaches_a_log_line_or_an_error(
    emulator: DashScopeEmulator,
    sync: bool,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("qwen_dashscope._client.backoff", lambda attempt: 0.01)
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    emulator.enqueue(Reply.error(503, "ModelUnavailable", "later"), Reply.text("ok"))
    client = core_client(emulator, sync)
    await collect(client, "stream", "qwen-plus", USER)  # one retry, then success
    secret = "sk-this-key-must-stay-secret"
    with pytest.raises(AuthenticationError) as info:
        await call(core_client(emulator, sync, api_key=secret), "generate", "qwen-plus", USER)
    assert "retrying after ServerError" in caplog.text  # the logs were really captured
    assert emulator.api_key not in caplog.text
    assert secret not in caplog.text
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in repr(info.value.body)


@pytest.mark.parametrize("sync", [True, False])
async def test_tokenize(emulator: DashScopeEmulator, sync: bool) -> None:
    messages = [{"role": "user", "content": "代码改变世界 hello"}]
    result = await call(core_client(emulator, sync), "tokenize", "qwen-max", messages)
    assert result.tokens == [*"代码改变世界", "hello"]
    assert result.input_tokens == len(result.token_ids) == 7
    assert result.request_id
    assert emulator.requests[0].path == "/api/v1/tokenizer"
    with pytest.raises(BadRequestError, match="Model not exist"):
        await call(core_client(emulator, sync), "tokenize", "no-such-model", messages)


# The service sets an Alibaba Cloud WAF cookie on answers (captures textgen-text-nosse and
# textgen-text-stream-incremental .response-headers.txt carry this header).
WAF_COOKIE = "acw_tc=7e3d5586-cb70-98ce-97bf-8a2ac0091c3f;path=/;HttpOnly;Max-Age=1800"


@pytest.mark.parametrize("sync", [True, False])
async def test_the_shared_pools_send_no_cookie_back(
    make_emulator: Callable[..., DashScopeEmulator], sync: bool
) -> None:
    """The default pools serve every client in the process, whatever its key: a cookie set
    in answer to one credential is not sent with the next request (nor another key's)."""
    message = {"role": "assistant", "content": "好"}
    answer = {
        "output": {"choices": [{"message": message, "finish_reason": "stop"}]},
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
        "request_id": "with-cookie",
    }
    emulator = make_emulator(api_key=None)  # any key
    emulator.enqueue(
        Reply.raw(
            200,
            json.dumps(answer).encode(),
            {"Content-Type": "application/json", "Set-Cookie": WAF_COOKIE},
        )
    )
    # By name: aiohttp's own jar ignores cookies from IP addresses, not from hosts.
    base_url = emulator.base_url.replace("127.0.0.1", "localhost")
    first = core_client(emulator, sync, api_key="sk-a", base_url=base_url)
    assert (await call(first, "generate", "qwen-plus", USER)).text == "好"
    await call(first, "generate", "qwen-plus", USER)
    other = core_client(emulator, sync, api_key="sk-b", base_url=base_url)
    await collect(other, "stream", "qwen-plus", USER)
    later = emulator.requests[1:]
    assert len(later) == 2
    assert all("cookie" not in request.headers for request in later)
