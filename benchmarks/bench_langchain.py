"""Client CPU of the LangChain adapter against its floor, and its import cost.

The emulator runs in a separate process (``python -m qwen_dashscope.testing``), so only the
client's CPU is counted (``time.process_time()``). Each figure is the median of 5 interleaved
rounds. For each operation the floor is what any LangChain integration on httpx must spend:

* the raw HTTP work: an ``httpx.Client`` POST of the same request body and ``json.loads`` of
  the answer (for streams: reading the SSE lines and ``json.loads`` of every ``data:`` line);
* langchain-core's own per-call cost: ``GenericFakeChatModel`` (no I/O) answering the same
  text through the same ``invoke`` / ``stream`` machinery (callbacks, message objects).

Targets: ``ChatQwen.invoke`` within 1.2x of the floor; ``ChatQwen.stream`` within 1.3x per
chunk; ``import langchain_qwen`` adds at most 50 ms to ``import langchain_core.language_models``
(fresh interpreters, median).

Measured in the same interleaved run, and printed too: the combined floor (``MinimalChat``,
the floor's two parts done in one call, as they interact for real), and what the literal
targets leave to any integration: ``MinimalChat`` and ``ChatQwen`` on the floor's own HTTP
code, each against the literal floor.

    python benchmarks/bench_langchain.py [--calls 300] [--streams 100] [--strict] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

try:
    from ._emulator import emulator_process
    from ._measure import KEY, PROMPT, body, headers, interleaved, raw_post, raw_stream
except ImportError:  # run as a plain script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks._emulator import emulator_process
    from benchmarks._measure import (
        KEY,
        PROMPT,
        body,
        headers,
        interleaved,
        raw_post,
        raw_stream,
    )

from langchain_qwen import ChatQwen
from qwen_dashscope import DashScopeClient, GenerationChunk, Usage

MESSAGES = [HumanMessage(PROMPT)]
INVOKE_TARGET = 1.2
STREAM_TARGET = 1.3
IMPORT_TARGET_MS = 50.0


def fake_model(answer: AIMessage, chunks: int) -> GenericFakeChatModel:
    """A no-I/O model answering like ours: same usage/metadata; ``chunks`` stream pieces.

    GenericFakeChatModel streams a text split on whitespace (words and spaces separately), so
    the floor's streamed text is ``chunks`` pieces long.
    """
    words = (chunks + 1) // 2
    text = " ".join(["abcd"] * words)
    message = AIMessage(
        text,
        usage_metadata=answer.usage_metadata,
        response_metadata=answer.response_metadata,
    )
    return GenericFakeChatModel(messages=itertools.repeat(message))


Row = tuple[str, float, float, float]


class _FloorChat(ChatQwen):
    """ChatQwen on ``_FloorTransport``."""

    _floor: Any = PrivateAttr(default=None)

    @property
    def _client(self) -> Any:
        return self._floor


def measure(base_url: str, calls: int, streams: int) -> dict[str, list[Row]]:
    """One interleaved run per operation of: the floor's two parts (raw httpx, and
    GenericFakeChatModel), ``MinimalChat`` (the same two parts in one call), ChatQwen on the
    floor's own code as its transport (streams), and ChatQwen."""
    url = base_url + "/services/aigc/text-generation/generation"
    http = httpx.Client()
    llm = ChatQwen(model="qwen-plus", api_key=KEY, base_url=base_url, max_retries=0)
    minimal = MinimalChat(url=url, http=http)
    ideal = _FloorChat(model="qwen-plus", api_key=KEY, base_url=base_url, max_retries=0)
    ideal._floor = _FloorTransport(http, url)

    answer = llm.invoke(MESSAGES)
    n_chunks = sum(1 for _ in llm.stream(MESSAGES))
    fake = fake_model(answer, n_chunks)

    def invoking(model: BaseChatModel) -> Callable[[], int]:
        return lambda: (model.invoke(MESSAGES), 1)[1]

    def streaming(model: BaseChatModel) -> Callable[[], int]:
        return lambda: sum(1 for _ in model.stream(MESSAGES))

    i = interleaved(
        {
            "raw": lambda: raw_post(http, url),
            "fw": invoking(fake),
            "min": invoking(minimal),
            "ours": invoking(llm),
        },
        calls,
    )
    s = interleaved(
        {
            "raw": lambda: raw_stream(http, url),
            "fw": streaming(fake),
            "min": streaming(minimal),
            "ideal": streaming(ideal),
            "ours": streaming(llm),
        },
        streams,
    )
    http.close()
    inv = {name: ms for name, (ms, _) in i.items()}
    per = {name: ms / units for name, (ms, units) in s.items()}  # per event / chunk
    chunks = s["ours"][1]
    literal_i, literal_s = inv["raw"] + inv["fw"], per["raw"] + per["fw"]
    stream_name = f"stream (ms/chunk, {chunks} chunks)"
    return {
        "literal": [
            ("invoke (ms/call)", inv["ours"], literal_i, INVOKE_TARGET),
            (stream_name, per["ours"], literal_s, STREAM_TARGET),
        ],
        "combined": [
            ("invoke (ms/call)", inv["ours"], inv["min"], INVOKE_TARGET),
            (stream_name, per["ours"], per["min"], STREAM_TARGET),
        ],
        "bound": [
            ("MinimalChat.invoke (ms/call)", inv["min"], literal_i, INVOKE_TARGET),
            ("MinimalChat.stream (ms/chunk)", per["min"], literal_s, STREAM_TARGET),
            ("ChatQwen on the floor's code (ms/chunk)", per["ideal"], literal_s, STREAM_TARGET),
        ],
    }


