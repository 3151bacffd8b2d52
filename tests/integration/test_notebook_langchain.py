"""Execute notebooks/01_langchain_quickstart.ipynb end to end as a new user would: no key set,
so the notebook starts the emulator itself, scripted by examples/emulator-replies.json.

A cell appended for the test reports what the emulator received. Streams are coalesced (one
output per cell), the embeddings and the usage show as HTML tables, the usage as a chart.
"""

from __future__ import annotations

import json
import os
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

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_langchain_quickstart.ipynb"
REPORT = """
import json
print("REQUESTS=" + json.dumps([
    {"endpoint": r.endpoint, "model": r.model, "stream": r.stream, "messages": r.messages,
     "parameters": r.parameters}
    for r in emulator.requests
], ensure_ascii=False))
emulator.stop()
"""


def test_notebook_is_committed_without_outputs() -> None:
    nb = assert_committed_without_outputs(NOTEBOOK)
    assert "apply_replies" in nb.cells[1].source  # it starts a scripted emulator itself
    assert "萝卜、土豆、茄子" in nb.cells[5].source and "qwen-turbo" in nb.cells[5].source


@pytest.mark.timeout(60)
def test_notebook_runs_offline_with_scripted_answers() -> None:
    assert not any(k.startswith("DASHSCOPE_") for k in os.environ)
    nb = execute(NOTEBOOK, extra_cells=[REPORT])
    assert_streams_coalesced(nb)
    assert_exports_cleanly(nb)
    out, report = text_of(nb).split("REQUESTS=")
    requests = json.loads(report)

    assert "No DASHSCOPE_API_KEY: the offline emulator answers at http://127.0.0.1:" in out
    assert "推荐一道家常的「萝卜土豆烧茄子」" in out  # the recipe is a recipe
    assert "usage: {'input_tokens':" in out
    assert "想炒出脆爽的土豆丝" in out and "request_id: " in out
    assert "- 萝卜水分多" in out and "- 茄子热量很低" in out and "土豆原产于南美" in out
    assert "tool call: get_price {'vegetable': '萝卜'}" in out
    assert "tool call: get_price {'vegetable': '茄子'}" in out
    assert "萝卜 1.5 元一斤，茄子 3.5 元一斤" in out
    assert "Recipe(name='萝卜土豆烧茄子', ingredients=['白萝卜', '土豆'," in out
    assert "thinking: 要比较 9.11 和 9.9。" in out and "\nanswer: 9.9 更大。" in out
    assert "['reasoning', 'text']" in out
    assert "一位女士和她的狗" in out
    assert "closest dish: 红烧茄子" in out
    assert "11 calls: {'input': " in out

    similarity, usage = displayed(nb, "text/html")
    assert similarity.index("红烧茄子") < similarity.index("番茄炒蛋")
    assert usage.count("<tr>") == 12  # the header and the 11 chat calls
    assert "<td>qwen-plus</td><td>9.11 和 9.9 哪个大？</td>" in usage
    assert "(after the tools)" in usage
    assert len(displayed(nb, "image/png")) == 1  # the usage chart

    generations = [r for r in requests if r["endpoint"].endswith("generation")]
    seed = generations[0]
    assert seed["model"] == "qwen-turbo" and seed["stream"]
    answer = next(r for r in generations if r["messages"][-1]["role"] == "tool")
    assert [m["content"] for m in answer["messages"] if m["role"] == "tool"] == ["1.5", "3.5"]
    forced = next(r for r in generations if "tool_choice" in r["parameters"])
    assert forced["parameters"]["tool_choice"]["function"]["name"] == "Recipe"
    vision = next(r for r in generations if r["model"] == "qwen3-vl-plus")
    assert vision["endpoint"] == "multimodal-generation"
    assert {"image": "https://dashscope.oss-cn-beijing.aliyuncs.com/images/dog_and_girl.jpeg"} in (
        vision["messages"][0]["content"]
    )
    embeddings = [r for r in requests if r["endpoint"] == "text-embedding"]
    assert [r["parameters"]["text_type"] for r in embeddings] == ["document", "query"]
