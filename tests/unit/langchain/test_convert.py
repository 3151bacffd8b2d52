"""Table tests of the pure conversions in ``langchain_qwen._convert`` (literal dicts)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_qwen._convert import (
    V1Blocks,
    chunk_from_delta,
    message_from_result,
    messages_to_neutral,
    usage_to_metadata,
)
from qwen_dashscope import (
    GenerationChunk,
    GenerationResult,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from qwen_dashscope._native import wire_message
from tests._wire import Captures


def messages_to_wire(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain -> neutral (the adapter) -> native wire (the core), per message's endpoint."""
    return [
        wire_message(m, "multimodal" if m.has_media else "text")
        for m in messages_to_neutral(messages)
    ]


URL = "https://example.com/cat.png"
B64 = "iVBORw0KGgo="
CALL = {"name": "get_weather", "args": {"city": "杭州"}, "id": "call_1", "type": "tool_call"}
WIRE_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "杭州"}'},
}

MESSAGE_CASES: list[tuple[str, BaseMessage, list[dict[str, Any]]]] = [
    ("system", SystemMessage("你是厨师"), [{"role": "system", "content": "你是厨师"}]),
    ("human str", HumanMessage("你好"), [{"role": "user", "content": "你好"}]),
    (
        "human text blocks join",
        HumanMessage([{"type": "text", "text": "a"}, "b", {"type": "text", "text": "c"}]),
        [{"role": "user", "content": "abc"}],
    ),
    (
        "openai image_url",
        HumanMessage(
            [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": URL}}]
        ),
        [{"role": "user", "content": [{"text": "describe"}, {"image": URL}]}],
    ),
    (
        "openai image_url as string",
        HumanMessage([{"type": "image_url", "image_url": URL}]),
        [{"role": "user", "content": [{"image": URL}]}],
    ),
    (
        "v1 image url",
        HumanMessage([{"type": "image", "url": URL}]),
        [{"role": "user", "content": [{"image": URL}]}],
    ),
    (
        "v1 image base64",
        HumanMessage([{"type": "image", "base64": B64, "mime_type": "image/jpeg"}]),
        [{"role": "user", "content": [{"image": f"data:image/jpeg;base64,{B64}"}]}],
    ),
    (
        "v0 image base64",
        HumanMessage(
            [{"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"}]
        ),
        [{"role": "user", "content": [{"image": f"data:image/png;base64,{B64}"}]}],
    ),
    (
        "anthropic image base64",
        HumanMessage(
            [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/webp", "data": B64},
                }
            ]
        ),
        [{"role": "user", "content": [{"image": f"data:image/webp;base64,{B64}"}]}],
    ),
    (
        "anthropic image url",
        HumanMessage([{"type": "image", "source": {"type": "url", "url": URL}}]),
        [{"role": "user", "content": [{"image": URL}]}],
    ),
    (
        "video and audio",
        HumanMessage(
            [
                {"type": "video", "url": "https://example.com/v.mp4"},
                {"type": "audio", "base64": B64, "mime_type": "audio/mpeg"},
            ]
        ),
        [
            {
                "role": "user",
                "content": [
                    {"video": "https://example.com/v.mp4"},
                    {"audio": f"data:audio/mpeg;base64,{B64}"},
                ],
            }
        ],
    ),
    (
        "text blocks with cache_control (anthropic form) keep the marker",
        HumanMessage([{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]),
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
    ),
    (
        "cache_control in v1 extras",
        HumanMessage(
            [{"type": "text", "text": "hi", "extras": {"cache_control": {"type": "ephemeral"}}}]
        ),
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
    ),
    (
        "a final assistant prefix in partial mode",
        AIMessage("春眠不觉晓，", additional_kwargs={"partial": True}),
        [{"role": "assistant", "content": "春眠不觉晓，", "partial": True}],
    ),
    ("assistant text", AIMessage("好的"), [{"role": "assistant", "content": "好的"}]),
    (
        "assistant hand-built tool_calls",
        AIMessage("", tool_calls=[CALL]),
        [{"role": "assistant", "content": "", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant openai-style additional_kwargs tool_calls (other provider)",
        AIMessage(
            "",
            additional_kwargs={
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"杭州"}'},
                    }
                ]
            },
        ),
        [{"role": "assistant", "content": "", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant anthropic tool_use content only",
        AIMessage(
            [
                {"type": "text", "text": "Let me check"},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "杭州"},
                },
            ]
        ),
        [{"role": "assistant", "content": "Let me check", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant anthropic tool_use and tool_calls: no duplicate",
        AIMessage(
            [
                {"type": "text", "text": "Let me check"},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "杭州"},
                },
            ],
            tool_calls=[CALL],
        ),
        [{"role": "assistant", "content": "Let me check", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant from the OpenAI Responses API: function_call item and refusal",
        AIMessage(
            [
                {"type": "refusal", "refusal": "I can't share that. "},
                {
                    "type": "function_call",
                    "name": "get_weather",
                    "arguments": '{"city": "杭州"}',
                    "call_id": "call_1",
                    "id": "fc_1",
                },
            ],
            tool_calls=[CALL],
        ),
        [{"role": "assistant", "content": "I can't share that. ", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant anthropic server tools (web search) left out",
        AIMessage(
            [
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
                {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
                {"type": "text", "text": "西湖很美。"},
            ]
        ),
        [{"role": "assistant", "content": "西湖很美。"}],
    ),
    (
        "assistant anthropic thinking block dropped",
        AIMessage(
            [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Hello"},
            ]
        ),
        [{"role": "assistant", "content": "Hello"}],
    ),
    (
        "assistant reasoning_content is not sent back",
        AIMessage("答案是 2", additional_kwargs={"reasoning_content": "1+1=2"}),
        [{"role": "assistant", "content": "答案是 2"}],
    ),
    (
        "assistant v1 content blocks",
        AIMessage(
            [
                {"type": "reasoning", "reasoning": "think"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "args": {"city": "杭州"},
                },
            ],
            tool_calls=[CALL],
        ),
        [{"role": "assistant", "content": "Checking.", "tool_calls": [WIRE_CALL]}],
    ),
    (
        "assistant invalid tool call is sent back verbatim",
        AIMessage(
            "",
            invalid_tool_calls=[
                {
                    "type": "invalid_tool_call",
                    "id": "call_9",
                    "name": "f",
                    "args": "{broken",
                    "error": "bad json",
                }
            ],
        ),
        [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{broken"},
                    }
                ],
            }
        ],
    ),
    (
        "tool str",
        ToolMessage("晴", tool_call_id="call_1"),
        [{"role": "tool", "content": "晴", "tool_call_id": "call_1"}],
    ),
    (
        "tool text blocks",
        ToolMessage([{"type": "text", "text": "晴"}, "，25°C"], tool_call_id="call_1"),
        [{"role": "tool", "content": "晴，25°C", "tool_call_id": "call_1"}],
    ),
    (
        "tool structured content is serialized deterministically",
        ToolMessage([{"b": 1, "a": "杭州"}], tool_call_id="call_1"),
        [{"role": "tool", "content": '[{"a": "杭州", "b": 1}]', "tool_call_id": "call_1"}],
    ),
    (
        "anthropic tool_result inside a human message",
        HumanMessage(
            [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "晴"},
                {"type": "text", "text": "and tomorrow?"},
            ]
        ),
        [
            {"role": "tool", "content": "晴", "tool_call_id": "call_1"},
            {"role": "user", "content": "and tomorrow?"},
        ],
    ),
    (
        "chat message role",
        ChatMessage(role="assistant", content="ok"),
        [{"role": "assistant", "content": "ok"}],
    ),
]


@pytest.mark.parametrize(("case", "message", "expected"), MESSAGE_CASES, ids=lambda c: str(c))
def test_message_to_wire(case: str, message: BaseMessage, expected: list[dict[str, Any]]) -> None:
    assert messages_to_wire([message]) == expected


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (HumanMessage([{"type": "file", "base64": B64, "mime_type": "application/pdf"}]), "PDF"),
        (HumanMessage([{"type": "image", "file_id": "file-1"}]), "file ids"),
        (HumanMessage([{"type": "mystery"}]), "unsupported content block"),
        (AIMessage([{"type": "image", "url": URL}]), "assistant messages can only contain text"),
        (
            ToolMessage(
                [{"type": "image", "base64": B64, "mime_type": "image/png"}], tool_call_id="c"
            ),
            "HumanMessage after the ToolMessage",
        ),
        (FunctionMessage(name="f", content="x"), "FunctionMessage is not supported"),
    ],
)
def test_message_to_wire_rejects_clearly(message: BaseMessage, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        messages_to_wire([message])


def test_left_out_blocks_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    message = AIMessage(
        [
            {"type": "non_standard", "value": {"x": 1}},
            {"type": "code_execution_tool_result", "tool_use_id": "s", "content": {}},
            {"type": "text", "text": "ok"},
        ]
    )
    assert messages_to_wire([message]) == [{"role": "assistant", "content": "ok"}]
    assert "code_execution_tool_result, non_standard blocks were left out" in caplog.text


USAGE_CASES = [
    (
        Usage(input_tokens=10, output_tokens=5, total_tokens=15),
        {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    ),
    (
        Usage(input_tokens=10, output_tokens=5, total_tokens=15, cached_tokens=0),
        {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "input_token_details": {"cache_read": 0},
        },
    ),
    (
        Usage(
            input_tokens=12, output_tokens=21, total_tokens=33, cached_tokens=8, reasoning_tokens=20
        ),
        {
            "input_tokens": 12,
            "output_tokens": 21,
            "total_tokens": 33,
            "input_token_details": {"cache_read": 8},
            "output_token_details": {"reasoning": 20},
        },
    ),
    (
        Usage(
            input_tokens=300,
            output_tokens=3,
            total_tokens=303,
            raw={"input_tokens_details": {"audio_tokens": 128, "text_tokens": 172}},
        ),
        {
            "input_tokens": 300,
            "output_tokens": 3,
            "total_tokens": 303,
            "input_token_details": {"audio": 128},
        },
    ),
]


@pytest.mark.parametrize(("usage", "expected"), USAGE_CASES)
def test_usage_to_metadata(usage: Usage, expected: dict[str, Any]) -> None:
    assert usage_to_metadata(usage) == expected


def _result(**kw: Any) -> GenerationResult:
    base: dict[str, Any] = {
        "request_id": "rid-1",
        "finish_reason": "stop",
        "usage": Usage(input_tokens=3, output_tokens=2, total_tokens=5, cached_tokens=0),
    }
    return GenerationResult(**{**base, **kw})


def test_message_from_result_text_and_reasoning() -> None:
    message = message_from_result(_result(text="2", reasoning="1+1"), model="qwen-plus")
    assert message.content == "2"
    assert message.additional_kwargs == {"reasoning_content": "1+1"}
    assert message.response_metadata == {
        "model_name": "qwen-plus",
        "finish_reason": "stop",
        "request_id": "rid-1",
        "model_provider": "dashscope",
    }
    assert message.id == "rid-1"
    assert message.usage_metadata == {
        "input_tokens": 3,
        "output_tokens": 2,
        "total_tokens": 5,
        "input_token_details": {"cache_read": 0},
    }
    assert message.content_blocks == [
        {"type": "reasoning", "reasoning": "1+1"},
        {"type": "text", "text": "2"},
    ]


def test_message_from_result_tool_calls_valid_and_invalid() -> None:
    result = _result(
        finish_reason="tool_calls",
        tool_calls=[
            ToolCall(id="call_a", name="get_weather", arguments='{"city": "杭州"}'),
            ToolCall(id="call_b", name="now", arguments=""),
            ToolCall(id="call_c", name="broken", arguments='{"city": '),
            ToolCall(id="call_d", name="listy", arguments="[1]"),
        ],
    )
    message = message_from_result(result, model="qwen-plus")
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "杭州"}, "id": "call_a", "type": "tool_call"},
        {"name": "now", "args": {}, "id": "call_b", "type": "tool_call"},
    ]
    assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == [
        ("broken", '{"city": '),
        ("listy", "[1]"),
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_message_from_result_keeps_extras() -> None:
    search = {"search_results": [{"title": "t", "url": "u"}]}
    message = message_from_result(_result(text="x", extras={"search_info": search}), model="m")
    assert message.response_metadata["search_info"] == search


def test_round_trip_of_our_own_messages_from_capture(wire: Captures) -> None:
    """An AIMessage we produced converts back to the assistant message the service sent."""
    raw = wire.json("toolcall-message.json")
    wire_message = raw["output"]["choices"][0]["message"]
    result = _result(
        tool_calls=[
            ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
            for c in wire_message["tool_calls"]
        ],
        reasoning="thinking that is not sent back",
    )
    ours = message_from_result(result, model="qwen-plus")
    expected = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {k: v for k, v in call.items() if k != "index"} for call in wire_message["tool_calls"]
        ],
    }
    assert messages_to_wire([ours]) == [expected]


