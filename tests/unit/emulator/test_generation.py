"""Native generation over loopback: every Reply kind, both stream modes, tools, thinking."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall, count_tokens

from ._helpers import MM_PATH, SSE, TEXT_PATH, chat, native_frames

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CALL_ID = re.compile(r"^call_[0-9a-f]{22}$")


def sse(client: httpx.Client, body: dict[str, Any], path: str = TEXT_PATH) -> list[dict[str, Any]]:
    response = client.post(path, json=body, headers=SSE)
    assert response.status_code == 200, response.text
    frames = native_frames(response.text)
    assert {f["event"] for f in frames} == {"result"}
    assert {f["status"] for f in frames} == {200}
    return [f["data"] for f in frames]


def choice(event: dict[str, Any]) -> dict[str, Any]:
    (only,) = event["output"]["choices"]
    assert only["index"] == 0
    return only


def message_stream(**parameters: Any) -> dict[str, Any]:
    return chat("What is the weather in 杭州?", result_format="message", **parameters)


# ---------------------------------------------------------------------------- text


def test_default_reply_echoes_user_text_truncated(client: httpx.Client) -> None:
    long_text = "界" * 150 + "x" * 150
    body = client.post(TEXT_PATH, json=chat(long_text, result_format="message")).json()
    message = choice(body)["message"]
    assert message == {"role": "assistant", "content": "[emulator] " + long_text[:200]}


def test_reply_text_non_stream_text_format(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("Hello!"))
    body = client.post(TEXT_PATH, json={"model": "qwen-max", "input": {"prompt": "hi"}}).json()
    assert set(body) == {"output", "usage", "request_id"}
    assert body["output"] == {"finish_reason": "stop", "text": "Hello!"}
    usage = body["usage"]
    assert usage["input_tokens"] == 1 and usage["output_tokens"] == count_tokens("Hello!") == 2
    assert usage["total_tokens"] == 3


@pytest.mark.parametrize("fmt", ["text", "message"])
def test_incremental_stream_splits_text(
    emulator: DashScopeEmulator, client: httpx.Client, fmt: str
) -> None:
    text = "杭州今天多云，气温 18 度。Have a nice day! 😊"
    emulator.enqueue(Reply.text(text, chunks=5))
    events = sse(client, chat(result_format=fmt, incremental_output=True))
    assert len(events) == 6  # five content events + pattern (a) final event
    if fmt == "text":
        pieces = [e["output"]["text"] for e in events]
        reasons = [e["output"]["finish_reason"] for e in events]
    else:
        pieces = [choice(e)["message"]["content"] for e in events]
        reasons = [choice(e)["finish_reason"] for e in events]
        assert {choice(e)["message"]["role"] for e in events} == {"assistant"}
    assert all(pieces[:-1]) and pieces[-1] == ""
    assert "".join(pieces) == text
    assert reasons == ["null"] * 5 + ["stop"]


def test_default_chunking_is_about_four_characters(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("abcdefghijklmnopq"))  # 17 characters -> 5 events
    events = sse(client, message_stream(incremental_output=True))
    assert [choice(e)["message"]["content"] for e in events] == [
        "abcd",
        "efgh",
        "ijkl",
        "mnop",
        "q",
        "",
    ]


@pytest.mark.parametrize("fmt", ["text", "message"])
def test_cumulative_stream_reconstructs_the_same_text(
    emulator: DashScopeEmulator, client: httpx.Client, fmt: str
) -> None:
    text = "我是通义千问，由阿里云开发。"
    emulator.enqueue(Reply.text(text, chunks=4), Reply.text(text, chunks=4))
    incremental = sse(client, chat(result_format=fmt, incremental_output=True))
    cumulative = sse(client, chat(result_format=fmt, incremental_output=False))

    def content(event: dict[str, Any]) -> str:
        return event["output"]["text"] if fmt == "text" else choice(event)["message"]["content"]

    texts = [content(e) for e in cumulative]
    assert [t for t in texts] == [text[:4], text[:8], text[:11], text, text]
    assert "".join(content(e) for e in incremental) == texts[-1] == text
    # usage evolves identically in both modes
    assert [e["usage"] for e in incremental] == [e["usage"] for e in cumulative]


def test_default_incremental_mode_follows_the_model(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("abcdefgh", chunks=2), Reply.text("abcdefgh", chunks=2))
    old = sse(client, chat(model="qwen-max", result_format="message"))  # default false
    new = sse(client, chat(model="qwen3-max"))  # default message + incremental
    assert [choice(e)["message"]["content"] for e in old] == ["abcd", "abcdefgh", "abcdefgh"]
    assert [choice(e)["message"]["content"] for e in new] == ["abcd", "efgh", ""]


def test_default_result_format_follows_the_model(client: httpx.Client) -> None:
    text_model = client.post(TEXT_PATH, json=chat(model="qwen-turbo")).json()
    message_model = client.post(TEXT_PATH, json=chat(model="qwen-long")).json()
    assert "text" in text_model["output"] and "choices" not in text_model["output"]
    assert "choices" in message_model["output"] and "text" not in message_model["output"]


def test_usage_is_cumulative_and_request_id_repeats(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("one two three four five six", chunks=6))
    response = client.post(TEXT_PATH, json=message_stream(incremental_output=True), headers=SSE)
    events = [f["data"] for f in native_frames(response.text)]
    outputs = [e["usage"]["output_tokens"] for e in events]
    assert outputs == sorted(outputs) and outputs[-1] == 6
    inputs = {e["usage"]["input_tokens"] for e in events}
    assert inputs == {count_tokens("What is the weather in 杭州?")}
    assert all(
        e["usage"]["total_tokens"] == e["usage"]["input_tokens"] + e["usage"]["output_tokens"]
        for e in events
    )
    assert all(e["usage"]["prompt_tokens_details"] == {"cached_tokens": 0} for e in events)
    assert {e["request_id"] for e in events} == {response.headers["x-request-id"]}
    assert all(set(e) == {"output", "usage", "request_id"} for e in events)


def test_max_tokens_truncates_with_length(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("one two three four five"))
    body = client.post(TEXT_PATH, json=chat(result_format="message", max_tokens=3)).json()
    assert choice(body)["message"]["content"] == "one two three "
    assert choice(body)["finish_reason"] == "length"
    assert body["usage"]["output_tokens"] == 3


def test_finish_reason_and_usage_overrides(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("cut", finish_reason="length", usage={"input_tokens": 100}))
    events = sse(client, message_stream(incremental_output=True))
    assert choice(events[-1])["finish_reason"] == "length"
    assert {e["usage"]["input_tokens"] for e in events} == {100}
    assert events[-1]["usage"]["total_tokens"] == 100 + events[-1]["usage"]["output_tokens"]


# ---------------------------------------------------------------------------- tool calls


def tool_request(**parameters: Any) -> dict[str, Any]:
    return message_stream(tools=[WEATHER_TOOL], **parameters)


def test_tool_call_fragments_incremental(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    calls = [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_weather", {"city": "上海市"})]
    emulator.enqueue(Reply.tool_calls(calls))
    events = sse(client, tool_request(incremental_output=True, parallel_tool_calls=True))
    fragments = []
    for event in events:
        message = choice(event)["message"]
        assert message["content"] == ""  # text endpoint: "" (not [])
        assert len(message["tool_calls"]) == 1
        fragments.append(message["tool_calls"][0])
    assert [choice(e)["finish_reason"] for e in events] == ["null"] * (len(events) - 1) + [
        "tool_calls"
    ]
    by_index: dict[int, list[dict[str, Any]]] = {}
    for fragment in fragments:
        assert fragment["type"] == "function"
        by_index.setdefault(fragment["index"], []).append(fragment)
    assert sorted(by_index) == [0, 1]
    ids = []
    for index, parts in by_index.items():
        first, rest = parts[0], parts[1:]
        assert CALL_ID.match(first["id"]) and first["function"]["name"] == "get_weather"
        assert rest, "arguments must be split over several fragments"
        assert all(p["id"] == "" and "name" not in p["function"] for p in rest)
        arguments = "".join(p["function"]["arguments"] for p in parts)
        assert json.loads(arguments) == json.loads(calls[index].arguments_json)
        ids.append(first["id"])
    assert len(set(ids)) == 2


def test_tool_call_ids_are_deterministic_per_request(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    reply = Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})])
    emulator.enqueue(
        reply, reply, Reply.tool_calls([ToolCall("get_weather", "{}", id="call_mine")])
    )
    first = client.post(TEXT_PATH, json=tool_request()).json()
    second = client.post(TEXT_PATH, json=tool_request()).json()
    explicit = client.post(TEXT_PATH, json=tool_request()).json()
    get_id = lambda body: choice(body)["message"]["tool_calls"][0]["id"]  # noqa: E731
    assert get_id(first) == get_id(second)
    assert CALL_ID.match(get_id(first))
    assert get_id(explicit) == "call_mine"


def test_tool_calls_non_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"}), ToolCall("b", "x")])
    )
    body = client.post(TEXT_PATH, json=tool_request()).json()
    assert choice(body)["finish_reason"] == "tool_calls"
    message = choice(body)["message"]
    assert message["content"] == "" and message["role"] == "assistant"
    assert [(c["index"], c["type"], c["function"]) for c in message["tool_calls"]] == [
        (0, "function", {"name": "get_weather", "arguments": '{"city": "杭州"}'}),
        (1, "function", {"name": "b", "arguments": "x"}),
    ]


def test_tool_calls_cumulative_repeat_every_call(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    calls = [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_weather", {"city": "北京"})]
    emulator.enqueue(Reply.tool_calls(calls))
    events = sse(client, tool_request(incremental_output=False))
    seen = 0
    for event in events:
        tool_calls = choice(event)["message"]["tool_calls"]
        assert len(tool_calls) >= seen
        seen = len(tool_calls)
        for call in tool_calls:
            assert CALL_ID.match(call["id"]) and call["function"]["name"] == "get_weather"
            expected = calls[call["index"]].arguments_json
            assert expected.startswith(call["function"]["arguments"])
    final = choice(events[-1])
    assert final["finish_reason"] == "tool_calls"
    assert [c["function"]["arguments"] for c in final["message"]["tool_calls"]] == [
        c.arguments_json for c in calls
    ]


def test_tool_calls_on_multimodal_have_list_content(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})]))
    body = {
        "model": "qwen-vl-max",
        "input": {"messages": [{"role": "user", "content": [{"text": "weather?"}]}]},
        "parameters": {"tools": [WEATHER_TOOL], "incremental_output": True},
    }
    events = sse(client, body, MM_PATH)
    assert {json.dumps(choice(e)["message"]["content"]) for e in events} == {"[]"}
    assert choice(events[-1])["finish_reason"] == "tool_calls"


def test_tool_call_reply_in_text_format_is_reported(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("f", {})]))
    response = client.post(TEXT_PATH, json=chat(model="qwen-max"))
    assert response.status_code == 500
    assert response.json()["code"] == "EmulatorError"


def test_default_reply_for_tool_requests_is_text(client: httpx.Client) -> None:
    body = client.post(TEXT_PATH, json=tool_request()).json()
    message = choice(body)["message"]
    assert "tool_calls" not in message
    assert choice(body)["finish_reason"] == "stop"


def test_default_reply_after_tool_results(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "content": "sunny, 20°C", "tool_call_id": "call_1"},
    ]
    body = {
        "model": "qwen-plus",
        "input": {"messages": messages},
        "parameters": {"result_format": "message", "tools": [WEATHER_TOOL]},
    }
    answer = choice(client.post(TEXT_PATH, json=body).json())["message"]["content"]
    assert answer == "[emulator] tool results: sunny, 20°C"


# ---------------------------------------------------------------------------- thinking


def think(**parameters: Any) -> dict[str, Any]:
    return message_stream(enable_thinking=True, incremental_output=True, **parameters)


def test_thinking_stream_reasoning_then_answer(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("Sunny.", reasoning="Let me check the weather first."))
    events = sse(client, think())
    messages = [choice(e)["message"] for e in events]
    assert all(set(m) == {"content", "reasoning_content", "role"} for m in messages)
    phases = ["r" if m["reasoning_content"] else ("c" if m["content"] else "-") for m in messages]
    joined = "".join(phases)
    assert re.fullmatch(r"r+c+-", joined), joined  # reasoning, then answer, then final
    assert all(not (m["reasoning_content"] and m["content"]) for m in messages)
    assert "".join(m["reasoning_content"] for m in messages) == "Let me check the weather first."
    assert "".join(m["content"] for m in messages) == "Sunny."
    assert choice(events[-1])["finish_reason"] == "stop"
    reasoning_tokens = [e["usage"]["output_tokens_details"]["reasoning_tokens"] for e in events]
    assert reasoning_tokens == sorted(reasoning_tokens)
    assert reasoning_tokens[-1] == count_tokens("Let me check the weather first.")
    last = events[-1]["usage"]
    assert last["output_tokens"] == reasoning_tokens[-1] + count_tokens("Sunny.")


def test_thinking_generates_default_reasoning(client: httpx.Client) -> None:
    events = sse(client, think())
    reasoning = "".join(choice(e)["message"]["reasoning_content"] for e in events)
    assert reasoning and "What is the weather" in reasoning


def test_reasoning_is_dropped_when_not_thinking(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("ok", reasoning="hidden"))
    events = sse(client, message_stream(incremental_output=True))  # qwen-plus: thinking off
    assert all("reasoning_content" not in choice(e)["message"] for e in events)
    assert all("output_tokens_details" not in e["usage"] for e in events)


def test_thinking_budget_caps_reasoning(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.text("ok", reasoning=" ".join(f"w{i}" for i in range(40))))
    events = sse(client, think(thinking_budget=10))
    assert events[-1]["usage"]["output_tokens_details"]["reasoning_tokens"] == 10
    reasoning = "".join(choice(e)["message"]["reasoning_content"] for e in events)
    assert reasoning.split() == [f"w{i}" for i in range(10)]


def test_thinking_non_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.text("2", reasoning="1+1 is 2"))
    body = client.post(TEXT_PATH, json=chat(result_format="message", enable_thinking=True)).json()
    assert choice(body)["message"] == {
        "role": "assistant",
        "content": "2",
        "reasoning_content": "1+1 is 2",
    }
    assert body["usage"]["output_tokens_details"] == {"reasoning_tokens": 5}  # 1 + 1 is 2


def test_always_thinking_model_thinks_without_the_flag(client: httpx.Client) -> None:
    events = sse(client, chat(model="qwq-plus"))
    assert any(choice(e)["message"]["reasoning_content"] for e in events)


def test_reasoning_then_tool_calls(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})], reasoning="Need a tool.")
    )
    events = sse(client, think(tools=[WEATHER_TOOL]))
    messages = [choice(e)["message"] for e in events]
    phases = "".join(
        "r" if m["reasoning_content"] else "t" if "tool_calls" in m else "?" for m in messages
    )
    assert re.fullmatch(r"r+t{2,}", phases), phases
    assert "".join(m["reasoning_content"] for m in messages) == "Need a tool."
    assert choice(events[-1])["finish_reason"] == "tool_calls"
    assert events[-1]["usage"]["output_tokens_details"]["reasoning_tokens"] == 4  # Need a tool .


def test_multimodal_thinking_stream(client: httpx.Client) -> None:
    body = {
        "model": "qwen3-vl-plus",
        "input": {"messages": [{"role": "user", "content": [{"image": "a.png"}, {"text": "?"}]}]},
        "parameters": {"enable_thinking": True},
    }
    events = sse(client, body, MM_PATH)
    messages = [choice(e)["message"] for e in events]
    assert messages[0]["content"] == [] and messages[0]["reasoning_content"]
    answer = "".join(m["content"][0]["text"] for m in messages if m["content"])
    assert answer == "[emulator] ?"
    assert events[-1]["usage"]["image_tokens"] == 256
    assert events[-1]["usage"]["input_tokens_details"] == {"text_tokens": 1, "image_tokens": 256}


# ---------------------------------------------------------------------------- failures


def test_error_reply_non_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."))
    response = client.post(TEXT_PATH, json=chat(), headers=SSE)  # SSE asked, not in_stream
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {
        "code": "Throttling.RateQuota",
        "message": "Requests rate limit exceeded.",
        "request_id": response.headers["x-request-id"],
    }


def test_error_reply_in_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(
        Reply.error(
            500, "InternalError", "boom", in_stream=True, after_chunks=2, text="abcdefghijkl"
        )
    )
    response = client.post(TEXT_PATH, json=message_stream(incremental_output=True), headers=SSE)
    assert response.status_code == 200
    frames = native_frames(response.text)
    assert [(f["id"], f["event"], f["status"]) for f in frames] == [
        (1, "result", 200),
        (2, "result", 200),
        (3, "error", 500),
    ]
    assert "".join(choice(f["data"])["message"]["content"] for f in frames[:2]) == "abcdefgh"
    assert frames[2]["data"] == {
        "code": "InternalError",
        "message": "boom",
        "request_id": frames[0]["data"]["request_id"],
    }


def test_in_stream_error_on_non_stream_request_is_plain(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(
        Reply.error(400, "DataInspectionFailed", "bad", in_stream=True, after_chunks=1)
    )
    response = client.post(TEXT_PATH, json=chat())
    assert response.status_code == 400 and response.json()["code"] == "DataInspectionFailed"


def test_drop_before_response(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.drop())
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(TEXT_PATH, json=chat())
    assert client.post(TEXT_PATH, json=chat()).status_code == 200  # next request is fine


def test_drop_mid_stream(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.drop(after_chunks=2, text="abcdefghijklmnop"))
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream(
            "POST", TEXT_PATH, json=message_stream(incremental_output=True), headers=SSE
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                lines.append(line)
    data = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert [choice(d)["message"]["content"] for d in data] == ["abcd", "efgh"]


def test_delay(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.delay(0.3), Reply.text("late", delay=0.2))
    start = time.monotonic()
    first = client.post(TEXT_PATH, json=chat("slow", result_format="message")).json()
    middle = time.monotonic()
    second = client.post(TEXT_PATH, json=chat(result_format="message")).json()
    end = time.monotonic()
    assert middle - start >= 0.3 and end - middle >= 0.2
    assert choice(first)["message"]["content"] == "[emulator] slow"
    assert choice(second)["message"]["content"] == "late"


def test_delay_exceeding_client_timeout(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.delay(1.0))
    with pytest.raises(httpx.ReadTimeout):
        client.post(TEXT_PATH, json=chat(), timeout=0.2)


def test_raw_reply(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.raw(502, b"<html>bad gateway</html>", {"content-type": "text/html"}))
    response = client.post(TEXT_PATH, json=chat())
    assert response.status_code == 502
    assert response.content == b"<html>bad gateway</html>"
    assert response.headers["content-type"] == "text/html"
    assert "x-request-id" not in response.headers


def test_chunk_delay(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.chunk_delay = 0.05
    emulator.enqueue(Reply.text("abc", chunks=3))  # 4 events -> 3 gaps
    start = time.monotonic()
    sse(client, message_stream(incremental_output=True))
    assert time.monotonic() - start >= 0.15


# ---------------------------------------------------------------------------- scripting


def answers(client: httpx.Client, *texts: str) -> list[str]:
    out = []
    for text in texts:
        body = client.post(TEXT_PATH, json=chat(text, result_format="message")).json()
        out.append(choice(body)["message"]["content"])
    return out


def test_queue_then_rules_then_default(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.enqueue(Reply.text("q1"), Reply.text("q2"))
    emulator.when(lambda r: "weather" in r.last_user_text, Reply.text("Sunny"), times=2)
    emulator.when(lambda r: True, Reply.text("catch-all"), times=1)
    assert answers(client, "weather", "weather", "weather", "weather", "x", "y") == [
        "q1",
        "q2",
        "Sunny",
        "Sunny",
        "catch-all",
        "[emulator] y",
    ]
    assert emulator.pending == 0


def test_unlimited_rule(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.when(lambda r: r.model == "qwen-plus", Reply.text("plus"))
    assert answers(client, "a", "b", "c") == ["plus", "plus", "plus"]


def test_failing_predicate_is_reported(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.when(lambda r: 1 / 0 > 0, Reply.text("never"))
    response = client.post(TEXT_PATH, json=chat())
    assert response.status_code == 500
    assert "ZeroDivisionError" in response.json()["message"]


def test_invalid_requests_do_not_consume_the_queue(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("kept"))
    assert client.post(TEXT_PATH, json=chat(model="nope")).status_code == 400
    assert emulator.pending == 1
    assert answers(client, "x") == ["kept"]


def test_request_log(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    multimodal = {
        "model": "qwen-vl-plus",
        "input": {
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": [{"text": "ok"}]},
                {
                    "role": "user",
                    "content": [{"image": "x.png"}, {"text": "what is"}, {"text": "this"}],
                },
            ]
        },
        "parameters": {"seed": 7},
    }
    client.post(TEXT_PATH, json=chat("hi", temperature=0.5), headers=SSE)
    client.post(MM_PATH, json=multimodal, headers={"X-Custom": "Yes"})
    first, second = emulator.requests
    assert (first.method, first.path, first.endpoint, first.stream) == (
        "POST",
        TEXT_PATH,
        "text-generation",
        True,
    )
    assert first.model == "qwen-plus" and first.parameters == {"temperature": 0.5}
    assert first.messages == [{"role": "user", "content": "hi"}]
    assert first.headers["X-DashScope-SSE"] == first.headers["x-dashscope-sse"] == "enable"
    assert json.loads(first.raw_body) == first.body
    assert (second.endpoint, second.stream) == ("multimodal-generation", False)
    assert second.last_user_text == "what is\nthis"
    assert second.headers["x-custom"] == "Yes"
    assert second.parameters == {"seed": 7}
    emulator.reset()
    assert emulator.requests == [] and emulator.pending == 0


def test_recorded_request_is_frozen(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    client.post(TEXT_PATH, json=chat())
    (request,) = emulator.requests
    with pytest.raises(AttributeError):
        request.path = "/elsewhere"  # type: ignore[misc]
