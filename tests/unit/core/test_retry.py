"""The retry table: what is retried, how long to wait."""

from __future__ import annotations

import pytest

from qwen_dashscope import APIConnectionError, APITimeoutError, InvalidRequestError
from qwen_dashscope._errors import error_from_body
from qwen_dashscope._retry import (
    MAX_BACKOFF,
    backoff,
    retry_after,
    should_retry,
    should_retry_error,
)


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (429, "Throttling", True),
        (429, "Throttling.RateQuota", True),
        (429, "Throttling.BurstRate", True),
        (429, "limit_requests", True),
        (429, None, True),
        (429, "Throttling.AllocationQuota", False),
        (429, "insufficient_quota", False),
        (429, "CommodityNotPurchased", False),
        (429, "PrepaidBillOverdue", False),
        (429, "PostpaidBillOverdue", False),
        (400, "Arrearage", False),
        (400, "InvalidParameter", False),
        (401, "InvalidApiKey", False),
        (403, "AllocationQuota.FreeTierOnly", False),
        (404, "ModelNotFound", False),
        (408, None, True),
        (500, "InternalError", True),
        (502, None, True),
        (503, "ModelServingError", True),
        (504, None, True),
    ],
)
def test_retry_table(status: int, code: str | None, retry: bool) -> None:
    assert should_retry(status, code) is retry
    error = error_from_body(status, {"code": code, "message": "m"})
    assert should_retry_error(error) is retry


def test_connection_failures_are_retried_but_client_errors_are_not() -> None:
    assert should_retry_error(APIConnectionError())
    assert should_retry_error(APITimeoutError())
    assert not should_retry_error(InvalidRequestError("x"))
    assert not should_retry_error(RuntimeError("x"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "3600"}, 3600.0),  # the client decides whether to wait that long
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}, None),  # in the past
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected


def test_retry_after_http_date_in_the_future() -> None:
    now = 1_445_412_480.0  # 2015-10-21 07:28:00 GMT
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}, now=now) == 5.0


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (0, 0.25, 0.5),
        (1, 0.5, 1.0),
        (2, 1.0, 2.0),
        (3, 2.0, 4.0),
        (10, MAX_BACKOFF / 2, MAX_BACKOFF),
    ],
)
def test_backoff_grows_exponentially_with_bounded_jitter(
    attempt: int, low: float, high: float
) -> None:
    assert backoff(attempt, jitter=0.0) == pytest.approx(low)
    assert backoff(attempt, jitter=1.0) == pytest.approx(high)
    for _ in range(50):
        assert low <= backoff(attempt) <= high
