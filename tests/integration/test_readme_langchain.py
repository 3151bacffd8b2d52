"""Run the ```python blocks of the README's LangChain quickstart against the emulator.

The blocks run in order in one namespace, as a reader would paste them. Replies that need a
model's judgement are scripted with rules: the weather tool calls and the structured-output
tool call. Everything else is the emulator's default answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    region = text.split("<!-- BEGIN langchain quickstart -->")[1]
    region = region.split("<!-- END langchain quickstart -->")[0]
    return re.findall(r"```python\n(.*?)```", region, flags=re.DOTALL)


def _tool_names(req: Any) -> set[str]:
    return {t["function"]["name"] for t in req.tools}


def _script(emu: DashScopeEmulator) -> None:
    emu.when(
        lambda r: "get_weather" in _tool_names(r),
        Reply.tool_calls(
            [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_weather", {"city": "上海"})]
        ),
    )
    emu.when(
        lambda r: "Recipe" in _tool_names(r),
        Reply.tool_calls(
            [ToolCall("Recipe", {"name": "萝卜炖土豆", "ingredients": ["萝卜", "土豆"]})]
        ),
    )


def test_quickstart_has_every_topic() -> None:
    code = "\n".join(quickstart_blocks())
    for needle in (
        ".stream(",
        ".invoke(",
        "ainvoke",
        "astream",
        "bind_tools",
        "with_structured_output",
        "enable_thinking=True",
        '"type": "image"',
        "QwenEmbeddings",
    ):
        assert needle in code, needle


def test_quickstart_blocks_run(
    emulator_env: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = emulator_env
    _script(emu)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    for block in quickstart_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out

    assert "[emulator] 用萝卜、土豆、茄子做饭，给我个菜谱" in out
    assert "'input_token_details': {'cache_read': 0}" in out
    assert "[emulator] 写一句关于西湖的诗" in out
    assert "['[emulator] 萝卜', '[emulator] 土豆']" in out
    assert "'args': {'city': '杭州'}" in out and "'args': {'city': '上海'}" in out
    assert "name='萝卜炖土豆' ingredients=['萝卜', '土豆']" in out
    assert "['reasoning', 'text']" in out
    assert "3 512" in out

    generations = [r for r in emu.requests if r.endpoint.endswith("generation")]
    assert generations[0].model == "qwen-turbo" and generations[0].stream
    assert generations[0].parameters["temperature"] == 0.7
    assert any(r.endpoint == "multimodal-generation" for r in generations)
    thinking = [r for r in generations if r.parameters.get("enable_thinking")]
    assert thinking and not thinking[0].stream
