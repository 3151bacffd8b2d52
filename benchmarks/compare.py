"""Side by side: our four classes, every peer and the floors, against one emulator.

    python -m benchmarks.compare [--rounds 3] [--smoke] [--clients A,B] [--rows invoke,embed]

``make bench`` runs it in ``.venv-bench`` (the peers installed) and writes
``benchmarks/RESULTS.md`` and ``benchmarks/results.png``. The emulator runs in its own process
(native and compatible-mode paths, answers scripted by prompt markers: 200 ms latency, a
5,000-chunk stream, 200-chunk streams; requests counted per endpoint), and so does every
client, one process per (client, row) and round, the clients taking turns in a rotating order.
Every process first times its client's cold import. Clients whose packages are missing are
left out (the test venv has only ours and the floors). Medians and min-max are over rounds
(the import row: over every process).

``--smoke`` is the smoke run in ``make test``: tiny sizes, one round, the clients of one
framework one after another in one process (only the first import is cold), two processes at
once, each with its own emulator; it writes only the JSON of raw samples.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import _offline, _report
from ._clients import SPECS, Spec
from ._emulator import ScriptedEmulator
from ._measure import KEY
from ._rows import FULL, SMOKE, WARM, Sizes, row_names, rows_of

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------- one client process


Part = tuple[Spec, list[str]]
"""A client and the rows it runs."""


@dataclass
class Outcome:
    """What one client process gave: rows per client, requests per (client, row) window."""

    clients: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    emulator_cpu: dict[tuple[str, str], float] = field(default_factory=dict)
    rss_mb: float = 0.0
    network: list[str] = field(default_factory=list)
    failed: str = ""
    seconds: float = 0.0


def _lines(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def run_process(
    parts: list[Part], sizes: Sizes, emulator: ScriptedEmulator, *, defaults: bool = False
) -> Outcome:
    """Run the parts' rows in one fresh process, counting its requests at the emulator."""
    job = {
        "clients": [
            {"client": spec.name, "imports": spec.imports, "rows": rows} for spec, rows in parts
        ],
        "sizes": asdict(sizes),
        "native": emulator.base_url,
        "compatible": emulator.compatible_base_url,
        "defaults": defaults,
    }
    env = {
        **os.environ,
        **_offline.QUIET_ENV,
        "DASHSCOPE_HTTP_BASE_URL": emulator.base_url,
        "DASHSCOPE_API_KEY": KEY,
        "PYTHONUNBUFFERED": "1",
    }
    outcome = Outcome()
    started = time.monotonic()
    emulator.drain()  # nothing before this process counts
    command = [sys.executable, "-m", "benchmarks._runner", parts[0][0].imports, json.dumps(job)]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=HERE.parent,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + sizes.timeout * len(parts)
        window = ("", "-")
        try:
            while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
                if line.startswith("MARK "):
                    outcome.requests[window], outcome.emulator_cpu[window] = emulator.drain()
                    client, _, row = line[5:].rstrip("\n").partition("\t")
                    window = (client, row)
                    proc.stdin.write("\n")
                    proc.stdin.flush()
                elif line.startswith("RESULT "):
                    result = json.loads(line[7:])
                    outcome.clients, outcome.rss_mb = result["clients"], result["rss_mb"]
                    outcome.network = result["network"]
            proc.wait(timeout=30)
        except queue.Empty:
            proc.kill()
            proc.wait()
            outcome.failed = f"timeout after {sizes.timeout:.0f} s"
        outcome.requests[window], outcome.emulator_cpu[window] = emulator.drain()
        if not outcome.clients and not outcome.failed:
            errors.seek(0)
            tail = errors.read().strip().splitlines()[-3:]
            outcome.failed = f"exit {proc.returncode}: " + " | ".join(tail)[-300:]
    outcome.seconds = time.monotonic() - started
    return outcome


# ---------------------------------------------------------------------- the run


