"""The emulator's pure building blocks, table-tested without sockets."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qwen_dashscope.testing as testing
from qwen_dashscope.testing import (
    DEFAULT_MODELS,
    ModelSpec,
    RecordedRequest,
    Reply,
    ToolCall,
    count_tokens,
)
from qwen_dashscope.testing._errors import ServiceError, compat_error_body, native_error_body
from qwen_dashscope.testing._generation import build_turn, default_text
from qwen_dashscope.testing._models import build_model_table
from qwen_dashscope.testing._native import merge_usage, native_stream_events, sse_frame
from qwen_dashscope.testing._recorded import Headers
from qwen_dashscope.testing._tokens import (
    count_tokens_joined,
    split_every,
    split_text,
    truncate_tokens,
)
from qwen_dashscope.testing._validate import plan_native_generation


def test_public_surface() -> None:
    assert {"DashScopeEmulator", "Reply", "ToolCall", "RecordedRequest"} <= set(testing.__all__)
    assert all(hasattr(testing, name) for name in testing.__all__)
    assert testing.__doc__ and "Reply.text" in testing.__doc__


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("   \n", 0),
        ("hello world", 2),
        ("你好世界", 4),
        ("1+1=2", 5),
        ("don't", 3),
        ("GPT4o_mini", 1),
        ("请问 1+1 是多少？", 9),
        ("😊!", 2),
        ("杭州hangzhou", 3),
    ],
)
def test_count_tokens(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens


@pytest.mark.parametrize("text", ["hello wonderful world", "你好，世界！abc def", "a+b = c; 😊 ok"])
def test_token_count_is_monotonic_in_prefixes(text: str) -> None:
    counts = [count_tokens(text[:i]) for i in range(len(text) + 1)]
    assert counts == sorted(counts)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("one two three", 2, "one two "),
        ("one two", 5, "one two"),
        ("你好世界", 1, "你"),
        ("a b", 0, ""),
    ],
)
def test_truncate_tokens(text: str, limit: int, expected: str) -> None:
    assert truncate_tokens(text, limit) == expected
    assert count_tokens(truncate_tokens(text, limit)) == min(limit, count_tokens(text))


@pytest.mark.parametrize(
    ("text", "pieces", "expected"),
    [
        ("abcdefg", 3, ["abc", "de", "fg"]),
        ("ab", 5, ["a", "b"]),
        ("", 3, []),
        ("杭州天气😊", 2, ["杭州天", "气😊"]),
    ],
)
def test_split_text(text: str, pieces: int, expected: list[str]) -> None:
    assert split_text(text, pieces) == expected


def test_split_every() -> None:
    assert split_every("abcdefghij") == ["abcd", "efgh", "ij"]
    assert split_every("") == []


def test_sse_frame_bytes() -> None:
    frame = sse_frame(3, "result", 200, {"output": {"text": "你好"}, "request_id": "r"})
    expected = (
        'id:3\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"text":"你好"},"request_id":"r"}\n\n'
    )
    assert frame == expected.encode()


def test_error_envelopes() -> None:
    error = ServiceError(400, "InvalidParameter.NotSupportEnableThinking", "nope")
    assert native_error_body(error, "rid") == {
        "code": "InvalidParameter.NotSupportEnableThinking",
        "message": "nope",
        "request_id": "rid",
    }
    assert compat_error_body(error, "rid") == {
        "error": {
            "message": "nope",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_parameter_error",
        },
        "request_id": "rid",
    }
    auth = compat_error_body(ServiceError(401, "InvalidApiKey", "Invalid API-key provided."), "r")
    assert auth["error"]["code"] == "invalid_api_key"
    assert auth["error"]["message"].startswith("Incorrect API key provided.")
    custom = compat_error_body(ServiceError(503, "ModelUnavailable", "later"), "r")["error"]
    assert (custom["type"], custom["code"]) == ("internal_error", "ModelUnavailable")


def test_merge_usage() -> None:
    usage = {
        "total_tokens": 5,
        "output_tokens": 3,
        "input_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    merged = merge_usage(usage, {"input_tokens": 10, "prompt_tokens_details": {"cached_tokens": 4}})
    assert merged == {
        "total_tokens": 13,
        "output_tokens": 3,
        "input_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert merge_usage(usage, {"total_tokens": 99})["total_tokens"] == 99
    assert merge_usage(usage, None) is usage


REQUIRED_MODELS = {
    "qwen-turbo": ("text-generation", "hybrid"),
    "qwen-plus": ("text-generation", "hybrid"),
    "qwen-max": ("text-generation", "none"),
    "qwen-flash": ("text-generation", "hybrid"),
    "qwen-long": ("text-generation", "none"),
    "qwen3-max": ("text-generation", "hybrid"),
    "qwen3.5-plus": ("multimodal-generation", "hybrid"),
    "qwen3.5-flash": ("multimodal-generation", "hybrid"),
    "qwen3-235b-a22b": ("text-generation", "hybrid"),
    "qwen3-30b-a3b-thinking-2507": ("text-generation", "always"),
    "qwq-plus": ("text-generation", "always"),
    "qwen-vl-plus": ("multimodal-generation", "none"),
    "qwen-vl-max": ("multimodal-generation", "none"),
    "qwen3-vl-plus": ("multimodal-generation", "hybrid"),
    "qvq-max": ("multimodal-generation", "always"),
    "qwen3-omni-flash": ("multimodal-generation", "hybrid"),
    "text-embedding-v1": ("text-embedding", "none"),
    "text-embedding-v2": ("text-embedding", "none"),
    "text-embedding-v3": ("text-embedding", "none"),
    "text-embedding-v4": ("text-embedding", "none"),
    "qwen3-rerank": ("text-rerank", "none"),
    "gte-rerank-v2": ("text-rerank", "none"),
}


def test_model_table() -> None:
    for name, (endpoint, thinking) in REQUIRED_MODELS.items():
        spec = DEFAULT_MODELS[name]
        assert (spec.name, spec.endpoint, spec.thinking) == (name, endpoint, thinking)
    # §5.5 defaults: commercial hybrids off, open-source hybrids on; stream-only thinking.
    assert not DEFAULT_MODELS["qwen-plus"].thinking_default
    assert DEFAULT_MODELS["qwen-plus"].nonstream_thinking
    assert DEFAULT_MODELS["qwen3-235b-a22b"].thinking_default
    assert not DEFAULT_MODELS["qwen3-235b-a22b"].nonstream_thinking
    assert DEFAULT_MODELS["qwq-plus"].stream_only and DEFAULT_MODELS["qvq-max"].stream_only
    # §3.3 defaults
    assert (
        DEFAULT_MODELS["qwen-turbo"].result_format,
        DEFAULT_MODELS["qwen-turbo"].incremental_output,
    ) == ("text", False)
    assert (
        DEFAULT_MODELS["qwen3-max"].result_format,
        DEFAULT_MODELS["qwen3-max"].incremental_output,
    ) == ("message", True)
    assert DEFAULT_MODELS["text-embedding-v4"].dimensions[0] == 1024
    assert set(DEFAULT_MODELS["text-embedding-v4"].dimensions) == {
        2048,
        1536,
        1024,
        768,
        512,
        256,
        128,
        64,
    }
    assert DEFAULT_MODELS["text-embedding-v2"].dimensions == (1536,)
    assert (
        DEFAULT_MODELS["text-embedding-v3"].max_batch,
        DEFAULT_MODELS["text-embedding-v1"].max_batch,
    ) == (10, 25)


def test_model_table_overrides() -> None:
    table = build_model_table(
        {
            "qwen-plus": {"max_output": 100},
            "my-model": {"endpoint": "text-generation", "thinking": "always"},
            "alias": DEFAULT_MODELS["qwen-max"],
        }
    )
    assert table["qwen-plus"].max_output == 100 and table["qwen-plus"].thinking == "hybrid"
    assert table["my-model"] == ModelSpec("my-model", "text-generation", thinking="always")
    assert table["alias"].name == "alias" and table["alias"].max_output == 8192
    assert DEFAULT_MODELS["qwen-plus"].max_output == 32_768  # the default is untouched


def test_reply_is_immutable_and_combinable() -> None:
    reply = Reply.text("hi", chunks=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.answer = "changed"  # type: ignore[misc]
    assert Reply().kind == "default" and Reply().answer is None
    delayed = Reply.delay(1.5)
    assert (delayed.kind, delayed.delay_seconds) == ("default", 1.5)
    assert Reply.delay(0.5, Reply.text("x")).answer == "x"
    combined = Reply(text="x", delay=0.25, finish_reason="length", usage={"input_tokens": 1})
    assert (combined.kind, combined.delay_seconds, combined.finish_reason) == (
        "text",
        0.25,
        "length",
    )
    assert Reply(tool_calls=[ToolCall("f")]).kind == "tool_calls"
    assert reply.with_delay(2) == Reply.text("hi", chunks=2, delay=2)
    with pytest.raises(ValueError):
        Reply.tool_calls([])
    with pytest.raises(ValueError):
        Reply.text("x", chunks=0)


def test_tool_call_arguments() -> None:
    assert ToolCall("f", {"city": "杭州"}).arguments_json == '{"city": "杭州"}'
    assert ToolCall("f", '{"broken": ').arguments_json == '{"broken": '
    assert ToolCall("f").arguments_json == "{}"


def recorded(body: dict[str, Any], endpoint: Any = "text-generation") -> RecordedRequest:
    raw = json.dumps(body).encode()
    return RecordedRequest("POST", "/", Headers([("A", "1")]), body, raw, endpoint, False)


def test_recorded_request_properties() -> None:
    compat = recorded(
        {
            "model": "qwen-plus",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}],
            "temperature": 0.1,
            "tools": [{"type": "function"}],
        },
        "compat-chat",
    )
    assert compat.parameters == {"temperature": 0.1, "tools": [{"type": "function"}]}
    assert compat.last_user_text == "a" and compat.tools == [{"type": "function"}]
    assert compat.input == {}
    native = recorded({"model": "m", "input": {"prompt": "p"}})
    assert (native.messages, native.last_user_text, native.parameters) == ([], "p", {})
    headers = Headers([("X-A", "1"), ("x-a", "2")])
    assert headers["x-A"] == "1, 2" and list(headers) == ["x-a"] and "X-A" in headers


def test_default_text_and_stream_events_are_pure() -> None:
    body = {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": "ping"}]},
        "parameters": {"result_format": "message", "incremental_output": True},
    }
    request = recorded(body)
    assert default_text(request) == "[emulator] ping"
    plan = plan_native_generation("text-generation", body, stream=True, models=DEFAULT_MODELS)
    turn = build_turn(plan, Reply(), request)
    assert native_stream_events(plan, turn, "rid") == native_stream_events(plan, turn, "rid")
    events = native_stream_events(plan, turn, "rid")
    assert [e["output"]["choices"][0]["message"]["content"] for e in events] == [
        "[emu",
        "lato",
        "r] p",
        "ing",
        "",
    ]


def test_pure_validation_raises_api_error() -> None:
    with pytest.raises(ServiceError) as info:
        plan_native_generation(
            "text-generation", {"model": "x"}, stream=False, models=DEFAULT_MODELS
        )
    assert (info.value.status, info.value.code, info.value.message) == (
        400,
        "InvalidParameter",
        "Model not exist.",
    )


@given(st.lists(st.text(alphabet="ab 1_,.西湖かな한\n!😀é", max_size=6), max_size=12))
def test_token_counts_kept_while_text_grows_equal_a_recount(pieces: list[str]) -> None:
    text, tokens = "", 0
    for piece in pieces:
        tokens = count_tokens_joined(text, tokens, piece)
        text += piece
        assert tokens == testing.count_tokens(text)
