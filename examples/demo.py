"""The main job, `make demo`: stream an answer token by token, make a tool call, print usage.

Live against DashScope when DASHSCOPE_API_KEY is set; otherwise against the bundled emulator
with scripted answers (a banner says so).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_qwen import ChatQwen

MODEL = os.environ.get("QWEN_DEMO_MODEL", "qwen-turbo")
RECIPE_PROMPT = "用萝卜、土豆、茄子做一道家常菜，简要写出做法。"
WEATHER_PROMPT = "杭州今天天气怎么样？"


@tool
def get_weather(city: str) -> str:
    """Return today's weather for a city."""
    return f"{city}：晴，22°C，东南风 2 级"  # a stand-in for a real weather API


@contextlib.contextmanager
def backend() -> Iterator[None]:
    """Use the real service when a key is set, else the emulator with scripted answers."""
    if os.environ.get("DASHSCOPE_API_KEY"):
        print(f"[live] DashScope at {os.environ.get('DASHSCOPE_HTTP_BASE_URL', 'Beijing')}")
        yield
        return
    from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

    with DashScopeEmulator() as emu:
        emu.when(
            lambda r: "萝卜" in r.last_user_text,
            Reply.text(
                "萝卜土豆炖茄子：\n1. 萝卜、土豆切块，茄子切条。\n"
                "2. 热油下葱姜，先炒萝卜和土豆，加水焖十分钟。\n"
                "3. 放入茄子、生抽、少许糖，收汁出锅。"
            ),
        )
        emu.when(
            lambda r: "天气" in r.last_user_text and r.messages[-1].get("role") == "user",
            Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})]),
        )
        emu.when(
            lambda r: r.messages[-1].get("role") == "tool",
            Reply.text("杭州今天晴，22°C，东南风 2 级，适合出行。"),
        )
        os.environ["DASHSCOPE_API_KEY"] = emu.api_key or "sk-emulator"
        os.environ["DASHSCOPE_HTTP_BASE_URL"] = emu.base_url
        print(f"[emulator] no DASHSCOPE_API_KEY set: scripted answers from {emu.base_url}")
        try:
            yield
        finally:
            del os.environ["DASHSCOPE_API_KEY"], os.environ["DASHSCOPE_HTTP_BASE_URL"]


def main() -> int:
    with backend():
        llm = ChatQwen(model=MODEL)

        print(f"\n== 1. streaming ({MODEL}) ==")
        print(f"> {RECIPE_PROMPT}")
        full = None
        for chunk in llm.stream(RECIPE_PROMPT):
            print(chunk.content, end="", flush=True)
            full = chunk if full is None else full + chunk
        print()
        assert full is not None
        print(f"usage: {full.usage_metadata}")

        print("\n== 2. a tool call ==")
        print(f"> {WEATHER_PROMPT}")
        with_tools = llm.bind_tools([get_weather])
        messages: list = [HumanMessage(WEATHER_PROMPT)]
        ai = with_tools.invoke(messages)
        messages.append(ai)
        for call in ai.tool_calls:
            print(f"tool call: {call['name']}({call['args']})")
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
        answer = with_tools.invoke(messages)
        print(answer.content)
        print(f"usage: {answer.usage_metadata}")
        print(f"request_id: {answer.response_metadata.get('request_id')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
