"""The main job, `make demo`: a streamed answer, a tool call, a thinking model's reasoning, a
structured-output result and the token usage of every call, with LangChain's ChatQwen.

Live against DashScope when DASHSCOPE_API_KEY is set (DASHSCOPE_HTTP_BASE_URL picks the region);
otherwise against the bundled emulator, scripted with examples/emulator-replies.json (the same
rules `python -m qwen_dashscope.testing --replies` serves). The code path is the same; a banner
says which one answers. Environment knobs:

* QWEN_DEMO_MODEL: the chat model (default qwen-plus);
* QWEN_DEMO_CHUNK_DELAY: seconds the emulator waits between two stream events (default 0.03,
  a pace a person can follow; 0 for tests). The live service streams at its own pace.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_qwen import ChatQwen

MODEL = os.environ.get("QWEN_DEMO_MODEL", "qwen-plus")
THINKING_MODEL = "qwen-plus"  # a hybrid model: enable_thinking=True makes it reason first
CHUNK_DELAY = float(os.environ.get("QWEN_DEMO_CHUNK_DELAY", "0.03"))
REPLIES = Path(__file__).resolve().with_name("emulator-replies.json")

RECIPE_PROMPT = "用萝卜、土豆、茄子做一道家常菜，写出食材和做法。"
WEATHER_PROMPT = "杭州今天天气怎么样？"
THINKING_PROMPT = "9.11 和 9.9 哪个大？"
STRUCTURED_PROMPT = "把用萝卜、土豆、茄子做的那道家常菜整理成菜谱卡片。"


@tool
def get_weather(city: str) -> str:
    """Return today's weather for a city."""
    return f"{city}：晴，22°C，东南风 2 级"  # a stand-in for a real weather API


class Recipe(BaseModel):
    """A home-style dish, as a recipe card."""

    name: str = Field(description="菜名")
    ingredients: list[str] = Field(description="用到的食材")
    minutes: int = Field(description="烹饪时间（分钟）")


@contextlib.contextmanager
def backend() -> Iterator[None]:
    """The real service when a key is set, else the emulator with scripted answers."""
    if os.environ.get("DASHSCOPE_API_KEY"):
        from qwen_dashscope import resolve_base_url

        print(f"[live] DashScope at {resolve_base_url()} (DASHSCOPE_API_KEY is set)")
        yield
        return
    from qwen_dashscope.testing import DashScopeEmulator, apply_replies

    with DashScopeEmulator(chunk_delay=CHUNK_DELAY) as emu:
        apply_replies(emu, REPLIES)
        os.environ["DASHSCOPE_API_KEY"] = emu.api_key or "sk-emulator"
        os.environ["DASHSCOPE_HTTP_BASE_URL"] = emu.base_url
        print(
            f"[emulator] no DASHSCOPE_API_KEY set: the bundled emulator at {emu.base_url} "
            f"answers, scripted by {REPLIES.parent.name}/{REPLIES.name}"
        )
        try:
            yield
        finally:
            del os.environ["DASHSCOPE_API_KEY"], os.environ["DASHSCOPE_HTTP_BASE_URL"]


def stream(llm: Any, messages: Any, *, show_reasoning: bool = False) -> AIMessageChunk:
    """Print an answer as it arrives (reasoning first, when the model thinks); the sum of the
    chunks is the whole message, usage included."""
    full: AIMessageChunk | None = None
    state = ""
    for chunk in llm.stream(messages):
        reasoning = chunk.additional_kwargs.get("reasoning_content", "")
        if show_reasoning and reasoning:
            if state != "reasoning":
                print("thinking: ", end="")
                state = "reasoning"
            print(reasoning, end="", flush=True)
        if chunk.content:
            if state == "reasoning":
                print("\nanswer: ", end="")
            state = "answer"
            print(chunk.content, end="", flush=True)
        full = chunk if full is None else full + chunk
    print()
    assert full is not None
    return full


def usage_table(calls: list[tuple[str, BaseMessage]]) -> str:
    """The token usage the service reported for each call, as a small text table."""
    rows = [("call", "input", "output", "reasoning", "total")]
    for name, message in calls:
        usage: Any = getattr(message, "usage_metadata", None) or {}
        details = usage.get("output_token_details") or {}
        rows.append(
            (
                name,
                str(usage.get("input_tokens", "-")),
                str(usage.get("output_tokens", "-")),
                str(details.get("reasoning", "-")),
                str(usage.get("total_tokens", "-")),
            )
        )
    width = [max(len(row[i]) for row in rows) + (0 if i else 2) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(width[0])] + [c.rjust(width[i]) for i, c in enumerate(row) if i]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    calls: list[tuple[str, BaseMessage]] = []
    with backend():
        llm = ChatQwen(model=MODEL)

        print(f"\n== 1. a streamed answer ({MODEL}) ==\n> {RECIPE_PROMPT}")
        calls.append(("1. recipe (stream)", stream(llm, RECIPE_PROMPT)))

        print(f"\n== 2. a tool call, then the answer that uses its result ==\n> {WEATHER_PROMPT}")
        with_tools = llm.bind_tools([get_weather])
        messages: list[BaseMessage] = [HumanMessage(WEATHER_PROMPT)]
        ai = with_tools.invoke(messages)
        calls.append(("2. tool call", ai))
        messages.append(ai)
        for call in ai.tool_calls:
            result = get_weather.invoke(call["args"])
            print(f"tool call: {call['name']}({call['args']}) -> {result}")
            messages.append(ToolMessage(result, tool_call_id=call["id"]))
        calls.append(("2. answer", stream(with_tools, messages)))

        print(f"\n== 3. reasoning ({THINKING_MODEL}, enable_thinking=True) ==\n> {THINKING_PROMPT}")
        thinker = ChatQwen(model=THINKING_MODEL, enable_thinking=True)
        calls.append(("3. thinking", stream(thinker, THINKING_PROMPT, show_reasoning=True)))

        print(
            f"\n== 4. structured output (with_structured_output(Recipe)) ==\n> {STRUCTURED_PROMPT}"
        )
        structured = llm.with_structured_output(Recipe, include_raw=True)
        out: Any = structured.invoke(STRUCTURED_PROMPT)
        recipe: Recipe = out["parsed"]
        print(f"{type(recipe).__name__}: {recipe!r}")
        print(f"  {recipe.name}，{recipe.minutes} 分钟；食材：{'、'.join(recipe.ingredients)}")
        calls.append(("4. structured", out["raw"]))

        print("\n== 5. token usage, as the service reported it ==")
        print(usage_table(calls))
        print(f"request_id of the last call: {out['raw'].response_metadata.get('request_id')}")
    print(f"\ndone in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
