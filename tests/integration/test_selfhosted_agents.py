"""One agent, five servers: native DashScope, compatible mode, and the vLLM, SGLang and Ollama
flavours of the emulator. The same LangChain agent (``create_agent``, LangGraph underneath)
and the same LlamaIndex ``FunctionAgent``, with two tools and thinking on, run unchanged
against each; only the connection settings differ. Reasoning, tool calls and usage must come
through intact, and the reasoning must go back in the field each server reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from langchain_qwen import ChatQwen
from llama_index_qwen import Qwen
from qwen_dashscope.testing import DashScopeEmulator, RecordedRequest, Reply, ToolCall

# Third-party warnings of LlamaIndex's agent stack, as in
# tests/integration/llama_index/test_framework.py (workflows reads deprecated
# pydantic attributes through inspect.getmembers(); ctx.is_running inside a step).
LLAMA_INDEX_WARNINGS = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
]


@dataclass(frozen=True)
class Server:
    name: str
    model: str
    reasoning_field: str | None
    """Where the server reads an assistant turn's reasoning back (None: not sent)."""

    def start(
        self, emulator: DashScopeEmulator, flavoured: Callable[[str], DashScopeEmulator]
    ) -> tuple[DashScopeEmulator, dict[str, Any]]:
        """The emulator to script, and the settings that point a model object at it."""
        if self.name == "native":
            return emulator, {"base_url": emulator.base_url, "api_key": emulator.api_key}
        if self.name == "compatible":
            return emulator, {"base_url": emulator.compatible_base_url, "api_key": emulator.api_key}
        emu = flavoured(self.name)
        # The port is random, so the backend is said (on a default port it is inferred).
        return emu, {"base_url": emu.base_url, "backend": emu.backend}

    def thinking_switch(self, request: RecordedRequest) -> Any:
        """Where the request carried enable_thinking=True."""
        body = request.body or {}
        if self.name == "native":
            return body["parameters"].get("enable_thinking")
        if self.name == "compatible":
            return body.get("enable_thinking")
        if self.name == "ollama":
            return "reasoning_effort" not in body  # Ollama thinks unless told "none"
        return body.get("chat_template_kwargs", {}).get("enable_thinking")


SERVERS = [
    Server("native", "qwen-plus", None),
    Server("compatible", "qwen-plus", None),
    Server("vllm", "Qwen/Qwen3-8B", "reasoning"),
    Server("sglang", "Qwen/Qwen3-8B", "reasoning_content"),
    Server("ollama", "qwen3:8b", "reasoning"),
]
IDS = [s.name for s in SERVERS]

CALLS = [
    ToolCall("get_weather", {"city": "Hangzhou"}),
    ToolCall("get_time", {"zone": "Asia/Shanghai"}),
]
ANSWER = "Hangzhou: sunny, 25°C; it is 12:00."


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: sunny, 25°C"


@tool
def get_time(zone: str) -> str:
    """Current time in a time zone."""
    return f"{zone}: 12:00"


def script(emu: DashScopeEmulator) -> None:
    emu.enqueue(
        Reply.tool_calls(CALLS, reasoning="I need the weather and the time."),
        Reply.text(ANSWER, reasoning="Both tools answered."),
    )


def check_the_second_request(server: Server, emu: DashScopeEmulator) -> None:
    first, second = [r for r in emu.requests if r.endpoint != "other"]
    assert server.thinking_switch(first) is True
    assistant = next(m for m in second.messages if m.get("tool_calls"))
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["get_weather", "get_time"]
    if server.reasoning_field is None:
        assert "reasoning" not in assistant and "reasoning_content" not in assistant
    else:
        assert assistant[server.reasoning_field] == "I need the weather and the time."


