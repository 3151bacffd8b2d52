"""Streaming through ChatQwen over ``httpx.MockTransport``: parallel tool calls, reasoning, usage.

The parallel tool-call stream is RECONSTRUCTED from the excerpt quoted in the protocol notes
§5.4 (capture ``toolcall-stream-parallel.sse``, qwen-max, 2026-04), because the raw file is not
in tests/fixtures/wire: the four events are verbatim there except for the elided parts (``…``),
filled in with the shape every other capture has (cumulative ``usage``, repeated
``request_id``, SSE framing of §5.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk

from langchain_qwen import ChatQwen
from tests._wire import Captures

RID = "5c3d1a27-8f0e-9b41-a6c2-3e9d7f1b2a40"


def _event(n: int, message: dict[str, Any], finish: str, output_tokens: int) -> str:
    data = {
        "output": {"choices": [{"message": message, "index": 0, "finish_reason": finish}]},
        "usage": {
            "total_tokens": 300 + output_tokens,
            "output_tokens": output_tokens,
            "input_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
        "request_id": RID,
    }
    return (
        f"id:{n}\nevent:result\n:HTTP_STATUS/200\n"
        f"data:{json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"
    )


def _call(index: int, id_: str, arguments: str, name: str | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function = {"name": name, **function}
    return {"index": index, "id": id_, "type": "function", "function": function}


def _assistant(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"content": "", "tool_calls": list(calls), "role": "assistant"}


# Reconstructed from protocol notes §5.4 (see module docstring).
PARALLEL_SSE = "".join(
    [
        _event(
            1,
            _assistant(
                _call(0, "call_29a870e7106f45deb8add3", '{"location": "', "get_current_weather")
            ),
            "null",
            8,
        ),
        _event(2, _assistant(_call(0, "", '浙江省杭州市"}')), "null", 12),
        _event(
            3,
            _assistant(
                _call(1, "call_026e44bb31a74266949a20", '{"location":', "get_current_weather")
            ),
            "null",
            20,
        ),
        _event(4, _assistant(_call(1, "", ' "上海市"}')), "tool_calls", 24),
    ]
).encode()


class _Chunked(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body in 13-byte pieces, cutting lines and multi-byte characters."""

    def __init__(self, body: bytes) -> None:
        self.pieces = [body[i : i + 13] for i in range(0, len(body), 13)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> Any:
        for piece in self.pieces:
            yield piece


def _sse_model(body: bytes, **kwargs: Any) -> tuple[ChatQwen, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream;charset=UTF-8", "x-request-id": RID},
            stream=_Chunked(body),
        )

    transport = httpx.MockTransport(handler)
    options: dict[str, Any] = {"model": "qwen-max", "api_key": "sk-test", **kwargs}
    llm = ChatQwen(
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        **options,
    )
    return llm, seen


def _tools() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Weather of a location",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"],
                },
            },
        }
    ]


EXPECTED_CALLS = [
    {
        "name": "get_current_weather",
        "args": {"location": "浙江省杭州市"},
        "id": "call_29a870e7106f45deb8add3",
        "type": "tool_call",
    },
    {
        "name": "get_current_weather",
        "args": {"location": "上海市"},
        "id": "call_026e44bb31a74266949a20",
        "type": "tool_call",
    },
]


@pytest.mark.parametrize("sync", [True, False])
async def test_parallel_tool_calls_aggregate_by_index(sync: bool) -> None:
    llm, seen = _sse_model(PARALLEL_SSE)
    bound = llm.bind_tools(_tools(), parallel_tool_calls=True)
    if sync:
        chunks = list(bound.stream("杭州和上海的天气"))
    else:
        chunks = [c async for c in bound.astream("杭州和上海的天气")]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    fragments = [tc for c in chunks for tc in c.tool_call_chunks]
    # id and name only on the first fragment of each call, no repeated names
    assert [(f["index"], f["id"], f["name"]) for f in fragments] == [
        (0, "call_29a870e7106f45deb8add3", "get_current_weather"),
        (0, None, None),
        (1, "call_026e44bb31a74266949a20", "get_current_weather"),
        (1, None, None),
    ]
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.tool_calls == EXPECTED_CALLS
    assert full.invalid_tool_calls == []
    # exactly one chunk has usage: the last one, with the finish reason
    with_usage = [c for c in chunks if c.usage_metadata]
    assert with_usage == [chunks[-1]]
    assert chunks[-1].chunk_position == "last"
    assert full.usage_metadata == {
        "input_tokens": 300,
        "output_tokens": 24,
        "total_tokens": 324,
        "input_token_details": {"cache_read": 0},
    }
    assert full.response_metadata["finish_reason"] == "tool_calls"
    assert full.response_metadata["request_id"] == RID
    body = json.loads(seen[0].content)
    assert body["parameters"]["parallel_tool_calls"] is True
    assert body["parameters"]["incremental_output"] is True
    assert seen[0].headers["x-dashscope-sse"] == "enable"


def test_parallel_tool_calls_in_v1_output() -> None:
    llm, _ = _sse_model(PARALLEL_SSE, output_version="v1")
    full = None
    for chunk in llm.bind_tools(_tools()).stream("杭州和上海的天气"):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert full.content == [
        {k: v for k, v in call.items() if k != "type"} | {"type": "tool_call"}
        for call in EXPECTED_CALLS
    ]


def test_streaming_true_invoke_aggregates_the_stream() -> None:
    llm, seen = _sse_model(PARALLEL_SSE, streaming=True)
    message = llm.bind_tools(_tools()).invoke("杭州和上海的天气")
    assert message.tool_calls == EXPECTED_CALLS
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 24
    assert seen[0].headers["accept"] == "text/event-stream"


def test_thinking_capture_stream_reasoning(wire: Captures) -> None:
    """A real thinking stream: reasoning on chunks, in content_blocks, and in usage."""
    llm, _ = _sse_model(wire.bytes("thinking-stream-doc.sse"), model="qwen-plus")
    chunks = list(llm.stream("1+1"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    reasoning = full.additional_kwargs["reasoning_content"]
    assert reasoning.startswith("嗯，用户")
    blocks = full.content_blocks
    assert blocks[0] == {"type": "reasoning", "reasoning": reasoning}
    assert any(b["type"] == "text" for b in blocks[1:])


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_on_llm_new_token_fires_once_per_chunk(wire: Captures) -> None:
    body = wire.bytes("toolcall-followup-stream.sse")
    llm, _ = _sse_model(body, model="qwen-plus")
    handler = _Tokens()
    chunks = list(llm.stream("天气", config={"callbacks": [handler]}))
    assert len(chunks) > 3
    assert handler.tokens == [c.content for c in chunks]

    # invoke with streaming=True streams and fires the callback per chunk too
    llm, _ = _sse_model(body, model="qwen-plus", streaming=True)
    handler = _Tokens()
    message = llm.invoke("天气", config={"callbacks": [handler]})
    assert "".join(handler.tokens) == message.content
    assert len(handler.tokens) == len(chunks)
