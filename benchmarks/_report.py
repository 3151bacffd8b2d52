"""The side-by-side benchmark's report: markdown tables, RESULTS.md and the ratio chart."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from ._clients import BY_NAME, MINIMAL, RAW_HTTPX, RAW_LLM, Spec
from ._rows import expected_requests, row_names

DISTRIBUTIONS = (
    "qwen-dashscope",
    "langchain-core",
    "llama-index-core",
    "httpx",
    "httpx-aiohttp",
    "aiohttp",
    "pydantic",
    "langchain-community",
    "dashscope",
    "langchain-qwq",
    "langchain-openai",
    "openai",
    "llama-index-llms-dashscope",
    "llama-index-embeddings-dashscope",
    "llama-index-llms-openai-like",
    "llama-index-llms-openai",
    "requests",
    "matplotlib",
)

# (metric, column heading, format); the first metric of a row is the one compared with the floor.
METRICS: dict[str, list[tuple[str, str, str]]] = {
    "invoke": [("cpu_ms", "CPU ms/call", ".3f"), ("wall_ms", "wall ms/call", ".2f")],
    "stream": [("cpu_us", "CPU µs/chunk", ".1f"), ("chunks", "chunks yielded", ".0f")],
    "async": [
        ("wall_s", "wall s", ".2f"),
        ("cpu_ms", "CPU ms/call", ".3f"),
        ("warm_wall_s", "warm pool: wall s", ".2f"),
        ("warm_cpu_ms", "warm pool: CPU ms/call", ".3f"),
        ("errors", "errors", ".0f"),
        ("emulator_cpu_s", "emulator CPU s", ".2f"),
        ("rss_mb", "peak RSS MB", ".0f"),
    ],
    "streams": [
        ("wall_s", "wall s", ".2f"),
        ("cpu_ms", "CPU ms/stream", ".2f"),
        ("cpu_us_chunk", "CPU µs/chunk", ".1f"),
        ("emulator_cpu_s", "emulator CPU s", ".2f"),
        ("rss_mb", "peak RSS MB", ".0f"),
    ],
    "import": [("ms", "import ms", ".0f"), ("rss_mb", "RSS MB after import", ".0f")],
    "embed": [
        ("wall_s", "wall s", ".3f"),
        ("requests", "requests", ".0f"),
        ("cpu_ms", "CPU ms", ".0f"),
    ],
}
SUMMARY = {
    "invoke": ("cpu_ms",),
    "stream": ("cpu_us",),
    "async": ("wall_s", "cpu_ms"),
    "streams": ("wall_s", "cpu_ms"),
    "import": ("ms", "rss_mb"),
}
"""The summary table's columns."""
COMPARED = {"async": ("wall_s", "cpu_ms"), "streams": ("wall_s", "cpu_ms")}
"""Rows compared with their floor on two metrics (the others: on their first)."""


def summarize(samples: list[dict[str, Any]], metric: str) -> tuple[float, float, float] | None:
    """(median, min, max) of ``metric`` over the samples that have it."""
    values = [s[metric] for s in samples if isinstance(s.get(metric), (int, float))]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def _kind(row: str) -> str:
    return "async" if row.startswith("async-") else row


def title(row: str, sizes: Any) -> str:
    if row.startswith("async-"):
        n = row.split("-")[1]
        return f"{n} concurrent async calls, each answered after {sizes.latency * 1000:.0f} ms"
    return {
        "invoke": f"Sequential invoke / chat ({sizes.calls} calls): client CPU per call",
        "stream": f"A stream of {sizes.long:,} chunks: client CPU per chunk the emulator sent "
        "(per process, the median of three streams)",
        "streams": f"{sizes.streams} concurrent streams of {sizes.burst} chunks each",
        "import": "Cold import (a fresh interpreter per sample) and peak RSS after it",
        "embed": f"{sizes.texts:,} texts through each embeddings class (sync, one call)",
    }[row]


def compared(row: str) -> tuple[str, ...]:
    kind = _kind(row)
    return COMPARED.get(kind, (METRICS[kind][0][0],))


def floor_of(spec: Spec, row: str) -> str | None:
    return spec.import_floor if row == "import" else spec.floor


