"""The Batch API's pure half: JSONL lines, splitting, mapping rows back, the manifest."""

from __future__ import annotations

import json

import pytest

from qwen_dashscope import ChatRequest, InvalidRequestError, Message
from qwen_dashscope._batch import (
    TEST_ENDPOINT,
    BatchLimits,
    BatchLine,
    JobManifest,
    PartState,
    bulk_request,
    chat_line,
    compatible_base,
    ds_name,
    embedding_line,
    job_fingerprint,
    limits_for,
    load_manifest,
    multipart_body,
    parse_ds_name,
    parse_result_lines,
    save_manifest,
    split_lines,
    validation_errors,
)
from qwen_dashscope._openai import generation_result, render_chat
from qwen_dashscope._rules import resolve_chat
from qwen_dashscope.testing._batches import parse_multipart


def _request(text: str = "你好", model: str = "qwen-plus", **params: object) -> ChatRequest:
    return ChatRequest(model, [Message("system", "Classify."), Message("user", text)], params)


def test_a_line_is_the_real_time_compatible_request_with_thinking_off() -> None:
    request = _request(temperature=0.2, max_tokens=8)
    line = json.loads(chat_line(7, bulk_request(request)))
    realtime = render_chat(resolve_chat(request, stream=False), backend="dashscope").body
    assert line == {
        "custom_id": "7",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {**realtime, "enable_thinking": False},
    }
    assert line["body"]["messages"][1] == {"role": "user", "content": "你好"}


@pytest.mark.parametrize(
    ("model", "params", "sent"),
    [
        ("qwen-plus", {}, False),  # hybrid: off unless asked for
        ("qwen3.5-plus", {}, False),  # [DOC] thinks by default in batch: off
        ("qwen-plus", {"enable_thinking": True}, True),  # asked for: kept
        ("qwen-max", {}, None),  # does not think: nothing sent
        ("my-finetune", {}, None),  # unknown: nothing sent
        ("batch-test-model", {}, None),
    ],
)
def test_bulk_thinking_rule(model: str, params: dict[str, object], sent: object) -> None:
    body = json.loads(chat_line(0, bulk_request(_request(model=model, **params))))["body"]
    assert body.get("enable_thinking") == sent


def test_the_test_model_uses_its_own_url_and_limits() -> None:
    line = json.loads(chat_line(0, bulk_request(_request(model="batch-test-model"))))
    assert line["url"] == TEST_ENDPOINT == "/v1/chat/ds-test"
    assert limits_for("batch-test-model").max_lines == 100
    assert limits_for("batch-test-model").max_active == 2
    assert limits_for("qwen-plus").max_lines == 50_000


def test_a_rule_breaking_row_raises_before_anything_is_sent() -> None:
    with pytest.raises(InvalidRequestError) as info:
        chat_line(0, _request(""))
    assert info.value.param == "messages"


def test_embedding_lines_carry_one_text_each() -> None:
    line = json.loads(embedding_line(3, "text-embedding-v4", "萝卜", dimensions=64))
    assert line == {
        "custom_id": "3",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {
            "model": "text-embedding-v4",
            "input": "萝卜",
            "encoding_format": "float",
            "dimensions": 64,
        },
    }
    with pytest.raises(InvalidRequestError):
        embedding_line(0, "text-embedding-v4", "")


def _lines(sizes: list[int]) -> list[BatchLine]:
    return [BatchLine(i, b"x" * size) for i, size in enumerate(sizes)]


def test_split_by_line_count_and_bytes_in_row_order() -> None:
    parts, refused = split_lines(_lines([10] * 7), BatchLimits(max_lines=3))
    assert [[line.row for line in p] for p in parts] == [[0, 1, 2], [3, 4, 5], [6]]
    assert refused == {}
    # 11 bytes per line with its newline: 3 fit in 35 bytes, the 4th starts a new file
    parts, _ = split_lines(_lines([10] * 5), BatchLimits(max_file_bytes=35))
    assert [len(p) for p in parts] == [3, 2]


def test_a_line_over_the_limit_fails_its_row_only_and_large_lines_warn() -> None:
    limits = BatchLimits(max_line_bytes=100, warn_line_bytes=50)
    with pytest.warns(UserWarning, match="over 50 bytes"):
        parts, refused = split_lines(_lines([10, 200, 60, 10]), limits)
    assert [[line.row for line in p] for p in parts] == [[0, 2, 3]]
    assert set(refused) == {1} and refused[1].param == "inputs"


def test_job_ids_are_digests_of_the_inputs() -> None:
    a = job_fingerprint("chat", "qwen-plus", _lines([1, 2]), 2)
    assert a == job_fingerprint("chat", "qwen-plus", _lines([1, 2]), 2)
    assert a.startswith("qdjob-") and len(a) == 30
    assert a != job_fingerprint("chat", "qwen-plus", _lines([1, 3]), 2)
    assert a != job_fingerprint("chat", "qwen-flash", _lines([1, 2]), 2)
    split = job_fingerprint("chat", "qwen-plus", _lines([1, 2]), 2, BatchLimits(max_lines=1))
    assert split != a  # another split, other batches: another job
    assert parse_ds_name(ds_name(a, 1, 3)) == (a, 1, 3)
    assert parse_ds_name("someone else's batch") is None


@pytest.mark.parametrize(
    ("base", "compatible"),
    [
        (
            "https://dashscope.aliyuncs.com/api/v1",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
        ),
        (
            "https://dashscope-intl.aliyuncs.com/api/v1/",
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        ),
        ("http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/compatible-mode/v1"),
        ("https://gw.example.com/proxy/api/v1", "https://gw.example.com/proxy/compatible-mode/v1"),
    ],
)
def test_compatible_base_of_the_native_base(base: str, compatible: str) -> None:
    assert compatible_base(base) == compatible


