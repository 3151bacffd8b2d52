"""Issue 9, one test family per numbered item, through the public API only.

Faults the emulator can make (``Reply.raw``) use the emulator; the others use the raw servers
of ``servers.py``. Each test failed on the transport as it was when issue 9 was filed (a few,
noted, guarded behaviour that already held). Timing bounds are generous (three times the
deadline) and the numbers small, to keep the suite fast.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import time
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from qwen_dashscope import (
    APIConnectionError,
    APITimeoutError,
    AsyncDashScopeClient,
    ContentFilterError,
    DashScopeClient,
    InvalidRequestError,
    ProtocolError,
    RateLimitError,
    Timeouts,
)
from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

from . import _paths
from ._paths import CHAT_PATHS, EMBED_PATHS, KEY, MESSAGES
from .servers import (
    SSE_TYPE,
    RawServer,
    chunked_sse,
    delta_json,
    drip,
    embedding_json,
    endless_chunked_body,
    endless_sse_line,
    generation_json,
    short_body,
    sse_event,
    stall_after_headers,
)

Serve = Callable[..., RawServer]

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
CHAT = pytest.mark.parametrize("path", CHAT_PATHS)
EMBED = pytest.mark.parametrize("path", EMBED_PATHS)


def sequence(*handlers: Callable[[Any], None]) -> Callable[[Any], None]:
    """A handler answering the n-th request with ``handlers[n]`` (the last one repeats)."""
    state = {"n": 0}

    def handler(ex: Any) -> None:
        index = min(state["n"], len(handlers) - 1)
        state["n"] += 1
        handlers[index](ex)

    return handler


def stream_body(*texts: str, request_id: str = "rid-stream") -> bytes:
    """A well-formed native SSE body whose last event finishes."""
    frames = [
        sse_event(i, delta_json(t, "stop" if i == len(texts) else "null", request_id=request_id))
        for i, t in enumerate(texts, 1)
    ]
    return b"".join(frames)


def at(emulator: DashScopeEmulator) -> dict[str, Any]:
    """The connection settings that reach ``emulator``."""
    return {"base_url": emulator.base_url, "api_key": emulator.api_key}


def sse_reply(body: bytes, *, request_id: str = "rid-header") -> Reply:
    return Reply.raw(200, body, {"content-type": SSE_TYPE, "x-request-id": request_id})


# =============================================================================================
# Item 1: Timeouts(total=...) bounds the whole call, body included.
# =============================================================================================

# The generous bounds (a loaded 2-core machine): a 1 s deadline must end the call
# within 3 s; the servers give up (close the connection) at 3.5 s, so a call that has not
# ended by then fails the test with the error of the closed connection instead of hanging.
TOTAL = Timeouts(total=1.0)
BOUND = 3.0
DRIP = {"interval": 0.1, "give_up": 3.5}


@SYNC
@CHAT
async def test_total_deadline_covers_a_dripping_chat_body(
    serve: Serve, path: str, sync: bool
) -> None:
    server = serve(drip(generation_json("滴" * 40), **DRIP))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await _paths.generate(path, sync, base_url=server.base_url, timeout=TOTAL)
    assert time.monotonic() - start < BOUND


@SYNC
@EMBED
async def test_total_deadline_covers_a_dripping_embedding_body(
    serve: Serve, path: str, sync: bool
) -> None:
    server = serve(drip(embedding_json(1, dim=64), **DRIP))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await _paths.embed(path, sync, base_url=server.base_url, timeout=TOTAL)
    assert time.monotonic() - start < BOUND


@SYNC
async def test_total_deadline_covers_a_body_that_never_ends(serve: Serve, sync: bool) -> None:
    server = serve(endless_chunked_body(**DRIP))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await _paths.generate("client", sync, base_url=server.base_url, timeout=TOTAL)
    assert time.monotonic() - start < BOUND


@SYNC
async def test_total_deadline_covers_a_stall_after_the_headers(serve: Serve, sync: bool) -> None:
    """Guard: headers then silence. The read timeout is capped by what is left of ``total``."""
    server = serve(stall_after_headers(give_up=3.0))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await _paths.generate("client", sync, base_url=server.base_url, timeout=TOTAL)
    assert time.monotonic() - start < BOUND


@SYNC
async def test_total_deadline_covers_a_dripping_stream(serve: Serve, sync: bool) -> None:
    """Guard: a stream whose events keep coming ends at ``total`` (checked between chunks)."""
    server = serve(endless_chunked_body(interval=0.1, give_up=3.0, sse=True))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await _paths.stream("client", sync, base_url=server.base_url, timeout=TOTAL)
    assert time.monotonic() - start < BOUND


# =============================================================================================
# Item 2: long SSE lines cost linear time and are capped (16 MB).
# =============================================================================================

UNDER_CAP = 12_000_000  # bytes of text in one data: line, under any 16 MB / 16 MiB cap
OVER_CAP = 18 << 20  # 18 MiB: over the cap


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body served in fixed-size chunks, as a slow network delivers a long line."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body = body
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self.body)
        for start in range(0, len(view), self.size):
            yield bytes(view[start : start + self.size])

    async def __aiter__(self) -> Any:
        for chunk in self:
            yield chunk


def _mock_http(sync: bool, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    transport = httpx.MockTransport(handler)
    return httpx.Client(transport=transport) if sync else httpx.AsyncClient(transport=transport)


@SYNC
async def test_a_long_sse_line_costs_linear_time(sync: bool) -> None:
    body = stream_body("长" * (UNDER_CAP // 3), "")  # 12 MB of UTF-8 in one line

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": SSE_TYPE, "x-request-id": "rid-long"},
            stream=_Chunks(body, 512),
        )

    start = time.thread_time()
    texts = await _paths.stream(
        "client",
        sync,
        base_url="http://127.0.0.1:9/api/v1",
        http_client=_mock_http(sync, handler),
        timeout=Timeouts(total=3),  # a safety net: a quadratic decoder takes ~8 s of CPU here
    )
    assert sum(len(t) for t in texts) == UNDER_CAP // 3
    assert time.thread_time() - start < 1.5


@SYNC
async def test_a_line_over_the_cap_is_a_protocol_error(serve: Serve, sync: bool) -> None:
    def frames() -> Iterator[bytes]:
        yield sse_event(1, delta_json("x" * OVER_CAP))
        yield sse_event(2, delta_json("", "stop"))

    server = serve(chunked_sse(frames))
    with pytest.raises(ProtocolError):
        await _paths.stream("client", sync, base_url=server.base_url, timeout=Timeouts(total=10))


@SYNC
async def test_an_endless_line_ends_with_a_protocol_error(serve: Serve, sync: bool) -> None:
    # Default timeouts (no total): only the cap can end this call before the server gives up.
    server = serve(endless_sse_line(limit=20 << 20, give_up=1.25))
    start = time.thread_time()
    with pytest.raises(ProtocolError):
        await _paths.stream("client", sync, base_url=server.base_url, max_retries=0)
    assert time.thread_time() - start < 1.25
    assert server.requests == 1


# =============================================================================================
# Item 3: invalid UTF-8 in a stream event is a ProtocolError carrying the request id.
# =============================================================================================

BAD_UTF8 = (
    b'{"output":{"choices":[{"message":{"role":"assistant","content":"\xff\xfe\xe6\x9d"},'
    b'"finish_reason":"null"}]},"request_id":"rid-body"}'
)


@SYNC
@CHAT
async def test_invalid_utf8_in_a_stream_is_a_protocol_error(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.enqueue(sse_reply(sse_event(1, BAD_UTF8), request_id="rid-utf8"))
    with pytest.raises(ProtocolError) as caught:
        await _paths.stream(path, sync, **at(emulator), max_retries=0)
    assert caught.value.request_id == "rid-utf8"


@SYNC
@CHAT
async def test_a_stream_protocol_error_carries_the_header_request_id(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.enqueue(sse_reply(sse_event(1, b"not json at all"), request_id="rid-proto"))
    with pytest.raises(ProtocolError) as caught:
        await _paths.stream(path, sync, **at(emulator), max_retries=0)
    assert caught.value.request_id == "rid-proto"


@SYNC
async def test_a_non_streaming_protocol_error_carries_the_header_request_id(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    """Guard: the non-streaming path already takes the request id from the header."""
    emulator.enqueue(
        Reply.raw(200, b"not json", {"content-type": "application/json", "x-request-id": "rid-j"})
    )
    with pytest.raises(ProtocolError) as caught:
        await _paths.generate("client", sync, **at(emulator), max_retries=0)
    assert caught.value.request_id == "rid-j"


# =============================================================================================
# Item 8: a non-streaming body that breaks before it is complete is retried.
# =============================================================================================


@SYNC
@CHAT
async def test_a_broken_chat_body_is_retried(serve: Serve, path: str, sync: bool) -> None:
    body = generation_json("重试成功")
    server = serve(sequence(short_body(body), lambda ex: _complete(ex, body)))
    assert await _paths.generate(path, sync, base_url=server.base_url) == "重试成功"
    assert server.requests == 2


@SYNC
@EMBED
async def test_a_broken_embedding_body_is_retried(serve: Serve, path: str, sync: bool) -> None:
    body = embedding_json(1, dim=8)
    server = serve(sequence(short_body(body), lambda ex: _complete(ex, body)))
    vectors = await _paths.embed(path, sync, base_url=server.base_url)
    assert [len(v) for v in vectors] == [8]
    assert server.requests == 2


@SYNC
@pytest.mark.parametrize("kind", ["generate", "embed"])
async def test_a_body_that_always_breaks_is_tried_max_retries_plus_one_times(
    serve: Serve, kind: str, sync: bool
) -> None:
    body = generation_json("x" * 200) if kind == "generate" else embedding_json(1, dim=64)
    server = serve(short_body(body))
    with pytest.raises(APIConnectionError):
        await getattr(_paths, kind)("client", sync, base_url=server.base_url, max_retries=2)
    assert server.requests == 3
    assert server.per_connection == [1, 1, 1]  # each cut body also closed its connection


def _complete(ex: Any, body: bytes) -> None:
    ex.head(200, {"content-type": "application/json", "content-length": str(len(body))})
    ex.send(body)


# =============================================================================================
# Item 9: Retry-After beyond the 60 s ceiling: wait (within total) or give up at once, saying so.
# =============================================================================================

THROTTLED = json.dumps(
    {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded.", "request_id": "r9"}
).encode()


def _throttled(retry_after: str) -> Reply:
    headers = {"content-type": "application/json", "retry-after": retry_after}
    return Reply.raw(429, THROTTLED, headers)


@SYNC
@CHAT
async def test_a_long_retry_after_is_not_hammered(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.enqueue(_throttled("120"), _throttled("120"), Reply.text("too early"))
    start = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await _paths.generate(path, sync, **at(emulator), max_retries=1, timeout=Timeouts(total=2))
    assert time.monotonic() - start < 2.5
    assert len(emulator.requests) == 1
    assert "120" in str(caught.value)  # how long the service asked to wait


@SYNC
async def test_a_long_retry_after_is_not_hammered_by_a_stream(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(_throttled("120"), _throttled("120"), Reply.text("too early"))
    with pytest.raises(RateLimitError) as caught:
        await _paths.stream(
            "client", sync, **at(emulator), max_retries=1, timeout=Timeouts(total=2)
        )
    assert len(emulator.requests) == 1
    assert "120" in str(caught.value)


async def test_a_long_retry_after_without_a_deadline(emulator: DashScopeEmulator) -> None:
    """No ``total``: waiting (up to a cap) and failing at once are both fine; retrying is not."""
    emulator.enqueue(_throttled("120"), _throttled("120"), Reply.text("too early"))
    client = AsyncDashScopeClient(**at(emulator), max_retries=1)
    try:
        await asyncio.wait_for(client.generate("qwen-plus", MESSAGES), timeout=2.0)
    except RateLimitError as error:
        assert "120" in str(error)
    except asyncio.TimeoutError:  # (TimeoutError itself only from Python 3.11 on)
        pass  # still waiting for the service: allowed
    assert len(emulator.requests) == 1


@SYNC
async def test_a_short_retry_after_is_honoured(emulator: DashScopeEmulator, sync: bool) -> None:
    """Guard: Retry-After within the ceiling is waited for, then the call succeeds."""
    emulator.enqueue(_throttled("1"), Reply.text("after the wait"))
    start = time.monotonic()
    assert await _paths.generate("client", sync, **at(emulator)) == "after the wait"
    assert time.monotonic() - start >= 0.9
    assert len(emulator.requests) == 2


# =============================================================================================
# Item 10: error codes map to the same classes whatever the HTTP status.
# =============================================================================================


def _ok_with_throttling_body() -> Reply:
    return Reply.raw(200, THROTTLED, {"content-type": "application/json", "x-request-id": "r10"})


@SYNC
@CHAT
async def test_a_200_throttling_envelope_is_a_rate_limit_error(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.enqueue(_ok_with_throttling_body())
    with pytest.raises(RateLimitError) as caught:
        await _paths.generate(path, sync, **at(emulator), max_retries=0)
    assert caught.value.code == "Throttling.RateQuota"


@SYNC
@EMBED
async def test_a_200_throttling_envelope_on_embeddings_is_a_rate_limit_error(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.when(lambda req: req.endpoint == "text-embedding", _ok_with_throttling_body())
    with pytest.raises(RateLimitError):
        await _paths.embed(path, sync, **at(emulator), max_retries=0)


@SYNC
async def test_a_200_throttling_envelope_is_retried(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(_ok_with_throttling_body(), Reply.text("第二次"))
    assert await _paths.generate("client", sync, **at(emulator), max_retries=1) == "第二次"
    assert len(emulator.requests) == 2


def _error_frame(code: str) -> Reply:
    data = json.dumps({"code": code, "message": "from the stream", "request_id": "r10s"})
    return sse_reply(sse_event(1, data, event="error", status=None), request_id="r10s")


@SYNC
@CHAT
async def test_an_error_frame_without_status_is_classified_by_its_code(
    emulator: DashScopeEmulator, path: str, sync: bool
) -> None:
    emulator.enqueue(_error_frame("Throttling.RateQuota"))
    with pytest.raises(RateLimitError):
        await _paths.stream(path, sync, **at(emulator), max_retries=0)


@SYNC
async def test_an_error_frame_without_status_is_retried_when_throttled(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(_error_frame("Throttling"), Reply.text("好了"))
    texts = await _paths.stream("client", sync, **at(emulator), max_retries=1)
    assert "".join(texts) == "好了"
    assert len(emulator.requests) == 2


@SYNC
async def test_an_error_frame_without_status_keeps_moderation_codes(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    """Guard: codes that already decide the class (moderation) keep doing so."""
    emulator.enqueue(_error_frame("DataInspectionFailed"))
    with pytest.raises(ContentFilterError):
        await _paths.stream("client", sync, **at(emulator), max_retries=0)


# =============================================================================================
# Item 11: illegal default_headers are refused at construction.
# =============================================================================================

ILLEGAL_HEADERS = [
    pytest.param({"X-Trace": "a\nb"}, id="newline-in-value"),
    pytest.param({"X-Trace": "a\r\nX-Injected: 1"}, id="crlf-injection"),
    pytest.param({"X-Trace": "zhé"}, id="non-ascii-value"),
    pytest.param({"Bad Name": "v"}, id="space-in-name"),
    pytest.param({"": "v"}, id="empty-name"),
    pytest.param({"X-Trace": 123}, id="non-string-value"),
]
HEADER_CLASSES = ["DashScopeClient", "AsyncDashScopeClient", *CHAT_PATHS[1:], *EMBED_PATHS[1:]]


def _construct(name: str, **kwargs: Any) -> Any:
    """An instance of the public class ``name``."""
    if name == "DashScopeClient":
        return DashScopeClient(**kwargs)
    if name == "AsyncDashScopeClient":
        return AsyncDashScopeClient(**kwargs)
    if name == "ChatQwen":
        from langchain_qwen import ChatQwen

        return ChatQwen(**kwargs)
    if name == "QwenEmbeddings":
        from langchain_qwen import QwenEmbeddings

        return QwenEmbeddings(**kwargs)
    if name == "Qwen":
        from llama_index_qwen import Qwen

        return Qwen(**kwargs)
    from llama_index_qwen import QwenEmbedding

    return QwenEmbedding(**kwargs)


def _header_cases() -> Iterator[Any]:
    for name in HEADER_CLASSES:
        for case in ILLEGAL_HEADERS:
            (headers,) = case.values
            yield pytest.param(name, headers, id=f"{name}-{case.id}")


@pytest.mark.parametrize(("name", "headers"), list(_header_cases()))
def test_illegal_default_headers_are_refused_at_construction(
    emulator: DashScopeEmulator, name: str, headers: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="default_headers"):
        _construct(name, **at(emulator), default_headers=headers)
    assert emulator.requests == []


# =============================================================================================
# Item 4: a key passed under another provider's name is refused, and never echoed.
# =============================================================================================

SECRET = "sk-leaked-7f3a9c21d0"

CREDENTIAL_KEYWORDS = [
    ("ChatQwen", "openai_api_key"),
    ("ChatQwen", "apikey"),
    ("ChatQwen", "authorization"),
    ("Qwen", "api_token"),
    ("Qwen", "openai_api_key"),
    ("QwenEmbeddings", "secret_key"),
    ("QwenEmbedding", "access_token"),
]


@pytest.mark.parametrize(("name", "keyword"), CREDENTIAL_KEYWORDS)
def test_a_key_under_another_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, keyword: str
) -> None:
    # A valid key in the environment: the stray keyword is the only problem.
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises((ValueError, TypeError)) as caught:
            _construct(name, **{keyword: SECRET})
    text = f"{caught.value} {caught.value!r}"
    assert re.search(r"(?<![A-Za-z_])api_key(?![A-Za-z_])", text), "names api_key"  # itself
    assert "DASHSCOPE_API_KEY" in text
    assert SECRET not in text
    assert not [w for w in seen if SECRET in str(w.message)]


# =============================================================================================
# Item 5: unknown or misspelt keywords are never silently ignored.
# =============================================================================================


def _refused_or_passed_through(
    build: Callable[[], Any], keyword: str
) -> tuple[Any, list[warnings.WarningMessage]] | None:
    """None when ``build()`` refuses ``keyword``; else the object and the warnings it gave."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            obj = build()
        except (ValueError, TypeError) as error:
            assert keyword in str(error)
            return None
    assert [w for w in seen if keyword in str(w.message)], f"{keyword}= accepted without a word"
    return obj, seen


