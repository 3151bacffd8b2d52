"""Execute notebooks/04_bulk_jobs.ipynb end to end against the emulator (ray, matplotlib).

The kernel inherits the emulator's DASHSCOPE_* settings, a temporary HOME (Ray writes
~/.ray) and jobs folder. Rules make the emulator answer like a classifier; the Batch API
batches take ≈2 s of emulated processing so that its progress curve has a shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply
from tests._notebooks import assert_committed_without_outputs, run

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_bulk_jobs.ipynb"

pytestmark = [pytest.mark.scale, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_notebook_is_committed_without_outputs() -> None:
    nb = assert_committed_without_outputs(NOTEBOOK)
    assert "submit_batch" in "".join(c.source for c in nb.cells)


@pytest.mark.timeout(240)
def test_notebook_runs_against_the_emulator(
    emulator_env: DashScopeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")  # the notebooks extra: its chart
    emu = emulator_env
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("QWEN_DASHSCOPE_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    bad = ("不推荐", "凉的", "不会再来")
    emu.when(lambda r: any(b in r.last_user_text for b in bad), Reply.text("negative"))
    emu.when(lambda r: True, Reply.text("positive"))
    emu.batches.settings.seconds_per_line = 0.002  # 1,000 lines: about 2 s in progress

    out = run(NOTEBOOK)

    assert "Using DashScope at " + emu.base_url in out
    assert "in process: 1000 rows" in out
    assert "Batch API: completed after" in out
    assert "Ray Data: 1000 rows" in out
    assert "identical answers across runners: True" in out
    assert out.count("accuracy 100.0%") == 3
    assert "Batch API saves 50% of the real-time cost" in out
    assert "chart: rows completed over time, 3 runners" in out
    assert "Traceback" not in out
    lines = [r for r in emu.requests if r.headers.get("x-batch-id")]
    assert len(lines) == 1000 and all(r.body["enable_thinking"] is False for r in lines)
