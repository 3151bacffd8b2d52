"""The emulator's self-hosted flavours, over raw HTTP (no client rules involved): each server's
fields, thinking switch, tool-call fragments, usage, errors, paths and probes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import FLAVOURS, DashScopeEmulator, Reply, ToolCall

QWEN3 = {
    "vllm": "Qwen/Qwen3-8B",
    "sglang": "Qwen/Qwen3-8B",
    "ollama": "qwen3:8b",
    "llamacpp": "Qwen3-8B",
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


HTTP = httpx.Client(timeout=10)  # one pool: a client per request costs a TLS context each


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def emus(flavoured: Callable[[str], DashScopeEmulator]) -> dict[str, DashScopeEmulator]:
    """Every self-hosted flavour (the session's, reset for this test), by name."""
    return {name: flavoured(name) for name in FLAVOURS}


def post(emu: DashScopeEmulator, body: dict[str, Any], path: str = "/chat/completions") -> Any:
    return HTTP.post(emu.base_url + path, json=body)


def chat(emu: DashScopeEmulator, **body: Any) -> dict[str, Any]:
    body.setdefault("model", QWEN3[emu.backend])
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    response = post(emu, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def chunks(emu: DashScopeEmulator, **body: Any) -> list[Any]:
    body.setdefault("model", QWEN3[emu.backend])
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    body["stream"] = True
    response = post(emu, body)
    assert response.status_code == 200, response.text
    lines = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def deltas(events: list[Any]) -> list[dict[str, Any]]:
    return [e["choices"][0]["delta"] for e in events if e["choices"]]


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("vllm", {"reasoning"}),
        ("sglang", {"reasoning_content"}),
        ("ollama", {"reasoning"}),
        ("llamacpp", {"reasoning_content"}),
    ],
)
def test_each_server_names_the_reasoning_its_way(
    emus: dict[str, DashScopeEmulator], name: str, keys: set[str]
) -> None:
    emu = emus[name]
    message = chat(emu)["choices"][0]["message"]
    assert keys <= set(message) and message[next(iter(keys))]
    other = {"reasoning", "reasoning_content"} - keys
    assert not (other & {k for k, v in message.items() if v})
    streamed = deltas(chunks(emu))
    assert any(d.get(next(iter(keys))) for d in streamed)
    if name == "sglang":  # nulls serialised on every delta
        assert all(
            set(d) >= {"role", "content", "reasoning_content", "tool_calls"} for d in streamed
        )


def test_vllm_015_sends_both_keys(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    legacy = dataclasses.replace(
        FLAVOURS["vllm"], reasoning_keys=("reasoning", "reasoning_content")
    )
    emu = make_emulator(flavour=legacy)
    message = chat(emu)["choices"][0]["message"]
    assert message["reasoning"] == message["reasoning_content"]


@pytest.mark.parametrize(
    ("name", "switch", "thinks"),
    [
        ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}, False),
        ("vllm", {"reasoning_effort": "none"}, False),
        ("vllm", {"enable_thinking": False}, True),  # top level: not a vLLM field, ignored
        ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}, False),
        ("sglang", {"reasoning": {"enabled": False}}, False),
        ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}}, False),
        ("ollama", {"reasoning_effort": "none"}, False),
        ("ollama", {"think": False}, True),  # native /api/chat's switch, ignored on /v1
        ("ollama", {"chat_template_kwargs": {"enable_thinking": False}}, True),
    ],
)
def test_the_thinking_switch_is_read_where_each_server_reads_it(
    emus: dict[str, DashScopeEmulator], name: str, switch: dict[str, Any], thinks: bool
) -> None:
    message = chat(emus[name], **switch)["choices"][0]["message"]
    assert bool(message.get("reasoning") or message.get("reasoning_content")) is thinks


