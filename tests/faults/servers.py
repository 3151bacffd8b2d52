"""Small raw HTTP/1.1 servers on loopback that misbehave on purpose (issue 9).

The emulator answers like the real service; these answer like a broken network or a broken
proxy: a body that drips, stalls or never ends, a body shorter than its ``Content-Length``,
an endless or huge SSE line. Each ``RawServer`` runs in a thread on ``127.0.0.1`` (port 0),
reads every request (headers and ``Content-Length`` body) itself and hands it to a *handler*
that writes whatever bytes it likes. It counts requests in total and per connection, so a
test can assert how many attempts a client made.

A handler is a callable taking an ``Exchange``; the factories below build the usual ones.
Every wait in a handler ends when the server stops, and every handler gives up after
``give_up`` seconds, so a client that does not protect itself fails the test instead of
hanging it.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = [
    "SSE_TYPE",
    "Exchange",
    "Handler",
    "RawServer",
    "chunked_sse",
    "delta_json",
    "drip",
    "embedding_json",
    "endless_chunked_body",
    "endless_sse_line",
    "generation_json",
    "reply",
    "short_body",
    "sse_event",
    "stall_after_headers",
]

SSE_TYPE = "text/event-stream;charset=UTF-8"
JSON_TYPE = "application/json"
REQUEST_ID = "rid-raw-server"


class Exchange:
    """One request and the socket to answer it on."""

    def __init__(
        self,
        server: RawServer,
        sock: socket.socket,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        connection: int,
        number: int,
    ) -> None:
        self.server = server
        self.sock = sock
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.connection = connection  # index of the connection, from 0
        self.number = number  # index of the request on its connection, from 0
        self.closed = False

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def send(self, data: bytes) -> bool:
        """Write ``data``; False when the client has gone or the server is stopping."""
        if self.closed or self.server.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
            return False
        return True

    def head(self, status: int, headers: Mapping[str, str]) -> bool:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunk(self, data: bytes) -> bool:
        """One chunk of a ``Transfer-Encoding: chunked`` body."""
        return self.send(b"%X\r\n%s\r\n" % (len(data), data)) if data else True

    def end_chunks(self) -> bool:
        return self.send(b"0\r\n\r\n")

    def wait(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping."""
        return not self.server.stopping.wait(seconds)

    def close(self) -> None:
        """Close the connection (abruptly, whatever was promised)."""
        self.closed = True


Handler = Callable[[Exchange], None]

_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error"}


