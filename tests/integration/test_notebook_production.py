"""Execute notebooks/03_production.ipynb end to end: it starts its own emulators (failures are
scripted with Reply.error), so no key and no scripting from the test are needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # the notebooks extra

from tests._notebooks import (
    assert_committed_without_outputs,
    assert_exports_cleanly,
    assert_streams_coalesced,
    displayed,
    execute,
    text_of,
)

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_production.ipynb"
ERROR_CLASSES = [
    "InvalidRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "BadRequestError",
    "BadRequestError",
    "ContentFilterError",
    "RateLimitError",
    "RateLimitError",
    "ServerError",
    "APITimeoutError",
    "APIConnectionError",
    "ProtocolError",
]


def test_notebook_is_committed_without_outputs() -> None:
    assert_committed_without_outputs(NOTEBOOK)


@pytest.mark.timeout(90)
def test_notebook_runs_end_to_end() -> None:
    nb = execute(NOTEBOOK)
    assert_streams_coalesced(nb)
    assert_exports_cleanly(nb)
    out = text_of(nb)
    assert "Traceback" not in out, out

    # 1. regions: the mismatch names region=, and region="singapore" fixes it
    assert 'region="intl" -> https://dashscope-intl.aliyuncs.com/api/v1' in out
    assert (
        "AuthenticationError: 401 InvalidApiKey: Invalid API-key provided. DashScope API keys"
        in (out)
    )
    assert "this request went to dashscope.aliyuncs.com (region 'beijing')" in out
    assert "set region= to one of 'singapore'" in out
    assert "with region='singapore': 你好！我在新加坡区域为你服务。" in out
    # 2. timeouts: the read limit, with the host and the setting named
    timeout = re.search(r"after (\d\.\d) s: APITimeoutError: .*raise timeout=", out)
    assert timeout is not None and 0.4 <= float(timeout.group(1)) < 1.5
    # 3. retries: two server errors retried; Retry-After honoured
    assert "'第三次成功了。' after 3 requests" in out
    waited = re.search(r"'等了一秒，成功。' after (\d\.\d) s \(Retry-After: 1\)", out)
    assert waited is not None and float(waited.group(1)) >= 1.0
    # 5. rate limits: a Retry-After longer than a call waits fails at once, with retry_after
    assert "code: Throttling.RateQuota\nretry_after: 120.0 s\n" in out
    assert "'retry-after': '120'" in out and "requests sent: 1\n" in out
    # 6. batching: the cap holds
    seconds = {
        int(limit): float(value)
        for limit, value in re.findall(r"max_concurrency= ?(\d+): 8 answers in (\d+\.\d+) s", out)
    }
    assert list(seconds) == [1, 4, 8]
    assert seconds[1] >= 0.8 and seconds[4] < seconds[1] / 2
    assert "8 answers in" in out and "at most 4 in flight" in out
    # 7. the user's own tests, with the fixtures shown, pass against the emulator
    assert re.search(r"^2 passed in [\d.]+s$", out, re.MULTILINE), out

    regions, timeouts, errors = displayed(nb, "text/html")
    assert regions.count("<tr>") == 6 and "https://dashscope-intl.aliyuncs.com/api/v1" in regions
    assert "<td>(5, 60)</td><td>5.0</td><td>60.0</td><td>None</td>" in timeouts
    assert "<td>Timeouts(read=60, total=90)</td><td>10.0</td><td>60.0</td><td>90.0</td>" in timeouts
    assert re.findall(r"<tr><td>(\w+)</td>", errors) == ERROR_CLASSES
    assert "did you mean &#x27;qwen-turbo&#x27;" in errors  # the unknown model's fix
    assert "&lt;html&gt;" in errors  # what a proxy sent is shown, escaped
    assert len(displayed(nb, "image/png")) == 1  # the batching chart
