"""Sync and async DashScope clients: the I/O around the pure core, as two thin twins.

Everything that decides is elsewhere and pure: the rules (``_rules``), the two protocols'
bodies and answers (``_native``; ``_openai`` for DashScope's compatible mode and self-hosted
servers, chosen by ``ClientSettings.protocol``), stream accumulation (``_accumulator``,
``_openai_stream``), SSE decoding (``_sse``), retry policy (``_retry``), error mapping
(``_errors``). The twins here send, read, sleep and close. Their bodies differ only in
``await`` / ``async`` spellings, which a parity test checks method by method.

Each call has one retry loop. A non-streaming call is retried until its whole body has been
read and parsed; a stream until its first event has been read and parsed, never after (the
caller may already have shown it). At most ``max_retries + 1`` requests are sent per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import platform
import sys
import time
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from . import _native, _openai
from ._accumulator import StreamAccumulator
from ._batch import compatible_base, multipart_body
from ._capabilities import Endpoint
from ._config import Timeouts
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    DashScopeError,
    InvalidRequestError,
    ProtocolError,
    error_from_body,
    explain_unknown_model,
)
from ._json import dumps, loads
from ._messages import ChatRequest, Message, chat_request
from ._native import (
    EMBEDDING_PATH,
    TOKENIZER_PATH,
    WireRequest,
    embedding_body,
    embedding_result,
    parse_model,
    tokenize_body,
    tokenize_chat_body,
    tokenize_result,
)
from ._openai_stream import DONE, OpenAIAccumulator
from ._pools import parsed_url, shared_async_http_client, shared_http_client
from ._retrieval import (
    DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
    MULTIMODAL_EMBEDDING_PATH,
    merge_reranks,
    multimodal_embedding_batches,
    multimodal_embedding_result,
    rerank_answer,
    rerank_plan,
)
from ._retry import MAX_RETRY_AFTER, backoff, retry_after, should_retry_error
from ._rules import check_embedding_dimension, embedding_batches, resolve_chat
from ._settings import ClientSettings
from ._sse import SSEDecoder
from ._types import EmbeddingResult, GenerationChunk, GenerationResult, RerankResult, TokenizeResult
from ._version import __version__

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_MULTIMODAL_EMBEDDING_MODEL",
    "DEFAULT_RERANK_MODEL",
    "AsyncDashScopeClient",
    "DashScopeClient",
]

logger = logging.getLogger("qwen_dashscope")

DEFAULT_EMBEDDING_MODEL = "text-embedding-v4"
DEFAULT_RERANK_MODEL = "qwen3-rerank"
MAX_BODY_BYTES = 256 * 1024 * 1024
"""The largest non-streaming answer read (DashScope answers are far smaller)."""
_Reader = StreamAccumulator | OpenAIAccumulator
"""What reads one chat's answer: the native protocol's, or the OpenAI protocol's."""
_USER_AGENT = (
    f"qwen-dashscope/{__version__}; python/{platform.python_version()}; httpx/{httpx.__version__}"
)


def _translated(exc: httpx.TransportError, request_id: str | None, host: str) -> DashScopeError:
    """Our error for an httpx one (its cause), naming the host and the setting to change."""
    where = f" (while talking to {host}; check base_url / region and your network)" if host else ""
    error: DashScopeError
    cause = exc.__cause__
    if isinstance(exc, httpx.PoolTimeout):
        error = APITimeoutError(
            f"no pooled connection to {host or 'the service'} became free in time: every "
            "connection of the pool was busy with other calls; raise max_connections (or the "
            "http_client's limits), or run fewer calls at once",
            request_id=request_id,
        )
    elif isinstance(exc, httpx.TimeoutException) and (
        cause is None or "Timeout" in type(cause).__name__
    ):
        error = APITimeoutError(
            f"{type(exc).__name__}: {exc}{where}; raise timeout= if the model needs longer",
            request_id=request_id,
        )
    elif isinstance(exc, httpx.TimeoutException) and cause is not None:
        # httpx-aiohttp reports any aiohttp connection error as ConnectTimeout.
        error = APIConnectionError(f"{type(cause).__name__}: {cause}{where}", request_id=request_id)
    else:
        error = APIConnectionError(f"{type(exc).__name__}: {exc}{where}", request_id=request_id)
    error.__cause__ = exc
    return error


@contextlib.contextmanager
def _translate_errors(
    request_id: str | None = None, host: str = "", deadline: _Deadline | None = None
) -> Iterator[None]:
    """The one place where httpx's exceptions become ours. The httpx exception (which holds
    the request, Authorization header included) is never bound to a name in this frame. A
    timeout that the ``total`` deadline set (it was shorter than connect/read) says so."""
    try:
        yield
    except httpx.TransportError:
        error = _translated(sys.exc_info()[1], request_id, host)  # type: ignore[arg-type]
        if isinstance(error, APITimeoutError) and deadline is not None and deadline.binds:
            total = deadline.error(request_id)
            raise total from error.__cause__
        raise error from error.__cause__


@functools.lru_cache(maxsize=64)
def _httpx_timeout(timeouts: Timeouts) -> httpx.Timeout:
    # Waiting for a free pooled connection is waiting for other calls to be answered, which
    # takes as long as a read can: the pool wait is bounded by the read timeout (the connect
    # timeout bounds opening the connection), so threads beyond ``max_connections`` queue.
    return httpx.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.read
    )