def test_ollama_refuses_an_effort_outside_its_list(emus: dict[str, DashScopeEmulator]) -> None:
    body = {"model": "qwen3:8b", "messages": [{"role": "user", "content": "hi"}]}
    response = post(emus["ollama"], {**body, "reasoning_effort": "extreme"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith('invalid reasoning value: "extreme"')


@pytest.mark.parametrize("name", sorted(FLAVOURS))
def test_usage_only_with_include_usage(emus: dict[str, DashScopeEmulator], name: str) -> None:
    emu = emus[name]
    plain = chunks(emu)
    assert not any(e.get("usage") for e in plain)
    counted = chunks(emu, stream_options={"include_usage": True})
    last = counted[-1]
    assert last["choices"] == [] and last["usage"]["total_tokens"] > 0
    cached = (last["usage"].get("prompt_tokens_details") or {}).get("cached_tokens")
    assert (cached is not None) is (name == "llamacpp")  # vLLM/SGLang only with their flags


def _calls(emu: DashScopeEmulator) -> list[list[dict[str, Any]]]:
    emu.enqueue(
        Reply.tool_calls(
            [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})]
        )
    )
    return [d["tool_calls"] for d in deltas(chunks(emu, tools=[WEATHER])) if d.get("tool_calls")]


def test_vllm_hermes_fragments(emus: dict[str, DashScopeEmulator]) -> None:
    entries = _calls(emus["vllm"])
    first = entries[0]
    assert len(first) == 2 and first[0]["index"] == first[1]["index"] == 0
    assert first[0]["function"] == {"name": "get_weather"} and first[0]["id"]
    later = [e for chunk in entries[1:] for e in chunk if e["index"] == 0]
    assert later and all(set(e) == {"index", "function"} for e in later)


def test_sglang_null_ids_on_later_fragments(emus: dict[str, DashScopeEmulator]) -> None:
    entries = [e for chunk in _calls(emus["sglang"]) for e in chunk]
    assert entries[0]["id"] and entries[0]["function"]["name"] == "get_weather"
    assert any(e["id"] is None and e["function"]["name"] is None for e in entries)


def test_ollama_whole_calls_and_ignored_tool_choice(emus: dict[str, DashScopeEmulator]) -> None:
    emu = emus["ollama"]
    entries = _calls(emu)
    assert [len(c) for c in entries] == [1, 1]
    assert [json.loads(c[0]["function"]["arguments"])["city"] for c in entries] == ["Paris", "Rome"]
    forced = {"type": "function", "function": {"name": "get_weather"}}
    message = chat(emu, tools=[WEATHER], tool_choice=forced)["choices"][0]["message"]
    assert "tool_calls" not in message  # the default reply: tool_choice was ignored
    vllm = chat(emus["vllm"], tools=[WEATHER], tool_choice=forced)["choices"][0]["message"]
    assert vllm["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("syntax", "marker"),
    [("hermes", '<tool_call>\n{"name"'), ("xml", "<function=get_weather>"), ("json", '{"name"')],
)
def test_a_failed_parse_leaves_the_call_in_the_content(
    emus: dict[str, DashScopeEmulator], syntax: Any, marker: str
) -> None:
    emu = emus["vllm"]
    emu.enqueue(
        Reply.unparsed_tool_calls(
            [ToolCall("get_weather", {"city": "Rome"})], syntax=syntax, content="Let me check."
        )
    )
    choice = chat(emu, tools=[WEATHER])["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["tool_calls"] == []
    assert choice["message"]["content"].startswith("Let me check.")
    assert marker in choice["message"]["content"]


def test_a_failed_parse_inside_the_reasoning_sglang(emus: dict[str, DashScopeEmulator]) -> None:
    emu = emus["sglang"]
    emu.enqueue(
        Reply.unparsed_tool_calls(
            [ToolCall("get_weather", {"city": "Boston"})], syntax="xml", in_reasoning=True
        )
    )
    choice = chat(emu, tools=[WEATHER])["choices"][0]
    assert choice["message"]["content"] is None and choice["message"]["tool_calls"] is None
    assert "<parameter=city>\nBoston\n</parameter>" in choice["message"]["reasoning_content"]


def test_without_a_reasoning_parser_the_think_tags_stay_in_the_content(
    make_emulator: Callable[..., DashScopeEmulator],
) -> None:
    for think_in_prompt, opens in ((False, True), (True, False)):
        flavour = dataclasses.replace(
            FLAVOURS["vllm"], reasoning_parser=False, think_in_prompt=think_in_prompt
        )
        emu = make_emulator(flavour=flavour)
        content = chat(emu)["choices"][0]["message"]["content"]
        assert ("</think>" in content) and content.startswith("<think>") is opens
        text = "".join(d.get("content") or "" for d in deltas(chunks(emu)))
        assert text.count("</think>") == 1


def test_vllm_without_a_tool_parser(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(flavour=dataclasses.replace(FLAVOURS["vllm"], tool_parser=False))
    response = post(
        emu,
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "tools": [WEATHER],
            "tool_choice": "auto",
        },
    )
    assert response.status_code == 400 and "--enable-auto-tool-choice" in response.text
    emu.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "P"})]))
    message = chat(emu, model="Qwen/Qwen3-8B", tools=[WEATHER])["choices"][0]["message"]
    assert message["content"].startswith("<tool_call>") and not message["tool_calls"]


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("vllm", "/version", {"version": "0.20.0"}),
        ("sglang", "/get_model_info", {"is_generation": True}),
        ("ollama", "/api/version", {"version": "0.33.0"}),
        ("llamacpp", "/props", {"total_slots": 1}),
    ],
)
def test_probe_endpoints(
    emus: dict[str, DashScopeEmulator], name: str, path: str, expected: dict[str, Any]
) -> None:
    emu = emus[name]
    body = HTTP.get(emu.url + path).json()
    assert expected.items() <= body.items()
    listing = HTTP.get(emu.base_url + "/models").json()
    assert listing["data"][0]["owned_by"] in ("vllm", "sglang", "library", "llamacpp")
    for other in ("/version", "/get_model_info", "/api/version", "/props"):
        if other != path:
            assert HTTP.get(emu.url + other).status_code == 404