class RawServer:
    """A threaded loopback server running ``handler`` for every request it reads."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self.per_connection: list[int] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.bodies: list[bytes] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, name="raw-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The native API base, what ``base_url=`` takes."""
        return self.url + "/api/v1"

    def start(self) -> RawServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._acceptor.join(5)
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                index = len(self.per_connection)
                self.per_connection.append(0)
                self._sockets.append(sock)
            thread = threading.Thread(
                target=self._serve, args=(sock, index), name=f"raw-conn-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        try:
            reader = _Reader(sock, self.stopping)
            number = 0
            while not self.stopping.is_set():
                request = reader.request()
                if request is None:
                    return
                method, path, headers, body = request
                with self._lock:
                    self.requests += 1
                    self.per_connection[index] += 1
                    self.arrivals.append(time.monotonic())
                    self.bodies.append(body)
                exchange = Exchange(self, sock, method, path, headers, body, index, number)
                self.handler(exchange)
                number += 1
                if exchange.closed:
                    return
        except Exception:  # a client that went away mid-request; never fail the thread
            return
        finally:
            _close(sock)


class _Reader:
    """Reads requests off a socket: request line, headers, ``Content-Length`` body."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping
        self.buffer = b""

    def _more(self) -> bool:
        # select() instead of a socket timeout: a timeout would also cut blocking sends short.
        while not self.stopping.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
                if not ready:
                    continue
                data = self.sock.recv(65536)
            except (OSError, ValueError):
                return False
            if not data:
                return False
            self.buffer += data
            return True
        return False

    def request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        line, *rest = head.decode("latin-1").split("\r\n")
        method, path, _ = line.split(" ", 2)
        headers: dict[str, str] = {}
        for item in rest:
            name, _, value = item.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(self.buffer) < length:
            if not self._more():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return method, path, headers, body


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


# -- bodies ----------------------------------------------------------------------------------


def generation_json(text: str = "ok", *, request_id: str = REQUEST_ID) -> bytes:
    """A complete native non-streaming answer (result_format "message")."""
    body = {
        "output": {
            "choices": [
                {"finish_reason": "stop", "message": {"role": "assistant", "content": text}}
            ]
        },
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        "request_id": request_id,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def embedding_json(count: int = 1, dim: int = 4, *, request_id: str = REQUEST_ID) -> bytes:
    body = {
        "output": {
            "embeddings": [{"text_index": i, "embedding": [0.5] * dim} for i in range(count)]
        },
        "usage": {"total_tokens": count},
        "request_id": request_id,
    }
    return json.dumps(body).encode()


def sse_event(
    index: int, data: bytes | str, *, event: str = "result", status: int | None = 200
) -> bytes:
    """One native SSE frame: ``id:N`` / ``event:`` / ``:HTTP_STATUS/NNN`` / ``data:`` / blank."""
    raw = data.encode() if isinstance(data, str) else data
    lines = [b"id:%d" % index, b"event:" + event.encode()]
    if status is not None:
        lines.append(b":HTTP_STATUS/%d" % status)
    lines.append(b"data:" + raw)
    return b"\n".join(lines) + b"\n\n"


def delta_json(text: str, finish: str = "null", *, request_id: str = REQUEST_ID) -> str:
    """The data of one incremental stream event."""
    body = {
        "output": {
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": finish}
            ]
        },
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        "request_id": request_id,
    }
    return json.dumps(body, ensure_ascii=False)


# -- handlers ---------------------------------------------------------------------------------


def _json_headers(length: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "content-type": JSON_TYPE,
        "content-length": str(length),
        "x-request-id": REQUEST_ID,
        **(extra or {}),
    }


def _sse_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "content-type": SSE_TYPE,
        "transfer-encoding": "chunked",
        "x-request-id": REQUEST_ID,
        **(extra or {}),
    }


def reply(
    status: int, body: bytes, headers: Mapping[str, str] | None = None, *, close: bool = False
) -> Handler:
    """A complete, well-formed answer (the connection is kept alive unless ``close``)."""

    def handler(ex: Exchange) -> None:
        ex.head(status, _json_headers(len(body), headers))
        ex.send(body)
        if close:
            ex.close()

    return handler


def drip(
    body: bytes | Callable[[Exchange], bytes],
    *,
    interval: float = 0.2,
    give_up: float = 2.0,
) -> Handler:
    """A JSON answer with its true ``Content-Length``, sent one byte every ``interval`` s.

    After ``give_up`` seconds the server closes the connection (a client without a deadline
    on the body would otherwise wait for the whole body).
    """

    def handler(ex: Exchange) -> None:
        data = body(ex) if callable(body) else body
        end = time.monotonic() + give_up
        ex.head(200, _json_headers(len(data)))
        for i in range(len(data)):
            if time.monotonic() >= end or not ex.send(data[i : i + 1]) or not ex.wait(interval):
                break
        ex.close()

    return handler


def stall_after_headers(*, give_up: float = 2.0, sse: bool = False) -> Handler:
    """Headers of a 200, then nothing until ``give_up`` (then the connection closes)."""

    def handler(ex: Exchange) -> None:
        ex.head(200, _sse_headers() if sse else _json_headers(100))
        ex.wait(give_up)
        ex.close()

    return handler


def endless_chunked_body(
    *, interval: float = 0.2, give_up: float = 2.0, sse: bool = False
) -> Handler:
    """A chunked 200 whose body never ends: one space every ``interval`` s."""

    def handler(ex: Exchange) -> None:
        end = time.monotonic() + give_up
        headers = _sse_headers() if sse else {**_json_headers(0), "transfer-encoding": "chunked"}
        headers.pop("content-length", None)
        ex.head(200, headers)
        ex.chunk(b'{"output":' if not sse else b"id:1\nevent:result\n")
        while time.monotonic() < end and ex.chunk(b" ") and ex.wait(interval):
            pass
        ex.close()

    return handler


def endless_sse_line(
    *, chunk_size: int = 1 << 16, limit: int = 24 << 20, give_up: float = 3.0
) -> Handler:
    """An SSE 200 whose first ``data:`` line does not end: ``x`` as fast as the client reads.

    After ``limit`` bytes (beyond any sane cap) the line stays open, silent, until ``give_up``:
    to the client it is the same endless line, and a test does not pay for an unprotected
    client decoding more than ``limit`` bytes.
    """

    def handler(ex: Exchange) -> None:
        end = time.monotonic() + give_up
        ex.head(200, _sse_headers())
        ex.chunk(b'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":"')
        filler = b"x" * chunk_size
        sent = 0
        while sent < limit and time.monotonic() < end and ex.chunk(filler):
            sent += len(filler)
        ex.wait(max(0.0, end - time.monotonic()))
        ex.close()

    return handler


def chunked_sse(
    frames: Callable[[], Iterator[bytes]] | list[bytes],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Handler:
    """An SSE answer made of ``frames`` (bytes, each sent as one or more chunks)."""

    def handler(ex: Exchange) -> None:
        ex.head(status, _sse_headers(headers))
        for frame in frames() if callable(frames) else frames:
            for start in range(0, len(frame), 1 << 16):
                if not ex.chunk(frame[start : start + (1 << 16)]):
                    ex.close()
                    return
        ex.end_chunks()

    return handler


def short_body(body: bytes, *, declared: int | None = None, keep: int | None = None) -> Handler:
    """A 200 that promises ``declared`` bytes, sends ``keep`` of them, then closes."""

    def handler(ex: Exchange) -> None:
        length = declared if declared is not None else len(body)
        cut = keep if keep is not None else len(body) // 2
        ex.head(200, _json_headers(length))
        ex.send(body[:cut])
        ex.close()

    return handler
