"""DashScope's Batch API (OpenAI-compatible files + batches), the pure half: JSONL in, rows out.

A bulk job is a list of rows (chat requests or texts to embed) and one model configuration.
This module builds one JSONL line per row from the very request the real-time path would send
(``resolve_chat`` + ``_openai.render_chat(backend="dashscope")``, ``_openai.embedding_body``),
splits the lines over the service's file limits, maps output and error lines back to rows by
``custom_id``, and keeps the job's manifest (what was uploaded and created, for resuming in
another process and for recognising a re-submitted job). No I/O here except the manifest's
own small JSON reads and writes; ``_jobs`` drives the service.

Protocol facts are from the research notes on the Batch API (evidence labels as in the shared
protocol notes): line shape [DOC], ``"data": null`` lists and statuses [3P-CAP], error lines
never captured [INF].
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ._capabilities import get_model_capabilities
from ._errors import APIError, DashScopeError, InvalidRequestError, ProtocolError, error_from_body
from ._json import dumps, loads
from ._messages import ChatRequest
from ._openai import embedding_body, generation_result, render_chat
from ._openai_stream import openai_usage
from ._rules import resolve_chat
from ._types import GenerationResult, Usage

__all__ = [
    "CHAT_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "TERMINAL_STATUSES",
    "TEST_ENDPOINT",
    "TEST_MODEL",
    "BatchLimits",
    "BatchLine",
    "JobManifest",
    "PartState",
    "RowResult",
    "bulk_request",
    "chat_line",
    "compat_generation_result",
    "compatible_base",
    "embedding_line",
    "job_fingerprint",
    "limits_for",
    "multipart_body",
    "parse_result_lines",
    "split_lines",
]

Kind = Literal["chat", "embedding"]

CHAT_ENDPOINT = "/v1/chat/completions"
EMBEDDINGS_ENDPOINT = "/v1/embeddings"
TEST_ENDPOINT = "/v1/chat/ds-test"
"""[3P-CAP][DOC] the free test model answers only on this url; /v1/chat/completions fails every
line with ``mismatched_test_url``."""
TEST_MODEL = "batch-test-model"

TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
"""[DOC] the batch statuses after which nothing changes."""

JOB_PREFIX = "qdjob-"
DS_NAME_PREFIX = "qwen-dashscope:"
"""Each batch of a job is named ``qwen-dashscope:<job id>:<part>/<parts>`` (``ds_name``, at most
100 characters [DOC]); the service's substring search on ``ds_name`` finds a job's batches."""


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """What one batch file may hold.

    [DOC] 50,000 requests and 500 MB per file, 6 MB per line. Two third-party clients enforce
    1 MB per line, which no doc copy says: lines above ``warn_line_bytes`` are sent with a
    warning, lines above ``max_line_bytes`` are refused (that row fails, the others run).
    """

    max_lines: int = 50_000
    max_file_bytes: int = 500 * 1024 * 1024
    max_line_bytes: int = 6 * 1024 * 1024
    warn_line_bytes: int = 1024 * 1024
    max_active: int | None = None
    """Batches of one job that may run at once (None: all; the test model allows 2)."""


TEST_MODEL_LIMITS = BatchLimits(
    max_lines=100, max_file_bytes=1024 * 1024, max_line_bytes=1024 * 1024, max_active=2
)
"""[DOC] batch-test-model: at most 100 lines and 1 MB per file, 2 tasks at once, free."""


def limits_for(model: str, limits: BatchLimits | None = None) -> BatchLimits:
    """The limits of a job on ``model`` (the test model's are stricter)."""
    if limits is not None:
        return limits
    return TEST_MODEL_LIMITS if model == TEST_MODEL else BatchLimits()


def compatible_base(base_url: str) -> str:
    """The OpenAI-compatible base (``…/compatible-mode/v1``) of a native base (``…/api/v1``),
    on the same host: the region's Batch API host, or the emulator's."""
    parts = urlsplit(base_url.rstrip("/"))
    path = parts.path
    if path.endswith("/api/v1"):
        path = path[: -len("/api/v1")]
    elif path.endswith("/compatible-mode/v1"):
        path = path[: -len("/compatible-mode/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path + "/compatible-mode/v1", "", ""))


# ----------------------------------------------------------------------------- lines in


def bulk_request(request: ChatRequest, *, thinking: bool | None = None) -> ChatRequest:
    """``request`` with the bulk-job thinking rule applied.

    [DOC] Qwen3.5/3.6/3.7-max models think by default even in batch, which multiplies the
    cost (≈1,150 output tokens instead of 29 for one 3P task). Bulk jobs therefore send
    ``enable_thinking=False`` to hybrid models unless the request (or ``thinking``) says
    otherwise; models that always think are left alone, unknown models get nothing.
    """
    params = dict(request.parameters)
    if thinking is not None and params.get("enable_thinking") is None:
        params["enable_thinking"] = thinking
    elif params.get("enable_thinking") is None:
        caps = get_model_capabilities(request.model)
        if caps.known and caps.thinking == "hybrid":
            params["enable_thinking"] = False
    if params == dict(request.parameters):
        return request
    return dataclasses.replace(request, parameters=params)


def chat_endpoint(model: str) -> str:
    return TEST_ENDPOINT if model == TEST_MODEL else CHAT_ENDPOINT


def _line(custom_id: str, url: str, body: Mapping[str, Any]) -> bytes:
    return dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def chat_body(request: ChatRequest) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body of one row: what the compatible-mode real-time call
    would send (every rule of ``resolve_chat`` applied)."""
    resolved = resolve_chat(request, stream=False)
    if resolved.wire_stream:
        raise InvalidRequestError(
            f"{request.model!r} only answers streamed requests (with these settings), and the "
            "Batch API does not stream; use a model (or enable_thinking setting) that answers "
            "non-streamed calls, or the in-process runner",
            param="model",
        )
    return render_chat(resolved, backend="dashscope").body


def chat_line(row: int, request: ChatRequest) -> bytes:
    """One JSONL line (no newline) for row ``row``: ``custom_id`` is the row's index."""
    return _line(str(row), chat_endpoint(request.model), chat_body(request))


def embedding_line(
    row: int,
    model: str,
    text: str,
    *,
    dimensions: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """One ``/v1/embeddings`` line embedding one text (one row per line, so a bad text fails
    only its own row; the compatible API would take up to 10 per line [DOC])."""
    if not isinstance(text, str):
        raise InvalidRequestError(
            f"a text to embed must be a string, got {type(text).__name__}", param="texts"
        )
    if not text:
        raise InvalidRequestError("an empty text cannot be embedded", param="texts")
    body = embedding_body(model, [text], dimensions=dimensions, extra=extra)
    body["input"] = text
    return _line(str(row), EMBEDDINGS_ENDPOINT, body)


@dataclass(frozen=True, slots=True)
class BatchLine:
    row: int
    data: bytes
    """The JSONL line without its newline."""


def split_lines(
    lines: Sequence[BatchLine], limits: BatchLimits
) -> tuple[list[list[BatchLine]], dict[int, InvalidRequestError]]:
    """Lines grouped into files within ``limits`` (in row order), and the rows refused because
    their line alone is over the line limit."""
    parts: list[list[BatchLine]] = []
    refused: dict[int, InvalidRequestError] = {}
    current: list[BatchLine] = []
    size = 0
    warned = False
    for line in lines:
        length = len(line.data) + 1
        if length > limits.max_line_bytes:
            refused[line.row] = InvalidRequestError(
                f"row {line.row}: its request is {length} bytes, over the Batch API's "
                f"{limits.max_line_bytes}-byte line limit; shorten it or run it in process",
                param="inputs",
            )
            continue
        if length > limits.warn_line_bytes and not warned:
            warned = True
            warnings.warn(
                f"row {line.row}: its request is {length} bytes; some DashScope accounts "
                f"refuse Batch API lines over {limits.warn_line_bytes} bytes",
                UserWarning,
                stacklevel=3,
            )
        if current and (len(current) >= limits.max_lines or size + length > limits.max_file_bytes):
            parts.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        parts.append(current)
    return parts, refused


def jsonl(lines: Iterable[BatchLine]) -> bytes:
    return b"".join(line.data + b"\n" for line in lines)


def job_fingerprint(
    kind: Kind, model: str, lines: Iterable[BatchLine], rows: int, limits: BatchLimits | None = None
) -> str:
    """The id of a job: the same inputs and settings give the same id, so a re-submitted job
    is recognised (and resumed) instead of paid for twice. The split limits are part of it:
    another split is another set of batches."""
    split = "" if limits is None else f"{limits.max_lines}/{limits.max_file_bytes}"
    digest = hashlib.sha256(f"{kind}\0{model}\0{rows}\0{split}\0".encode())
    for line in lines:
        digest.update(line.data)
        digest.update(b"\n")
    return JOB_PREFIX + digest.hexdigest()[:24]


def new_job_id() -> str:
    return JOB_PREFIX + uuid.uuid4().hex[:24]


def ds_name(job_id: str, part: int, parts: int) -> str:
    return f"{DS_NAME_PREFIX}{job_id}:{part + 1}/{parts}"


def parse_ds_name(name: Any) -> tuple[str, int, int] | None:
    """(job id, part index, parts) from a batch's ``ds_name``, if it is one of ours."""
    if not isinstance(name, str) or not name.startswith(DS_NAME_PREFIX):
        return None
    try:
        job, position = name[len(DS_NAME_PREFIX) :].rsplit(":", 1)
        part, parts = position.split("/")
        return job, int(part) - 1, int(parts)
    except ValueError:
        return None


def multipart_body(fields: Mapping[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with text ``fields`` and one ``file``; and its
    content type."""
    boundary = "qwen-dashscope-" + uuid.uuid4().hex
    out: list[bytes] = []
    for name, value in fields.items():
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n".encode()
    )
    out.append(content)
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------------------- rows out


@dataclass(slots=True)
class RowResult:
    """One row of a bulk job: the value (a ``GenerationResult`` or a vector) or the error."""

    index: int
    value: Any = None
    usage: Usage | None = None
    request_id: str | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _usage(usage: Any) -> Usage:
    """Compatible-mode usage as core ``Usage`` (the real-time reader's ``openai_usage``)."""
    return openai_usage(usage) if isinstance(usage, dict) else Usage()


def compat_generation_result(body: Any, request_id: str | None) -> GenerationResult:
    """A ``chat.completion`` body (a Batch API output line's) as a ``GenerationResult``: the
    real-time OpenAI-protocol reader (``_openai.generation_result``), so a batch row and a
    real-time call give the same result for the same body."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise ProtocolError(
            f"expected a chat.completion body, got {str(body)[:200]!r}", request_id=request_id
        )
    return generation_result(body, request_id=request_id)


def _embedding_value(body: Any, request_id: str | None) -> list[float]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ProtocolError(
            f"expected an embeddings body, got {str(body)[:200]!r}", request_id=request_id
        )
    vector = data[0].get("embedding")
    if isinstance(vector, str):  # encoding_format base64 (not what we ask for, but valid)
        import array

        values = array.array("f")
        values.frombytes(base64.b64decode(vector))
        return list(values)
    if not isinstance(vector, list):
        raise ProtocolError("an embedding without a vector", request_id=request_id)
    return [float(x) for x in vector]


def _line_error(line: Mapping[str, Any]) -> DashScopeError | None:
    """The error of an output/error-file line, or None for a success.

    [INF] no error line was ever captured: HTTP-level failures are read as
    ``response.status_code != 200`` with the compatible error envelope in ``response.body``;
    batch-level ones as ``error`` with ``code``/``message`` (the doc's own script reads
    ``error_code``/``error_message``: both are accepted)."""
    response = line.get("response")
    error = line.get("error")
    request_id = None
    if isinstance(response, dict):
        request_id = response.get("request_id") or line.get("id")
        status = response.get("status_code")
        if isinstance(status, int) and status != 200:
            body = response.get("body")
            return error_from_body(status, body, header_request_id=request_id)
    if isinstance(error, dict):
        code = error.get("code") or error.get("error_code")
        message = error.get("message") or error.get("error_message") or "the row failed"
        return error_from_body(
            None,
            {"error": {"code": code, "message": message}},
            header_request_id=request_id or line.get("id"),
        )
    if not isinstance(response, dict):
        return ProtocolError(f"a result line without a response: {str(line)[:200]!r}")
    return None


def parse_result_lines(content: bytes, kind: Kind) -> dict[int, RowResult]:
    """Rows (by index) from an output or error file (JSONL, any order [DOC][3P-CAP])."""
    rows: dict[int, RowResult] = {}
    for raw in content.splitlines():
        if not raw.strip():
            continue
        try:
            line = loads(raw)
            index = int(line["custom_id"])
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours (or not JSON): nothing to map it to
        error = _line_error(line)
        response = line.get("response") if isinstance(line.get("response"), dict) else {}
        request_id = response.get("request_id") or line.get("id")
        if error is not None:
            rows[index] = RowResult(index, request_id=error.request_id or request_id, error=error)
            continue
        try:
            if kind == "chat":
                value: Any = compat_generation_result(response.get("body"), request_id)
                usage = value.usage
            else:
                value = _embedding_value(response.get("body"), request_id)
                usage = _usage((response.get("body") or {}).get("usage"))
        except DashScopeError as exc:
            rows[index] = RowResult(index, request_id=request_id, error=exc)
            continue
        rows[index] = RowResult(index, value=value, usage=usage, request_id=request_id)
    return rows


def validation_errors(batch: Mapping[str, Any], rows: Sequence[int]) -> dict[int, APIError]:
    """Per-row errors of a batch that failed validation (``errors.data[]``, 1-based ``line``
    numbers [3P-CAP]); the other rows of that file fail with a note naming the cause."""
    errors = batch.get("errors")
    entries = errors.get("data") if isinstance(errors, dict) else None
    entries = entries if isinstance(entries, list) else []
    found: dict[int, APIError] = {}
    summary = "the batch failed validation"
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        code, message = entry.get("code"), entry.get("message") or "invalid line"
        summary = f"the batch failed validation ({code}: {message})"
        line = entry.get("line")
        if isinstance(line, int) and 1 <= line <= len(rows):
            found[rows[line - 1]] = error_from_body(
                None, {"error": {"code": code, "message": message}}
            )
    result: dict[int, APIError] = {}
    for row in rows:
        result[row] = found.get(row) or error_from_body(
            None,
            {
                "error": {
                    "code": "batch_failed",
                    "message": f"{summary}; this row was not run",
                }
            },
        )
    return result


# ---------------------------------------------------------------------------- manifest


def _ranges(rows: Sequence[int]) -> list[list[int]]:
    """Sorted row indices as ``[start, stop)`` ranges (compact in the manifest)."""
    out: list[list[int]] = []
    for row in rows:
        if out and out[-1][1] == row:
            out[-1][1] = row + 1
        else:
            out.append([row, row + 1])
    return out


def _unranges(ranges: Iterable[Sequence[int]]) -> list[int]:
    return [row for start, stop in ranges for row in range(start, stop)]


@dataclass
class PartState:
    """One batch of a job: its rows, what has been uploaded and created, where it stands."""

    index: int
    rows: list[int]
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "pending"
    """``pending`` until the batch is created; then the service's word."""
    creating: bool = False
    """A create request may have reached the service (look for the batch before re-creating)."""
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = field(default_factory=dict)
    downloaded: bool = False
    batch: dict[str, Any] = field(default_factory=dict)
    """The batch object as last retrieved."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["rows"] = _ranges(self.rows)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PartState:
        values = dict(data)
        values["rows"] = _unranges(values.get("rows") or ())
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _error_json(error: BaseException) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "message": getattr(error, "message", str(error)),
        "param": getattr(error, "param", None),
        "code": getattr(error, "code", None),
    }


def _error_from_json(data: Mapping[str, Any]) -> DashScopeError:
    if data.get("type") == "InvalidRequestError":
        return InvalidRequestError(str(data.get("message")), param=data.get("param"))
    return error_from_body(
        None, {"error": {"code": data.get("code"), "message": data.get("message")}}
    )


@dataclass
class JobManifest:
    """What a job is and where it stands: saved as ``manifest.json`` in the job's folder after
    every change, so any process can pick it up (``batch_job(id)``)."""

    id: str
    kind: Kind
    model: str
    endpoint: str
    rows: int
    base_url: str = ""
    """The compatible-mode base the job's batches live on (one region)."""
    completion_window: str = "24h"
    metadata: dict[str, str] = field(default_factory=dict)
    parts: list[PartState] = field(default_factory=list)
    refused: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Rows that were never sent (their request broke a rule), with their error."""
    max_active: int | None = None
    version: int = 1

    def refuse(self, row: int, error: BaseException) -> None:
        self.refused[row] = _error_json(error)

    def refused_errors(self) -> dict[int, DashScopeError]:
        return {row: _error_from_json(data) for row, data in self.refused.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "id": self.id,
            "kind": self.kind,
            "model": self.model,
            "endpoint": self.endpoint,
            "rows": self.rows,
            "base_url": self.base_url,
            "completion_window": self.completion_window,
            "metadata": self.metadata,
            "max_active": self.max_active,
            "refused": {str(k): v for k, v in self.refused.items()},
            "parts": [p.to_json() for p in self.parts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobManifest:
        if data.get("version") != 1:
            raise ProtocolError(f"unknown job manifest version {data.get('version')!r}")
        return cls(
            id=data["id"],
            kind=data["kind"],
            model=data["model"],
            endpoint=data["endpoint"],
            rows=int(data["rows"]),
            base_url=data.get("base_url") or "",
            completion_window=data.get("completion_window") or "24h",
            metadata=dict(data.get("metadata") or {}),
            max_active=data.get("max_active"),
            refused={int(k): dict(v) for k, v in (data.get("refused") or {}).items()},
            parts=[PartState.from_json(p) for p in data.get("parts") or ()],
        )


def default_jobs_dir() -> Path:
    """Where job folders live: ``$QWEN_DASHSCOPE_JOBS_DIR``, else the user's cache folder."""
    configured = os.environ.get("QWEN_DASHSCOPE_JOBS_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "qwen-dashscope" / "jobs"


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` so that a kill leaves the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def save_manifest(folder: Path, manifest: JobManifest) -> None:
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1)
    write_atomic(folder / "manifest.json", text.encode())


def load_manifest(folder: Path) -> JobManifest | None:
    path = folder / "manifest.json"
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ProtocolError(f"the job manifest {path} is not valid JSON: {exc}") from None
    return JobManifest.from_json(data)