@dataclass
class Results:
    """Samples per client and row (one per process), plus everything the report shows."""

    sizes: Sizes
    rounds: int
    samples: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    network: dict[str, list[str]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    load: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, spec: Spec, rows: list[str], outcome: Outcome) -> None:
        by_row = self.samples.setdefault(spec.name, {})
        got = outcome.clients.get(spec.name, {})
        for row in [*rows, "import"]:
            sample = dict(got.get(row) or {"failed": outcome.failed or "no result"})
            counts = outcome.requests.get((spec.name, row))
            if counts is not None:
                sample["requests"] = sum(counts.values())
                sample["endpoints"] = counts
                sample["emulator_cpu_s"] = outcome.emulator_cpu[(spec.name, row)]
            warm = outcome.requests.get((spec.name, row + WARM))
            if warm is not None:
                sample["warm_requests"] = sum(warm.values())
                sample["warm_emulator_cpu_s"] = outcome.emulator_cpu[(spec.name, row + WARM)]
            if row != "import":
                sample["rss_mb"] = outcome.rss_mb
            by_row.setdefault(row, []).append(sample)
        if outcome.network:
            self.network.setdefault(spec.name, []).extend(outcome.network)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        sizes = dict(data["sizes"])
        sizes["concurrency"] = tuple(sizes["concurrency"])
        results = cls(Sizes(**sizes), data["rounds"])
        for name in ("samples", "defaults", "network", "started", "seconds"):
            setattr(results, name, data[name])
        results.load = [tuple(load) for load in data["load"]]
        return results

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": asdict(self.sizes),
            "rounds": self.rounds,
            "samples": self.samples,
            "defaults": self.defaults,
            "network": self.network,
            "started": self.started,
            "seconds": self.seconds,
            "load": self.load,
        }


def _rotated(items: list[Spec], by: int) -> list[Spec]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


Job = tuple[int, list[Part]]
"""(round, the parts of one process); round -1: a class set up by default, once."""


def plan(
    specs: list[Spec],
    sizes: Sizes,
    rounds: int,
    shared: bool,
    only: set[str] | None = None,
) -> list[Job]:
    """The processes in run order. Per row, the clients take turns (rotated each round), one
    process each; ``shared``: one process per framework and round, its clients one after
    another, all their rows (the smoke run); ``only``: these rows only."""

    def rows(spec: Spec) -> list[str]:
        return [row for row in rows_of(spec, sizes) if only is None or row in only]

    jobs: list[Job] = []
    for r in range(rounds):
        if shared:
            frameworks = dict.fromkeys(spec.framework for spec in _rotated(specs, r))
            for framework in frameworks:
                parts = [(s, rows(s)) for s in _rotated(specs, r) if s.framework == framework]
                jobs.append((r, [part for part in parts if part[1]]))
            continue
        for row in row_names(sizes):
            members = [s for s in specs if row in rows(s)]
            jobs += [(r, [(spec, [row])]) for spec in _rotated(members, r)]
    return [(r, parts) for r, parts in jobs if parts]


def run(
    specs: list[Spec],
    sizes: Sizes,
    rounds: int,
    *,
    shared: bool = False,
    only: set[str] | None = None,
    lanes: int = 1,
    log: Any = print,
) -> Results:
    """The whole run. ``lanes`` > 1 runs that many client processes at once, each lane with
    its own emulator (for the smoke run: the figures of a full run need ``lanes=1``)."""
    results = Results(sizes, rounds)
    results.load.append(os.getloadavg())
    start = time.monotonic()
    probe = replace(sizes, texts=sizes.probe_texts)
    # First, once: the classes whose defaults the run changes, set up by default.
    jobs: list[Job] = [(-1, [(s, ["embed"])]) for s in specs if s.defaults and not only]
    jobs += plan(specs, sizes, rounds, shared, only)
    with contextlib.ExitStack() as stack:
        free: queue.Queue[ScriptedEmulator] = queue.Queue()
        for _ in range(lanes):
            free.put(stack.enter_context(ScriptedEmulator(sizes.latency, sizes.long, sizes.burst)))

        def one(job: Job) -> Outcome:
            r, parts = job
            emulator = free.get()
            try:
                if r < 0:
                    return run_process(parts, probe, emulator, defaults=True)
                return run_process(parts, sizes, emulator)
            finally:
                free.put(emulator)

        with concurrent.futures.ThreadPoolExecutor(lanes) as pool:
            for (r, parts), outcome in zip(jobs, pool.map(one, jobs), strict=True):
                if r < 0:
                    ((spec, _),) = parts
                    embed = outcome.clients.get(spec.name, {}).get("embed")
                    results.defaults[spec.name] = _describe(embed, outcome)
                    if outcome.network:
                        results.network[spec.name + " (defaults)"] = outcome.network
                    continue
                for spec, rows in parts:
                    results.add(spec, rows, outcome)
                for spec, rows in parts:
                    log(
                        f"[{r + 1}/{rounds}] {outcome.seconds:5.1f}s {spec.name:<32} "
                        f"{','.join(rows):<12} {_brief(outcome, spec.name)}"
                    )
    results.seconds = time.monotonic() - start
    results.load.append(os.getloadavg())
    return results


