"""The emulator's answers have the structure of the real captures in tests/fixtures/wire.

Each test replays a capture's request (when there is one) and compares JSON key paths and
value types (``_helpers.key_paths``: values and list lengths ignored), SSE line patterns and
the headers that clients read. Differences are listed explicitly per capture, with the reason.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._wire import Captures

from ._helpers import (
    COMPAT_CHAT_PATH,
    EMBED_PATH,
    MM_PATH,
    SSE,
    TEXT_PATH,
    compat_chunks,
    key_paths,
    native_frames,
    shapes,
)

# Captures from 2024 (before choices carried "index" and usage carried prompt_tokens_details,
# both present in the 2025+ captures such as toolcall-followup-stream.sse).
NEWER_STYLE = {
    "output.choices[].index:number",
    "usage.prompt_tokens_details:object",
    "usage.prompt_tokens_details.cached_tokens:number",
}


def assert_same_shape(
    ours: set[str],
    capture: set[str],
    *,
    extra: set[str] = frozenset(),
    missing: set[str] = frozenset(),
) -> None:
    """``ours`` equals ``capture`` up to the listed extra (ours only) and missing paths."""
    assert ours - capture == set(extra), "emulator has paths the capture lacks"
    assert capture - ours == set(missing), "capture has paths the emulator lacks"


def assert_native_headers(response: httpx.Response, *, stream: bool) -> None:
    body_id = (
        native_frames(response.text)[0]["data"]["request_id"]
        if stream
        else response.json()["request_id"]
    )
    assert response.headers["x-request-id"] == body_id
    assert response.headers["x-dashscope-call-gateway"] == "true"
    assert response.headers["x-dashscope-finished"] == ("false" if stream else "true")
    if stream:
        assert response.headers["content-type"] == "text/event-stream;charset=UTF-8"
        assert response.headers["transfer-encoding"] == "chunked"
    else:
        assert response.headers["content-type"] == "application/json"
        assert "transfer-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(response.content)


# ---------------------------------------------------------------------------- non-stream


def test_textgen_text_nosse(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("textgen-text-nosse.request.json")
    response = client.post(TEXT_PATH, json=request)
    assert response.status_code == 200
    assert_native_headers(response, stream=False)
    captured = wire.headers("textgen-text-nosse.response-headers.txt")
    assert captured["x-dashscope-finished"] == response.headers["x-dashscope-finished"]
    assert_same_shape(key_paths(response.json()), key_paths(wire.json("textgen-text-nosse.json")))


def test_textgen_message(client: httpx.Client, wire: Captures) -> None:
    response = client.post(TEXT_PATH, json=wire.json("textgen-message.request.json"))
    assert response.status_code == 200
    assert_native_headers(response, stream=False)
    capture = wire.json("textgen-message.json")
    assert_same_shape(key_paths(response.json()), key_paths(capture), extra=NEWER_STYLE)


def test_toolcall_message(
    emulator: DashScopeEmulator, client: httpx.Client, wire: Captures
) -> None:
    emulator.enqueue(
        Reply.tool_calls([ToolCall("get_current_weather", {"location": "浙江省杭州市"})])
    )
    response = client.post(TEXT_PATH, json=wire.json("toolcall-message.request.json"))
    assert response.status_code == 200
    body = response.json()
    assert_same_shape(
        key_paths(body), key_paths(wire.json("toolcall-message.json")), extra=NEWER_STYLE
    )
    # The 2024 capture says "stop" with a forced tool; 2025+ streams say "tool_calls" (§4.4).
    assert body["output"]["choices"][0]["finish_reason"] == "tool_calls"


def test_multimodal_vl(client: httpx.Client, wire: Captures) -> None:
    response = client.post(MM_PATH, json=wire.json("multimodal-vl.request.json"))
    assert response.status_code == 200
    assert_native_headers(response, stream=False)
    # The 2024 VL capture has no total_tokens and no token details; the doc (§4.3) documents
    # total_tokens and input_tokens_details/output_tokens_details on current multimodal models.
    extra = {
        "output.choices[].index:number",
        "usage.total_tokens:number",
        "usage.input_tokens_details:object",
        "usage.input_tokens_details.text_tokens:number",
        "usage.input_tokens_details.image_tokens:number",
        "usage.output_tokens_details:object",
        "usage.output_tokens_details.text_tokens:number",
    }
    capture = wire.json("multimodal-vl.json")
    assert_same_shape(key_paths(response.json()), key_paths(capture), extra=extra)


def test_thinking_nosse(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("thinking-nosse.request.json")
    # Captured on deepseek-v4-pro, which the emulator does not model; use a Qwen model that
    # also thinks without streaming (the open-source -thinking models answer streams only).
    request["model"] = "qwen3-max"
    request.setdefault("parameters", {})["enable_thinking"] = True
    response = client.post(TEXT_PATH, json=request)
    assert response.status_code == 200
    capture = wire.json("thinking-nosse.json")
    extra = {"output.choices[].index:number"}
    assert_same_shape(key_paths(response.json()), key_paths(capture), extra=extra)


def test_embedding_v2(client: httpx.Client, wire: Captures) -> None:
    response = client.post(EMBED_PATH, json=wire.json("embedding-v2.request.json"))
    assert response.status_code == 200
    assert_native_headers(response, stream=False)
    capture = wire.json("embedding-v2.json")
    assert_same_shape(key_paths(response.json()), key_paths(capture))
    ours = response.json()["output"]["embeddings"][0]["embedding"]
    assert len(ours) == len(capture["output"]["embeddings"][0]["embedding"]) == 1536


# ---------------------------------------------------------------------------- errors


def test_error_invalid_api_key(anon: httpx.Client, wire: Captures) -> None:
    request = wire.json("textgen-text-nosse.request.json")
    response = anon.post(TEXT_PATH, json=request, headers={"Authorization": "Bearer sk-wrong"})
    assert response.status_code == 401
    body = response.json()
    capture = wire.json("error-invalid-api-key.json")
    assert_same_shape(key_paths(body), key_paths(capture))
    assert (body["code"], body["message"]) == (capture["code"], capture["message"])
    captured = wire.headers("error-invalid-api-key.response-headers.txt")
    assert "x-request-id" in captured
    assert response.headers["x-request-id"] == body["request_id"]


def test_error_invalid_parameter(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("error-invalid-parameter.request.json")
    response = client.post(TEXT_PATH, json=request)
    captured = wire.headers("error-invalid-parameter.response-headers.txt")
    assert response.status_code == 400
    assert response.headers["content-type"] == captured["content-type"] == "application/json"
    body = response.json()
    capture = wire.json("error-invalid-parameter.json")
    assert_same_shape(key_paths(body), key_paths(capture))
    assert (body["code"], body["message"]) == (capture["code"], capture["message"])


def test_error_invalid_parameter_stream(client: httpx.Client, wire: Captures) -> None:
    # §5.7 quotes error-invalid-parameter-stream.sse: HTTP 200 + one event:error frame.
    request = wire.json("error-invalid-parameter.request.json")
    response = client.post(TEXT_PATH, json=request, headers=SSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream;charset=UTF-8"
    (frame,) = native_frames(response.text)
    assert (frame["id"], frame["event"], frame["status"]) == (1, "error", 400)
    capture = wire.json("error-invalid-parameter.json")
    assert_same_shape(key_paths(frame["data"]), key_paths(capture))
    assert frame["data"]["message"] == capture["message"]
    assert response.headers["x-request-id"] == frame["data"]["request_id"]


def test_compat_error_invalid_api_key(anon: httpx.Client, wire: Captures) -> None:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    response = anon.post(COMPAT_CHAT_PATH, json=body, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    capture = wire.json("compat-error-invalid-api-key.json")
    assert_same_shape(key_paths(response.json()), key_paths(capture))
    assert response.json()["error"] == capture["error"]


# ---------------------------------------------------------------------------- streams


def stream(
    client: httpx.Client, path: str, body: Any, headers: dict[str, str] = SSE
) -> httpx.Response:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_textgen_text_stream_incremental(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("textgen-text-stream-incremental.request.json")
    response = stream(client, TEXT_PATH, request)
    assert_native_headers(response, stream=True)
    frames = native_frames(response.text)
    # The capture's own framing obeys the same strict five-line pattern.
    captured = native_frames(wire.text("textgen-text-stream-incremental.sse"))
    assert {f["event"] for f in frames} == {f["event"] for f in captured} == {"result"}
    ours = shapes([f["data"] for f in frames])
    assert_same_shape(
        ours,
        shapes([f["data"] for f in captured]),
        # 2024-11 capture: no prompt_tokens_details yet.
        extra={
            "usage.prompt_tokens_details:object",
            "usage.prompt_tokens_details.cached_tokens:number",
        },
    )
    # Pattern (a): the last event is empty text + "stop"; earlier ones the STRING "null".
    assert frames[-1]["data"]["output"] == {"finish_reason": "stop", "text": ""}
    assert {f["data"]["output"]["finish_reason"] for f in frames[:-1]} == {"null"}
    headers = wire.headers("textgen-text-stream-incremental.response-headers.txt")
    assert headers["x-dashscope-finished"] == "false"


def test_textgen_message_stream_incremental(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("textgen-message-stream-incremental.request.json")
    response = stream(client, TEXT_PATH, request)
    assert_native_headers(response, stream=True)
    headers = wire.headers("textgen-message-stream-incremental.response-headers.txt")
    assert response.headers["content-type"] == headers["content-type"]
    ours = shapes([f["data"] for f in native_frames(response.text)])
    capture = shapes(wire.events("textgen-message-stream-incremental.sse"))
    assert_same_shape(ours, capture, extra=NEWER_STYLE)


def test_textgen_message_stream_doc(client: httpx.Client, wire: Captures) -> None:
    body = {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": "你是谁？"}]},
        "parameters": {"result_format": "message", "incremental_output": True},
    }
    ours = shapes([f["data"] for f in native_frames(stream(client, TEXT_PATH, body).text)])
    capture = shapes(wire.events("textgen-message-stream-doc.sse"))
    assert_same_shape(ours, capture, extra={"output.choices[].index:number"})


def test_toolcall_followup_stream(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("toolcall-followup-stream.request.json")
    frames = native_frames(stream(client, TEXT_PATH, request).text)
    capture = shapes(wire.events("toolcall-followup-stream.sse"))
    assert_same_shape(shapes([f["data"] for f in frames]), capture)  # 2025-10: identical
    text = "".join(f["data"]["output"]["choices"][0]["message"]["content"] for f in frames)
    assert text.startswith("[emulator] tool results: 浙江省杭州市 大部多云")


@pytest.mark.parametrize("doc", ["thinking-stream-doc.sse", "thinking-budget-stream-doc.sse"])
def test_thinking_stream_doc(client: httpx.Client, wire: Captures, doc: str) -> None:
    body = {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": "你是谁"}]},
        "parameters": {
            "result_format": "message",
            "incremental_output": True,
            "enable_thinking": True,
            "thinking_budget": 50,
        },
    }
    ours = shapes([f["data"] for f in native_frames(stream(client, TEXT_PATH, body).text)])
    extra = {"output.choices[].index:number"} | NEWER_STYLE
    if doc == "thinking-stream-doc.sse":
        # The older doc example lacks output_tokens_details (the 2025 capture has it, §5.5).
        extra |= {
            "usage.output_tokens_details:object",
            "usage.output_tokens_details.reasoning_tokens:number",
        }
    assert_same_shape(ours, shapes(wire.events(doc)), extra=extra)


def test_text_stream_nonincremental_excerpt(client: httpx.Client, wire: Captures) -> None:
    body = {"model": "qwen-max", "input": {"prompt": "你是谁"}}  # defaults: text, cumulative
    frames = native_frames(stream(client, TEXT_PATH, body).text)
    texts = [f["data"]["output"]["text"] for f in frames]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))  # cumulative
    assert texts[-1] == "[emulator] 你是谁"
    capture = shapes(wire.events("textgen-text-stream-nonincremental-excerpt.sse"))
    assert_same_shape(
        shapes([f["data"] for f in frames]),
        capture,
        extra={
            "usage.prompt_tokens_details:object",
            "usage.prompt_tokens_details.cached_tokens:number",
        },
    )


def test_multimodal_stream_nonincremental_excerpt(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("multimodal-vl.request.json")
    frames = native_frames(stream(client, MM_PATH, request).text)
    contents = [f["data"]["output"]["choices"][0]["message"]["content"] for f in frames]
    texts = [c[0]["text"] for c in contents]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))  # qwen-vl-plus: cumulative
    capture = shapes(wire.events("multimodal-vl-stream-nonincremental-excerpt.sse"))
    extra = {
        "output.choices[].index:number",
        "usage.total_tokens:number",
        "usage.image_tokens:number",
        "usage.input_tokens_details:object",
        "usage.input_tokens_details.text_tokens:number",
        "usage.input_tokens_details.image_tokens:number",
        "usage.output_tokens_details:object",
        "usage.output_tokens_details.text_tokens:number",
    }
    assert_same_shape(shapes([f["data"] for f in frames]), capture, extra=extra)


# ---------------------------------------------------------------------------- compat


def test_compat_chat_completion(client: httpx.Client, wire: Captures) -> None:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁？"}]}
    response = client.post(COMPAT_CHAT_PATH, json=body)
    assert response.status_code == 200
    capture = wire.json("compat-chat-completion.json")
    assert_same_shape(key_paths(response.json()), key_paths(capture))
    assert response.json()["id"].startswith("chatcmpl-")


def test_compat_stream_include_usage(client: httpx.Client, wire: Captures) -> None:
    body = {
        "model": "qwen-plus",
        "messages": [{"role": "user", "content": "你是谁？"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = stream(client, COMPAT_CHAT_PATH, body, headers={})
    chunks = compat_chunks(response.text)
    captured = compat_chunks(wire.text("compat-stream-include-usage.sse"))
    assert chunks[-1] == captured[-1] == "[DONE]"
    assert_same_shape(shapes(chunks[:-1]), shapes(captured[:-1]))
    assert chunks[0]["choices"][0]["delta"] == captured[0]["choices"][0]["delta"]
    assert chunks[-2]["choices"] == []


def test_compat_thinking_stream_doc(client: httpx.Client, wire: Captures) -> None:
    body = {
        "model": "qwen-plus",
        "messages": [{"role": "user", "content": "你是谁"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "enable_thinking": True,
    }
    chunks = compat_chunks(stream(client, COMPAT_CHAT_PATH, body, headers={}).text)
    capture = wire.events("compat-thinking-stream-doc.sse")
    extra = {  # the doc's usage chunk predates completion_tokens_details (§7, [3P])
        "usage.completion_tokens_details:object",
        "usage.completion_tokens_details.reasoning_tokens:number",
    }
    # The doc elides the middle chunks; the emulator's chunks in between only add the
    # reasoning/answer deltas, whose key paths appear in its first and last chunks.
    assert_same_shape(shapes(chunks[:1] + chunks[-3:-1]), shapes(capture), extra=extra)
    assert chunks[0]["choices"][0]["delta"] == capture[0]["choices"][0]["delta"]
    assert chunks[-3]["choices"][0]["delta"] == capture[-2]["choices"][0]["delta"]


def test_tokenizer(client: httpx.Client, wire: Captures) -> None:
    request = wire.json("tokenizer.request.json")
    capture = wire.json("tokenizer.json")
    response = client.post("/api/v1/tokenizer", json=request)
    assert response.status_code == 200
    assert_same_shape(key_paths(response.json()), key_paths(capture))
    output = response.json()["output"]
    # The emulator counts one token per CJK character: "代码改变世界" is six.
    assert output["tokens"] == list("代码改变世界")
    assert len(output["token_ids"]) == 6 == response.json()["usage"]["input_tokens"]
    again = client.post("/api/v1/tokenizer", json=request).json()["output"]["token_ids"]
    assert again == output["token_ids"]  # stable ids
