"""The HTTP layer: auth, routing, SSE negotiation, raw framing, keep-alive, concurrency, CLI."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply

from ._helpers import COMPAT_CHAT_PATH, EMBED_PATH, SSE, TEXT_PATH, chat, native_frames


def post(emu: DashScopeEmulator, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(emu.url + path, json=body, headers=headers, timeout=10)


def test_urls(emulator: DashScopeEmulator) -> None:
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}/api/v1"
    assert emulator.compatible_base_url == f"http://127.0.0.1:{emulator.port}/compatible-mode/v1"
    assert emulator.api_key == "sk-emulator"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk-other"},
        {"Authorization": "sk-emulator"},
        {"Authorization": "Basic sk-emulator"},
        {"Authorization": "Bearer"},
    ],
)
def test_auth_rejected(
    emulator: DashScopeEmulator, anon: httpx.Client, headers: dict[str, str]
) -> None:
    response = anon.post(TEXT_PATH, json=chat(), headers={**headers, **SSE})
    assert response.status_code == 401  # plain JSON even when SSE was asked for
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {
        "code": "InvalidApiKey",
        "message": "Invalid API-key provided.",
        "request_id": response.headers["x-request-id"],
    }
    assert emulator.requests[-1].path == TEXT_PATH  # recorded even when rejected


def test_auth_scheme_is_case_insensitive(emulator: DashScopeEmulator, anon: httpx.Client) -> None:
    response = anon.post(TEXT_PATH, json=chat(), headers={"authorization": "bearer sk-emulator"})
    assert response.status_code == 200


def test_any_key_mode(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(api_key=None)
    ok = post(emu, TEXT_PATH, chat(), {"Authorization": "Bearer whatever"})
    missing = post(emu, TEXT_PATH, chat(), {})
    assert emu.api_key is None
    assert ok.status_code == 200 and missing.status_code == 401


def test_compat_auth_envelope(emulator: DashScopeEmulator, anon: httpx.Client) -> None:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}]}
    response = anon.post(COMPAT_CHAT_PATH, json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/services/aigc/text-generation/other"),
        ("POST", "/api/v1/services/aigc/image-generation/generation"),
        ("GET", TEXT_PATH),
        ("POST", "/compatible-mode/v1/fine_tuning/jobs"),  # (files and batches are served)
        ("POST", TEXT_PATH + "/"),
    ],
)
def test_unknown_routes(
    client: httpx.Client, emulator: DashScopeEmulator, method: str, path: str
) -> None:
    response = client.request(method, path, json=chat())
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message", "request_id"} and body["code"] == "NotFound"
    assert emulator.requests[-1].endpoint == "other"


@pytest.mark.parametrize(
    ("headers", "stream"),
    [
        ({"X-DashScope-SSE": "enable"}, True),
        ({"x-dashscope-sse": "ENABLE"}, True),
        ({"Accept": "text/event-stream"}, True),
        ({"accept": "application/json, text/event-stream"}, True),
        ({"Accept": "application/json; charset=utf-8"}, False),
        ({"X-DashScope-SSE": "disable"}, False),
        ({}, False),
    ],
)
def test_sse_negotiation(
    client: httpx.Client, emulator: DashScopeEmulator, headers: dict[str, str], stream: bool
) -> None:
    response = client.post(TEXT_PATH, json=chat(), headers=headers)
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type == ("text/event-stream;charset=UTF-8" if stream else "application/json")
    assert emulator.requests[-1].stream is stream


def raw_exchange(emu: DashScopeEmulator, body: dict[str, Any], headers: str = "") -> bytes:
    payload = json.dumps(body).encode()
    request = (
        f"POST {TEXT_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        f"Connection: close\r\n{headers}\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_sse_bytes_on_the_wire(emulator: DashScopeEmulator) -> None:
    emulator.enqueue(Reply.text("你好", chunks=2))
    raw = raw_exchange(
        emulator, chat(result_format="text", incremental_output=True), "X-DashScope-SSE: enable\r\n"
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\ntransfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    # Chunked framing written by hand: one chunk per event, then the terminator.
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n"
            break
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
    assert len(chunks) == 3
    first = chunks[0].decode()
    assert first.startswith(
        'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null","text":"你"}'
    )
    assert first.endswith("}\n\n") and first.count("\n") == 5
    assert b'"finish_reason":"stop","text":""' in chunks[2]


def test_chunked_request_body(emulator: DashScopeEmulator) -> None:
    def gen() -> Any:
        yield json.dumps(chat("chunked body", result_format="message")).encode()

    response = httpx.post(
        emulator.url + TEXT_PATH,
        content=gen(),
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    )
    assert response.status_code == 200
    assert (
        response.json()["output"]["choices"][0]["message"]["content"] == "[emulator] chunked body"
    )


def test_keep_alive_serves_many_requests_per_connection(emulator: DashScopeEmulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    headers = {"Authorization": f"Bearer {emulator.api_key}", "Content-Type": "application/json"}
    try:
        for i, extra in enumerate([{}, SSE, {}, SSE]):
            conn.request(
                "POST", TEXT_PATH, body=json.dumps(chat(f"n{i}")), headers={**headers, **extra}
            )
            response = conn.getresponse()
            body = response.read().decode()
            assert response.status == 200
            assert f"n{i}" in body
            assert response.getheader("connection") != "close"
        sock = conn.sock
        assert sock is not None  # still the same open socket
    finally:
        conn.close()


def test_hundred_concurrent_requests(emulator: DashScopeEmulator) -> None:
    emulator.chunk_delay = 0.01  # keep streams in flight at the same time
    barrier = threading.Barrier(100)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    headers = {"Authorization": f"Bearer {emulator.api_key}", **SSE}

    with httpx.Client(base_url=emulator.url, headers=headers, limits=limits, timeout=10) as c:

        def one(i: int) -> str:
            barrier.wait(timeout=10)
            body = chat(f"request {i}", result_format="message", incremental_output=True)
            frames = native_frames(c.post(TEXT_PATH, json=body).text)
            return "".join(f["data"]["output"]["choices"][0]["message"]["content"] for f in frames)

        with ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(one, range(100)))
    assert results == [f"[emulator] request {i}" for i in range(100)]
    assert len(emulator.requests) == 100
    assert len({r.last_user_text for r in emulator.requests}) == 100


def test_two_hundred_keep_alive_connections(emulator: DashScopeEmulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}", "Content-Type": "application/json"}
    body = json.dumps({"model": "text-embedding-v2", "input": {"texts": ["x"]}})
    connections = [
        http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10) for _ in range(200)
    ]
    try:
        for _ in range(2):  # every connection stays open between the two rounds
            for conn in connections:
                conn.request("POST", EMBED_PATH, body=body, headers=headers)
            for conn in connections:
                response = conn.getresponse()
                assert response.status == 200
                response.read()
    finally:
        for conn in connections:
            conn.close()
    assert len(emulator.requests) == 400


def test_client_disconnect_mid_stream_does_not_break_the_server(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.chunk_delay = 0.02
    emulator.enqueue(Reply.text("x" * 200))
    with client.stream(
        "POST", TEXT_PATH, json=chat(incremental_output=True), headers=SSE
    ) as response:
        next(response.iter_lines())
    emulator.chunk_delay = 0.0
    assert client.post(TEXT_PATH, json=chat()).status_code == 200


def test_lifecycle() -> None:
    emu = DashScopeEmulator()  # its own: start() and stop() are what is tested
    with pytest.raises(RuntimeError):
        _ = emu.port
    emu.start()
    port = emu.port
    try:
        with pytest.raises(RuntimeError):
            emu.start()
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        conn.request(
            "POST",
            TEXT_PATH,
            body=json.dumps(chat()),
            headers={"Authorization": "Bearer sk-emulator"},
        )
        conn.getresponse().read()
    finally:
        emu.stop()
    # stop() closed the idle keep-alive connection and the listening socket.
    try:
        with pytest.raises((http.client.HTTPException, OSError)):
            conn.request(
                "POST",
                TEXT_PATH,
                body=json.dumps(chat()),
                headers={"Authorization": "Bearer sk-emulator"},
            )
            conn.getresponse()
    finally:
        conn.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    emu.stop()  # idempotent


def test_stop_interrupts_a_delayed_reply(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator()
    emu.enqueue(Reply.delay(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            post(emu, TEXT_PATH, chat(), {"Authorization": "Bearer sk-emulator"})
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not emu.requests:
        threading.Event().wait(0.01)
    emu.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and len(errors) == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_runs_until_interrupted(stop_signal: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "qwen_dashscope.testing", "--port", "0", "--api-key", "sk-cli"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("DashScope emulator: base_url=http://127.0.0.1:")
        base_url = line.split("base_url=")[1].split()[0]
        response = httpx.post(
            base_url + "/services/aigc/text-generation/generation",
            json=chat("cli", result_format="message"),
            headers={"Authorization": "Bearer sk-cli"},
        )
        assert response.json()["output"]["choices"][0]["message"]["content"] == "[emulator] cli"
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