def _summary(results: Any, client: str, row: str, metric: str) -> tuple[float, float, float] | None:
    return summarize(results.samples.get(client, {}).get(row, []), metric)


def cannot(results: Any, client: str, row: str) -> bool:
    """The client could not do the row (e.g. it did not stream): its figures compare with
    nothing."""
    return any(s.get("cannot") for s in results.samples.get(client, {}).get(row, []))


def ratio(results: Any, spec: Spec, row: str, metric: str) -> float | None:
    if cannot(results, spec.name, row):
        return None
    floor = floor_of(spec, row)
    ours = _summary(results, spec.name, row, metric)
    base = _summary(results, floor, row, metric) if floor else None
    if ours is None or base is None or base[0] <= 0:
        return None
    return ours[0] / base[0]


def notes(results: Any, spec: Spec, row: str) -> list[str]:
    """The row's notes over all samples (deduplicated), failures counted."""
    samples = results.samples.get(spec.name, {}).get(row, [])
    out: list[str] = []
    failed = [s["failed"] for s in samples if s.get("failed")]
    if failed:
        out.append(f"failed in {len(failed)}/{len(samples)}: {failed[0]}")
    for sample in samples:
        for note in sample.get("notes") or []:
            if note not in out:
                out.append(note)
    expected = expected_requests(row, results.sizes)
    for key, burst in (("requests", ""), ("warm_requests", " (warm pool)")):
        counts = {s[key] for s in samples if key in s and not s.get("failed")}
        if spec.io and expected is not None and row != "embed" and counts and counts != {expected}:
            made = "/".join(str(c) for c in sorted(counts))
            out.append(f"made {made} requests for {expected} calls{burst}")
    out += [note for kind, note in spec.notes if kind in ("*", _kind(row))]
    return out


def _cell(results: Any, client: str, row: str, metric: str, fmt: str, spread: bool) -> str:
    figures = _summary(results, client, row, metric)
    if figures is None:
        return "—"
    median, low, high = figures
    if not spread or low == high:
        return format(median, fmt)
    return f"{median:{fmt}} ({low:{fmt}}–{high:{fmt}})"


def _table(head: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(_plain(cell) for cell in line) + " |" for line in lines]
    return "\n".join(out)


def _plain(cell: str) -> str:
    """One table cell: on one line, its pipes escaped."""
    return " ".join(cell.split()).replace("|", "\\|")


def _label(spec: Spec) -> str:
    return f"**{spec.name}** (ours)" if spec.role == "ours" else spec.name


def summary_tables(results: Any, specs: list[Spec]) -> str:
    """Medians only; a marked cell has a note in the detailed table."""
    chat = [s for s in specs if s.kind == "chat"]
    head = ["client", "framework"]
    columns: list[tuple[str, str, str]] = []
    for row in row_names(results.sizes):
        if row == "embed":
            continue
        for metric, heading, fmt in METRICS[_kind(row)]:
            if metric in SUMMARY[_kind(row)]:
                columns.append((row, metric, fmt))
                head.append(f"{row}: {heading}")
    lines = []
    for spec in chat:
        line = [_label(spec), spec.framework]
        for row, metric, fmt in columns:
            cell = _cell(results, spec.name, row, metric, fmt, spread=False)
            if cannot(results, spec.name, row):
                cell = "n/a"
            if notes(results, spec, row) and metric == METRICS[_kind(row)][0][0]:
                cell += " ⚠"
            line.append(cell)
        lines.append(line)
    text = _table(head, lines)
    embeddings = [s for s in specs if s.kind == "embeddings"]
    if embeddings:
        head = ["embeddings", "framework", "requests", "wall s", "CPU ms", "import ms", "RSS MB"]
        lines = []
        for spec in embeddings:
            line = [_label(spec), spec.framework]
            for row, metric, fmt in (
                ("embed", "requests", ".0f"),
                ("embed", "wall_s", ".3f"),
                ("embed", "cpu_ms", ".0f"),
                ("import", "ms", ".0f"),
                ("import", "rss_mb", ".0f"),
            ):
                cell = _cell(results, spec.name, row, metric, fmt, spread=False)
                if metric == "wall_s" and notes(results, spec, row):
                    cell += " ⚠"
                line.append(cell)
            lines.append(line)
        text += "\n\n" + _table(head, lines)
    return text


