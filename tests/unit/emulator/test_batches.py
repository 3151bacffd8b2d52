"""The emulated Batch API over HTTP: statuses, validation errors, cancel, lists, files."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply

KEY = {"Authorization": "Bearer sk-emulator"}


@pytest.fixture
def http(emulator: DashScopeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.compatible_base_url, headers=KEY) as client:
        yield client


def _line(
    i: int,
    text: str = "hi",
    model: str = "qwen-plus",
    url: str = "/v1/chat/completions",
    **extra: object,
) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": f"{text} {i}"}], **extra}
    return {"custom_id": str(i), "method": "POST", "url": url, "body": body}


def _upload(http: httpx.Client, lines: list[object], purpose: str = "batch") -> httpx.Response:
    content = b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    )
    return http.post("/files", files={"file": ("in.jsonl", content)}, data={"purpose": purpose})


def _create(
    http: httpx.Client, file_id: str, endpoint: str = "/v1/chat/completions", **extra: object
) -> dict:
    response = http.post(
        "/batches",
        json={"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h", **extra},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_upload_create_and_complete(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    uploaded = _upload(http, [_line(0), _line(1)])
    assert uploaded.status_code == 200
    file = uploaded.json()
    assert file["id"].startswith("file-batch-") and len(file["id"]) == len("file-batch-") + 24
    assert file["status"] == "processed" and file["purpose"] == "batch"
    created = _create(http, file["id"], metadata={"ds_name": "任务", "customer": "a"})
    assert created["status"] == "validating"
    assert created["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert created["id"].startswith("batch_") and "request_id" not in created
    assert created["metadata"] == {"ds_name": "任务", "customer": "a"}
    running = http.get(f"/batches/{created['id']}")
    assert running.headers["x-request-id"]
    assert running.json()["status"] == "in_progress"
    assert running.json()["in_progress_at"] == created["created_at"]
    assert running.json()["request_counts"]["total"] == 2
    done = http.get(f"/batches/{created['id']}").json()
    assert done["status"] == "completed" and done["request_counts"] == {
        "total": 2,
        "completed": 2,
        "failed": 0,
    }
    assert done["finalizing_at"] == done["completed_at"] and done["error_file_id"] is None
    assert done["expires_at"] is None
    content = http.get(f"/files/{done['output_file_id']}/content")
    assert "content-type" not in content.headers
    lines = [json.loads(x) for x in content.content.splitlines()]
    assert sorted(x["custom_id"] for x in lines) == ["0", "1"]
    first = lines[0]
    assert first["id"] == first["response"]["request_id"] and first["error"] is None
    body = first["response"]["body"]
    assert body["id"] == "chatcmpl-" + first["id"]
    assert "system_fingerprint" not in body and "prompt_tokens_details" not in body["usage"]
    assert [r.endpoint for r in emulator.requests] == ["compat-chat", "compat-chat"]


def test_validation_errors_fail_the_batch_on_the_next_retrieve(http: httpx.Client) -> None:
    bad = [
        _line(10, url="/v1/chat/completion"),
        b"{not json",
        _line(0),
        _line(3, model="qwen-flash"),
        _line(4, model="batch-test-model"),
    ]
    created = _create(http, _upload(http, [_line(0), *bad]).json()["id"])
    assert created["status"] == "validating"  # [3P-CAP] whatever the file holds
    failed = http.get(f"/batches/{created['id']}").json()
    assert failed["status"] == "failed" and failed["failed_at"] == created["created_at"]
    codes = [(e["code"], e["line"]) for e in failed["errors"]["data"]]
    assert codes == [
        ("url_not_found", 2),
        ("invalid_json_line", 3),
        ("duplicate_custom_id", 4),
        ("mismatched_model", 5),
        ("mismatched_test_url", 6),
    ]
    assert failed["output_file_id"] is None and failed["request_counts"]["total"] == 0


def test_a_failing_line_goes_to_the_error_file(
    http: httpx.Client, emulator: DashScopeEmulator
) -> None:
    emulator.when(
        lambda r: "bad" in r.last_user_text, Reply.error(400, "InvalidParameter", "bad row")
    )
    created = _create(http, _upload(http, [_line(0), _line(1, text="bad")]).json()["id"])
    http.get(f"/batches/{created['id']}")
    done = http.get(f"/batches/{created['id']}").json()
    assert done["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    assert done["error_file_id"].startswith("file-batch_output-")  # [3P-CAP] same prefix
    (line,) = [
        json.loads(x)
        for x in http.get(f"/files/{done['error_file_id']}/content").content.splitlines()
    ]
    assert line["custom_id"] == "1" and line["response"]["status_code"] == 400
    assert line["response"]["body"]["error"]["message"] == "bad row"


def test_cancel_and_the_clock(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    now = [1_800_000_000.0]
    emulator.batches.clock = lambda: now[0]
    emulator.batches.settings.seconds_per_line = 1.0
    created = _create(http, _upload(http, [_line(i) for i in range(4)]).json()["id"])
    http.get(f"/batches/{created['id']}")  # in progress from now on
    now[0] += 2.5
    progress = http.get(f"/batches/{created['id']}").json()
    assert progress["status"] == "in_progress" and progress["request_counts"]["completed"] == 2
    cancelling = http.post(f"/batches/{created['id']}/cancel").json()
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] is None
    now[0] += 10
    cancelled = http.get(f"/batches/{created['id']}").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelling_at"] == cancelled["cancelled_at"] == int(now[0])
    assert cancelled["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    errors = http.get(f"/files/{cancelled['error_file_id']}/content").content.splitlines()
    assert {json.loads(x)["error"]["code"] for x in errors} == {"batch_cancelled"}
    again = http.post(f"/batches/{created['id']}/cancel")
    assert again.status_code == 400 and again.json()["error"]["type"] == "invalid_request_error"


def test_expiry(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    now = [1_800_000_000.0]
    emulator.batches.clock = lambda: now[0]
    emulator.batches.settings.seconds = 100 * 3600
    emulator.batches.settings.expires_at = True
    created = _create(http, _upload(http, [_line(0), _line(1)]).json()["id"])
    assert created["expires_at"] == created["created_at"] + 24 * 3600
    http.get(f"/batches/{created['id']}")
    now[0] += 25 * 3600
    expired = http.get(f"/batches/{created['id']}").json()
    assert expired["status"] == "expired" and expired["expired_at"] == int(now[0])


def test_lists_filters_and_empty_lists_are_null(http: httpx.Client) -> None:
    empty = http.get("/batches").json()
    assert empty == {
        "object": "list",
        "data": None,
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    file_id = _upload(http, [_line(0)]).json()["id"]
    ids = [_create(http, file_id, metadata={"ds_name": f"job-{i}"})["id"] for i in range(3)]
    page = http.get("/batches", params={"limit": 2}).json()
    assert [b["id"] for b in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    rest = http.get("/batches", params={"limit": 2, "after": page["last_id"]}).json()
    assert [b["id"] for b in rest["data"]] == [ids[0]] and rest["has_more"] is False
    named = http.get("/batches", params={"ds_name": "job-1"}).json()
    assert [b["id"] for b in named["data"]] == [ids[1]]
    assert http.get("/batches", params={"limit": 0}).status_code == 400
    files = http.get("/files", params={"purpose": "batch"}).json()
    assert "first_id" not in files and files["data"][0]["id"] == file_id


def test_request_errors(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    assert (
        _upload(http, [_line(0)], purpose="nope").json()["error"]["type"] == "invalid_request_error"
    )
    file_id = _upload(http, [_line(0)]).json()["id"]
    assert (
        http.post(
            "/batches", json={"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
        ).status_code
        == 400
    )
    window = http.post(
        "/batches",
        json={
            "input_file_id": file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "12h",
        },
    )
    assert window.status_code == 400
    assert http.get(f"/files/{file_id}/content").status_code == 400  # inputs cannot be downloaded
    assert http.get("/batches/batch_nope").status_code == 404
    denied = httpx.get(
        f"{emulator.compatible_base_url}/batches", headers={"Authorization": "Bearer wrong"}
    )
    assert denied.status_code == 401
    deleted = http.delete(f"/files/{file_id}").json()
    assert deleted == {"id": file_id, "object": "file", "deleted": True}


def test_the_free_test_model(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    lines = [_line(i, model="batch-test-model", url="/v1/chat/ds-test") for i in range(2)]
    created = _create(http, _upload(http, lines).json()["id"], endpoint="/v1/chat/ds-test")
    http.get(f"/batches/{created['id']}")
    done = http.get(f"/batches/{created['id']}").json()
    out = [
        json.loads(x)
        for x in http.get(f"/files/{done['output_file_id']}/content").content.splitlines()
    ]
    assert {x["response"]["body"]["choices"][0]["message"]["content"] for x in out} == {
        "This is a test result."
    }
    assert out[0]["response"]["body"]["usage"] == {
        "completion_tokens": 6,
        "prompt_tokens": 20,
        "total_tokens": 26,
    }
    assert emulator.requests == []  # no inference ran
    for _ in range(2):
        _create(http, _upload(http, lines).json()["id"], endpoint="/v1/chat/ds-test")
    third = http.post(
        "/batches",
        json={
            "input_file_id": _upload(http, lines).json()["id"],
            "endpoint": "/v1/chat/ds-test",
            "completion_window": "24h",
        },
    )
    assert third.status_code == 429  # [DOC] at most 2 test batches at once


def test_poll_faults(http: httpx.Client, emulator: DashScopeEmulator) -> None:
    emulator.batches.settings.poll_errors.append((500, "InternalError", "try again"))
    created = _create(http, _upload(http, [_line(0)]).json()["id"])
    assert http.get(f"/batches/{created['id']}").status_code == 500
    assert http.get(f"/batches/{created['id']}").json()["status"] == "in_progress"
