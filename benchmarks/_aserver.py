"""The benchmark's HTTP front for the emulator: one asyncio loop instead of a thread per
connection.

The emulator's own server (``qwen_dashscope.testing``) runs a thread per connection, which
suits the tests. Under the benchmark's bursts it became the bound instead of the clients: at
1,000 concurrent connections, or 200 streams writing 40,000 frames, its threads spent more CPU
contending for the GIL (much of it in the kernel) than answering, and more on a second burst,
when a thousand idle threads wake at once. This front hands the same requests to the same
``DashScopeEmulator.respond`` and writes its ``Outcome`` the way the emulator's handler does
(status, headers, a ``content-length`` body or one chunk per SSE frame, the delay before the
answer, aborts), from one thread: the answers are the emulator's, only the plumbing differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import threading
import uuid

from qwen_dashscope.testing import DashScopeEmulator
from qwen_dashscope.testing._errors import ServiceError, native_error_body
from qwen_dashscope.testing._recorded import Headers, RecordedRequest
from qwen_dashscope.testing._server import (
    Outcome,
    _parse_json,
    classify,
    json_outcome,
    wants_sse,
)

__all__ = ["AsyncFront"]

_SERVER = "istio-envoy"  # as the emulator's handler (and the service) says
_LIMIT = 16 * 1024 * 1024
"""The longest request head or chunk-size line read (the bodies are read by length)."""


class AsyncFront:
    """Serve ``emulator`` on ``host:port`` from an asyncio loop in a daemon thread."""

    def __init__(self, emulator: DashScopeEmulator, host: str = "127.0.0.1") -> None:
        self.emulator = emulator
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1"

    @property
    def compatible_base_url(self) -> str:
        return f"http://{self.host}:{self.port}/compatible-mode/v1"

    def start(self) -> AsyncFront:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, self.host, 0, limit=_LIMIT, backlog=4096),
            self._loop,
        ).result()
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Stop listening, end every open connection (each one's task then returns), then the
        loop."""

        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for writer in self._open.values():
                writer.transport.abort()
            if self._open:
                await asyncio.wait(list(self._open), timeout=5)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # -- one connection ----------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = writer
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
                while await self._exchange(reader, writer):
                    pass
        finally:
            del self._open[task]
            writer.transport.abort()  # the connection is done (or the front stops)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False: the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed an idle connection
        request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = Headers(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines)
        )
        raw = await _read_body(reader, headers)
        path = target.split("?", 1)[0]
        endpoint = classify(method, path)
        body = _parse_json(raw)
        if endpoint == "compat-chat":
            stream = bool(body and body.get("stream") is True)
        else:
            stream = endpoint in ("text-generation", "multimodal-generation") and wants_sse(headers)
        request = RecordedRequest(
            method=method,
            path=path,
            headers=headers,
            body=body,
            raw_body=raw,
            endpoint=endpoint,
            stream=stream,
        )
        try:
            outcome = self.emulator.respond(request)
        except Exception as exc:  # an emulator bug: answer 500 rather than hang the client
            rid = str(uuid.uuid4())
            error = ServiceError(500, "InternalError", f"emulator failure: {exc!r}")
            outcome = json_outcome(500, native_error_body(error, rid), rid)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return await self._write(writer, outcome) and keep

    async def _write(self, writer: asyncio.StreamWriter, outcome: Outcome) -> bool:
        """Put ``outcome`` on the wire; False when the connection was aborted."""
        if outcome.delay > 0:
            await asyncio.sleep(outcome.delay)
        if outcome.abort and outcome.frames is None:
            writer.transport.abort()
            return False
        writer.write(_head(outcome))
        if outcome.frames is None:
            writer.write(outcome.body)
            await writer.drain()
            return True
        delay = self.emulator.chunk_delay
        for i, frame in enumerate(outcome.frames):
            if i and delay > 0:
                await asyncio.sleep(delay)
            # Each frame is its own chunk, sent as it is written (asyncio sends at once while
            # the socket keeps up, TCP_NODELAY set): one SSE event per segment, as the
            # emulator's handler writes them.
            writer.write(b"%X\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
        if outcome.abort:
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


async def _read_body(reader: asyncio.StreamReader, headers: Headers) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readline()
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length else b""


def _head(outcome: Outcome) -> bytes:
    """Status line and headers, as ``BaseHTTPRequestHandler`` writes them for the emulator."""
    status = http.HTTPStatus(outcome.status)
    lines = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        f"Server: {_SERVER}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
    ]
    lines += [f"{name}: {value}" for name, value in outcome.headers]
    names = {name.lower() for name, _ in outcome.headers}
    if outcome.frames is not None:
        lines.append("transfer-encoding: chunked")
    elif not names & {"content-length", "transfer-encoding"}:
        lines.append(f"content-length: {len(outcome.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