def detail_tables(results: Any, specs: list[Spec]) -> str:
    parts = []
    for row in row_names(results.sizes):
        kind = _kind(row)
        members = [s for s in specs if (s.kind == "embeddings") == (row == "embed")]
        if row == "import":
            members = list(specs)
        if not members:
            continue
        head = ["client", *(h for _, h, _ in METRICS[kind]), "× floor", "floor", "notes"]
        lines = []
        for spec in members:
            figures = [
                _cell(results, spec.name, row, metric, fmt, spread=True)
                for metric, _, fmt in METRICS[kind]
            ]
            ratios = [ratio(results, spec, row, metric) for metric in compared(row)]
            shown = " / ".join(f"{r:.2f}" for r in ratios if r is not None) or "—"
            floor = floor_of(spec, row) or "—"
            lines.append(
                [_label(spec), *figures, shown, floor, "; ".join(notes(results, spec, row))]
            )
        parts.append(f"### {title(row, results.sizes)}\n\n" + _table(head, lines))
    return "\n\n".join(parts)


def _median(results: Any, client: str, row: str, metric: str) -> float | None:
    figures = summarize(results.samples.get(client, {}).get(row, []), metric)
    return None if figures is None else figures[0]


def targets_table(results: Any, specs: list[Spec]) -> str:
    """Issue 14's targets for our chat classes, judged on this run's medians."""
    ours = [s for s in specs if s.role == "ours" and s.kind == "chat"]
    sizes = results.sizes
    if not ours or len(sizes.concurrency) < 2:
        return ""
    low, high = f"async-{sizes.concurrency[0]}", f"async-{sizes.concurrency[-1]}"
    latency = sizes.latency

    def floor_ratio(limit: float, row: str) -> Any:
        def check(spec: Spec) -> tuple[float | None, bool]:
            value = ratio(results, spec, row, compared(row)[0])
            return value, value is not None and value <= limit

        return check

    def at_most(limit: float, row: str, metric: str) -> Any:
        def check(spec: Spec) -> tuple[float | None, bool]:
            value = _median(results, spec.name, row, metric)
            return value, value is not None and value <= limit

        return check

    def cpu_not_worse(spec: Spec) -> tuple[float | None, bool]:
        a, b = (_median(results, spec.name, r, "cpu_ms") for r in (low, high))
        return b, a is not None and b is not None and b <= a

    targets = [
        ("invoke / chat CPU ≤ 1.10× floor", floor_ratio(1.10, "invoke"), "{:.2f}×"),
        ("stream CPU per chunk ≤ 1.15× floor", floor_ratio(1.15, "stream"), "{:.2f}×"),
        (
            f"{low}: wall ≤ {1.5 * latency:.2f} s",
            at_most(1.5 * latency, low, "wall_s"),
            "{:.2f} s",
        ),
        (f"{low}: CPU ≤ 0.5 ms/call", at_most(0.5, low, "cpu_ms"), "{:.3f} ms"),
        (
            f"{low}, warm pool: wall ≤ {1.5 * latency:.2f} s",
            at_most(1.5 * latency, low, "warm_wall_s"),
            "{:.2f} s",
        ),
        (f"{low}, warm pool: CPU ≤ 0.5 ms/call", at_most(0.5, low, "warm_cpu_ms"), "{:.3f} ms"),
        (f"{high}: no errors", at_most(0, high, "errors"), "{:.0f}"),
        (
            f"{high}: wall ≤ {3 * latency:.2f} s",
            at_most(3 * latency, high, "wall_s"),
            "{:.2f} s",
        ),
        (
            f"{high}, warm pool: wall ≤ {3 * latency:.2f} s",
            at_most(3 * latency, high, "warm_wall_s"),
            "{:.2f} s",
        ),
        (f"{high}: CPU per call ≤ {low}'s", cpu_not_worse, "{:.3f} ms"),
        ("streams: wall ≤ 2 s", at_most(2.0, "streams", "wall_s"), "{:.2f} s"),
    ]
    # The floors, judged alike: a target their own figures miss is out of any client's reach
    # on this machine (a ratio to the floor is theirs by definition, so not shown).
    floors = [BY_NAME[name] for name in (MINIMAL, RAW_LLM, RAW_HTTPX) if name in results.samples]
    lines = []
    for name, check, fmt in targets:
        line = [name]
        for spec in ours:
            value, ok = check(spec)
            shown = "—" if value is None else fmt.format(value)
            line.append(f"{shown} {'met' if ok else '**missed**'}")
        for spec in floors:
            value, ok = check(spec)
            line.append("—" if value is None else f"{fmt.format(value)} {'' if ok else '(misses)'}")
        lines.append(line)
    head = ["issue 14 target (medians)", *(s.name for s in ours)]
    head += [f"{s.name} (floor)" for s in floors]
    return _table(head, lines)


