"""The in-process bulk runner: many calls at once, bounded, rate-limited, retried per row.

DashScope throttles on requests *and* tokens per minute, so the runner paces both
(:class:`RateLimiter`: a token estimate is booked before each call and corrected with the
usage the answer reports). Each row is retried on what is worth retrying (429, 5xx,
connection errors) on top of the client's own retries; a 429 pauses every worker for the
time the service asked. A failing row never stops the others unless ``stop_on_error``: its
exception takes its place in the results. Progress is a ``tqdm`` bar when that is installed
(``pip install qwen-dashscope[progress]``), else a log line on the ``qwen_dashscope`` logger.

One scheduling loop per flavour: :func:`run_async` (worker tasks on the running loop) and
:func:`run_sync` (worker threads, each in a copy of the caller's context, as LangChain's
executor does). Both take a call per row and return, in input order, each row's value or
exception. ``chat_rows`` / ``embedding_rows`` (and their ``a`` twins) run the core clients.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._batch import RowResult
from ._errors import APIError, InvalidRequestError, RateLimitError
from ._messages import ChatRequest, MediaPart, TextPart
from ._retry import backoff, should_retry_error
from ._types import GenerationResult, Usage

if TYPE_CHECKING:
    from ._client import AsyncDashScopeClient, DashScopeClient

__all__ = [
    "BulkOptions",
    "Checkpoint",
    "RateLimiter",
    "achat_rows",
    "aembedding_rows",
    "chat_rows",
    "embedding_rows",
    "estimate_chat_tokens",
    "request_key",
    "run_async",
    "run_sync",
]

logger = logging.getLogger("qwen_dashscope")

T = TypeVar("T")
R = TypeVar("R")

_LOG_EVERY = 5.0
"""Seconds between two progress log lines (without tqdm)."""


def _positive(value: Any, name: str, *, integer: bool = False) -> Any:
    if value is None:
        return None
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise InvalidRequestError(
            f"{name} must be a positive {'integer' if integer else 'number'} or None, got "
            f"{value!r}",
            param=name,
        )
    return value


@dataclass(frozen=True, slots=True)
class BulkOptions:
    """How the in-process runner runs a list of rows.

    ``max_concurrency``: calls in flight at once. ``requests_per_minute`` /
    ``tokens_per_minute``: client-side pacing (None: none); set them a little under your
    account's DashScope limits. ``row_retries``: extra attempts of a row that failed with a
    retryable error, after the client's own retries. ``progress``: a progress bar (tqdm) or
    log line. ``stop_on_error``: start no new row once one has failed (and re-raise it).
    """

    max_concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    row_retries: int = 2
    progress: bool = False
    stop_on_error: bool = False
    description: str = "rows"

    def __post_init__(self) -> None:
        _positive(self.max_concurrency, "max_concurrency", integer=True)
        _positive(self.requests_per_minute, "requests_per_minute")
        _positive(self.tokens_per_minute, "tokens_per_minute")
        retries = self.row_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidRequestError(
                f"row_retries must be an integer >= 0, got {retries!r}", param="row_retries"
            )


class RateLimiter:
    """Requests and tokens per minute, paced (no bursts): each call books its slot.

    ``reserve(tokens)`` returns how long the caller waits before sending (the slot is booked
    then); ``settle(estimated, actual)`` moves the token schedule by the difference once the
    usage is known; ``pause(seconds)`` holds every caller back (a 429 said so). Thread-safe;
    the clock is injectable for tests.
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._request_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._token_rate = tokens_per_minute / 60.0 if tokens_per_minute else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._next_request = 0.0
        self._next_tokens = 0.0
        self._paused_until = 0.0

    @property
    def limits_tokens(self) -> bool:
        return self._token_rate > 0

    @property
    def active(self) -> bool:
        return bool(self._request_interval or self._token_rate)

    def reserve(self, tokens: int = 0) -> float:
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until, self._next_request)
            if self._token_rate:
                start = max(start, self._next_tokens)
                self._next_tokens = start + tokens / self._token_rate
            self._next_request = start + self._request_interval
            return start - now

    def settle(self, estimated: int, actual: int) -> None:
        if not self._token_rate or actual == estimated:
            return
        with self._lock:
            self._next_tokens += (actual - estimated) / self._token_rate

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class _Progress:
    """A tqdm bar when tqdm is installed, else a log line every few seconds."""

    def __init__(self, total: int, enabled: bool, description: str) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.enabled = enabled
        self.description = description
        self._start = self._last = time.monotonic()
        self._lock = threading.Lock()
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._bar = None
            else:
                self._bar = tqdm(total=total, desc=description, unit="row", leave=True)

    def update(self, ok: bool) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += 1
            self.failed += not ok
            if self._bar is not None:
                self._bar.update(1)
                if not ok:
                    self._bar.set_postfix(failed=self.failed, refresh=False)
                return
            now = time.monotonic()
            if now - self._last >= _LOG_EVERY or self.done == self.total:
                self._last = now
                self._log(now)

    def _log(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        logger.info(
            "%s: %d/%d done (%d failed), %.1f rows/s",
            self.description,
            self.done,
            self.total,
            self.failed,
            rate,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _retry_delay(error: BaseException, attempt: int, options: BulkOptions) -> float | None:
    """Seconds before retrying a failed row, or None to keep its error."""
    if attempt >= options.row_retries or not should_retry_error(error):
        return None
    asked = error.retry_after if isinstance(error, APIError) else None
    return asked if asked is not None else backoff(attempt + 1)


class Checkpoint:
    """Rows already done, kept in a JSONL file so that a killed run resumes without sending
    them again: each finished row is appended (and flushed) as ``{"key", "value"}``; a run
    with the same file skips every row whose ``key(item)`` is in it and returns the stored
    value. Failed rows are not kept (a rerun tries them again). A line cut by a kill is
    ignored. ``dump``/``load`` turn a value into JSON and back.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: Callable[[Any], str],
        dump: Callable[[Any], Any],
        load: Callable[[Any], Any],
    ) -> None:
        self.path = Path(path)
        self.key, self.dump, self.load = key, dump, load
        self._lock = threading.Lock()
        self._done: dict[str, Any] = {}
        if self.path.exists():
            for raw in self.path.read_bytes().splitlines():
                try:
                    entry = json.loads(raw)
                    self._done[entry["key"]] = entry["value"]
                except (ValueError, KeyError, TypeError):
                    continue  # the last line of a killed run, cut short
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def __len__(self) -> int:
        return len(self._done)

    def stored(self, item: Any) -> tuple[bool, Any]:
        key = self.key(item)
        if key in self._done:
            return True, self.load(self._done[key])
        return False, None

    def add(self, item: Any, value: Any) -> None:
        line = json.dumps({"key": self.key(item), "value": self.dump(value)}, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def request_key(request: ChatRequest) -> str:
    """A digest of the native request a chat call sends (the checkpoint key of a row)."""
    from ._json import dumps
    from ._native import render_chat
    from ._rules import resolve_chat

    body = render_chat(resolve_chat(request, stream=False)).body
    return hashlib.sha256(dumps(body)).hexdigest()


class _Schedule:
    """The rows, the limiter and the progress shared by the workers of one run."""

    def __init__(
        self,
        items: Sequence[Any],
        options: BulkOptions,
        estimate: Callable[[Any], int] | None,
        used: Callable[[Any], int] | None,
        limiter: RateLimiter | None,
        checkpoint: Checkpoint | None,
    ) -> None:
        count = len(items)
        self.items = items
        self.options = options
        self.checkpoint = checkpoint
        self.results: list[Any] = [None] * count
        todo = list(range(count))
        if checkpoint is not None:
            todo = []
            for index, item in enumerate(items):
                found, value = checkpoint.stored(item)
                if found:
                    self.results[index] = value
                else:
                    todo.append(index)
        self._next: Iterator[int] = iter(todo)
        self._lock = threading.Lock()
        self.stopped: BaseException | None = None
        self.limiter = limiter or RateLimiter(
            options.requests_per_minute, options.tokens_per_minute
        )
        self.estimate = estimate if self.limiter.limits_tokens else None
        self.used = used
        self.progress = _Progress(len(todo), options.progress, options.description)

    def take(self) -> int | None:
        with self._lock:
            if self.stopped is not None:
                return None
            return next(self._next, None)

    def tokens(self, index: int) -> int:
        return self.estimate(self.items[index]) if self.estimate is not None else 0

    def done(self, index: int, value: Any, estimated: int) -> None:
        self.results[index] = value
        if self.checkpoint is not None:
            self.checkpoint.add(self.items[index], value)
        if self.used is not None:
            try:
                actual = self.used(value)
            except Exception:  # a value without usage: keep the estimate
                actual = estimated
            self.limiter.settle(estimated, actual)
        self.progress.update(True)

    def failed(self, index: int, error: BaseException, estimated: int) -> None:
        self.results[index] = error
        self.limiter.settle(estimated, 0)
        self.progress.update(False)
        if self.options.stop_on_error:
            with self._lock:
                self.stopped = self.stopped or error

    def backoff(self, error: BaseException, attempt: int, estimated: int) -> float | None:
        delay = _retry_delay(error, attempt, self.options)
        if delay is not None:
            self.limiter.settle(estimated, 0)
            if isinstance(error, RateLimitError):
                self.limiter.pause(delay)  # everyone: the service is throttling this key
        return delay

    def close(self) -> None:
        self.progress.close()
        if self.checkpoint is not None:
            self.checkpoint.close()

    def finish(self) -> list[Any]:
        if self.stopped is not None:
            raise self.stopped
        return self.results


async def run_async(
    items: Sequence[T],
    call: Callable[[T], Awaitable[R]],
    options: BulkOptions | None = None,
    *,
    estimate: Callable[[T], int] | None = None,
    used: Callable[[R], int] | None = None,
    limiter: RateLimiter | None = None,
    checkpoint: Checkpoint | None = None,
) -> list[R | BaseException]:
    """Run ``call`` on every item, at most ``max_concurrency`` at once; per item, in input
    order, its value or its exception (rows in ``checkpoint`` are not run again)."""
    options = options or BulkOptions()
    schedule = _Schedule(items, options, estimate, used, limiter, checkpoint)

    async def worker() -> None:
        while (index := schedule.take()) is not None:
            attempt = 0
            while True:
                tokens = schedule.tokens(index)
                wait = schedule.limiter.reserve(tokens)
                if wait > 0:
                    await asyncio.sleep(wait)
                try:
                    value = await call(items[index])
                except Exception as error:
                    delay = schedule.backoff(error, attempt, tokens)
                    if delay is None:
                        schedule.failed(index, error, tokens)
                        break
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                schedule.done(index, value, tokens)
                break

    workers = max(1, min(options.max_concurrency, len(items)))
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        schedule.close()
    return schedule.finish()


def run_sync(
    items: Sequence[T],
    call: Callable[[T], R],
    options: BulkOptions | None = None,
    *,
    estimate: Callable[[T], int] | None = None,
    used: Callable[[R], int] | None = None,
    limiter: RateLimiter | None = None,
    checkpoint: Checkpoint | None = None,
) -> list[R | BaseException]:
    """``run_async`` with threads: at most ``max_concurrency`` worker threads, each running in
    a copy of the caller's context (tracing and callback context variables carry over)."""
    options = options or BulkOptions()
    schedule = _Schedule(items, options, estimate, used, limiter, checkpoint)

    def worker() -> None:
        while (index := schedule.take()) is not None:
            attempt = 0
            while True:
                tokens = schedule.tokens(index)
                wait = schedule.limiter.reserve(tokens)
                if wait > 0:
                    time.sleep(wait)
                try:
                    value = call(items[index])
                except Exception as error:
                    delay = schedule.backoff(error, attempt, tokens)
                    if delay is None:
                        schedule.failed(index, error, tokens)
                        break
                    time.sleep(delay)
                    attempt += 1
                    continue
                schedule.done(index, value, tokens)
                break

    workers = max(1, min(options.max_concurrency, len(items)))
    try:
        if workers <= 1:
            worker()
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qwen-bulk") as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, worker) for _ in range(workers)
                ]
                for future in futures:
                    future.result()
    finally:
        schedule.close()
    return schedule.finish()


# ------------------------------------------------------------------------ estimates


def _text_tokens(text: str) -> int:
    """A cheap upper-side guess: one token per CJK character, one per 4 other characters."""
    cjk = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uf900" <= c <= "\uffef")
    return cjk + (len(text) - cjk + 3) // 4


def estimate_chat_tokens(request: ChatRequest) -> int:
    """Tokens a chat call will use, guessed before it is sent (the runner corrects the guess
    with the reported usage): its text, 256 per image/video/audio part, and ``max_tokens``
    when set (else a small allowance for the answer)."""
    total = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, TextPart):
                total += _text_tokens(part.text)
            elif isinstance(part, MediaPart):
                total += 256
    max_tokens = request.parameters.get("max_tokens")
    return total + (max_tokens if isinstance(max_tokens, int) else 64)


