"""Sync and async DashScope clients: thin I/O twins around the pure core.

Request building (``_request``), error mapping (``_errors``), retry decisions (``_retry``),
SSE decoding (``_sse``) and stream accumulation (``_stream``) are pure; the two classes here
only send, read, sleep and close. Their bodies differ only in ``await``/``async for`` (a parity
test compares them).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import platform
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from ._capabilities import Endpoint, get_model_capabilities
from ._config import Timeouts, auth_hint, resolve_api_key, resolve_base_url
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    DashScopeError,
    InvalidRequestError,
    ProtocolError,
    error_from_body,
)
from ._pools import parsed_url, shared_async_http_client, shared_http_client
from ._request import (
    EMBEDDING_PATH,
    RERANK_PATH,
    TOKENIZER_PATH,
    PreparedGeneration,
    prepare_embedding,
    prepare_generation,
    prepare_rerank,
    streams_internally,
)
from ._retry import backoff, retry_after, should_retry_error
from ._sse import ServerSentEvent, SSEDecoder
from ._stream import StreamAccumulator, result_from_response
from ._types import (
    Embedding,
    EmbeddingResult,
    GenerationChunk,
    GenerationResult,
    RerankItem,
    RerankResult,
    TokenizeResult,
    Usage,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._wire import EmbeddingResponse, RerankResponse, TokenizeResponse

__all__ = ["AsyncDashScopeClient", "DashScopeClient", "reuse_client"]

logger = logging.getLogger("qwen_dashscope")

_loads: Callable[[str | bytes], Any]
_dumps: Callable[[Any], bytes]
try:  # orjson is several times faster and gives the same JSON; langsmith already depends on it
    import orjson

    _loads = orjson.loads

    def _dumps(obj: Any) -> bytes:
        # Non-string keys (e.g. {token_id: bias}) are stringified, as the stdlib does.
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)

except ImportError:  # pragma: no cover - exercised in environments without orjson
    _loads = json.loads

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


DEFAULT_MAX_RETRIES = 2
DEFAULT_EMBEDDING_MODEL = "text-embedding-v4"
DEFAULT_RERANK_MODEL = "qwen3-rerank"
_USER_AGENT = (
    f"qwen-dashscope/{__version__}; python/{platform.python_version()}; httpx/{httpx.__version__}"
)


@contextlib.contextmanager
def _translate_errors(request_id: str | None = None) -> Iterator[None]:
    """The one place where httpx's exceptions become ours."""
    try:
        yield
    except httpx.TimeoutException as exc:
        # httpx-aiohttp reports any aiohttp connection error as ConnectTimeout; only a real
        # timeout is a timeout.
        cause = exc.__cause__
        if cause is not None and "Timeout" not in type(cause).__name__:
            raise APIConnectionError(
                f"{type(cause).__name__}: {cause}", request_id=request_id
            ) from exc
        raise APITimeoutError(f"{type(exc).__name__}: {exc}", request_id=request_id) from exc
    except httpx.RequestError as exc:
        raise APIConnectionError(f"{type(exc).__name__}: {exc}", request_id=request_id) from exc


@functools.lru_cache(maxsize=64)
def _httpx_timeout(timeouts: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
    )