REASONS: dict[tuple[str, str], str] = {
    ("async", "DashScope (llama-index)"): "it calls aiohttp itself (no httpx layer), with a "
    "new session and connection for every call; ours goes through httpx's API on aiohttp, "
    "which costs more per call when the pool is cold and every call opens a connection "
    "anyway; on the warm pool ours reuses its connections and it cannot (see the warm-pool "
    "columns)",
    ("import", "ChatTongyi"): "both add a few tens of ms to langchain-core's chat-model stack "
    "(the MinimalChat floor); ChatTongyi imports its SDK (dashscope) with its first instance, "
    "ours loads its rules and settings at import",
    ("import", "DashScopeEmbeddings"): "it imports the dashscope SDK with its first instance; "
    "ours loads httpx and the core's rules at import",
    ("import", "DashScope (llama-index)"): "llama-index-core's own import (the RawLLM floor) is "
    "most of both; it imports the dashscope SDK with its first instance",
    ("import", "DashScopeEmbedding (llama-index)"): "llama-index-core's own import (the RawLLM "
    "floor) is most of both; it imports the dashscope SDK with its first instance",
    ("embed", "OpenAIEmbeddings"): "the same requests, one after another; the wall is mostly "
    "the emulator's (it builds every vector): compare the spreads in the embeddings table",
}
"""Why a peer is ahead of ours on a row, where it is (printed under the table)."""


def ahead_table(results: Any, specs: list[Spec]) -> str:
    """Per row and compared metric: the peers whose median beats ours (lower is better)."""
    ours = [s for s in specs if s.role == "ours"]
    peers = [s for s in specs if s.role == "peer"]
    if not ours or not peers:
        return ""

    def applies(spec: Spec, row: str) -> bool:
        return row == "import" or (spec.kind == "embeddings") == (row == "embed")

    lines = []
    reasons: dict[tuple[str, str], str] = {}
    for row in row_names(results.sizes):
        for metric in compared(row):
            heading, fmt = next((h, f) for m, h, f in METRICS[_kind(row)] if m == metric)
            line = [f"{row}: {heading}"]
            for spec in ours:
                mine = _median(results, spec.name, row, metric)
                if not applies(spec, row) or mine is None:
                    line.append("")
                    continue
                ahead = [
                    f"{peer.name} {value:{fmt}}"
                    for peer in peers
                    if applies(peer, row)
                    and peer.kind == spec.kind
                    and not cannot(results, peer.name, row)
                    and (value := _median(results, peer.name, row, metric)) is not None
                    and value < mine
                ]
                line.append(f"{', '.join(ahead)} (ours {mine:{fmt}})" if ahead else "none")
                for text in ahead:
                    peer = next(p.name for p in peers if text.startswith(p.name + " "))
                    reasons.setdefault((_kind(row), peer), REASONS.get((_kind(row), peer), ""))
            lines.append(line)
    text = _table(["row: metric", *(s.name for s in ours)], lines)
    notes = [f"- {row} rows, {peer}: {why}" for (row, peer), why in reasons.items() if why]
    return text + ("\n\nWhy:\n\n" + "\n".join(notes) if notes else "")