@pytest.mark.parametrize("name", ["QwenEmbeddings", "QwenEmbedding"])
async def test_a_misspelt_dimension_is_not_silently_ignored(
    emulator: DashScopeEmulator, name: str
) -> None:
    outcome = _refused_or_passed_through(
        lambda: _construct(name, **at(emulator), dimension=512), "dimension"
    )
    if outcome is not None:  # accepted with a warning: then it must reach the wire
        vectors = await _paths.embed_with(outcome[0], name, True, ["西湖"])
        assert [len(v) for v in vectors] == [512]


@pytest.mark.parametrize(
    ("name", "keyword"),
    [
        pytest.param(
            "QwenEmbedding",
            "model_name",
            marks=(),
        ),
        pytest.param(
            "QwenEmbedding",
            "model",
            marks=(),
        ),
        pytest.param("QwenEmbeddings", "model"),  # guard: already refused
    ],
)
def test_an_embedding_class_refuses_a_chat_model(
    emulator: DashScopeEmulator, name: str, keyword: str
) -> None:
    with pytest.raises(ValueError, match="model"):
        _construct(name, **at(emulator), **{keyword: "qwen-plus"})
    assert emulator.requests == []


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("Qwen"),
        "ChatQwen",  # guard: moved to model_kwargs with a warning, and sent
    ],
)
async def test_a_misspelt_parameter_is_not_silently_ignored(
    emulator: DashScopeEmulator, path: str
) -> None:
    outcome = _refused_or_passed_through(
        lambda: _paths.chat_object(path, True, **at(emulator), temprature=0.5), "temprature"
    )
    if outcome is not None:
        await _paths.ask(outcome[0], path, True)
        assert emulator.requests[-1].parameters.get("temprature") == 0.5


