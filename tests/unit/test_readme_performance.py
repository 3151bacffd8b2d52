"""The README's performance summary is the report's: the same run, the same figures.

``make bench`` rewrites benchmarks/RESULTS.md; the README's table is copied from it by hand.
This test fails when the two disagree (a new run without the README updated, or a typo)."""

from __future__ import annotations

import math
import re

from tests._readme import ROOT
from tests._readme import text as readme_text

RESULTS = ROOT / "benchmarks" / "RESULTS.md"

# README row name -> the report's row name.
CLIENTS = {
    "**`ChatQwen`** (ours)": "**ChatQwen** (ours)",
    "ChatTongyi": "ChatTongyi",
    "langchain-qwq `ChatQwen`": "langchain-qwq ChatQwen",
    "`ChatOpenAI` (compatible mode)": "ChatOpenAI",
    "*floor: `MinimalChat`*": "MinimalChat",
    "**`Qwen`** (ours)": "**Qwen** (ours)",
    "llama-index `DashScope`": "DashScope (llama-index)",
    "`OpenAILike` (compatible mode)": "OpenAILike",
    "*floor: `RawLLM`*": "RawLLM",
    "*floor: raw httpx*": "raw httpx",
}
# README column -> the report's column.
COLUMNS = {
    "invoke, CPU ms": "invoke: CPU ms/call",
    "stream, CPU µs per chunk": "stream: CPU µs/chunk",
    "200 async calls, wall s": "async-200: wall s",
    "1,000 async calls, wall s": "async-1000: wall s",
    "200 async streams, wall s": "streams: wall s",
    "import, ms": "import: import ms",
}


def _table(markdown: str, first_header: str) -> dict[str, dict[str, str]]:
    """The markdown table whose first header cell is ``first_header``: row -> column -> cell."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def _number(cell: str) -> float | None:
    """A cell's figure (markup and footnote marks removed); None where there is none."""
    match = re.search(r"\d[\d,]*(?:\.\d+)?", cell.replace("*", ""))
    return (
        None
        if match is None or "chunk" in cell or "n/a" in cell
        else float(match.group().replace(",", ""))
    )


def _decimals(cell: str) -> int:
    match = re.search(r"\d+(?:\.(\d+))?", cell.replace("*", ""))
    return len(match.group(1) or "") if match else 0


def test_the_summary_names_the_reports_run() -> None:
    run = re.search(r"Run of (\d{4}-\d{2}-\d{2})", RESULTS.read_text(encoding="utf-8"))
    assert run is not None
    assert f"The run of {run.group(1)}" in readme_text()


def test_every_figure_of_the_summary_is_the_reports_rounded() -> None:
    readme = _table(readme_text(), "client | invoke, CPU ms")
    report = _table(RESULTS.read_text(encoding="utf-8"), "client | framework")
    assert set(readme) == set(CLIENTS)
    for name, row in readme.items():
        theirs = report[CLIENTS[name]]
        for column, source in COLUMNS.items():
            ours, cell = _number(row[column]), theirs[source]
            if ours is None:  # "one chunk": the report has no per-chunk figure either
                assert "n/a" in cell, (name, column)
                continue
            exact = _number(cell)
            assert exact is not None, (name, column)
            # The README rounds to its own number of decimals.
            step = 10.0 ** -_decimals(row[column])
            assert math.isclose(ours, exact, abs_tol=step / 2 + 1e-9), (name, column, ours, exact)
