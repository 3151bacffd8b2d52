"""Package boundaries: each adapter imports only its own framework; public surfaces resolve."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("qwen_dashscope", ("langchain_core", "llama_index", "langchain_qwen", "llama_index_qwen")),
        ("langchain_qwen", ("llama_index", "llama_index_qwen")),
        ("llama_index_qwen", ("langchain_core", "langchain", "langchain_qwen")),
    ],
)
def test_no_cross_framework_imports(module: str, forbidden: tuple[str, ...]) -> None:
    loaded = modules_after_import(module)
    leaked = {m for m in loaded for f in forbidden if m == f or m.startswith(f + ".")}
    assert leaked == set()


def test_core_needs_only_httpx_and_pydantic() -> None:
    loaded = modules_after_import("qwen_dashscope")
    assert "aiohttp" not in loaded  # loaded lazily, only when an async pool is created
    assert "qwen_dashscope.testing" not in loaded
    # The clients (and httpx) load on first use, so importing an adapter stays cheap.
    assert "httpx" not in loaded
    assert "qwen_dashscope._client" not in loaded
    # ...and the first use loads them.
    assert "httpx" in modules_after_import("qwen_dashscope; qwen_dashscope.DashScopeClient")


@pytest.mark.parametrize("package", ["qwen_dashscope", "langchain_qwen", "llama_index_qwen"])
def test_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, f"{package} exports nothing"
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names missing {name}"


def test_llama_index_embedding_alone_does_not_load_the_llm_module() -> None:
    loaded = modules_after_import("llama_index_qwen; from llama_index_qwen import QwenEmbedding")
    assert "llama_index_qwen.llms" not in loaded
    assert "llama_index_qwen.embeddings" in loaded