class _Deadline:
    """The ``total`` timeout: a deadline for a whole call, retries included."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts
        self._end = None if timeouts.total is None else time.monotonic() + timeouts.total

    def remaining(self) -> float | None:
        return None if self._end is None else self._end - time.monotonic()

    def check(self, request_id: str | None = None) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise APITimeoutError(
                f"the call exceeded its total timeout of {self._timeouts.total}s",
                request_id=request_id,
            )

    def httpx_timeout(self) -> httpx.Timeout:
        left = self.remaining()
        if left is None:
            return _httpx_timeout(self._timeouts)
        self.check()
        connect, read = min(self._timeouts.connect, left), min(self._timeouts.read, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)

    def allows_sleep(self, seconds: float) -> bool:
        left = self.remaining()
        return left is None or seconds < left


class _BaseClient:
    """Configuration and the pure pieces shared by both twins."""

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        raw_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._api_key = SecretStr(resolve_api_key(raw_key))
        self.base_url = resolve_base_url(base_url, region)
        self.workspace = workspace
        self.timeouts = Timeouts.of(timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidRequestError(
                f"max_retries must be an integer >= 0, got {max_retries!r}", param="max_retries"
            )
        self.max_retries = max_retries
        self._default_headers = dict(default_headers or {})
        self._auth_hint = auth_hint(self.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=SecretStr('**********'))"

    def _headers(self, *, stream: bool) -> dict[str, str]:
        # Built per request, not cached: the key stays in its SecretStr between requests.
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "user-agent": _USER_AGENT,
        }
        if stream:
            headers["X-DashScope-SSE"] = "enable"
        if self.workspace:
            headers["X-DashScope-WorkSpace"] = self.workspace
        headers.update(self._default_headers)
        return headers

    def _url(self, path: str) -> httpx.URL:
        return parsed_url(self.base_url + path)

    def _error(self, status: int, body: Any, headers: Mapping[str, str]) -> APIError:
        return error_from_body(
            status, body, header_request_id=headers.get("x-request-id"), auth_hint=self._auth_hint
        )

    def _retry_delay(
        self, error: DashScopeError, attempt: int, headers: Mapping[str, str], deadline: _Deadline
    ) -> float | None:
        """Seconds to wait before retrying ``error``, or None to give up."""
        if attempt >= self.max_retries or not should_retry_error(error):
            return None
        delay = retry_after(headers)
        if delay is None:
            delay = backoff(attempt)
        if not deadline.allows_sleep(delay):
            return None
        logger.info(
            "retrying after %s (attempt %d of %d, waiting %.2fs)",
            type(error).__name__,
            attempt + 1,
            self.max_retries,
            delay,
        )
        return delay

    @staticmethod
    def _parse_json(content: str | bytes, status: int, request_id: str | None) -> Any:
        try:
            return _loads(content)
        except ValueError as exc:
            raise ProtocolError(
                f"expected a JSON body, got {content[:200]!r}",
                status_code=status,
                request_id=request_id,
            ) from exc

    def _error_event(self, sse: ServerSentEvent) -> APIError:
        # An error inside an HTTP 200 stream: "event:error", ":HTTP_STATUS/400", data JSON.
        return self._error(sse.status or 400, sse.data, {})

    def _check_success_body(self, body: Any, status: int, headers: Mapping[str, str]) -> None:
        if isinstance(body, dict) and "output" not in body and body.get("code"):
            raise self._error(status, body, headers)

    def _generation_body(self, data: str | bytes, request_id: str | None) -> dict[str, Any]:
        """A generation body or stream event as a dict; an error body raises typed."""
        body = self._parse_json(data, 200, request_id)
        if not isinstance(body, dict):
            raise ProtocolError(
                f"expected a JSON object, got {data[:200]!r}", request_id=request_id
            )
        self._check_success_body(body, 200, {})  # an error body where a result was expected
        return body

    def _generation_result(self, content: bytes, headers: Mapping[str, str]) -> GenerationResult:
        return result_from_response(self._generation_body(content, headers.get("x-request-id")))

    def _parse_model(self, name: str, content: bytes, headers: Mapping[str, str]) -> Any:
        """Validate a body into the ``_wire`` model ``name`` (imported on first use)."""
        from . import _wire

        cls = getattr(_wire, name)
        request_id = headers.get("x-request-id")
        raw = self._parse_json(content, 200, request_id)
        self._check_success_body(raw, 200, headers)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ProtocolError(
                f"malformed {cls.__name__}: {content[:200]!r}", request_id=request_id
            ) from exc

    def _embedding_batches(
        self, texts: Sequence[str], model: str, batch_size: int | None
    ) -> list[tuple[int, Sequence[str]]]:
        if isinstance(texts, str):
            raise InvalidRequestError(
                "texts must be a list of strings, not one string", param="texts"
            )
        limit = get_model_capabilities(model).embedding_batch_size or 10
        size = limit if batch_size is None else batch_size
        if size < 1 or size > limit:
            raise InvalidRequestError(
                f"batch_size={batch_size} must be between 1 and {model}'s limit of {limit}",
                param="batch_size",
            )
        return [(start, texts[start : start + size]) for start in range(0, len(texts), size)]

    @staticmethod
    def _embedding_result(responses: list[tuple[int, EmbeddingResponse]]) -> EmbeddingResult:
        items: list[Embedding] = []
        total = Usage()
        request_id = None
        for offset, response in responses:
            for emb in sorted(response.output.embeddings, key=lambda e: e.text_index):
                if emb.embedding is None and emb.sparse_embedding is None:
                    raise ProtocolError(
                        f"embedding {emb.text_index} came back empty",
                        request_id=response.request_id,
                    )
                items.append(
                    Embedding(
                        index=offset + emb.text_index,
                        vector=emb.embedding or [],
                        sparse=emb.sparse_embedding,
                    )
                )
            if response.usage is not None:
                used = response.usage.total_tokens or response.usage.input_tokens or 0
                total.input_tokens += used
                total.total_tokens += used
            request_id = response.request_id
        return EmbeddingResult(embeddings=items, usage=total, request_id=request_id)

    @staticmethod
    def _check_embedding_count(result: EmbeddingResult, expected: int) -> EmbeddingResult:
        if len(result.embeddings) != expected:
            raise ProtocolError(
                f"asked for {expected} embeddings, received {len(result.embeddings)}",
                request_id=result.request_id,
            )
        return result

    @staticmethod
    def _tokenize_body(model: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if not messages:
            raise InvalidRequestError("messages is empty", param="messages")
        return {"model": model, "input": {"messages": list(messages)}, "parameters": {}}

    @staticmethod
    def _tokenize_result(response: TokenizeResponse) -> TokenizeResult:
        usage = response.usage
        count = usage.input_tokens if usage and usage.input_tokens is not None else None
        return TokenizeResult(
            token_ids=response.output.token_ids,
            tokens=response.output.tokens,
            input_tokens=len(response.output.token_ids) if count is None else count,
            request_id=response.request_id,
        )

    @staticmethod
    def _rerank_result(response: RerankResponse) -> RerankResult:
        usage = response.usage
        used = (usage.total_tokens or usage.input_tokens or 0) if usage else 0
        items = [
            RerankItem(
                index=r.index,
                relevance_score=r.relevance_score,
                document=(r.document or {}).get("text"),
            )
            for r in sorted(response.output.results, key=lambda r: -r.relevance_score)
        ]
        return RerankResult(
            results=items,
            usage=Usage(input_tokens=used, total_tokens=used),
            request_id=response.request_id,
        )


class DashScopeClient(_BaseClient):
    """Synchronous client for the native DashScope API.

    >>> client = DashScopeClient(region="singapore")            # key from DASHSCOPE_API_KEY
    >>> result = client.generate("qwen-plus", [{"role": "user", "content": "你好"}])
    >>> for chunk in client.stream("qwen-plus", [{"role": "user", "content": "你好"}]):
    ...     print(chunk.text, end="")
    """

    def __init__(self, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._injected = http_client

    @property
    def _http(self) -> httpx.Client:
        return self._injected if self._injected is not None else shared_http_client()

    def close(self) -> None:
        """Close an injected ``http_client``; the shared default pool stays open for others."""
        if self._injected is not None:
            self._injected.close()

    def __enter__(self) -> DashScopeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def _send(
        self, path: str, body: dict[str, Any], *, stream: bool, deadline: _Deadline
    ) -> httpx.Response:
        """POST with retries; returns an open 200 response (caller closes it)."""
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                with _translate_errors():
                    request = self._http.build_request(
                        "POST",
                        self._url(path),
                        content=_dumps(body),  # UTF-8 JSON; Content-Type is in the headers
                        headers=self._headers(stream=stream),
                        timeout=deadline.httpx_timeout(),
                    )
                    response = self._http.send(request, stream=True)
                    headers = response.headers
                    if response.status_code == 200:
                        return response
                    try:
                        content = response.read()
                    finally:
                        response.close()
                raise self._error(response.status_code, content, headers)
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1

    def _events(
        self, path: str, body: dict[str, Any], deadline: _Deadline
    ) -> Generator[ServerSentEvent, None, None]:
        """SSE events of a streaming call; retried only until the first event is handed out."""
        attempt = 0
        while True:
            response = self._send(path, body, stream=True, deadline=deadline)
            request_id = response.headers.get("x-request-id")
            yielded = False
            try:
                with contextlib.closing(self._iter_response(response, request_id, deadline)) as src:
                    for sse in src:
                        if sse.event == "error":
                            raise self._error_event(sse)
                        yielded = True
                        yield sse
                return
            except (APIError, APIConnectionError) as error:
                delay = None if yielded else self._retry_delay(error, attempt, {}, deadline)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1
            finally:
                response.close()

    def _iter_response(
        self, response: httpx.Response, request_id: str | None, deadline: _Deadline
    ) -> Generator[ServerSentEvent, None, None]:
        content_type = response.headers.get("content-type", "")
        with _translate_errors(request_id):
            if "text/event-stream" not in content_type:  # answered without SSE: one JSON body
                yield ServerSentEvent(event="result", data=response.read().decode("utf-8"))
                return
            decoder = SSEDecoder()
            for chunk in response.iter_raw():
                yield from decoder.feed(chunk)
                deadline.check(request_id)
            yield from decoder.end()

    # -- generation -----------------------------------------------------------------------
    def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> Generator[GenerationChunk, None, None]:
        """Stream a generation as delta chunks. ``close()`` (or ``break``) closes the connection."""
        prepared = prepare_generation(model, messages, parameters, stream=True, endpoint=endpoint)
        return self._stream_prepared(prepared, StreamAccumulator(incremental=prepared.incremental))

    def _stream_prepared(
        self, prepared: PreparedGeneration, accumulator: StreamAccumulator
    ) -> Generator[GenerationChunk, None, None]:
        deadline = _Deadline(self.timeouts)
        finished = False
        with contextlib.closing(self._events(prepared.path, prepared.body, deadline)) as events:
            for sse in events:
                event = self._generation_body(sse.data, accumulator.request_id)
                for chunk in accumulator.feed(event):
                    finished = finished or chunk.finish_reason is not None
                    yield chunk
        if not finished:
            raise APIConnectionError(
                "the stream ended before the model finished (no final finish_reason)",
                request_id=accumulator.request_id,
            )

    def generate(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> GenerationResult:
        """One complete answer. Thinking that the service only serves streamed is streamed here."""
        params = dict(parameters or {})
        if streams_internally(model, params):
            prepared = prepare_generation(model, messages, params, stream=True, endpoint=endpoint)
            accumulator = StreamAccumulator(incremental=prepared.incremental)
            for _ in self._stream_prepared(prepared, accumulator):
                pass
            return accumulator.result()
        prepared = prepare_generation(model, messages, params, stream=False, endpoint=endpoint)
        deadline = _Deadline(self.timeouts)
        response = self._send(prepared.path, prepared.body, stream=False, deadline=deadline)
        try:
            with _translate_errors(response.headers.get("x-request-id")):
                content = response.read()
        finally:
            response.close()
        return self._generation_result(content, response.headers)

    # -- embeddings and rerank ------------------------------------------------------------
    def _post_json(self, path: str, body: dict[str, Any]) -> tuple[bytes, Mapping[str, str]]:
        deadline = _Deadline(self.timeouts)
        response = self._send(path, body, stream=False, deadline=deadline)
        try:
            with _translate_errors(response.headers.get("x-request-id")):
                return response.read(), response.headers
        finally:
            response.close()

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        text_type: Literal["query", "document"] | None = None,
        dimension: int | None = None,
        output_type: str | None = None,
        instruct: str | None = None,
        batch_size: int | None = None,
    ) -> EmbeddingResult:
        """Embed ``texts``, split into batches within the model's limit, in input order."""
        responses = []
        for offset, batch in self._embedding_batches(texts, model, batch_size):
            body = prepare_embedding(
                model,
                batch,
                text_type=text_type,
                dimension=dimension,
                output_type=output_type,
                instruct=instruct,
            )
            content, headers = self._post_json(EMBEDDING_PATH, body)
            responses.append((offset, self._parse_model("EmbeddingResponse", content, headers)))
        return self._check_embedding_count(self._embedding_result(responses), len(texts))

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        return_documents: bool | None = None,
        instruct: str | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query``, most relevant first."""
        body = prepare_rerank(
            model,
            query,
            documents,
            top_n=top_n,
            return_documents=return_documents,
            instruct=instruct,
        )
        content, headers = self._post_json(RERANK_PATH, body)
        return self._rerank_result(self._parse_model("RerankResponse", content, headers))

    def tokenize(self, model: str, messages: Sequence[Mapping[str, Any]]) -> TokenizeResult:
        """Count (and list) the tokens of ``messages`` with the model's tokenizer."""
        body = self._tokenize_body(model, messages)
        content, headers = self._post_json(TOKENIZER_PATH, body)
        return self._tokenize_result(self._parse_model("TokenizeResponse", content, headers))


