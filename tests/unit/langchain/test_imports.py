"""The public surface of langchain_qwen, and what importing it pulls in."""

from __future__ import annotations

import subprocess
import sys

import langchain_qwen


def test_public_surface() -> None:
    assert langchain_qwen.__all__ == ["ChatQwen", "QwenEmbeddings"]
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


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_embeddings_alone_do_not_pull_in_the_chat_model_stack() -> None:
    loaded = _loaded_after("from langchain_qwen import QwenEmbeddings")
    assert "langchain_qwen.chat_models" not in loaded
    assert "langchain_core.language_models.chat_models" not in loaded
    assert "langchain_qwen.chat_models" not in _loaded_after("import langchain_qwen")


def test_importing_chat_qwen_registers_its_content_block_translator() -> None:
    code = (
        "from langchain_qwen.chat_models import ChatQwen; "
        "from langchain_core.messages.block_translators import get_translator; "
        "assert get_translator('dashscope') is not None"
    )
    assert "langchain_qwen._blocks" in _loaded_after(code)
