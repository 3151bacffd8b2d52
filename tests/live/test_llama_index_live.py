"""Qwen / QwenEmbedding against the real DashScope service.

Skipped without DASHSCOPE_API_KEY. Run with ``pytest -m live -p no:socket tests/live`` (the
unit suite only allows loopback). DASHSCOPE_HTTP_BASE_URL picks the region's host; the model
under test is QWEN_LIVE_MODEL (default qwen-plus). Assertions are about shape, not wording.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.embeddings.base import similarity
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import AuthenticationError

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("DASHSCOPE_API_KEY"), reason="needs DASHSCOPE_API_KEY"),
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
]

MODEL = os.environ.get("QWEN_LIVE_MODEL", "qwen-plus")
USER = [ChatMessage(role="user", content="Reply with the single word: pong")]


@pytest.fixture
async def llm() -> AsyncIterator[Qwen]:
    instance = Qwen(model=MODEL, temperature=0, max_retries=2)
    yield instance
    instance.close()
    await instance.aclose()


@pytest.fixture
def embed_model() -> Iterator[QwenEmbedding]:
    instance = QwenEmbedding()
    yield instance
    instance.close()


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"Sunny, 25°C in {city}"


def get_time(timezone: str) -> str:
    """Current local time in an IANA timezone such as Asia/Shanghai."""
    return f"12:00 in {timezone}"


async def test_chat_stream_and_usage(llm: Qwen) -> None:
    counter = TokenCountingHandler()
    llm.callback_manager = CallbackManager([counter])
    response = llm.chat(USER)
    assert "pong" in (response.message.content or "").lower()
    assert response.additional_kwargs["prompt_tokens"] > 0
    assert response.raw is not None and response.raw["request_id"]
    assert counter.prompt_llm_token_count == response.additional_kwargs["prompt_tokens"]

    items = [item async for item in await llm.astream_chat(USER)]
    assert all(isinstance(item.delta, str) for item in items)
    assert "pong" in "".join(item.delta or "" for item in items).lower()
    assert items[-1].additional_kwargs["completion_tokens"] > 0


async def test_thinking(llm: Qwen) -> None:
    thinking = Qwen(model="qwen-plus", enable_thinking=True, thinking_budget=200)
    try:
        response = thinking.chat([ChatMessage(role="user", content="What is 17 * 23?")])
        assert isinstance(response.message.blocks[0], ThinkingBlock)
        assert "391" in (response.message.content or "")
        items = list(thinking.stream_chat([ChatMessage(role="user", content="What is 12 * 12?")]))
        assert any(item.additional_kwargs.get("thinking_delta") for item in items)
    finally:
        thinking.close()


async def test_parallel_tool_calls_and_forcing(llm: Qwen) -> None:
    tools = [FunctionTool.from_defaults(fn=get_weather), FunctionTool.from_defaults(fn=get_time)]
    items = [
        item
        async for item in await llm.astream_chat_with_tools(
            tools,
            "What is the weather in Hangzhou and the time in Asia/Shanghai?",
            allow_parallel_tool_calls=True,
        )
    ]
    for item in items:
        llm.get_tool_calls_from_response(item, error_on_no_tool_call=False)
    names = {c.tool_name for c in llm.get_tool_calls_from_response(items[-1])}
    assert "get_weather" in names
    forced = llm.chat_with_tools(tools[:1], "hello", tool_required=True)
    assert llm.get_tool_calls_from_response(forced)[0].tool_name == "get_weather"
    required = llm.chat_with_tools(tools, "hello", tool_required=True)
    assert llm.get_tool_calls_from_response(required)


async def test_function_agent(llm: Qwen) -> None:
    agent = FunctionAgent(tools=[get_weather], llm=llm)
    handler = agent.run("What's the weather in Hangzhou? Use the tool.")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    output = await handler
    assert results and results[0].tool_name == "get_weather"
    assert "25" in str(output.response.content)


class City(BaseModel):
    name: str
    province: str


async def test_structured_output(llm: Qwen) -> None:
    prompt = PromptTemplate("Extract the city and its province: {text}")
    city = llm.structured_predict(City, prompt, text="我在杭州长大。")
    assert "hangzhou" in city.name.lower() or "杭州" in city.name
    city = await Qwen(model="qwen3.5-plus").astructured_predict(
        City, prompt, text="I live in Hangzhou."
    )
    assert city.name


async def test_images() -> None:
    vl = Qwen(model="qwen3-vl-plus")
    try:
        message = ChatMessage(
            role="user",
            blocks=[
                ImageBlock(
                    url="https://dashscope.oss-cn-beijing.aliyuncs.com/images/dog_and_girl.jpeg"
                ),
                TextBlock(text="One word: which animal is in the picture?"),
            ],
        )
        assert "dog" in (vl.chat([message]).message.content or "").lower()
    finally:
        vl.close()


async def test_embeddings_and_rag(llm: Qwen, embed_model: QwenEmbedding) -> None:
    docs = ["DashScope API keys only work in their own region.", "West Lake is in Hangzhou."]
    vectors = await embed_model.aget_text_embedding_batch(docs)
    query = embed_model.get_query_embedding("Where is West Lake?")
    assert len(query) == 1024
    assert similarity(query, vectors[1]) > similarity(query, vectors[0])
    index = VectorStoreIndex.from_documents(
        [Document(text=d) for d in docs], embed_model=embed_model
    )
    response = index.as_query_engine(llm=llm, similarity_top_k=1).query("Where is West Lake?")
    assert "Hangzhou" in str(response)


def test_bad_key_is_typed() -> None:
    bad = Qwen(api_key="sk-invalid-key")
    try:
        with pytest.raises(AuthenticationError) as info:
            bad.chat(USER)
        assert info.value.request_id
        assert "sk-invalid-key" not in str(info.value)
    finally:
        bad.close()
