"""The OpenAI-compatible files and batches endpoints (DashScope's Batch API), emulated.

Faithful to the research notes on the Batch API (§0-§11): create always answers
``validating`` (validation errors appear on the next retrieve, as ``failed`` with
``errors.data[]``); statuses move ``validating → in_progress → (finalizing) → completed``;
``cancelling → cancelled``; ``expired`` past the completion window; empty lists are
``"data": null``; the batch object carries no ``request_id`` (only the header does); output and
error files both use the ``file-batch_output-`` prefix [3P-CAP]. Each line runs through the
emulator's own compatible-mode chat / embedding logic (``DashScopeEmulator.respond``), so
scripted replies and rules apply to batch lines too.

Time is driven by polls and by a clock you control: a batch leaves ``validating`` on the next
retrieve, then stays ``in_progress`` for ``progress_polls`` retrieves *and* until
``seconds + seconds_per_line * lines`` have passed on ``clock``; lines are executed as that
progress is reached, so a cancelled batch really stops part-way.

Behaviour the real service never showed in a capture is marked [INF] and kept in
``ERRORS`` (one table) so that a capture can correct it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ._errors import ServiceError
from ._recorded import Headers, RecordedRequest

if TYPE_CHECKING:
    from ._server import DashScopeEmulator, Outcome

PREFIX = "/compatible-mode/v1"
CHAT_URL = "/v1/chat/completions"
EMBEDDINGS_URL = "/v1/embeddings"
TEST_URL = "/v1/chat/ds-test"
TEST_MODEL = "batch-test-model"
ENDPOINTS = (CHAT_URL, EMBEDDINGS_URL, TEST_URL)
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
PURPOSES = ("batch", "file-extract", "fine-tune")

# [DOC] batch-capable models (Beijing ≈ mid-2026, Singapore, older lists); only those in the
# emulator's model table can run, the rest of the table answers ``model_not_found`` per line.
BATCH_MODELS = frozenset(
    {
        "qwen-max",
        "qwen-max-latest",
        "qwen-plus",
        "qwen-plus-latest",
        "qwen-turbo",
        "qwen-turbo-latest",
        "qwen-flash",
        "qwen-long",
        "qwen-long-latest",
        "qwen3-max",
        "qwen3.5-plus",
        "qwen3.5-flash",
        "qwen3.6-plus",
        "qwen3.6-flash",
        "qwen3.7-plus",
        "qwen3.7-max",
        "qwen3.7-flash",
        "qwen3.8-max",
        "qwen-vl-max",
        "qwen-vl-plus",
        "qwen3-vl-plus",
        "qwen3-vl-flash",
        "qwen-vl-ocr",
        "qwen-vl-ocr-latest",
        "deepseek-r1",
        "deepseek-v3",
        "deepseek-v3.2",
        "text-embedding-v1",
        "text-embedding-v2",
        "text-embedding-v3",
        "text-embedding-v4",
    }
)

# Errors in one table: (HTTP status, type, code, message template). [3P-CAP] / [DOC] where the
# notes have them, [INF] otherwise.
ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "purpose": (
        400,
        "invalid_request_error",
        None,
        "'purpose' must be one of {purposes}",
    ),  # 3P-CAP
    "no_file": (400, "invalid_request_error", None, "'file' is required"),  # INF
    "file_capacity": (400, "invalid_request_error", None, "Upload file capacity exceed limit."),
    "file_number": (400, "invalid_request_error", None, "Upload file number exceed limit."),
    "file_not_found": (404, "invalid_request_error", "not_found", "File {id} not found."),  # INF
    "not_downloadable": (  # INF: [DOC] only file-batch_output ids can be downloaded
        400,
        "invalid_request_error",
        "invalid_file",
        "Only files whose file_id starts with file-batch_output can be downloaded.",
    ),
    "missing": (400, "invalid_request_error", None, "'{name}' is a required property"),  # INF
    "window": (  # INF (the range is [DOC])
        400,
        "invalid_request_error",
        None,
        "completion_window must be between 24h and 336h (integers, unit h or d), got '{value}'",
    ),
    "endpoint": (  # INF
        400,
        "invalid_request_error",
        None,
        "The endpoint '{value}' is not supported by the Batch API.",
    ),
    "input_file": (404, "invalid_request_error", "not_found", "File {id} not found."),  # INF
    "metadata": (400, "invalid_request_error", None, "{name} is longer than {limit} characters"),
    "batch_not_found": (404, "invalid_request_error", "not_found", "Batch {id} not found."),  # INF
    "not_cancellable": (  # INF
        400,
        "invalid_request_error",
        None,
        "Batch {id} is {status} and cannot be cancelled.",
    ),
    "limit": (400, "invalid_request_error", None, "limit must be between 1 and 100"),  # INF
    "test_parallel": (  # INF ([DOC]: at most 2 parallel tasks)
        429,
        "requests",
        "limit_requests",
        "batch-test-model allows at most 2 batches in progress at once.",
    ),
    "method": (405, "invalid_request_error", None, "Method {method} not allowed on {path}"),
}


@dataclass
class BatchSettings:
    """Knobs of the emulated Batch API (change them on ``emulator.batches.settings``)."""

    progress_polls: int = 1
    """Retrieves answered ``in_progress`` before a batch may finish."""
    seconds: float = 0.0
    """Clock seconds a batch spends in progress (whatever its size)."""
    seconds_per_line: float = 0.0
    """Added clock seconds per line (the "configurable delay" of each line)."""
    show_finalizing: bool = False
    """Answer one retrieve with ``finalizing`` (never seen in captures: off by default)."""
    expires_at: bool = False
    """Report ``expires_at = created_at + window`` (captures: always null)."""
    error_file_prefix: str = "file-batch_output-"
    """[3P-CAP] error files carry the output prefix; the docs show ``file-batch_error-``."""
    shuffle_output: bool = True
    """Write result lines out of input order ([DOC] order is not guaranteed)."""
    max_lines: int = 50_000
    max_file_bytes: int = 500 * 1024 * 1024
    max_line_bytes: int = 6 * 1024 * 1024
    test_max_lines: int = 100
    test_max_file_bytes: int = 1024 * 1024
    test_parallel: int = 2
    max_files: int = 10_000
    max_storage_bytes: int = 100 * 1024**3
    models: frozenset[str] | None = BATCH_MODELS
    """Batch-capable models (None: every chat and embedding model of the table)."""
    poll_errors: list[tuple[int, str, str]] = field(default_factory=list)
    """Fault knob: the next retrieves answer these errors (status, code, message) in turn."""


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    created_at: int
    content: bytes

    def obj(self) -> dict[str, Any]:
        # [DOC] shape (file-extract captures lack status_details).
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "created_at": self.created_at,
            "status_details": None,
        }


@dataclass
class _Line:
    number: int
    custom_id: str
    url: str
    body: dict[str, Any]


@dataclass
class _Batch:
    obj: dict[str, Any]
    key: str
    lines: list[_Line] = field(default_factory=list)
    polls: int = 0
    started: float = 0.0
    done: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    cancel_requested: bool = False
    finalizing_shown: bool = False
    sequence: int = 0
    """Creation order (``created_at`` has whole seconds only)."""

    @property
    def status(self) -> str:
        return str(self.obj["status"])


def _hex() -> str:
    return uuid.uuid4().hex[:24]


def _window_hours(value: Any) -> int | None:
    match = re.fullmatch(r"(\d+)([hd])", value) if isinstance(value, str) else None
    if match is None:
        return None
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
    return hours if 24 <= hours <= 336 else None


def _line_error(
    code: str, message: str, line: int | None, param: str | None = "url"
) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


class BatchService:
    """The files and batches of one emulator (``emulator.batches``)."""

    def __init__(self, emulator: DashScopeEmulator) -> None:
        self.emulator = emulator
        self.settings = BatchSettings()
        self.clock: Callable[[], float] = time.time
        """Seconds since the epoch; replace it to drive batches from a test."""
        self._lock = threading.RLock()
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        self.calls: list[tuple[str, str]] = []
        """(method, path) of every files/batches request, in arrival order."""

    def reset(self) -> None:
        with self._lock:
            self.settings = BatchSettings()
            self.clock = time.time
            self.files.clear()
            self.batches.clear()
            self.calls.clear()

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith((PREFIX + "/files", PREFIX + "/batches"))

    # ------------------------------------------------------------------ HTTP

    def respond(self, method: str, target: str, headers: Headers, raw: bytes) -> Outcome:
        from ._errors import invalid_api_key

        path, _, query_string = target.partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_string).items()}
        request_id = str(uuid.uuid4())
        with self._lock:
            self.calls.append((method, path))
        if not self.emulator._authorised(self._recorded(method, path, headers, raw)):
            return self._error_outcome(invalid_api_key(), request_id)
        try:
            return self._route(method, path, query, headers, raw, request_id)
        except ServiceError as error:
            return self._error_outcome(error, request_id)

    def _recorded(self, method: str, path: str, headers: Headers, raw: bytes) -> RecordedRequest:
        return RecordedRequest(
            method=method,
            path=path,
            headers=headers,
            body=None,
            raw_body=raw,
            endpoint="other",
            stream=False,
        )

    def _error_outcome(self, error: ServiceError, request_id: str) -> Outcome:
        from ._errors import compat_error_body
        from ._server import json_outcome

        if error.code.startswith("batch:"):  # the compat envelope as ERRORS spells it
            _, kind, code = error.code.split(":", 2)
            body = {
                "error": {
                    "message": error.message,
                    "type": kind,
                    "param": None,
                    "code": code or None,
                },
                "request_id": request_id,
            }
            return json_outcome(error.status, body, request_id)
        return json_outcome(error.status, compat_error_body(error, request_id), request_id)

    def _fail(self, which: str, **values: Any) -> ServiceError:
        status, kind, code, template = ERRORS[which]
        return ServiceError(status, f"batch:{kind}:{code or ''}", template.format(**values))

    def _json(self, status: int, body: Any, request_id: str, content_type: str) -> Outcome:
        from ._server import Outcome

        return Outcome(
            status=status,
            headers=(("content-type", content_type), ("x-request-id", request_id)),
            body=json.dumps(body, ensure_ascii=False).encode(),
        )

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Headers,
        raw: bytes,
        request_id: str,
    ) -> Outcome:
        rest = path[len(PREFIX) :].rstrip("/")
        segments = rest.strip("/").split("/")
        files_type = "application/json"
        batches_type = "application/json;charset=UTF-8"
        with self._lock:
            if segments[0] == "files":
                if len(segments) == 1 and method == "POST":
                    body = self._upload(headers, raw)
                    return self._json(200, body, request_id, files_type)
                if len(segments) == 1 and method == "GET":
                    return self._json(200, self._list_files(query), request_id, files_type)
                if len(segments) == 2 and method == "GET":
                    return self._json(200, self._file(segments[1]).obj(), request_id, files_type)
                if len(segments) == 2 and method == "DELETE":
                    self._file(segments[1])
                    del self.files[segments[1]]
                    deleted = {"id": segments[1], "object": "file", "deleted": True}
                    return self._json(200, deleted, request_id, files_type)
                if len(segments) == 3 and segments[2] == "content" and method == "GET":
                    return self._content(segments[1], request_id)
            elif segments[0] == "batches":
                if len(segments) == 1 and method == "POST":
                    body = self._create(raw, bearer(headers))
                    return self._json(200, body, request_id, batches_type)
                if len(segments) == 1 and method == "GET":
                    return self._json(200, self._list_batches(query), request_id, batches_type)
                if len(segments) == 2 and method == "GET":
                    batch = self._batch(segments[1])
                    if self.settings.poll_errors:
                        status, code, message = self.settings.poll_errors.pop(0)
                        raise ServiceError(status, code, message)
                    batch.polls += 1
                    self._advance(batch)
                    return self._json(200, batch.obj, request_id, batches_type)
                if len(segments) == 3 and segments[2] == "cancel" and method == "POST":
                    return self._json(200, self._cancel(segments[1]), request_id, batches_type)
        raise self._fail("method", method=method, path=path)

    # ------------------------------------------------------------------ files

    def _file(self, file_id: str) -> _File:
        found = self.files.get(file_id)
        if found is None:
            raise self._fail("file_not_found", id=file_id)
        return found

    def _upload(self, headers: Headers, raw: bytes) -> dict[str, Any]:
        fields, filename, content = parse_multipart(headers.get("content-type", ""), raw)
        purpose = fields.get("purpose", "batch")  # [DOC/INF] an upload without purpose works
        if purpose not in PURPOSES:
            raise self._fail("purpose", purposes=", ".join(PURPOSES))
        if content is None:
            raise self._fail("no_file")
        settings = self.settings
        used = sum(len(f.content) for f in self.files.values())
        if len(content) > settings.max_file_bytes or used + len(content) > (
            settings.max_storage_bytes
        ):
            raise self._fail("file_capacity")
        if len(self.files) >= settings.max_files:
            raise self._fail("file_number")
        prefix = {"batch": "file-batch-", "file-extract": "file-fe-"}.get(purpose, "file-ft-")
        record = _File(prefix + _hex(), filename or "file", purpose, int(self.clock()), content)
        self.files[record.id] = record
        return record.obj()

    def _list_files(self, query: Mapping[str, str]) -> dict[str, Any]:
        files = sorted(self.files.values(), key=lambda f: f.created_at, reverse=True)
        if "purpose" in query:
            files = [f for f in files if f.purpose == query["purpose"]]
        if "after" in query:
            ids = [f.id for f in files]
            files = files[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
        limit = _limit(query, self)
        page = files[:limit]
        # [3P-CAP] the files list has no first_id / last_id
        return {"object": "list", "data": [f.obj() for f in page], "has_more": len(files) > limit}

    def _content(self, file_id: str, request_id: str) -> Outcome:
        from ._server import Outcome

        record = self._file(file_id)
        if not file_id.startswith(("file-batch_output-", self.settings.error_file_prefix)):
            raise self._fail("not_downloadable")
        # [3P-CAP] the download has no content-type header.
        return Outcome(status=200, headers=(("x-request-id", request_id),), body=record.content)

    # ------------------------------------------------------------------ batches

    def _batch(self, batch_id: str) -> _Batch:
        found = self.batches.get(batch_id)
        if found is None:
            raise self._fail("batch_not_found", id=batch_id)
        return found

    def _create(self, raw: bytes, key: str) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            raise self._fail("missing", name="input_file_id")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not body.get(name):
                raise self._fail("missing", name=name)
        window = _window_hours(body["completion_window"])
        if window is None:
            raise self._fail("window", value=body["completion_window"])
        if body["endpoint"] not in ENDPOINTS:
            raise self._fail("endpoint", value=body["endpoint"])
        source = self.files.get(body["input_file_id"])
        if source is None:
            raise self._fail("input_file", id=body["input_file_id"])
        metadata = body.get("metadata")
        if isinstance(metadata, dict):
            for name, limit in (("ds_name", 100), ("ds_description", 200)):
                if len(str(metadata.get(name) or "")) > limit:
                    raise self._fail("metadata", name=name, limit=limit)
        if body["endpoint"] == TEST_URL:
            running = [
                b
                for b in self.batches.values()
                if b.obj["endpoint"] == TEST_URL and b.status not in TERMINAL
            ]
            if len(running) >= self.settings.test_parallel:
                raise self._fail("test_parallel")
        created = int(self.clock())
        batch_id = f"batch_{uuid.uuid4()}"
        obj = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": source.id,
            "completion_window": body["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + window * 3600 if self.settings.expires_at else None,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata if isinstance(metadata, dict) else None,
        }
        self.batches[batch_id] = _Batch(obj=obj, key=key, sequence=len(self.batches))
        return dict(obj)

    def _cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        if batch.status in TERMINAL or batch.status == "cancelling":
            if batch.status == "cancelling":
                return batch.obj
            raise self._fail("not_cancellable", id=batch_id, status=batch.status)
        self._advance(batch)  # progress up to now counts
        if batch.status in TERMINAL:
            raise self._fail("not_cancellable", id=batch_id, status=batch.status)
        batch.cancel_requested = True
        batch.obj["status"] = "cancelling"  # [3P-CAP] cancelling_at stays null in this answer
        return dict(batch.obj)

    def _list_batches(self, query: Mapping[str, str]) -> dict[str, Any]:
        for batch in self.batches.values():
            self._advance(batch)
        batches = sorted(
            self.batches.values(), key=lambda b: (b.obj["created_at"], b.sequence), reverse=True
        )
        if "ds_name" in query:  # [3P-CAP] a substring match
            batches = [
                b
                for b in batches
                if query["ds_name"] in str((b.obj["metadata"] or {}).get("ds_name") or "")
            ]
        if "input_file_ids" in query:
            wanted = set(query["input_file_ids"].split(","))
            batches = [b for b in batches if b.obj["input_file_id"] in wanted]
        if "status" in query:
            statuses = set(query["status"].split(","))
            batches = [b for b in batches if b.status in statuses]
        for name, keep in (("create_after", 1), ("create_before", -1)):
            if name in query:
                bound = time.mktime(time.strptime(query[name], "%Y%m%d%H%M%S"))
                batches = [b for b in batches if (b.obj["created_at"] - bound) * keep >= 0]
        if "after" in query:
            ids = [b.obj["id"] for b in batches]
            batches = batches[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
        limit = _limit(query, self)
        page = [dict(b.obj) for b in batches[:limit]]
        if not page:  # [3P-CAP] an empty list is null, ids null
            return {
                "object": "list",
                "data": None,
                "first_id": None,
                "last_id": None,
                "has_more": False,
            }
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"],
            "last_id": page[-1]["id"],
            "has_more": len(batches) > limit,
        }

    # ------------------------------------------------------------------ the state machine

    def advance_all(self) -> None:
        """Advance every batch to the current clock (as a retrieve would, without a poll)."""
        with self._lock:
            for batch in self.batches.values():
                self._advance(batch)

    def _duration(self, batch: _Batch) -> float:
        return self.settings.seconds + self.settings.seconds_per_line * len(batch.lines)

    def _advance(self, batch: _Batch) -> None:
        obj = batch.obj
        now = self.clock()
        stamp = int(now)
        if obj["status"] in TERMINAL:
            return
        if obj["status"] == "validating":
            errors = self._validate(batch)
            if errors:
                obj.update(status="failed", failed_at=obj["created_at"])
                obj["errors"] = {"object": "list", "data": errors}
                return
            # [3P-CAP] in_progress_at == created_at; total known from now on
            obj.update(status="in_progress", in_progress_at=obj["created_at"])
            obj["request_counts"] = {"total": len(batch.lines), "completed": 0, "failed": 0}
            batch.started = now
            batch.polls = 0
            return
        if batch.cancel_requested:  # [DOC] requests already running finish; no new ones start
            self._close(batch, "cancelled", "batch_cancelled", "The batch was cancelled.")
            obj.update(cancelling_at=stamp, cancelled_at=stamp)
            return
        window = _window_hours(obj["completion_window"]) or 24
        expired = now >= obj["created_at"] + window * 3600
        duration = self._duration(batch)
        elapsed = now - batch.started
        fraction = 1.0 if duration <= 0 else min(1.0, elapsed / duration)
        self._run_lines(batch, int(len(batch.lines) * fraction))
        if expired and batch.done < len(batch.lines):
            self._close(
                batch, "expired", "batch_expired", "The batch expired before this request ran."
            )
            obj["expired_at"] = stamp
            return
        if batch.done < len(batch.lines) or batch.polls < self.settings.progress_polls:
            return
        if self.settings.show_finalizing and not batch.finalizing_shown:
            batch.finalizing_shown = True
            obj.update(status="finalizing", finalizing_at=stamp)
            return
        self._close(batch, "completed", "", "")
        obj.update(finalizing_at=obj["finalizing_at"] or stamp, completed_at=stamp)

    def _close(self, batch: _Batch, status: str, code: str, message: str) -> None:
        """Terminal state: unfinished lines fail with ``code``; files written when non-empty."""
        for line in batch.lines[batch.done :]:
            rid = str(uuid.uuid4())
            batch.failures.append(
                {
                    "id": rid,
                    "custom_id": line.custom_id,
                    "response": None,
                    "error": {"code": code, "message": message},
                }
            )
        batch.done = len(batch.lines)
        obj = batch.obj
        obj["status"] = status
        completed = len(batch.outputs)
        obj["request_counts"] = {
            "total": len(batch.lines),
            "completed": completed,
            "failed": len(batch.failures),
        }
        if batch.outputs:
            obj["output_file_id"] = self._store("file-batch_output-", batch.outputs)
        if batch.failures:
            obj["error_file_id"] = self._store(self.settings.error_file_prefix, batch.failures)

    def _store(self, prefix: str, lines: list[dict[str, Any]]) -> str:
        ordered = list(lines)
        if self.settings.shuffle_output:
            ordered = ordered[1::2] + ordered[0::2]  # deterministic, never the input order
        content = b"".join(
            json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in ordered
        )
        record = _File(prefix + _hex(), "result.jsonl", "batch", int(self.clock()), content)
        self.files[record.id] = record
        return record.id

    # ------------------------------------------------------------------ validation

    def _validate(self, batch: _Batch) -> list[dict[str, Any]]:
        settings = self.settings
        obj = batch.obj
        endpoint = obj["endpoint"]
        content = self.files[obj["input_file_id"]].content
        raw_lines = [line for line in content.split(b"\n") if line.strip()]
        if not raw_lines:
            return [_line_error("empty_file", "The input file is empty.", None, None)]  # INF
        test = endpoint == TEST_URL
        max_lines = settings.test_max_lines if test else settings.max_lines
        max_bytes = settings.test_max_file_bytes if test else settings.max_file_bytes
        if len(raw_lines) > max_lines or len(content) > max_bytes:
            return [  # INF
                _line_error(
                    "too_many_tasks",
                    f"The input file has {len(raw_lines)} lines ({len(content)} bytes); the "
                    f"limit is {max_lines} lines and {max_bytes} bytes.",
                    None,
                    None,
                )
            ]
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        model: str | None = None
        thinking: Any = "unset"
        lines: list[_Line] = []
        for number, raw in enumerate(raw_lines, start=1):
            error, line = self._check_line(number, raw, endpoint, seen)
            if error is not None:
                errors.append(error)
                continue
            assert line is not None
            name = line.body.get("model")
            if model is None:
                model = name
            elif name != model:
                errors.append(
                    _line_error(  # [DOC]
                        "mismatched_model",
                        f"The model '{name}' for this request does not match the rest of the "
                        "batch. Each batch must contain requests for a single model.",
                        number,
                        "body.model",
                    )
                )
                continue
            value = line.body.get("enable_thinking")
            if thinking == "unset":
                thinking = value
            elif value != thinking:
                errors.append(
                    _line_error(  # INF ([DOC]: one thinking mode per file)
                        "mismatched_thinking",
                        "All requests of a batch must use the same enable_thinking value.",
                        number,
                        "body.enable_thinking",
                    )
                )
                continue
            lines.append(line)
        batch.lines = lines
        return errors

    def _check_line(
        self, number: int, raw: bytes, endpoint: str, seen: set[str]
    ) -> tuple[dict[str, Any] | None, _Line | None]:
        if len(raw) + 1 > self.settings.max_line_bytes:
            return (
                _line_error(  # INF
                    "line_too_large",
                    f"This line is over {self.settings.max_line_bytes} bytes.",
                    number,
                    None,
                ),
                None,
            )
        try:
            item = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            item = None
        if not isinstance(item, dict):
            return (
                _line_error(  # INF (OpenAI's wording)
                    "invalid_json_line", "This line is not parseable as valid JSON.", number, None
                ),
                None,
            )
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            return (
                _line_error("missing_custom_id", "custom_id is required.", number, "custom_id"),
                None,
            )
        if custom_id in seen:
            return (
                _line_error(  # [DOC]
                    "duplicate_custom_id",
                    f"The custom_id '{custom_id}' for this request is a duplicate of another "
                    "request. The custom_id parameter must be unique for each request in a "
                    "batch.",
                    number,
                    "custom_id",
                ),
                None,
            )
        seen.add(custom_id)
        if item.get("method") != "POST":
            return (
                _line_error(  # INF
                    "invalid_method",
                    f"The provided method '{item.get('method')}' is not supported; use POST.",
                    number,
                    "method",
                ),
                None,
            )
        url = item.get("url")
        if url not in ENDPOINTS:
            return (
                _line_error(  # [3P-CAP]
                    "url_not_found",
                    f"The provided url '{url}' is not supported by the Batch API.",
                    number,
                ),
                None,
            )
        body = item.get("body")
        if not isinstance(body, dict):
            return (_line_error("invalid_request", "body must be an object.", number, "body"), None)
        model = body.get("model")
        if (model == TEST_MODEL) != (url == TEST_URL):
            return (
                _line_error(  # [3P-CAP]
                    "mismatched_test_url",
                    f"The provided URL '{url}' does not match the test model '{TEST_MODEL}'.",
                    number,
                ),
                None,
            )
        if url != endpoint:
            return (
                _line_error(  # INF
                    "mismatched_url",
                    f"The provided url '{url}' does not match the batch endpoint '{endpoint}'.",
                    number,
                ),
                None,
            )
        if model != TEST_MODEL and not self._batch_capable(model, url):
            return (
                _line_error(  # [DOC error page]
                    "model_not_found",
                    f"The provided model '{model}' is not supported by the Batch API.",
                    number,
                    "body.model",
                ),
                None,
            )
        return None, _Line(number, custom_id, url, body)

    def _batch_capable(self, model: Any, url: str) -> bool:
        spec = self.emulator.models.get(model) if isinstance(model, str) else None
        if spec is None:
            return False
        wanted = "text-embedding" if url == EMBEDDINGS_URL else None
        if (wanted and spec.endpoint != wanted) or (not wanted and not spec.is_chat):
            return False
        allowed = self.settings.models
        return allowed is None or model in allowed

    # ------------------------------------------------------------------ execution

    def _run_lines(self, batch: _Batch, upto: int) -> None:
        while batch.done < min(upto, len(batch.lines)):
            line = batch.lines[batch.done]
            batch.done += 1
            result = self._execute(batch, line)
            if result["response"] and result["response"]["status_code"] == 200:
                batch.outputs.append(result)
            else:
                batch.failures.append(result)
            counts = batch.obj["request_counts"]
            counts["completed"] = len(batch.outputs)
            counts["failed"] = len(batch.failures)

    def _execute(self, batch: _Batch, line: _Line) -> dict[str, Any]:
        """One line through the emulator's compatible-mode logic: the §6 output line."""
        if line.url == TEST_URL:
            return _test_model_line(line, int(self.clock()))
        path = PREFIX + ("/embeddings" if line.url == EMBEDDINGS_URL else "/chat/completions")
        raw = json.dumps(line.body, ensure_ascii=False).encode()
        request = RecordedRequest(
            method="POST",
            path=path,
            headers=Headers(
                [("authorization", f"Bearer {batch.key}"), ("x-batch-id", batch.obj["id"])]
            ),
            body=line.body,
            raw_body=raw,
            endpoint="compat-embeddings" if line.url == EMBEDDINGS_URL else "compat-chat",
            stream=line.body.get("stream") is True,
        )
        outcome = self.emulator.respond(request)
        request_id = dict(outcome.headers).get("x-request-id") or str(uuid.uuid4())
        if outcome.frames is not None:  # INF: a batch line cannot stream
            status, body = (
                400,
                _compat_error("stream is not supported in a batch request", request_id),
            )
        elif outcome.abort or (outcome.status != 200 and not outcome.body):
            status, body = 500, _compat_error("internal error", request_id, code="internal_error")
        else:
            status = outcome.status
            try:
                body = json.loads(outcome.body)
            except ValueError:
                status, body = 500, _compat_error("internal error", request_id, "internal_error")
        if status == 200 and isinstance(body, dict):
            _lean(body)
        return {
            "id": request_id,
            "custom_id": line.custom_id,
            "response": {"status_code": status, "request_id": request_id, "body": body},
            "error": None,
        }


