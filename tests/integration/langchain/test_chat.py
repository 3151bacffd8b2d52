"""ChatQwen against the DashScope emulator over loopback HTTP.

Where a test needs a model's decision (a tool call, a JSON answer) the reply is scripted with
``emulator.enqueue(...)``; what is checked is what ChatQwen sends and how it turns the answer into
LangChain objects.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, SecretStr

import qwen_dashscope._client
from langchain_qwen import ChatQwen, QwenEmbeddings
from qwen_dashscope import Timeouts
from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._calls import add_up, call, chat_qwen, collect, qwen_embeddings

TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MM_PATH = "/api/v1/services/aigc/multimodal-generation/generation"


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: 晴, 25°C"


@tool
def get_time(zone: str) -> str:
    """Current time in an IANA time zone."""
    return f"{zone}: 12:00"


class Recipe(BaseModel):
    """A dish."""

    name: str
    ingredients: list[str]


RECIPE = {"name": "土豆炖茄子", "ingredients": ["萝卜", "土豆", "茄子"]}


# ------------------------------------------------------------------------ parameters


@pytest.mark.parametrize("sync", [True, False])
async def test_every_constructor_parameter_reaches_the_request(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(
        emulator,
        temperature=0.3,
        top_p=0.9,
        top_k=50,
        max_tokens=300,
        seed=42,
        stop=["END"],
        repetition_penalty=1.1,
        presence_penalty=0.5,
        enable_search=True,
        search_options={"forced_search": True, "search_strategy": "turbo"},
        enable_thinking=False,
        thinking_budget=500,
        response_format={"type": "json_object"},
        logprobs=True,
        top_logprobs=2,
        model_kwargs={"vl_high_resolution_images": False},
        workspace="ws-123",
        default_headers={"X-Trace": "abc"},
        timeout=Timeouts(connect=3, read=30),
        max_retries=0,
    )
    await call(llm, "invoke", "Answer in JSON", sync=sync)
    request = emulator.requests[-1]
    assert request.model == "qwen-plus"
    assert request.parameters == {
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 50,
        "max_tokens": 300,
        "seed": 42,
        "stop": ["END"],
        "repetition_penalty": 1.1,
        "presence_penalty": 0.5,
        "enable_search": True,
        "search_options": {"forced_search": True, "search_strategy": "turbo"},
        "enable_thinking": False,
        "thinking_budget": 500,
        "response_format": {"type": "json_object"},
        "logprobs": True,
        "top_logprobs": 2,
        "vl_high_resolution_images": False,
        "result_format": "message",
    }
    assert request.headers["x-dashscope-workspace"] == "ws-123"
    assert request.headers["x-trace"] == "abc"
    client = llm._client if sync else llm._async_client
    assert client.timeouts == Timeouts(connect=3, read=30)
    assert client.max_retries == 0
    assert client.settings.workspace == "ws-123"


@pytest.mark.parametrize("sync", [True, False])
async def test_call_kwargs_override_and_stream_parameters(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator, temperature=0.3, stop=["END"])
    await collect(
        llm, "stream", "hi", sync=sync, temperature=1.2, stop=["STOP"], model="qwen-turbo", seed=7
    )
    request = emulator.requests[-1]
    assert request.stream is True
    assert request.model == "qwen-turbo"
    assert request.parameters == {
        "temperature": 1.2,
        "stop": ["STOP"],
        "seed": 7,
        "result_format": "message",
        "incremental_output": True,
    }


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": 5}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"n": 0}, "n"),
        ({"model": "qwen-max", "enable_thinking": True}, "enable_thinking"),
        ({"model": "qwq-plus", "enable_thinking": False}, "enable_thinking"),
    ],
)
async def test_out_of_range_call_values_are_rejected_before_any_request(
    emulator: DashScopeEmulator, sync: bool, kwargs: dict[str, Any], name: str
) -> None:
    llm = chat_qwen(emulator)
    with pytest.raises(ValueError, match=name):
        await call(llm, "invoke", "hi", sync=sync, **kwargs)
    with pytest.raises(ValueError, match=name):
        await collect(llm, "stream", "hi", sync=sync, **kwargs)
    with pytest.raises(ValueError, match="temperature"):
        chat_qwen(emulator, temperature=2)
    assert emulator.requests == []


# ------------------------------------------------------------------------ streaming


@pytest.mark.parametrize("sync", [True, False])
async def test_stream_streams_without_any_flag(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("萝卜土豆茄子炖一锅", chunks=5))
    chunks = await collect(chat_qwen(emulator), "stream", "做菜", sync=sync)
    assert [c.content for c in chunks] == ["萝卜", "土豆", "茄子", "炖一", "锅", ""]
    assert emulator.requests[-1].stream is True
    assert [bool(c.usage_metadata) for c in chunks] == [False] * 5 + [True]
    assert chunks[-1].chunk_position == "last"
    full = add_up(chunks)
    assert full.content == "萝卜土豆茄子炖一锅"
    assert full.response_metadata["model_name"] == "qwen-plus"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_provider"] == "dashscope"
    assert full.response_metadata["request_id"] == full.id


@pytest.mark.parametrize("sync", [True, False])
async def test_stream_usage_can_be_turned_off(emulator: DashScopeEmulator, sync: bool) -> None:
    chunks = await collect(chat_qwen(emulator, stream_usage=False), "stream", "hi", sync=sync)
    assert all(c.usage_metadata is None for c in chunks)
    chunks = await collect(chat_qwen(emulator), "stream", "hi", sync=sync, stream_usage=False)
    assert all(c.usage_metadata is None for c in chunks)


@pytest.mark.parametrize("sync", [True, False])
async def test_streaming_true_serves_invoke_by_streaming(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = Tokens()
    emulator.enqueue(Reply.text("one two three", chunks=3))
    message = await call(
        chat_qwen(emulator, streaming=True),
        "invoke",
        "count",
        sync=sync,
        config={"callbacks": [handler]},
    )
    assert emulator.requests[-1].stream is True
    assert message.content == "one two three"
    assert message.usage_metadata["output_tokens"] == 3
    tokens = [t for t in handler.tokens if t]
    assert len(tokens) == 3
    assert "".join(tokens) == "one two three"


@pytest.mark.parametrize("sync", [True, False])
async def test_invoke_usage_and_metadata(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.text("好的", usage={"prompt_tokens_details": {"cached_tokens": 2}}))
    message = await call(chat_qwen(emulator), "invoke", "你好，请回答", sync=sync)
    assert emulator.requests[-1].stream is False
    assert message.usage_metadata["input_token_details"] == {"cache_read": 2}
    assert message.usage_metadata["total_tokens"] == (
        message.usage_metadata["input_tokens"] + message.usage_metadata["output_tokens"]
    )
    assert set(message.response_metadata) == {
        "model_name",
        "finish_reason",
        "request_id",
        "model_provider",
    }


@pytest.mark.parametrize("sync", [True, False])
async def test_batch(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = chat_qwen(emulator)
    prompts = ["萝卜", "土豆", "茄子"]
    results = await call(llm, "batch", prompts, sync=sync)
    assert [r.content for r in results] == [f"[emulator] {p}" for p in prompts]


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize("sync", [True, False])
async def test_errors_surface_typed_with_request_id(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator, max_retries=0)
    emulator.enqueue(Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."))
    with pytest.raises(qwen_dashscope.RateLimitError) as info:
        await call(llm, "invoke", "hi", sync=sync)
    assert info.value.status_code == 429
    assert info.value.code == "Throttling.RateQuota"
    assert info.value.request_id

    emulator.enqueue(
        Reply.error(
            400,
            "DataInspectionFailed",
            "Output data may contain inappropriate content.",
            in_stream=True,
            after_chunks=2,
        )
    )
    seen: list[Any] = []
    with pytest.raises(qwen_dashscope.ContentFilterError) as stream_info:
        if sync:
            for chunk in llm.stream("hello there my friend"):
                seen.append(chunk)
        else:
            async for chunk in llm.astream("hello there my friend"):
                seen.append(chunk)
    assert len(seen) == 2
    assert stream_info.value.request_id


@pytest.mark.parametrize("sync", [True, False])
async def test_retries_then_succeeds(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.error(500, "InternalError", "boom"), Reply.text("ok"))
    llm = chat_qwen(emulator, max_retries=1)
    with pytest.MonkeyPatch.context() as patch:  # no real backoff sleeps in tests
        patch.setattr(qwen_dashscope._client, "backoff", lambda attempt: 0.0)
        message = await call(llm, "invoke", "hi", sync=sync)
    assert message.content == "ok"
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("sync", [True, False])
async def test_api_key_never_in_errors(emulator: DashScopeEmulator, sync: bool) -> None:
    secret = "sk-wrong-0123456789abcdef"
    llm = chat_qwen(emulator, api_key=secret, max_retries=0)
    with pytest.raises(qwen_dashscope.AuthenticationError) as info:
        await call(llm, "invoke", "hi", sync=sync)
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in repr(info.value.body)
    assert secret not in repr(llm)
    assert info.value.request_id


# ------------------------------------------------------------------------ reasoning


@pytest.mark.parametrize("sync", [True, False])
async def test_reasoning_with_tool_calls(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = chat_qwen(emulator, enable_thinking=True).bind_tools([get_weather, get_time])
    reply = Reply.tool_calls(
        [
            ToolCall("get_weather", {"city": "杭州"}),
            ToolCall("get_time", {"zone": "Asia/Shanghai"}),
        ],
        reasoning="用户问杭州的天气和时间，我需要调用两个工具。",
    )
    emulator.enqueue(reply, reply)
    message = await call(llm, "invoke", "杭州天气和时间？", sync=sync)
    assert emulator.requests[-1].parameters["enable_thinking"] is True
    full = add_up(await collect(llm, "stream", "杭州天气和时间？", sync=sync))
    for result in (message, full):
        reasoning = result.additional_kwargs["reasoning_content"]
        assert reasoning == "用户问杭州的天气和时间，我需要调用两个工具。"
        assert [(c["name"], c["args"]) for c in result.tool_calls] == [
            ("get_weather", {"city": "杭州"}),
            ("get_time", {"zone": "Asia/Shanghai"}),
        ]
        assert result.response_metadata["finish_reason"] == "tool_calls"
        blocks = result.content_blocks
        assert blocks[0] == {"type": "reasoning", "reasoning": reasoning}
        assert [b["name"] for b in blocks if b["type"] == "tool_call"] == [
            "get_weather",
            "get_time",
        ]
        assert result.usage_metadata["output_token_details"]["reasoning"] > 0


@pytest.mark.parametrize("sync", [True, False])
async def test_stream_only_thinking_is_served_by_streaming(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    # qwen3-235b-a22b thinks by default and only in streaming calls: invoke still works.
    message = await call(chat_qwen(emulator, model="qwen3-235b-a22b"), "invoke", "1+1?", sync=sync)
    assert emulator.requests[-1].stream is True
    assert message.content == "[emulator] 1+1?"
    assert message.additional_kwargs["reasoning_content"]
    assert message.content_blocks[0]["type"] == "reasoning"


@pytest.mark.parametrize("sync", [True, False])
async def test_output_version_v1(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = chat_qwen(emulator, enable_thinking=True, output_version="v1")
    message = await call(llm, "invoke", "hello", sync=sync)
    assert [b["type"] for b in message.content] == ["reasoning", "text"]
    chunks = await collect(llm, "stream", "hello", sync=sync)
    assert chunks[-1].chunk_position == "last"
    full = add_up(chunks)
    assert [b["type"] for b in full.content] == ["reasoning", "text"]
    assert full.content[1]["text"] == "[emulator] hello"


# ------------------------------------------------------------------------ images


@pytest.mark.parametrize("sync", [True, False])
async def test_images_go_to_the_multimodal_endpoint(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    await call(chat_qwen(emulator, model="qwen-plus"), "invoke", "纯文本", sync=sync)
    assert emulator.requests[-1].path == TEXT_PATH

    message = HumanMessage(
        content=[
            {"type": "text", "text": "描述这两张图"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
        ]
    )
    answer = await call(chat_qwen(emulator, model="qwen3-vl-plus"), "invoke", [message], sync=sync)
    request = emulator.requests[-1]
    assert request.path == MM_PATH
    assert request.messages == [
        {
            "role": "user",
            "content": [
                {"text": "描述这两张图"},
                {"image": "https://example.com/a.png"},
                {"image": "data:image/png;base64,iVBORw0KGgo="},
            ],
        }
    ]
    assert answer.usage_metadata["input_tokens"] > 2 * 256  # images were counted

    count = len(emulator.requests)
    with pytest.raises(ValueError, match="does not take images"):
        await call(chat_qwen(emulator, model="qwen-plus"), "invoke", [message], sync=sync)
    assert len(emulator.requests) == count


# ------------------------------------------------------------------------ tools


@pytest.mark.parametrize("sync", [True, False])
async def test_tool_history_from_any_source_is_sent_back(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    from langchain_core.messages import ToolMessage

    history: list[BaseMessage] = [
        HumanMessage("杭州天气？"),
        AIMessage(
            [
                {"type": "text", "text": "查一下"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "杭州"},
                },
            ]
        ),
        ToolMessage("晴", tool_call_id="toolu_1"),
    ]
    answer = await call(chat_qwen(emulator).bind_tools([get_weather]), "invoke", history, sync=sync)
    assert answer.content == "[emulator] tool results: 晴"
    assert emulator.requests[-1].messages[1:] == [
        {
            "role": "assistant",
            "content": "查一下",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "杭州"}'},
                }
            ],
        },
        {"role": "tool", "content": "晴", "tool_call_id": "toolu_1"},
    ]


@pytest.mark.parametrize("sync", [True, False])
async def test_forced_tool_choice_on_the_wire(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "北京"})]))
    message = await call(
        chat_qwen(emulator).bind_tools([get_weather], tool_choice="any"),
        "invoke",
        "北京呢",
        sync=sync,
    )
    assert emulator.requests[-1].parameters["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }
    assert message.tool_calls[0]["args"] == {"city": "北京"}


@pytest.mark.parametrize("sync", [True, False])
async def test_agent_loop_with_two_tools(emulator: DashScopeEmulator, sync: bool) -> None:
    create_agent = pytest.importorskip("langchain.agents").create_agent  # langchain, langgraph: dev

    emulator.enqueue(
        Reply.tool_calls(
            [
                ToolCall("get_weather", {"city": "杭州"}),
                ToolCall("get_time", {"zone": "Asia/Shanghai"}),
            ]
        ),
        Reply.text("杭州晴，25°C，现在 12:00。"),
    )
    agent = create_agent(chat_qwen(emulator), [get_weather, get_time])
    question = {"messages": [HumanMessage("杭州现在天气和时间？")]}
    state = await call(agent, "invoke", question, sync=sync)
    messages = state["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "tool", "ai"]
    assert messages[-1].content == "杭州晴，25°C，现在 12:00。"
    first, second = emulator.requests
    assert {t["function"]["name"] for t in first.tools} == {"get_weather", "get_time"}
    calls = second.messages[1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert second.messages[2:] == [
        {"role": "tool", "content": "杭州: 晴, 25°C", "tool_call_id": calls[0]["id"]},
        {"role": "tool", "content": "Asia/Shanghai: 12:00", "tool_call_id": calls[1]["id"]},
    ]
    assert second.tools == first.tools


# ------------------------------------------------------------------------ structured


class _Options(BaseCallbackHandler):
    def __init__(self) -> None:
        self.options: list[Any] = []

    def on_chat_model_start(self, *args: Any, options: Any = None, **kwargs: Any) -> None:
        self.options.append(options)


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize("method", ["function_calling", "json_mode", "json_schema"])
async def test_structured_output_each_method(
    emulator: DashScopeEmulator, sync: bool, method: str
) -> None:
    if method == "function_calling":
        reply = Reply.tool_calls([ToolCall("Recipe", RECIPE)])
    else:
        reply = Reply.text(json.dumps(RECIPE, ensure_ascii=False))
    emulator.enqueue(reply, reply, reply)
    structured = chat_qwen(emulator).with_structured_output(Recipe, method=method)  # type: ignore[arg-type]
    handler = _Options()
    result = await call(
        structured,
        "invoke",
        "用萝卜、土豆、茄子做一道菜",
        sync=sync,
        config={"callbacks": [handler]},
    )
    assert result == Recipe(**RECIPE)
    fmt = handler.options[0]["ls_structured_output_format"]
    assert fmt["kwargs"]["method"] == method
    assert fmt["schema"]["title"] == "Recipe"

    request = emulator.requests[-1]
    if method == "function_calling":
        assert request.parameters["tool_choice"] == {
            "type": "function",
            "function": {"name": "Recipe"},
        }
    elif method == "json_mode":
        assert request.parameters["response_format"] == {"type": "json_object"}
        system = request.messages[0]
        assert system["role"] == "system" and "JSON" in system["content"]
        assert '"ingredients"' in system["content"]
    else:
        assert request.parameters["response_format"]["json_schema"]["name"] == "Recipe"

    parsed = await collect(structured, "stream", "用萝卜、土豆、茄子做一道菜", sync=sync)
    assert parsed[-1] == Recipe(**RECIPE)

    raw = chat_qwen(emulator).with_structured_output(Recipe, method=method, include_raw=True)  # type: ignore[arg-type]
    out = await call(raw, "invoke", "用萝卜、土豆、茄子做一道菜", sync=sync)
    assert out["parsed"] == Recipe(**RECIPE)
    assert out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)


@pytest.mark.parametrize("sync", [True, False])
async def test_structured_streaming_yields_partial_dicts(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.enqueue(Reply.tool_calls([ToolCall("Recipe", RECIPE)]))
    schema = Recipe.model_json_schema()
    parts = await collect(
        chat_qwen(emulator).with_structured_output(schema), "stream", "做菜", sync=sync
    )
    assert len(parts) > 1  # partial JSON arrives piece by piece
    assert parts[-1] == RECIPE
    assert all(set(p) <= {"name", "ingredients"} for p in parts)


async def test_json_mode_keeps_messages_that_mention_json(emulator: DashScopeEmulator) -> None:
    emulator.enqueue(Reply.text('{"name": "x", "ingredients": []}'))
    structured = chat_qwen(emulator).with_structured_output(method="json_mode")
    assert structured.invoke("Reply in JSON please") == {"name": "x", "ingredients": []}
    assert emulator.requests[-1].messages == [{"role": "user", "content": "Reply in JSON please"}]


@pytest.mark.parametrize("sync", [True, False])
async def test_structured_output_while_thinking(emulator: DashScopeEmulator, sync: bool) -> None:
    # Hybrid model set to think: this runnable (only) turns thinking off, so the tool is forced.
    emulator.enqueue(Reply.tool_calls([ToolCall("Recipe", RECIPE)]))
    llm = chat_qwen(emulator, enable_thinking=True)
    recipe = await call(llm.with_structured_output(Recipe), "invoke", "做菜", sync=sync)
    assert recipe == Recipe(**RECIPE)
    assert emulator.requests[-1].parameters["enable_thinking"] is False
    assert llm.enable_thinking is True

    # A model that always thinks cannot be forced: tool_choice auto, and no call is an error.
    thinker = chat_qwen(emulator, model="qwen3-30b-a3b-thinking-2507")
    structured = thinker.with_structured_output(Recipe)
    emulator.enqueue(Reply.tool_calls([ToolCall("Recipe", RECIPE)]), Reply.text("I'd rather chat."))
    assert await call(structured, "invoke", "做菜", sync=sync) == Recipe(**RECIPE)
    assert emulator.requests[-1].parameters["tool_choice"] == "auto"
    with pytest.raises(OutputParserException, match="without calling the 'Recipe' tool"):
        await call(structured, "invoke", "做菜", sync=sync)


# ------------------------------------------------------------------------ cancellation


def _busy(pool: Any) -> list[Any]:
    return [c for c in pool.connections if not (c.is_idle() or c.is_closed())]


LONG = "萝卜土豆茄子" * 100


def test_breaking_out_of_stream_closes_the_connection(emulator: DashScopeEmulator) -> None:
    http = httpx.Client()
    llm = chat_qwen(emulator, http_client=http)
    emulator.enqueue(Reply.text(LONG, chunks=300))
    pool = http._transport._pool  # type: ignore[attr-defined]
    received = 0
    for _chunk in llm.stream("做菜"):
        received += 1
        assert _busy(pool)  # the response is being read
        if received == 3:
            break
    gc.collect()
    assert _busy(pool) == []
    # the client is still usable afterwards
    assert llm.invoke("again").content == "[emulator] again"
    http.close()


async def test_cancelling_an_astream_task_closes_the_connection(
    emulator: DashScopeEmulator,
) -> None:
    http = httpx.AsyncClient()
    llm = chat_qwen(emulator, http_async_client=http)
    emulator.enqueue(Reply.text(LONG, chunks=300))
    pool = http._transport._pool  # type: ignore[attr-defined]
    got: list[Any] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for chunk in llm.astream("做菜"):
            got.append(chunk)
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    assert _busy(pool)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):
        await asyncio.sleep(0)
    assert 0 < len(got) < 300
    assert _busy(pool) == []
    assert (await llm.ainvoke("again")).content == "[emulator] again"
    await http.aclose()


async def test_closing_an_astream_closes_the_connection(emulator: DashScopeEmulator) -> None:
    http = httpx.AsyncClient()
    llm = chat_qwen(emulator, http_async_client=http)
    emulator.enqueue(Reply.text(LONG, chunks=300))
    pool = http._transport._pool  # type: ignore[attr-defined]
    agen: AsyncIterator[Any] = llm.astream("做菜")
    await agen.__anext__()
    assert _busy(pool)
    await agen.aclose()  # type: ignore[attr-defined]
    assert _busy(pool) == []
    await http.aclose()


@pytest.mark.parametrize("sync", [True, False])
async def test_several_choices_cannot_be_streamed(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = chat_qwen(emulator)
    with pytest.raises(ValueError, match="n=2 cannot be streamed"):
        await collect(llm, "stream", "hi", sync=sync, n=2)
    assert emulator.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_a_copy_with_other_settings_uses_them(
    make_emulator: Callable[..., DashScopeEmulator], emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator)
    await call(llm, "invoke", "hi", sync=sync)
    other = make_emulator(api_key="sk-other")
    update = {"base_url": other.base_url, "api_key": SecretStr("sk-other")}
    copy = llm.model_copy(update=update)
    await call(copy, "invoke", "hi", sync=sync)
    assert len(other.requests) == 1
    await call(llm, "invoke", "hi", sync=sync)  # the original keeps its own settings
    assert len(emulator.requests) == 2
    llm.base_url = other.base_url  # assignment too
    llm.api_key = SecretStr("sk-other")
    await call(llm, "invoke", "hi", sync=sync)
    assert len(other.requests) == 2


async def test_async_calls_never_touch_the_sync_transport(
    emulator: DashScopeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real async for ainvoke/abatch/astream (and embeddings), not sync calls in threads."""

    def sync_transport(self: Any) -> None:
        raise AssertionError("an async call used the sync transport")

    monkeypatch.setattr(ChatQwen, "_client", property(sync_transport))
    monkeypatch.setattr(QwenEmbeddings, "_client", property(sync_transport))
    llm = chat_qwen(emulator)
    assert (await llm.ainvoke("hi")).content
    assert len(await llm.abatch(["a", "b"])) == 2
    assert [chunk async for chunk in llm.astream("hi")]
    assert (await chat_qwen(emulator, streaming=True).ainvoke("hi")).content
    embeddings = qwen_embeddings(emulator)
    assert len(await embeddings.aembed_documents([f"t{i}" for i in range(12)])) == 12
    assert await embeddings.aembed_query("杭州")
    with pytest.raises(AssertionError, match="sync transport"):
        llm.invoke("hi")  # the patch is really in the way of sync calls
