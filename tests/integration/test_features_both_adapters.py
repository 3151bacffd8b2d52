"""DashScope features through both adapters against the emulator, sync and async.

Each test pins a behaviour that both frameworks get from the core: models that only answer
streams, web search results and citations, code-interpreter output, streaming a whole-answer
call, the explicit context cache and its usage, partial mode, token counting, timeouts, and a
forced ``tool_choice`` obeyed by the emulator (so structured output works offline).
"""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages
from llama_index.core.base.llms.types import CacheControl, CachePoint, ChatMessage, TextBlock
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from qwen_dashscope import Timeouts
from qwen_dashscope.testing import DashScopeEmulator
from tests._calls import add_up, call, chat_qwen, collect, qwen_embedding, qwen_embeddings, qwen_llm

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
SEARCH = {
    "enable_source": True,
    "enable_citation": True,
    "citation_format": "[ref_<number>]",
    "prepend_search_result": True,
}


USER = [ChatMessage(role="user", content="杭州明天的天气")]


# ----------------------------------------------------------- models that only stream


@SYNC
@pytest.mark.parametrize(
    "model",
    ["qwen3-235b-a22b-thinking-2507", "qwen3-next-80b-a3b-thinking", "qwen3-30b-a3b-thinking-2507"],
)
async def test_stream_only_thinking_models_answer_invoke_and_chat(
    emulator: DashScopeEmulator, sync: bool, model: str
) -> None:
    # The emulator refuses them non-streamed, as the service does: the core must stream.
    message = await call(chat_qwen(emulator, model=model), "invoke", "1+1?", sync=sync)
    assert message.content.startswith("[emulator]")
    assert message.additional_kwargs["reasoning_content"]
    response = await call(qwen_llm(emulator, model=model), "chat", USER, sync=sync)
    assert response.message.content.startswith("[emulator]")
    assert all(r.stream for r in emulator.requests)


def test_the_emulator_refuses_them_without_streaming(emulator: DashScopeEmulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/services/aigc/text-generation/generation",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        json={
            "model": "qwen3-235b-a22b-thinking-2507",
            "input": {"messages": [{"role": "user", "content": "hi"}]},
        },
    )
    assert response.status_code == 400
    assert "only support stream mode" in response.json()["message"]


# ------------------------------------------------------------------------ web search


@SYNC
async def test_web_search_results_and_citations_in_langchain(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator, enable_search=True, search_options=SEARCH)
    message = await call(llm, "invoke", "杭州明天的天气", sync=sync)
    results = message.response_metadata["search_info"]["search_results"]
    assert [r["index"] for r in results] == [1, 2]
    [text] = message.content_blocks
    assert text["type"] == "text"
    [citation] = text["annotations"]  # type: ignore[typeddict-item]
    assert citation["url"] == results[0]["url"]
    start, end = citation["start_index"], citation["end_index"]  # type: ignore[typeddict-item]
    assert message.content[start:end] == "[ref_1]"
    # streamed: the first event's results survive the later empty ones
    total = add_up(await collect(llm, "stream", "杭州明天的天气", sync=sync))
    assert total.response_metadata["search_info"]["search_results"] == results
    v1 = chat_qwen(emulator, enable_search=True, search_options=SEARCH, output_version="v1")
    full = add_up(v1.stream("杭州明天的天气"))
    [block] = [b for b in full.content if isinstance(b, dict) and b.get("type") == "text"]
    assert block["annotations"][0]["url"] == results[0]["url"]