def _describe(row: dict[str, Any] | None, outcome: Outcome) -> str:
    if not row or "failed" in row:
        return "fails: " + ((row or {}).get("failed") or outcome.failed)
    return "; ".join(row.get("notes") or []) or "works"


def _brief(outcome: Outcome, client: str) -> str:
    if outcome.failed:
        return outcome.failed
    parts = []
    for name, row in outcome.clients.get(client, {}).items():
        if name == "import":
            continue
        figures = {k: v for k, v in row.items() if isinstance(v, float)}
        parts.append(" ".join(f"{k}={v:.3g}" for k, v in figures.items()))
        if row.get("failed"):
            parts.append(str(row["failed"])[:80])
    return "; ".join(parts)


def _default(args: argparse.Namespace, name: str) -> str:
    return "" if args.smoke else str(HERE / name)


def compile_ours() -> None:
    """Compile this checkout's packages to bytecode, as pip does for the peers it installs.

    An editable install is not compiled, and where ``PYTHONDONTWRITEBYTECODE`` is set every
    client process would compile our sources again inside its cold-import figure (~60 ms)."""
    import compileall
    import importlib.util

    for package in ("qwen_dashscope", "langchain_qwen", "llama_index_qwen"):
        spec = importlib.util.find_spec(package)  # a top-level package: not imported
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                compileall.compile_dir(folder, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, help="default: 3 (1 with --smoke)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one process per framework, 2 at once"
    )
    parser.add_argument("--clients", help="comma-separated client names (default: all found)")
    parser.add_argument("--rows", help="comma-separated rows (default: all; import: always)")
    parser.add_argument("--json", default=str(HERE / "results" / "compare.json"))
    parser.add_argument("--markdown", help="default: benchmarks/RESULTS.md (none with --smoke)")
    parser.add_argument("--chart", help="default: benchmarks/results.png (none with --smoke)")
    parser.add_argument("--from-json", help="no run: the report of these raw samples")
    args = parser.parse_args(argv)
    _offline.install()

    sizes = SMOKE if args.smoke else FULL
    wanted = set(args.clients.split(",")) if args.clients else None
    specs = [s for s in SPECS if (wanted is None or s.name in wanted) and s.available]
    missing = [s.name for s in SPECS if (wanted is None or s.name in wanted) and not s.available]
    if missing:
        print("left out (packages not installed here): " + ", ".join(missing))
    if args.from_json:
        results = Results.from_json(json.loads(Path(args.from_json).read_text()))
        specs = [s for s in specs if s.name in results.samples]
    else:
        compile_ours()
        rounds = args.rounds or (1 if args.smoke else 3)
        only = set(args.rows.split(",")) if args.rows else None
        lanes = 2 if args.smoke else 1
        results = run(specs, sizes, rounds, shared=args.smoke, only=only, lanes=lanes)
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results.to_json(), indent=1, ensure_ascii=False))
        print(f"raw samples: {out} ({results.seconds:.0f} s)")

    markdown = args.markdown if args.markdown is not None else _default(args, "RESULTS.md")
    chart = args.chart if args.chart is not None else _default(args, "results.png")
    tables = _report.tables(results, specs, missing)
    print(tables)
    if chart and _report.chart(results, specs, Path(chart)):
        print(f"chart: {chart}")
    if markdown:
        Path(markdown).write_text(
            _report.markdown(results, specs, missing, tables, Path(chart).name if chart else "")
        )
        print(f"report: {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
