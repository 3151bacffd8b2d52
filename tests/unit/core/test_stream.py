"""Stream accumulation: deltas in both incremental modes, tool-call fragments, finish."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qwen_dashscope import ProtocolError, StreamAccumulator, ToolCallDelta, parse_arguments


def event(
    message: dict[str, Any] | None = None, finish: str = "null", **usage: int
) -> dict[str, Any]:
    choice: dict[str, Any] = {"finish_reason": finish, "index": 0}
    if message is not None:
        choice["message"] = {"role": "assistant", **message}
    body = {
        "output": {"choices": [choice]},
        "usage": {"input_tokens": 5, "output_tokens": usage.get("out", 1), **usage},
        "request_id": "rid",
    }
    body["usage"].pop("out", None)
    return body


def text_event(text: str, finish: str = "null") -> dict[str, Any]:
    return {"output": {"text": text, "finish_reason": finish}, "request_id": "rid"}


def test_incremental_text_passes_through() -> None:
    acc = StreamAccumulator(incremental=True)
    deltas = [c.text for e in ("我", "是", "通义") for c in acc.feed(text_event(e))]
    deltas += [c.text for c in acc.feed(text_event("", "stop"))]
    assert deltas == ["我", "是", "通义", ""]
    result = acc.result()
    assert (result.text, result.finish_reason, result.request_id) == ("我是通义", "stop", "rid")


def test_cumulative_text_becomes_exact_deltas() -> None:
    acc = StreamAccumulator(incremental=False)
    events = ["I", "I like", "I like apple", "I like apple.", "I like apple."]
    finishes = ["null"] * 4 + ["stop"]
    deltas = [
        c.text for e, f in zip(events, finishes, strict=True) for c in acc.feed(text_event(e, f))
    ]
    assert deltas == ["I", " like", " apple", ".", ""]
    assert acc.result().text == "I like apple."


def test_cumulative_final_event_with_empty_text_is_not_a_reset() -> None:
    acc = StreamAccumulator(incremental=False)
    acc.feed(text_event("abc"))
    (last,) = acc.feed(text_event("", "stop"))
    assert last.text == "" and acc.result().text == "abc"


def test_cumulative_text_that_does_not_extend_is_a_protocol_error() -> None:
    acc = StreamAccumulator(incremental=False)
    acc.feed(text_event("hello"))
    with pytest.raises(ProtocolError, match="does not extend"):
        acc.feed(text_event("help"))


def test_reasoning_then_content() -> None:
    acc = StreamAccumulator()
    chunks = [
        *acc.feed(event({"content": "", "reasoning_content": "嗯，"})),
        *acc.feed(event({"content": "", "reasoning_content": "想想"})),
        *acc.feed(event({"content": "答案", "reasoning_content": ""})),
        *acc.feed(event({"content": "", "reasoning_content": ""}, "stop")),
    ]
    assert [(c.reasoning, c.text) for c in chunks] == [
        ("嗯，", ""),
        ("想想", ""),
        ("", "答案"),
        ("", ""),
    ]
    result = acc.result()
    assert (result.reasoning, result.text) == ("嗯，想想", "答案")


def tool(index: int, id: str = "", name: str | None = None, args: str = "") -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": args}
    if name is not None:
        function["name"] = name
    return {"index": index, "id": id, "type": "function", "function": function}


# The parallel tool-call stream quoted in protocol notes §5.4 (capture toolcall-stream-parallel).
PARALLEL = [
    ([tool(0, "call_29a870e7106f45deb8add3", "get_current_weather", '{"location": "')], "null"),
    ([tool(0, args='浙江省杭州市"}')], "null"),
    ([tool(1, "call_026e44bb31a74266949a20", "get_current_weather", '{"location":')], "null"),
    ([tool(1, args=' "上海市"}')], "tool_calls"),
]


def test_parallel_tool_calls_incremental() -> None:
    acc = StreamAccumulator()
    chunks = [
        c for calls, f in PARALLEL for c in acc.feed(event({"content": "", "tool_calls": calls}, f))
    ]
    assert [c.tool_calls for c in chunks] == [
        [ToolCallDelta(0, "call_29a870e7106f45deb8add3", "get_current_weather", '{"location": "')],
        [ToolCallDelta(0, None, None, '浙江省杭州市"}')],
        [ToolCallDelta(1, "call_026e44bb31a74266949a20", "get_current_weather", '{"location":')],
        [ToolCallDelta(1, None, None, ' "上海市"}')],
    ]
    assert chunks[-1].finish_reason == "tool_calls"
    calls = acc.result().tool_calls
    assert [(c.id, c.name, parse_arguments(c.arguments)) for c in calls] == [
        ("call_29a870e7106f45deb8add3", "get_current_weather", {"location": "浙江省杭州市"}),
        ("call_026e44bb31a74266949a20", "get_current_weather", {"location": "上海市"}),
    ]


def test_parallel_tool_calls_cumulative_give_the_same_deltas() -> None:
    # Cumulative mode repeats every call so far with its arguments so far.
    so_far: dict[int, dict[str, Any]] = {}
    cumulative_events = []
    for calls, finish in PARALLEL:
        for call in calls:
            prev = so_far.get(call["index"])
            if prev is None:
                so_far[call["index"]] = json.loads(json.dumps(call))
            else:
                prev["function"]["arguments"] += call["function"]["arguments"]
        cumulative_events.append((json.loads(json.dumps(list(so_far.values()))), finish))
    inc, cum = StreamAccumulator(), StreamAccumulator(incremental=False)
    inc_chunks = [
        c.tool_calls
        for calls, f in PARALLEL
        for c in inc.feed(event({"content": "", "tool_calls": calls}, f))
    ]
    cum_chunks = [
        c.tool_calls
        for calls, f in cumulative_events
        for c in cum.feed(event({"content": "", "tool_calls": calls}, f))
    ]
    assert cum_chunks == inc_chunks
    assert cum.result().tool_calls == inc.result().tool_calls


def test_one_event_with_two_tool_call_entries() -> None:
    # 2026-04 multimodal capture: index 0 with empty arguments plus index 1 with id+name.
    acc = StreamAccumulator()
    acc.feed(event({"content": [], "tool_calls": [tool(0, "call_a", "f", "{}")]}))
    (chunk,) = acc.feed(
        event({"content": [], "tool_calls": [tool(0, args=""), tool(1, "call_b", "g", "{")]})
    )
    assert chunk.tool_calls == [ToolCallDelta(1, "call_b", "g", "{")]
    acc.feed(event({"content": [], "tool_calls": [tool(1, args="}")]}, "tool_calls"))
    assert [(c.name, c.arguments) for c in acc.result().tool_calls] == [("f", "{}"), ("g", "{}")]


def test_usage_is_cumulative_and_kept_through_empty_usage_events() -> None:
    acc = StreamAccumulator()
    (first,) = acc.feed(event({"content": "a"}, out=1))
    search_preamble = {
        "output": {"choices": [{"message": {"content": ""}, "finish_reason": "null"}]},
        "usage": {},
    }
    (second,) = acc.feed(search_preamble)
    (last,) = acc.feed(
        event({"content": "b"}, "stop", out=2, output_tokens_details={"reasoning_tokens": 0})
    )
    assert first.usage is not None and first.usage.output_tokens == 1
    assert second.usage is not None and second.usage.output_tokens == 1
    assert last.usage is not None and (last.usage.output_tokens, last.usage.total_tokens) == (2, 7)
    assert acc.result().usage.reasoning_tokens == 0


def test_finish_reason_null_string_means_not_finished() -> None:
    acc = StreamAccumulator()
    (chunk,) = acc.feed(event({"content": "x"}, "null"))
    assert chunk.finish_reason is None
    assert acc.result().finish_reason is None


def test_search_info_and_tool_info_are_kept() -> None:
    acc = StreamAccumulator()
    body = {
        "output": {
            "choices": [{"message": {"content": "x"}, "finish_reason": "stop"}],
            "search_info": {"search_results": [{"title": "t"}]},
            "tool_info": [{"type": "code_interpreter"}],
        },
        "request_id": "r",
    }
    (chunk,) = acc.feed(body)
    assert chunk.extras == {
        "search_info": {"search_results": [{"title": "t"}]},
        "tool_info": [{"type": "code_interpreter"}],
    }
    assert acc.result().extras["tool_info"] == [{"type": "code_interpreter"}]


def test_event_without_output_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="output"):
        StreamAccumulator().feed({"request_id": "r"})


def test_empty_stream_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="without any event"):
        StreamAccumulator().result()


def test_later_empty_search_results_do_not_erase_earlier_ones() -> None:
    # protocol notes §5.6: the first event carries search_results, later ones "[]".
    acc = StreamAccumulator()
    found = {"search_results": [{"title": "西湖", "url": "https://x"}]}
    acc.feed({"output": {"choices": [{"message": {"content": ""}}], "search_info": found}})
    acc.feed(
        {
            "output": {
                "choices": [{"message": {"content": "答"}, "finish_reason": "stop"}],
                "search_info": {},
            }
        }
    )
    assert acc.result().extras["search_info"] == found


@pytest.mark.parametrize(
    ("event", "what"),
    [
        ({"output": {"choices": "nope"}}, "output.choices"),
        ({"output": {"choices": [{"message": {"content": 5}}]}}, "choices[].message"),
        (
            {
                "output": {
                    "choices": [{"message": {"tool_calls": [{"function": {"arguments": {}}}]}}]
                }
            },
            "arguments",
        ),
        ({"output": {"text": 3}}, "output.text"),
        ({"output": {}, "usage": [1]}, "usage"),
    ],
)
def test_malformed_events_are_precise_protocol_errors(event: dict[str, Any], what: str) -> None:
    with pytest.raises(ProtocolError, match="malformed generation event") as info:
        StreamAccumulator().feed(event)
    assert what in str(info.value)


def test_a_long_stream_is_accumulated_in_linear_time() -> None:
    # 100,000 events: appending each piece to one string would copy ~20 GB (seconds).
    import time

    event = {"output": {"choices": [{"message": {"content": "西湖ab"}, "finish_reason": "null"}]}}
    accumulator = StreamAccumulator()
    started = time.process_time()
    for _ in range(100_000):
        accumulator.feed(event)
    text = accumulator.result().text
    assert len(text) == 400_000
    assert time.process_time() - started < 2.0  # linear: ~0.3 s here