# =============================================================================================
# Item 6: inputs that passed validation crash deep inside; each must be an InvalidRequestError
# (or a ValueError / pydantic ValidationError from a constructor) naming the parameter,
# raised before any request.
# =============================================================================================

NAN, INF = math.nan, math.inf
BIG = 2**65  # beyond 64 bits: JSON encoders refuse it
LONE = "\ud800"  # a lone surrogate: not encodable as UTF-8


def _case(
    case_id: str,
    path: str,
    param: str,
    *,
    settings: dict[str, Any] | None = None,
    text: str = "你好",
    parameters: dict[str, Any] | None = None,
    kind: str = "generate",
    today: str | None = None,
) -> Any:
    marks: list[Any] = []  # every case passes since the fix of issue 9 item 6
    values = (path, param, settings or {}, text, parameters or {}, kind)
    return pytest.param(*values, id=case_id, marks=marks)


UNTYPED_INPUTS = [
    # -- numbers the JSON encoder cannot write ---------------------------------------------
    _case(
        "client-big-int-param",
        "client",
        "x_big",
        parameters={"x_big": BIG},
        today="TypeError: Integer exceeds 64-bit range (orjson)",
    ),
    _case(
        "client-big-top_k",
        "client",
        "top_k",
        parameters={"top_k": BIG},
        today="TypeError: Integer exceeds 64-bit range (orjson)",
    ),
    _case(
        "ChatQwen-big-model_kwargs",
        "ChatQwen",
        "x_big",
        settings={"model_kwargs": {"x_big": [BIG]}},
        today="TypeError: Integer exceeds 64-bit range (orjson)",
    ),
    _case(
        "Qwen-big-additional_kwargs",
        "Qwen",
        "x_big",
        settings={"additional_kwargs": {"x_big": BIG}},
        today="TypeError: Integer exceeds 64-bit range (orjson)",
    ),
    _case(
        "Qwen-big-max_tokens",
        "Qwen",
        "max_tokens",
        settings={"max_tokens": BIG},
        today="TypeError: Integer exceeds 64-bit range (orjson)",
    ),
    _case(
        "client-inf-repetition_penalty",
        "client",
        "repetition_penalty",
        parameters={"repetition_penalty": INF},
        today="inf passes validation, sent as null",
    ),
    _case(
        "ChatQwen-inf-repetition_penalty",
        "ChatQwen",
        "repetition_penalty",
        settings={"repetition_penalty": INF},
        today="inf passes validation, sent as null",
    ),
    _case(
        "Qwen-inf-repetition_penalty",
        "Qwen",
        "repetition_penalty",
        settings={"repetition_penalty": INF},
        today="inf passes validation, sent as null",
    ),
    _case("client-nan-temperature", "client", "temperature", parameters={"temperature": NAN}),
    # -- text that is not UTF-8 --------------------------------------------------------------
    _case(
        "client-surrogate-message",
        "client",
        "messages",
        text=f"a{LONE}b",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "ChatQwen-surrogate-message",
        "ChatQwen",
        "messages",
        text=f"a{LONE}b",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "Qwen-surrogate-message",
        "Qwen",
        "messages",
        text=f"a{LONE}b",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "client-surrogate-stop",
        "client",
        "stop",
        parameters={"stop": [LONE]},
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "client-surrogate-embedding",
        "client",
        "texts",
        text=LONE,
        kind="embed",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "QwenEmbeddings-surrogate",
        "QwenEmbeddings",
        "texts",
        text=LONE,
        kind="embed",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    _case(
        "QwenEmbedding-surrogate",
        "QwenEmbedding",
        "texts",
        text=LONE,
        kind="embed",
        today="orjson TypeError: str is not valid UTF-8: surrogates not allowed",
    ),
    # -- values that are not JSON at all -------------------------------------------------------
    _case(
        "client-set-param",
        "client",
        "x_set",
        parameters={"x_set": {1, 2}},
        today="orjson TypeError: Type is not JSON serializable: set",
    ),
    _case(
        "ChatQwen-object-model_kwargs",
        "ChatQwen",
        "x_obj",
        settings={"model_kwargs": {"x_obj": object()}},
        today="orjson TypeError: Type is not JSON serializable: object",
    ),
    _case(
        "Qwen-set-additional_kwargs",
        "Qwen",
        "x_set",
        settings={"additional_kwargs": {"x_set": {"a"}}},
        today="orjson TypeError: Type is not JSON serializable: set",
    ),
    # -- timeouts and retry counts -----------------------------------------------------------
    _case(
        "client-nan-timeout",
        "client",
        "timeout",
        settings={"timeout": NAN},
        today="timeout=nan accepted",
    ),
    _case(
        "client-inf-timeout",
        "client",
        "timeout",
        settings={"timeout": INF},
        today="timeout=inf accepted",
    ),
    _case("client-true-timeout", "client", "timeout", settings={"timeout": True}),
    _case(
        "ChatQwen-true-timeout",
        "ChatQwen",
        "timeout",
        settings={"timeout": True},
        today="pydantic turns timeout=True into 1.0",
    ),
    _case(
        "ChatQwen-nan-timeout",
        "ChatQwen",
        "timeout",
        settings={"timeout": NAN},
        today="timeout=nan accepted",
    ),
    _case(
        "Qwen-true-timeout",
        "Qwen",
        "timeout",
        settings={"timeout": True},
        today="pydantic turns timeout=True into 1.0",
    ),
    _case(
        "Qwen-inf-timeout",
        "Qwen",
        "timeout",
        settings={"timeout": INF},
        today="timeout=inf accepted",
    ),
    _case(
        "QwenEmbeddings-true-timeout",
        "QwenEmbeddings",
        "timeout",
        kind="embed",
        settings={"timeout": True},
        today="pydantic turns timeout=True into 1.0",
    ),
    _case(
        "QwenEmbedding-true-timeout",
        "QwenEmbedding",
        "timeout",
        kind="embed",
        settings={"timeout": True},
        today="pydantic turns timeout=True into 1.0",
    ),
    _case("client-true-max_retries", "client", "max_retries", settings={"max_retries": True}),
    _case(
        "ChatQwen-true-max_retries",
        "ChatQwen",
        "max_retries",
        settings={"max_retries": True},
        today="pydantic turns max_retries=True into 1",
    ),
    _case(
        "Qwen-true-max_retries",
        "Qwen",
        "max_retries",
        settings={"max_retries": True},
        today="pydantic turns max_retries=True into 1",
    ),
    _case(
        "QwenEmbeddings-true-max_retries",
        "QwenEmbeddings",
        "max_retries",
        kind="embed",
        settings={"max_retries": True},
        today="pydantic turns max_retries=True into 1",
    ),
    _case(
        "QwenEmbedding-true-max_retries",
        "QwenEmbedding",
        "max_retries",
        kind="embed",
        settings={"max_retries": True},
        today="pydantic turns max_retries=True into 1",
    ),
    # -- pool sizes that are not positive integers ---------------------------------------------
    *(
        _case(
            f"{path}-{label}-max_connections",
            path,
            "max_connections",
            kind="embed" if path.endswith(("Embeddings", "Embedding")) else "generate",
            settings={"max_connections": value},
        )
        for path in ("client", "ChatQwen", "Qwen", "QwenEmbeddings", "QwenEmbedding")
        for label, value in (("zero", 0), ("true", True))
    ),
    # -- keys that are not strings -------------------------------------------------------------
    _case(
        "client-int-api_key",
        "client",
        "api_key",
        settings={"api_key": 12345},
        today="AttributeError: 'int' object has no attribute 'strip'",
    ),
    _case(
        "client-list-api_key",
        "client",
        "api_key",
        settings={"api_key": ["sk-x"]},
        today="AttributeError: 'list' object has no attribute 'strip'",
    ),
    _case("ChatQwen-int-api_key", "ChatQwen", "api_key", settings={"api_key": 12345}),
    _case(
        "Qwen-int-api_key",
        "Qwen",
        "api_key",
        settings={"api_key": 12345},
        today="AttributeError: 'int' object has no attribute 'strip'",
    ),
    _case(
        "QwenEmbeddings-list-api_key",
        "QwenEmbeddings",
        "api_key",
        kind="embed",
        settings={"api_key": ["sk-x"]},
    ),
    _case(
        "QwenEmbedding-list-api_key",
        "QwenEmbedding",
        "api_key",
        kind="embed",
        settings={"api_key": ["sk-x"]},
        today="AttributeError: 'list' object has no attribute 'strip'",
    ),
    # -- an empty base URL silently means Beijing ----------------------------------------------
    _case(
        "client-empty-base_url",
        "client",
        "base_url",
        settings={"base_url": ""},
        today="base_url='' silently means Beijing",
    ),
    _case(
        "ChatQwen-empty-base_url",
        "ChatQwen",
        "base_url",
        settings={"base_url": ""},
        today="base_url='' silently means Beijing",
    ),
    _case(
        "Qwen-empty-base_url",
        "Qwen",
        "base_url",
        settings={"base_url": ""},
        today="base_url='' silently means Beijing",
    ),
    _case(
        "QwenEmbeddings-empty-base_url",
        "QwenEmbeddings",
        "base_url",
        kind="embed",
        settings={"base_url": ""},
        today="base_url='' silently means Beijing",
    ),
    _case(
        "QwenEmbedding-empty-base_url",
        "QwenEmbedding",
        "base_url",
        kind="embed",
        settings={"base_url": ""},
        today="base_url='' silently means Beijing",
    ),
]


@SYNC
@pytest.mark.parametrize(
    ("path", "param", "settings", "text", "parameters", "kind"), UNTYPED_INPUTS
)
async def test_bad_inputs_are_typed_errors_before_any_request(
    path: str,
    param: str,
    settings: dict[str, Any],
    text: str,
    parameters: dict[str, Any],
    kind: str,
    sync: bool,
) -> None:
    wire = _paths.Wire()
    options = {"base_url": _paths.MOCK_BASE, "http_client": wire.http(sync), **settings}
    with pytest.raises(ValueError) as caught:  # InvalidRequestError and ValidationError too
        if kind == "embed":
            await _paths.embed(path, sync, texts=[text], **options)
        else:
            await _paths.generate(path, sync, text=text, parameters=parameters, **options)
    assert param in str(caught.value)
    assert wire.requests == []


@SYNC
async def test_messages_that_are_not_dicts_are_a_typed_error(sync: bool) -> None:
    wire = _paths.Wire()
    client = _paths.chat_object(
        "client", sync, base_url=_paths.MOCK_BASE, http_client=wire.http(sync)
    )
    with pytest.raises(InvalidRequestError, match="messages"):
        result = client.generate("qwen-plus", ["hello"])
        if not sync:
            await result
    assert wire.requests == []


# =============================================================================================
# Item 7: LlamaIndex never turns tool arguments that are not a JSON object into {}.
# =============================================================================================

RAW_ARGUMENTS = ["[1,2]", "oops", '"oops"']


def _weather_tool() -> Any:
    from llama_index.core.tools import FunctionTool

    def get_weather(city: str) -> str:
        """Current weather of a city."""
        return f"Sunny in {city}"

    return FunctionTool.from_defaults(fn=get_weather)


def _holds_raw(kwargs: Any, raw: str) -> bool:
    if isinstance(kwargs, str):
        return kwargs == raw
    if isinstance(kwargs, dict):
        return any(_holds_raw(value, raw) for value in kwargs.values())
    return False


async def _tool_call_response(
    emulator: DashScopeEmulator, raw: str, streamed: bool, sync: bool
) -> tuple[Any, Any]:
    """(llm, final response) of a call whose tool arguments are ``raw``."""
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", raw)]))
    llm = _paths.chat_object("Qwen", sync, **at(emulator), max_retries=0)
    tools = [_weather_tool()]
    if streamed and sync:
        *_, response = llm.stream_chat_with_tools(tools, user_msg="杭州天气？")
    elif streamed:
        responses = await llm.astream_chat_with_tools(tools, user_msg="杭州天气？")
        response = [r async for r in responses][-1]
    elif sync:
        response = llm.chat_with_tools(tools, user_msg="杭州天气？")
    else:
        response = await llm.achat_with_tools(tools, user_msg="杭州天气？")
    return llm, response


TOOL_CASES = [
    pytest.mark.parametrize("streamed", [False, True], ids=["chat", "stream"]),
    pytest.mark.parametrize("raw", RAW_ARGUMENTS),
]


@SYNC
@TOOL_CASES[0]
@TOOL_CASES[1]
async def test_raw_tool_arguments_survive_in_the_tool_call_block(
    emulator: DashScopeEmulator, raw: str, streamed: bool, sync: bool
) -> None:
    """Guard: the ToolCallBlock keeps the arguments as received."""
    from llama_index.core.base.llms.types import ToolCallBlock

    _, response = await _tool_call_response(emulator, raw, streamed, sync)
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert len(blocks) == 1
    assert _holds_raw(blocks[0].tool_kwargs, raw)


@SYNC
@TOOL_CASES[0]
@TOOL_CASES[1]
async def test_tool_arguments_that_are_not_an_object_never_become_an_empty_call(
    emulator: DashScopeEmulator, raw: str, streamed: bool, sync: bool
) -> None:
    """An agent must not call the tool without its arguments (raising would end its run)."""
    llm, response = await _tool_call_response(emulator, raw, streamed, sync)
    selections = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert [s.tool_kwargs for s in selections if s.tool_kwargs == {}] == []


# =============================================================================================
# Item 12: the key in tracebacks with captured locals. The transport's own frames must not
# hold it; frames of httpx / httpcore / aiohttp may (documented: they hold the request).
# =============================================================================================

OUR_MODULES = ("qwen_dashscope", "langchain_qwen", "llama_index_qwen")


def _frames(error: BaseException) -> list[types.FrameType]:
    """Every frame of ``error``'s traceback and of its causes and contexts."""
    frames: list[types.FrameType] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            if all(tb.tb_frame is not f for f in frames):
                frames.append(tb.tb_frame)
            tb = tb.tb_next
        pending += [exc.__cause__, exc.__context__]
    return frames


_OPAQUE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _holds(value: Any, secret: str, depth: int = 4, seen: set[int] | None = None) -> bool:
    """Whether ``value`` (or what it refers to, ``depth`` levels down) holds ``secret``.

    What a "capture locals" tool would show and a bit more: strings and bytes, containers,
    httpx headers, object attributes. A ``SecretStr`` is opaque (that is its job).
    """
    from pydantic import SecretStr

    if isinstance(value, str):
        return secret in value
    if isinstance(value, (bytes, bytearray)):
        return secret.encode() in value
    if value is None or isinstance(value, (int, float, SecretStr, *_OPAQUE)) or depth == 0:
        return False
    seen = set() if seen is None else seen
    if id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, httpx.Headers):
        return any(secret.encode() in v for _, v in value.raw)
    if isinstance(value, Mapping):
        return any(
            _holds(k, secret, depth - 1, seen) or _holds(v, secret, depth - 1, seen)
            for k, v in list(value.items())
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds(item, secret, depth - 1, seen) for item in list(value))
    try:
        if secret in repr(value):
            return True
    except Exception:
        pass
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return any(_holds(v, secret, depth - 1, seen) for v in list(attributes.values()))
    return False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@SYNC