@pytest.mark.parametrize("server", SERVERS, ids=IDS)
def test_langgraph_agent_with_two_tools_and_thinking(
    server: Server, emulator: DashScopeEmulator, flavoured: Callable[[str], DashScopeEmulator]
) -> None:
    create_agent = pytest.importorskip("langchain.agents").create_agent  # langchain, langgraph: dev

    emu, settings = server.start(emulator, flavoured)
    script(emu)
    llm = ChatQwen(model=server.model, enable_thinking=True, max_retries=0, **settings)
    agent = create_agent(llm, [get_weather, get_time])
    state = agent.invoke({"messages": [HumanMessage("Weather and time in Hangzhou?")]})

    messages = state["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "tool", "ai"]
    assert messages[-1].content == ANSWER
    ais = [m for m in messages if isinstance(m, AIMessage)]
    assert [m.additional_kwargs.get("reasoning_content") for m in ais] == [
        "I need the weather and the time.",
        "Both tools answered.",
    ]
    assert [c["name"] for c in ais[0].tool_calls] == ["get_weather", "get_time"]
    for message in ais:
        assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] > 0
    assert [m.content for m in messages[2:4]] == ["Hangzhou: sunny, 25°C", "Asia/Shanghai: 12:00"]
    check_the_second_request(server, emu)


@pytest.mark.parametrize("server", SERVERS, ids=IDS)
@LLAMA_INDEX_WARNINGS[0]
@LLAMA_INDEX_WARNINGS[1]
@LLAMA_INDEX_WARNINGS[2]
async def test_llama_index_function_agent_with_two_tools_and_thinking(
    server: Server, emulator: DashScopeEmulator, flavoured: Callable[[str], DashScopeEmulator]
) -> None:
    from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult

    def weather(city: str) -> str:
        """Current weather of a city."""
        return f"{city}: sunny, 25°C"

    def clock(zone: str) -> str:
        """Current time in a time zone."""
        return f"{zone}: 12:00"

    emu, settings = server.start(emulator, flavoured)
    emu.enqueue(
        Reply.tool_calls(
            [
                ToolCall("weather", {"city": "Hangzhou"}),
                ToolCall("clock", {"zone": "Asia/Shanghai"}),
            ],
            reasoning="I need the weather and the time.",
        ),
        Reply.text(ANSWER, reasoning="Both tools answered."),
    )
    llm = Qwen(model=server.model, enable_thinking=True, max_retries=0, **settings)
    agent = FunctionAgent(tools=[weather, clock], llm=llm, streaming=True)
    handler = agent.run("Weather and time in Hangzhou?")
    results, thinking, usage = [], [], []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append((event.tool_name, str(event.tool_output.content)))
        elif isinstance(event, AgentStream):
            thinking.append(event.thinking_delta or "")
            if event.raw and isinstance(event.raw, dict) and event.raw.get("usage"):
                usage.append(event.raw["usage"])
    output = await handler
    await llm.aclose()

    assert str(output.response.content) == ANSWER
    assert sorted(results) == [
        ("clock", "Asia/Shanghai: 12:00"),
        ("weather", "Hangzhou: sunny, 25°C"),
    ]
    assert "".join(thinking) == "I need the weather and the time.Both tools answered."
    assert usage and all(u["total_tokens"] > 0 for u in usage)
    first, second = [r for r in emu.requests if r.endpoint != "other"]
    assert server.thinking_switch(first) is True
    assistant = next(m for m in second.messages if m.get("tool_calls"))
    if server.reasoning_field is None:
        assert "reasoning" not in assistant and "reasoning_content" not in assistant
    else:
        assert assistant[server.reasoning_field] == "I need the weather and the time."


@pytest.mark.parametrize("syntax", ["hermes", "xml"])
def test_an_agent_keeps_going_when_the_server_fails_to_parse_a_call(
    flavoured: Callable[[str], DashScopeEmulator], syntax: Any
) -> None:
    create_agent = pytest.importorskip("langchain.agents").create_agent  # langchain, langgraph: dev

    emu = flavoured("vllm")
    emu.enqueue(
        Reply.unparsed_tool_calls([CALLS[0]], syntax=syntax, content="Let me check."),
        Reply.text(ANSWER),
    )
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, max_retries=0)
    state = create_agent(llm, [get_weather, get_time]).invoke(
        {"messages": [HumanMessage("Weather in Hangzhou?")]}
    )
    messages = state["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    recovered = messages[1]
    assert recovered.content == "Let me check.\n\n"
    assert recovered.tool_calls[0]["args"] == {"city": "Hangzhou"}
    assert recovered.response_metadata["tool_calls_recovered"] is True
    assert recovered.response_metadata["finish_reason"] == "tool_calls"
    assert messages[-1].content == ANSWER
