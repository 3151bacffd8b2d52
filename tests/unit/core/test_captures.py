"""Every capture in tests/fixtures/wire, replayed through the transport, parses to what it says.

The expected values are read from the capture independently of our decoder (plain
``json.loads`` of each ``data:`` line), so a bug in the SSE decoder, the wire models or the
accumulator shows up as a mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwen_dashscope import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
)
from qwen_dashscope._errors import error_from_body
from tests._calls import call, collect
from tests._wire import Captures

from ._mock import SSE, mock_client, respond

MESSAGES = [{"role": "user", "content": "hi"}]

# Files that are not native-protocol bodies our transport parses, and why.
NOT_REPLAYED = {
    "embedding-v4-doc-example.txt": "SDK-printed documentation example, not wire JSON",
}


def message_of(choice_or_output: dict[str, Any]) -> tuple[str, str]:
    if "choices" in choice_or_output:
        message = choice_or_output["choices"][0].get("message", {})
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(item.get("text", "") for item in content)
        return content, message.get("reasoning_content") or ""
    return choice_or_output.get("text") or "", ""


async def run_stream(client: Any, model: str, params: dict[str, Any] | None = None) -> list[Any]:
    return await collect(client, "stream", model, MESSAGES, params)


async def run_generate(client: Any, model: str) -> Any:
    return await call(client, "generate", model, MESSAGES)


INCREMENTAL_STREAMS = [
    "textgen-text-stream-incremental.sse",
    "textgen-message-stream-incremental.sse",
    "textgen-message-stream-doc.sse",
    "thinking-stream-doc.sse",
    "thinking-budget-stream-doc.sse",
    "toolcall-followup-stream.sse",
    "textgen-code-interpreter-stream.sse",
]


def test_every_capture_is_covered(wire: Captures) -> None:
    covered = (
        set(INCREMENTAL_STREAMS)
        | set(NOT_REPLAYED)
        | {
            "textgen-text-stream-nonincremental-excerpt.sse",
            "multimodal-vl-stream-nonincremental-excerpt.sse",
            "compat-stream-include-usage.sse",
            "compat-thinking-stream-doc.sse",
            "compat-chat-completion.json",
            "compat-error-invalid-api-key.json",
            "error-invalid-api-key.json",
            "error-invalid-parameter.json",
            "embedding-v2.json",
            "tokenizer.json",
        }
        | set(NON_STREAM)
    )
    bodies = {
        p.name
        for p in map(Path, wire.names())
        if p.suffix in (".json", ".sse", ".txt")
        and ".request" not in p.name
        and "headers" not in p.name
        and not p.name.endswith(".source")
    }
    assert bodies - covered == set()


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize("name", INCREMENTAL_STREAMS)
async def test_incremental_streams(wire: Captures, name: str, sync: bool) -> None:
    client = mock_client(lambda _: respond(wire.bytes(name), content_type=SSE), sync)
    chunks = await run_stream(client, "qwen-plus")
    payloads = wire.events(name)
    expected = [message_of(p["output"]) for p in payloads]
    assert "".join(c.text for c in chunks) == "".join(t for t, _ in expected)
    assert "".join(c.reasoning for c in chunks) == "".join(r for _, r in expected)
    assert chunks[-1].finish_reason == "stop"
    assert all(c.finish_reason is None for c in chunks[:-1])
    last_usage = payloads[-1]["usage"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.output_tokens == last_usage["output_tokens"]
    assert chunks[-1].usage.input_tokens == last_usage["input_tokens"]
    assert chunks[-1].request_id == payloads[-1]["request_id"]


async def test_code_interpreter_tool_info_is_kept(wire: Captures) -> None:
    name = "textgen-code-interpreter-stream.sse"
    client = mock_client(lambda _: respond(wire.bytes(name), content_type=SSE), True)
    chunks = await run_stream(client, "qwen3-max")
    tool_info = wire.events(name)[-1]["output"]["tool_info"]
    # The service repeats tool_info in every later event: it is handed out once, when new.
    assert [c.extras for c in chunks if c.extras] == [{"tool_info": tool_info}]
    assert chunks[-1].usage is not None and chunks[-1].usage.reasoning_tokens == 150


@pytest.mark.parametrize("sync", [True, False])
async def test_cumulative_text_excerpt(wire: Captures, sync: bool) -> None:
    # Two events "我是", "我是阿里" and no final event: deltas, then a clear error.
    name = "textgen-text-stream-nonincremental-excerpt.sse"
    client = mock_client(lambda _: respond(wire.bytes(name), content_type=SSE), sync)
    seen: list[str] = []
    with pytest.raises(APIConnectionError, match="before the model finished"):
        if sync:
            for c in client.stream("qwen-max", MESSAGES, {"incremental_output": False}):
                seen.append(c.text)
        else:
            async for c in client.stream("qwen-max", MESSAGES, {"incremental_output": False}):
                seen.append(c.text)
    assert seen == ["我是", "阿里"]


async def test_cumulative_multimodal_excerpt(wire: Captures) -> None:
    name = "multimodal-vl-stream-nonincremental-excerpt.sse"
    client = mock_client(lambda _: respond(wire.bytes(name), content_type=SSE), True)
    chunks = await run_stream(client, "qwen-vl-plus", {"incremental_output": False})
    assert [c.text for c in chunks] == ["Hello", "! How can I assist you today?"]
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 102  # computed


NON_STREAM = {
    "textgen-text-nosse.json": "qwen-max",
    "textgen-message.json": "qwen-max",
    "textgen-message-json-mode.json": "qwen-plus",
    "textgen-message-logprobs.json": "qwen-max",
    "thinking-nosse.json": "qwen-plus",
    "toolcall-message.json": "qwen-max",
    "multimodal-vl.json": "qwen-vl-plus",
}


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(("name", "model"), sorted(NON_STREAM.items()))
async def test_non_streaming_bodies(wire: Captures, name: str, model: str, sync: bool) -> None:
    raw = wire.json(name)
    client = mock_client(lambda _: respond(wire.bytes(name)), sync)
    result = await run_generate(client, model)
    text, reasoning = message_of(raw["output"])
    assert (result.text, result.reasoning) == (text, reasoning)
    finish = raw["output"].get("finish_reason") or raw["output"]["choices"][0]["finish_reason"]
    assert result.finish_reason == finish
    assert result.request_id == raw["request_id"]
    assert result.raw == raw
    assert result.usage.input_tokens == raw["usage"]["input_tokens"]
    assert result.usage.output_tokens == raw["usage"]["output_tokens"]
    expected_total = raw["usage"].get(
        "total_tokens", raw["usage"]["input_tokens"] + raw["usage"]["output_tokens"]
    )
    assert result.usage.total_tokens == expected_total
    details = raw["usage"].get("prompt_tokens_details", {})
    assert result.usage.cached_tokens == details.get("cached_tokens")
    wire_calls = (raw["output"].get("choices") or [{}])[0].get("message", {}).get("tool_calls", [])
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in wire_calls
    ]
    logprobs = (raw["output"].get("choices") or [{}])[0].get("logprobs")
    if logprobs:
        assert result.extras["logprobs"] == logprobs


@pytest.mark.parametrize("sync", [True, False])
async def test_embedding_capture(wire: Captures, sync: bool) -> None:
    name = "embedding-v2.json"
    raw = wire.json(name)
    request = wire.json("embedding-v2.request.json")
    client = mock_client(lambda _: respond(wire.bytes(name)), sync)
    texts = request["input"]["texts"]
    if sync:
        result = client.embed(texts, model="text-embedding-v2")
    else:
        result = await client.embed(texts, model="text-embedding-v2")
    by_index = {e["text_index"]: e["embedding"] for e in raw["output"]["embeddings"]}
    assert result.vectors == [by_index[i] for i in range(len(texts))]
    assert result.usage.total_tokens == raw["usage"]["total_tokens"]
    assert result.request_id == raw["request_id"]


def test_tokenizer_capture(wire: Captures) -> None:
    name = "tokenizer.json"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(wire.bytes(name))

    result = mock_client(handler, True).tokenize(
        "qwen-max", [{"role": "user", "content": "代码改变世界"}]
    )
    assert (result.tokens, result.token_ids, result.input_tokens) == (
        ["代码", "改变", "世界"],
        [46100, 101933, 99489],
        3,
    )
    assert seen[0].url.path == "/api/v1/tokenizer"


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("error-invalid-api-key.json", 401, AuthenticationError),
        ("error-invalid-parameter.json", 400, BadRequestError),
    ],
)
async def test_error_captures(
    wire: Captures, name: str, status: int, error: type, sync: bool
) -> None:
    raw = wire.json(name)
    client = mock_client(lambda _: respond(wire.bytes(name), status), sync)
    with pytest.raises(error) as info:
        await run_generate(client, "qwen-max")
    assert (info.value.code, info.value.request_id) == (raw["code"], raw["request_id"])
    assert raw["message"] in str(info.value)


@pytest.mark.parametrize("sync", [True, False])
async def test_error_inside_a_200_stream(sync: bool) -> None:
    # Capture error-invalid-parameter-stream.sse as quoted in protocol notes §5.7.
    body = (
        b"id:1\nevent:error\n:HTTP_STATUS/400\n"
        b'data:{"code":"InvalidParameter","message":"Role must be user or assistant and Content '
        b'length must be greater than 0","request_id":"7671ecd8-93cc-9ee9-bc89-739f0fd8b809"}\n\n'
    )
    client = mock_client(lambda _: respond(body, content_type=SSE), sync)
    with pytest.raises(BadRequestError) as info:
        await run_stream(client, "qwen-max")
    assert info.value.status_code == 400
    assert info.value.code == "InvalidParameter"
    assert info.value.request_id == "7671ecd8-93cc-9ee9-bc89-739f0fd8b809"


def test_compat_captures_decode(wire: Captures) -> None:
    # Compatible mode is served by our emulator for peers; the decoder and error parser
    # understand its framing and envelope.
    from qwen_dashscope._sse import iter_sse

    for name in ("compat-stream-include-usage.sse", "compat-thinking-stream-doc.sse"):
        events = list(iter_sse([wire.bytes(name)]))
        assert events[-1].data == "[DONE]"
        assert [json.loads(e.data) for e in events[:-1]] == wire.events(name)
    body = wire.json("compat-chat-completion.json")
    assert body["object"] == "chat.completion"
    error = error_from_body(401, wire.bytes("compat-error-invalid-api-key.json"))
    assert isinstance(error, AuthenticationError)
