"""ChatQwen and QwenEmbeddings against the real DashScope service.

Skipped without ``DASHSCOPE_API_KEY`` (see ``tests/live/conftest.py``); the region comes from
``DASHSCOPE_HTTP_BASE_URL`` when set (e.g. ``https://dashscope-intl.aliyuncs.com/api/v1``).
The standard LangChain suites run here unscripted: the model's own judgement answers.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_tests")  # the dev extra
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
)
from pydantic import BaseModel

from langchain_qwen import ChatQwen, QwenEmbeddings
from tests._calls import answer
from tests._langchain_features import MODEL, ChatQwenFeatures

pytestmark = pytest.mark.live


class TestChatQwenLive(ChatQwenFeatures, ChatModelIntegrationTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatQwen(model="qwen-plus", enable_thinking=True)
        return answer(llm, "9.11 和 9.9 哪个大？", stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # Text models report prompt_tokens_details.cached_tokens (0 on a cache miss).
        return answer(
            ChatQwen(model="qwen-plus", max_tokens=16), "用一句话介绍杭州。", stream=stream
        )


class TestQwenEmbeddingsLive(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[QwenEmbeddings]:
        return QwenEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-v4", "dimensions": 256}


# ------------------------------------------------------------------------ our own, live


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: 晴, 25°C"


class Recipe(BaseModel):
    """A dish."""

    name: str
    ingredients: list[str]


def test_seed_example_streams_a_recipe_with_usage() -> None:
    llm = ChatQwen(model="qwen-turbo", max_tokens=200)
    chunks = list(llm.stream("用萝卜、土豆、茄子做一道菜，简要写出步骤。"))
    assert len(chunks) > 2
    assert [bool(c.usage_metadata) for c in chunks].count(True) == 1
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.content
    assert full.response_metadata["request_id"]


async def test_parallel_tool_calls_stream() -> None:
    llm = ChatQwen(model="qwen-plus").bind_tools([get_weather], parallel_tool_calls=True)
    full = None
    async for chunk in llm.astream("杭州和上海现在的天气怎么样？两个城市都要查。"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    cities = {call["args"]["city"] for call in full.tool_calls}
    assert len(full.tool_calls) >= 2 and any("杭州" in c for c in cities)


def test_thinking_with_tools() -> None:
    llm = ChatQwen(model="qwen-plus", enable_thinking=True).bind_tools([get_weather])
    message = llm.invoke("杭州天气怎么样？")
    assert message.additional_kwargs.get("reasoning_content")
    assert message.content_blocks[0]["type"] == "reasoning"
    assert message.tool_calls and message.tool_calls[0]["name"] == "get_weather"


@pytest.mark.parametrize("method", ["function_calling", "json_mode", "json_schema"])
def test_structured_output(method: str) -> None:
    llm = ChatQwen(model="qwen-plus", enable_thinking=True)
    structured = llm.with_structured_output(Recipe, method=method)  # type: ignore[arg-type]
    recipe = structured.invoke("用萝卜、土豆、茄子做一道菜")
    assert isinstance(recipe, Recipe) and recipe.ingredients


def test_stream_only_thinking_model_invoke() -> None:
    message = ChatQwen(model="qwq-plus").invoke("1+1=?")
    assert message.additional_kwargs["reasoning_content"] and message.content