@CHAT
async def test_the_key_is_not_held_in_the_transports_own_frames(path: str, sync: bool) -> None:
    secret = "sk-frames-5e1d0c7a9b"
    base_url = f"http://127.0.0.1:{_closed_port()}/api/v1"  # connection refused, at once
    with pytest.raises(APIConnectionError) as caught:
        await _paths.generate(path, sync, base_url=base_url, api_key=secret, max_retries=0)
    frames = _frames(caught.value)
    ours = [f for f in frames if f.f_globals.get("__name__", "").startswith(OUR_MODULES)]
    theirs = [f for f in frames if f.f_globals.get("__name__", "").startswith(THIRD_PARTY)]
    assert ours
    if theirs:  # documented, not a failure: the HTTP libraries hold the request, and the key
        assert any(_holds(dict(f.f_locals), secret) for f in theirs), "the search finds nothing"
    leaking = sorted(
        f"{f.f_globals['__name__']}.{f.f_code.co_name}: {name}"
        for f in ours
        for name, value in f.f_locals.items()
        if _holds(value, secret)
    )
    assert leaking == []


THIRD_PARTY = ("httpx", "httpcore", "httpx_aiohttp", "aiohttp", "h11")


# =============================================================================================
# Item 13: plain http:// to a public host warns once; loopback and private hosts do not.
# =============================================================================================

