"""The clients on the OpenAI protocol (compatible mode, self-hosted servers), over
httpx.MockTransport: paths, headers, SSE with [DONE], typed errors, retries, embeddings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qwen_dashscope import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    InvalidRequestError,
    Message,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from tests._calls import call, collect

from ._mock import JSON, SSE, Script, mock_client, respond

VLLM = "http://gpu-box:8000/v1"
COMPAT = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
REQUEST = ChatRequest(model="Qwen/Qwen3-8B", messages=[Message("user", "hi")])


def completion(text: str = "ok", **extra: Any) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "reasoning": "r"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            **extra,
        }
    ).encode()


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    out = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-s", "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


STREAM = sse(
    delta({"role": "assistant", "content": ""}),
    delta({"reasoning": "think"}),
    delta({"content": "Hel"}),
    delta({"content": "lo"}),
    delta({}, "stop"),
    {"id": "chatcmpl-s", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
)


def make(script: Script, sync: bool, **kwargs: Any) -> Any:
    """A client of a self-hosted server without a key, unless told otherwise."""
    return mock_client(script, sync, **{"base_url": VLLM, "api_key": None, **kwargs})


async def chat(client: Any, request: ChatRequest = REQUEST) -> Any:
    return await call(client, "chat", request)


async def chat_stream(client: Any, request: ChatRequest = REQUEST) -> list[Any]:
    return await collect(client, "chat_stream", request)


@pytest.mark.parametrize("sync", [True, False])
async def test_chat_goes_to_chat_completions_without_a_key(sync: bool) -> None:
    script = Script(lambda: respond(completion()), lambda: respond(STREAM, content_type=SSE))
    client = make(script, sync)
    result = await chat(client)
    assert (result.text, result.reasoning, result.usage.total_tokens) == ("ok", "r", 4)
    chunks = await chat_stream(client)
    assert "".join(c.text for c in chunks) == "Hello"
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage.input_tokens == 5
    plain, streamed = script.requests
    assert str(plain.url) == VLLM + "/chat/completions"
    assert "authorization" not in plain.headers  # no key: none sent
    assert "x-dashscope-sse" not in streamed.headers
    assert json.loads(streamed.content)["stream_options"] == {"include_usage": True}
    assert json.loads(plain.content) == {
        "model": "Qwen/Qwen3-8B",
        "messages": [{"role": "user", "content": "hi"}],
    }


@pytest.mark.parametrize("sync", [True, False])
async def test_compatible_mode_sends_the_key_and_thinking_top_level(sync: bool) -> None:
    script = Script(lambda: respond(STREAM, content_type=SSE))
    client = make(script, sync, base_url=COMPAT, api_key="sk-key")
    request = ChatRequest(
        model="qwen-plus", messages=[Message("user", "hi")], parameters={"enable_thinking": True}
    )
    await chat_stream(client, request)
    [sent] = script.requests
    assert str(sent.url) == COMPAT + "/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-key"
    assert json.loads(sent.content)["enable_thinking"] is True


OLD_VLLM_404 = {
    "object": "error",
    "message": "The model `x` does not exist.",
    "type": "NotFoundError",
    "code": 404,
}


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            400,
            {"error": {"message": "bad", "type": "invalid_request_error", "param": None}},
            BadRequestError,
            "invalid_request_error",
        ),
        (
            401,
            {"error": {"message": "Incorrect key", "code": "invalid_api_key"}, "request_id": "r1"},
            AuthenticationError,
            "invalid_api_key",
        ),
        (404, OLD_VLLM_404, NotFoundError, "NotFoundError"),
        (500, {"error": "qwen3 tool call parsing failed"}, ServerError, None),  # Ollama
    ],
)
async def test_errors_in_the_openai_envelopes_are_typed(
    sync: bool, status: int, body: dict[str, Any], error: type[Exception], code: str | None
) -> None:
    script = Script(lambda: respond(json.dumps(body).encode(), status=status))
    client = make(script, sync, max_retries=0)
    with pytest.raises(error) as info:
        await chat(client)
    assert getattr(info.value, "code", None) == code
    assert getattr(info.value, "message", "")


@pytest.mark.parametrize("sync", [True, False])
async def test_rate_limits_are_retried_until_the_first_event(
    sync: bool, no_sleep: list[float]
) -> None:
    limited = {"error": {"message": "slow down", "code": "limit_requests"}}
    script = Script(
        lambda: respond(json.dumps(limited).encode(), status=429),
        lambda: respond(STREAM, content_type=SSE),
    )
    client = make(script, sync)
    chunks = await chat_stream(client)
    assert "".join(c.text for c in chunks) == "Hello" and len(no_sleep) == 1
    script = Script(lambda: respond(json.dumps(limited).encode(), status=429))
    with pytest.raises(RateLimitError):
        await chat(make(script, sync, max_retries=0))


@pytest.mark.parametrize("sync", [True, False])
async def test_an_error_chunk_mid_stream_is_typed(sync: bool) -> None:
    body = sse(
        delta({"content": "Hel"}),
        {"error": {"message": "overloaded", "type": "server_error", "code": "internal_error"}},
        done=False,
    )
    client = make(Script(lambda: respond(body, content_type=SSE)), sync)
    with pytest.raises(ServerError, match="overloaded"):
        await chat_stream(client)


@pytest.mark.parametrize("sync", [True, False])
async def test_a_stream_cut_before_its_finish_is_a_connection_error(sync: bool) -> None:
    body = sse(delta({"content": "Hel"}), done=False)
    client = make(Script(lambda: respond(body, content_type=SSE)), sync)
    with pytest.raises(APIConnectionError, match="before the model finished"):
        await chat_stream(client)


@pytest.mark.parametrize("sync", [True, False])
async def test_embeddings_go_to_v1_embeddings(sync: bool) -> None:
    answer = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [3.0, 4.0, 12.0]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    script = Script(lambda: respond(json.dumps(answer).encode(), content_type=JSON))
    client = make(script, sync)
    result = await call(
        client,
        "embed",
        ["what is qwen"],
        model="Qwen/Qwen3-Embedding-8B",
        text_type="query",
        dimension=2,
        instruct="Given a question, retrieve passages",
    )
    assert result.vectors == [[0.6, 0.8]]  # cut to the size asked for, renormalized
    [sent] = script.requests
    assert str(sent.url) == VLLM + "/embeddings"
    assert json.loads(sent.content) == {
        "model": "Qwen/Qwen3-Embedding-8B",
        "input": ["Instruct: Given a question, retrieve passages\nQuery:what is qwen"],
        "encoding_format": "float",
        "dimensions": 2,
    }


@pytest.mark.parametrize("sync", [True, False])
async def test_dashscope_only_endpoints(sync: bool) -> None:
    client = make(Script(), sync)
    with pytest.raises(InvalidRequestError, match="tokenizer") as info:
        await call(client, "count_tokens", REQUEST)
    assert info.value.param == "backend"
    with pytest.raises(InvalidRequestError, match="rerank"):
        await call(client, "rerank", "q", ["a"])
    with pytest.raises(InvalidRequestError, match="sparse"):
        await call(client, "embed", ["a"], model="m", output_type="sparse")
    # Compatible mode: the native endpoint of the same region, with the same key.
    tokens = {"output": {"token_ids": [1, 2], "tokens": ["a", "b"]}, "usage": {"input_tokens": 2}}
    script = Script(lambda: respond(json.dumps(tokens).encode()))
    compat = make(script, sync, base_url=COMPAT, api_key="sk-key")
    request = ChatRequest(model="qwen-plus", messages=[Message("user", "hi")])
    assert await call(compat, "count_tokens", request) == 2
    assert str(script.requests[0].url) == "https://dashscope-intl.aliyuncs.com/api/v1/tokenizer"