def _total(value: GenerationResult) -> int:
    return value.usage.total_tokens


# ------------------------------------------------------------------------ core rows


def _row(index: int, value: Any) -> RowResult:
    if isinstance(value, BaseException):
        return RowResult(index, request_id=getattr(value, "request_id", None), error=value)
    return RowResult(index, value=value, usage=value.usage, request_id=value.request_id)


async def achat_rows(
    client: AsyncDashScopeClient,
    requests: Sequence[ChatRequest],
    options: BulkOptions | None,
    *,
    limiter: RateLimiter | None = None,
) -> list[RowResult]:
    """Every chat request through ``client.chat``, as rows in input order."""
    values = await run_async(
        requests, client.chat, options, estimate=estimate_chat_tokens, used=_total, limiter=limiter
    )
    return [_row(i, v) for i, v in enumerate(values)]


def chat_rows(
    client: DashScopeClient,
    requests: Sequence[ChatRequest],
    options: BulkOptions | None,
    *,
    limiter: RateLimiter | None = None,
) -> list[RowResult]:
    """``achat_rows`` on the sync client, in threads."""
    values = run_sync(
        requests, client.chat, options, estimate=estimate_chat_tokens, used=_total, limiter=limiter
    )
    return [_row(i, v) for i, v in enumerate(values)]


