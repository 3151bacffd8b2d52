"""Shared measurement for the adapter benchmarks: CPU per call, interleaved rounds, the raw
requests every floor is built on (sync and async twins)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

KEY = "sk-emulator"
# The emulator echoes the prompt: ~210 characters, streamed in ~53 events of ~4 characters.
PROMPT = ("Tell me about West Lake in Hangzhou and its famous causeways. " * 4)[:200]


def cpu_per(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """(CPU milliseconds per call, units per call) of ``fn``."""
    units = 0
    start = time.process_time()
    for _ in range(repeat):
        units = fn()
    return (time.process_time() - start) / repeat * 1000, units


def interleaved(
    fns: dict[str, Callable[[], int]], repeat: int, rounds: int = 5
) -> dict[str, tuple[float, int]]:
    """Median over ``rounds`` of each function's CPU per call, the functions taking turns
    (so a slow phase of the machine or of the emulator hits all of them alike)."""
    for fn in fns.values():  # warm-up: connections, caches, lazy imports
        for _ in range(max(3, repeat // (10 * rounds))):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    units: dict[str, int] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            ms, units[name] = cpu_per(fn, max(1, repeat // rounds))
            samples[name].append(ms)
    return {name: (statistics.median(samples[name]), units[name]) for name in fns}


def body(stream: bool, text: str = PROMPT) -> dict[str, Any]:
    """The native request body of the raw floor (and of our calls)."""
    parameters: dict[str, Any] = {"result_format": "message"}
    if stream:
        parameters["incremental_output"] = True
    return {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": text}]},
        "parameters": parameters,
    }


def headers(stream: bool) -> dict[str, str]:
    h = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    if stream:
        h["X-DashScope-SSE"] = "enable"
        h["Accept"] = "text/event-stream"
    return h


def raw_post(http: httpx.Client, url: str, text: str = PROMPT) -> int:
    """The floor's non-streaming request: a POST and ``json.loads`` of the answer."""
    json.loads(http.post(url, json=body(False, text), headers=headers(False)).content)
    return 1


def raw_stream(http: httpx.Client, url: str, text: str = PROMPT) -> int:
    """The floor's streaming request: SSE lines and ``json.loads`` of each ``data:``; events."""
    events = 0
    with http.stream("POST", url, json=body(True, text), headers=headers(True)) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
                events += 1
    return events


async def raw_apost(http: httpx.AsyncClient, url: str, text: str = PROMPT) -> int:
    """``raw_post`` on an ``httpx.AsyncClient``."""
    response = await http.post(url, json=body(False, text), headers=headers(False))
    json.loads(response.content)
    return 1


async def raw_astream(http: httpx.AsyncClient, url: str, text: str = PROMPT) -> int:
    """``raw_stream`` on an ``httpx.AsyncClient``."""
    events = 0
    async with http.stream("POST", url, json=body(True, text), headers=headers(True)) as r:
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
                events += 1
    return events


EMBEDDING_MODEL = "text-embedding-v4"
EMBEDDING_BATCH = 10
"""Texts per request: text-embedding-v3/v4's limit."""


def raw_embed(http: httpx.Client, url: str, texts: list[str]) -> list[list[float]]:
    """The embeddings floor: one native POST per ``EMBEDDING_BATCH`` texts, one after another."""
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBEDDING_BATCH):
        request = {
            "model": EMBEDDING_MODEL,
            "input": {"texts": texts[start : start + EMBEDDING_BATCH]},
            "parameters": {"text_type": "document"},
        }
        data = json.loads(http.post(url, json=request, headers=headers(False)).content)
        items = sorted(data["output"]["embeddings"], key=lambda item: item["text_index"])
        vectors.extend(item["embedding"] for item in items)
    return vectors
