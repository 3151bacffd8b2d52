"""Ray Data predictors: Qwen chat and embeddings over a ``Dataset``, one client per worker.

``pip install "qwen-dashscope[ray]"`` (Ray ≥ 2.51, < 2.64; nothing here imports Ray, and
importing ``qwen_dashscope`` never does). Each predictor is a callable class for
``Dataset.map_batches``: Ray builds one instance per actor, so each worker keeps one
asynchronous client and one event loop, and runs every batch it gets through the in-process
runner (bounded concurrency, pacing, per-row retries). It returns the batch with columns
added: ``text`` (or ``vector``), ``input_tokens``, ``output_tokens``, ``total_tokens``,
``request_id`` and ``error`` (``None``, or ``"ErrorClass: message"`` for a row that failed: a
failing row never fails the job)::

    import ray
    from qwen_dashscope.ray import ChatPredictor

    ray.init(runtime_env={"env_vars": {"DASHSCOPE_API_KEY": os.environ["DASHSCOPE_API_KEY"]}})
    ds = ray.data.from_items([{"prompt": "..."}, ...])
    out = ds.map_batches(
        ChatPredictor,
        fn_constructor_kwargs={"model": "qwen-plus", "prompt_column": "prompt",
                               "system_prompt": "Classify the review: positive or negative."},
        compute=ray.data.ActorPoolStrategy(size=4),   # Ray >= 2.51 (``concurrency=`` is deprecated)
        batch_size=64,
    )

The API key is never pickled unless you pass ``api_key=`` yourself: workers read
``DASHSCOPE_API_KEY`` (and ``DASHSCOPE_HTTP_BASE_URL``) from their own environment. On a
cluster set it with Ray's ``runtime_env={"env_vars": {...}}`` (in ``ray.init`` or
``map_batches(runtime_env=...)``); a local ``ray.init()`` also passes on the driver's
environment as it was at init time. ``requests_per_minute`` / ``tokens_per_minute`` are per
worker: divide your account's limits by the number of workers.

Thinking is off on hybrid models unless ``parameters={"enable_thinking": True}`` (the bulk
rule of ``_batch.bulk_request``): the same rows give the same answers as ``submit_batch``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._batch import RowResult, bulk_request
from ._errors import InvalidRequestError
from ._messages import ChatRequest, Message, chat_request
from ._rules import check_embedding_batch_size, resolve_chat
from ._runner import BulkOptions, RateLimiter, achat_rows, aembedding_rows
from ._settings import ClientSettings

if TYPE_CHECKING:
    from ._client import AsyncDashScopeClient

__all__ = ["ChatPredictor", "EmbeddingPredictor", "PredictorConfig"]


@dataclass(frozen=True)
class PredictorConfig:
    """Everything a worker needs, picklable; ``api_key`` only if it was passed explicitly."""

    model: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    region: str | None = None
    workspace: str | None = None
    timeout: Any = None
    max_retries: int = 2
    options: BulkOptions = field(default_factory=BulkOptions)

    def connection(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "region": self.region,
            "workspace": self.workspace,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }


def _column(batch: Any, name: str) -> list[Any]:
    try:
        values = batch[name]
    except (KeyError, IndexError):
        columns = list(batch.columns) if hasattr(batch, "columns") else list(batch)
        raise InvalidRequestError(
            f"the batch has no column {name!r} (its columns: {columns})", param=name
        ) from None
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _with_columns(batch: Any, columns: Mapping[str, list[Any]]) -> Any:
    """``batch`` (a pandas DataFrame or a dict of numpy arrays, Ray's two usual formats)
    with the new columns."""
    if hasattr(batch, "assign") and hasattr(batch, "columns"):  # pandas
        return batch.assign(**columns)
    import numpy as np

    out = dict(batch)
    for name, values in columns.items():
        if values and all(isinstance(v, int) for v in values):
            out[name] = np.asarray(values, dtype=np.int64)
        elif values and all(isinstance(v, list) for v in values):
            out[name] = np.asarray(values, dtype=np.float32)  # vectors: a 2-D tensor column
        else:
            array = np.empty(len(values), dtype=object)  # text, ids, errors; None for a gap
            array[:] = values
            out[name] = array
    return out


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    return f"{type(error).__name__}: {getattr(error, 'message', str(error))}"


class _Predictor:
    """The worker side: one client, one event loop, one rate limiter per instance."""

    def __init__(self, config: PredictorConfig) -> None:
        ClientSettings.check(**config.connection())  # a bad setting fails in the driver
        self.config = config
        self._client: AsyncDashScopeClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter = RateLimiter(
            config.options.requests_per_minute, config.options.tokens_per_minute
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The config only (no client, loop or key read from the environment).
        return (_rebuild, (type(self), self.config, self._extra()))

    def _extra(self) -> dict[str, Any]:
        return {}

    def _start(self) -> AsyncDashScopeClient:
        """The worker's client (built on the first batch, in the worker, from its settings)."""
        if self._client is None:
            from ._client import AsyncDashScopeClient

            self._loop = asyncio.new_event_loop()
            self._client = AsyncDashScopeClient(ClientSettings.resolve(**self.config.connection()))
            # The loop's pool closes with the loop: when the predictor goes, or at exit.
            self._finalizer = weakref.finalize(self, _shutdown, self._loop)
        return self._client

    def _run(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Close the worker's event loop (and with it its connection pool)."""
        loop, self._loop, self._client = self._loop, None, None
        if loop is not None:
            _shutdown(loop)

    @staticmethod
    def _usage_columns(rows: Sequence[RowResult]) -> dict[str, list[Any]]:
        return {
            "input_tokens": [r.usage.input_tokens if r.usage else 0 for r in rows],
            "output_tokens": [r.usage.output_tokens if r.usage else 0 for r in rows],
            "total_tokens": [r.usage.total_tokens if r.usage else 0 for r in rows],
            "request_id": [r.request_id for r in rows],
            "error": [_error_text(r.error) for r in rows],
        }


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Close a predictor's private loop (and its pool). The finalizer can run wherever the
    predictor is collected, also inside another running event loop (async code, a notebook
    kernel), where this thread cannot run a second loop: then a short-lived thread does it."""
    if loop.is_closed():
        return

    def finish() -> None:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running here: the usual case
        finish()
        return
    worker = threading.Thread(target=finish, name="qwen-dashscope-predictor-close")
    worker.start()
    worker.join()


def _rebuild(cls: type[_Predictor], config: PredictorConfig, extra: dict[str, Any]) -> Any:
    instance = cls.__new__(cls)
    _Predictor.__init__(instance, config)
    for name, value in extra.items():
        setattr(instance, name, value)
    return instance


def _options(
    max_concurrency: int,
    requests_per_minute: float | None,
    tokens_per_minute: float | None,
    row_retries: int,
    progress: bool,
    description: str,
) -> BulkOptions:
    return BulkOptions(
        max_concurrency=max_concurrency,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        row_retries=row_retries,
        progress=progress,
        description=description,
    )


class ChatPredictor(_Predictor):
    """A Qwen chat answer per row: ``ds.map_batches(ChatPredictor, fn_constructor_kwargs={...})``.

    Input: ``prompt_column`` (a string per row, sent as the user message after the optional
    ``system_prompt``), or ``messages_column`` (a list of DashScope message dicts per row).
    ``parameters``: generation parameters (``temperature``, ``max_tokens``,
    ``enable_thinking``...). Output: ``output_column`` (default ``text``) and the usage,
    ``request_id`` and ``error`` columns.
    """

    def __init__(
        self,
        model: str = "qwen-plus",
        *,
        prompt_column: str = "prompt",
        messages_column: str | None = None,
        system_prompt: str | None = None,
        output_column: str = "text",
        parameters: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace: str | None = None,
        timeout: Any = None,
        max_retries: int = 2,
        max_concurrency: int = 16,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        row_retries: int = 2,
        progress: bool = False,
    ) -> None:
        config = PredictorConfig(
            model=model,
            api_key=api_key,
            base_url=base_url,
            region=region,
            workspace=workspace,
            timeout=timeout,
            max_retries=max_retries,
            options=_options(
                max_concurrency,
                requests_per_minute,
                tokens_per_minute,
                row_retries,
                progress,
                "ChatPredictor",
            ),
        )
        super().__init__(config)
        self.prompt_column = prompt_column
        self.messages_column = messages_column
        self.system_prompt = system_prompt
        self.output_column = output_column
        self.parameters = dict(parameters or {})
        resolve_chat(self._request([Message("user", "?")]), stream=False)  # checked now

    def _extra(self) -> dict[str, Any]:
        return {
            "prompt_column": self.prompt_column,
            "messages_column": self.messages_column,
            "system_prompt": self.system_prompt,
            "output_column": self.output_column,
            "parameters": self.parameters,
        }

    def _request(self, messages: Sequence[Message | Mapping[str, Any]]) -> ChatRequest:
        return bulk_request(chat_request(self.config.model, messages, self.parameters))

    def requests(self, batch: Any) -> list[ChatRequest | InvalidRequestError]:
        """The chat request of each row (or the error that row's input is)."""
        out: list[ChatRequest | InvalidRequestError] = []
        if self.messages_column is not None:
            for value in _column(batch, self.messages_column):
                try:
                    out.append(self._request(list(value)))
                except InvalidRequestError as error:
                    out.append(error)
            return out
        head = [Message("system", self.system_prompt)] if self.system_prompt else []
        for prompt in _column(batch, self.prompt_column):
            if not isinstance(prompt, str):
                out.append(
                    InvalidRequestError(
                        f"{self.prompt_column} must hold strings, got {type(prompt).__name__}",
                        param=self.prompt_column,
                    )
                )
                continue
            out.append(self._request([*head, Message("user", prompt)]))
        return out

    def rows(self, batch: Any) -> list[RowResult]:
        """The core rows of one batch (what ``__call__`` turns into columns)."""
        requests = self.requests(batch)
        valid = [r for r in requests if isinstance(r, ChatRequest)]
        client = self._start()
        options = self.config.options
        done = iter(self._run(achat_rows(client, valid, options, limiter=self._limiter)))
        rows: list[RowResult] = []
        for index, request in enumerate(requests):
            if isinstance(request, InvalidRequestError):
                rows.append(RowResult(index, error=request))
            else:
                rows.append(replace(next(done), index=index))
        return rows

    def __call__(self, batch: Any) -> Any:
        rows = self.rows(batch)
        columns = {self.output_column: [r.value.text if r.ok else None for r in rows]}
        return _with_columns(batch, {**columns, **self._usage_columns(rows)})


class EmbeddingPredictor(_Predictor):
    """A vector per row: ``ds.map_batches(EmbeddingPredictor, fn_constructor_kwargs={...})``.

    Input: ``text_column``; output: ``output_column`` (default ``vector``) and the usage,
    ``request_id`` and ``error`` columns. Texts go ``batch_size`` per request (default: the
    model's limit, 10 for v3/v4); a request's usage is counted on its first row.
    """

    def __init__(
        self,
        model: str = "text-embedding-v4",
        *,
        text_column: str = "text",
        output_column: str = "vector",
        dimensions: int | None = None,
        text_type: str = "document",
        batch_size: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace: str | None = None,
        timeout: Any = None,
        max_retries: int = 2,
        max_concurrency: int = 4,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        row_retries: int = 2,
        progress: bool = False,
    ) -> None:
        config = PredictorConfig(
            model=model,
            api_key=api_key,
            base_url=base_url,
            region=region,
            workspace=workspace,
            timeout=timeout,
            max_retries=max_retries,
            options=_options(
                max_concurrency,
                requests_per_minute,
                tokens_per_minute,
                row_retries,
                progress,
                "EmbeddingPredictor",
            ),
        )
        super().__init__(config)
        self.text_column = text_column
        self.output_column = output_column
        self.dimensions = dimensions
        self.text_type = text_type
        self.batch_size = check_embedding_batch_size(model, batch_size)

    def _extra(self) -> dict[str, Any]:
        return {
            "text_column": self.text_column,
            "output_column": self.output_column,
            "dimensions": self.dimensions,
            "text_type": self.text_type,
            "batch_size": self.batch_size,
        }

    def rows(self, batch: Any) -> list[RowResult]:
        texts = [str(t) for t in _column(batch, self.text_column)]
        client = self._start()
        return list(
            self._run(
                aembedding_rows(
                    client,
                    texts,
                    self.config.options,
                    batch_size=self.batch_size,
                    limiter=self._limiter,
                    model=self.config.model,
                    text_type=self.text_type,
                    dimension=self.dimensions,
                )
            )
        )

    def __call__(self, batch: Any) -> Any:
        rows = self.rows(batch)
        columns = {self.output_column: [r.value if r.ok else None for r in rows]}
        return _with_columns(batch, {**columns, **self._usage_columns(rows)})
