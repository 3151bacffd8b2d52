"""Retry policy as pure functions: what to retry, how long to wait."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping

__all__ = ["MAX_BACKOFF", "backoff", "retry_after", "should_retry", "should_retry_error"]

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` a call waits for; a longer one ends the call at once with the
error, which says how long the service asked to wait."""

# 429 codes that mean "out of money or quota", which waiting a second does not fix
# (error-code page, §6.3 of the protocol notes).
_NEVER_RETRY_429 = (
    "AllocationQuota",
    "insufficient_quota",
    "Arrearage",
    "CommodityNotPurchased",
    "BillOverdue",
    "FreeTierOnly",
)


def should_retry(status_code: int | None, code: str | None) -> bool:
    """Whether an error answer is worth another attempt."""
    if status_code is None:
        return False
    if status_code == 429:
        return not (code and any(marker in code for marker in _NEVER_RETRY_429))
    if status_code in (408, 409):
        return True
    return status_code >= 500


def should_retry_error(error: BaseException) -> bool:
    """Whether a raised transport error is worth another attempt."""
    from ._errors import APIConnectionError, APIError

    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, APIError) and error.status_code is not None:
        return should_retry(error.status_code, error.code)
    return False


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` / ``Retry-After``), if given."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value: float | None = None
    if "retry-after-ms" in lowered:
        try:
            value = float(lowered["retry-after-ms"]) / 1000
        except ValueError:
            value = None
    if value is None and "retry-after" in lowered:
        raw = lowered["retry-after"].strip()
        try:
            value = float(raw)
        except ValueError:
            import email.utils  # only for HTTP-date values (rare); costs ~7 ms at import

            try:
                parsed = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                value = float(parsed.timestamp()) - (time.time() if now is None else now)
    if value is None or value != value or value < 0:  # absent, NaN or in the past
        return None
    return value


def backoff(attempt: int, *, jitter: float | None = None) -> float:
    """Exponential backoff with full jitter for retry number ``attempt`` (0-based)."""
    ceiling: float = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0**attempt)
    fraction = random.random() if jitter is None else jitter
    # Keep at least half the ceiling so retries never bunch up at zero.
    return ceiling * (0.5 + 0.5 * fraction)