class AsyncDashScopeClient(_BaseClient):
    """Asynchronous client for the native DashScope API (real async, no threads).

    Without an injected ``http_client`` it uses a pool shared by all clients of the same
    event loop, on the aiohttp transport when ``httpx-aiohttp`` is installed (``pip install
    qwen-dashscope[aiohttp]``), which costs far less CPU per request under high concurrency.
    The pool is closed when its event loop shuts down (``asyncio.run`` / ``asyncio.Runner``).
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        embedding_concurrency: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._injected = http_client
        self.embedding_concurrency = embedding_concurrency

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._injected if self._injected is not None else shared_async_http_client()

    async def aclose(self) -> None:
        """Close an injected ``http_client``; the shared per-loop pool closes with its loop."""
        if self._injected is not None:
            await self._injected.aclose()

    async def __aenter__(self) -> AsyncDashScopeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing -------------------------------------------------------------------------
    async def _send(
        self, path: str, body: dict[str, Any], *, stream: bool, deadline: _Deadline
    ) -> httpx.Response:
        """POST with retries; returns an open 200 response (caller closes it)."""
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                with _translate_errors():
                    request = self._http.build_request(
                        "POST",
                        self._url(path),
                        content=_dumps(body),  # UTF-8 JSON; Content-Type is in the headers
                        headers=self._headers(stream=stream),
                        timeout=deadline.httpx_timeout(),
                    )
                    response = await self._http.send(request, stream=True)
                    headers = response.headers
                    if response.status_code == 200:
                        return response
                    try:
                        content = await response.aread()
                    finally:
                        await response.aclose()
                raise self._error(response.status_code, content, headers)
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _events(
        self, path: str, body: dict[str, Any], deadline: _Deadline
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """SSE events of a streaming call; retried only until the first event is handed out."""
        attempt = 0
        while True:
            response = await self._send(path, body, stream=True, deadline=deadline)
            request_id = response.headers.get("x-request-id")
            yielded = False
            try:
                source = self._iter_response(response, request_id, deadline)
                try:
                    async for sse in source:
                        if sse.event == "error":
                            raise self._error_event(sse)
                        yielded = True
                        yield sse
                finally:
                    await source.aclose()
                return
            except (APIError, APIConnectionError) as error:
                delay = None if yielded else self._retry_delay(error, attempt, {}, deadline)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1
            finally:
                await response.aclose()

    async def _iter_response(
        self, response: httpx.Response, request_id: str | None, deadline: _Deadline
    ) -> AsyncGenerator[ServerSentEvent, None]:
        content_type = response.headers.get("content-type", "")
        with _translate_errors(request_id):
            if "text/event-stream" not in content_type:  # answered without SSE: one JSON body
                yield ServerSentEvent(event="result", data=(await response.aread()).decode())
                return
            decoder = SSEDecoder()
            async for chunk in response.aiter_raw():
                for sse in decoder.feed(chunk):
                    yield sse
                deadline.check(request_id)
            for sse in decoder.end():
                yield sse

    # -- generation -----------------------------------------------------------------------
    def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream a generation as delta chunks. ``aclose()``/cancellation closes the connection."""
        prepared = prepare_generation(model, messages, parameters, stream=True, endpoint=endpoint)
        return self._stream_prepared(prepared, StreamAccumulator(incremental=prepared.incremental))

    async def _stream_prepared(
        self, prepared: PreparedGeneration, accumulator: StreamAccumulator
    ) -> AsyncGenerator[GenerationChunk, None]:
        deadline = _Deadline(self.timeouts)
        finished = False
        events = self._events(prepared.path, prepared.body, deadline)
        try:
            async for sse in events:
                event = self._generation_body(sse.data, accumulator.request_id)
                for chunk in accumulator.feed(event):
                    finished = finished or chunk.finish_reason is not None
                    yield chunk
        finally:
            await events.aclose()
        if not finished:
            raise APIConnectionError(
                "the stream ended before the model finished (no final finish_reason)",
                request_id=accumulator.request_id,
            )

    async def generate(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> GenerationResult:
        """One complete answer. Thinking that the service only serves streamed is streamed here."""
        params = dict(parameters or {})
        if streams_internally(model, params):
            prepared = prepare_generation(model, messages, params, stream=True, endpoint=endpoint)
            accumulator = StreamAccumulator(incremental=prepared.incremental)
            stream = self._stream_prepared(prepared, accumulator)
            try:
                async for _ in stream:
                    pass
            finally:
                await stream.aclose()
            return accumulator.result()
        prepared = prepare_generation(model, messages, params, stream=False, endpoint=endpoint)
        deadline = _Deadline(self.timeouts)
        response = await self._send(prepared.path, prepared.body, stream=False, deadline=deadline)
        try:
            with _translate_errors(response.headers.get("x-request-id")):
                content = await response.aread()
        finally:
            await response.aclose()
        return self._generation_result(content, response.headers)

    # -- embeddings and rerank ------------------------------------------------------------
    async def _post_json(self, path: str, body: dict[str, Any]) -> tuple[bytes, Mapping[str, str]]:
        deadline = _Deadline(self.timeouts)
        response = await self._send(path, body, stream=False, deadline=deadline)
        try:
            with _translate_errors(response.headers.get("x-request-id")):
                return await response.aread(), response.headers
        finally:
            await response.aclose()

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        text_type: Literal["query", "document"] | None = None,
        dimension: int | None = None,
        output_type: str | None = None,
        instruct: str | None = None,
        batch_size: int | None = None,
    ) -> EmbeddingResult:
        """Embed ``texts`` in concurrent batches (at most ``embedding_concurrency`` at once)."""
        batches = self._embedding_batches(texts, model, batch_size)
        bodies = [
            (
                offset,
                prepare_embedding(
                    model,
                    batch,
                    text_type=text_type,
                    dimension=dimension,
                    output_type=output_type,
                    instruct=instruct,
                ),
            )
            for offset, batch in batches
        ]
        gate = asyncio.Semaphore(max(1, self.embedding_concurrency))

        async def one(offset: int, body: dict[str, Any]) -> tuple[int, EmbeddingResponse]:
            async with gate:
                content, headers = await self._post_json(EMBEDDING_PATH, body)
            return offset, self._parse_model("EmbeddingResponse", content, headers)

        responses = await asyncio.gather(*(one(offset, body) for offset, body in bodies))
        return self._check_embedding_count(self._embedding_result(list(responses)), len(texts))

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        return_documents: bool | None = None,
        instruct: str | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query``, most relevant first."""
        body = prepare_rerank(
            model,
            query,
            documents,
            top_n=top_n,
            return_documents=return_documents,
            instruct=instruct,
        )
        content, headers = await self._post_json(RERANK_PATH, body)
        return self._rerank_result(self._parse_model("RerankResponse", content, headers))

    async def tokenize(self, model: str, messages: Sequence[Mapping[str, Any]]) -> TokenizeResult:
        """Count (and list) the tokens of ``messages`` with the model's tokenizer."""
        body = self._tokenize_body(model, messages)
        content, headers = await self._post_json(TOKENIZER_PATH, body)
        return self._tokenize_result(self._parse_model("TokenizeResponse", content, headers))


_C = TypeVar("_C", DashScopeClient, AsyncDashScopeClient)


def reuse_client(
    cached: tuple[dict[str, Any], _C] | None, factory: Callable[..., _C], **options: Any
) -> tuple[dict[str, Any], _C]:
    """``cached`` while it was built from these same options, else ``factory(**options)``.

    Model objects keep their client this way, so a changed setting (``model_copy(update=...)``,
    attribute assignment) gets a new client instead of the old connection settings.
    """
    if cached is not None and cached[0] == options:
        return cached
    return options, factory(**options)
