"""Both adapters write the same Batch API lines for the same inputs (a job id is a digest of
its lines, so the same id means byte-identical JSONL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage

from langchain_qwen import ChatQwen
from llama_index_qwen import Qwen
from qwen_dashscope.testing import DashScopeEmulator

CASES = [
    ("plain", {}),
    ("sampling", {"temperature": 0.3, "max_tokens": 16, "seed": 7}),
    ("thinking asked for", {"enable_thinking": True}),
    ("extension", {"enable_search": True}),
]


@pytest.mark.parametrize(("name", "params"), CASES, ids=[c[0] for c in CASES])
def test_same_lines_from_both_adapters(
    emulator_env: DashScopeEmulator, tmp_path: Path, name: str, params: dict[str, object]
) -> None:
    texts = [("你是分类器。", "萝卜很好吃"), ("你是分类器。", "太咸了")]
    lc = ChatQwen(model="qwen-plus", **params).submit_batch(
        [[SystemMessage(s), HumanMessage(u)] for s, u in texts], jobs_dir=str(tmp_path / "lc")
    )
    li = Qwen(model="qwen-plus", **params).submit_batch(
        [
            [ChatMessage(role="system", content=s), ChatMessage(role="user", content=u)]
            for s, u in texts
        ],
        jobs_dir=str(tmp_path / "li"),
    )
    assert lc.id == li.id
    inputs = [f for f in emulator_env.batches.files if f.startswith("file-batch-")]
    assert len(inputs) == 1  # the second submission found the first job on the service