def tables(results: Any, specs: list[Spec], missing: list[str]) -> str:
    text = summary_tables(results, specs)
    if targets := targets_table(results, specs):
        text += (
            "\n\n### Issue 14's targets\n\n"
            + targets
            + "\n\nThe floor columns judge the floors alike: a target the raw httpx floor misses "
            "is beyond any client here, one the framework's floor (MinimalChat, RawLLM) misses "
            "is beyond any client of that framework. Async CPU per call includes the "
            "framework's own: langchain-core's `ainvoke` alone (the fake model) costs what the "
            "async rows' *fake model* line shows."
        )
    if ahead := ahead_table(results, specs):
        text += (
            "\n\n### Peers ahead of ours (medians, same kind of class; lower is better)\n\n" + ahead
        )
    text += "\n\n" + detail_tables(results, specs)
    if missing:
        text += "\n\nLeft out (packages not installed): " + ", ".join(missing)
    return text


# ---------------------------------------------------------------------- the chart


def chart_panels(results: Any) -> list[tuple[str, str, str]]:
    panels = []
    for row in row_names(results.sizes):
        for metric in compared(row):
            heading = next(h for m, h, _ in METRICS[_kind(row)] if m == metric)
            panels.append((row, metric, f"{row}: {heading}"))
    return panels


