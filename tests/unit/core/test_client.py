"""Client behaviour over httpx.MockTransport: headers, retries, streams, closing, deadlines."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from qwen_dashscope import (
    APIConnectionError,
    APITimeoutError,
    AsyncDashScopeClient,
    AuthenticationError,
    BadRequestError,
    DashScopeClient,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    Timeouts,
)
from qwen_dashscope import _client as client_module
from tests._calls import call, collect
from tests._twins import normalized, twin_pairs

from ._mock import SSE, ChunkedStream, Script, mock_client, respond

MESSAGES = [{"role": "user", "content": "hi"}]
OK = json.dumps(
    {
        "output": {
            "choices": [
                {"finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
            ]
        },
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        "request_id": "r-ok",
    }
).encode()


def sse_events(*texts: str, finish_last: str = "stop") -> bytes:
    out = []
    for i, text in enumerate(texts, 1):
        finish = finish_last if i == len(texts) else "null"
        data = {
            "output": {
                "choices": [
                    {"message": {"role": "assistant", "content": text}, "finish_reason": finish}
                ]
            },
            "usage": {"input_tokens": 1, "output_tokens": i},
            "request_id": "r-stream",
        }
        payload = json.dumps(data, ensure_ascii=False)
        out.append(f"id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{payload}\n\n")
    return "".join(out).encode()


async def generate(
    client: Any, model: str = "qwen-plus", params: dict[str, Any] | None = None
) -> Any:
    return await call(client, "generate", model, MESSAGES, params)


async def stream(
    client: Any, model: str = "qwen-plus", params: dict[str, Any] | None = None
) -> list[Any]:
    return await collect(client, "stream", model, MESSAGES, params)


@pytest.mark.parametrize("sync", [True, False])
async def test_request_headers_and_body(sync: bool) -> None:
    script = Script(lambda: respond(OK), lambda: respond(sse_events("a"), content_type=SSE))
    client = mock_client(script, sync, workspace="ws-1", default_headers={"X-Custom": "1"})
    await generate(client, params={"temperature": 0.3})
    await stream(client)
    plain, streamed = script.requests
    assert (
        plain.url
        == "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
    )
    assert plain.headers["authorization"] == "Bearer sk-secret-key"
    assert plain.headers["accept"] == "application/json"
    assert "x-dashscope-sse" not in plain.headers
    assert plain.headers["x-dashscope-workspace"] == "ws-1"
    assert plain.headers["x-custom"] == "1"
    assert plain.headers["user-agent"].startswith("qwen-dashscope/")
    assert json.loads(plain.content) == {
        "model": "qwen-plus",
        "input": {"messages": MESSAGES},
        "parameters": {"temperature": 0.3, "result_format": "message"},
    }
    assert streamed.headers["x-dashscope-sse"] == "enable"
    assert streamed.headers["accept"] == "text/event-stream"
    assert json.loads(streamed.content)["parameters"]["incremental_output"] is True


def test_request_bodies_are_utf8_json_with_any_parameter_keys() -> None:
    script = Script(lambda: respond(OK))
    client = mock_client(script, True)
    client.generate("qwen-plus", [{"role": "user", "content": "萝卜"}], {"bias": {101: -1.5}})
    content = script.requests[0].content
    assert "萝卜".encode() in content  # raw UTF-8, as the official SDK sends
    assert json.loads(content)["parameters"]["bias"] == {"101": -1.5}


@pytest.mark.parametrize("sync", [True, False])
async def test_throttling_is_retried_with_backoff(sync: bool, no_sleep: list[float]) -> None:
    throttled = json.dumps(
        {"code": "Throttling", "message": "slow down", "request_id": "r1"}
    ).encode()
    script = Script(
        lambda: respond(throttled, 429), lambda: respond(throttled, 429), lambda: respond(OK)
    )
    result = await generate(mock_client(script, sync))
    assert result.text == "ok"
    assert len(script.requests) == 3
    assert len(no_sleep) == 2 and 0.25 <= no_sleep[0] <= 0.5 and 0.5 <= no_sleep[1] <= 1.0


@pytest.mark.parametrize("sync", [True, False])
async def test_retry_after_is_honoured(sync: bool, no_sleep: list[float]) -> None:
    body = json.dumps({"code": "Throttling", "message": "m"}).encode()
    script = Script(lambda: respond(body, 429, headers={"Retry-After": "3"}), lambda: respond(OK))
    await generate(mock_client(script, sync))
    assert no_sleep == [3.0]


@pytest.mark.parametrize("sync", [True, False])
async def test_retries_run_out(sync: bool, no_sleep: list[float]) -> None:
    body = json.dumps({"code": "InternalError", "message": "boom", "request_id": "r5"}).encode()
    script = Script(*[lambda: respond(body, 500)] * 3)
    with pytest.raises(ServerError) as info:
        await generate(mock_client(script, sync, max_retries=2))
    assert info.value.request_id == "r5"
    assert len(script.requests) == 3


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "InvalidParameter", BadRequestError),
        (400, "Arrearage", BadRequestError),
        (401, "InvalidApiKey", AuthenticationError),
        (429, "Throttling.AllocationQuota", RateLimitError),
    ],
)
async def test_never_retried(
    sync: bool, status: int, code: str, error: type, no_sleep: list[float]
) -> None:
    body = json.dumps({"code": code, "message": "no"}).encode()
    script = Script(lambda: respond(body, status))
    with pytest.raises(error):
        await generate(mock_client(script, sync))
    assert len(script.requests) == 1 and no_sleep == []


@pytest.mark.parametrize("sync", [True, False])
async def test_connection_failures_are_retried(sync: bool, no_sleep: list[float]) -> None:
    script = Script(httpx.ConnectError("refused"), lambda: respond(OK))
    assert (await generate(mock_client(script, sync))).text == "ok"
    script = Script(*[httpx.ConnectError("refused")] * 2)
    with pytest.raises(APIConnectionError, match="refused"):
        await generate(mock_client(script, sync, max_retries=1))
    script = Script(httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await generate(mock_client(script, sync, max_retries=0))


@pytest.mark.parametrize("sync", [True, False])
async def test_stream_is_not_retried_once_data_reached_the_caller(
    sync: bool, no_sleep: list[float]
) -> None:
    def broken() -> httpx.Response:
        body = sse_events("a", "b", "c")
        return httpx.Response(
            200, headers={"content-type": SSE}, stream=ChunkedStream(body, size=40, fail_after=6)
        )

    script = Script(broken, lambda: respond(sse_events("x"), content_type=SSE))
    client = mock_client(script, sync)
    received: list[str] = []
    with pytest.raises(APIConnectionError):
        if sync:
            for chunk in client.stream("qwen-plus", MESSAGES):
                received.append(chunk.text)
        else:
            async for chunk in client.stream("qwen-plus", MESSAGES):
                received.append(chunk.text)
    assert received and len(script.requests) == 1


@pytest.mark.parametrize("sync", [True, False])
async def test_error_event_before_any_data_is_retried(sync: bool, no_sleep: list[float]) -> None:
    error = (
        b"id:1\nevent:error\n:HTTP_STATUS/503\n"
        b'data:{"code":"ModelServingError","message":"busy"}\n\n'
    )
    script = Script(
        lambda: respond(error, content_type=SSE),
        lambda: respond(sse_events("ok"), content_type=SSE),
    )
    chunks = await stream(mock_client(script, sync))
    assert "".join(c.text for c in chunks) == "ok" and len(script.requests) == 2


@pytest.mark.parametrize("sync", [True, False])
async def test_mid_stream_error_event_is_raised_typed(sync: bool) -> None:
    body = sse_events("a", "b", finish_last="null") + (
        b'id:3\nevent:error\n:HTTP_STATUS/400\ndata:{"code":"DataInspectionFailed",'
        b'"message":"Output data may contain inappropriate content.","request_id":"r-x"}\n\n'
    )
    from qwen_dashscope import ContentFilterError

    with pytest.raises(ContentFilterError) as info:
        await stream(mock_client(Script(lambda: respond(body, content_type=SSE)), sync))
    assert info.value.request_id == "r-x"


@pytest.mark.parametrize("sync", [True, False])
async def test_closing_a_stream_early_closes_the_response(sync: bool) -> None:
    body_stream = ChunkedStream(sse_events(*"abcdefgh"), size=30)
    script = Script(lambda: httpx.Response(200, headers={"content-type": SSE}, stream=body_stream))
    client = mock_client(script, sync)
    if sync:
        iterator = client.stream("qwen-plus", MESSAGES)
        assert next(iterator).text == "a"
        iterator.close()
    else:
        iterator = client.stream("qwen-plus", MESSAGES)
        assert (await iterator.__anext__()).text == "a"
        await iterator.aclose()
    assert body_stream.closed
    assert body_stream.served < len(body_stream.chunks)


@pytest.mark.parametrize("sync", [True, False])
async def test_a_stream_answered_with_plain_json_still_works(sync: bool) -> None:
    chunks = await stream(mock_client(Script(lambda: respond(OK)), sync))
    assert [(c.text, c.finish_reason) for c in chunks] == [("ok", "stop")]


@pytest.mark.parametrize("sync", [True, False])
async def test_stream_only_thinking_is_streamed_internally(sync: bool) -> None:
    body = (
        b'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"choices":[{"message":{"content":"",'
        b'"reasoning_content":"think","role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":1,'
        b'"output_tokens":1},"request_id":"r"}\n\n'
        b'id:2\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"choices":[{"message":{"content":"42",'
        b'"reasoning_content":"","role":"assistant"},"finish_reason":"stop"}]},"usage":{"input_tokens":1,'
        b'"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1}},"request_id":"r"}\n\n'
    )
    script = Script(lambda: respond(body, content_type=SSE))
    result = await generate(mock_client(script, sync), model="qwq-plus")
    assert (result.reasoning, result.text, result.usage.reasoning_tokens) == ("think", "42", 1)
    assert script.requests[0].headers["x-dashscope-sse"] == "enable"


@pytest.mark.parametrize("sync", [True, False])
async def test_invalid_parameters_never_reach_the_network(sync: bool) -> None:
    script = Script()
    with pytest.raises(InvalidRequestError, match="temperature"):
        await generate(mock_client(script, sync), params={"temperature": 5})
    assert script.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_protocol_errors(sync: bool) -> None:
    from qwen_dashscope import ProtocolError

    with pytest.raises(ProtocolError):
        await generate(mock_client(Script(lambda: respond(b"<html>gateway</html>")), sync))
    with pytest.raises(ProtocolError):
        await stream(
            mock_client(Script(lambda: respond(b"data:{not json}\n\n", content_type=SSE)), sync)
        )
    # A 200 without an answer, or with one that never finished, is never an empty result.
    unfinished = {"message": {"role": "assistant", "content": "半句"}, "finish_reason": "null"}
    for body in (
        {"request_id": "r3", "output": {}},
        {"request_id": "r4", "output": {"choices": [unfinished]}},
    ):
        answer = json.dumps(body).encode()
        with pytest.raises(ProtocolError, match="finish_reason") as info:
            await generate(mock_client(Script(lambda answer=answer: respond(answer)), sync))
        assert info.value.request_id == body["request_id"]


@pytest.mark.parametrize("sync", [True, False])
async def test_error_body_with_status_200(sync: bool) -> None:
    body = json.dumps({"code": "InvalidParameter", "message": "odd", "request_id": "r"}).encode()
    with pytest.raises(Exception, match="odd") as info:
        await generate(mock_client(Script(lambda: respond(body)), sync))
    assert info.value.request_id == "r"  # type: ignore[attr-defined]


@pytest.mark.parametrize("sync", [True, False])
async def test_total_deadline(
    sync: bool, no_sleep: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(client_module.time, "monotonic", lambda: clock[0])
    body = json.dumps({"code": "Throttling", "message": "m"}).encode()

    def throttled_and_slow() -> httpx.Response:
        clock[0] += 5
        return respond(body, 429, headers={"Retry-After": "4"})

    script = Script(throttled_and_slow, lambda: respond(OK))
    with pytest.raises(RateLimitError):  # the 4 s wait would pass the 8 s deadline
        await generate(mock_client(script, sync, timeout=Timeouts(total=8)))
    assert len(script.requests) == 1 and no_sleep == []


@pytest.mark.parametrize("sync", [True, False])
async def test_embeddings_are_batched_and_ordered(sync: bool) -> None:
    requests: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        texts = body["input"]["texts"]
        # answer in reverse order: the client must sort by text_index
        items = [
            {"text_index": i, "embedding": [float(t[1:])]}
            for i, t in reversed(list(enumerate(texts)))
        ]
        return respond(
            json.dumps(
                {
                    "output": {"embeddings": items},
                    "usage": {"total_tokens": len(texts)},
                    "request_id": "e",
                }
            ).encode()
        )

    client = mock_client(Script(*[lambda: None] * 0), sync)
    transport = httpx.MockTransport(handler)
    client = (
        DashScopeClient(api_key="k", http_client=httpx.Client(transport=transport))
        if sync
        else AsyncDashScopeClient(api_key="k", http_client=httpx.AsyncClient(transport=transport))
    )
    texts = [f"t{i}" for i in range(23)]
    if sync:
        result = client.embed(texts, text_type="document")
    else:
        result = await client.embed(texts, text_type="document")
    assert [len(r["input"]["texts"]) for r in requests] == [10, 10, 3]
    assert all(r["parameters"] == {"text_type": "document"} for r in requests)
    assert result.vectors == [[float(i)] for i in range(23)]
    assert [e.index for e in result.embeddings] == list(range(23))
    assert result.usage.total_tokens == 23


PAIRS = list(twin_pairs(DashScopeClient, AsyncDashScopeClient))
# Twins that differ on purpose, and why.
DIFFERENT = {
    "embed": "the async twin sends its batches concurrently (embedding_concurrency)",
    "embed_multimodal": "the async twin sends its batches concurrently (embedding_concurrency)",
}


@pytest.mark.parametrize(("name", "sync", "async_"), PAIRS, ids=[p[0] for p in PAIRS])
def test_sync_and_async_twins_match(name: str, sync: object, async_: object) -> None:
    if name in DIFFERENT:
        assert normalized(sync) != normalized(async_)  # else take it off the list
        return
    assert normalized(sync) == normalized(async_)


def test_every_client_method_has_a_twin() -> None:
    names = {p[0] for p in PAIRS}
    assert {"chat", "chat_stream", "generate", "stream", "embed", "rerank", "tokenize"} <= names
    assert {"_send", "_read_body", "_request_json", "_open_stream", "_bodies", "_chunks"} <= names


async def test_async_embedding_batches_run_concurrently_within_the_bound() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)  # let the other batches start
        in_flight -= 1
        texts = json.loads(request.content)["input"]["texts"]
        items = [{"text_index": i, "embedding": [0.5]} for i in range(len(texts))]
        body = {"output": {"embeddings": items}, "usage": {"total_tokens": 1}, "request_id": "e"}
        return httpx.Response(200, json=body)

    texts = [f"t{i}" for i in range(60)]  # 6 batches of 10
    for bound in (1, 3):
        peak = 0
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = AsyncDashScopeClient(api_key="k", http_client=http, embedding_concurrency=bound)
        assert len((await client.embed(texts)).vectors) == 60
        assert peak == bound
        await http.aclose()
