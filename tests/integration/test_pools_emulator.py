"""The shared pools under concurrency, against the emulator: threads beyond a small sync pool
queue for a connection (no pool timeouts), and async bursts beyond 100 calls are not split
into waves. Only lower bounds of time are asserted (a loaded machine is slower, never
faster), or a margin of a whole reply delay."""

from __future__ import annotations

import asyncio
import threading
import time

from langchain_qwen import ChatQwen
from qwen_dashscope.testing import DashScopeEmulator, Reply


def _arrivals(emulator: DashScopeEmulator, delay: float) -> list[float]:
    """Answer every request after ``delay`` seconds; returns the list of arrival times."""
    times: list[float] = []
    lock = threading.Lock()

    def record(_request: object) -> bool:
        with lock:
            times.append(time.monotonic())
        return True

    emulator.when(record, Reply.delay(delay))
    return times


def test_sync_batch_threads_queue_on_a_small_pool(emulator: DashScopeEmulator) -> None:
    arrivals = _arrivals(emulator, 0.3)
    llm = ChatQwen(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        max_connections=2,
        timeout=(0.1, 30),  # the connect timeout no longer bounds the wait for a connection
        max_retries=0,
    )
    answers = llm.batch([f"question {i}" for i in range(8)], config={"max_concurrency": 8})
    assert all(answer.content for answer in answers)
    assert len(arrivals) == 8
    arrivals.sort()
    # Two connections: the third request is sent only once a first answer came back.
    assert arrivals[2] - arrivals[0] >= 0.25


def test_an_async_burst_beyond_100_calls_is_sent_at_once(emulator: DashScopeEmulator) -> None:
    calls, delay = 150, 1.0
    arrivals = _arrivals(emulator, delay)
    llm = ChatQwen(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)

    async def burst() -> list[object]:
        return await asyncio.gather(*(llm.ainvoke(f"q{i}") for i in range(calls)))

    answers = asyncio.run(burst())
    assert len(answers) == calls
    assert len(arrivals) == calls
    # Every request reached the service before the first answer left it: no second wave.
    assert max(arrivals) - min(arrivals) < delay
