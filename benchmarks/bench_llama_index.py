"""Client CPU of the LlamaIndex adapter against its floor, and its import cost.

The emulator runs in a separate process, so only the client's CPU is counted
(``time.process_time()``). For each operation the floor is what any LlamaIndex integration on
httpx must spend:

* the raw HTTP work: an ``httpx.Client`` POST of the same request body, ``json.loads`` of the
  answer (for streams: reading the SSE lines and ``json.loads`` of every ``data:`` line);
* llama-index-core's own per-call cost: an LLM that does no I/O, behind the same
  ``llm_chat_callback`` decorator, building the same kind of ``ChatResponse`` objects.

Targets: ``Qwen.chat`` and ``Qwen.stream_chat`` (per chunk) within 1.3x of the floor;
``import llama_index_qwen`` adds at most 50 ms to ``import llama_index.core.llms`` (fresh
interpreters, median). Each figure is the median of interleaved rounds.

Also printed, to show where the time goes: the combined floor (the same raw httpx work done
inside an LLM behind the same decorators, so the two parts interact as they do for real), the
adapter with no I/O at all (prebuilt transport results) against llama-index-core with no I/O,
and the transport alone against raw httpx.

    python benchmarks/bench_llama_index.py [--calls 600] [--streams 200] [--rounds 10] [--strict]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback

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

from llama_index_qwen import Qwen
from qwen_dashscope import DashScopeClient

MESSAGES = [ChatMessage(role="user", content=PROMPT)]
CHAT_TARGET = STREAM_TARGET = 1.3
IMPORT_TARGET_MS = 50.0


class FloorLLM(CustomLLM):
    """No I/O: the framework's decorators and response objects only."""

    answer: str = ""
    pieces: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name="floor")

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(
            message=ChatMessage(role="assistant", content=self.answer),
            raw={"usage": {"input_tokens": 1, "output_tokens": 1}},
            additional_kwargs={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        )

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for piece in self.pieces:
                text += piece
                yield ChatResponse(
                    message=ChatMessage(role="assistant", content=text),
                    delta=piece,
                    raw={"usage": {"input_tokens": 1, "output_tokens": 1}},
                    additional_kwargs={"prompt_tokens": 1, "completion_tokens": 1},
                )

        return gen()

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        raise NotImplementedError


class RawLLM(FloorLLM):
    """The combined floor: raw httpx I/O inside the same decorators, one ``ChatResponse`` per
    answer or per SSE event (the floor's two parts measured together, as they interact).
    ``ahttp`` (an ``httpx.AsyncClient``) gives it real async."""

    url: str = ""
    http: Any = None
    ahttp: Any = None

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request = body(False, messages[-1].content or "")
        data = json.loads(self.http.post(self.url, json=request, headers=headers(False)).content)
        return _response(data)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request = body(False, messages[-1].content or "")
        response = await self.ahttp.post(self.url, json=request, headers=headers(False))
        return _response(json.loads(response.content))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request = body(True, messages[-1].content or "")

        def gen() -> ChatResponseGen:
            text = ""
            with self.http.stream("POST", self.url, json=request, headers=headers(True)) as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data = json.loads(line[5:])
                        text, piece = _delta(text, data)
                        yield _response(data, text, piece)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        request = body(True, messages[-1].content or "")

        async def gen() -> ChatResponseAsyncGen:
            text = ""
            async with self.ahttp.stream(
                "POST", self.url, json=request, headers=headers(True)
            ) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        data = json.loads(line[5:])
                        text, piece = _delta(text, data)
                        yield _response(data, text, piece)

        return gen()


def _delta(text: str, data: dict[str, Any]) -> tuple[str, str]:
    piece: str = data["output"]["choices"][0]["message"]["content"]
    return text + piece, piece


def _response(
    data: dict[str, Any], text: str | None = None, delta: str | None = None
) -> ChatResponse:
    """RawLLM's ``ChatResponse``: a whole answer, or (``delta`` given) one stream event."""
    if delta is None:
        return ChatResponse(
            message=ChatMessage(
                role="assistant", content=data["output"]["choices"][0]["message"]["content"]
            ),
            raw=data,
            additional_kwargs={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        )
    return ChatResponse(
        message=ChatMessage(role="assistant", content=text),
        delta=delta,
        raw=data,
        additional_kwargs={"prompt_tokens": 1, "completion_tokens": 1},
    )


class _StubTransport:
    """Hands out prebuilt results: no I/O, no parsing."""

    def __init__(self, result: Any, chunks: list[Any]) -> None:
        self.result, self.chunks = result, chunks

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self.result

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        return (chunk for chunk in self.chunks)  # a generator, like the transport


class _StubQwen(Qwen):
    """Qwen on ``_StubTransport``."""

    _stub: Any = PrivateAttr(default=None)

    def _get_client(self) -> Any:
        return self._stub


Row = tuple[str, float, float, float]


def measure(base_url: str, calls: int, streams: int, rounds: int) -> dict[str, list[Row]]:
    url = base_url + "/services/aigc/text-generation/generation"
    http = httpx.Client()
    llm = Qwen(api_key=KEY, base_url=base_url, max_retries=0)
    client = DashScopeClient(api_key=KEY, base_url=base_url, max_retries=0)
    wire = [{"role": "user", "content": PROMPT}]

    answer = llm.chat(MESSAGES).message.content or ""
    pieces = [item.delta or "" for item in llm.stream_chat(MESSAGES)]
    floor_llm = FloorLLM(answer=answer, pieces=pieces)
    raw_llm = RawLLM(url=url, http=http)

    chat = interleaved(
        {
            "raw": lambda: raw_post(http, url),
            "framework": lambda: bool(floor_llm.chat(MESSAGES)),
            "combined": lambda: bool(raw_llm.chat(MESSAGES)),
            "transport": lambda: bool(client.generate("qwen-plus", wire)),
            "ours": lambda: bool(llm.chat(MESSAGES)),
        },
        calls,
        rounds,
    )
    stream = interleaved(
        {
            "raw": lambda: raw_stream(http, url),
            "framework": lambda: sum(1 for _ in floor_llm.stream_chat(MESSAGES)),
            "combined": lambda: sum(1 for _ in raw_llm.stream_chat(MESSAGES)),
            "transport": lambda: sum(1 for _ in client.stream("qwen-plus", wire)),
            "ours": lambda: sum(1 for _ in llm.stream_chat(MESSAGES)),
        },
        streams,
        rounds,
    )
    # No I/O at all: Qwen fed prebuilt transport results, against FloorLLM (the adapter's own
    # cost on top of llama-index-core's).
    result = client.generate("qwen-plus", wire)
    prebuilt = list(client.stream("qwen-plus", wire))
    stub = _StubQwen(api_key=KEY, base_url=base_url)
    stub._stub = _StubTransport(result, prebuilt)
    isolated = interleaved(
        {
            "framework_chat": lambda: bool(floor_llm.chat(MESSAGES)),
            "ours_chat": lambda: bool(stub.chat(MESSAGES)),
            "framework_stream": lambda: sum(1 for _ in floor_llm.stream_chat(MESSAGES)),
            "ours_stream": lambda: sum(1 for _ in stub.stream_chat(MESSAGES)),
        },
        calls * 4,
        rounds,
    )
    http.close()
    llm.close()
    chunks = stream["ours"][1]
    assert all(units == chunks for _, units in stream.values()), stream
    c = {k: v[0] for k, v in chat.items()}
    st = {k: v[0] / chunks for k, v in stream.items()}
    chat_name, stream_name = "chat (ms/call)", f"stream_chat (ms/chunk, {chunks} chunks)"
    return {
        "primary": [
            (chat_name, c["ours"], c["raw"] + c["framework"], CHAT_TARGET),
            (stream_name, st["ours"], st["raw"] + st["framework"], STREAM_TARGET),
        ],
        "combined": [
            (chat_name, c["ours"], c["combined"], CHAT_TARGET),
            (stream_name, st["ours"], st["combined"], STREAM_TARGET),
        ],
        "bound": [
            ("RawLLM.chat (ms/call)", c["combined"], c["raw"] + c["framework"], CHAT_TARGET),
            (
                "RawLLM.stream_chat (ms/chunk)",
                st["combined"],
                st["raw"] + st["framework"],
                STREAM_TARGET,
            ),
        ],
        "isolated": [
            ("chat (ms/call)", isolated["ours_chat"][0], isolated["framework_chat"][0], 0.0),
            (
                "stream_chat (ms/chunk)",
                isolated["ours_stream"][0] / chunks,
                isolated["framework_stream"][0] / chunks,
                0.0,
            ),
        ],
        "transport": [
            ("DashScopeClient.generate (ms/call)", c["transport"], c["raw"], 0.0),
            ("DashScopeClient.stream (ms/chunk)", st["transport"], st["raw"], 0.0),
        ],
    }


def import_cost(runs: int) -> dict[str, float]:
    """Median ms, in fresh interpreters: ``import llama_index.core.llms``, then what
    ``import llama_index_qwen`` adds (the target), then what the first client loads on first
    use (httpx and the transport's client modules, deferred by the package's lazy exports)."""
    code = (
        "import time; t0 = time.perf_counter(); import llama_index.core.llms; "
        "t1 = time.perf_counter(); import llama_index_qwen; t2 = time.perf_counter(); "
        "import httpx; t3 = time.perf_counter(); from qwen_dashscope import DashScopeClient; "
        "t4 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)"
    )
    keys = ("core_llms", "added", "httpx", "client")
    samples: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        for key, value in zip(keys, out, strict=True):
            samples[key].append(float(value) * 1000)
    return {k: statistics.median(v) for k, v in samples.items()}


def _table(rows: list[Row], *, judged: bool) -> bool:
    failed = False
    for name, ours, floor, target in rows:
        ok = ours <= floor * target
        failed |= judged and not ok
        verdict = ("PASS" if ok else "FAIL") if judged and target else ""
        limit = f"{target:>8.1f}x" if target else f"{'':>9}"
        print(f"  {name:<40}{ours:>9.3f}{floor:>9.3f}{ours / floor:>8.2f}{limit}  {verdict}")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    with emulator_process() as base_url:
        tables = measure(base_url, args.calls, args.streams, args.rounds)
    imports = import_cost(args.import_runs)

    header = f"  {'operation':<40}{'ours':>9}{'floor':>9}{'ratio':>8}{'target':>9}  result"
    print("Against the floor (raw httpx + JSON/SSE parse, plus llama-index-core without I/O):")
    print(header)
    failed = _table(tables["primary"], judged=True)
    added = imports["added"]
    ok = added <= IMPORT_TARGET_MS
    failed |= not ok
    print(
        f"  {'import llama_index_qwen (ms added)':<40}{added:>9.1f}{'':>17}"
        f"{IMPORT_TARGET_MS:>7.0f}ms  {'PASS' if ok else 'FAIL'}"
    )
    print()
    print("Against the combined floor (RawLLM: raw httpx inside the same decorators):")
    _table(tables["combined"], judged=True)
    print()
    print("What the literal targets leave to any integration -- the least one can do (RawLLM)")
    print("against the literal floor:")
    _table(tables["bound"], judged=True)
    print()
    print("Where the time goes -- the adapter without I/O (prebuilt transport results) against")
    print("llama-index-core without I/O (FloorLLM):")
    _table(tables["isolated"], judged=False)
    print("-- and the transport alone (qwen_dashscope) against raw httpx + json.loads:")
    _table(tables["transport"], judged=False)
    print(
        "  import ms: llama_index.core.llms {core_llms:.0f} | then llama_index_qwen {added:.1f}"
        " | deferred to the first client: httpx {httpx:.1f} + client modules {client:.1f}".format(
            **imports
        )
    )
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
