"""Run the README's "Self-hosted Qwen" example against the emulator's flavours: its URLs are
replaced by the flavours' (a random port, so the backend is said, as it would be inferred
from the real default ports)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- BEGIN self-hosted -->")[1].split("<!-- END self-hosted -->")[0]


def test_the_example_runs(
    flavoured: Callable[[str], DashScopeEmulator], capsys: pytest.CaptureFixture[str]
) -> None:
    [code] = re.findall(r"```python\n(.*?)```", section(), flags=re.DOTALL)
    vllm, ollama = flavoured("vllm"), flavoured("ollama")
    code = code.replace('base_url="http://localhost:8000/v1"', f'base_url="{vllm.base_url}"')
    code = code.replace(
        'base_url="http://localhost:11434/v1"', f'base_url="{ollama.base_url}", backend="ollama"'
    )
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert "The user wrote" in lines[0]  # reasoning (the emulator's default for Qwen3)
    assert "total_tokens" in lines[1]
    assert lines[2] == "[emulator] Say hi"
    assert lines[3] == "256"
    assert ollama.requests[-1].parameters["reasoning_effort"] == "none"
    assert vllm.requests[0].parameters["chat_template_kwargs"] == {"enable_thinking": True}
    query = vllm.requests[-1].body or {}
    assert query["input"][0].startswith("Instruct: Given a web search query")


def test_the_server_commands_are_the_documented_ones() -> None:
    text = section()
    for command in (
        "vllm serve Qwen/Qwen3-8B --reasoning-parser qwen3 --enable-auto-tool-choice "
        "--tool-call-parser hermes",
        "python3 -m sglang.launch_server --model-path Qwen/Qwen3-32B-FP8 --tp 1 --port 8000 "
        "--reasoning-parser qwen3 --tool-call-parser qwen25",
        "ollama pull qwen3:8b",
        "llama-server -hf unsloth/Qwen3-8B-GGUF:Q4_K_M --jinja --reasoning-format deepseek",
        "vllm serve Qwen/Qwen3-Embedding-0.6B --runner pooling",
    ):
        assert command in text
