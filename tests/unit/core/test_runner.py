"""The in-process bulk runner: order, bounds, pacing, per-row retries, errors in place."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from qwen_dashscope import (
    BulkOptions,
    ChatRequest,
    InvalidRequestError,
    Message,
    RateLimiter,
    RateLimitError,
    ServerError,
)
from qwen_dashscope._runner import estimate_chat_tokens, run_async, run_sync


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_are_paced_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=120, clock=clock)
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    clock.now += 10  # idle time is not banked: no burst afterwards
    assert limiter.reserve() == 0.0 and limiter.reserve() == 0.5


def test_tokens_per_minute_use_the_estimate_then_the_real_usage() -> None:
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=600, clock=clock)  # 10 tokens/s
    assert limiter.reserve(20) == 0.0
    assert limiter.reserve(20) == pytest.approx(2.0)
    limiter.settle(20, 50)  # the first used 30 more: 3 s of debt
    assert limiter.reserve(10) == pytest.approx(7.0)
    limiter.pause(30)
    assert limiter.reserve(0) == pytest.approx(30.0)  # every caller waits out the pause


def test_options_are_checked() -> None:
    for bad in ({"max_concurrency": 0}, {"requests_per_minute": -1}, {"row_retries": True}):
        with pytest.raises(InvalidRequestError):
            BulkOptions(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("sync", [True, False])
def test_results_in_input_order_with_errors_in_place_and_the_bound_kept(sync: bool) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    failures = {3: ValueError("row 3 is bad")}

    def enter() -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])

    def leave() -> None:
        with lock:
            state["now"] -= 1

    def call(i: int) -> int:
        enter()
        time.sleep(0.01 * (i % 3))
        leave()
        if i in failures:
            raise failures[i]
        return i * 10

    async def acall(i: int) -> int:
        enter()
        await asyncio.sleep(0.01 * (i % 3))
        leave()
        if i in failures:
            raise failures[i]
        return i * 10

    options = BulkOptions(max_concurrency=3, row_retries=0)
    items = list(range(12))
    out = run_sync(items, call, options) if sync else asyncio.run(run_async(items, acall, options))
    assert out[3] is failures[3]
    assert [v for i, v in enumerate(out) if i != 3] == [i * 10 for i in items if i != 3]
    assert state["peak"] == 3


@pytest.mark.parametrize("sync", [True, False])
def test_retryable_rows_are_retried_and_others_are_not(sync: bool, monkeypatch) -> None:
    monkeypatch.setattr("qwen_dashscope._runner.backoff", lambda attempt: 0.0)
    attempts: dict[int, int] = {}
    throttled = RateLimitError("slow down", status_code=429, code="Throttling")
    throttled.retry_after = 0.0

    def call(i: int) -> str:
        attempts[i] = attempts.get(i, 0) + 1
        if i == 0 and attempts[i] < 3:
            raise ServerError("boom", status_code=500)
        if i == 1 and attempts[i] < 2:
            raise throttled
        if i == 2:
            raise InvalidRequestError("never", param="x")
        return "ok"

    async def acall(i: int) -> str:
        return call(i)

    options = BulkOptions(max_concurrency=1, row_retries=2)
    out = (
        run_sync([0, 1, 2], call, options)
        if sync
        else asyncio.run(run_async([0, 1, 2], acall, options))
    )
    assert out[:2] == ["ok", "ok"] and isinstance(out[2], InvalidRequestError)
    assert attempts == {0: 3, 1: 2, 2: 1}


@pytest.mark.parametrize("sync", [True, False])
def test_stop_on_error_starts_no_new_row_and_raises(sync: bool) -> None:
    seen: list[int] = []

    def call(i: int) -> int:
        seen.append(i)
        if i == 1:
            raise ValueError("stop")
        return i

    async def acall(i: int) -> int:
        return call(i)

    options = BulkOptions(max_concurrency=1, stop_on_error=True, row_retries=0)
    with pytest.raises(ValueError, match="stop"):
        run_sync(range(5), call, options) if sync else asyncio.run(
            run_async(range(5), acall, options)
        )  # type: ignore[arg-type]
    assert seen == [0, 1]


def test_the_token_limit_paces_a_run(monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("qwen_dashscope._runner.time.sleep", lambda s: sleeps.append(s))
    options = BulkOptions(max_concurrency=1, tokens_per_minute=60)  # 1 token/s
    out = run_sync(list(range(3)), lambda i: i, options, estimate=lambda i: 2, used=lambda v: 2)
    assert out == [0, 1, 2]
    assert len(sleeps) == 2 and all(s > 1.5 for s in sleeps)


def test_chat_token_estimate() -> None:
    request = ChatRequest(
        "qwen-plus", [Message("user", "你好世界 hello there")], {"max_tokens": 10}
    )
    assert estimate_chat_tokens(request) == 4 + 3 + 10
