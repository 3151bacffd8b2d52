"""Qwen and QwenEmbedding inside real LlamaIndex machinery, against the emulator.

Where the framework needs a model's judgement, the emulator's reply is scripted: tool calls
for the agents (``Reply.tool_calls``), ReAct-formatted text for ``ReActAgent``, a tool call
named after the output class for structured output, and fixed answers with exact ``usage`` for
token counting. Retrieval is not scripted: the emulator's embeddings are hashed bags of words,
so the relevant document really is the nearest one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import (
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCallResult,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.llms import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel, Field

from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall
from tests._calls import call, collect

# Third-party warnings of the agent stack (llama-index-core 0.14.25, llama-index-workflows
# 2.26, pydantic 2.14): workflows inspects agent instances with inspect.getmembers(), which reads
# every deprecated pydantic attribute, and the agents ask ctx.is_running inside a step (warned
# once per process, so whichever test runs first would fail).
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
]

LLMFactory = Callable[..., Qwen]
EmbeddingFactory = Callable[..., QwenEmbedding]


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"Sunny, 25°C in {city}"


def get_time(timezone: str) -> str:
    """Current local time in an IANA timezone."""
    return f"12:00 in {timezone}"


PARALLEL = Reply.tool_calls(
    [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_time", {"timezone": "Asia/Shanghai"})]
)


# -- agents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "non-streaming"])
async def test_function_agent_with_parallel_tool_calls(
    make_llm: LLMFactory, emulator: DashScopeEmulator, streaming: bool
) -> None:
    emulator.enqueue(PARALLEL, Reply.text("杭州 is sunny at 25°C; it is 12:00.", chunks=6))
    agent = FunctionAgent(
        tools=[get_weather, get_time],
        llm=make_llm(),
        system_prompt="You are a helpful assistant.",
        streaming=streaming,
    )
    handler = agent.run("What's the weather and time in 杭州?")
    results: list[ToolCallResult] = []
    deltas: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append(event)
        elif isinstance(event, AgentStream):
            deltas.append(event.delta)
    output = await handler

    assert str(output.response.content) == "杭州 is sunny at 25°C; it is 12:00."
    assert sorted(
        (r.tool_name, r.tool_kwargs["city" if r.tool_name == "get_weather" else "timezone"])
        for r in results
    ) == [
        ("get_time", "Asia/Shanghai"),
        ("get_weather", "杭州"),
    ]
    assert {str(r.tool_output.content) for r in results} == {
        "Sunny, 25°C in 杭州",
        "12:00 in Asia/Shanghai",
    }
    first, second = emulator.requests
    assert first.stream is streaming and second.stream is streaming
    assert first.parameters["parallel_tool_calls"] is True
    # the agent fed our assistant message back, then one tool message per call id
    assistant, *tool_messages = second.messages[2:]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert assistant["role"] == "assistant" and len(ids) == 2
    assert sorted((m["tool_call_id"], m["content"]) for m in tool_messages) == sorted(
        zip(ids, ["Sunny, 25°C in 杭州", "12:00 in Asia/Shanghai"], strict=True)
    )
    if streaming:
        assert "".join(deltas) == "杭州 is sunny at 25°C; it is 12:00."


async def test_react_agent(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    emulator.enqueue(
        Reply.text(
            'Thought: I need the weather.\nAction: get_weather\nAction Input: {"city": "Paris"}'
        ),
        Reply.text(
            "Thought: I can answer without using any more tools.\nAnswer: It is sunny in Paris."
        ),
    )
    agent = ReActAgent(tools=[get_weather], llm=make_llm())
    handler = agent.run("Weather in Paris?")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    output = await handler
    assert str(output.response.content) == "It is sunny in Paris."
    assert [(r.tool_name, r.tool_kwargs) for r in results] == [("get_weather", {"city": "Paris"})]
    second_prompt = "\n".join(str(m["content"]) for m in emulator.requests[1].messages)
    assert "Observation: Sunny, 25°C in Paris" in second_prompt
    assert "tools" not in emulator.requests[0].parameters  # ReAct works on text only


async def test_agent_workflow_picks_function_agent_for_function_calling_models(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    workflow = AgentWorkflow.from_tools_or_functions([get_weather], llm=make_llm())
    [agent] = workflow.agents.values()
    assert isinstance(agent, FunctionAgent)
    react = AgentWorkflow.from_tools_or_functions([get_weather], llm=make_llm(model="qwen-vl-plus"))
    assert isinstance(next(iter(react.agents.values())), ReActAgent)

    emulator.enqueue(
        Reply.tool_calls([ToolCall("get_weather", {"city": "Oslo"})]), Reply.text("Sunny in Oslo.")
    )
    output = await workflow.run(user_msg="Weather in Oslo?")
    assert str(output.response.content) == "Sunny in Oslo."
    assert emulator.requests[1].messages[-1] == {
        "role": "tool",
        "content": "Sunny, 25°C in Oslo",
        "tool_call_id": emulator.requests[1].messages[-2]["tool_calls"][0]["id"],
    }


# -- RAG ------------------------------------------------------------------------------------

DOCS = [
    Document(
        text="The Qwen3 context window is 131072 tokens for open-source models.",
        metadata={"topic": "context"},
    ),
    Document(
        text="DashScope API keys are bound to one region, such as Beijing or Singapore.",
        metadata={"topic": "keys"},
    ),
    Document(
        text="text-embedding-v4 vectors have 1024 dimensions by default.",
        metadata={"topic": "embedding"},
    ),
    Document(
        text="杭州的西湖以美丽的风景闻名，春天的时候游客很多。", metadata={"topic": "hangzhou"}
    ),
]


@pytest.fixture
def index(make_embedding: EmbeddingFactory, emulator: DashScopeEmulator) -> VectorStoreIndex:
    index = VectorStoreIndex.from_documents(
        DOCS, embed_model=make_embedding(), transformations=[SentenceSplitter(chunk_size=256)]
    )
    document_calls = [r for r in emulator.requests if r.endpoint == "text-embedding"]
    assert document_calls and all(r.parameters["text_type"] == "document" for r in document_calls)
    emulator.reset()
    return index


@pytest.mark.parametrize("mode", ["sync", "async", "streaming"])
async def test_query_engine(
    index: VectorStoreIndex, make_llm: LLMFactory, emulator: DashScopeEmulator, mode: str
) -> None:
    answer = "API keys belong to one region."
    emulator.when(lambda req: req.endpoint != "text-embedding", Reply.text(answer, chunks=4))
    engine = index.as_query_engine(
        llm=make_llm(), similarity_top_k=1, streaming=mode == "streaming"
    )
    question = "Which region are DashScope API keys bound to?"
    if mode == "sync":
        response: Any = engine.query(question)
        text = str(response)
    elif mode == "async":
        response = await engine.aquery(question)
        text = str(response)
    else:
        response = engine.query(question)
        text = "".join(response.response_gen)
    assert text == answer
    [node] = response.source_nodes
    assert node.node.metadata["topic"] == "keys"
    embed_call, llm_call = emulator.requests
    assert embed_call.parameters["text_type"] == "query"
    assert embed_call.input["texts"] == [question]
    prompt = llm_call.last_user_text
    assert "bound to one region" in prompt and question in prompt
    assert "131072" not in prompt  # only the retrieved node went to the model
    assert llm_call.stream is (mode == "streaming")


async def test_chinese_retrieval(index: VectorStoreIndex) -> None:
    nodes = await index.as_retriever(similarity_top_k=1).aretrieve("西湖的风景怎么样？")
    assert nodes[0].node.metadata["topic"] == "hangzhou"


# -- structured output ----------------------------------------------------------------------


class City(BaseModel):
    """A city and the province it is in."""

    name: str = Field(description="City name")
    province: str


CITY = Reply.tool_calls([ToolCall("City", {"name": "杭州", "province": "浙江"})])
PROMPT = PromptTemplate("Extract the city from: {text}")


def _forced_city(emulator: DashScopeEmulator) -> None:
    params = emulator.requests[0].parameters
    assert params["tool_choice"] == {"type": "function", "function": {"name": "City"}}
    assert params["tools"][0]["function"]["parameters"]["required"] == ["name", "province"]


@pytest.mark.parametrize("model", ["qwen-plus", "qwen3.5-plus"])
async def test_structured_predict(
    make_llm: LLMFactory, emulator: DashScopeEmulator, model: str
) -> None:
    """qwen3.5-plus thinks by default: the forced call must switch thinking off."""
    emulator.enqueue(CITY)
    city = make_llm(model=model).structured_predict(City, PROMPT, text="我住在杭州")
    assert city == City(name="杭州", province="浙江")
    _forced_city(emulator)
    assert emulator.requests[0].parameters["enable_thinking"] is False


async def test_astructured_predict(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    emulator.enqueue(CITY)
    city = await make_llm(enable_thinking=True).astructured_predict(City, PROMPT, text="我住在杭州")
    assert city == City(name="杭州", province="浙江")
    _forced_city(emulator)
    assert emulator.requests[0].parameters["enable_thinking"] is False


async def test_stream_structured_predict(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    emulator.enqueue(CITY)
    partials = list(make_llm().stream_structured_predict(City, PROMPT, text="我住在杭州"))
    assert len(partials) > 1
    assert City.model_validate(partials[-1].model_dump()) == City(name="杭州", province="浙江")
    _forced_city(emulator)  # forced while streaming too (core's program does not force it)
    assert emulator.requests[0].stream


async def test_astream_structured_predict(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    emulator.enqueue(CITY)
    gen = await make_llm().astream_structured_predict(City, PROMPT, text="我住在杭州")
    partials = [p async for p in gen]
    assert City.model_validate(partials[-1].model_dump()) == City(name="杭州", province="浙江")
    _forced_city(emulator)


async def test_as_structured_llm(make_llm: LLMFactory, emulator: DashScopeEmulator) -> None:
    emulator.enqueue(CITY, CITY)
    structured = make_llm().as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content="我住在杭州")])
    assert response.raw == City(name="杭州", province="浙江")
    assert City.model_validate_json(str(response.message.content)) == City(
        name="杭州", province="浙江"
    )
    response = await structured.achat([ChatMessage(role="user", content="我住在杭州")])
    assert response.raw == City(name="杭州", province="浙江")
    _forced_city(emulator)


# -- callbacks and memory -------------------------------------------------------------------


ENTRY_POINTS = (
    "chat",
    "stream_chat",
    "complete",
    "stream_complete",
    "achat",
    "astream_chat",
    "acomplete",
    "astream_complete",
)


async def _call(llm: Any, kind: str) -> None:
    """One call through an entry point (named in full: ``astream_chat``), consumed to the end."""
    arg: Any = "count me" if "complete" in kind else [ChatMessage(role="user", content="count me")]
    await (collect if "stream" in kind else call)(llm, kind, arg)


@pytest.mark.parametrize("kind", ENTRY_POINTS)
async def test_token_counting_handler_reports_the_services_counts(
    make_llm: LLMFactory, emulator: DashScopeEmulator, kind: str
) -> None:
    """Every entry point runs through the framework's callback decorators."""
    counter = TokenCountingHandler()
    llm = make_llm(callback_manager=CallbackManager([counter]))
    emulator.enqueue(
        Reply.text("Counted answer.", usage={"input_tokens": 1234, "output_tokens": 56})
    )
    await _call(llm, kind)
    assert counter.prompt_llm_token_count == 1234
    assert counter.completion_llm_token_count == 56
    assert counter.total_llm_token_count == 1290


