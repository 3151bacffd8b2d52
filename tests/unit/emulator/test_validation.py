"""Every validation rule, over HTTP: status, code and the documented message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator

from ._helpers import MM_PATH, SSE, TEXT_PATH, chat, native_frames

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
FORCED = {"type": "function", "function": {"name": "get_weather"}}
ASSISTANT_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    ],
}
P = "InvalidParameter"


def with_messages(*messages: dict[str, Any], **parameters: Any) -> dict[str, Any]:
    return {
        "model": parameters.pop("model", "qwen-plus"),
        "input": {"messages": list(messages)},
        "parameters": parameters,
    }


def mm(model: str, content: Any, **parameters: Any) -> dict[str, Any]:
    return {
        "model": model,
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }


USER = {"role": "user", "content": "hi"}

# (id, path, body, stream, code, message)
INVALID: list[tuple[str, str, Any, bool, str, str]] = [
    ("unknown-model", TEXT_PATH, chat(model="qwen-unknown"), False, P, "Model not exist."),
    (
        "missing-model",
        TEXT_PATH,
        {"input": {"prompt": "x"}},
        False,
        "BadRequest.EmptyModel",
        'Required parameter "model" missing from request.',
    ),
    (
        "missing-input",
        TEXT_PATH,
        {"model": "qwen-plus"},
        False,
        "BadRequest.EmptyInput",
        "Required input parameter missing from request.",
    ),
    (
        "empty-input",
        TEXT_PATH,
        {"model": "qwen-plus", "input": {}},
        False,
        P,
        'Either "prompt" or "messages" must exist and cannot both be none',
    ),
    ("empty-messages", TEXT_PATH, with_messages(), False, P, "[] is too short"),
    (
        "prompt-and-empty-messages",
        TEXT_PATH,
        {"model": "qwen-max", "input": {"prompt": "x", "messages": []}},
        False,
        P,
        "Role must be user or assistant and Content length must be greater than 0",
    ),
    (
        "bad-role",
        TEXT_PATH,
        with_messages({"role": "robot", "content": "x"}),
        False,
        P,
        "Role must be user or assistant and Content length must be greater than 0",
    ),
    (
        "missing-content",
        TEXT_PATH,
        with_messages({"role": "user"}),
        False,
        P,
        "The content field is a required field.",
    ),
    (
        "list-content-on-text-model",
        TEXT_PATH,
        with_messages({"role": "user", "content": [{"text": "x"}]}),
        False,
        P,
        "input content must be a string.",
    ),
    (
        "vl-model-on-text-endpoint",
        TEXT_PATH,
        chat(model="qwen-vl-plus"),
        False,
        P,
        "url error, please check url\uff01",
    ),
    (
        "qwen3.5-on-text-endpoint",
        TEXT_PATH,
        chat(model="qwen3.5-plus"),
        False,
        P,
        "url error, please check url\uff01",
    ),
    (
        "text-model-on-multimodal",
        MM_PATH,
        mm("qwen-plus", [{"text": "x"}]),
        False,
        P,
        "url error, please check url\uff01",
    ),
    (
        "embedding-model-on-text-endpoint",
        TEXT_PATH,
        chat(model="text-embedding-v4"),
        False,
        P,
        "url error, please check url\uff01",
    ),
    (
        "unknown-modal-item",
        MM_PATH,
        mm("qwen-vl-max", [{"picture": "x.png"}]),
        False,
        P,
        "The item of content should be a message of a certain modal.",
    ),
    (
        "two-modal-keys",
        MM_PATH,
        mm("qwen-vl-max", [{"text": "x", "image": "y"}]),
        False,
        P,
        "The item of content should be a message of a certain modal.",
    ),
    (
        "temperature-high",
        TEXT_PATH,
        chat(temperature=2.0),
        False,
        P,
        "Temperature should be in [0.0, 2.0)",
    ),
    (
        "temperature-negative",
        TEXT_PATH,
        chat(temperature=-0.1),
        False,
        P,
        "Temperature should be in [0.0, 2.0)",
    ),
    (
        "temperature-type",
        TEXT_PATH,
        chat(temperature="hot"),
        False,
        P,
        "'temperature' must be Float",
    ),
    ("top-p-zero", TEXT_PATH, chat(top_p=0), False, P, "Range of top_p should be (0.0, 1.0]"),
    ("top-p-high", TEXT_PATH, chat(top_p=1.01), False, P, "Range of top_p should be (0.0, 1.0]"),
    (
        "top-k-negative",
        TEXT_PATH,
        chat(top_k=-1),
        False,
        P,
        "Parameter top_k be greater than or equal to 0",
    ),
    (
        "repetition-penalty-zero",
        TEXT_PATH,
        chat(repetition_penalty=0),
        False,
        P,
        "Repetition_penalty should be greater than 0.0",
    ),
    (
        "presence-penalty-high",
        TEXT_PATH,
        chat(presence_penalty=2.5),
        False,
        P,
        "Presence_penalty should be in [-2.0, 2.0]",
    ),
    (
        "max-tokens-zero",
        TEXT_PATH,
        chat(model="qwen-max", max_tokens=0),
        False,
        P,
        "Range of max_tokens should be [1, 8192]",
    ),
    (
        "max-tokens-above-model",
        TEXT_PATH,
        chat(model="qwen-max", max_tokens=8193),
        False,
        P,
        "Range of max_tokens should be [1, 8192]",
    ),
    ("n-zero", TEXT_PATH, chat(n=0), False, P, "Range of n should be [1, 4]"),
    ("n-five", TEXT_PATH, chat(n=5), False, P, "Range of n should be [1, 4]"),
    (
        "seed-negative",
        TEXT_PATH,
        chat(seed=-1),
        False,
        P,
        "Range of seed should be [0, 9223372036854775807]",
    ),
    (
        "thinking-cumulative",
        TEXT_PATH,
        chat(result_format="message", enable_thinking=True, incremental_output=False),
        True,
        P,
        'The incremental_output parameter must be "true" when enable_thinking is true',
    ),
    (
        "thinking-default-cumulative",
        TEXT_PATH,
        chat(result_format="message", enable_thinking=True),
        True,
        P,  # qwen-plus default: false
        'The incremental_output parameter must be "true" when enable_thinking is true',
    ),
    (
        "thinking-text-format",
        TEXT_PATH,
        chat(result_format="text", enable_thinking=True, incremental_output=True),
        True,
        P,
        'The result_format parameter must be "message" when enable_thinking is true',
    ),
    (
        "thinking-non-stream-open-source",
        TEXT_PATH,
        chat(model="qwen3-235b-a22b"),
        False,
        P,
        "parameter.enable_thinking must be set to false for non-streaming calls",
    ),
    (
        "thinking-not-supported",
        TEXT_PATH,
        chat(model="qwen-max", enable_thinking=True),
        False,
        "InvalidParameter.NotSupportEnableThinking",
        "The model qwen-max does not support enable_thinking.",
    ),
    (
        "thinking-only-model-false",
        TEXT_PATH,
        chat(model="qwq-plus", enable_thinking=False),
        True,
        P,
        "The value of the enable_thinking parameter is restricted to True.",
    ),
    (
        "stream-only-model",
        TEXT_PATH,
        chat(model="qwq-plus"),
        False,
        P,
        "This model only support stream mode, please enable the stream parameter to access the "
        "model.",
    ),
    (
        "thinking-budget-zero",
        TEXT_PATH,
        chat(
            result_format="message",
            enable_thinking=True,
            incremental_output=True,
            thinking_budget=0,
        ),
        True,
        P,
        "The thinking_budget parameter must be a positive integer and not greater than 81920",
    ),
    (
        "thinking-budget-too-big",
        TEXT_PATH,
        chat(
            result_format="message",
            enable_thinking=True,
            incremental_output=True,
            thinking_budget=81921,
        ),
        True,
        P,
        "The thinking_budget parameter must be a positive integer and not greater than 81920",
    ),
    (
        "forced-tool-object-thinking",
        TEXT_PATH,
        chat(
            result_format="message",
            enable_thinking=True,
            incremental_output=True,
            tools=[TOOL],
            tool_choice=FORCED,
        ),
        True,
        P,
        "The tool_choice parameter does not support being set to required or object in thinking "
        "mode",
    ),
    (
        "forced-tool-required-thinking",
        TEXT_PATH,
        chat(model="qwen3-235b-a22b", tools=[TOOL], tool_choice="required"),
        True,
        P,
        "The tool_choice parameter does not support being set to required or object in thinking "
        "mode",
    ),
    (
        "tool-choice-any",
        TEXT_PATH,
        chat(result_format="message", tools=[TOOL], tool_choice="any"),
        False,
        P,
        'tool_choice is one of the strings that should be ["none", "auto"]',
    ),
    (
        "orphan-tool-message",
        TEXT_PATH,
        with_messages(
            USER,
            {"role": "tool", "content": "20C", "tool_call_id": "call_1"},
            result_format="message",
            tools=[TOOL],
        ),
        False,
        P,
        'messages with role "tool" must be a response to a preceeding message with "tool_calls"',
    ),
    (
        "tool-after-plain-assistant",
        TEXT_PATH,
        with_messages(
            USER,
            {"role": "assistant", "content": "ok"},
            {"role": "tool", "content": "20C"},
            result_format="message",
        ),
        False,
        P,
        'messages with role "tool" must be a response to a preceeding message with "tool_calls"',
    ),
    (
        "tool-named-search",
        TEXT_PATH,
        chat(result_format="message", tools=[{"type": "function", "function": {"name": "search"}}]),
        False,
        P,
        "Tool names are not allowed to be [search]",
    ),
    (
        "json-object-without-json",
        TEXT_PATH,
        chat("give me an object", result_format="message", response_format={"type": "json_object"}),
        False,
        P,
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'.",
    ),
    (
        "json-mode-thinking",
        TEXT_PATH,
        chat(
            "reply in JSON",
            result_format="message",
            enable_thinking=True,
            response_format={"type": "json_object"},
        ),
        False,
        P,
        "Json mode response is not supported when enable_thinking is true",
    ),
    # [INF] rules the doc states without a message.
    (
        "tools-in-text-format",
        TEXT_PATH,
        chat(tools=[TOOL]),
        False,
        P,
        'The result_format parameter must be "message" when tools are provided',
    ),
    (
        "tool-arguments-not-string",
        TEXT_PATH,
        with_messages(
            USER,
            {
                **ASSISTANT_CALL,
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": {"a": 1}},
                    }
                ],
            },
            result_format="message",
        ),
        False,
        P,
        "The arguments of a tool call must be a JSON string",
    ),
    (
        "bad-result-format",
        TEXT_PATH,
        chat(result_format="xml"),
        False,
        P,
        'result_format should be one of ["text", "message"]',
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "stream", "code", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_request(
    emulator: DashScopeEmulator,
    client: httpx.Client,
    path: str,
    body: Any,
    stream: bool,
    code: str,
    message: str,
) -> None:
    response = client.post(path, json=body, headers=SSE if stream else {})
    if stream:
        # [CAP §5.7] validation failures after SSE negotiation: HTTP 200 + one event:error.
        assert response.status_code == 200
        (frame,) = native_frames(response.text)
        assert (frame["event"], frame["status"]) == ("error", 400)
        error = frame["data"]
    else:
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        error = response.json()
    assert (error["code"], error["message"]) == (code, message)
    assert error["request_id"] == response.headers["x-request-id"]
    assert emulator.requests[-1].body == body


VALID: list[tuple[str, str, Any, bool]] = [
    ("prompt-only", TEXT_PATH, {"model": "qwen-max", "input": {"prompt": "x"}}, False),
    ("no-parameters", TEXT_PATH, {"model": "qwen-max", "input": {"messages": [USER]}}, False),
    (
        "unknown-parameters-tolerated",
        TEXT_PATH,
        chat(max_completion_tokens=5, stream=True, stop=[[37763, 367]]),
        False,
    ),
    ("temperature-zero", TEXT_PATH, chat(temperature=0), False),
    ("temperature-just-below-2", TEXT_PATH, chat(temperature=1.99), False),
    ("top-p-one", TEXT_PATH, chat(top_p=1), False),
    ("top-k-zero", TEXT_PATH, chat(top_k=0), False),
    ("presence-penalty-bounds", TEXT_PATH, chat(presence_penalty=-2.0), False),
    ("max-tokens-model-max", TEXT_PATH, chat(model="qwen-max", max_tokens=8192), False),
    ("n-four", TEXT_PATH, chat(n=4), False),
    (
        "thinking-off-open-source-non-stream",
        TEXT_PATH,
        chat(model="qwen3-235b-a22b", enable_thinking=False),
        False,
    ),
    (
        "thinking-non-stream-commercial",
        TEXT_PATH,
        chat(result_format="message", enable_thinking=True),
        False,
    ),
    (
        "thinking-stream",
        TEXT_PATH,
        chat(result_format="message", enable_thinking=True, incremental_output=True),
        True,
    ),
    ("thinking-only-model-stream", TEXT_PATH, chat(model="qwq-plus"), True),
    (
        "thinking-false-on-non-thinking-model",
        TEXT_PATH,
        chat(model="qwen-max", enable_thinking=False),
        False,
    ),
    (
        "tool-choice-object",
        TEXT_PATH,
        chat(result_format="message", tools=[TOOL], tool_choice=FORCED),
        False,
    ),
    (
        "tool-choice-none",
        TEXT_PATH,
        chat(result_format="message", tools=[TOOL], tool_choice="none"),
        False,
    ),
    (
        "tool-round-trip",
        TEXT_PATH,
        with_messages(
            USER,
            ASSISTANT_CALL,
            {"role": "tool", "content": "20C", "tool_call_id": "call_1"},
            result_format="message",
            tools=[TOOL],
        ),
        False,
    ),
    (
        "parallel-tool-results",
        TEXT_PATH,
        with_messages(
            USER,
            ASSISTANT_CALL,
            {"role": "tool", "content": "a"},
            {"role": "tool", "content": "b"},
            result_format="message",
            tools=[TOOL],
        ),
        False,
    ),
    (
        "json-word-any-case",
        TEXT_PATH,
        chat(
            "Reply in JSON please", result_format="message", response_format={"type": "json_object"}
        ),
        False,
    ),
    (
        "json-word-in-system",
        TEXT_PATH,
        with_messages(
            {"role": "system", "content": "output json"},
            USER,
            result_format="message",
            response_format={"type": "json_object"},
        ),
        False,
    ),
    ("multimodal-string-content", MM_PATH, mm("qwen-vl-max", "describe"), False),
    (
        "multimodal-video-and-audio",
        MM_PATH,
        mm("qwen3-omni-flash", [{"video": ["a.jpg", "b.jpg"]}, {"audio": "c.wav"}, {"text": "?"}]),
        True,
    ),
    ("qwen3.5-multimodal-non-stream-thinking", MM_PATH, mm("qwen3.5-plus", "hi"), False),
]


@pytest.mark.parametrize(
    ("path", "body", "stream"), [case[1:] for case in VALID], ids=[case[0] for case in VALID]
)
def test_valid_request(client: httpx.Client, path: str, body: Any, stream: bool) -> None:
    response = client.post(path, json=body, headers=SSE if stream else {})
    assert response.status_code == 200, response.text
    if stream:
        frames = native_frames(response.text)
        assert {f["event"] for f in frames} == {"result"}
    else:
        assert set(response.json()) == {"output", "usage", "request_id"}


def test_media_tokens(client: httpx.Client) -> None:
    body = mm(
        "qwen3-omni-flash", [{"video": ["a.jpg", "b.jpg"]}, {"audio": "c.wav"}, {"text": "hi"}]
    )
    frames = native_frames(client.post(MM_PATH, json=body, headers=SSE).text)
    usage = frames[-1]["data"]["usage"]
    assert usage["input_tokens_details"] == {
        "text_tokens": 1,
        "image_tokens": 0,
        "video_tokens": 512,
        "audio_tokens": 128,
    }
    assert usage["input_tokens"] == 1 + 512 + 128


def test_input_length_limit(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(models={"qwen-plus": {"max_input": 5}})
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    ok = httpx.post(emu.url + TEXT_PATH, json=chat("one two three four five"), headers=headers)
    too_long = httpx.post(
        emu.url + TEXT_PATH, json=chat("one two three four five six"), headers=headers
    )
    assert ok.status_code == 200
    assert too_long.status_code == 400
    assert too_long.json()["message"] == "Range of input length should be [1, 5]"


def test_body_not_json(client: httpx.Client) -> None:
    response = client.post(
        TEXT_PATH, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert (
        response.json()["message"] == "Required body invalid, please check the request body format."
    )
    assert client.post(TEXT_PATH, content=b"[1, 2]").json()["code"] == "InvalidParameter"


def test_validation_of_model_override(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(models={"qwen-max": {"max_output": 10}})
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    response = httpx.post(
        emu.url + TEXT_PATH, json=chat(model="qwen-max", max_tokens=11), headers=headers
    )
    assert response.json()["message"] == "Range of max_tokens should be [1, 10]"


def test_tool_choice_required_is_accepted_outside_thinking_mode(client: httpx.Client) -> None:
    response = client.post(
        TEXT_PATH,
        json=chat(result_format="message", tools=[TOOL], tool_choice="required"),
    )
    assert response.status_code == 200, response.text
