"""The side-by-side benchmark (``make bench``) at tiny sizes, so it never rots.

Runs with whatever clients this venv can import: ours and the floors here (the peers live in
``.venv-bench``); it is never skipped for their absence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._clients import SPECS
from benchmarks._report import title
from benchmarks._rows import SMOKE, row_names, rows_of

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_produces_every_row_for_every_importable_client(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    expected = [spec for spec in SPECS if spec.available]
    names = {spec.name for spec in expected}
    assert {"ChatQwen", "Qwen", "QwenEmbeddings", "QwenEmbedding"} <= names
    assert {"raw httpx", "fake model", "MinimalChat", "RawLLM"} <= names
    assert set(data["samples"]) == names
    assert data["network"] == {}  # nothing but loopback

    for spec in expected:
        rows = data["samples"][spec.name]
        assert set(rows) == {*rows_of(spec, SMOKE), "import"}, spec.name
        for row, samples in rows.items():
            (sample,) = samples
            assert "failed" not in sample, (spec.name, row, sample)
            assert sample["notes"] == [] or spec.name == "fake model", (spec.name, row, sample)
            _check(spec.name, spec.io, row, sample)

    for row in row_names(SMOKE):  # every row has its table in the printed report
        assert f"### {title(row, SMOKE)}" in result.stdout, row


def _check(name: str, io: bool, row: str, sample: dict[str, object]) -> None:
    def number(key: str, low: float, high: float) -> None:
        value = sample[key]
        assert isinstance(value, (int, float)) and low < value < high, (name, row, key, value)

    if row == "import":
        number("ms", 0, 30_000)
        number("rss_mb", 5, 2_000)
        return
    number("rss_mb", 5, 2_000)
    if row == "invoke":
        number("cpu_ms", 0, 100)
        assert sample["requests"] == (SMOKE.calls if io else 0)
    elif row == "stream":
        number("cpu_us", 0, 50_000)
        assert int(str(sample["chunks"])) >= SMOKE.long - 1  # the fake model: words and spaces
    elif row.startswith("async-"):
        number("cpu_ms", 0, 100)
        number("wall_s", SMOKE.latency * 0.9 if io else 0, 10)
        number("warm_cpu_ms", 0, 100)
        number("warm_wall_s", SMOKE.latency * 0.9 if io else 0, 10)
        assert 0 <= sample["emulator_cpu_s"] < 10  # type: ignore[operator]
        assert sample["errors"] == 0
        assert sample["requests"] == (int(row.split("-")[1]) if io else 0)
        assert sample["warm_requests"] == sample["requests"]
    elif row == "streams":
        number("cpu_ms", 0, 200)
        number("wall_s", 0, 10)
        assert sample["errors"] == 0
        assert sample["requests"] == (SMOKE.streams if io else 0)
    else:
        assert row == "embed"
        number("wall_s", 0, 10)
        assert sample["requests"] == -(-SMOKE.texts // 10)
