"""The emulator: request dispatch (``respond``) and a thin stdlib HTTP/1.1 server around it."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ._batches import BatchService
from ._compat import DONE_FRAME, compat_body, compat_frame, compat_stream_chunks
from ._errors import ServiceError, compat_error_body, invalid_api_key, native_error_body
from ._generation import build_turn
from ._models import ModelSpec, build_model_table
from ._native import dumps, native_body, native_stream_events, sse_frame
from ._recorded import GENERATION_ENDPOINTS, EndpointName, Headers, RecordedRequest
from ._replies import Reply
from ._retrieval import (
    MultimodalPlan,
    RerankPlan,
    compat_rerank_error_body,
    media_key,
    multimodal_embedding_body,
    plan_compat_rerank,
    plan_multimodal_embedding,
    plan_rerank,
    rerank_body,
)
from ._selfhosted import (
    Flavour,
    chat_body,
    error_body,
    flavour_of,
    get_answer,
    plan_chat,
    plan_embeddings,
    stream_chunks,
)
from ._validate import GenerationPlan, plan_compat_chat, plan_native_generation
from ._vectors import (
    EmbeddingPlan,
    TokenizePlan,
    compat_embedding_body,
    embedding_body,
    plan_compat_embedding,
    plan_embedding,
    plan_tokenize,
    tokenize_body,
)

Predicate = Callable[[RecordedRequest], bool]
Plan = GenerationPlan | EmbeddingPlan | RerankPlan | TokenizePlan | MultimodalPlan

PATHS: Mapping[str, EndpointName] = {
    "/api/v1/services/aigc/text-generation/generation": "text-generation",
    "/api/v1/services/aigc/multimodal-generation/generation": "multimodal-generation",
    "/api/v1/services/embeddings/text-embedding/text-embedding": "text-embedding",
    "/api/v1/services/rerank/text-rerank/text-rerank": "text-rerank",
    "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding": (
        "multimodal-embedding"
    ),
    "/compatible-mode/v1/chat/completions": "compat-chat",
    "/compatible-mode/v1/embeddings": "compat-embeddings",
    "/compatible-api/v1/reranks": "compat-rerank",  # at the host root [DOC]
    "/api/v1/tokenizer": "tokenizer",  # not under /services (capture tokenizer.request-headers)
}

SSE_CONTENT_TYPE = "text/event-stream;charset=UTF-8"
JSON_CONTENT_TYPE = "application/json"


SELF_HOSTED_PATHS: Mapping[str, EndpointName] = {
    "/v1/chat/completions": "compat-chat",
    "/v1/embeddings": "compat-embeddings",
}
"""vLLM, SGLang, Ollama and llama.cpp serve the OpenAI API under ``/v1`` (research notes §7);
their requests are recorded with the compat endpoint names (top-level parameters)."""


def classify(method: str, path: str, flavour: Flavour | None = None) -> EndpointName:
    """Which endpoint a request targets (``other`` for anything unknown or not a POST)."""
    if method != "POST":
        return "other"
    return (SELF_HOSTED_PATHS if flavour is not None else PATHS).get(path, "other")


def wants_sse(headers: Mapping[str, str]) -> bool:
    """[CAP §5.9] either ``X-DashScope-SSE: enable`` or ``Accept: text/event-stream``."""
    sse = headers.get("x-dashscope-sse", "").strip().lower() == "enable"
    return sse or "text/event-stream" in headers.get("accept", "").lower()


def bearer_key(headers: Mapping[str, str]) -> str:
    scheme, _, key = headers.get("authorization", "").strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


@dataclass(frozen=True)
class Outcome:
    """What to put on the wire for one request (built without any socket I/O)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    frames: tuple[bytes, ...] | None = None
    """Streamed responses: one chunk per frame (chunked transfer encoding)."""
    abort: bool = False
    """Close the connection abruptly: before any byte, or after the frames."""
    delay: float = 0.0


def _headers(request_id: str, content_type: str, *, finished: bool) -> tuple[tuple[str, str], ...]:
    return (
        ("content-type", content_type),
        ("x-request-id", request_id),
        ("x-dashscope-call-gateway", "true"),
        ("x-dashscope-finished", "true" if finished else "false"),
    )


