"""Execute notebooks/01_langchain_quickstart.ipynb end to end against the emulator.

The kernel inherits DASHSCOPE_API_KEY / DASHSCOPE_HTTP_BASE_URL from ``emulator_env``. Replies
where the notebook needs a model's judgement are scripted with rules: the two parallel price
lookups and the answer after them, and the recipe tool call of the structured-output cell.
Everything else (the recipe stream, thinking, images, embeddings) is the emulator's default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._notebooks import assert_committed_without_outputs, run

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_langchain_quickstart.ipynb"
RECIPE = {"name": "土豆烧茄子", "ingredients": ["萝卜", "土豆", "茄子"], "minutes": 25}
PRICES = "萝卜 1.5 元一斤，茄子 3.5 元一斤。"


def _tool_names(req: Any) -> set[str]:
    return {t["function"]["name"] for t in req.tools}


def test_notebook_is_committed_without_outputs() -> None:
    nb = assert_committed_without_outputs(NOTEBOOK)
    assert "萝卜、土豆、茄子" in nb.cells[3].source and "qwen-turbo" in nb.cells[3].source


@pytest.mark.timeout(120)
def test_notebook_runs_against_the_emulator(emulator_env: DashScopeEmulator) -> None:
    emu = emulator_env
    emu.when(
        lambda r: "get_price" in _tool_names(r) and r.messages[-1]["role"] == "user",
        Reply.tool_calls(
            [
                ToolCall("get_price", {"vegetable": "萝卜"}),
                ToolCall("get_price", {"vegetable": "茄子"}),
            ]
        ),
    )
    emu.when(
        lambda r: "get_price" in _tool_names(r) and r.messages[-1]["role"] == "tool",
        Reply.text(PRICES),
    )
    emu.when(lambda r: "Recipe" in _tool_names(r), Reply.tool_calls([ToolCall("Recipe", RECIPE)]))

    out = run(NOTEBOOK)

    assert "Using DashScope at " + emu.base_url in out  # the environment reached the kernel
    assert "[emulator] 用萝卜、土豆、茄子做饭，给我个菜谱" in out  # the streamed seed recipe
    assert "usage: {'input_tokens':" in out
    assert "tool call: get_price {'vegetable': '萝卜'}" in out
    assert "tool call: get_price {'vegetable': '茄子'}" in out
    assert PRICES in out
    assert "name='土豆烧茄子' ingredients=['萝卜', '土豆', '茄子'] minutes=25" in out
    assert "reasoning: The user wrote" in out
    assert "['reasoning', 'text']" in out
    assert "closest dish: 红烧茄子" in out

    generations = [r for r in emu.requests if r.endpoint.endswith("generation")]
    seed = generations[0]
    assert seed.model == "qwen-turbo" and seed.stream
    answer = next(r for r in generations if r.messages[-1]["role"] == "tool")
    tool_results = [m["content"] for m in answer.messages if m["role"] == "tool"]
    assert tool_results == ["1.5", "3.5"]
    vision = next(r for r in generations if r.model == "qwen3-vl-plus")
    assert vision.endpoint == "multimodal-generation"
    assert {"image": "https://dashscope.oss-cn-beijing.aliyuncs.com/images/dog_and_girl.jpeg"} in (
        vision.messages[0]["content"]
    )
    embeddings = [r for r in emu.requests if r.endpoint == "text-embedding"]
    assert [r.parameters["text_type"] for r in embeddings] == ["document", "query"]
