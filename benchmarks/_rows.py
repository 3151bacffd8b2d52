"""The rows of the side-by-side benchmark, run inside one client's process (``_runner``).

Each row returns its figures and ``notes``: what the client did differently from the others
(fewer chunks than the emulator sent, errors, missing vectors), reported next to its numbers.
"""

from __future__ import annotations

import asyncio
import gc
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ._clients import Spec, Urls, build
from ._emulator import BURST, LATENCY, LONG
from ._measure import EMBEDDING_BATCH, KEY, PROMPT


@dataclass(frozen=True)
class Sizes:
    calls: int = 200
    """Sequential invoke / chat calls."""
    long: int = 5000
    """Chunks of the one long stream."""
    concurrency: tuple[int, ...] = (200, 1000)
    latency: float = 0.2
    """Seconds the emulator waits before answering a concurrent call."""
    streams: int = 200
    burst: int = 200
    """Chunks of each concurrent stream."""
    texts: int = 1000
    probe_texts: int = 25
    """Texts for the embedding classes set up by default (more than one v4 batch)."""
    timeout: float = 300.0
    """Seconds one client process may take."""


FULL = Sizes()
SMOKE = Sizes(calls=3, long=20, concurrency=(10,), streams=10, burst=20, texts=30, timeout=60)


def row_names(sizes: Sizes) -> list[str]:
    """Every row, in report order."""
    return [
        "invoke",
        "stream",
        *(f"async-{n}" for n in sizes.concurrency),
        "streams",
        "import",
        "embed",
    ]


def rows_of(spec: Spec, sizes: Sizes) -> list[str]:
    """The rows a client runs (``import`` is measured in every process)."""
    if spec.kind == "embeddings":
        return ["embed"]
    return [name for name in row_names(sizes) if name not in ("import", "embed")]


def expected_requests(row: str, sizes: Sizes) -> int | None:
    if row == "invoke":
        return sizes.calls
    if row == "stream":
        return 1
    if row.startswith("async-"):
        return int(row.split("-")[1])
    if row == "streams":
        return sizes.streams
    if row == "embed":
        return math.ceil(sizes.texts / EMBEDDING_BATCH)
    return None


Row = dict[str, Any]
SHORT = PROMPT[:60]


_client = ""
"""The client whose rows run now (named in each window)."""


def mark(window: str) -> None:
    """Start a new window of this process's requests, counted at the emulator: the harness
    drains the emulator's counters, then lets this process go on.

    Before a measured window the heap is settled: one full collection, then ``gc.freeze()``,
    so that the imports' ~150,000 objects are not rescanned by a full collection during the
    measurement (~70 ms here: which client's window one lands in is chance, not its cost).
    """
    if window != "-":
        gc.collect()
        gc.freeze()
    print(f"MARK {_client}\t{window}", flush=True)
    sys.stdin.readline()


def _error_note(errors: list[BaseException]) -> list[str]:
    if not errors:
        return []
    first = errors[0]
    return [f"{len(errors)} errors, first: {type(first).__name__}: {str(first)[:120]}"]


def _streamed(row: Row, got: int, sent: int) -> Row:
    """A client yielding far fewer chunks than the emulator sent does not really stream: its
    figures stay in the row, marked ``cannot`` (the report compares them with nothing)."""
    if got < 0.9 * sent:
        row["cannot"] = f"yielded {got} chunk(s) for {sent} events"
        row["notes"].append(row["cannot"])
    return row


