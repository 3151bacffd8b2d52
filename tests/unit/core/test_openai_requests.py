"""The OpenAI chat-completions request bodies (compatible mode, self-hosted backends)."""

from __future__ import annotations

from typing import Any

import pytest

from qwen_dashscope import ChatRequest, InvalidRequestError, MediaPart, Message, TextPart, ToolCall
from qwen_dashscope import resolve_chat as resolve
from qwen_dashscope._openai import embedding_body, openai_message, render_chat

URL = "https://example.com/cat.png"


def body(
    request: ChatRequest, backend: Any = "dashscope", *, stream: bool = False
) -> dict[str, Any]:
    return render_chat(resolve(request, stream=stream), backend=backend).body


def test_messages_and_standard_fields() -> None:
    request = ChatRequest(
        model="qwen-plus",
        messages=[
            Message("system", "be brief"),
            Message("user", [TextPart("a"), TextPart("b")]),
            Message("assistant", "", tool_calls=[ToolCall("call_1", "f", '{"x": 1}')]),
            Message("tool", "done", tool_call_id="call_1"),
        ],
        parameters={"temperature": 0.5, "max_tokens": 9, "top_k": 5, "enable_search": True},
    )
    assert body(request) == {
        "model": "qwen-plus",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "ab"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x": 1}'},
                    }
                ],
            },
            {"role": "tool", "content": "done", "tool_call_id": "call_1"},
        ],
        "temperature": 0.5,
        "max_tokens": 9,
        "top_k": 5,
        "enable_search": True,
    }


def test_media_and_cache_markers_as_content_parts() -> None:
    message = Message(
        "user",
        [MediaPart("image", URL), TextPart("what?", {"type": "ephemeral"})],
    )
    assert openai_message(message) == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": URL}},
            {"type": "text", "text": "what?", "cache_control": {"type": "ephemeral"}},
        ],
    }


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("dashscope", {"enable_thinking": False}),
        ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("ollama", {"reasoning_effort": "none"}),
    ],
)
def test_the_thinking_switch_goes_where_each_backend_reads_it(
    backend: str, expected: dict[str, Any]
) -> None:
    request = ChatRequest(
        model="qwen3-32b", messages=[Message("user", "hi")], parameters={"enable_thinking": False}
    )
    sent = body(request, backend)
    assert {k: v for k, v in sent.items() if k not in ("model", "messages")} == expected


def test_reasoning_goes_back_in_the_field_each_backend_reads() -> None:
    turn = Message("assistant", "42", reasoning="6*7")
    assert "reasoning" not in openai_message(turn, "dashscope")
    assert openai_message(turn, "vllm")["reasoning"] == "6*7"
    assert openai_message(turn, "sglang")["reasoning_content"] == "6*7"


def test_streams_ask_for_usage() -> None:
    request = ChatRequest(model="qwen-plus", messages=[Message("user", "hi")])
    sent = body(request, stream=True)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert "incremental_output" not in sent


@pytest.mark.parametrize(
    ("backend", "parameters", "param"),
    [
        ("vllm", {"enable_search": True}, "enable_search"),
        ("ollama", {"thinking_budget": 10}, "thinking_budget"),
        ("openai", {"enable_thinking": False}, "enable_thinking"),
    ],
)
def test_what_a_backend_does_not_have_is_refused(
    backend: str, parameters: dict[str, Any], param: str
) -> None:
    request = ChatRequest(
        model="qwen3-32b", messages=[Message("user", "hi")], parameters=parameters
    )
    with pytest.raises(InvalidRequestError) as info:
        body(request, backend)
    assert info.value.param == param


def test_embedding_body() -> None:
    assert embedding_body("text-embedding-v4", ["a"], dimensions=256) == {
        "model": "text-embedding-v4",
        "input": ["a"],
        "encoding_format": "float",
        "dimensions": 256,
    }


def test_incremental_output_true_is_what_the_protocol_does_and_false_is_refused() -> None:
    """OpenAI streams are always incremental: True is not sent (nothing to send it as), and
    False, which the protocol cannot honour, is an error rather than silently dropped."""
    request = ChatRequest(
        model="qwen-plus",
        messages=[Message("user", "hi")],
        parameters={"incremental_output": True},
    )
    sent = body(request, stream=True)
    assert "incremental_output" not in sent and sent["stream"] is True
    refused = ChatRequest(
        model="qwen-plus",
        messages=[Message("user", "hi")],
        parameters={"incremental_output": False},
    )
    for backend in ("dashscope", "vllm"):
        with pytest.raises(InvalidRequestError, match="leave it unset") as caught:
            body(refused, backend, stream=True)
        assert caught.value.param == "incremental_output"