def test_round_trip_of_streamed_messages() -> None:
    """Chunks we produced, added up, convert back to the same wire message."""
    deltas = [
        GenerationChunk(request_id="r", reasoning="想一想"),
        GenerationChunk(request_id="r", text="查一下。"),
        GenerationChunk(
            request_id="r",
            tool_calls=[ToolCallDelta(index=0, id="call_a", name="get_weather", arguments="")],
        ),
        GenerationChunk(
            request_id="r", tool_calls=[ToolCallDelta(index=0, arguments='{"city": "杭州"}')]
        ),
        GenerationChunk(request_id="r", finish_reason="tool_calls", usage=Usage(1, 2, 3)),
    ]
    full: AIMessageChunk | None = None
    for delta in deltas:
        chunk = chunk_from_delta(delta, model="qwen-plus", stream_usage=True)
        full = chunk if full is None else full + chunk
    assert full is not None
    assert messages_to_wire([full]) == [
        {
            "role": "assistant",
            "content": "查一下。",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "杭州"}'},
                }
            ],
        }
    ]


def test_chunk_from_delta_middle_and_last() -> None:
    middle = chunk_from_delta(
        GenerationChunk(
            request_id="r",
            text="hi",
            reasoning="r",
            tool_calls=[ToolCallDelta(index=1, id="c", name="f", arguments="{")],
            usage=Usage(1, 1, 2),
        ),
        model="qwen-plus",
        stream_usage=True,
    )
    assert middle.content == "hi"
    assert middle.additional_kwargs == {"reasoning_content": "r"}
    assert middle.tool_call_chunks == [
        {"name": "f", "args": "{", "id": "c", "index": 1, "type": "tool_call_chunk"}
    ]
    assert middle.usage_metadata is None  # usage only once, on the last chunk
    assert middle.chunk_position is None
    assert middle.response_metadata == {"model_provider": "dashscope"}

    last = chunk_from_delta(
        GenerationChunk(request_id="r", finish_reason="stop", usage=Usage(4, 2, 6, 0, None)),
        model="qwen-plus",
        stream_usage=True,
    )
    assert last.chunk_position == "last"
    assert last.usage_metadata == {
        "input_tokens": 4,
        "output_tokens": 2,
        "total_tokens": 6,
        "input_token_details": {"cache_read": 0},
    }
    assert last.response_metadata == {
        "model_provider": "dashscope",
        "model_name": "qwen-plus",
        "finish_reason": "stop",
        "request_id": "r",
    }
    quiet = chunk_from_delta(
        GenerationChunk(request_id="r", finish_reason="stop", usage=Usage(4, 2, 6)),
        model="qwen-plus",
        stream_usage=False,
    )
    assert quiet.usage_metadata is None


def test_v1_blocks_never_share_an_index() -> None:
    blocks = V1Blocks()
    seen = [
        blocks.blocks(GenerationChunk(reasoning="a")),
        blocks.blocks(GenerationChunk(reasoning="b")),
        blocks.blocks(GenerationChunk(text="c")),
        blocks.blocks(
            GenerationChunk(tool_calls=[ToolCallDelta(index=0, id="x", name="f", arguments="{")])
        ),
        blocks.blocks(
            GenerationChunk(
                tool_calls=[
                    ToolCallDelta(index=0, arguments="}"),
                    ToolCallDelta(index=1, id="y", name="g", arguments="{}"),
                ]
            )
        ),
    ]
    assert [[(b["type"], b["index"]) for b in chunk] for chunk in seen] == [
        [("reasoning", 0)],
        [("reasoning", 0)],
        [("text", 1)],
        [("tool_call_chunk", 2)],
        [("tool_call_chunk", 2), ("tool_call_chunk", 3)],
    ]