def _ok(custom_id: str, text: str) -> dict[str, object]:
    rid = f"rid-{custom_id}"
    body = {
        "created": 1,
        "usage": {"completion_tokens": 4, "prompt_tokens": 2, "total_tokens": 6},
        "model": "qwen-plus",
        "id": f"chatcmpl-{rid}",
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"role": "assistant", "content": text},
            }
        ],
        "object": "chat.completion",
    }
    return {
        "id": rid,
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": rid, "body": body},
        "error": None,
    }


def _jsonl(*lines: object) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_rows_map_back_by_custom_id_in_any_order() -> None:
    failed = {
        "id": "rid-1",
        "custom_id": "1",
        "response": {
            "status_code": 400,
            "request_id": "rid-1",
            "body": {
                "error": {
                    "message": "bad",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_parameter_error",
                }
            },
        },
        "error": None,
    }
    cancelled = {
        "id": "x",
        "custom_id": "3",
        "response": None,
        "error": {"code": "batch_cancelled", "message": "The batch was cancelled."},
    }
    other_shape = {
        "id": "y",
        "custom_id": "4",
        "response": None,
        "error": {"error_code": "batch_expired", "error_message": "late"},
    }
    rows = parse_result_lines(
        _jsonl(_ok("2", "二"), failed, _ok("0", "零"), cancelled, other_shape) + b"\nnot json\n",
        "chat",
    )
    assert sorted(rows) == [0, 1, 2, 3, 4]
    assert rows[0].value.text == "零" and rows[0].request_id == "rid-0"
    assert rows[0].usage.input_tokens == 2 and rows[0].usage.total_tokens == 6
    assert rows[1].error.status_code == 400 and rows[1].error.code == "invalid_parameter_error"
    assert rows[1].request_id == "rid-1"
    assert rows[3].error.code == "batch_cancelled" and "cancelled" in rows[3].error.message
    assert rows[4].error.code == "batch_expired" and rows[4].error.message == "late"


def test_embedding_rows() -> None:
    line = {
        "id": "e",
        "custom_id": "0",
        "response": {
            "status_code": 200,
            "request_id": "e",
            "body": {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
                "model": "text-embedding-v4",
                "usage": {"prompt_tokens": 2, "total_tokens": 2},
            },
        },
        "error": None,
    }
    rows = parse_result_lines(_jsonl(line), "embedding")
    assert rows[0].value == [0.5, 0.25] and rows[0].usage.total_tokens == 2


def test_validation_errors_name_each_bad_line_and_the_others() -> None:
    batch = {
        "status": "failed",
        "errors": {
            "object": "list",
            "data": [
                {
                    "code": "url_not_found",
                    "message": "The provided url 'x' is not supported by the Batch API.",
                    "param": "url",
                    "line": 2,
                }
            ],
        },
    }
    errors = validation_errors(batch, [10, 11, 12])
    assert errors[11].code == "url_not_found"
    assert errors[10].code == errors[12].code == "batch_failed"
    assert "url_not_found" in errors[10].message


def test_manifest_round_trip(tmp_path) -> None:
    manifest = JobManifest(
        id="qdjob-" + "0" * 24,
        kind="chat",
        model="qwen-plus",
        endpoint="/v1/chat/completions",
        rows=6,
        base_url="http://h/compatible-mode/v1",
        parts=[
            PartState(0, [0, 1, 2]),
            PartState(1, [4, 5], batch_id="batch_1", status="in_progress"),
        ],
    )
    manifest.refuse(3, InvalidRequestError("empty", param="messages"))
    save_manifest(tmp_path, manifest)
    stored = json.loads((tmp_path / "manifest.json").read_text())
    assert stored["parts"][0]["rows"] == [[0, 3]]  # ranges, not every index
    again = load_manifest(tmp_path)
    assert again is not None and again.to_json() == manifest.to_json()
    assert again.parts[1].rows == [4, 5]
    refused = again.refused_errors()[3]
    assert isinstance(refused, InvalidRequestError) and refused.param == "messages"
    assert load_manifest(tmp_path / "missing") is None


def test_multipart_body_is_what_the_emulator_reads() -> None:
    content = "第一行\n".encode() + b"\r\n--tricky\r\n"
    body, content_type = multipart_body({"purpose": "batch"}, "in.jsonl", content)
    fields, filename, data = parse_multipart(content_type, body)
    assert fields == {"purpose": "batch"} and filename == "in.jsonl" and data == content


def test_a_row_reads_like_the_real_time_answer_of_the_same_body() -> None:
    """One reader for ``chat.completion`` bodies: reasoning, tool calls, n > 1 and usage of a
    batch row are what the real-time OpenAI-protocol call gives; the line's request id wins."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "qwen-plus",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "think",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        }
                    ],
                },
            },
            {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": "b"}},
        ],
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 4,
            "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }
    line = {
        "id": "x",
        "custom_id": "0",
        "response": {"status_code": 200, "request_id": "rid-9", "body": body},
    }
    row = parse_result_lines(_jsonl(line), "chat")[0]
    real_time = generation_result(body)
    assert row.request_id == "rid-9" and row.value.request_id == "rid-9"
    assert real_time.request_id == "chatcmpl-1"
    assert row.value.reasoning == real_time.reasoning == "think"
    assert row.value.tool_calls == real_time.tool_calls
    assert [c.text for c in row.value.choices] == [c.text for c in real_time.choices] == ["", "b"]
    assert row.usage == real_time.usage and row.usage.cached_tokens == 2
