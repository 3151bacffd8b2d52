"""The OpenAI chat-completions response side: chunks and bodies of every backend -> the same
GenerationChunk / GenerationResult as the native protocol; recovery of failed tool parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qwen_dashscope import ProtocolError
from qwen_dashscope._openai import embedding_result, generation_result
from qwen_dashscope._openai_stream import DONE, OpenAIAccumulator, openai_usage
from qwen_dashscope._recovery import held_suffix, recover_tool_calls, tool_schemas
from qwen_dashscope._sse import iter_sse
from qwen_dashscope._types import GenerationChunk, GenerationResult
from tests._wire import Captures

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "hours": {"type": "array"},
                "note": {"type": ["string", "null"]},
            },
        },
    },
}
TOOLS = tool_schemas([WEATHER])


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(**usage: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}


def run(
    events: list[dict[str, Any]], **options: Any
) -> tuple[list[GenerationChunk], GenerationResult]:
    acc = OpenAIAccumulator(**options)
    deltas: list[GenerationChunk] = []
    for event in [*events, DONE]:
        deltas.extend(acc.feed(event))
    return deltas, acc.result()


def joined(deltas: list[GenerationChunk], what: str) -> str:
    return "".join(getattr(d, what) for d in deltas)


def body(message: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        **extra,
    }


# ------------------------------------------------------------------ captures (DashScope)


def test_compat_captures(wire: Captures) -> None:
    whole = wire.json("compat-chat-completion.json")
    result = generation_result(whole)
    assert result.text and result.finish_reason == "stop"
    assert result.usage.input_tokens == 11 and result.usage.cached_tokens == 0

    for name in ("compat-stream-include-usage.sse", "compat-thinking-stream-doc.sse"):
        raw = wire.bytes(name)
        events = [
            DONE if e.data == "[DONE]" else json.loads(e.data)
            for e in iter_sse([raw])
            if e.data.strip()
        ]
        acc = OpenAIAccumulator()
        deltas = [d for e in events for d in acc.feed(e)]
        assert acc.finished
        last = deltas[-1]
        assert last.finish_reason == "stop" and last.usage is not None  # held for the usage
        assert all(d.finish_reason is None for d in deltas[:-1])
        result = acc.result()
        assert result.text == joined(deltas, "text")
        assert result.reasoning == joined(deltas, "reasoning")  # (the doc elides the middle)


# ------------------------------------------------------------------ reasoning


def test_vllm_015_sends_both_reasoning_keys_and_they_are_not_concatenated() -> None:
    events = [
        chunk({"role": "assistant", "content": "", "reasoning_content": None}),
        chunk({"reasoning": "好的", "reasoning_content": "好的"}),
        chunk({"reasoning": "，想想", "reasoning_content": "，想想"}),
        chunk({"content": "答案"}, "stop"),
    ]
    _, result = run(events)
    assert result.reasoning == "好的，想想" and result.text == "答案"


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
def test_either_reasoning_key(key: str) -> None:
    _, result = run([chunk({key: "think"}), chunk({"content": "a"}, "stop")])
    assert result.reasoning == "think"
    whole = generation_result(body({"role": "assistant", "content": "a", key: "think"}))
    assert whole.reasoning == "think"


def test_sglang_null_filled_deltas() -> None:
    nulls = {"role": None, "content": None, "reasoning_content": None, "tool_calls": None}
    events = [
        chunk({**nulls, "role": "assistant", "content": ""}),
        chunk({**nulls, "reasoning_content": "r"}),
        chunk({**nulls, "content": "t"}),
        chunk(nulls, "stop"),
        usage_chunk(prompt_tokens=3, completion_tokens=2, total_tokens=5, reasoning_tokens=1),
    ]
    deltas, result = run(events)
    assert (result.reasoning, result.text) == ("r", "t")
    assert result.usage.reasoning_tokens == 1 and result.usage.cached_tokens is None
    assert deltas[-1].usage is result.usage or deltas[-1].usage == result.usage


@pytest.mark.parametrize(
    ("pieces", "thinks", "reasoning", "text"),
    [
        (["<think>\nhmm\n</think>\n\nAnswer"], False, "\nhmm\n", "Answer"),
        (["<thi", "nk>a", "b</th", "ink>", "\n\n", "C"], False, "ab", "C"),
        (["plain answer"], False, "", "plain answer"),
        # Qwen3.5 without a reasoning parser: the template opened <think>, only the end shows.
        (["so the user", " wants X</think>\n\nX"], True, "so the user wants X", "X"),
        (["no think tag at all"], True, "", "no think tag at all"),
    ],
)
def test_think_tags_in_the_content_are_split_for_self_hosted_servers(
    pieces: list[str], thinks: bool, reasoning: str, text: str
) -> None:
    events = [chunk({"content": p}) for p in pieces] + [chunk({}, "stop")]
    deltas, result = run(events, split_think=True, thinks=thinks)
    assert (result.reasoning, result.text) == (reasoning, text)
    assert (joined(deltas, "reasoning"), joined(deltas, "text")) == (reasoning, text)
    assert "answer_from_reasoning" not in result.extras


def test_think_tags_are_left_alone_without_the_flag() -> None:
    _, result = run([chunk({"content": "<think>x</think>y"}, "stop")])
    assert result.text == "<think>x</think>y"


def test_an_answer_only_in_the_reasoning_is_also_the_text() -> None:
    events = [chunk({"reasoning": "The answer is 4."}), chunk({}, "stop")]
    deltas, result = run(events)
    assert result.text == "The answer is 4." and result.reasoning == "The answer is 4."
    assert result.extras["answer_from_reasoning"] is True
    assert deltas[-1].text == "The answer is 4." and deltas[-1].extras
    # Truncated thinking (finish "length") is not an answer: it stays reasoning only.
    _, cut = run([chunk({"reasoning": "Let me"}), chunk({}, "length")])
    assert cut.text == "" and "answer_from_reasoning" not in cut.extras


# ------------------------------------------------------------------ tool-call fragments


def test_vllm_hermes_fragments_two_entries_for_one_index_in_a_chunk() -> None:
    first = {"index": 0, "type": "function", "id": "chatcmpl-tool-a", "function": {"name": "f"}}
    events = [
        chunk({"content": "Let me check. "}),
        chunk({"tool_calls": [first, {"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "P"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "chatcmpl-tool-b", "function": {"name": "g"}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, "tool_calls"),
    ]
    deltas, result = run(events)
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("chatcmpl-tool-a", "f", '{"city": "P"}'),
        ("chatcmpl-tool-b", "g", "{}"),
    ]
    assert result.text == "Let me check. " and result.finish_reason == "tool_calls"
    # One delta per call and chunk: the name entry and the first arguments are merged.
    assert [t.index for d in deltas for t in d.tool_calls] == [0, 0, 1, 1]
    assert deltas[1].tool_calls[0].name == "f" and deltas[1].tool_calls[0].arguments == '{"ci'
    firsts = [t for d in deltas for t in d.tool_calls if t.id]
    assert [t.id for t in firsts] == ["chatcmpl-tool-a", "chatcmpl-tool-b"]


@pytest.mark.parametrize("later_id", [None, "", "call_1", "call_other"])
def test_ids_missing_null_empty_or_repeated_on_later_fragments(later_id: Any) -> None:
    later: dict[str, Any] = {"index": 0, "function": {"name": None, "arguments": "1}"}}
    if later_id is not None or later_id == "":
        later["id"] = later_id
    events = [
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": None, "function": {"arguments": '{"a": '}}]}),
        chunk({"tool_calls": [later]}, "tool_calls"),
    ]
    _, result = run(events)
    [call] = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "f", '{"a": 1}')


def test_ollama_whole_calls_one_per_chunk() -> None:
    calls = [
        {
            "id": "call_k3j9x0ab",
            "index": i,
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": c})},
        }
        for i, c in enumerate(["Paris", "Rome"])
    ]
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"tool_calls": [c]}) for c in calls]
    events += [chunk({}, "tool_calls"), usage_chunk(prompt_tokens=9, completion_tokens=4)]
    _, result = run(events)
    assert [json.loads(c.arguments)["city"] for c in result.tool_calls] == ["Paris", "Rome"]
    assert result.usage.total_tokens == 13 and result.usage.cached_tokens is None


def test_non_streamed_calls_without_index_and_object_arguments() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "function": {"name": "g", "arguments": {"y": 2}}},  # Ollama native
        ],
    }
    result = generation_result(body(message, "tool_calls"))
    assert [(c.index, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        (0, "f", {"x": 1}),
        (1, "g", {"y": 2}),
    ]


# ------------------------------------------------------------------ usage, finish, errors


def test_usage_with_cached_and_reasoning_tokens() -> None:
    usage = openai_usage(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 8},
            "completion_tokens_details": {"reasoning_tokens": 3},
        }
    )
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.total_tokens) == (8, 3, 15)
    assert openai_usage({"prompt_tokens": 1, "completion_tokens": 1}).cached_tokens is None


def test_a_stream_without_usage_still_ends_and_the_finish_is_held_until_done() -> None:
    acc = OpenAIAccumulator()
    assert acc.feed(chunk({"content": "a"})) != []
    assert acc.feed(chunk({}, "length")) == []  # held: the usage chunk may follow
    assert acc.finished
    [last] = acc.feed(DONE)
    assert last.finish_reason == "length" and last.usage is None
    assert acc.end() == []  # once


def test_a_body_without_finish_reason_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        generation_result(body({"role": "assistant", "content": "cut"}, finish=None))  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        OpenAIAccumulator().feed({"id": "x", "object": "chat.completion.chunk"})


def test_several_choices() -> None:
    whole = {
        "id": "c",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "A"}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": "B"}, "finish_reason": "stop"},
        ],
    }
    result = generation_result(whole)
    assert [c.text for c in result.choices] == ["A", "B"]


# ------------------------------------------------------------------ recovery of failed parsing

HERMES = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
XML = (
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nBoston, MA\n</parameter>\n"
    "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n"
    "<parameter=hours>\n[1, 2]\n</parameter>\n<parameter=note>\nnull\n</parameter>\n"
    "</function>\n</tool_call>"
)
RECOVER = {"tools": TOOLS, "recover": True, "split_think": True}


def _one_call(result: GenerationResult) -> dict[str, Any]:
    assert result.finish_reason == "tool_calls"
    assert result.extras["tool_calls_recovered"] is True
    [call] = result.tool_calls
    assert call.name == "get_weather" and call.id.startswith("call_") and len(call.id) == 29
    return dict(json.loads(call.arguments))


def test_hermes_json_left_in_streamed_content_vllm_20611() -> None:
    pieces = [
        "<tool",
        '_call>\n{"name": "get_',
        'weather", "arguments": {"city": "Paris"}}\n',
        "</tool_call>",
    ]
    events = [chunk({"content": p}) for p in pieces] + [chunk({}, "stop")]
    deltas, result = run(events, **RECOVER)
    assert _one_call(result) == {"city": "Paris"}
    assert result.text == "" and joined(deltas, "text") == ""  # the tag text never leaked
    assert deltas[-1].tool_calls[0].name == "get_weather"


def test_xml_after_prose_in_content_vllm_22975() -> None:
    whole = body({"role": "assistant", "content": "Let me check the weather.\n\n" + XML}, "stop")
    acc = OpenAIAccumulator(**RECOVER)
    result = acc.complete(whole)
    args = _one_call(result)
    assert args == {"city": "Boston, MA", "days": 3, "metric": True, "hours": [1, 2], "note": None}
    assert result.text == "Let me check the weather.\n\n"


def test_xml_inside_the_reasoning_with_empty_content_sglang_26172() -> None:
    message = {"role": "assistant", "content": None, "reasoning_content": "I should look.\n" + XML}
    result = OpenAIAccumulator(**RECOVER).complete(body(message, "stop"))
    assert _one_call(result)["city"] == "Boston, MA"
    assert result.reasoning == "I should look.\n"


def test_a_call_drafted_in_the_reasoning_is_reasoning_when_the_content_answers() -> None:
    events = [chunk({"reasoning": "maybe " + HERMES}), chunk({"content": "It is sunny."}, "stop")]
    deltas, result = run(events, **RECOVER)
    assert result.tool_calls == [] and result.finish_reason == "stop"
    assert result.reasoning == "maybe " + HERMES and result.text == "It is sunny."
    assert joined(deltas, "reasoning") == result.reasoning


def test_bare_json_call_ollama_11662() -> None:
    content = '{"name": "get_weather", "arguments": {"city": "Rome"}}'
    events = [chunk({"content": content[:10]}), chunk({"content": content[10:]}, "stop")]
    _, result = run(events, **RECOVER, bare_json=True)
    assert _one_call(result) == {"city": "Rome"}
    # Without bare_json (other backends) the JSON answer is text.
    _, plain = run(events, **RECOVER)
    assert plain.text == content and plain.tool_calls == []


@pytest.mark.parametrize(
    "content",
    [
        '<tool_call>\n{"name": "unknown_tool", "arguments": {}}\n</tool_call>',  # not bound
        "<tool_call>\n{broken json\n</tool_call>",
        "To call a tool, the model writes <tool_call> followed by JSON.",  # talks about it
    ],
)
def test_what_does_not_parse_or_names_no_bound_tool_stays_text(content: str) -> None:
    events = [chunk({"content": content[:7]}), chunk({"content": content[7:]}, "stop")]
    deltas, result = run(events, **RECOVER)
    assert result.text == content and joined(deltas, "text") == content
    assert result.tool_calls == [] and result.finish_reason == "stop"
    assert "tool_calls_recovered" not in result.extras


def test_real_tool_calls_win_over_text() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": "{}"}}
    events = [chunk({"content": HERMES}), chunk({"tool_calls": [call]}, "tool_calls")]
    _, result = run(events, **RECOVER)
    assert [c.id for c in result.tool_calls] == ["c1"] and result.text == HERMES


def test_no_recovery_without_bound_tools_or_on_dashscope() -> None:
    _, result = run([chunk({"content": HERMES}, "stop")], recover=True)
    assert result.text == HERMES
    _, result = run([chunk({"content": HERMES}, "stop")], tools=TOOLS)  # recover off
    assert result.text == HERMES


def test_recover_tool_calls_shapes() -> None:
    two = HERMES + "\n" + HERMES.replace("Paris", "Rome")
    found = recover_tool_calls(two, TOOLS)
    assert found is not None and [json.loads(a)["city"] for _, a in found.calls] == [
        "Paris",
        "Rome",
    ]
    bare_xml = "<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>"
    found = recover_tool_calls(bare_xml, TOOLS)
    assert found is not None and json.loads(found.calls[0][1]) == {"city": "Oslo"}
    truncated = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "P"}}'
    found = recover_tool_calls(truncated, TOOLS)  # no closing tag: the text ends the block
    assert found is not None
    assert recover_tool_calls("no call here", TOOLS) is None
    assert held_suffix("abc<tool_") == len("<tool_") and held_suffix("abc") == 0


# ------------------------------------------------------------------ embeddings


def test_embedding_result_orders_and_cuts_to_the_dimensions_asked() -> None:
    answer = {
        "data": [
            {"index": 1, "embedding": [0.0, 3.0, 4.0], "object": "embedding"},
            {"index": 0, "embedding": [3.0, 4.0, 12.0], "object": "embedding"},
        ],
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    result = embedding_result([(0, answer, "r")], 2, dimensions=2)
    assert result.vectors == [[0.6, 0.8], [0.0, 1.0]]
    assert result.usage.total_tokens == 4 and result.request_id == "r"
    with pytest.raises(ProtocolError):
        embedding_result([(0, answer, "r")], 3)
