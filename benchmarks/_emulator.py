"""Run the emulator in a separate process, so its CPU is not counted as the client's.

``emulator_process``: the stock emulator (``python -m qwen_dashscope.testing``).
``ScriptedEmulator``: the same emulator scripted for the side-by-side benchmark, answering by a
marker at the start of the prompt and counting requests per endpoint.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[str]:
    """Start ``python -m qwen_dashscope.testing`` and yield its native base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwen_dashscope.testing", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------- the scripted emulator
# For the side-by-side benchmark (benchmarks/compare.py): one emulator process serving the
# native and compatible-mode paths, answering by markers in the prompt, counting requests.

LATENCY = "[latency]"
"""Prompt marker: the default answer, after ``--latency`` seconds."""
LONG = "[long]"
"""Prompt marker: a stream of ``--long-chunks`` events (4 characters each)."""
BURST = "[burst]"
"""Prompt marker: a stream of ``--burst-chunks`` events."""


def _text(chunks: int) -> str:
    return ("西湖 ab " * chunks)[: 4 * chunks]


def _rules(emulator: Any, latency: float, long_chunks: int, burst_chunks: int) -> None:
    from qwen_dashscope.testing import Reply

    def marked(marker: str) -> Callable[[Any], bool]:
        return lambda request: request.last_user_text.startswith(marker)

    emulator.when(marked(LATENCY), Reply.delay(latency))
    emulator.when(marked(LONG), Reply.text(_text(long_chunks), chunks=long_chunks))
    emulator.when(marked(BURST), Reply.text(_text(burst_chunks), chunks=burst_chunks))


def _serve(argv: list[str]) -> int:
    """The emulator process: print the base URLs, then answer ``drain`` lines on stdin with
    the requests received per endpoint since the last drain (as JSON), until EOF."""
    import argparse
    import collections
    import json

    from qwen_dashscope.testing import DashScopeEmulator

    from ._aserver import AsyncFront

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--long-chunks", type=int, default=5000)
    parser.add_argument("--burst-chunks", type=int, default=200)
    args = parser.parse_args(argv)
    emulator = DashScopeEmulator(port=0)  # its answers, served by the asyncio front
    front = AsyncFront(emulator).start()
    _rules(emulator, args.latency, args.long_chunks, args.burst_chunks)
    print(front.base_url, front.compatible_base_url, flush=True)
    cpu = time.process_time()
    for line in sys.stdin:
        if line.strip() != "drain":
            continue
        counts = collections.Counter(request.endpoint for request in emulator.requests)
        emulator.reset()  # forgets the rules too: keeps the recorded requests few
        _rules(emulator, args.latency, args.long_chunks, args.burst_chunks)
        cpu, spent = time.process_time(), time.process_time() - cpu
        print(json.dumps({"requests": counts, "cpu_s": spent}), flush=True)
    front.stop()
    return 0


class ScriptedEmulator:
    """The scripted emulator in its own process (``with ScriptedEmulator(...) as emu``)."""

    def __init__(self, latency: float, long_chunks: int, burst_chunks: int) -> None:
        self.args = [
            f"--latency={latency}",
            f"--long-chunks={long_chunks}",
            f"--burst-chunks={burst_chunks}",
        ]
        self.base_url = self.compatible_base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ScriptedEmulator:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._emulator", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().split()
        if len(line) != 2:
            self.__exit__()
            raise RuntimeError("the scripted emulator did not start")
        self.base_url, self.compatible_base_url = line
        return self

    def drain(self) -> tuple[dict[str, int], float]:
        """Requests per endpoint since the last drain, and the emulator's CPU seconds (all its
        threads) in that time: when they come near a row's wall, the emulator bounds it."""
        import json

        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write("drain\n")
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        return answer["requests"], answer["cpu_s"]

    def __exit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