def test_paths_of_each_kind_of_server(
    emulator: DashScopeEmulator, emus: dict[str, DashScopeEmulator]
) -> None:
    native = "/api/v1/services/aigc/text-generation/generation"
    assert HTTP.post(emus["vllm"].url + native, json={}).status_code == 404
    assert (
        HTTP.post(emus["vllm"].url + "/compatible-mode/v1/chat/completions", json={}).status_code
        == 404
    )
    assert emulator.base_url.endswith("/api/v1")
    response = HTTP.post(emulator.url + "/v1/chat/completions", json={})
    assert response.status_code == 404


def test_errors_in_each_servers_envelope(
    make_emulator: Callable[..., DashScopeEmulator], emus: dict[str, DashScopeEmulator]
) -> None:
    bad = {"model": "m", "messages": []}
    assert "message" in post(emus["vllm"], bad).json()["error"]
    assert post(emus["sglang"], bad).json()["object"] == "error"
    assert post(emus["ollama"], bad).json()["error"]["type"] == "invalid_request_error"
    assert post(emus["llamacpp"], bad).json()["error"]["code"] == 400
    served = dataclasses.replace(FLAVOURS["vllm"], served_models=("Qwen/Qwen3-8B",))
    emu = make_emulator(flavour=served)
    response = post(emu, {"model": "other", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 404 and "does not exist" in response.text


def test_a_key_is_checked_only_when_given(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(flavour="vllm", api_key="token-abc")
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    assert post(emu, body).status_code == 401
    response = HTTP.post(
        emu.base_url + "/chat/completions",
        json=body,
        headers={"Authorization": "Bearer token-abc"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "size"), [("vllm", 256), ("ollama", 256), ("llamacpp", 1024)])
def test_embeddings_and_dimensions(
    emus: dict[str, DashScopeEmulator], name: str, size: int
) -> None:
    body = {"model": "Qwen/Qwen3-Embedding-0.6B", "input": ["a", "b"], "dimensions": 256}
    answer = post(emus[name], body, "/embeddings").json()
    assert [len(d["embedding"]) for d in answer["data"]] == [size, size]
    assert answer["usage"]["prompt_tokens"] > 0
    empty = post(emus["ollama"], {"model": "qwen3-embedding", "input": []}, "/embeddings")
    assert empty.status_code == 400 and "invalid input" in empty.text


def test_json_schema_answers_are_constrained(emus: dict[str, DashScopeEmulator]) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "N", "schema": schema}}
    for name in FLAVOURS:
        content = chat(emus[name], response_format=fmt)["choices"][0]["message"]["content"]
        assert json.loads(content) == {"n": 1}


def test_the_command_line_takes_a_flavour() -> None:
    from qwen_dashscope.testing.__main__ import build_parser

    assert build_parser().parse_args(["--flavour", "ollama"]).flavour == "ollama"
    assert build_parser().parse_args([]).flavour == "dashscope"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--flavour", "tgi"])
