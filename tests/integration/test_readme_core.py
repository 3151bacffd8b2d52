"""Run the README's transport and emulator examples (the ```python blocks outside the
framework quickstarts and the retrieval sections) against the emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator

README = Path(__file__).resolve().parents[2] / "README.md"


def core_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    for framework in (
        "langchain quickstart",
        "llama-index quickstart",
        "rerank quickstart",
        "multimodal-embeddings quickstart",
        "self-hosted",
        "bulk jobs",
    ):
        begin, end = (f"<!-- BEGIN {framework} -->", f"<!-- END {framework} -->")
        text = text.split(begin)[0] + text.split(end)[1]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_there_are_two_core_examples() -> None:
    blocks = core_blocks()
    assert len(blocks) == 2
    assert "DashScopeClient()" in blocks[0] and "DashScopeEmulator()" in blocks[1]


def test_transport_example(emulator_env: DashScopeEmulator) -> None:
    exec(compile(core_blocks()[0], "README.md", "exec"), {})
    endpoints = [r.endpoint for r in emulator_env.requests]
    assert endpoints == ["text-generation", "text-generation", "text-embedding", "compat-rerank"]
    assert emulator_env.requests[2].parameters["text_type"] == "document"


def test_emulator_example(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(core_blocks()[1], "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert "get_weather" in out[0] and "杭州" in out[0]
    assert out[1] == "晴"
    assert "result_format" in out[2]