def _embedding_groups(texts: Sequence[str], size: int) -> list[tuple[int, Sequence[str]]]:
    return [(start, texts[start : start + size]) for start in range(0, len(texts), size)]


def _spread(
    groups: Sequence[tuple[int, Sequence[str]]], values: Sequence[Any], count: int
) -> list[RowResult]:
    """Per-request results back to one row per text (a failed request fails its texts)."""
    rows: list[RowResult] = [RowResult(i) for i in range(count)]
    for (offset, batch), value in zip(groups, values, strict=True):
        for position in range(len(batch)):
            index = offset + position
            if isinstance(value, BaseException):
                rows[index] = RowResult(index, error=value)
                continue
            # The request's usage goes to its first row, so that sums over rows stay right.
            share = value.usage if position == 0 else Usage()
            rows[index] = RowResult(
                index,
                value=value.embeddings[position].vector,
                usage=share,
                request_id=value.request_id,
            )
    return rows


def _embedding_estimate(group: tuple[int, Sequence[str]]) -> int:
    return sum(_text_tokens(text) for text in group[1])


def _embedding_used(value: Any) -> int:
    return int(value.usage.total_tokens)


async def aembedding_rows(
    client: AsyncDashScopeClient,
    texts: Sequence[str],
    options: BulkOptions | None,
    *,
    batch_size: int,
    limiter: RateLimiter | None = None,
    **embed: Any,
) -> list[RowResult]:
    """``texts`` embedded ``batch_size`` per request, as one row per text."""
    groups = _embedding_groups(texts, batch_size)

    async def one(group: tuple[int, Sequence[str]]) -> Any:
        return await client.embed(group[1], batch_size=batch_size, **embed)

    values = await run_async(
        groups, one, options, estimate=_embedding_estimate, used=_embedding_used, limiter=limiter
    )
    return _spread(groups, values, len(texts))


def embedding_rows(
    client: DashScopeClient,
    texts: Sequence[str],
    options: BulkOptions | None,
    *,
    batch_size: int,
    limiter: RateLimiter | None = None,
    **embed: Any,
) -> list[RowResult]:
    """``aembedding_rows`` on the sync client, in threads."""
    groups = _embedding_groups(texts, batch_size)

    def one(group: tuple[int, Sequence[str]]) -> Any:
        return client.embed(group[1], batch_size=batch_size, **embed)

    values = run_sync(
        groups, one, options, estimate=_embedding_estimate, used=_embedding_used, limiter=limiter
    )
    return _spread(groups, values, len(texts))