def chart(results: Any, specs: list[Spec], path: Path) -> bool:
    """A PNG of each client's ratio to its floor, one panel per row and metric (False when
    matplotlib is missing: it is installed in the benchmark venv only)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    except ImportError:
        return False
    panels = chart_panels(results)
    columns = 3
    lines = -(-len(panels) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(16, 3.1 * lines), squeeze=False)
    for ax, (row, metric, heading) in zip(axes.flat, panels, strict=False):
        bars = [
            (spec, value)
            for spec in specs
            if spec.role != "floor" and (value := ratio(results, spec, row, metric)) is not None
        ]
        names = [
            spec.name + (" ⚠" if notes(results, spec, row) else "") for spec, _ in reversed(bars)
        ]
        values = [value for _, value in reversed(bars)]
        colours = ["#d35400" if spec.role == "ours" else "#7f8c8d" for spec, _ in reversed(bars)]
        ax.barh(names, values, color=colours)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([0.1, 0.3, 1, 3, 10, 30, 100]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(heading, fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:.2f}×", va="center", fontsize=7)
        if values:
            ax.set_xlim(min(0.5, min(values) / 1.5), max(values) * 3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    figure.suptitle(
        "Client / floor (MinimalChat for LangChain, RawLLM for LlamaIndex, raw httpx for "
        "embeddings; import: the framework's chat stack + httpx). Orange: ours. "
        "Lower is better; ⚠: see the notes.",
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# ---------------------------------------------------------------------- RESULTS.md


def machine() -> dict[str, str]:
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def versions() -> dict[str, str]:
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def markdown(
    results: Any, specs: list[Spec], missing: list[str], text: str, chart_name: str
) -> str:
    sizes = results.sizes
    date = datetime.datetime.fromtimestamp(results.started, datetime.timezone.utc)
    load = " → ".join("/".join(f"{x:.1f}" for x in la) for la in results.load)
    out = [
        "# Side by side: ours, the peers and the floors",
        "",
        "Generated by `make bench` (`python -m benchmarks.compare`); edit the generator, not "
        "this file.",
        "",
        f"Run of {date:%Y-%m-%d %H:%M} UTC, {results.rounds} round(s), "
        f"{results.seconds / 60:.1f} min. Other agents may use this machine's CPU at the "
        f"same time (load average 1/5/15 min, start → end: {load}; 2 cores), so walls and CPU "
        "times carry their noise: read ratios, and the min–max spread, rather than single "
        "figures.",
        "",
        "## Machine",
        "",
        "\n".join(f"- {k}: {v}" for k, v in machine().items()),
        "",
        "## Method",
        "",
        "- One emulator process (`benchmarks/_emulator.py`, the project's `DashScopeEmulator`) "
        "serves the native and the compatible-mode paths on loopback, answering by a marker "
        f"in the prompt: {sizes.latency * 1000:.0f} ms latency, a {sizes.long:,}-chunk "
        f"stream, {sizes.burst}-chunk streams; it counts requests per endpoint.",
        "- Every client runs in its own process, one per (client, row) and round; per row the "
        "clients take turns, in an order rotated each round. Each process first times its "
        "client's cold import (so the import row has one sample per process), then warms "
        "up (a few calls, or one for the async rows, so lazy imports and the first "
        "connection are out of the figure), settles the heap (`gc.collect()`, "
        "`gc.freeze()`: a full collection over the imports' objects, ~70 ms, would "
        "otherwise land in one client's window and not another's by chance) and measures.",
        "- Every package's modules are imported from compiled bytecode: pip compiles the "
        "peers when it installs them, and the run compiles this checkout's (an editable "
        "install is not compiled, and with `PYTHONDONTWRITEBYTECODE` set every process would "
        "compile it again, ~60 ms of the import row).",
        "- The async rows run their burst twice: first on the pool the one warm-up call left "
        "(so the client opens the connections the burst needs, and that CPU is in the "
        "figure), then again at once on the connections the first burst left open (*warm "
        "pool*: a service under a steady load). A client whose pool is smaller than the "
        "burst queues in both.",
        "- CPU is `time.process_time()` of the client process (threads included; the "
        "emulator's CPU is not counted, but shown as *emulator CPU s*: the emulator's own "
        "CPU in the same window, all threads); wall is `time.perf_counter()`. Stream CPU is "
        "per chunk the emulator sent, so a client that yields one chunk gets no credit for "
        "it.",
        "- Floors: `raw httpx` (a POST + `json.loads`, SSE lines + `json.loads`; async: "
        "httpx's API on the aiohttp transport, `httpx-aiohttp`, with no practical connection "
        "cap — in a trial run httpx's own asyncio pool cost ~6 ms CPU per call at 200 "
        "concurrent calls, more than any client), langchain-core's `GenericFakeChatModel` "
        "(no I/O), "
        "`MinimalChat` (raw httpx inside a `BaseChatModel`) and `RawLLM` (raw httpx inside "
        "a LlamaIndex `CustomLLM`) from `benchmarks/bench_langchain.py` / "
        "`bench_llama_index.py`; for embeddings, raw httpx posting 10 texts per request, "
        "one after another. × floor divides a median by the floor's median (two figures: "
        "wall / CPU).",
        "- The emulator is one Python process, so it can bound a wall (compare its CPU with "
        "the wall). Its answers are `DashScopeEmulator.respond`'s, but the benchmark serves "
        "them from one asyncio loop (`benchmarks/_aserver.py`) rather than the emulator's "
        "thread per connection: at 1,000 concurrent calls those threads spent more CPU "
        "contending for the GIL than answering (and bounded every client's wall, the raw "
        "floor's too). It still builds a stream's events before its first byte (~15 µs an "
        "event) and writes each event as its own chunk, so in the concurrent-streams row "
        "the raw httpx floor's wall is about the least any client can get here.",
        "- Nothing leaves loopback: each process has an audit hook refusing (and recording) "
        "any other DNS look-up or connection, tracing/telemetry variables are off "
        "(`LANGSMITH_TRACING=false`, `DO_NOT_TRACK=1`, …), and the dashscope SDK reads "
        "`DASHSCOPE_HTTP_BASE_URL` (set to the emulator).",
        "",
        "## Versions",
        "",
        _table(["package", "version"], [[k, v] for k, v in versions().items()]),
        "",
        "## Results",
        "",
    ]
    if chart_name:
        out += [f"![ratio of each client to its floor]({chart_name})", ""]
    out += [text, ""]
    out += ["## How each client is set up", ""]
    out.append(
        _table(
            ["client", "role", "import timed", "setup"],
            [[s.name, s.role, f"`{s.imports}`", s.setup] for s in specs],
        )
    )
    out.append("")
    if results.defaults:
        out += ["## Set up by default instead", ""]
        rows = [
            [name, BY_NAME[name].defaults, outcome] for name, outcome in results.defaults.items()
        ]
        out += [
            f"Each of these ran once with its defaults ({sizes.probe_texts} texts):",
            "",
            _table(["client", "changed for the run", "with its defaults"], rows),
            "",
        ]
    out += ["## Network", ""]
    if results.network:
        out += [
            f"- {name}: refused {', '.join(sorted(set(attempts)))}"
            for name, attempts in results.network.items()
        ]
    else:
        out.append("No process tried to reach anything but loopback.")
    out.append("")
    if missing:
        out += ["Left out (packages not installed): " + ", ".join(missing), ""]
    return "\n".join(out)
