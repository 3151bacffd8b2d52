"""Package boundaries: what importing each package (or using one of its names) loads.

One fresh interpreter per scenario of ``SCENARIOS``: it runs the code, then lists
``sys.modules``; the scenario names the modules that must not be loaded (``name``: the module
and its submodules; ``prefix*``: any module whose name starts so) and those that must be.
The public surfaces (``__all__``) resolve in this process.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import NamedTuple

import pytest

FRAMEWORKS = ("langchain_core", "langchain", "langchain_qwen", "llama_index", "llama_index_qwen")
NOT_LANGCHAIN = ("langchain*",)  # langchain, langchain_core, langchain_qwen, langchain_*...
NOT_LLAMA_INDEX = ("llama_index", "llama_index_qwen")
NOT_PEERS = ("openai", "dashscope")  # the SDKs of the packages ours replace
NOT_RAY = ("ray",)  # an optional extra: not even qwen_dashscope.ray imports it (its workers do)


class Scenario(NamedTuple):
    code: str
    not_loaded: tuple[str, ...]
    loaded: tuple[str, ...] = ()


SCENARIOS = {
    "core": Scenario(
        "import qwen_dashscope",
        (
            *FRAMEWORKS,
            *NOT_RAY,
            # The clients (and httpx) load on first use, so importing an adapter stays cheap.
            "httpx",
            "qwen_dashscope._client",
            "aiohttp",  # loaded lazily, only when an async pool is created
            "qwen_dashscope.testing",
            "qwen_dashscope._jobs",
        ),
    ),
    "core-first-use": Scenario(
        "import qwen_dashscope; qwen_dashscope.DashScopeClient",
        (*FRAMEWORKS, *NOT_RAY),
        ("httpx", "qwen_dashscope._client"),
    ),
    "core-async-client": Scenario(
        "from qwen_dashscope import AsyncDashScopeClient",
        (*FRAMEWORKS, *NOT_RAY, "aiohttp"),  # no pool created yet
        ("httpx",),
    ),
    "core-ray-predictors": Scenario(
        "import qwen_dashscope.ray", (*FRAMEWORKS, *NOT_RAY), ("qwen_dashscope.ray",)
    ),
    "emulator": Scenario("import qwen_dashscope.testing", (*FRAMEWORKS, *NOT_RAY)),
    "langchain_qwen": Scenario(
        "import langchain_qwen",
        (*NOT_LLAMA_INDEX, *NOT_PEERS, *NOT_RAY, "langchain_qwen.chat_models"),  # PEP 562
    ),
    "langchain_qwen-QwenEmbeddings": Scenario(
        "from langchain_qwen import QwenEmbeddings",
        (
            *NOT_LLAMA_INDEX,
            "langchain_qwen.chat_models",
            "langchain_core.language_models.chat_models",  # not the chat-model stack
        ),
    ),
    "langchain_qwen-translator": Scenario(
        "from langchain_qwen.chat_models import ChatQwen\n"
        "from langchain_core.messages.block_translators import get_translator\n"
        "assert get_translator('dashscope') is not None",
        (),
        ("langchain_qwen._blocks",),
    ),
    "langchain_qwen-ChatQwen": Scenario(
        "import langchain_qwen; langchain_qwen.ChatQwen",
        (*NOT_LLAMA_INDEX, *NOT_PEERS, *NOT_RAY),
        ("langchain_qwen.chat_models",),
    ),
    "llama_index_qwen": Scenario("import llama_index_qwen", (*NOT_LANGCHAIN, *NOT_PEERS, *NOT_RAY)),
    "llama_index_qwen-Qwen": Scenario(
        "import llama_index_qwen; llama_index_qwen.Qwen",
        (*NOT_LANGCHAIN, *NOT_PEERS, *NOT_RAY),
        ("llama_index_qwen.llms",),
    ),
    "llama_index_qwen-QwenEmbedding": Scenario(
        "import llama_index_qwen; from llama_index_qwen import QwenEmbedding",
        (*NOT_LANGCHAIN, "llama_index_qwen.llms"),
        ("llama_index_qwen.embeddings",),
    ),
}


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return module.startswith(pattern[:-1])
    return module == pattern or module.startswith(pattern + ".")


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_what_an_import_loads(scenario: Scenario) -> None:
    code = f"import sys\n{scenario.code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(out.stdout.split())
    leaked = {m for m in loaded for p in scenario.not_loaded if _matches(m, p)}
    assert leaked == set(), f"{scenario.code!r} loaded what it must not"
    assert set(scenario.loaded) - loaded == set(), f"{scenario.code!r} did not load these"


@pytest.mark.parametrize("package", ["qwen_dashscope", "langchain_qwen", "llama_index_qwen"])
def test_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, f"{package} exports nothing"
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names missing {name}"
