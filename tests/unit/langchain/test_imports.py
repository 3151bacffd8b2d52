"""The public surface of langchain_qwen, and what importing it pulls in."""

from __future__ import annotations

import subprocess
import sys

import langchain_qwen


def test_public_surface() -> None:
    assert langchain_qwen.__all__ == [
        "ChatQwen",
        "QwenEmbeddings",
        "QwenMultimodalEmbeddings",
        "QwenRerank",
    ]
    for name in langchain_qwen.__all__:
        assert getattr(langchain_qwen, name).__module__.startswith("langchain_qwen.")


def test_import_does_not_pull_in_llama_index() -> None:
    code = (
        "import sys, langchain_qwen; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('llama_index', 'openai', "
        "'dashscope')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
