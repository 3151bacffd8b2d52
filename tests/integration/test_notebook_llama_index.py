"""Execute notebooks/02_llama_index_rag.ipynb end to end against the emulator.

The kernel inherits DASHSCOPE_API_KEY / DASHSCOPE_HTTP_BASE_URL from ``emulator_env``. Replies
where the notebook needs a model's judgement are scripted with rules: the answer to the
warranty question, the agent's tool call, and its final answer (with exact usage, so the
token-count cell can be checked). Retrieval is not scripted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._notebooks import assert_committed_without_outputs, run

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_llama_index_rag.ipynb"
WARRANTY = "The TeaBot T1 has a two-year limited warranty covering the heater, motor and board."
ANSWER = "龙井用 80 °C 的水泡 2 分钟。"


def _is_generation(req: Any) -> bool:
    return req.endpoint in ("text-generation", "multimodal-generation")


def test_notebook_is_committed_without_outputs() -> None:
    assert_committed_without_outputs(NOTEBOOK)


@pytest.mark.timeout(120)
def test_notebook_runs_against_the_emulator(emulator_env: DashScopeEmulator) -> None:
    emu = emulator_env
    usage = {"input_tokens": 100, "output_tokens": 10}
    emu.when(
        lambda r: _is_generation(r) and "warranty" in r.last_user_text,
        Reply.text(WARRANTY, usage=usage),
    )
    emu.when(
        lambda r: _is_generation(r) and bool(r.tools) and r.messages[-1]["role"] == "user",
        Reply.tool_calls([ToolCall("steep_time", {"tea": "龙井"})], usage=usage),
    )
    emu.when(
        lambda r: _is_generation(r) and r.messages[-1]["role"] == "tool",
        Reply.text(ANSWER, usage=usage),
    )

    out = run(NOTEBOOK)

    assert "Using DashScope at " + emu.base_url in out  # the environment reached the kernel
    assert "Indexed 5 documents" in out
    assert WARRANTY in out
    sources = out.split("Sources:")[1].splitlines()[0]
    assert sources.lstrip().startswith("['teabot_warranty.md'")  # the relevant file ranks first
    # the rerank table: every retrieved node with its vector and rerank scores
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].split("|")[1:-1] == [
        " node                   ",
        " vector rank ",
        " vector score ",
        " rerank rank ",
        " rerank score ",
    ]
    assert len(table) == 1 + 5
    assert "Reranked first: teabot_warranty.md" in out
    reranks = [r for r in emu.requests if r.endpoint == "compat-rerank"]
    assert len(reranks) == 1 and len(reranks[0].body["documents"]) == 5  # type: ignore[index]
    assert "[tool] steep_time({'tea': '龙井'}) -> 80 °C for 2 minutes" in out
    assert "Answer: " + ANSWER in out
    # three generations (the query and two agent steps), each reporting the scripted usage
    generations = [r for r in emu.requests if _is_generation(r)]
    assert len(generations) == 3
    assert "LLM prompt tokens:     300" in out
    assert "LLM completion tokens: 30" in out
    # the agent fed the tool result back with the id of the call
    last = generations[-1].messages
    assert last[-1]["role"] == "tool"
    assert last[-1]["tool_call_id"] == last[-2]["tool_calls"][0]["id"]
    embeddings = [r for r in emu.requests if r.endpoint == "text-embedding"]
    assert {r.parameters["text_type"] for r in embeddings} == {"document", "query"}