def _least(limit: float | None, left: float) -> float:
    return left if limit is None else min(limit, left)


class _Deadline:
    """The ``total`` timeout: a deadline for a whole call, retries and body included."""

    __slots__ = ("_end", "_timeouts", "binds")

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts
        self._end = None if timeouts.total is None else time.monotonic() + timeouts.total
        self.binds = False
        """Whether the last httpx timeout handed out was cut short by this deadline."""

    def remaining(self) -> float | None:
        return None if self._end is None else self._end - time.monotonic()

    def error(self, request_id: str | None = None) -> APITimeoutError:
        return APITimeoutError(
            f"the call exceeded its total timeout of {self._timeouts.total}s "
            "(Timeouts(total=...)); raise it if the model needs longer",
            request_id=request_id,
        )

    def check(self, request_id: str | None = None) -> None:
        if self._end is not None and time.monotonic() >= self._end:
            raise self.error(request_id)

    def httpx_timeout(self) -> httpx.Timeout:
        left = self.remaining()
        if left is None:
            return _httpx_timeout(self._timeouts)
        self.check()
        connect, read = _least(self._timeouts.connect, left), _least(self._timeouts.read, left)
        self.binds = read == left or connect == left
        return httpx.Timeout(connect=connect, read=read, write=read, pool=read)

    def allows_sleep(self, seconds: float) -> bool:
        left = self.remaining()
        return left is None or seconds < left


