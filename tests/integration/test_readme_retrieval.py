"""Run the ```python blocks of the README's "Rerank" and "Multimodal embeddings" sections
against the emulator, in order and in one namespace per section, as a reader would paste them.

Retrieval is not scripted (the emulator's rerank and vectors carry meaning); only the fixture
images' captions are, as the emulator cannot look at pixels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Settings

from qwen_dashscope.testing import DashScopeEmulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    region = text.split(f"<!-- BEGIN {section} quickstart -->")[1]
    region = region.split(f"<!-- END {section} quickstart -->")[0]
    return re.findall(r"```python\n(.*?)```", region, flags=re.DOTALL)


def run(section: str) -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    saved = (Settings._llm, Settings._embed_model)
    try:
        for block in blocks(section):
            exec(compile(block, str(README), "exec"), namespace)
    finally:
        Settings._llm, Settings._embed_model = saved
        namespace.clear()


def test_both_sections_show_both_frameworks() -> None:
    rerank = "\n".join(blocks("rerank"))
    assert "ContextualCompressionRetriever" in rerank and "node_postprocessors" in rerank
    multimodal = "\n".join(blocks("multimodal-embeddings"))
    assert "embed_image" in multimodal and "MultiModalVectorStoreIndex" in multimodal


def test_rerank_section_runs(
    emulator_env: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    run("rerank")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("warranty.md ") and out[1].startswith("claims.md ")
    assert out[2].startswith("[('warranty.md', ")
    endpoints = [r.endpoint for r in emulator_env.requests]
    assert endpoints.count("compat-rerank") == 2


def test_multimodal_section_runs(
    emulator_env: DashScopeEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)  # the README's image paths are relative to the repository
    emulator_env.describe_image(ROOT / "tests/fixtures/images/teapot.png", "a brown clay teapot")
    emulator_env.describe_image(ROOT / "tests/fixtures/images/mountain.png", "a snowy mountain")
    run("multimodal-embeddings")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tests/fixtures/images/teapot.png"
    assert out[1].startswith("tests/fixtures/images/mountain.png ")
