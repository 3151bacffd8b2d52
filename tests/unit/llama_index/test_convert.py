"""Pure conversions of llama_index_qwen._convert, table-tested against literal dicts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, Field

from llama_index_qwen._convert import (
    INVALID_ARGUMENTS_KEY,
    ChatStreamAssembler,
    chat_response_from_result,
    completion_from_chat,
    keep_first_tool_call,
    lenient_arguments,
    map_tool_choice,
    to_neutral_message,
    tool_selections,
    tool_specs,
    usage_kwargs,
)
from qwen_dashscope import (
    GenerationChunk,
    GenerationResult,
    ToolCall,
    ToolCallDelta,
    Usage,
    normalize_tool_choice,
)
from qwen_dashscope._native import wire_message


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """LlamaIndex -> neutral (the adapter) -> native wire (the core)."""
    neutral = to_neutral_message(message)
    return wire_message(neutral, "multimodal" if neutral.has_media else "text")


def resolve_tool_choice(
    specs: list[dict[str, Any]], tools: list[Any], *, tool_required: bool, tool_choice: Any
) -> Any:
    """What the wire gets: the adapter's mapping, then the core's normalization."""
    mapped = map_tool_choice(specs, tools, tool_required=tool_required, tool_choice=tool_choice)
    return normalize_tool_choice(mapped, [spec["function"]["name"] for spec in specs])


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "杭州"}'},
}


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (
            ChatMessage(role="system", content="Be brief."),
            {"role": "system", "content": "Be brief."},
        ),
        (ChatMessage(role="developer", content="x"), {"role": "system", "content": "x"}),
        (ChatMessage(role="user", content="你好"), {"role": "user", "content": "你好"}),
        (ChatMessage(role="user", blocks=[]), {"role": "user", "content": ""}),
        # text blocks are joined as given (the core's rule, the same as ChatQwen's)
        (
            ChatMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")]),
            {"role": "user", "content": "ab"},
        ),
        # a CachePoint marks the block before it as an explicit cache point
        (
            ChatMessage(
                role="system",
                blocks=[
                    TextBlock(text="manual"),
                    CachePoint(cache_control=CacheControl(type="ephemeral")),
                ],
            ),
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "manual", "cache_control": {"type": "ephemeral"}}
                ],
            },
        ),
        # a final assistant prefix in partial mode
        (
            ChatMessage(role="assistant", content="春眠", additional_kwargs={"partial": True}),
            {"role": "assistant", "content": "春眠", "partial": True},
        ),
        (ChatMessage(role="assistant", content="Hi"), {"role": "assistant", "content": "Hi"}),
        (ChatMessage(role="chatbot", content="Hi"), {"role": "assistant", "content": "Hi"}),
        # tool results are identified by additional_kwargs["tool_call_id"] alone
        (
            ChatMessage(role="tool", content="Sunny", additional_kwargs={"tool_call_id": "call_1"}),
            {"role": "tool", "content": "Sunny", "tool_call_id": "call_1"},
        ),
        # an assistant message from a tool-call block
        (
            ChatMessage(
                role="assistant",
                blocks=[
                    ToolCallBlock(
                        tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "杭州"}
                    )
                ],
            ),
            {"role": "assistant", "content": "", "tool_calls": [CALL]},
        ),
        # ... from a string of arguments, kept verbatim
        (
            ChatMessage(
                role="assistant",
                blocks=[
                    TextBlock(text="Let me check."),
                    ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs='{"a":1}'),
                ],
            ),
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a":1}'},
                    }
                ],
            },
        ),
        # ... from additional_kwargs only (hand-built or from another integration)
        (
            ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [CALL]}),
            {"role": "assistant", "content": "", "tool_calls": [CALL]},
        ),
        # ... with arguments given as a dict in additional_kwargs
        (
            ChatMessage(
                role="assistant",
                content="",
                additional_kwargs={
                    "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": {"a": 1}}}]
                },
            ),
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "x",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a": 1}'},
                    }
                ],
            },
        ),
        # thinking is not sent back
        (
            ChatMessage(
                role="assistant", blocks=[ThinkingBlock(content="hmm"), TextBlock(text="42")]
            ),
            {"role": "assistant", "content": "42"},
        ),
        # a tool_call_id on a non-tool message (FunctionAgent's return_direct) is not sent
        (
            ChatMessage(role="assistant", content="done", additional_kwargs={"tool_call_id": "c"}),
            {"role": "assistant", "content": "done"},
        ),
    ],
)
def test_to_wire_message(message: ChatMessage, wire: dict[str, Any]) -> None:
    assert to_wire_message(message) == wire


def test_block_ids_win_and_keep_the_models_exact_argument_string() -> None:
    exact = '{"city":"杭州"}'  # no space: as a real model may send it
    message = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(
                tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "杭州"}
            )
        ],
        additional_kwargs={
            "tool_calls": [{**CALL, "function": {**CALL["function"], "arguments": exact}}]
        },
    )
    assert to_wire_message(message)["tool_calls"][0]["function"]["arguments"] == exact
    # an edited block wins over the stale original
    message.blocks[0].tool_kwargs = {"city": "上海"}  # type: ignore[union-attr]
    assert to_wire_message(message)["tool_calls"][0]["function"]["arguments"] == '{"city": "上海"}'


@pytest.mark.parametrize(
    ("block", "item"),
    [
        (ImageBlock(url="https://example.com/cat.png"), {"image": "https://example.com/cat.png"}),
        (ImageBlock(url=PNG_URI), {"image": PNG_URI}),
        (ImageBlock(image=PNG), {"image": PNG_URI}),
        (ImageBlock(image=PNG, image_mimetype="image/png"), {"image": PNG_URI}),
        (AudioBlock(url="https://example.com/a.mp3"), {"audio": "https://example.com/a.mp3"}),
        (
            AudioBlock(audio=b"RIFF\x00\x01\x02\x03WAVE", format="wav"),
            {
                "audio": "data:audio/wav;base64,"
                + base64.b64encode(b"RIFF\x00\x01\x02\x03WAVE").decode()
            },
        ),
        (VideoBlock(url="https://example.com/v.mp4"), {"video": "https://example.com/v.mp4"}),
    ],
)
def test_media_items(block: Any, item: dict[str, Any]) -> None:
    wire = to_wire_message(ChatMessage(role="user", blocks=[block, TextBlock(text="What?")]))
    assert wire == {"role": "user", "content": [item, {"text": "What?"}]}


def test_image_from_path(tmp_path: Any) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    wire = to_wire_message(ChatMessage(role="user", blocks=[ImageBlock(path=path)]))
    assert wire == {"role": "user", "content": [{"image": PNG_URI}]}


def test_unsupported_blocks_are_refused_clearly() -> None:
    message = ChatMessage(role="user", blocks=[DocumentBlock(data=b"%PDF-1.4")])
    with pytest.raises(ValueError, match="DocumentBlock is not supported"):
        to_wire_message(message)
    with pytest.raises(ValueError, match="tool result"):
        to_wire_message(ChatMessage(role="tool", blocks=[ImageBlock(image=PNG)]))


def _result(**kw: Any) -> GenerationResult:
    usage = Usage(
        input_tokens=12,
        output_tokens=7,
        total_tokens=19,
        raw={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
    )
    defaults: dict[str, Any] = {"request_id": "req-1", "finish_reason": "stop", "usage": usage}
    defaults.update(kw)
    return GenerationResult(**defaults)


def test_text_result() -> None:
    response = chat_response_from_result(
        _result(text="你好", raw={"request_id": "req-1", "output": {}})
    )
    assert response.message.role == MessageRole.ASSISTANT
    assert response.message.blocks == [TextBlock(text="你好")]
    assert response.message.additional_kwargs == {}
    assert response.additional_kwargs == {
        "prompt_tokens": 12,
        "completion_tokens": 7,
        "total_tokens": 19,
    }
    assert response.raw == {
        "request_id": "req-1",
        "output": {},
        "usage": {
            "input_tokens": 12,
            "output_tokens": 7,
            "total_tokens": 19,
            "prompt_tokens": 12,
            "completion_tokens": 7,
        },
    }


def test_empty_answer_still_has_text_content() -> None:
    assert chat_response_from_result(_result(text="")).message.content == ""


def test_thinking_and_tool_calls_result_and_round_trip() -> None:
    usage = Usage(
        input_tokens=5, output_tokens=9, total_tokens=14, cached_tokens=2, reasoning_tokens=4
    )
    result = _result(
        text="",
        reasoning="The user wants weather.",
        tool_calls=[
            ToolCall(id="call_1", name="get_weather", arguments='{"city": "杭州"}'),
            ToolCall(id="call_2", name="get_time", arguments='{"tz": "Asia/Shanghai"}', index=1),
        ],
        finish_reason="tool_calls",
        usage=usage,
    )
    response = chat_response_from_result(result)
    blocks = response.message.blocks
    assert blocks == [
        ThinkingBlock(content="The user wants weather.", num_tokens=4),
        ToolCallBlock(tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "杭州"}),
        ToolCallBlock(
            tool_call_id="call_2", tool_name="get_time", tool_kwargs={"tz": "Asia/Shanghai"}
        ),
    ]
    assert response.additional_kwargs == {
        "prompt_tokens": 5,
        "completion_tokens": 9,
        "total_tokens": 14,
        "cached_tokens": 2,
        "reasoning_tokens": 4,
    }
    wire_calls = [
        CALL,
        {
            "id": "call_2",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz": "Asia/Shanghai"}'},
        },
    ]
    assert response.message.additional_kwargs == {"tool_calls": wire_calls}
    # served by streaming internally: no wire body, but usage and finish_reason are there
    assert response.raw is not None
    assert response.raw["finish_reason"] == "tool_calls"
    assert response.raw["usage"]["prompt_tokens"] == 5
    # agents feed our message back: it must become the wire message the model sent
    assert to_wire_message(response.message) == {
        "role": "assistant",
        "content": "",
        "tool_calls": wire_calls,
    }


def test_malformed_final_arguments_are_kept_as_the_string() -> None:
    result = _result(tool_calls=[ToolCall(id="c", name="f", arguments='{"a": ')])
    block = chat_response_from_result(result).message.blocks[-1]
    assert isinstance(block, ToolCallBlock)
    assert block.tool_kwargs == '{"a": '
    assert (
        to_wire_message(chat_response_from_result(result).message)["tool_calls"][0]["function"][
            "arguments"
        ]
        == '{"a": '
    )


def _chunk(**kw: Any) -> GenerationChunk:
    return GenerationChunk(request_id="req-2", **kw)


def test_stream_assembles_split_parallel_tool_calls() -> None:
    """Arguments split across chunks, two calls by index, ids/names only on the first fragment."""
    assembler = ChatStreamAssembler()
    chunks = [
        _chunk(reasoning="think", usage=Usage(3, 1, 4, reasoning_tokens=1)),
        _chunk(tool_calls=[ToolCallDelta(0, "call_a", "get_weather", '{"city": "')]),
        _chunk(
            tool_calls=[
                ToolCallDelta(0, None, None, '杭州"}'),
                ToolCallDelta(1, "call_b", "get_time", '{"tz":'),
            ]
        ),
        _chunk(
            tool_calls=[ToolCallDelta(1, None, None, ' "UTC"}')],
            finish_reason="tool_calls",
            usage=Usage(3, 20, 23, reasoning_tokens=1),
        ),
    ]
    items = [assembler.feed(c) for c in chunks]
    assert [i.delta for i in items] == ["", "", "", ""]
    assert items[0].additional_kwargs["thinking_delta"] == "think"
    assert "thinking_delta" not in items[1].additional_kwargs
    # mid-stream: partial argument strings, never an exception
    mid = items[2].message.blocks
    assert [b.tool_kwargs for b in mid if isinstance(b, ToolCallBlock)] == [
        '{"city": "杭州"}',
        '{"tz":',
    ]
    # final: complete dicts, both calls, the final usage
    final = items[-1]
    assert [b for b in final.message.blocks if isinstance(b, ToolCallBlock)] == [
        ToolCallBlock(tool_call_id="call_a", tool_name="get_weather", tool_kwargs={"city": "杭州"}),
        ToolCallBlock(tool_call_id="call_b", tool_name="get_time", tool_kwargs={"tz": "UTC"}),
    ]
    assert final.message.blocks[0] == ThinkingBlock(content="think", num_tokens=1)
    assert final.additional_kwargs == {
        "prompt_tokens": 3,
        "completion_tokens": 20,
        "total_tokens": 23,
        "reasoning_tokens": 1,
    }
    assert final.raw == {
        "request_id": "req-2",
        "finish_reason": "tool_calls",
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 20,
            "total_tokens": 23,
            "reasoning_tokens": 1,
        },
    }
    assert [s.tool_kwargs for s in tool_selections(items[2].message)] == [
        {"city": "杭州"},
        {},  # a key whose value has not started is left out (the core's lenient parse)
    ]
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in tool_selections(final.message)] == [
        ("call_a", "get_weather", {"city": "杭州"}),
        ("call_b", "get_time", {"tz": "UTC"}),
    ]


def test_stream_text_deltas() -> None:
    assembler = ChatStreamAssembler()
    items = [assembler.feed(_chunk(text=t)) for t in ["你", "好", ""]]
    assert [i.delta for i in items] == ["你", "好", ""]
    assert [i.message.content for i in items] == ["你", "你好", "你好"]
    completion = completion_from_chat(items[1])
    assert (completion.text, completion.delta) == ("你好", "好")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", {}),
        ("{", {}),
        ('{"a": 1}', {"a": 1}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a"', {}),
        ('{"a": "x', {"a": "x"}),
        ('{"a": ', {}),
        ("not json", {}),
        ("[1, 2]", {}),
        ({"a": 1}, {"a": 1}),
    ],
)
def test_lenient_arguments(arguments: Any, expected: dict[str, Any]) -> None:
    assert lenient_arguments(arguments) == expected


def test_tool_selections_from_additional_kwargs_only() -> None:
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [CALL]})
    [selection] = tool_selections(message)
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "call_1",
        "get_weather",
        {"city": "杭州"},
    )
    assert tool_selections(ChatMessage(role="assistant", content="plain")) == []


def test_keep_first_tool_call() -> None:
    response = chat_response_from_result(
        _result(tool_calls=[ToolCall("a", "f", "{}"), ToolCall("b", "g", "{}", index=1)])
    )
    keep_first_tool_call(response)
    assert [s.tool_id for s in tool_selections(response.message)] == ["a"]
    assert [c["id"] for c in response.message.additional_kwargs["tool_calls"]] == ["a"]


def test_usage_kwargs_none() -> None:
    assert usage_kwargs(None) == {}


# -- tools ------------------------------------------------------------------------------------


class Address(BaseModel):
    city: str
    street: str | None = None


class Person(BaseModel):
    """A person."""

    name: str = Field(description="Full name")
    home: Address


def _person(name: str, home: Address) -> str:
    """Record a person."""
    return name


def _tool(name: str) -> FunctionTool:
    def fn(x: int) -> int:
        return x

    return FunctionTool.from_defaults(fn=fn, name=name, description=f"tool {name}")


def test_tool_specs_keep_nested_defs_and_required() -> None:
    tool = FunctionTool.from_defaults(fn=_person, name="record_person", fn_schema=Person)
    [spec] = tool_specs([tool])
    assert spec["type"] == "function"
    function = spec["function"]
    assert function["name"] == "record_person"
    params = function["parameters"]
    assert params["required"] == ["name", "home"]
    assert params["properties"]["home"] == {"$ref": "#/$defs/Address"}
    assert params["$defs"]["Address"]["required"] == ["city"]
    assert params["properties"]["name"]["description"] == "Full name"


@pytest.mark.parametrize(
    ("names", "tool_required", "tool_choice", "expected"),
    [
        (["a"], False, None, None),
        (["a", "b"], False, None, None),
        (["a"], True, None, {"type": "function", "function": {"name": "a"}}),
        (["a", "b"], True, None, "required"),
        (["a", "b"], False, "required", "required"),
        (["a"], False, "required", {"type": "function", "function": {"name": "a"}}),
        (["a", "b"], False, "any", "required"),
        (["a", "b"], False, "auto", "auto"),
        (["a", "b"], True, "none", "none"),
        (["a", "b"], False, "b", {"type": "function", "function": {"name": "b"}}),
        (
            ["a"],
            False,
            {"type": "function", "function": {"name": "a"}},
            {"type": "function", "function": {"name": "a"}},
        ),
    ],
)
def test_resolve_tool_choice(
    names: list[str], tool_required: bool, tool_choice: Any, expected: Any
) -> None:
    tools = [_tool(n) for n in names]
    specs = tool_specs(tools)
    assert (
        resolve_tool_choice(specs, tools, tool_required=tool_required, tool_choice=tool_choice)
        == expected
    )


def test_tool_choice_unknown_name() -> None:
    tools = [_tool("a")]
    with pytest.raises(ValueError, match="not a bound tool"):
        resolve_tool_choice(tool_specs(tools), tools, tool_required=False, tool_choice="zzz")


def test_a_finished_call_with_broken_arguments_is_never_an_empty_call() -> None:
    result = _result(tool_calls=[ToolCall(id="c", name="f", arguments='{"a": ')])
    message = chat_response_from_result(result).message
    [selection] = tool_selections(message, final=True)
    assert selection.tool_name == "f"
    assert set(selection.tool_kwargs) == {INVALID_ARGUMENTS_KEY}
    assert '{"a": ' in selection.tool_kwargs[INVALID_ARGUMENTS_KEY]
    # mid-stream the same string is just incomplete: completed leniently
    assert tool_selections(message, final=False)[0].tool_kwargs == {}