def _meta(batch: _Batch) -> dict[str, Any]:
    metadata = batch.obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _lean(body: dict[str, Any]) -> None:
    """[3P-CAP] batch bodies have no system_fingerprint, logprobs or prompt_tokens_details."""
    body.pop("system_fingerprint", None)
    for choice in body.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is None:
            choice.pop("logprobs", None)
    usage = body.get("usage")
    if isinstance(usage, dict):
        usage.pop("prompt_tokens_details", None)


def _compat_error(
    message: str, request_id: str, code: str = "invalid_parameter_error"
) -> dict[str, Any]:
    kind = "internal_error" if code == "internal_error" else "invalid_request_error"
    return {
        "error": {"message": message, "type": kind, "param": None, "code": code},
        "request_id": request_id,
    }


def _test_model_line(line: _Line, created: int) -> dict[str, Any]:
    """[DOC §9] the free test model's fixed answer (usage constant, as in the doc example)."""
    request_id = str(uuid.uuid4())
    body = {
        "created": created,
        "usage": {"completion_tokens": 6, "prompt_tokens": 20, "total_tokens": 26},
        "model": TEST_MODEL,
        "id": f"chatcmpl-{uuid.uuid4()}",
        "choices": [
            {"finish_reason": "stop", "index": 0, "message": {"content": "This is a test result."}}
        ],
        "object": "chat.completion",
    }
    return {
        "id": request_id,
        "custom_id": line.custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": body},
        "error": None,
    }


def _limit(query: Mapping[str, str], service: BatchService) -> int:
    raw = query.get("limit", "20")
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise service._fail("limit")
    return value


def bearer(headers: Mapping[str, str]) -> str:
    scheme, _, key = headers.get("authorization", "").strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def parse_multipart(
    content_type: str, raw: bytes
) -> tuple[dict[str, str], str | None, bytes | None]:
    """(text fields, file name, file bytes) of a ``multipart/form-data`` body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if "multipart/form-data" not in content_type.lower() or match is None:
        return {}, None, None
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, str] = {}
    filename: str | None = None
    content: bytes | None = None
    for part in raw.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disposition = next(
            (
                h.decode("utf-8", "replace")
                for h in head.split(b"\r\n")
                if h.lower().startswith(b"content-disposition")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        file_name = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            continue
        if file_name is not None or name.group(1) == "file":
            filename = file_name.group(1) if file_name else None
            content = data
        else:
            fields[name.group(1)] = data.decode("utf-8", "replace")
    return fields, filename, content