PUBLIC_HTTP = "http://dashscope.example.com/api/v1"  # an httpx.MockTransport answers


@SYNC
@pytest.mark.parametrize("path", [*CHAT_PATHS, *EMBED_PATHS[1:]])
async def test_plain_http_to_a_public_host_warns_once(path: str, sync: bool) -> None:
    wire = _paths.Wire()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")  # Python's own once-per-place, as users see it
        if path in CHAT_PATHS:
            obj = _paths.chat_object(path, sync, base_url=PUBLIC_HTTP, http_client=wire.http(sync))
            for _ in range(2):
                await _paths.ask(obj, path, sync)
        else:
            obj = _paths.embed_object(path, sync, base_url=PUBLIC_HTTP, http_client=wire.http(sync))
            for _ in range(2):
                await _paths.embed_with(obj, path, sync, ["西湖"])
    assert len(wire.requests) == 2
    assert len([w for w in seen if "http" in str(w.message).lower()]) == 1


@SYNC
@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9/api/v1",
        "http://localhost:9/api/v1",
        "http://[::1]:9/api/v1",
        "http://10.1.2.3/api/v1",
        "http://172.16.5.4/api/v1",
        "http://192.168.0.10/api/v1",
        "https://dashscope.example.com/api/v1",
    ],
)
@CHAT
async def test_loopback_private_and_https_hosts_do_not_warn(
    base_url: str, path: str, sync: bool
) -> None:
    """Guard: the emulator, a local proxy or a VPC endpoint over http is fine, silently."""
    wire = _paths.Wire()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        await _paths.generate(path, sync, base_url=base_url, http_client=wire.http(sync))
    assert [str(w.message) for w in seen] == []
    assert len(wire.requests) == 1


def test_a_timeouts_object_with_nan_is_refused_when_built() -> None:
    with pytest.raises(InvalidRequestError, match=r"Timeouts\.total") as info:
        Timeouts(total=NAN)
    assert info.value.param == "timeout"
