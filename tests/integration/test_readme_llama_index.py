"""Run the ```python blocks of the README's LlamaIndex quickstart against the emulator.

The blocks run in order in one namespace, as a reader would paste them. Replies are scripted
with rules for the quickstart's prompts (the chat answer, the haiku, the agent's tool call and
answer, the RAG answer, the structured-output tool call); retrieval is not scripted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Settings

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

README = Path(__file__).resolve().parents[2] / "README.md"

# Third-party warnings of the agent stack (see tests/integration/llama_index/test_framework.py):
# llama-index-workflows 2.26 + pydantic 2.14.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
]


def quickstart_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    region = text.split("<!-- BEGIN llama-index quickstart -->")[1]
    region = region.split("<!-- END llama-index quickstart -->")[0]
    return re.findall(r"```python\n(.*?)```", region, flags=re.DOTALL)


def _generation(req: Any) -> bool:
    return req.endpoint in ("text-generation", "multimodal-generation")


def _script(emu: DashScopeEmulator) -> None:
    tool_names = lambda req: {t["function"]["name"] for t in req.tools}  # noqa: E731
    emu.when(
        lambda r: _generation(r) and "City" in tool_names(r),
        Reply.tool_calls([ToolCall("City", {"name": "Hangzhou", "province": "Zhejiang"})]),
    )
    emu.when(
        lambda r: _generation(r) and r.messages[-1]["role"] == "tool",
        Reply.text("It is sunny and 25°C in Hangzhou."),
    )
    emu.when(
        lambda r: _generation(r) and "get_weather" in tool_names(r),
        Reply.tool_calls([ToolCall("get_weather", {"city": "Hangzhou"})]),
    )
    emu.when(
        lambda r: _generation(r) and "用一句话介绍杭州" in r.last_user_text,
        Reply.text("杭州是浙江省省会，以西湖闻名。"),
    )
    emu.when(
        lambda r: _generation(r) and "haiku" in r.last_user_text,
        Reply.text(
            "Willows touch the lake / ripples carry the spring light / a boat drifts home", chunks=6
        ),
    )
    emu.when(
        lambda r: _generation(r) and "Where does my API key work?" in r.last_user_text,
        Reply.text("Only in the region where it was created."),
    )


def test_quickstart_has_the_promised_sections() -> None:
    code = "\n".join(quickstart_blocks())
    for needle in ("stream_complete", "FunctionAgent", "QwenEmbedding", "structured_predict"):
        assert needle in code


def test_quickstart_runs(
    emulator_env: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = emulator_env
    _script(emu)
    saved = (Settings._llm, Settings._embed_model)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    try:
        for block in quickstart_blocks():
            exec(compile(block, str(README), "exec"), namespace)
        out = capsys.readouterr().out
    finally:
        for model in (Settings._llm, Settings._embed_model):
            if model is not None and model not in saved and hasattr(model, "close"):
                model.close()  # the quickstart's Qwen and QwenEmbedding
        Settings._llm, Settings._embed_model = saved
        namespace.clear()

    assert "杭州是浙江省省会，以西湖闻名。" in out
    assert "'prompt_tokens':" in out and "'completion_tokens':" in out
    assert "Willows touch the lake / ripples carry the spring light / a boat drifts home" in out
    assert "It is sunny and 25°C in Hangzhou." in out
    assert "Only in the region where it was created." in out
    assert "name='Hangzhou' province='Zhejiang'" in out
    weather_calls = [r for r in emu.requests if _generation(r) and r.messages[-1]["role"] == "tool"]
    assert weather_calls[0].messages[-1]["content"] == "Sunny, 25°C in Hangzhou"
    rag = next(
        r
        for r in emu.requests
        if "Where does my API key work?" in r.last_user_text and _generation(r)
    )
    assert "only work in the region" in rag.last_user_text  # the relevant document was retrieved