class _BaseClient:
    """Settings and the pure pieces shared by both twins."""

    def __init__(self, settings: ClientSettings | None = None, **options: Any) -> None:
        if settings is not None and options:
            raise TypeError("pass either settings or keyword options, not both")
        self.settings = settings if settings is not None else ClientSettings.resolve(**options)
        self._host = httpx.URL(self.settings.base_url).host
        self._token_counts: dict[bytes, int] = {}

    def _remember_count(self, key: bytes, count: int) -> None:
        if len(self._token_counts) >= 512:
            self._token_counts.pop(next(iter(self._token_counts)))
        self._token_counts[key] = count

    def _check_injected(self, http_client: object) -> None:
        if http_client is not None and self.settings.max_connections is not None:
            raise InvalidRequestError(
                "max_connections sizes the shared connection pool, but an http_client was "
                "given, which has its own limits: set them on it (httpx.Limits(max_connections="
                "...)), or drop one of the two",
                param="max_connections",
            )

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def timeouts(self) -> Timeouts:
        return self.settings.timeouts

    @property
    def max_retries(self) -> int:
        return self.settings.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=SecretStr('**********'))"

    def _headers(
        self, *, stream: bool, content_type: str | None = "application/json"
    ) -> dict[str, str]:
        # Built per request and handed straight to httpx (whose Headers repr masks it): the
        # key never sits in a plain dict in one of this module's frames.
        settings = self.settings
        headers = {
            "Accept": "text/event-stream" if stream else "application/json",
            "user-agent": _USER_AGENT,
        }
        if content_type:
            headers["Content-Type"] = content_type
        if settings.api_key is not None:  # None: a self-hosted server without a key
            headers["Authorization"] = "Bearer " + settings.api_key.get_secret_value()
        if stream and settings.protocol == "native":
            headers["X-DashScope-SSE"] = "enable"
        if settings.workspace:
            headers["X-DashScope-WorkSpace"] = settings.workspace
        headers.update(settings.default_headers)
        return headers

    def _url(self, path: str) -> httpx.URL:
        if path.startswith(("http://", "https://")):  # a native endpoint of compatible mode,
            # or the compatible-mode host of the Batch API
            return parsed_url(path)
        return parsed_url(self.settings.base_url + path)

    def _native_base(self, feature: str) -> str:
        """The native API base (``.../api/v1``) for a native-only endpoint (tokenizer, rerank,
        multimodal embeddings): the base URL itself, the native base of a compatible-mode URL
        (the same key and region serve both), or none: a self-hosted server does not have it."""
        settings = self.settings
        if settings.protocol == "native":
            return settings.base_url
        if settings.backend == "dashscope" and settings.base_url.endswith("/compatible-mode/v1"):
            return settings.base_url[: -len("/compatible-mode/v1")] + "/api/v1"
        raise InvalidRequestError(
            f"{feature} is a DashScope service endpoint; the {settings.backend} server at "
            f"{settings.base_url} does not have it",
            param="backend",
        )

    def _native_path(self, path: str, feature: str) -> str:
        """``path`` of a native-only endpoint, as the transport sends it (relative to the base
        URL, or absolute under the native base of a compatible-mode URL)."""
        base = self._native_base(feature)
        return path if base == self.settings.base_url else base + path

    def _prepare(self, request: ChatRequest, *, stream: bool) -> tuple[WireRequest, _Reader]:
        """The wire request of a chat, and the reader of its answer, in the settings'
        protocol (pure: every rule of the backend applied, nothing sent)."""
        settings = self.settings
        chat = resolve_chat(request, stream=stream, backend=settings.backend)
        if settings.protocol == "openai":
            return _openai.render_chat(chat, backend=settings.backend), _openai.accumulator(chat)
        wire = _native.render_chat(chat)
        return wire, StreamAccumulator(incremental=wire.incremental)

    def _embedding_requests(
        self,
        texts: Sequence[str],
        *,
        model: str,
        text_type: str | None,
        dimension: int | None,
        output_type: str | None,
        instruct: str | None,
        batch_size: int | None,
    ) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
        """The path and the ``(offset, body)`` of every batch of an embedding call."""
        batches = embedding_batches(texts, model, batch_size)
        if self.settings.protocol == "native":
            bodies = [
                (
                    offset,
                    embedding_body(
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
            return EMBEDDING_PATH, bodies
        if output_type not in (None, "dense"):
            raise InvalidRequestError(
                f"output_type={output_type!r}: sparse vectors come only from DashScope's native "
                "embedding API; the OpenAI /embeddings endpoint returns dense vectors",
                param="output_type",
            )
        if instruct is not None and self.settings.backend == "dashscope":
            raise InvalidRequestError(
                "instruct is a parameter of DashScope's native embedding API; compatible mode "
                "does not take it (use the native base URL, or leave it unset)",
                param="instruct",
            )
        size = check_embedding_dimension(model, dimension)
        # text_type has no OpenAI field; Qwen3-Embedding takes the query's task in the text.
        bodies = [
            (
                offset,
                _openai.embedding_body(
                    model,
                    [_openai.query_instruction(instruct, t) for t in batch] if instruct else batch,
                    dimensions=size,
                ),
            )
            for offset, batch in batches
        ]
        return _openai.EMBEDDINGS_PATH, bodies

    def _embedding_result(
        self, responses: Sequence[tuple[int, Any, str | None]], expected: int, dimension: int | None
    ) -> EmbeddingResult:
        if self.settings.protocol == "native":
            parsed = [
                (offset, parse_model("EmbeddingResponse", raw, request_id))
                for offset, raw, request_id in responses
            ]
            return embedding_result(parsed, expected)
        return _openai.embedding_result(responses, expected, dimensions=dimension)

    def _compat_url(self, path: str) -> str:
        """An OpenAI-compatible endpoint (files, batches) of the configured region's host."""
        settings = self.settings
        if settings.backend != "dashscope":
            raise InvalidRequestError(
                f"the Batch API (files and batches) is a DashScope service endpoint; the "
                f"{settings.backend} server at {settings.base_url} does not have it",
                param="backend",
            )
        return compatible_base(settings.base_url) + path

    def _error(self, status: int | None, body: Any, headers: Mapping[str, str]) -> APIError:
        error = error_from_body(
            status,
            body,
            header_request_id=headers.get("x-request-id"),
            auth_hint=self.settings.auth_hint,
        )
        error.headers = headers
        return error

    def _explain(self, error: DashScopeError, body: Mapping[str, Any]) -> None:
        """Before ``error`` reaches the caller: an unknown model's names the closest known."""
        explain_unknown_model(error, body.get("model"), self._host)

    def _retry_delay(
        self, error: DashScopeError, attempt: int, headers: Mapping[str, str], deadline: _Deadline
    ) -> float | None:
        """Seconds to wait before retrying ``error``, or None to give up."""
        if not should_retry_error(error):
            return None
        if isinstance(error, APIError) and error.headers:
            headers = error.headers
        asked = retry_after(headers)
        if asked is not None and isinstance(error, APIError):
            error.retry_after = asked
            if asked > MAX_RETRY_AFTER or not deadline.allows_sleep(asked):
                error.message += (
                    f" (the service asked to wait {asked:.0f}s before trying again: longer than "
                    "this call waits; retry later)"
                )
                error.args = (error.message,)
                return None
        if attempt >= self.settings.max_retries:
            return None
        delay = backoff(attempt) if asked is None else asked
        if not deadline.allows_sleep(delay):
            return None
        logger.info(
            "retrying after %s (attempt %d of %d, waiting %.2fs)",
            type(error).__name__,
            attempt + 1,
            self.settings.max_retries,
            delay,
        )
        return delay

    def _json(self, content: bytes | str, request_id: str | None) -> Any:
        """A JSON answer; an error envelope where a result was expected raises typed."""
        try:
            body = loads(content)
        except ValueError:
            raise ProtocolError(
                f"expected a JSON body, got {content[:200]!r}", request_id=request_id
            ) from None
        if (
            isinstance(body, dict)
            and "output" not in body
            and "choices" not in body
            and (body.get("code") or body.get("error"))
        ):
            # Native {"code", "message"}; OpenAI {"error": {...}}; Ollama and llama.cpp
            # {"error": "..."}; older vLLM {"object": "error", "message", "code": 400}.
            raise self._error(200, body, {"x-request-id": request_id or ""})
        return body

    def _object(self, content: bytes, request_id: str | None) -> dict[str, Any]:
        """A JSON object answer (files, batches); anything else is a ProtocolError."""
        body = self._json(content, request_id)
        if not isinstance(body, dict):
            raise ProtocolError(
                f"expected a JSON object, got {content[:200]!r}", request_id=request_id
            )
        return body

    def _event(self, sse_event: str, data: str, status: int | None, request_id: str | None) -> Any:
        """One SSE event as a parsed body (``event:error`` frames raise typed errors)."""
        if sse_event == "error":
            # [CAP §5.7] errors after SSE is negotiated: HTTP 200 + one event:error frame;
            # without :HTTP_STATUS the code decides the class.
            raise self._error(status, data, {"x-request-id": request_id or ""})
        if data == "[DONE]":  # the OpenAI protocol's end of stream
            return DONE
        body = self._json(data, request_id)
        if not isinstance(body, dict):
            raise ProtocolError(
                f"expected a JSON object, got {data[:200]!r}", request_id=request_id
            )
        return body

    @staticmethod
    def _unfinished(accumulator: _Reader) -> APIConnectionError:
        return APIConnectionError(
            "the stream ended before the model finished (no final finish_reason)",
            request_id=accumulator.request_id,
        )


def _id(value: str) -> str:
    """A file or batch id as a path segment (ids are ``file-batch-…`` / ``batch_<uuid>``)."""
    if not isinstance(value, str) or not value or "/" in value or "?" in value:
        raise InvalidRequestError(f"not a file or batch id: {value!r}", param="id")
    return value


def _query(query: Mapping[str, Any]) -> str:
    pairs = {k: str(v) for k, v in query.items() if v is not None}
    return "?" + urlencode(pairs) if pairs else ""


class DashScopeClient(_BaseClient):
    """Synchronous client for the native DashScope API.

    >>> client = DashScopeClient(region="singapore")            # key from DASHSCOPE_API_KEY
    >>> result = client.generate("qwen-plus", [{"role": "user", "content": "你好"}])
    >>> for chunk in client.stream("qwen-plus", [{"role": "user", "content": "你好"}]):
    ...     print(chunk.text, end="")
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.Client | None = None,
        **options: Any,
    ) -> None:
        super().__init__(settings, **options)
        self._check_injected(http_client)
        self._injected = http_client

    @property
    def _http(self) -> httpx.Client:
        if self._injected is not None:
            return self._injected
        return shared_http_client(self.settings.pool_size)

    def close(self) -> None:
        """Close an injected ``http_client``; the shared default pool stays open for others."""
        if self._injected is not None:
            self._injected.close()

    def __enter__(self) -> DashScopeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- I/O ------------------------------------------------------------------------------
    def _send(
        self,
        path: str,
        payload: bytes,
        *,
        stream: bool,
        deadline: _Deadline,
        method: str = "POST",
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        """One attempt: an open 200 response (the caller closes it), or a typed error."""
        http = self._http
        with _translate_errors(host=self._host, deadline=deadline):
            # One expression: the request (Authorization header included) is never a local.
            response = http.send(
                http.build_request(
                    method,
                    self._url(path),
                    content=payload if method != "GET" else None,
                    headers=self._headers(stream=stream, content_type=content_type),
                    timeout=deadline.httpx_timeout(),
                ),
                stream=True,
            )
        if response.status_code == 200:
            return response
        try:
            content = self._read_body(response, deadline)
        finally:
            response.close()
        raise self._error(response.status_code, content, response.headers)

    def _read_body(self, response: httpx.Response, deadline: _Deadline) -> bytes:
        """The whole body, within the deadline and the size limit."""
        request_id = response.headers.get("x-request-id")
        parts: list[bytes] = []
        size = 0
        with _translate_errors(request_id, self._host, deadline):
            for chunk in response.iter_bytes():
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ProtocolError(
                        f"the answer is over {MAX_BODY_BYTES} bytes", request_id=request_id
                    )
                deadline.check(request_id)
        return b"".join(parts)

    def _request_json(self, path: str, body: Mapping[str, Any]) -> tuple[Any, str | None]:
        """POST and parse the answer: one retry loop covering the send and the whole body."""
        deadline = _Deadline(self.settings.timeouts)
        payload = dumps(body)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                response = self._send(path, payload, stream=False, deadline=deadline)
                headers = response.headers
                try:
                    content = self._read_body(response, deadline)
                finally:
                    response.close()
                request_id = headers.get("x-request-id")
                return self._json(content, request_id), request_id
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    self._explain(error, body)
                    raise
                time.sleep(delay)
                attempt += 1

    def _bodies(
        self, response: httpx.Response, deadline: _Deadline
    ) -> Generator[dict[str, Any], None, None]:
        """The parsed events of an open streaming response (one body if it was not SSE)."""
        request_id = response.headers.get("x-request-id")
        if "text/event-stream" not in response.headers.get("content-type", ""):
            yield self._json(self._read_body(response, deadline), request_id)
            return
        decoder = SSEDecoder(request_id=request_id)
        with _translate_errors(request_id, self._host, deadline):
            for chunk in response.iter_bytes():
                for sse in decoder.feed(chunk):
                    yield self._event(sse.event, sse.data, sse.status, request_id)
                deadline.check(request_id)
            for sse in decoder.end():
                yield self._event(sse.event, sse.data, sse.status, request_id)

    def _open_stream(
        self, path: str, body: Mapping[str, Any], deadline: _Deadline
    ) -> tuple[httpx.Response, Generator[dict[str, Any], None, None], dict[str, Any]]:
        """Send a streaming request and read its first event: the one retry loop of a stream."""
        payload = dumps(body)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            response = None
            try:
                response = self._send(path, payload, stream=True, deadline=deadline)
                headers = response.headers
                bodies = self._bodies(response, deadline)
                first = next(bodies, None)
                if first is None:
                    raise APIConnectionError(
                        "the stream ended before its first event",
                        request_id=headers.get("x-request-id"),
                    )
                return response, bodies, first
            except BaseException as error:
                if response is not None:  # whatever failed, the connection goes back
                    response.close()
                if not isinstance(error, (APIError, APIConnectionError)):
                    raise
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    self._explain(error, body)
                    raise
                time.sleep(delay)
                attempt += 1

    # -- generation -----------------------------------------------------------------------
    def _chunks(
        self, wire: WireRequest, accumulator: _Reader
    ) -> Generator[GenerationChunk, None, None]:
        """The delta chunks of a streaming request; the response is closed when this closes."""
        deadline = _Deadline(self.settings.timeouts)
        response, bodies, first = self._open_stream(wire.path, wire.body, deadline)
        try:
            yield from accumulator.feed(first)
            for event in bodies:
                yield from accumulator.feed(event)
        finally:
            bodies.close()
            response.close()
        yield from accumulator.end()  # what a reader holds until the stream ends
        if not accumulator.finished:
            raise self._unfinished(accumulator)

    def chat_stream(self, request: ChatRequest) -> Generator[GenerationChunk, None, None]:
        """Stream a chat as delta chunks (validated now; ``close()`` closes the connection)."""
        wire, accumulator = self._prepare(request, stream=True)
        return self._chunks(wire, accumulator)

    def chat(self, request: ChatRequest) -> GenerationResult:
        """One complete answer; a model that only answers streamed requests is streamed."""
        wire, accumulator = self._prepare(request, stream=False)
        if not wire.stream:
            body, _ = self._request_json(wire.path, wire.body)
            return accumulator.complete(body)
        for _ in self._chunks(wire, accumulator):
            pass
        return accumulator.result()

    def stream(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> Generator[GenerationChunk, None, None]:
        """Stream a generation (DashScope message dicts) as delta chunks."""
        return self.chat_stream(chat_request(model, messages, parameters, endpoint=endpoint))

    def generate(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> GenerationResult:
        """One complete answer to DashScope message dicts."""
        return self.chat(chat_request(model, messages, parameters, endpoint=endpoint))

    # -- embeddings, rerank, tokenizer ----------------------------------------------------
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
        """Embed ``texts``, split into batches within the model's limit, in input order.

        On the OpenAI protocol ``text_type`` has no field, ``instruct`` prefixes the texts in
        Qwen3-Embedding's query format, and ``dimension`` is sent as ``dimensions``."""
        path, bodies = self._embedding_requests(
            texts,
            model=model,
            text_type=text_type,
            dimension=dimension,
            output_type=output_type,
            instruct=instruct,
            batch_size=batch_size,
        )
        responses = []
        for offset, body in bodies:
            raw, request_id = self._request_json(path, body)
            responses.append((offset, raw, request_id))
        return self._embedding_result(responses, len(texts), dimension)

    def rerank(
        self,
        query: str | Mapping[str, Any],
        documents: Sequence[str | Mapping[str, Any]],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        return_documents: bool | None = None,
        instruct: str | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query``, most relevant first.

        The endpoint follows the model (qwen3-rerank: ``/compatible-api/v1/reranks``;
        gte-rerank-v2, qwen3-vl-rerank: native text-rerank, where documents may also be
        ``{"image": url, path or bytes}`` / ``{"video": url}``). A list over the model's
        limits is sent in several requests and merged by score, ``top_n`` after merging.
        """
        plan = rerank_plan(
            self._native_base("rerank"),
            model,
            query,
            documents,
            top_n=top_n,
            return_documents=return_documents,
            instruct=instruct,
        )
        answers = []
        for call in plan.calls:
            raw, request_id = self._request_json(self._native_path(call.path, "rerank"), call.body)
            answers.append(rerank_answer(call, raw, request_id))
        return merge_reranks(plan, answers)

    def embed_multimodal(
        self,
        contents: Sequence[str | Mapping[str, Any]],
        *,
        model: str = DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
        dimension: int | None = None,
        enable_fusion: bool | None = None,
        instruct: str | None = None,
        fps: float | None = None,
        batch_size: int | None = None,
    ) -> EmbeddingResult:
        """Embed texts, images and videos: each item a string (text) or a dict with ``text``,
        ``image`` (URL, data URI, local path or bytes), ``video`` (URL) or ``multi_images``.

        One vector per item in input order, sent in batches within the model's limits; with
        ``enable_fusion=True`` (qwen3-vl-embedding) one vector for all of them.
        """
        batches = multimodal_embedding_batches(
            model,
            contents,
            dimension=dimension,
            enable_fusion=enable_fusion,
            instruct=instruct,
            fps=fps,
            batch_size=batch_size,
        )
        responses = []
        for batch in batches:
            raw, request_id = self._request_json(
                self._native_path(MULTIMODAL_EMBEDDING_PATH, "multimodal embeddings"), batch.body
            )
            responses.append(
                (batch.offset, parse_model("MultimodalEmbeddingResponse", raw, request_id))
            )
        return multimodal_embedding_result(responses, 1 if enable_fusion else len(contents))

    def tokenize(self, model: str, messages: Sequence[Mapping[str, Any]]) -> TokenizeResult:
        """Count (and list) the tokens of ``messages`` with the model's tokenizer."""
        raw, request_id = self._request_json(
            self._native_path(TOKENIZER_PATH, "the tokenizer"), tokenize_body(model, messages)
        )
        return tokenize_result(parse_model("TokenizeResponse", raw, request_id))

    def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of a chat (messages and tools), from DashScope's tokenizer; answers
        are remembered, so counting growing prefixes of a conversation stays cheap."""
        path = self._native_path(TOKENIZER_PATH, "the tokenizer (token counting)")
        body = tokenize_chat_body(resolve_chat(request, stream=False))
        key = dumps(body)
        count = self._token_counts.get(key)
        if count is None:
            raw, request_id = self._request_json(path, body)
            count = tokenize_result(parse_model("TokenizeResponse", raw, request_id)).input_tokens
            self._remember_count(key, count)
        return count

    # -- Batch API: files and batches on the compatible-mode host -------------------------
    def _request_raw(
        self,
        method: str,
        url: str,
        payload: bytes = b"",
        *,
        content_type: str | None = None,
        retry: bool = True,
    ) -> tuple[bytes, str | None]:
        """Send and read a whole answer (any method, any body): one retry loop, as
        ``_request_json``; ``retry=False`` for a request that must not be sent twice."""
        deadline = _Deadline(self.settings.timeouts)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                response = self._send(
                    url,
                    payload,
                    stream=False,
                    deadline=deadline,
                    method=method,
                    content_type=content_type,
                )
                headers = response.headers
                try:
                    content = self._read_body(response, deadline)
                finally:
                    response.close()
                return content, headers.get("x-request-id")
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline) if retry else None
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1

    def _compat_json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        payload = b"" if body is None else dumps(body)
        content_type = None if body is None else "application/json"
        content, request_id = self._request_raw(
            method, self._compat_url(path), payload, content_type=content_type, retry=retry
        )
        return self._object(content, request_id)

    def upload_file(
        self, content: bytes, *, filename: str = "batch.jsonl", purpose: str = "batch"
    ) -> dict[str, Any]:
        """Upload a file (``POST /files``, multipart); returns the file object."""
        payload, content_type = multipart_body({"purpose": purpose}, filename, content)
        raw, request_id = self._request_raw(
            "POST", self._compat_url("/files"), payload, content_type=content_type
        )
        return self._object(raw, request_id)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an output or error file (``GET /files/{id}/content``)."""
        content, _ = self._request_raw("GET", self._compat_url(f"/files/{_id(file_id)}/content"))
        return content

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str,
        *,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a batch (``POST /batches``); never retried here (a retry could create a
        second, paid batch: the job looks for the first one before creating again)."""
        body: dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata:
            body["metadata"] = dict(metadata)
        return self._compat_json("POST", "/batches", body, retry=False)

    def retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch object (``GET /batches/{id}``)."""
        return self._compat_json("GET", f"/batches/{_id(batch_id)}")

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Ask to cancel a batch (``POST /batches/{id}/cancel``); answers ``cancelling``."""
        return self._compat_json("POST", f"/batches/{_id(batch_id)}/cancel")

    def list_batches(self, **query: Any) -> dict[str, Any]:
        """One page of batches, newest first (``after``, ``limit``, ``ds_name``, ``status``,
        ``input_file_ids``, ``create_after``, ``create_before``); ``data`` may be null."""
        return self._compat_json("GET", "/batches" + _query(query))


class AsyncDashScopeClient(_BaseClient):
    """Asynchronous client for the native DashScope API (real async, no threads).

    Without an injected ``http_client`` it uses a pool shared by all clients of the same
    event loop, on the aiohttp transport when ``httpx-aiohttp`` is installed (``pip install
    qwen-dashscope[aiohttp]``), which costs far less CPU per request under high concurrency.
    The pool is closed when its event loop shuts down (``asyncio.run`` / ``asyncio.Runner``).
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        embedding_concurrency: int = 4,
        **options: Any,
    ) -> None:
        super().__init__(settings, **options)
        self._check_injected(http_client)
        self._injected = http_client
        self.embedding_concurrency = max(1, embedding_concurrency)

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._injected is not None:
            return self._injected
        return shared_async_http_client(self.settings.pool_size)

    async def aclose(self) -> None:
        """Close an injected ``http_client``; the shared per-loop pool closes with its loop."""
        if self._injected is not None:
            await self._injected.aclose()

    async def __aenter__(self) -> AsyncDashScopeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- I/O ------------------------------------------------------------------------------
    async def _send(
        self,
        path: str,
        payload: bytes,
        *,
        stream: bool,
        deadline: _Deadline,
        method: str = "POST",
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        """One attempt: an open 200 response (the caller closes it), or a typed error."""
        http = self._http
        with _translate_errors(host=self._host, deadline=deadline):
            # One expression: the request (Authorization header included) is never a local.
            response = await http.send(
                http.build_request(
                    method,
                    self._url(path),
                    content=payload if method != "GET" else None,
                    headers=self._headers(stream=stream, content_type=content_type),
                    timeout=deadline.httpx_timeout(),
                ),
                stream=True,
            )
        if response.status_code == 200:
            return response
        try:
            content = await self._read_body(response, deadline)
        finally:
            await response.aclose()
        raise self._error(response.status_code, content, response.headers)

    async def _read_body(self, response: httpx.Response, deadline: _Deadline) -> bytes:
        """The whole body, within the deadline and the size limit."""
        request_id = response.headers.get("x-request-id")
        parts: list[bytes] = []
        size = 0
        with _translate_errors(request_id, self._host, deadline):
            async for chunk in response.aiter_bytes():
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ProtocolError(
                        f"the answer is over {MAX_BODY_BYTES} bytes", request_id=request_id
                    )
                deadline.check(request_id)
        return b"".join(parts)

    async def _request_json(self, path: str, body: Mapping[str, Any]) -> tuple[Any, str | None]:
        """POST and parse the answer: one retry loop covering the send and the whole body."""
        deadline = _Deadline(self.settings.timeouts)
        payload = dumps(body)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                response = await self._send(path, payload, stream=False, deadline=deadline)
                headers = response.headers
                try:
                    content = await self._read_body(response, deadline)
                finally:
                    await response.aclose()
                request_id = headers.get("x-request-id")
                return self._json(content, request_id), request_id
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    self._explain(error, body)
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _bodies(
        self, response: httpx.Response, deadline: _Deadline
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The parsed events of an open streaming response (one body if it was not SSE)."""
        request_id = response.headers.get("x-request-id")
        if "text/event-stream" not in response.headers.get("content-type", ""):
            yield self._json(await self._read_body(response, deadline), request_id)
            return
        decoder = SSEDecoder(request_id=request_id)
        with _translate_errors(request_id, self._host, deadline):
            async for chunk in response.aiter_bytes():
                for sse in decoder.feed(chunk):
                    yield self._event(sse.event, sse.data, sse.status, request_id)
                deadline.check(request_id)
            for sse in decoder.end():
                yield self._event(sse.event, sse.data, sse.status, request_id)

    async def _open_stream(
        self, path: str, body: Mapping[str, Any], deadline: _Deadline
    ) -> tuple[httpx.Response, AsyncGenerator[dict[str, Any], None], dict[str, Any]]:
        """Send a streaming request and read its first event: the one retry loop of a stream."""
        payload = dumps(body)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            response = None
            try:
                response = await self._send(path, payload, stream=True, deadline=deadline)
                headers = response.headers
                bodies = self._bodies(response, deadline)
                first = await anext(bodies, None)
                if first is None:
                    raise APIConnectionError(
                        "the stream ended before its first event",
                        request_id=headers.get("x-request-id"),
                    )
                return response, bodies, first
            except BaseException as error:
                if response is not None:  # whatever failed, the connection goes back
                    await response.aclose()
                if not isinstance(error, (APIError, APIConnectionError)):
                    raise
                delay = self._retry_delay(error, attempt, headers, deadline)
                if delay is None:
                    self._explain(error, body)
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    # -- generation -----------------------------------------------------------------------
    async def _chunks(
        self, wire: WireRequest, accumulator: _Reader
    ) -> AsyncGenerator[GenerationChunk, None]:
        """The delta chunks of a streaming request; the response is closed when this closes."""
        deadline = _Deadline(self.settings.timeouts)
        response, bodies, first = await self._open_stream(wire.path, wire.body, deadline)
        try:
            for chunk in accumulator.feed(first):
                yield chunk
            async for event in bodies:
                for chunk in accumulator.feed(event):
                    yield chunk
        finally:
            await bodies.aclose()
            await response.aclose()
        for chunk in accumulator.end():  # what a reader holds until the stream ends
            yield chunk
        if not accumulator.finished:
            raise self._unfinished(accumulator)

    def chat_stream(self, request: ChatRequest) -> AsyncGenerator[GenerationChunk, None]:
        """Stream a chat as delta chunks (validated now; ``aclose()`` closes the connection)."""
        wire, accumulator = self._prepare(request, stream=True)
        return self._chunks(wire, accumulator)

    async def chat(self, request: ChatRequest) -> GenerationResult:
        """One complete answer; a model that only answers streamed requests is streamed."""
        wire, accumulator = self._prepare(request, stream=False)
        if not wire.stream:
            body, _ = await self._request_json(wire.path, wire.body)
            return accumulator.complete(body)
        async for _ in self._chunks(wire, accumulator):
            pass
        return accumulator.result()

    def stream(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream a generation (DashScope message dicts) as delta chunks."""
        return self.chat_stream(chat_request(model, messages, parameters, endpoint=endpoint))

    async def generate(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        *,
        endpoint: Endpoint | None = None,
    ) -> GenerationResult:
        """One complete answer to DashScope message dicts."""
        return await self.chat(chat_request(model, messages, parameters, endpoint=endpoint))

    # -- embeddings, rerank, tokenizer ----------------------------------------------------
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
        path, bodies = self._embedding_requests(
            texts,
            model=model,
            text_type=text_type,
            dimension=dimension,
            output_type=output_type,
            instruct=instruct,
            batch_size=batch_size,
        )
        gate = asyncio.Semaphore(self.embedding_concurrency)

        async def one(offset: int, body: dict[str, Any]) -> tuple[int, Any, str | None]:
            async with gate:
                raw, request_id = await self._request_json(path, body)
            return offset, raw, request_id

        responses = await asyncio.gather(*(one(offset, body) for offset, body in bodies))
        return self._embedding_result(responses, len(texts), dimension)

    async def rerank(
        self,
        query: str | Mapping[str, Any],
        documents: Sequence[str | Mapping[str, Any]],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        return_documents: bool | None = None,
        instruct: str | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query``, most relevant first.

        The endpoint follows the model (qwen3-rerank: ``/compatible-api/v1/reranks``;
        gte-rerank-v2, qwen3-vl-rerank: native text-rerank, where documents may also be
        ``{"image": url, path or bytes}`` / ``{"video": url}``). A list over the model's
        limits is sent in several requests and merged by score, ``top_n`` after merging.
        """
        plan = rerank_plan(
            self._native_base("rerank"),
            model,
            query,
            documents,
            top_n=top_n,
            return_documents=return_documents,
            instruct=instruct,
        )
        answers = []
        for call in plan.calls:
            raw, request_id = await self._request_json(
                self._native_path(call.path, "rerank"), call.body
            )
            answers.append(rerank_answer(call, raw, request_id))
        return merge_reranks(plan, answers)

    async def embed_multimodal(
        self,
        contents: Sequence[str | Mapping[str, Any]],
        *,
        model: str = DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
        dimension: int | None = None,
        enable_fusion: bool | None = None,
        instruct: str | None = None,
        fps: float | None = None,
        batch_size: int | None = None,
    ) -> EmbeddingResult:
        """Embed texts, images and videos: each item a string (text) or a dict with ``text``,
        ``image`` (URL, data URI, local path or bytes), ``video`` (URL) or ``multi_images``.

        One vector per item in input order, in concurrent batches (at most
        ``embedding_concurrency``) within the model's limits; with ``enable_fusion=True``
        (qwen3-vl-embedding) one vector for all of them.
        """
        batches = multimodal_embedding_batches(
            model,
            contents,
            dimension=dimension,
            enable_fusion=enable_fusion,
            instruct=instruct,
            fps=fps,
            batch_size=batch_size,
        )
        gate = asyncio.Semaphore(self.embedding_concurrency)

        async def one(offset: int, body: dict[str, Any]) -> tuple[int, Any]:
            async with gate:
                raw, request_id = await self._request_json(
                    self._native_path(MULTIMODAL_EMBEDDING_PATH, "multimodal embeddings"), body
                )
            return offset, parse_model("MultimodalEmbeddingResponse", raw, request_id)

        responses = await asyncio.gather(*(one(batch.offset, batch.body) for batch in batches))
        return multimodal_embedding_result(responses, 1 if enable_fusion else len(contents))

    async def tokenize(self, model: str, messages: Sequence[Mapping[str, Any]]) -> TokenizeResult:
        """Count (and list) the tokens of ``messages`` with the model's tokenizer."""
        raw, request_id = await self._request_json(
            self._native_path(TOKENIZER_PATH, "the tokenizer"), tokenize_body(model, messages)
        )
        return tokenize_result(parse_model("TokenizeResponse", raw, request_id))

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of a chat (messages and tools), from DashScope's tokenizer; answers
        are remembered, so counting growing prefixes of a conversation stays cheap."""
        path = self._native_path(TOKENIZER_PATH, "the tokenizer (token counting)")
        body = tokenize_chat_body(resolve_chat(request, stream=False))
        key = dumps(body)
        count = self._token_counts.get(key)
        if count is None:
            raw, request_id = await self._request_json(path, body)
            count = tokenize_result(parse_model("TokenizeResponse", raw, request_id)).input_tokens
            self._remember_count(key, count)
        return count

    # -- Batch API: files and batches on the compatible-mode host -------------------------
    async def _request_raw(
        self,
        method: str,
        url: str,
        payload: bytes = b"",
        *,
        content_type: str | None = None,
        retry: bool = True,
    ) -> tuple[bytes, str | None]:
        """Send and read a whole answer (any method, any body): one retry loop, as
        ``_request_json``; ``retry=False`` for a request that must not be sent twice."""
        deadline = _Deadline(self.settings.timeouts)
        attempt = 0
        while True:
            headers: Mapping[str, str] = {}
            try:
                response = await self._send(
                    url,
                    payload,
                    stream=False,
                    deadline=deadline,
                    method=method,
                    content_type=content_type,
                )
                headers = response.headers
                try:
                    content = await self._read_body(response, deadline)
                finally:
                    await response.aclose()
                return content, headers.get("x-request-id")
            except (APIError, APIConnectionError) as error:
                delay = self._retry_delay(error, attempt, headers, deadline) if retry else None
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _compat_json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        payload = b"" if body is None else dumps(body)
        content_type = None if body is None else "application/json"
        content, request_id = await self._request_raw(
            method, self._compat_url(path), payload, content_type=content_type, retry=retry
        )
        return self._object(content, request_id)

    async def upload_file(
        self, content: bytes, *, filename: str = "batch.jsonl", purpose: str = "batch"
    ) -> dict[str, Any]:
        """Upload a file (``POST /files``, multipart); returns the file object."""
        payload, content_type = multipart_body({"purpose": purpose}, filename, content)
        raw, request_id = await self._request_raw(
            "POST", self._compat_url("/files"), payload, content_type=content_type
        )
        return self._object(raw, request_id)

    async def file_content(self, file_id: str) -> bytes:
        """The bytes of an output or error file (``GET /files/{id}/content``)."""
        content, _ = await self._request_raw(
            "GET", self._compat_url(f"/files/{_id(file_id)}/content")
        )
        return content

    async def create_batch(
        self,
        input_file_id: str,
        endpoint: str,
        *,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a batch (``POST /batches``); never retried here (a retry could create a
        second, paid batch: the job looks for the first one before creating again)."""
        body: dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata:
            body["metadata"] = dict(metadata)
        return await self._compat_json("POST", "/batches", body, retry=False)

    async def retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch object (``GET /batches/{id}``)."""
        return await self._compat_json("GET", f"/batches/{_id(batch_id)}")

    async def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Ask to cancel a batch (``POST /batches/{id}/cancel``); answers ``cancelling``."""
        return await self._compat_json("POST", f"/batches/{_id(batch_id)}/cancel")

    async def list_batches(self, **query: Any) -> dict[str, Any]:
        """One page of batches, newest first (``after``, ``limit``, ``ds_name``, ``status``,
        ``input_file_ids``, ``create_after``, ``create_before``); ``data`` may be null."""
        return await self._compat_json("GET", "/batches" + _query(query))
