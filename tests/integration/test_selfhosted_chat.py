"""ChatQwen / Qwen / the embedding classes against the self-hosted flavours of the emulator,
over loopback HTTP: misconfigured servers (no reasoning or tool parser), answers that land in
the reasoning, backend probing, embeddings, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.tools import tool
from llama_index.core.base.llms.types import ChatMessage

from langchain_qwen import ChatQwen, QwenEmbeddings
from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import BadRequestError, RateLimitError, ServerError
from qwen_dashscope._probe import clear_cache
from qwen_dashscope.testing import FLAVOURS, DashScopeEmulator, Flavour, Reply, ToolCall
from tests._calls import answer

Flavoured = Callable[[str], DashScopeEmulator]


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: sunny"


@pytest.fixture
def custom(
    make_emulator: Callable[..., DashScopeEmulator],
) -> Callable[..., DashScopeEmulator]:
    """``custom(reasoning_parser=False)``: a server of a flavour changed from the stock one."""

    def start(name: str = "vllm", **changes: Any) -> DashScopeEmulator:
        flavour: Flavour = dataclasses.replace(FLAVOURS[name], **changes)
        return make_emulator(flavour=flavour)

    return start


@pytest.mark.parametrize(
    ("model", "think_in_prompt"), [("Qwen/Qwen3-8B", False), ("Qwen/Qwen3.5-27B", True)]
)
def test_a_server_without_a_reasoning_parser(
    custom: Callable[..., DashScopeEmulator], model: str, think_in_prompt: bool
) -> None:
    emu = custom(reasoning_parser=False, think_in_prompt=think_in_prompt)
    llm = ChatQwen(model=model, base_url=emu.base_url)
    for message in (llm.invoke("hi"), answer(llm, "hi", stream=True)):
        assert message.content == "[emulator] hi"
        assert message.additional_kwargs["reasoning_content"].strip().startswith("The user wrote")
        assert "think>" not in message.content


def test_an_answer_that_landed_in_the_reasoning_is_surfaced(flavoured: Flavoured) -> None:
    emu = flavoured("vllm")
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, enable_thinking=False)
    emu.enqueue(Reply(text="The answer is 4.", in_reasoning=True))
    message = llm.invoke("2+2?")
    assert message.content == "The answer is 4."
    assert message.response_metadata["answer_from_reasoning"] is True
    emu.enqueue(Reply(text="The answer is 4.", in_reasoning=True))
    streamed = answer(llm, "2+2?", stream=True)
    assert streamed.content == "The answer is 4."
    emu.enqueue(Reply(text="The answer is 4.", in_reasoning=True))
    li = Qwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, enable_thinking=False)
    response = li.chat([ChatMessage(role="user", content="2+2?")])
    assert response.message.content == "The answer is 4."
    assert response.additional_kwargs["answer_from_reasoning"] is True


def test_a_vllm_without_a_tool_parser_still_gives_tool_calls(
    custom: Callable[..., DashScopeEmulator],
) -> None:
    emu = custom(tool_parser=False)
    emu.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "Oslo"})]))
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url).bind_tools([get_weather])
    message = answer(llm, "weather in Oslo?", stream=True)
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}
    assert message.response_metadata["tool_calls_recovered"] is True


def test_ollama_bare_json_calls_and_its_ignored_tool_choice(flavoured: Flavoured) -> None:
    emu = flavoured("ollama")
    llm = ChatQwen(model="qwen3:8b", base_url=emu.base_url, backend="ollama")
    emu.enqueue(
        Reply.unparsed_tool_calls([ToolCall("get_weather", {"city": "Rome"})], syntax="json")
    )
    message = llm.bind_tools([get_weather]).invoke("weather in Rome?")
    assert message.tool_calls[0]["args"] == {"city": "Rome"} and message.content == ""
    with pytest.warns(UserWarning, match="tool_choice"):
        llm.bind_tools([get_weather], tool_choice="get_weather").invoke("weather?")
    assert "tool_choice" not in emu.requests[-1].parameters


@pytest.mark.parametrize("name", sorted(FLAVOURS))
def test_backend_auto_asks_the_server(flavoured: Flavoured, name: str) -> None:
    clear_cache()
    emu = flavoured(name)
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, backend="auto")
    assert llm._client.settings.backend == name
    assert llm.invoke("hi").content == "[emulator] hi"
    clear_cache()


@pytest.mark.parametrize(("name", "size"), [("vllm", 256), ("ollama", 256), ("llamacpp", 256)])
async def test_embeddings_on_self_hosted_servers(
    flavoured: Flavoured, name: str, size: int
) -> None:
    emu = flavoured(name)
    options = {"base_url": emu.base_url, "backend": name, "dimensions": size}
    langchain = QwenEmbeddings(model="Qwen/Qwen3-Embedding-0.6B", **options)
    vectors = langchain.embed_documents(["qwen", "vllm", "ollama"])
    assert [len(v) for v in vectors] == [size] * 3  # llama.cpp ignores dimensions: cut here
    assert [len(v) for v in await langchain.aembed_documents(["a", "b"])] == [size, size]
    llama_index = QwenEmbedding("Qwen/Qwen3-Embedding-0.6B", **options)
    assert llama_index.get_text_embedding("qwen") == vectors[0]
    assert len(await llama_index.aget_query_embedding("q")) == size


def test_errors_from_self_hosted_servers_are_typed(flavoured: Flavoured) -> None:
    emu = flavoured("vllm")
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, max_retries=0)
    emu.enqueue(Reply.error(429, "", "Too many requests"))
    with pytest.raises(RateLimitError):
        llm.invoke("hi")
    emu.enqueue(Reply.error(500, "", "engine died", in_stream=True, after_chunks=2))
    with pytest.raises(ServerError, match="engine died"):
        answer(llm, "hi", stream=True)
    ollama = flavoured("ollama")
    bad = ChatQwen(model="qwen3:8b", base_url=ollama.base_url, backend="ollama")
    with pytest.raises(BadRequestError, match="invalid reasoning value"):
        bad.invoke("hi", reasoning_effort="extreme")


def test_a_server_with_a_key(custom: Callable[..., DashScopeEmulator]) -> None:
    emu = custom()
    emu.api_key = "token-abc"
    from qwen_dashscope import AuthenticationError

    with pytest.raises(AuthenticationError):
        ChatQwen(model="m", base_url=emu.base_url, max_retries=0).invoke("hi")
    assert ChatQwen(model="m", base_url=emu.base_url, api_key="token-abc").invoke("hi").content