def json_outcome(
    status: int, body: Mapping[str, Any], request_id: str, delay: float = 0.0
) -> Outcome:
    return Outcome(
        status=status,
        headers=_headers(request_id, JSON_CONTENT_TYPE, finished=True),
        body=dumps(body).encode(),
        delay=delay,
    )


def _compat_error(request: RecordedRequest, error: ServiceError, request_id: str) -> Any:
    if request.endpoint == "compat-rerank":
        return compat_rerank_error_body(error, request_id)
    return compat_error_body(error, request_id)


def error_outcome(
    error: ServiceError, request: RecordedRequest, request_id: str, delay: float = 0.0
) -> Outcome:
    """An error before any output: compat envelope, native SSE error event, or native JSON."""
    if request.is_compat:
        return json_outcome(
            error.status, _compat_error(request, error, request_id), request_id, delay
        )
    if request.stream and error.status != 401:
        # [CAP §5.7] after SSE is negotiated, errors are HTTP 200 + one event:error frame.
        frame = sse_frame(1, "error", error.status, native_error_body(error, request_id))
        return Outcome(
            headers=_headers(request_id, SSE_CONTENT_TYPE, finished=False),
            frames=(frame,),
            delay=delay,
        )
    return json_outcome(error.status, native_error_body(error, request_id), request_id, delay)


def _misuse(message: str) -> ServiceError:
    return ServiceError(500, "EmulatorError", message)


@dataclass
class _Rule:
    predicate: Predicate
    reply: Reply
    remaining: int | None


@dataclass
class _State:
    queue: deque[Reply] = field(default_factory=deque)
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    cache: dict[str, float] = field(default_factory=dict)
    """Explicit context cache: prefix key -> expiry (monotonic seconds)."""


_WAIT_SLICE = 0.05
"""Seconds between two looks at the stop flag while a reply is delayed."""

CACHE_LIFETIME = 300.0
"""[DOC context cache] an explicit cache block lives 5 minutes, renewed by every hit."""


