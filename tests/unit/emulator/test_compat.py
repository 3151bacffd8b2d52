"""OpenAI-compatible chat completions (§7) over loopback."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

from ._helpers import COMPAT_CHAT_PATH, compat_chunks

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def request(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "model": extra.pop("model", "qwen-plus"),
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def stream(client: httpx.Client, body: dict[str, Any]) -> list[Any]:
    response = client.post(COMPAT_CHAT_PATH, json={**body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = compat_chunks(response.text)
    assert chunks[-1] == "[DONE]"
    ids = {c["id"] for c in chunks[:-1]}
    assert len(ids) == 1 and ids.pop() == "chatcmpl-" + response.headers["x-request-id"]
    assert {c["object"] for c in chunks[:-1]} == {"chat.completion.chunk"}
    return chunks[:-1]


def test_non_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.text("Hello there"))
    body = client.post(COMPAT_CHAT_PATH, json=request()).json()
    assert body["object"] == "chat.completion" and body["model"] == "qwen-plus"
    (choice,) = body["choices"]
    assert choice == {
        "message": {"role": "assistant", "content": "Hello there"},
        "finish_reason": "stop",
        "index": 0,
        "logprobs": None,
    }
    assert body["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert emulator.requests[-1].endpoint == "compat-chat"


def test_stream_deltas_and_usage(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.text("abcdefgh", chunks=2), Reply.text("abcdefgh", chunks=2))
    chunks = stream(client, request(stream_options={"include_usage": True}))
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas == [
        {"content": "", "role": "assistant"},
        {"content": "abcd"},
        {"content": "efgh"},
        {"content": ""},
    ]
    reasons = [c["choices"][0]["finish_reason"] for c in chunks[:-1]]
    assert reasons == [None, None, None, "stop"]  # real JSON null until the end
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    without_usage = stream(client, request())
    assert all(c["choices"] for c in without_usage)


def test_stream_tool_calls(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"}), ToolCall("now", {})])
    )
    chunks = stream(client, request(tools=[TOOL], tool_choice="required"))
    fragments = [f for c in chunks[1:] for f in c["choices"][0]["delta"]["tool_calls"]]
    firsts = [f for f in fragments if f["id"]]
    assert [(f["index"], f["function"]["name"]) for f in firsts] == [(0, "get_weather"), (1, "now")]
    assert all(re.fullmatch(r"call_[0-9a-f]{22}", f["id"]) for f in firsts)
    assert all("name" not in f["function"] for f in fragments if not f["id"])
    for index, expected in ((0, {"city": "杭州"}), (1, {})):
        args = "".join(f["function"]["arguments"] for f in fragments if f["index"] == index)
        assert json.loads(args) == expected
    reasons = [c["choices"][0]["finish_reason"] for c in chunks]
    assert reasons == [None] * (len(chunks) - 1) + ["tool_calls"]


def test_non_stream_tool_calls(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})]))
    body = client.post(COMPAT_CHAT_PATH, json=request(tools=[TOOL])).json()
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["index"] == 0
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "杭州"}'}


def test_thinking_stream_and_non_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.text("42", reasoning="think hard"), Reply.text("42", reasoning="think hard")
    )
    chunks = stream(client, request(enable_thinking=True, stream_options={"include_usage": True}))
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0] == {"content": None, "role": "assistant", "reasoning_content": ""}
    reasoning = "".join(d["reasoning_content"] for d in deltas if d.get("reasoning_content"))
    answer = "".join(d["content"] for d in deltas if d.get("content"))
    assert (reasoning, answer) == ("think hard", "42")
    assert all(d["content"] is None for d in deltas if d.get("reasoning_content"))
    assert deltas[-1] == {"content": "", "reasoning_content": None}
    assert chunks[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 2}
    body = client.post(COMPAT_CHAT_PATH, json=request(enable_thinking=True)).json()
    assert body["choices"][0]["message"]["reasoning_content"] == "think hard"


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            request(model="gpt-4"),
            404,
            "model_not_found",
            "The model `gpt-4` does not exist or you do not have access to it.",
        ),
        (
            request(model="text-embedding-v4"),
            404,
            "model_not_supported",
            "Unsupported model text-embedding-v4 for OpenAI compatibility mode.",
        ),
        (
            request(model="qwen3-235b-a22b"),
            400,
            "invalid_parameter_error",
            "parameter.enable_thinking must be set to false for non-streaming calls",
        ),
        (
            request(enable_thinking=True, stream=True, tools=[TOOL], tool_choice="required"),
            400,
            "invalid_parameter_error",
            "The tool_choice parameter does not support being set to required or object in "
            "thinking mode",
        ),
        (
            request(temperature=3),
            400,
            "invalid_parameter_error",
            "Temperature should be in [0.0, 2.0)",
        ),
        ({"model": "qwen-plus", "messages": []}, 400, "invalid_parameter_error", "[] is too short"),
    ],
)
def test_errors_use_the_openai_envelope(
    client: httpx.Client, body: Any, status: int, code: str, message: str
) -> None:
    response = client.post(COMPAT_CHAT_PATH, json=body)
    assert response.status_code == status  # never an in-stream error for validation
    payload = response.json()
    assert set(payload) == {"error", "request_id"}
    assert payload["error"]["code"] == code and payload["error"]["message"] == message
    assert payload["error"]["param"] is None and payload["error"]["type"]
    assert payload["request_id"] == response.headers["x-request-id"]


def test_list_content_and_required_tool_choice_accepted(client: httpx.Client) -> None:
    body = {
        "model": "qwen-plus",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "what"}, {"type": "text", "text": "now"}],
            }
        ],
        "tools": [TOOL],
        "tool_choice": "required",
    }
    response = client.post(COMPAT_CHAT_PATH, json=body)
    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    # A forced tool_choice is obeyed by the default reply, with arguments from the schema.
    [call] = message["tool_calls"]
    assert call["function"]["name"] == TOOL["function"]["name"]
    assert isinstance(json.loads(call["function"]["arguments"]), dict)
    assert response.json()["choices"][0]["finish_reason"] == "tool_calls"


def test_scripted_errors(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.error(429, "Throttling.AllocationQuota", "quota"),
        Reply.error(500, "InternalError", "boom", in_stream=True, after_chunks=1, text="abcdefgh"),
    )
    throttled = client.post(COMPAT_CHAT_PATH, json=request())
    assert throttled.status_code == 429
    assert throttled.json()["error"] == {
        "message": "quota",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    response = client.post(COMPAT_CHAT_PATH, json=request(stream=True))
    assert response.status_code == 200
    chunks = compat_chunks(response.text)
    assert "[DONE]" not in chunks
    assert chunks[1]["choices"][0]["delta"] == {"content": "abcd"}
    assert chunks[-1]["error"]["code"] == "internal_error"
