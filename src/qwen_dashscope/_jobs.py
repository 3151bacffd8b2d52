"""Bulk jobs on DashScope's Batch API: submit, follow, resume, cancel, collect (runner 2).

A job is one or more batches (the rows split over the service's file limits), and a folder
on disk with its manifest (``_batch.JobManifest``). Where the state lives, and why:

* **the folder** (``$QWEN_DASHSCOPE_JOBS_DIR``, default ``~/.cache/qwen-dashscope/jobs/<id>``)
  holds the manifest, saved after every step, the input files of batches not yet created,
  and the downloaded output/error files. Any process on the machine resumes the job with
  ``batch_job(id)``: it creates only the batches still missing, polls the others, and
  downloads each result file once.
* **the service** holds each batch under ``ds_name = "qwen-dashscope:<id>:<part>/<parts>"``
  (its documented task-name field, which ``GET /batches?ds_name=`` searches), so a job can be
  re-attached from another machine without the folder, and a create request whose answer was
  lost (a kill, a timeout) is found there before a second, paid batch is created.

The job id is a digest of the model, the settings and every JSONL line, so submitting the
same inputs again finds the job (locally, else on the service) instead of paying twice;
``dedup=False`` forces a new job.

Several processes may follow one job at once (a notebook and a cron job, two workers): every
step that changes it (submit, refresh, cancel) holds the job folder's lock (``flock`` on
``<folder>/.lock``, POSIX) and starts from the manifest on disk, so a batch another process
created meanwhile is seen, not created again. (Without ``fcntl``, on Windows, there is no lock:
follow a job from one process at a time there.)
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ._batch import (
    EMBEDDINGS_ENDPOINT,
    TERMINAL_STATUSES,
    BatchLimits,
    BatchLine,
    JobManifest,
    PartState,
    RowResult,
    bulk_request,
    chat_endpoint,
    chat_line,
    compatible_base,
    default_jobs_dir,
    ds_name,
    embedding_line,
    job_fingerprint,
    jsonl,
    limits_for,
    load_manifest,
    new_job_id,
    parse_ds_name,
    parse_result_lines,
    save_manifest,
    split_lines,
    validation_errors,
    write_atomic,
)
from ._errors import (
    APIConnectionError,
    APIError,
    DashScopeError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    error_from_body,
)
from ._messages import ChatRequest

if TYPE_CHECKING:
    from ._client import DashScopeClient

__all__ = ["BatchJob", "batch_job", "submit_chat_batch", "submit_embedding_batch"]

logger = logging.getLogger("qwen_dashscope")

POLL_START = 2.0
POLL_MAX = 60.0
"""[DOC] poll no more than about once a minute, backing off: 2 s, ×1.5 each poll, ≤ 60 s."""
_STATUS_ORDER = ("pending", "validating", "in_progress", "finalizing", "cancelling")


def _no_result(part: PartState | None) -> APIError:
    where = (
        f"its batch {part.batch_id} ended {part.status!r} without a line for it"
        if part is not None and part.batch_id
        else "its batch was never created (submit the same inputs again to create it)"
    )
    return error_from_body(
        None, {"error": {"code": "no_result", "message": f"no result for this row: {where}"}}
    )


@contextlib.contextmanager
def _job_lock(folder: Path) -> Iterator[None]:
    """Hold the job folder's lock (exclusive, between processes and threads alike: each holder
    opens the file itself). Not re-entrant: take it once per step."""
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class BatchJob:
    """A bulk job on DashScope's Batch API (half the real-time price; results within the
    completion window, typically minutes to hours).

    ``id``; ``status`` (the service's word: ``validating``, ``in_progress``, ``finalizing``,
    ``completed``, ``failed``, ``expired``, ``cancelling``, ``cancelled``; a job of several
    batches reports the least advanced one, and once all have ended ``completed`` only if all
    did); ``refresh()``; ``cancel()``; ``wait()`` -> the results in input order, a failed
    row's exception in its place.
    """

    def __init__(
        self,
        client: DashScopeClient,
        manifest: JobManifest,
        folder: Path,
        *,
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        self._client = client
        self.manifest = manifest
        self.folder = folder
        self._convert = convert

    def __repr__(self) -> str:
        return f"BatchJob(id={self.id!r}, status={self.status!r}, rows={self.manifest.rows})"

    # -- state ------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def parts(self) -> list[PartState]:
        return self.manifest.parts

    @property
    def batch_ids(self) -> list[str]:
        return [p.batch_id for p in self.parts if p.batch_id]

    @property
    def status(self) -> str:
        statuses = [p.status for p in self.parts]
        if not statuses:
            return "completed"  # every row was refused before sending: nothing runs
        running = [s for s in statuses if s not in TERMINAL_STATUSES]
        if running:
            return min(running, key=lambda s: _STATUS_ORDER.index(s) if s in _STATUS_ORDER else 0)
        for word in ("cancelled", "expired", "failed"):
            if word in statuses:
                return word
        return "completed"

    @property
    def done(self) -> bool:
        return all(p.terminal and p.downloaded for p in self.parts)

    @property
    def request_counts(self) -> dict[str, int]:
        """Rows of the job: total, completed and failed so far (service counts, plus the rows
        refused before sending)."""
        refused = len(self.manifest.refused)
        counts = {"total": self.manifest.rows, "completed": 0, "failed": refused}
        for part in self.parts:
            counts["completed"] += int(part.request_counts.get("completed") or 0)
            counts["failed"] += int(part.request_counts.get("failed") or 0)
            if part.status == "failed":  # validation failed: every row of it
                counts["failed"] += len(part.rows)
        return counts

    def _save(self) -> None:
        save_manifest(self.folder, self.manifest)

    def _part_file(self, part: PartState, suffix: str) -> Path:
        return self.folder / f"part-{part.index:04d}.{suffix}"

    # -- the service ------------------------------------------------------------------------
    def _find_batch(self, part: PartState) -> dict[str, Any] | None:
        """The batch of ``part`` on the service, if a create request of ours reached it."""
        name = ds_name(self.id, part.index, len(self.parts))
        page = self._client.list_batches(ds_name=name, limit=100)
        for batch in page.get("data") or ():
            metadata = batch.get("metadata") or {}
            if metadata.get("ds_name") == name and batch.get("status") != "failed":
                return dict(batch)
        return None

    def _adopt(self, part: PartState, batch: Mapping[str, Any]) -> None:
        part.batch_id = batch["id"]
        part.input_file_id = batch.get("input_file_id") or part.input_file_id
        part.creating = False
        self._update(part, batch)
        with contextlib.suppress(FileNotFoundError):
            self._part_file(part, "jsonl").unlink()

    def _update(self, part: PartState, batch: Mapping[str, Any]) -> None:
        part.batch = dict(batch)
        part.status = str(batch.get("status") or part.status)
        part.output_file_id = batch.get("output_file_id")
        part.error_file_id = batch.get("error_file_id")
        counts = batch.get("request_counts")
        if isinstance(counts, dict):
            part.request_counts = {k: int(v or 0) for k, v in counts.items()}

    def _create(self, part: PartState) -> None:
        if part.creating or part.input_file_id:  # an earlier process may have created it
            found = self._find_batch(part)
            if found is not None:
                self._adopt(part, found)
                self._save()
                return
        if part.input_file_id is None:
            source = self._part_file(part, "jsonl")
            if not source.exists():
                part.status = "failed"
                part.request_counts = {"total": len(part.rows), "completed": 0, "failed": 0}
                self._save()
                return
            uploaded = self._client.upload_file(
                source.read_bytes(), filename=f"{self.id}-{part.index + 1}.jsonl"
            )
            part.input_file_id = str(uploaded["id"])
        part.creating = True
        self._save()
        metadata = {
            **self.manifest.metadata,
            "ds_name": ds_name(self.id, part.index, len(self.parts)),
            "ds_description": (
                f"qwen-dashscope bulk job {self.id}, part {part.index + 1} of "
                f"{len(self.parts)}, rows={self.manifest.rows}"
            ),
        }
        try:
            batch = self._client.create_batch(
                part.input_file_id,
                self.manifest.endpoint,
                completion_window=self.manifest.completion_window,
                metadata=metadata,
            )
        except (APIConnectionError, ServerError):
            found = self._find_batch(part)  # the request may have been served all the same
            if found is None:
                part.creating = False
                self._save()
                raise
            batch = found
        self._adopt(part, batch)
        self._save()

    def _download(self, part: PartState) -> None:
        for file_id, suffix in ((part.output_file_id, "output"), (part.error_file_id, "errors")):
            if file_id:
                write_atomic(
                    self._part_file(part, f"{suffix}.jsonl"), self._client.file_content(file_id)
                )
        part.downloaded = True
        self._save()

    def _reload(self) -> None:
        """Start from the manifest on disk: another process may have moved the job on."""
        current = load_manifest(self.folder)
        if current is not None and current.id == self.manifest.id:
            self.manifest = current

    def refresh(self) -> BatchJob:
        """Create the batches still missing (within the limit of batches at once), retrieve
        the running ones, download the result files of those that ended. Holds the job's
        lock and starts from the manifest on disk (see the module's notes)."""
        with _job_lock(self.folder):
            self._reload()
            self._refresh()
        return self

    def _refresh(self) -> None:
        for part in self.parts:
            if part.batch_id and not part.terminal:
                self._update(part, self._client.retrieve_batch(part.batch_id))
                self._save()
        limit = self.manifest.max_active
        for part in self.parts:
            if part.batch_id is not None or part.terminal:
                continue
            active = sum(1 for p in self.parts if p.batch_id and not p.terminal)
            if limit is not None and active >= limit:
                break
            self._create(part)
        for part in self.parts:
            if part.terminal and not part.downloaded:
                self._download(part)

    def cancel(self) -> BatchJob:
        """Cancel every batch still running (rows already done keep their results and are
        billed [DOC]); batches not created yet are never created."""
        with _job_lock(self.folder):
            self._reload()
            self._cancel()
        return self

    def _cancel(self) -> None:
        for part in self.parts:
            if part.terminal:
                continue
            if part.batch_id is None:
                part.status = "cancelled"
                part.downloaded = True
                continue
            if part.status != "cancelling":
                self._update(part, self._client.cancel_batch(part.batch_id))
        self._save()

    def wait(
        self,
        poll_interval: float | None = None,
        timeout: float | None = None,
        *,
        return_exceptions: bool = True,
        progress: bool = False,
    ) -> list[Any]:
        """Poll until every batch has ended; the results in input order (a failed row's
        exception in its place, or raised with ``return_exceptions=False``).

        ``poll_interval``: seconds between polls (default: 2 s growing to 60 s). ``timeout``:
        raise ``TimeoutError`` after that many seconds (the job goes on; wait again or
        ``batch_job(id)`` later). Transient poll failures are logged and polling goes on.
        """
        start = time.monotonic()
        delay = POLL_START if poll_interval is None else poll_interval
        bar = _JobProgress(self.manifest.rows, progress)
        try:
            while True:
                try:
                    self.refresh()
                except (APIConnectionError, ServerError, RateLimitError) as error:
                    logger.warning("job %s: polling failed (%s); retrying", self.id, error)
                bar.show(self)
                if self.done:
                    break
                if timeout is not None and time.monotonic() - start + delay > timeout:
                    raise TimeoutError(
                        f"job {self.id} is still {self.status} after {timeout}s; call wait() "
                        f"again, or batch_job({self.id!r}) from any process later"
                    )
                time.sleep(delay)
                if poll_interval is None:
                    delay = min(POLL_MAX, delay * 1.5)
        finally:
            bar.close()
        results = self.results()
        if not return_exceptions:
            first = next((r for r in results if isinstance(r, BaseException)), None)
            if first is not None:
                raise first
        return results

    # -- results ----------------------------------------------------------------------------
    def rows(self) -> list[RowResult]:
        """Every row (value, usage, request id, error) in input order; the job must be done."""
        if not self.done:
            raise InvalidRequestError(
                f"job {self.id} is still {self.status}: call wait() first", param="job"
            )
        found: dict[int, RowResult] = {}
        owner: dict[int, PartState] = {}
        for part in self.parts:
            owner.update(dict.fromkeys(part.rows, part))
            if part.status == "failed" and part.batch:
                for row, error in validation_errors(part.batch, part.rows).items():
                    found[row] = RowResult(row, error=error)
                continue
            for suffix in ("errors", "output"):  # a success wins over an error line
                path = self._part_file(part, f"{suffix}.jsonl")
                if path.exists():
                    found.update(parse_result_lines(path.read_bytes(), self.manifest.kind))
        for row, refused in self.manifest.refused_errors().items():
            found[row] = RowResult(row, error=refused)
        return [
            found.get(i) or RowResult(i, error=_no_result(owner.get(i)))
            for i in range(self.manifest.rows)
        ]

    def results(self) -> list[Any]:
        """The rows as values (converted for the framework) or exceptions, in input order."""
        out: list[Any] = []
        for row in self.rows():
            if row.error is not None:
                out.append(row.error)
            else:
                out.append(row.value if self._convert is None else self._convert(row.value))
        return out


class _JobProgress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._last = ""
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, unit="row", desc="batch job")

    def show(self, job: BatchJob) -> None:
        counts = job.request_counts
        done = counts["completed"] + counts["failed"]
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(status=job.status, failed=counts["failed"], refresh=True)
            return
        line = f"{job.status} {done}/{counts['total']}"
        if line != self._last:
            self._last = line
            logger.info(
                "job %s: %s, %d/%d rows done (%d failed)",
                job.id,
                job.status,
                done,
                counts["total"],
                counts["failed"],
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ------------------------------------------------------------------------------ entry points


def _folder(jobs_dir: str | Path | None, job_id: str) -> Path:
    return (Path(jobs_dir) if jobs_dir is not None else default_jobs_dir()) / job_id


def _service_batches(
    client: DashScopeClient, job_id: str
) -> tuple[dict[int, dict[str, Any]], int, int]:
    """The batches of job ``job_id`` on the service, by part: (batches, parts, rows)."""
    found: dict[int, dict[str, Any]] = {}
    parts_count = rows = 0
    after: str | None = None
    while True:
        page = client.list_batches(ds_name=f"qwen-dashscope:{job_id}:", limit=100, after=after)
        for batch in page.get("data") or ():
            metadata = batch.get("metadata") or {}
            parsed = parse_ds_name(metadata.get("ds_name"))
            if parsed is None or parsed[0] != job_id:
                continue
            _, index, parts_count = parsed
            match = re.search(r"rows=(\d+)", str(metadata.get("ds_description") or ""))
            rows = max(rows, int(match.group(1)) if match else 0)
            if index not in found or found[index].get("status") == "failed":
                found[index] = dict(batch)  # newest first: keep the newest that did not fail
        if not page.get("has_more") or not page.get("last_id"):
            break
        after = page["last_id"]
    return found, parts_count, rows


def _check_window(window: Any) -> str:
    match = re.fullmatch(r"(\d+)([hd])", window) if isinstance(window, str) else None
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
    if not 24 <= hours <= 336:
        raise InvalidRequestError(
            f"completion_window={window!r}: the Batch API takes 24h to 336h, in whole hours "
            "or days ('24h', '14d')",
            param="completion_window",
        )
    return str(window)


def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if key in ("ds_name", "ds_description"):
            raise InvalidRequestError(
                f"metadata[{key!r}] is set by the job (it names the job's batches so that they "
                "can be found again); put your own keys beside it",
                param="metadata",
            )
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRequestError(
                f"metadata must map strings to strings, got {key!r}: {value!r}", param="metadata"
            )
        out[key] = value
    return out


def _submit(
    client: DashScopeClient,
    kind: str,
    model: str,
    endpoint: str,
    lines: Sequence[BatchLine],
    refused: Mapping[int, DashScopeError],
    rows: int,
    *,
    completion_window: str,
    metadata: Mapping[str, Any] | None,
    jobs_dir: str | Path | None,
    dedup: bool,
    limits: BatchLimits | None,
    convert: Callable[[Any], Any] | None,
) -> BatchJob:
    window = _check_window(completion_window)
    user_metadata = _check_metadata(metadata)
    if not lines:
        first = next(iter(refused.values()), None)
        if first is not None:
            raise first  # nothing to submit: every row broke the same kind of rule
        raise InvalidRequestError("no inputs: submit at least one row", param="inputs")
    limits = limits_for(model, limits)
    parts, too_large = split_lines(lines, limits)
    base = compatible_base(client.base_url)
    job_id = (
        job_fingerprint(kind, model, lines, rows, limits)  # type: ignore[arg-type]
        if dedup
        else new_job_id()
    )
    folder = _folder(jobs_dir, job_id)
    with _job_lock(folder):  # two processes submitting the same inputs write one manifest
        existing = load_manifest(folder)
        if existing is None:
            job = _new_job(
                client,
                folder,
                JobManifest(
                    id=job_id,
                    kind=kind,  # type: ignore[arg-type]
                    model=model,
                    endpoint=endpoint,
                    rows=rows,
                    base_url=base,
                    completion_window=window,
                    metadata=user_metadata,
                    max_active=limits.max_active,
                    parts=[
                        PartState(index=i, rows=[line.row for line in part])
                        for i, part in enumerate(parts)
                    ],
                ),
                parts,
                {**refused, **too_large},
                dedup=dedup,
                convert=convert,
            )
    if existing is not None:
        logger.info("job %s was submitted before: resuming it", job_id)
        return _resume(client, existing, folder, convert)
    return job.refresh()


def _new_job(
    client: DashScopeClient,
    folder: Path,
    manifest: JobManifest,
    parts: Sequence[Sequence[BatchLine]],
    refused: Mapping[int, DashScopeError],
    *,
    dedup: bool,
    convert: Callable[[Any], Any] | None,
) -> BatchJob:
    """A new job's manifest and input files, written under the job's lock (adopting batches
    the service already has under the job's name)."""
    for row, error in refused.items():
        manifest.refuse(row, error)
    for state, part in zip(manifest.parts, parts, strict=True):
        write_atomic(folder / f"part-{state.index:04d}.jsonl", jsonl(part))
    job = BatchJob(client, manifest, folder, convert=convert)
    if dedup:  # submitted before from another machine (or a lost folder): adopt what exists
        found, _, _ = _service_batches(client, manifest.id)
        for state in manifest.parts:
            if state.index in found:
                job._adopt(state, found[state.index])
    save_manifest(folder, manifest)
    return job


def _resume(
    client: DashScopeClient,
    manifest: JobManifest,
    folder: Path,
    convert: Callable[[Any], Any] | None,
) -> BatchJob:
    base = compatible_base(client.base_url)
    if manifest.base_url and manifest.base_url != base:
        raise InvalidRequestError(
            f"job {manifest.id} runs on {manifest.base_url}, not on {base}: use a client (or "
            "model) configured for that region / base_url",
            param="base_url",
        )
    job = BatchJob(client, manifest, folder, convert=convert)
    return job.refresh()


def submit_chat_batch(
    client: DashScopeClient,
    requests: Iterable[ChatRequest],
    *,
    completion_window: str = "24h",
    metadata: Mapping[str, Any] | None = None,
    jobs_dir: str | Path | None = None,
    dedup: bool = True,
    thinking: bool | None = None,
    limits: BatchLimits | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> BatchJob:
    """Submit chat requests (one model) as a Batch API job; ``wait()`` for the results.

    Each row is the request the real-time call would send (every rule applied), on
    ``/v1/chat/completions`` (``/v1/chat/ds-test`` for the free ``batch-test-model``), with
    thinking off on hybrid models unless asked for (``thinking=True`` or
    ``enable_thinking``). A row that breaks a rule fails alone, with its
    ``InvalidRequestError``; the others are sent.
    """
    requests = list(requests)
    lines: list[BatchLine] = []
    refused: dict[int, DashScopeError] = {}
    models = {r.model for r in requests}
    if len(models) > 1:
        raise InvalidRequestError(
            f"a Batch API job runs one model, got {sorted(models)}; submit one job per model",
            param="model",
        )
    model = next(iter(models), "")
    for row, request in enumerate(requests):
        try:
            lines.append(BatchLine(row, chat_line(row, bulk_request(request, thinking=thinking))))
        except InvalidRequestError as error:
            refused[row] = error
    return _submit(
        client,
        "chat",
        model,
        chat_endpoint(model),
        lines,
        refused,
        len(requests),
        completion_window=completion_window,
        metadata=metadata,
        jobs_dir=jobs_dir,
        dedup=dedup,
        limits=limits,
        convert=convert,
    )


def submit_embedding_batch(
    client: DashScopeClient,
    texts: Iterable[str],
    *,
    model: str,
    dimensions: int | None = None,
    completion_window: str = "24h",
    metadata: Mapping[str, Any] | None = None,
    jobs_dir: str | Path | None = None,
    dedup: bool = True,
    limits: BatchLimits | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> BatchJob:
    """Submit texts to embed (one per line, on ``/v1/embeddings``) as a Batch API job."""
    if isinstance(texts, str):
        raise InvalidRequestError("texts must be a list of strings, not one string", param="texts")
    texts = list(texts)
    lines: list[BatchLine] = []
    refused: dict[int, DashScopeError] = {}
    for row, text in enumerate(texts):
        try:
            lines.append(BatchLine(row, embedding_line(row, model, text, dimensions=dimensions)))
        except InvalidRequestError as error:
            refused[row] = error
    return _submit(
        client,
        "embedding",
        model,
        EMBEDDINGS_ENDPOINT,
        lines,
        refused,
        len(texts),
        completion_window=completion_window,
        metadata=metadata,
        jobs_dir=jobs_dir,
        dedup=dedup,
        limits=limits,
        convert=convert,
    )


def batch_job(
    client: DashScopeClient,
    job_id: str,
    *,
    jobs_dir: str | Path | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> BatchJob:
    """Re-attach to a job from any process: from its folder, else from the service (its
    batches are found by name; rows of batches never created then fail with ``no_result``)."""
    if not isinstance(job_id, str) or not job_id.startswith("qdjob-") or "/" in job_id:
        raise InvalidRequestError(f"not a bulk job id: {job_id!r}", param="job_id")
    folder = _folder(jobs_dir, job_id)
    manifest = load_manifest(folder)
    if manifest is not None:
        return _resume(client, manifest, folder, convert)
    return _from_service(client, job_id, folder, convert)


def _from_service(
    client: DashScopeClient, job_id: str, folder: Path, convert: Callable[[Any], Any] | None
) -> BatchJob:
    found, parts_count, rows = _service_batches(client, job_id)
    if not found:
        raise InvalidRequestError(
            f"no job {job_id} here: no folder in {folder.parent} and no batch of it on "
            f"{compatible_base(client.base_url)}",
            param="job_id",
        )
    endpoint = str(next(iter(found.values())).get("endpoint") or "")
    manifest = JobManifest(
        id=job_id,
        kind="embedding" if endpoint == EMBEDDINGS_ENDPOINT else "chat",
        model="",
        endpoint=endpoint,
        rows=rows,
        base_url=compatible_base(client.base_url),
    )
    job = BatchJob(client, manifest, folder, convert=convert)
    for index in sorted(found):
        part = PartState(index=index, rows=[])
        manifest.parts.append(part)
        job._adopt(part, found[index])
    if parts_count > len(found):
        logger.warning(
            "job %s: %d of %d batches were never created; their rows have no result",
            job_id,
            parts_count - len(found),
            parts_count,
        )
    save_manifest(folder, manifest)
    return job.refresh()