class DashScopeEmulator:
    """A local DashScope service for tests; see the package docstring for a tour."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "sk-emulator",
        models: Mapping[str, ModelSpec | Mapping[str, Any]] | None = None,
        chunk_delay: float = 0.0,
        shuffle_embeddings: bool = False,
        image_captions: Mapping[Any, str] | None = None,
        flavour: str | Flavour = "dashscope",
    ) -> None:
        self.host = host
        self._requested_port = port
        self.flavour: Flavour | None = None if flavour == "dashscope" else flavour_of(flavour)
        """None: DashScope (native + compatible mode); else the self-hosted server emulated
        (``/v1`` only; no key checked unless ``api_key`` is passed explicitly)."""
        if self.flavour is not None and api_key == "sk-emulator":
            api_key = None  # vLLM without --api-key, Ollama, llama.cpp: any key or none
        self.api_key = api_key
        self.models: Mapping[str, ModelSpec] = build_model_table(models)
        self.chunk_delay = chunk_delay
        """Seconds between two stream events."""
        self.shuffle_embeddings = shuffle_embeddings
        """Return embeddings in a fixed non-identity order (clients must sort by index)."""
        self.image_captions: dict[str, str] = {}
        """What each image or video shows (by URL or image bytes), for multimodal embeddings
        and rerank: see :meth:`describe_image`."""
        for source, caption in (image_captions or {}).items():
            self.describe_image(source, caption)
        self._initial_captions = dict(self.image_captions)
        self._lock = threading.Lock()
        self._state = _State()
        self.batches = BatchService(self)
        """The Batch API's files and batches (``/compatible-mode/v1/files``, ``/batches``)."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> DashScopeEmulator:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._stopping.clear()
        self._server = _Server((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"dashscope-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DashScopeEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (no path)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Native API base, like ``DASHSCOPE_HTTP_BASE_URL`` (``…/api/v1``); a self-hosted
        flavour's ``…/v1``."""
        if self.flavour is not None:
            return f"{self.url}/v1"
        return f"{self.url}/api/v1"

    @property
    def compatible_base_url(self) -> str:
        """OpenAI-compatible base (``…/compatible-mode/v1``; a self-hosted flavour's ``…/v1``)."""
        if self.flavour is not None:
            return f"{self.url}/v1"
        return f"{self.url}/compatible-mode/v1"

    @property
    def backend(self) -> str:
        """The client's ``backend=`` for this emulator (``dashscope``, ``vllm``...)."""
        return "dashscope" if self.flavour is None else self.flavour.name

    # ------------------------------------------------------------------ scripting

    def describe_image(self, source: Any, caption: str) -> None:
        """Script what an image (or video) shows: its multimodal embedding is close to
        ``caption``'s and rerank scores it by ``caption``. ``source``: a URL, a data URI, a
        local path or the image's bytes (a file is matched by content)."""
        self.image_captions[media_key(source)] = caption

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies, consumed first-in first-out, one per generation request."""
        with self._lock:
            self._state.queue.extend(replies)

    def when(self, predicate: Predicate, reply: Reply, times: int | None = None) -> None:
        """Answer requests matching ``predicate`` with ``reply`` (``times=None``: unlimited).

        Rules are tried in registration order after the queue and before the default reply;
        unlike the queue they also apply to embedding and rerank requests.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._state.rules.append(_Rule(predicate, reply, times))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._state.requests)

    @property
    def pending(self) -> int:
        """Number of queued replies not consumed yet."""
        with self._lock:
            return len(self._state.queue)

    def reset(self) -> None:
        """Forget queued replies, rules, recorded requests and the image captions described
        since construction."""
        with self._lock:
            self._state = _State()
            self.image_captions = dict(self._initial_captions)
        self.batches.reset()

    # ------------------------------------------------------------------ dispatch

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._state.requests.append(request)

    def _pick(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if request.endpoint in GENERATION_ENDPOINTS and self._state.queue:
                return self._state.queue.popleft()
            rules = list(self._state.rules)
        for rule in rules:
            if not rule.predicate(request):
                continue
            with self._lock:
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
            return rule.reply
        return Reply()

    def _authorised(self, request: RecordedRequest) -> bool:
        key = bearer_key(request.headers)
        if self.flavour is not None:
            return self.api_key is None or key == self.api_key
        return bool(key) and (self.api_key is None or key == self.api_key)

    def classify(self, method: str, path: str) -> EndpointName:
        """Which endpoint of this emulator (its flavour's paths) a request targets."""
        return classify(method, path, self.flavour)

    def _error_body(self, error: ServiceError, request: RecordedRequest, request_id: str) -> Any:
        if self.flavour is not None:
            return error_body(error, self.flavour)
        if request.is_compat:
            return _compat_error(request, error, request_id)
        return native_error_body(error, request_id)

    def _error_outcome(
        self, error: ServiceError, request: RecordedRequest, request_id: str, delay: float = 0.0
    ) -> Outcome:
        if self.flavour is not None:  # self-hosted servers answer errors with a status
            return json_outcome(error.status, error_body(error, self.flavour), request_id, delay)
        return error_outcome(error, request, request_id, delay)

    def _respond_self_hosted(self, request: RecordedRequest, request_id: str) -> Outcome | None:
        """GET probes and listings; unknown paths (None: a chat or embedding request)."""
        assert self.flavour is not None
        if request.endpoint != "other":
            return None
        answer = get_answer(request.path, self.flavour) if request.method == "GET" else None
        if answer is None:
            error = ServiceError(404, "NotFound", "Not Found")
            return json_outcome(
                404,
                {"detail": "Not Found"}
                if self.flavour.name in ("vllm", "sglang")
                else error_body(error, self.flavour),
                request_id,
            )
        status, body = answer
        if isinstance(body, str):
            return Outcome(
                status=status,
                headers=(("content-type", "text/plain; charset=utf-8"),),
                body=body.encode(),
            )
        return json_outcome(status, body, request_id)

    def respond(self, request: RecordedRequest) -> Outcome:
        """Decide the answer to ``request`` (records it; consumes a scripted reply if valid)."""
        self._record(request)
        request_id = str(uuid.uuid4())
        if self.flavour is not None:
            outcome = self._respond_self_hosted(request, request_id)
            if outcome is not None:
                return outcome
            if not self._authorised(request):
                return json_outcome(401, {"error": "Unauthorized"}, request_id)
        if request.endpoint == "other":
            error = ServiceError(404, "NotFound", f"Not found: {request.method} {request.path}")
            return json_outcome(404, native_error_body(error, request_id), request_id)
        if not self._authorised(request):
            return error_outcome(invalid_api_key(), request, request_id)
        try:
            plan = self._plan(request)
        except ServiceError as error:
            return self._error_outcome(error, request, request_id)
        try:
            reply = self._pick(request)
        except Exception as exc:  # a user predicate failed: make it visible to the test
            misuse = _misuse(f"rule predicate raised {exc!r}")
            return self._error_outcome(misuse, request, request_id)
        try:
            return self._answer(request, plan, reply, request_id)
        except ServiceError as error:
            return self._error_outcome(error, request, request_id, reply.delay_seconds)

    def _plan(self, request: RecordedRequest) -> Plan:
        body: Any = request.body
        if body is None and request.raw_body.strip():
            body = "invalid"  # not a JSON object
        endpoint = request.endpoint
        if self.flavour is not None:
            if endpoint == "compat-chat":
                return plan_chat(body, self.flavour)
            return plan_embeddings(body, self.flavour)
        if endpoint in ("text-generation", "multimodal-generation"):
            return plan_native_generation(endpoint, body, stream=request.stream, models=self.models)
        if endpoint == "compat-chat":
            return plan_compat_chat(body, models=self.models)
        if endpoint == "text-embedding":
            return plan_embedding(body, models=self.models)
        if endpoint == "compat-embeddings":
            return plan_compat_embedding(body, models=self.models)
        if endpoint == "tokenizer":
            return plan_tokenize(body, models=self.models)
        if endpoint == "multimodal-embedding":
            return plan_multimodal_embedding(body, models=self.models)
        if endpoint == "compat-rerank":
            return plan_compat_rerank(body, models=self.models)
        return plan_rerank(body, models=self.models)

    def _answer(
        self, request: RecordedRequest, plan: Plan, reply: Reply, request_id: str
    ) -> Outcome:
        delay = reply.delay_seconds
        if reply.kind == "raw":
            headers = tuple(reply.raw_headers)
            names = {name.lower() for name, _ in headers}
            if not names & {"content-length", "transfer-encoding"}:
                headers += (("content-length", str(len(reply.raw_body))),)
            return Outcome(
                status=reply.status, headers=headers, body=reply.raw_body, frames=None, delay=delay
            )
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        if reply.kind == "drop" and (reply.after_chunks == 0 or not streaming):
            return Outcome(abort=True, delay=delay)
        if reply.kind == "error" and not (reply.in_stream and streaming):
            error = ServiceError(reply.status, reply.code, reply.message)
            body = self._error_body(error, request, request_id)
            return json_outcome(reply.status, body, request_id, delay)
        if not isinstance(plan, GenerationPlan):
            return json_outcome(
                200, self._vector_body(request, plan, request_id), request_id, delay
            )
        if reply.kind == "tool_calls" and plan.result_format == "text":
            raise _misuse(
                "Reply.tool_calls cannot be sent in result_format=text; the request must use "
                'result_format "message" (the real service never calls tools in text format)'
            )
        if plan.cache_points:
            plan = self._resolve_cache(plan)
        turn = build_turn(plan, reply, request)
        created = int(time.time())
        if not plan.stream:
            if self.flavour is not None:
                body = chat_body(plan, turn, request_id, self.flavour, created=created)
            elif request.is_compat:
                body = compat_body(plan, turn, request_id, created=created)
            else:
                body = native_body(plan, turn, request_id)
            return json_outcome(200, body, request_id, delay)
        frames: list[bytes]
        if self.flavour is not None:
            chunks = stream_chunks(plan, turn, request_id, self.flavour, created=created)
            frames = [compat_frame(c) for c in chunks]
            cut = reply.after_chunks + (0 if self.flavour.name == "ollama" else 1)
            tail = [DONE_FRAME]
        elif request.is_compat:
            frames = [
                compat_frame(c)
                for c in compat_stream_chunks(plan, turn, request_id, created=created)
            ]
            # Leading role-only chunk does not count as a content event.
            cut = reply.after_chunks + 1
            tail = [DONE_FRAME]
        else:
            events = native_stream_events(plan, turn, request_id)
            frames = [sse_frame(i + 1, "result", 200, e) for i, e in enumerate(events)]
            cut = reply.after_chunks
            tail = []
        headers = _headers(request_id, SSE_CONTENT_TYPE, finished=False)
        if reply.kind == "drop":
            return Outcome(headers=headers, frames=tuple(frames[:cut]), abort=True, delay=delay)
        if reply.kind == "error":
            error = ServiceError(reply.status, reply.code, reply.message)
            if request.is_compat:
                last = compat_frame(self._error_body(error, request, request_id))
            else:
                last = sse_frame(
                    min(cut, len(frames)) + 1,
                    "error",
                    reply.status,
                    native_error_body(error, request_id),
                )
            return Outcome(headers=headers, frames=(*frames[:cut], last), delay=delay)
        return Outcome(headers=headers, frames=(*frames, *tail), delay=delay)

    def _resolve_cache(self, plan: GenerationPlan) -> GenerationPlan:
        """Hit the longest cached prefix among the markers, then cache the longest one."""
        now = time.monotonic()
        read = 0
        with self._lock:
            cache = self._state.cache
            for key, tokens in plan.cache_points:
                if cache.get(key, 0.0) > now:
                    read = max(read, tokens)
                    cache[key] = now + CACHE_LIFETIME
            key, tokens = plan.cache_points[-1]
            created = 0 if cache.get(key, 0.0) > now else tokens - read
            cache[key] = now + CACHE_LIFETIME
        return dataclasses.replace(plan, cache_read=read, cache_created=created)

    def _vector_body(
        self,
        request: RecordedRequest,
        plan: EmbeddingPlan | RerankPlan | TokenizePlan | MultimodalPlan,
        request_id: str,
    ) -> dict[str, Any]:
        if isinstance(plan, RerankPlan):
            return rerank_body(plan, request_id, self.image_captions)
        if isinstance(plan, MultimodalPlan):
            return multimodal_embedding_body(plan, request_id, self.image_captions)
        if isinstance(plan, TokenizePlan):
            return tokenize_body(plan, request_id)
        if request.is_compat:
            body = compat_embedding_body(plan, request_id, shuffle=self.shuffle_embeddings)
            if self.flavour is not None:
                body.pop("id", None)
            return body
        return embedding_body(plan, request_id, shuffle=self.shuffle_embeddings)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the emulator stops first; True if still running.

        Each request's thread sleeps on its own, in slices of at most ``_WAIT_SLICE``, looking
        at the stop flag in between: a thousand threads waiting on one ``Event`` would all
        take its lock at once when their delays end (most of the CPU of a burst of delayed
        answers went to that contention)."""
        if seconds <= 0:
            return not self._stopping.is_set()
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, _WAIT_SLICE))
        return False


# ---------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], emulator: DashScopeEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-answer is normal; anything else is reported."""
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _parse_json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "istio-envoy"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging."""

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        emulator = self.server.emulator
        raw = self._read_body()
        headers = Headers(self.headers.items())
        path = self.path.split("?", 1)[0]
        if emulator.batches.handles(path):
            try:
                self._write(
                    emulator.batches.respond(self.command, self.path, headers, raw), emulator
                )
            except OSError:
                self.close_connection = True
            return
        endpoint = emulator.classify(self.command, path)
        body = _parse_json(raw)
        if endpoint == "compat-chat":
            stream = bool(body and body.get("stream") is True)
        else:
            stream = endpoint in ("text-generation", "multimodal-generation") and wants_sse(headers)
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers=headers,
            body=body,
            raw_body=raw,
            endpoint=endpoint,
            stream=stream,
        )
        try:
            outcome = emulator.respond(request)
        except Exception as exc:  # an emulator bug: answer 500 rather than hang the client
            rid = str(uuid.uuid4())
            error = ServiceError(500, "InternalError", f"emulator failure: {exc!r}")
            outcome = json_outcome(500, native_error_body(error, rid), rid)
        try:
            self._write(outcome, emulator)
        except OSError:  # the client went away (broken pipe, reset, timeout)
            self.close_connection = True

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, outcome: Outcome, emulator: DashScopeEmulator) -> None:
        if not emulator._wait(outcome.delay):
            self._abort()
            return
        if outcome.abort and outcome.frames is None:
            self._abort()
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers:
            self.send_header(name, value)
        if outcome.frames is None:
            if not any(
                name.lower() in ("content-length", "transfer-encoding")
                for name, _ in outcome.headers
            ):
                self.send_header("content-length", str(len(outcome.body)))
            self.end_headers()
            self.wfile.write(outcome.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, frame in enumerate(outcome.frames):
            if i and not emulator._wait(emulator.chunk_delay):
                self._abort()
                return
            self.wfile.write(b"%X\r\n%s\r\n" % (len(frame), frame))
        if outcome.abort:
            self._abort()
            return
        self.wfile.write(b"0\r\n\r\n")
