"""Contract suite for ``Qwen`` against the emulator over real loopback HTTP.

Every entry point runs sync and async with one test body. Replies are scripted with
``emulator.enqueue`` where a test needs a particular answer (tool calls, reasoning, errors,
exact usage); otherwise the emulator's deterministic echo answers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, SecretStr

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import (
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)
from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._calls import call, collect

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
USER = [ChatMessage(role="user", content="你好, Qwen")]
LLMFactory = Callable[..., Qwen]
SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"Sunny in {city}"


def get_time(timezone: str) -> str:
    """Current time in a timezone."""
    return f"12:00 in {timezone}"


TOOLS = [FunctionTool.from_defaults(fn=get_weather), FunctionTool.from_defaults(fn=get_time)]
USAGE = {"input_tokens": 321, "output_tokens": 54, "total_tokens": 375}


# -- the eight entry points ---------------------------------------------------------------------


@SYNC
async def test_chat(make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("你好！我是通义千问。", usage=USAGE))
    response = await call(make_llm(), "chat", USER, sync=sync)
    assert response.message.role == "assistant"
    assert response.message.content == "你好！我是通义千问。"
    assert response.delta is None
    assert response.additional_kwargs == {
        "prompt_tokens": 321,
        "completion_tokens": 54,
        "total_tokens": 375,
        "cached_tokens": 0,  # the service reports prompt_tokens_details.cached_tokens
    }
    assert isinstance(response.raw, dict)
    assert response.raw["usage"]["prompt_tokens"] == 321
    assert response.raw["usage"]["input_tokens"] == 321
    assert response.raw["request_id"]
    [request] = emulator.requests
    assert (request.endpoint, request.stream, request.model) == (
        "text-generation",
        False,
        "qwen-plus",
    )
    assert request.messages == [{"role": "user", "content": "你好, Qwen"}]
    assert "max_tokens" not in request.parameters  # never a silent 256


async def test_a_call_may_pick_another_model(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    llm = make_llm()
    llm.chat(USER, model="qwen-turbo", temperature=0.3)
    list(llm.stream_chat(USER, model="qwen-max"))
    await llm.achat(USER, model="qwen-flash")
    assert [r.model for r in emulator.requests] == ["qwen-turbo", "qwen-max", "qwen-flash"]
    assert all("model" not in r.parameters for r in emulator.requests)
    assert emulator.requests[0].parameters["temperature"] == 0.3
    assert llm.model == "qwen-plus"


@SYNC
async def test_stream_chat(make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("Hello there, streaming world!", chunks=5, usage=USAGE))
    items = await collect(make_llm(), "stream_chat", USER, sync=sync)
    assert len(items) >= 5
    assert all(isinstance(item.delta, str) for item in items)
    assert "".join(item.delta or "" for item in items) == "Hello there, streaming world!"
    assert items[-1].message.content == "Hello there, streaming world!"
    assert items[-1].additional_kwargs["completion_tokens"] == 54  # the last item: final usage
    assert items[-1].raw is not None
    assert items[-1].raw["finish_reason"] == "stop"
    assert items[-1].raw["usage"]["prompt_tokens"] == 321
    [request] = emulator.requests
    assert request.stream
    assert request.parameters["incremental_output"] is True


@SYNC
async def test_stream_usage_grows_to_the_final_count(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    four = [ChatMessage(role="user", content="one two three four")]
    items = await collect(make_llm(), "stream_chat", four, sync=sync)
    counts = [item.additional_kwargs["completion_tokens"] for item in items]
    assert counts == sorted(counts)
    final = await call(make_llm(), "chat", four, sync=sync)
    assert counts[-1] == final.additional_kwargs["completion_tokens"] > 0


@SYNC
async def test_complete(make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("Completed.", usage=USAGE))
    response = await call(make_llm(), "complete", "Say it", sync=sync)
    assert response.text == "Completed."
    assert response.additional_kwargs["total_tokens"] == 375
    assert response.raw is not None
    assert response.raw["usage"]["completion_tokens"] == 54
    assert emulator.requests[0].messages == [{"role": "user", "content": "Say it"}]


@SYNC
async def test_stream_complete(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.text("Streamed completion.", chunks=4, usage=USAGE))
    items = await collect(make_llm(), "stream_complete", "Go", sync=sync)
    assert all(isinstance(item.delta, str) for item in items)
    assert "".join(item.delta or "" for item in items) == "Streamed completion."
    assert items[-1].text == "Streamed completion."
    assert items[-1].additional_kwargs["completion_tokens"] == 54


def test_system_prompt_and_history(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    llm = make_llm(system_prompt="Answer in one word.")
    assert llm.predict(PromptTemplateLike("Capital of {country}?"), country="France")
    assert emulator.requests[0].messages == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Capital of France?"},
    ]


def PromptTemplateLike(template: str) -> Any:
    from llama_index.core.prompts import PromptTemplate

    return PromptTemplate(template)


# -- thinking -------------------------------------------------------------------------------


@SYNC
async def test_thinking_chat(make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("42", reasoning="Six times seven."))
    response = await call(make_llm(enable_thinking=True), "chat", USER, sync=sync)
    first, second = response.message.blocks
    assert isinstance(first, ThinkingBlock)
    assert first.content == "Six times seven."
    assert first.num_tokens == response.additional_kwargs["reasoning_tokens"] > 0
    assert second == TextBlock(text="42")
    assert emulator.requests[0].parameters["enable_thinking"] is True


@SYNC
async def test_thinking_stream(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.text("The answer is 42.", reasoning="Let me think about this."))
    items = await collect(
        make_llm(model="qwen3-max", enable_thinking=True), "stream_chat", USER, sync=sync
    )
    thinking = "".join(item.additional_kwargs.get("thinking_delta", "") for item in items)
    assert thinking == "Let me think about this."
    assert "".join(item.delta or "" for item in items) == "The answer is 42."
    assert all(item.delta is not None for item in items)  # "" while reasoning, never None
    block = items[-1].message.blocks[0]
    assert isinstance(block, ThinkingBlock)
    assert block.content == "Let me think about this."


@SYNC
async def test_stream_only_thinking_is_streamed_internally(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    """qwen3 open-source models think by default and only when streaming."""
    emulator.enqueue(Reply.text("Done.", reasoning="Quick thought."))
    response = await call(make_llm(model="qwen3-235b-a22b"), "chat", USER, sync=sync)
    assert response.message.content == "Done."
    assert isinstance(response.message.blocks[0], ThinkingBlock)
    assert response.additional_kwargs["completion_tokens"] > 0
    assert response.raw is not None
    assert (
        response.raw["usage"]["completion_tokens"]
        == response.additional_kwargs["completion_tokens"]
    )
    assert emulator.requests[0].stream


# -- tools ----------------------------------------------------------------------------------


def _weather_and_time() -> Reply:
    return Reply.tool_calls(
        [
            ToolCall("get_weather", {"city": "杭州"}),
            ToolCall("get_time", {"timezone": "Asia/Shanghai"}),
        ]
    )


@SYNC
async def test_chat_with_tools_parallel(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(_weather_and_time())
    llm = make_llm()
    if sync:
        response = llm.chat_with_tools(TOOLS, "Weather and time?", allow_parallel_tool_calls=True)
    else:
        response = await llm.achat_with_tools(
            TOOLS, "Weather and time?", allow_parallel_tool_calls=True
        )
    calls = llm.get_tool_calls_from_response(response)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("get_weather", {"city": "杭州"}),
        ("get_time", {"timezone": "Asia/Shanghai"}),
    ]
    assert all(c.tool_id.startswith("call_") for c in calls)
    assert [c["function"]["name"] for c in response.message.additional_kwargs["tool_calls"]] == [
        "get_weather",
        "get_time",
    ]
    params = emulator.requests[0].parameters
    assert [t["function"]["name"] for t in params["tools"]] == ["get_weather", "get_time"]
    assert params["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert params["parallel_tool_calls"] is True
    assert "tool_choice" not in params


async def test_single_tool_call_kept_without_parallel(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    emulator.enqueue(_weather_and_time())
    llm = make_llm()
    response = llm.chat_with_tools(TOOLS, "Weather and time?")
    assert [c.tool_name for c in llm.get_tool_calls_from_response(response)] == ["get_weather"]
    # Not parallel is the service's default: nothing is sent (as by ChatQwen); allowing it is.
    assert "parallel_tool_calls" not in emulator.requests[0].parameters
    emulator.enqueue(_weather_and_time())
    llm.chat_with_tools(TOOLS, "Weather and time?", allow_parallel_tool_calls=True)
    assert emulator.requests[1].parameters["parallel_tool_calls"] is True


def test_tool_required_with_one_tool_forces_it_by_name(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "Paris"})]))
    llm = make_llm()
    llm.chat_with_tools(TOOLS[:1], "hi", tool_required=True)
    assert emulator.requests[0].parameters["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }


def test_tool_choice_by_name(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_time", {"timezone": "UTC"})]))
    make_llm().chat_with_tools(TOOLS, "hi", tool_choice="get_time")
    assert emulator.requests[0].parameters["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_time"},
    }


def test_tool_required_with_several_tools_sends_required(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_time", {"timezone": "UTC"})]))
    llm = make_llm()
    response = llm.chat_with_tools(TOOLS, "hi", tool_required=True)
    assert emulator.requests[0].parameters["tool_choice"] == "required"
    assert llm.get_tool_calls_from_response(response)[0].tool_name == "get_time"


@SYNC
async def test_forced_tool_on_a_hybrid_sends_thinking_off_and_refuses_explicit_thinking(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "Paris"})]))
    llm = make_llm()  # qwen-plus, thinking left unset
    if sync:
        response = llm.chat_with_tools(TOOLS[:1], "hi", tool_required=True)
    else:
        response = await llm.achat_with_tools(TOOLS[:1], "hi", tool_required=True)
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Paris"}
    params = emulator.requests[0].parameters
    assert params["enable_thinking"] is False
    assert params["tool_choice"]["function"]["name"] == "get_weather"
    # Explicit thinking plus a forced tool is refused before sending, naming the fix (the
    # same rule as ChatQwen.bind_tools), never rewritten.
    thinker = make_llm(enable_thinking=True)
    with pytest.raises(InvalidRequestError, match="enable_thinking=False"):
        if sync:
            thinker.chat_with_tools(TOOLS[:1], "hi", tool_required=True)
        else:
            await thinker.achat_with_tools(TOOLS[:1], "hi", tool_required=True)
    assert thinker.enable_thinking is True  # the instance is untouched
    assert len(emulator.requests) == 1


def test_forced_tool_on_an_always_thinking_model_is_refused(
    make_llm: LLMFactory,
    emulator: DashScopeEmulator,
) -> None:
    llm = make_llm(model="qwen3-30b-a3b-thinking-2507")
    with pytest.raises(InvalidRequestError, match="always thinks") as info:
        llm.chat_with_tools(TOOLS[:1], "hi", tool_required=True)
    assert info.value.param == "tool_choice"
    assert emulator.requests == []
    # Letting the model choose works.
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "Paris"})]))
    response = llm.chat_with_tools(TOOLS[:1], "hi")
    assert llm.get_tool_calls_from_response(response)[0].tool_name == "get_weather"
    assert "tool_choice" not in emulator.requests[0].parameters


@SYNC
async def test_stream_with_split_parallel_tool_calls(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    """Arguments arrive in fragments; every item parses leniently; the end has both calls."""
    emulator.enqueue(_weather_and_time())
    llm = make_llm()
    if sync:
        items = list(llm.stream_chat_with_tools(TOOLS, "both", allow_parallel_tool_calls=True))
    else:
        gen = await llm.astream_chat_with_tools(TOOLS, "both", allow_parallel_tool_calls=True)
        items = [item async for item in gen]
    assert len(items) > 3  # the emulator splits arguments into several fragments
    partial = [
        b.tool_kwargs
        for item in items
        for b in item.message.blocks
        if isinstance(b, ToolCallBlock) and isinstance(b.tool_kwargs, str)
    ]
    assert any(not p.endswith("}") for p in partial)  # really split mid-JSON
    for item in items:
        assert item.delta == ""
        llm.get_tool_calls_from_response(item, error_on_no_tool_call=False)  # never raises
    final = llm.get_tool_calls_from_response(items[-1])
    assert [(c.tool_name, c.tool_kwargs) for c in final] == [
        ("get_weather", {"city": "杭州"}),
        ("get_time", {"timezone": "Asia/Shanghai"}),
    ]
    assert items[-1].raw is not None
    assert items[-1].raw["finish_reason"] == "tool_calls"


def test_no_tool_call_raises_only_when_asked(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    llm = make_llm()
    response = llm.chat_with_tools(TOOLS, "just talk")
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="tool call"):
        llm.get_tool_calls_from_response(response)


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Customer(BaseModel):
    """A customer record."""

    name: str
    address: Address


def test_nested_schema_reaches_the_service(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    emulator.enqueue(Reply.text("ok"))
    tool = FunctionTool.from_defaults(
        fn=lambda **kw: kw, name="save_customer", description="Save", fn_schema=Customer
    )
    make_llm().chat_with_tools([tool], "save Ann from Hangzhou")
    [spec] = emulator.requests[0].tools
    params = spec["function"]["parameters"]
    assert params["required"] == ["name", "address"]
    assert params["$defs"]["Address"]["properties"]["city"] == {"title": "City", "type": "string"}
    assert params["properties"]["address"] == {"$ref": "#/$defs/Address"}


@SYNC
async def test_own_messages_round_trip(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    """The assistant message we produce is sent back exactly as the model sent it."""
    emulator.enqueue(_weather_and_time(), Reply.text("Sunny, noon."))
    llm = make_llm()
    history = [ChatMessage(role="user", content="Weather and time?")]
    first = await call(
        llm, "chat", history, sync=sync, tools=[t.metadata.to_openai_tool() for t in TOOLS]
    )
    model_message = first.raw["output"]["choices"][0]["message"]  # type: ignore[index]
    results = [
        ChatMessage(
            role="tool",
            content=f"result {s.tool_name}",
            additional_kwargs={"tool_call_id": s.tool_id},
        )
        for s in llm.get_tool_calls_from_response(first)
    ]
    second = await call(llm, "chat", [*history, first.message, *results], sync=sync)
    assert second.message.content == "Sunny, noon."
    sent = emulator.requests[1].messages
    # the same calls, minus "index" (a position that only responses carry)
    model_calls = [
        {k: v for k, v in c.items() if k != "index"} for c in model_message["tool_calls"]
    ]
    assert sent[1] == {"role": "assistant", "content": "", "tool_calls": model_calls}
    assert sent[2]["tool_call_id"] == model_message["tool_calls"][0]["id"]
    assert sent[3] == {
        "role": "tool",
        "content": "result get_time",
        "tool_call_id": model_message["tool_calls"][1]["id"],
    }


@SYNC
async def test_streamed_message_round_trips_too(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(_weather_and_time(), Reply.text("ok"))
    llm = make_llm()
    items = await collect(
        llm, "stream_chat", USER, sync=sync, tools=[t.metadata.to_openai_tool() for t in TOOLS]
    )
    selections = llm.get_tool_calls_from_response(items[-1])
    results = [
        ChatMessage(role="tool", content="r", additional_kwargs={"tool_call_id": s.tool_id})
        for s in selections
    ]
    await call(llm, "chat", [*USER, items[-1].message, *results], sync=sync)
    sent = emulator.requests[1].messages[1]
    assert [c["function"] for c in sent["tool_calls"]] == [
        {"name": "get_weather", "arguments": '{"city": "杭州"}'},
        {"name": "get_time", "arguments": '{"timezone": "Asia/Shanghai"}'},
    ]


# -- images ---------------------------------------------------------------------------------


def _image_blocks(tmp_path: Path) -> dict[str, ImageBlock]:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    return {
        "url": ImageBlock(url="https://example.com/cat.png"),
        "path": ImageBlock(path=path),
        "bytes": ImageBlock(image=PNG),
    }


@pytest.mark.parametrize("source", ["url", "path", "bytes"])
@SYNC
async def test_images_go_to_the_multimodal_endpoint(
    make_llm: LLMFactory, emulator: DashScopeEmulator, tmp_path: Path, source: str, sync: bool
) -> None:
    block = _image_blocks(tmp_path)[source]
    message = ChatMessage(role="user", blocks=[block, TextBlock(text="What is this?")])
    response = await call(make_llm(model="qwen3-vl-plus"), "chat", [message], sync=sync)
    assert response.message.content == "[emulator] What is this?"
    [request] = emulator.requests
    assert request.endpoint == "multimodal-generation"
    image, text = request.messages[0]["content"]
    expected = (
        "https://example.com/cat.png"
        if source == "url"
        else "data:image/png;base64," + base64.b64encode(PNG).decode()
    )
    assert image == {"image": expected}
    assert text == {"text": "What is this?"}
    assert response.additional_kwargs["prompt_tokens"] > 256  # the image was counted


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": 5}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"model": "qwen-max", "enable_thinking": True}, "enable_thinking"),
        ({"model": "qwq-plus", "enable_thinking": False}, "enable_thinking"),
    ],
)
async def test_out_of_range_call_values_fail_before_sending(
    make_llm: LLMFactory, emulator: DashScopeEmulator, kwargs: dict[str, Any], name: str
) -> None:
    llm = make_llm()
    messages = [ChatMessage(role="user", content="hi")]
    with pytest.raises(InvalidRequestError, match=name):
        llm.chat(messages, **kwargs)
    with pytest.raises(InvalidRequestError, match=name):
        await llm.achat(messages, **kwargs)
    with pytest.raises(InvalidRequestError, match=name):
        list(llm.stream_chat(messages, **kwargs))
    assert emulator.requests == []


def test_a_tool_named_search_fails_before_sending(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    def search(query: str) -> str:
        """Look something up."""
        return query

    with pytest.raises(InvalidRequestError, match="named 'search'"):
        make_llm().chat_with_tools([FunctionTool.from_defaults(fn=search)], "find it")
    assert emulator.requests == []


def test_image_to_a_text_only_model_fails_before_sending(
    make_llm: LLMFactory, emulator: DashScopeEmulator, tmp_path: Path
) -> None:
    message = ChatMessage(
        role="user", blocks=[_image_blocks(tmp_path)["bytes"], TextBlock(text="?")]
    )
    with pytest.raises(InvalidRequestError, match="vision model"):
        make_llm(model="qwen-max").chat([message])
    assert emulator.requests == []


# -- parameters -----------------------------------------------------------------------------


def test_every_constructor_parameter_reaches_the_request(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    llm = make_llm(
        temperature=0.3,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        seed=42,
        stop=["END"],
        repetition_penalty=1.1,
        presence_penalty=0.5,
        enable_search=True,
        enable_thinking=True,
        thinking_budget=50,
        n=1,
        additional_kwargs={"vl_high_resolution_images": False},
        workspace="ws-123",
        default_headers={"X-Trace": "abc"},
    )
    llm.chat(USER)
    request = emulator.requests[0]
    params = dict(request.parameters)
    params.pop("result_format")
    assert params == {
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
        "max_tokens": 100,
        "seed": 42,
        "stop": ["END"],
        "repetition_penalty": 1.1,
        "presence_penalty": 0.5,
        "enable_search": True,
        "enable_thinking": True,
        "thinking_budget": 50,
        "n": 1,
        "vl_high_resolution_images": False,
    }
    assert request.headers["x-dashscope-workspace"] == "ws-123"
    assert request.headers["x-trace"] == "abc"
    assert request.headers["authorization"] == f"Bearer {emulator.api_key}"


@SYNC
async def test_call_kwargs_override_and_are_validated_before_sending(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = make_llm(temperature=0.3)
    await call(llm, "chat", USER, sync=sync, temperature=1.5, top_k=5)
    assert emulator.requests[0].parameters["temperature"] == 1.5
    assert emulator.requests[0].parameters["top_k"] == 5
    with pytest.raises(InvalidRequestError, match="temperature"):
        await call(llm, "chat", USER, sync=sync, temperature=5)
    with pytest.raises(InvalidRequestError, match="top_p"):
        await collect(llm, "stream_chat", USER, sync=sync, top_p=0)
    assert len(emulator.requests) == 1


def test_environment_configuration(emulator_env: DashScopeEmulator) -> None:
    """Works with no arguments beyond the model when the environment is set."""
    llm = Qwen(model="qwen-turbo")
    try:
        assert llm.complete("hi").text == "[emulator] hi"
    finally:
        llm.close()
    assert emulator_env.requests[0].model == "qwen-turbo"


# -- errors ---------------------------------------------------------------------------------


@SYNC
async def test_service_errors_are_typed_with_request_id(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."))
    with pytest.raises(RateLimitError) as info:
        await call(make_llm(), "chat", USER, sync=sync)
    assert info.value.status_code == 429
    assert info.value.code == "Throttling.RateQuota"
    assert info.value.request_id


@SYNC
async def test_errors_inside_a_stream_are_raised(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.error(500, "InternalError", "boom", in_stream=True, after_chunks=2))
    received: list[ChatResponse] = []
    with pytest.raises(ServerError) as info:
        if sync:
            for item in make_llm().stream_chat(USER):
                received.append(item)
        else:
            async for item in await make_llm().astream_chat(USER):
                received.append(item)
    assert len(received) == 2
    assert info.value.code == "InternalError"
    assert info.value.request_id


@SYNC
async def test_a_dropped_stream_is_an_error_not_a_short_answer(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.drop(after_chunks=2))
    with pytest.raises(APIConnectionError):
        await collect(make_llm(), "stream_chat", USER, sync=sync)


@SYNC
async def test_rejected_key_never_appears_in_the_error(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    secret = "sk-wrong-but-secret-42"
    llm = make_llm(api_key=secret)
    with pytest.raises(AuthenticationError) as info:
        await call(llm, "chat", USER, sync=sync)
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert info.value.request_id


def test_transport_settings_reach_the_clients(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    llm = make_llm(max_retries=5, timeout=7)
    for client in (llm._get_client(), llm._get_aclient()):
        assert client.max_retries == 5
        assert client.timeouts.read == 7
        assert client.base_url == emulator.base_url
    singapore = "https://dashscope-intl.aliyuncs.com/api/v1"
    for obj in (
        make_llm(base_url=None, region="singapore"),
        QwenEmbedding(api_key="k", region="singapore"),
    ):
        assert obj._get_client().base_url == obj._get_aclient().base_url == singapore


async def test_a_copy_with_other_settings_uses_them(
    make_emulator: Callable[..., DashScopeEmulator],
    make_llm: LLMFactory,
    emulator: DashScopeEmulator,
) -> None:
    llm = make_llm()
    llm.chat(USER)
    other = make_emulator(api_key="sk-other")
    copy = llm.model_copy(update={"base_url": other.base_url, "api_key": SecretStr("sk-other")})
    copy.chat(USER)
    await copy.achat(USER)
    assert len(other.requests) == 2
    llm.chat(USER)  # the original keeps its own settings
    assert len(emulator.requests) == 2


@SYNC
async def test_several_choices_all_reach_the_response(sync: bool) -> None:
    import httpx

    body = {
        "output": {
            "choices": [
                {
                    "index": i,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": t},
                }
                for i, t in enumerate(["A", "B"])
            ]
        },
        "usage": {"input_tokens": 2, "output_tokens": 2, "total_tokens": 4},
        "request_id": "rid-n",
    }
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=body)

    transport = httpx.MockTransport(answer)
    llm = Qwen(
        api_key="sk-x",
        n=2,
        http_client=httpx.Client(transport=transport),
        async_http_client=httpx.AsyncClient(transport=transport),
    )
    response = await call(llm, "chat", USER, sync=sync)
    assert sent[0]["parameters"]["n"] == 2
    assert response.message.content == "A"
    assert [m.content for m in response.additional_kwargs["choices"]] == ["A", "B"]


@SYNC
async def test_several_choices_cannot_be_streamed(
    make_llm: LLMFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = make_llm()
    with pytest.raises(InvalidRequestError, match="n=3"):
        if sync:
            llm.stream_chat(USER, n=3)
        else:
            await llm.astream_chat(USER, n=3)
    assert emulator.requests == []