def invoke(client: Any, sizes: dict[str, Any]) -> Row:
    calls = sizes["calls"]
    for _ in range(max(2, calls // 10)):  # warm-up: connections, caches, lazy imports
        client.invoke(PROMPT)
    answer = ""
    mark("invoke")
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        answer = client.invoke(PROMPT)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    mark("-")
    notes = [] if answer else ["empty answer"]
    return {"cpu_ms": cpu / calls * 1000, "wall_ms": wall / calls * 1000, "notes": notes}


STREAM_REPEATS = 3
"""Long streams per process: the row's figures are their median (one stream is a short
window, ~0.2 s of CPU, that a busy moment of the machine can stretch)."""


def stream(client: Any, sizes: dict[str, Any]) -> Row:
    sent = sizes["long"]
    client.stream(PROMPT)  # warm-up
    cpus, walls, got = [], [], 0
    for _ in range(STREAM_REPEATS):
        mark("stream")
        cpu, wall = time.process_time(), time.perf_counter()
        got = client.stream(f"{LONG} {SHORT}")
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        mark("-")
    cpu, wall = statistics.median(cpus), statistics.median(walls)
    # Per event the emulator sent, so that a client yielding one chunk gets no credit for it.
    row = {"cpu_us": cpu / sent * 1e6, "wall_s": wall, "chunks": got, "notes": []}
    return _streamed(row, got, sent)


def embed(client: Any, sizes: dict[str, Any]) -> Row:
    n = sizes["texts"]
    texts = [f"第{i}段：West Lake document {i}, its causeways and Longjing tea." for i in range(n)]
    client.embed(["warm-up"])
    mark("embed")
    cpu, wall = time.process_time(), time.perf_counter()
    vectors = client.embed(texts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    mark("-")
    notes = []
    empty = sum(1 for vector in vectors if not vector)
    if len(vectors) != n or empty:
        notes.append(f"returned {len(vectors)} vectors ({empty} empty) for {n} texts")
    return {"wall_s": wall, "cpu_ms": cpu * 1000, "notes": notes}


async def _burst(
    row: str, calls: list[Callable[[], Awaitable[Any]]]
) -> tuple[float, float, list[Any]]:
    mark(row)
    cpu, wall = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(call() for call in calls), return_exceptions=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    mark("-")
    return cpu, wall, results


WARM = "+warm"
"""Suffix of the window of an async row's second burst."""


async def concurrent(client: Any, n: int) -> Row:
    """``n`` concurrent calls, each answered after the emulator's latency: once on the pool
    one warm-up call left (the client opens the connections it needs: the figures), then
    once more on the connections the first burst left open (``warm_*``: a steady load)."""
    await client.ainvoke(PROMPT)  # warm-up: the pool, lazy imports
    text = f"{LATENCY} {SHORT}"
    calls = [lambda: client.ainvoke(text)] * n
    cpu, wall, results = await _burst(f"async-{n}", calls)
    warm_cpu, warm_wall, warm_results = await _burst(f"async-{n}{WARM}", calls)
    errors = [r for r in (*results, *warm_results) if isinstance(r, BaseException)]
    return {
        "wall_s": wall,
        "cpu_ms": cpu / n * 1000,
        "warm_wall_s": warm_wall,
        "warm_cpu_ms": warm_cpu / n * 1000,
        "errors": len(errors),
        "notes": _error_note(errors),
    }


async def streams(client: Any, sizes: dict[str, Any]) -> Row:
    n, sent = sizes["streams"], sizes["burst"]
    await client.astream(PROMPT)  # warm-up
    text = f"{BURST} {SHORT}"
    cpu, wall, results = await _burst("streams", [lambda: client.astream(text)] * n)
    errors = [r for r in results if isinstance(r, BaseException)]
    counts = [r for r in results if not isinstance(r, BaseException)]
    row = {
        "wall_s": wall,
        "cpu_ms": cpu / n * 1000,
        "cpu_us_chunk": cpu / (n * sent) * 1e6,
        "errors": len(errors),
        "notes": _error_note(errors),
    }
    return _streamed(row, min(counts), sent) if counts else row


async def _async_rows(client: Any, names: list[str], sizes: dict[str, Any]) -> dict[str, Row]:
    """Every async row in one event loop (a client's async pool may be bound to its loop)."""
    out: dict[str, Row] = {}
    for name in names:
        try:
            if name == "streams":
                out[name] = await streams(client, sizes)
            else:
                out[name] = await concurrent(client, int(name.split("-")[1]))
        except Exception as exc:
            out[name] = _failed(exc)
    return out


def _failed(exc: BaseException) -> Row:
    return {"failed": f"{type(exc).__name__}: {str(exc)[:200]}", "notes": []}


SYNC_ROWS: dict[str, Callable[[Any, dict[str, Any]], Row]] = {
    "invoke": invoke,
    "stream": stream,
    "embed": embed,
}


def run(job: dict[str, Any], name: str, rows: list[str]) -> dict[str, Row]:
    """Run ``rows`` of the client ``name`` against the emulator at ``job['native']``."""
    global _client
    _client = name
    sizes = job["sizes"]
    try:
        urls = Urls(job["native"], job["compatible"])
        client = build(name, urls, KEY, sizes, defaults=job.get("defaults", False))
    except Exception as exc:
        return {row: _failed(exc) for row in rows}
    out: dict[str, Row] = {}
    for row in rows:
        if row in SYNC_ROWS:
            try:
                out[row] = SYNC_ROWS[row](client, sizes)
            except Exception as exc:
                out[row] = _failed(exc)
    later = [row for row in rows if row not in SYNC_ROWS]
    if later:
        out.update(asyncio.run(_async_rows(client, later, sizes)))
    return out