@SYNC
async def test_web_search_results_in_llama_index(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = qwen_llm(emulator, enable_search=True, search_options=SEARCH)
    response = await call(llm, "chat", USER, sync=sync)
    results = response.additional_kwargs["search_info"]["search_results"]
    assert [r["index"] for r in results] == [1, 2]
    assert response.raw["output"]["search_info"]["search_results"] == results
    items = await collect(llm, "stream_chat", USER, sync=sync)
    assert items[-1].additional_kwargs["search_info"]["search_results"] == results


def test_a_search_served_by_internal_streaming_keeps_its_results(
    emulator: DashScopeEmulator,
) -> None:
    # qwen3-235b-a22b-thinking-2507 is only served streamed: the results come in the first
    # event and later events repeat empty lists, which must not erase them.
    llm = chat_qwen(
        emulator, model="qwen3-235b-a22b-thinking-2507", enable_search=True, search_options=SEARCH
    )
    message = llm.invoke("杭州明天的天气")
    assert len(message.response_metadata["search_info"]["search_results"]) == 2
    response = qwen_llm(
        emulator, model="qwen3-235b-a22b-thinking-2507", enable_search=True, search_options=SEARCH
    ).chat(USER)
    assert len(response.additional_kwargs["search_info"]["search_results"]) == 2


# ------------------------------------------------------- stream=True on a whole answer


@SYNC
async def test_stream_true_streams_and_aggregates(emulator: DashScopeEmulator, sync: bool) -> None:
    llm = chat_qwen(emulator)
    for runnable, kwargs in ((llm, {"stream": True}), (llm.bind(stream=True), {})):
        message = await call(runnable, "invoke", "stream me", sync=sync, **kwargs)
        assert message.content == "[emulator] stream me"
        assert emulator.requests[-1].stream
        assert "stream" not in emulator.requests[-1].parameters
    qwen = qwen_llm(emulator)
    response = await call(qwen, "chat", USER, sync=sync, stream=True)
    assert response.message.content == "[emulator] 杭州明天的天气"
    assert emulator.requests[-1].stream
    assert "stream" not in emulator.requests[-1].parameters


# ----------------------------------------------------------------- context cache


LONG = "这是一本很长的手册。" * 150  # > 1024 tokens in the emulator's count


@SYNC
async def test_explicit_cache_is_forwarded_and_its_usage_reported(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator)
    messages = [
        SystemMessage([{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]),
        HumanMessage("第三章讲了什么？"),
    ]
    first = await call(llm, "invoke", messages, sync=sync)
    second = await call(llm, "invoke", messages, sync=sync)
    created = first.usage_metadata["input_token_details"]["cache_creation"]  # type: ignore[index]
    assert created > 1024
    assert first.usage_metadata["input_token_details"]["cache_read"] == 0  # type: ignore[index]
    assert second.usage_metadata["input_token_details"]["cache_read"] == created  # type: ignore[index]
    sent = emulator.requests[0].messages[0]["content"]
    assert sent == [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]

    qwen = qwen_llm(emulator)
    cached = [
        ChatMessage(
            role="system",
            blocks=[TextBlock(text=LONG), CachePoint(cache_control=CacheControl(type="ephemeral"))],
        ),
        ChatMessage(role="user", content="第三章讲了什么？"),
    ]
    response = await call(qwen, "chat", cached, sync=sync)
    assert response.additional_kwargs["cached_tokens"] == created  # the same prefix: a hit
    assert response.additional_kwargs["cache_creation_tokens"] == 0


def test_partial_mode_continues_the_prefix(emulator: DashScopeEmulator) -> None:
    chat_qwen(emulator).invoke(
        [HumanMessage("写一首诗"), AIMessage("春眠不觉晓，", additional_kwargs={"partial": True})]
    )
    assert emulator.requests[-1].messages[-1] == {
        "role": "assistant",
        "content": "春眠不觉晓，",
        "partial": True,
    }


# ------------------------------------------------------------------- token counting


@SYNC
async def test_token_counting_uses_the_tokenizer_endpoint(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    llm = chat_qwen(emulator)
    messages = [HumanMessage("你好，世界"), AIMessage("你好"), HumanMessage("再见")]
    count = await call(llm, "get_num_tokens_from_messages", messages, sync=sync)
    assert count > 0
    assert emulator.requests[-1].endpoint == "tokenizer"
    assert llm.get_num_tokens("你好，世界") == len(llm.get_token_ids("你好，世界")) > 0
    trimmed = trim_messages(messages, max_tokens=count - 1, token_counter=llm, strategy="last")
    assert 0 < len(trimmed) < len(messages)
    qwen = qwen_llm(emulator)
    assert await call(qwen, "count_tokens", USER, sync=sync) > 0


# -------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(
    "timeout",
    [httpx.Timeout(5.0), (3.0, 30.0), 12, Timeouts(connect=2, read=20, total=60)],
    ids=["httpx.Timeout", "tuple", "number", "Timeouts"],
)
def test_every_class_accepts_every_timeout_form(
    emulator: DashScopeEmulator, timeout: object
) -> None:
    expected = Timeouts.of(timeout)
    for instance in (
        chat_qwen(emulator, timeout=timeout),
        qwen_embeddings(emulator, api_key="k", timeout=timeout),
        qwen_llm(emulator, timeout=timeout),
        qwen_embedding(emulator, api_key="k", timeout=timeout),
    ):
        client = instance._client if hasattr(instance, "_client") else instance._get_client()
        assert client.timeouts == expected


# ------------------------------------------------- a forced tool_choice, obeyed offline


class City(BaseModel):
    """A city and its province."""

    name: str
    province: str


@SYNC
async def test_structured_output_works_against_the_bare_emulator(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    structured = chat_qwen(emulator).with_structured_output(City)
    city = await call(structured, "invoke", "杭州在哪个省？", sync=sync)
    assert isinstance(city, City)
    qwen = qwen_llm(emulator)
    prompt = PromptTemplate("Extract the city: {text}")
    result = await call(
        qwen, "structured_predict", City, prompt, sync=sync, text="I live in Hangzhou"
    )
    assert isinstance(result, City)
    assert emulator.requests[-1].parameters["tool_choice"] == {
        "type": "function",
        "function": {"name": "City"},
    }


def test_a_client_that_leaves_mid_stream_prints_no_traceback(
    emulator: DashScopeEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator.chunk_delay = 0.01
    try:
        stream = chat_qwen(emulator).stream("a long answer " * 20)
        next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
        # the next request is served once the abandoned one is done
        assert chat_qwen(emulator).invoke("hi").content == "[emulator] hi"
    finally:
        emulator.chunk_delay = 0.0
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err


def test_a_connection_reset_while_the_emulator_reads_prints_no_traceback(
    emulator: DashScopeEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import struct
    import time

    for _ in range(3):
        sock = socket.create_connection((emulator.host, emulator.port))
        sock.sendall(
            b"POST /api/v1/services/aigc/text-generation/generation HTTP/1.1\r\nHost: x\r\n"
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset (RST) while the server is reading the request's headers
    time.sleep(0.3)
    assert chat_qwen(emulator).invoke("hi").content == "[emulator] hi"  # still serving
    assert "Traceback" not in capfd.readouterr().err