async def test_token_counting_matches_the_emulators_own_usage(
    make_llm: LLMFactory, emulator: DashScopeEmulator
) -> None:
    counter = TokenCountingHandler()
    response = make_llm(callback_manager=CallbackManager([counter])).chat(
        [ChatMessage(role="user", content="一二三 four five")]
    )
    assert response.raw is not None
    usage = response.raw["usage"]
    assert (counter.prompt_llm_token_count, counter.completion_llm_token_count) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    assert counter.prompt_llm_token_count == 5  # 3 CJK characters + 2 words, by the emulator's rule


@pytest.mark.parametrize(("kwargs", "window"), [({}, 131_072), ({"context_window": 4096}, 4096)])
async def test_chat_memory_buffer_sized_from_context_window(
    make_llm: LLMFactory, kwargs: dict[str, Any], window: int
) -> None:
    memory = ChatMemoryBuffer.from_defaults(llm=make_llm(**kwargs))
    assert memory.token_limit == int(window * 0.75)


@pytest.mark.parametrize("kind", [k for k in ENTRY_POINTS if k.startswith("a")])
async def test_async_entry_points_never_touch_the_sync_transport(
    make_llm: LLMFactory,
    make_embedding: EmbeddingFactory,
    emulator: DashScopeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """Real async, not sync calls wrapped in threads."""

    def sync_transport(self: Any) -> None:
        raise AssertionError("an async entry point used the sync transport")

    for cls in (Qwen, QwenEmbedding):
        monkeypatch.setattr(cls, "_get_client", sync_transport)
    await _call(make_llm(), kind)
    assert len(emulator.requests) == 1
    embedding = make_embedding()
    assert await embedding.aget_query_embedding("杭州")
    assert len(await embedding.aget_text_embedding_batch([f"t{i}" for i in range(12)])) == 12