def measure_transport(base_url: str, calls: int, streams: int) -> list[tuple[str, float, float]]:
    """The shared transport alone (DashScopeClient) against the raw HTTP work."""
    url = base_url + "/services/aigc/text-generation/generation"
    http = httpx.Client()
    client = DashScopeClient(api_key=KEY, base_url=base_url, max_retries=0)
    wire = [{"role": "user", "content": PROMPT}]

    def core_invoke() -> int:
        client.generate("qwen-plus", wire)
        return 1

    def core_stream() -> int:
        return sum(1 for _ in client.stream("qwen-plus", wire))

    invokes = interleaved({"raw": lambda: raw_post(http, url), "core": core_invoke}, calls)
    (raw_i, _), (core_i, _) = invokes["raw"], invokes["core"]
    runs = interleaved({"raw": lambda: raw_stream(http, url), "core": core_stream}, streams)
    (raw_s, events), (core_s, chunks) = runs["raw"], runs["core"]
    http.close()
    client.close()
    return [
        ("DashScopeClient.generate vs raw POST (ms/call)", core_i, raw_i),
        ("DashScopeClient.stream vs raw SSE (ms/event)", core_s / chunks, raw_s / events),
    ]


class MinimalChat(BaseChatModel):
    """The least any LangChain integration on httpx can do: raw POST/SSE + ``json.loads``.

    Measured in one call, its HTTP and langchain-core parts pay for each other's cache and
    branch-predictor pollution, which the sum of separately measured parts (the issue's
    literal floor) does not include. ``ahttp`` (an ``httpx.AsyncClient``) gives it real async.
    """

    url: str
    http: Any
    ahttp: Any = None

    @property
    def _llm_type(self) -> str:
        return "minimal"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        request = body(False, messages[-1].text)
        data = json.loads(self.http.post(self.url, json=request, headers=headers(False)).content)
        return _result(data)

    async def _agenerate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        request = body(False, messages[-1].text)
        response = await self.ahttp.post(self.url, json=request, headers=headers(False))
        return _result(json.loads(response.content))

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        request = body(True, messages[-1].text)
        with self.http.stream("POST", self.url, json=request, headers=headers(True)) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    yield _chunk(json.loads(line[5:]))

    async def _astream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = body(True, messages[-1].text)
        async with self.ahttp.stream(
            "POST", self.url, json=request, headers=headers(True)
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield _chunk(json.loads(line[5:]))


def _usage(data: dict[str, Any]) -> UsageMetadata:
    usage = data["usage"]
    return {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }


def _result(data: dict[str, Any]) -> ChatResult:
    """MinimalChat's answer from a native response body."""
    content = data["output"]["choices"][0]["message"]["content"]
    message = AIMessage(content, usage_metadata=_usage(data))
    return ChatResult(generations=[ChatGeneration(message=message)])


def _chunk(data: dict[str, Any]) -> ChatGenerationChunk:
    """MinimalChat's chunk from one native stream event."""
    choice = data["output"]["choices"][0]
    content = choice["message"]["content"]
    if choice["finish_reason"] != "null":
        return ChatGenerationChunk(
            message=AIMessageChunk(content=content, usage_metadata=_usage(data))
        )
    return ChatGenerationChunk(message=AIMessageChunk(content=content))


class _FloorTransport:
    """The literal floor's own raw httpx streaming code, shaped as a transport."""

    def __init__(self, http: Any, url: str) -> None:
        self.http, self.url = http, url

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[GenerationChunk]:
        with self.http.stream("POST", self.url, json=body(True), headers=headers(True)) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                    choice = data["output"]["choices"][0]
                    finish = choice["finish_reason"]
                    yield GenerationChunk(
                        data["request_id"],
                        text=choice["message"]["content"],
                        finish_reason=None if finish == "null" else finish,
                        usage=Usage(1, 1, 2),
                    )


def profile(base_url: str, calls: int) -> None:
    """cProfile of ChatQwen.invoke and .stream (top functions by own time)."""
    llm = ChatQwen(model="qwen-plus", api_key=KEY, base_url=base_url, max_retries=0)
    llm.invoke(MESSAGES)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(calls):
        for _ in llm.stream(MESSAGES):
            pass
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(calls):
        llm.invoke(MESSAGES)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


STACK = (
    "from langchain_core.language_models.chat_models import BaseChatModel; "
    "import langchain_core.embeddings, langchain_core.output_parsers, langchain_core.runnables, "
    "langchain_core.tools, langchain_core.utils.function_calling"
)


def import_cost(runs: int, *, gc_off: bool = False) -> dict[str, float]:
    """Median ms, in fresh interpreters, of each step of importing langchain_qwen.

    ``language_models``: ``import langchain_core.language_models`` (a lazy module in 1.7);
    ``added``: what ``import langchain_qwen`` adds to it (the target), split into ``stack``
    (the langchain-core modules any chat-model integration imports: BaseChatModel pulls in
    the tracers and langsmith), ``transport`` (``qwen_dashscope``) and ``adapter`` (our own
    modules).
    """
    code = (
        ("import gc; gc.disable(); " if gc_off else "")
        + "import time; t0 = time.perf_counter(); import langchain_core.language_models; "
        f"t1 = time.perf_counter(); {STACK}; t2 = time.perf_counter(); import qwen_dashscope; "
        "t3 = time.perf_counter(); import langchain_qwen; t4 = time.perf_counter(); "
        "print((t1 - t0) * 1000, (t4 - t1) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, "
        "(t4 - t3) * 1000, (t4 - t2) * 1000)"
    )
    names = ("language_models", "added", "stack", "transport", "adapter", "after_stack")
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        for name, value in zip(names, out, strict=True):
            samples[name].append(float(value))
    return {name: statistics.median(values) for name, values in samples.items()}


def _table(rows: list[Row]) -> bool:
    """Print rows against their targets; True when one is missed."""
    failed = False
    for name, ours, floor, target in rows:
        ok = ours <= floor * target
        failed |= not ok
        print(
            f"  {name:<40}{ours:>9.3f}{floor:>9.3f}{ours / floor:>8.2f}{target:>8.1f}x  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of ChatQwen")
    args = parser.parse_args(argv)

    with emulator_process() as base_url:
        if args.profile:
            profile(base_url, min(args.calls, 100))
            return 0
        tables = measure(base_url, args.calls, args.streams)
        transport = measure_transport(base_url, args.calls, args.streams)
    imports = import_cost(args.import_runs)
    imports_no_gc = import_cost(args.import_runs, gc_off=True)

    print("Against the literal floor (raw httpx + json.loads, plus GenericFakeChatModel, apart):")
    print(f"  {'operation':<40}{'ours':>9}{'floor':>9}{'ratio':>8}{'target':>9}  result")
    failed = _table(tables["literal"])
    ok = imports["added"] <= IMPORT_TARGET_MS
    failed |= not ok
    print(
        f"  {'import langchain_qwen (ms added)':<40}{imports['added']:>9.1f}"
        f"{imports['language_models']:>9.1f}{'':>8}{IMPORT_TARGET_MS:>7.0f}ms  "
        f"{'PASS' if ok else 'FAIL'}"
    )
    for label, value in (
        ("  added after the chat-model stack", imports["after_stack"]),
        ("  the same, without a full GC pass", imports_no_gc["after_stack"]),
    ):
        print(
            f"  {label:<40}{value:>9.1f}{'':>17}{IMPORT_TARGET_MS:>7.0f}ms  "
            f"{'PASS' if value <= IMPORT_TARGET_MS else 'FAIL'}"
        )
    print(
        "  (langchain_core.language_models is a lazy module in langchain-core 1.7: importing\n"
        "   BaseChatModel loads the tracers and langsmith, which no integration can avoid. A\n"
        "   full GC pass over langchain-core's heap, ~35 ms, often lands inside our import.)"
    )
    print()
    print("Against the combined floor (MinimalChat: raw httpx inside a BaseChatModel, one call):")
    _table(tables["combined"])
    print()
    print("What the literal targets leave to any integration -- the least one can do, against")
    print("the literal floor (MinimalChat; ChatQwen with the floor's own code as its transport):")
    _table(tables["bound"])
    print()
    print("Attribution (no targets):")
    for name, ours, raw in transport:
        print(f"  {name:<52}{ours:>8.3f}{raw:>8.3f}{ours / raw:>7.2f}x")
    print(
        f"  import, ms: langchain-core chat-model stack {imports['stack']:.1f}, "
        f"qwen_dashscope {imports['transport']:.1f}, langchain_qwen's own modules "
        f"{imports['adapter']:.1f}"
    )
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
