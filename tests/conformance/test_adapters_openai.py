"""The conformance table on the OpenAI protocol: the same input through both adapters, pointed
at DashScope's compatible mode or a self-hosted server, sends the same ``/chat/completions``
body (or raises the same error, or gives the same warning). Rows that differ in form between
the frameworks say why (``convention``), as in test_adapters.py."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from langchain_qwen import ChatQwen, QwenEmbeddings
from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import InvalidRequestError

from .test_adapters import LC_TOOLS, LI_TOOLS

VLLM = "http://gpu-box:8000/v1"
SGLANG = "http://gpu-box:30000/v1"
OLLAMA = "http://localhost:11434/v1"
COMPAT = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
KEY = "sk-conformance"

HERMES = '<tool_call>\n{"name": "weather", "arguments": {"city": "Rome"}}\n</tool_call>'


def _completion(content: str = "ok", reasoning: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning"] = reasoning
    return {
        "id": "chatcmpl-conformance",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


@dataclass
class Wire:
    answer: dict[str, Any] = field(default_factory=_completion)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.urls.append(str(request.url))
        if request.url.path.endswith("/embeddings"):
            data = [{"index": i, "embedding": [1.0, 0.0]} for i, _ in enumerate(body["input"])]
            return httpx.Response(200, json={"data": data, "usage": {"prompt_tokens": 1}})
        if body.get("stream"):
            chunk = {
                "id": "c",
                "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
            }
            text = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
            return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=self.answer)

    def clients(self) -> tuple[httpx.Client, httpx.AsyncClient]:
        transport = httpx.MockTransport(self.handler)
        return httpx.Client(transport=transport), httpx.AsyncClient(transport=transport)


def chat_qwen(wire: Wire, base_url: str, **kwargs: Any) -> ChatQwen:
    sync, async_ = wire.clients()
    kwargs.setdefault("model", "Qwen/Qwen3-8B")
    if base_url == COMPAT:
        kwargs.setdefault("api_key", KEY)
    return ChatQwen(base_url=base_url, http_client=sync, http_async_client=async_, **kwargs)


def qwen(wire: Wire, base_url: str, **kwargs: Any) -> Qwen:
    sync, async_ = wire.clients()
    kwargs.setdefault("model", "Qwen/Qwen3-8B")
    if base_url == COMPAT:
        kwargs.setdefault("api_key", KEY)
    return Qwen(base_url=base_url, http_client=sync, async_http_client=async_, **kwargs)


@dataclass(frozen=True)
class Case:
    name: str
    langchain: Callable[[Wire], Any]
    llama_index: Callable[[Wire], Any]
    expected: Callable[[Any], bool]
    convention: str | None = None


def _body(wire: Wire) -> dict[str, Any]:
    assert len(wire.bodies) == 1, wire.bodies
    return wire.bodies[0]


def lc(base_url: str, messages: Any, init: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    def run(wire: Wire) -> Any:
        chat_qwen(wire, base_url, **(init or {})).invoke(messages, **kwargs)
        return _body(wire)

    return run


def li(base_url: str, messages: Any, init: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    def run(wire: Wire) -> Any:
        qwen(wire, base_url, **(init or {})).chat(messages, **kwargs)
        return _body(wire)

    return run


def lc_tools(base_url: str, init: dict[str, Any] | None = None, **bind: Any) -> Any:
    def run(wire: Wire) -> Any:
        chat_qwen(wire, base_url, **(init or {})).bind_tools(LC_TOOLS[:1], **bind).invoke("hi")
        return _body(wire)

    return run


def li_tools(base_url: str, init: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    def run(wire: Wire) -> Any:
        qwen(wire, base_url, **(init or {})).chat_with_tools(LI_TOOLS[:1], "hi", **kwargs)
        return _body(wire)

    return run


HI_LC = "hi"
HI_LI = [ChatMessage(role="user", content="hi")]
THINK_OFF = {"enable_thinking": False}
FORCED = {"type": "function", "function": {"name": "weather"}}


def _history_lc() -> list[Any]:
    call = {"name": "weather", "args": {"city": "Rome"}, "id": "call_1"}
    return [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[call], additional_kwargs={"reasoning_content": "look it up"}),
        ToolMessage("sunny", tool_call_id="call_1"),
    ]


def _history_li() -> list[Any]:
    return [
        ChatMessage(role="user", content="weather?"),
        ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="look it up"),
                ToolCallBlock(
                    tool_call_id="call_1", tool_name="weather", tool_kwargs={"city": "Rome"}
                ),
            ],
        ),
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "call_1"}),
    ]


def _assistant(body: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in body["messages"] if m["role"] == "assistant")


CASES = [
    Case(
        "vLLM: the thinking switch goes in chat_template_kwargs",
        lc(VLLM, HI_LC, THINK_OFF),
        li(VLLM, HI_LI, THINK_OFF),
        lambda b: (
            b["chat_template_kwargs"] == {"enable_thinking": False} and "enable_thinking" not in b
        ),
    ),
    Case(
        "SGLang: the thinking switch goes in chat_template_kwargs",
        lc(SGLANG, HI_LC, THINK_OFF),
        li(SGLANG, HI_LI, THINK_OFF),
        lambda b: b["chat_template_kwargs"] == {"enable_thinking": False},
    ),
    Case(
        "Ollama: thinking off is reasoning_effort none",
        lc(OLLAMA, HI_LC, {"model": "qwen3:8b", **THINK_OFF}),
        li(OLLAMA, HI_LI, {"model": "qwen3:8b", **THINK_OFF}),
        lambda b: b["reasoning_effort"] == "none" and "chat_template_kwargs" not in b,
    ),
    Case(
        "compatible mode: the thinking switch is top level",
        lc(COMPAT, HI_LC, {"model": "qwen-plus", "enable_thinking": True}),
        li(COMPAT, HI_LI, {"model": "qwen-plus", "enable_thinking": True}),
        lambda b: b["enable_thinking"] is True and "chat_template_kwargs" not in b,
    ),
    Case(
        "vLLM: a thinking budget is thinking_token_budget",
        lc(VLLM, HI_LC, {"thinking_budget": 64}),
        li(VLLM, HI_LI, {"thinking_budget": 64}),
        lambda b: b["thinking_token_budget"] == 64,
    ),
    Case(
        "Ollama: a thinking budget is refused",
        lc(OLLAMA, HI_LC, {"model": "qwen3:8b", "thinking_budget": 64}),
        li(OLLAMA, HI_LI, {"model": "qwen3:8b", "thinking_budget": 64}),
        lambda out: out == ("InvalidRequestError", "thinking_budget"),
    ),
    Case(
        "vLLM: reasoning goes back under both of its names",
        lc(VLLM, _history_lc()),
        li(VLLM, _history_li()),
        lambda b: _assistant(b)["reasoning"] == _assistant(b)["reasoning_content"] == "look it up",
    ),
    Case(
        "SGLang: reasoning goes back as reasoning_content",
        lc(SGLANG, _history_lc()),
        li(SGLANG, _history_li()),
        lambda b: (
            _assistant(b)["reasoning_content"] == "look it up" and "reasoning" not in _assistant(b)
        ),
    ),
    Case(
        "compatible mode: reasoning is not sent back",
        lc(COMPAT, _history_lc(), {"model": "qwen-plus"}),
        li(COMPAT, _history_li(), {"model": "qwen-plus"}),
        lambda b: "reasoning_content" not in _assistant(b) and "reasoning" not in _assistant(b),
    ),
    Case(
        "vLLM: a forced tool leaves thinking on",
        lc_tools(VLLM, tool_choice="weather"),
        li_tools(VLLM, tool_choice="weather"),
        lambda b: b["tool_choice"] == FORCED and "chat_template_kwargs" not in b,
    ),
    Case(
        "Ollama: tool_choice is not sent (Ollama ignores it) and a warning says so",
        lc_tools(OLLAMA, {"model": "qwen3:8b"}, tool_choice="weather"),
        li_tools(OLLAMA, {"model": "qwen3:8b"}, tool_choice="weather"),
        lambda out: out[0] == "warned" and "tool_choice" not in out[1],
    ),
    Case(
        "vLLM: JSON output while thinking is sent (constrained after </think>)",
        lc(
            VLLM,
            "answer in JSON",
            {"enable_thinking": True, "response_format": {"type": "json_object"}},
        ),
        li(
            VLLM,
            [ChatMessage(role="user", content="answer in JSON")],
            {"enable_thinking": True, "response_format": {"type": "json_object"}},
        ),
        lambda b: (
            b["response_format"] == {"type": "json_object"}
            and b["chat_template_kwargs"] == {"enable_thinking": True}
        ),
    ),
    Case(
        "vLLM: n=2 with tools is the server's business",
        lc_tools(VLLM, {"n": 2}),
        li_tools(VLLM, {"n": 2}),
        lambda b: b["n"] == 2 and b["tools"],
    ),
    Case(
        "vLLM: an explicit cache marker is refused",
        lc(
            VLLM,
            [
                SystemMessage(
                    [{"type": "text", "text": "m", "cache_control": {"type": "ephemeral"}}]
                ),
                HumanMessage("q"),
            ],
        ),
        li(
            VLLM,
            [
                ChatMessage(
                    role="system",
                    blocks=[
                        TextBlock(text="m"),
                        CachePoint(cache_control=CacheControl(type="ephemeral")),
                    ],
                ),
                ChatMessage(role="user", content="q"),
            ],
        ),
        lambda out: out == ("InvalidRequestError", "cache_control"),
        convention="LangChain marks the block (cache_control), LlamaIndex adds a CachePoint",
    ),
    Case(
        "vLLM: web search is refused",
        lc(VLLM, HI_LC, {"enable_search": True}),
        li(VLLM, HI_LI, {"enable_search": True}),
        lambda out: out == ("InvalidRequestError", "enable_search"),
    ),
    Case(
        "a stream asks for its usage",
        lambda wire: list(chat_qwen(wire, VLLM).stream("hi")) and _body(wire),
        lambda wire: list(qwen(wire, VLLM).stream_chat(HI_LI)) and _body(wire),
        lambda b: b["stream"] is True and b["stream_options"] == {"include_usage": True},
    ),
    Case(
        "a misspelled backend is refused",
        lambda wire: chat_qwen(wire, VLLM, backend="vlm"),
        lambda wire: qwen(wire, VLLM, backend="vlm"),
        lambda out: out == ("InvalidRequestError", "backend"),
    ),
]


def _outcome(run: Callable[[Wire], Any], wire: Wire) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run(wire)
        except InvalidRequestError as exc:
            assert wire.bodies == []
            return ("InvalidRequestError", exc.param)
        except ValueError as exc:  # pydantic wraps a constructor's error
            param = getattr(exc.__cause__ or exc.__context__, "param", None)
            for error in getattr(exc, "errors", list)():
                param = getattr((error.get("ctx") or {}).get("error"), "param", param)
            assert wire.bodies == []
            return ("InvalidRequestError", param)
    ours = [w for w in caught if issubclass(w.category, UserWarning)]
    if ours:
        return ("warned", result)
    return result


def _comparable(outcome: Any) -> Any:
    """Tools by name only (each framework words descriptions its own way)."""
    if isinstance(outcome, tuple) and outcome[0] == "warned":
        return ("warned", _comparable(outcome[1]))
    if isinstance(outcome, dict) and "tools" in outcome:
        return {**outcome, "tools": [t["function"]["name"] for t in outcome["tools"]]}
    return outcome


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_adapters_send_the_same_body_on_the_openai_protocol(case: Case) -> None:
    langchain = _comparable(_outcome(case.langchain, Wire()))
    llama_index = _comparable(_outcome(case.llama_index, Wire()))
    assert case.expected(langchain), langchain
    if case.convention and isinstance(langchain, tuple):
        assert langchain[0] == llama_index[0]
        return
    assert langchain == llama_index


def test_a_call_the_server_left_as_text_is_recovered_in_both() -> None:
    answer = _completion(HERMES)
    lc_message = chat_qwen(Wire(answer=answer), VLLM).bind_tools(LC_TOOLS[:1]).invoke("hi")
    assert lc_message.tool_calls[0]["args"] == {"city": "Rome"} and lc_message.content == ""
    assert lc_message.response_metadata["tool_calls_recovered"] is True
    llm = qwen(Wire(answer=answer), VLLM)
    response = llm.chat_with_tools(LI_TOOLS[:1], "hi")
    [selection] = llm.get_tool_calls_from_response(response)
    assert selection.tool_kwargs == {"city": "Rome"}
    assert response.additional_kwargs["tool_calls_recovered"] is True


def test_reasoning_of_both_field_names_reaches_both() -> None:
    for key in ("reasoning", "reasoning_content"):
        answer = _completion("42")
        answer["choices"][0]["message"][key] = "6 x 7"
        message = chat_qwen(Wire(answer=answer), VLLM).invoke("hi")
        assert message.additional_kwargs["reasoning_content"] == "6 x 7"
        response = qwen(Wire(answer=answer), VLLM).chat(HI_LI)
        thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
        assert [b.content for b in thinking] == ["6 x 7"]


def test_structured_output_on_ollama_offers_the_tool_in_both() -> None:
    from llama_index.core.prompts import PromptTemplate
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    answer = _completion("")
    answer["choices"][0]["message"]["tool_calls"] = [
        {
            "id": "c",
            "type": "function",
            "function": {"name": "City", "arguments": '{"name": "Rome"}'},
        }
    ]
    answer["choices"][0]["finish_reason"] = "tool_calls"
    wire = Wire(answer=answer)
    city = chat_qwen(wire, OLLAMA, model="qwen3:8b").with_structured_output(City).invoke("Rome?")
    assert city == City(name="Rome")
    assert "tool_choice" not in wire.bodies[0]  # Ollama ignores it: not sent
    wire = Wire(answer=answer)
    found = qwen(wire, OLLAMA, model="qwen3:8b").structured_predict(City, PromptTemplate("Rome?"))
    assert found == City(name="Rome")
    assert "tool_choice" not in wire.bodies[0]


def test_embedding_queries_carry_the_instruction_in_both() -> None:
    model = "Qwen/Qwen3-Embedding-0.6B"
    langchain, llama_index, documents = Wire(), Wire(), Wire()
    QwenEmbeddings(
        model=model, base_url=VLLM, instruct="Find passages", http_client=langchain.clients()[0]
    ).embed_query("qwen?")
    QwenEmbedding(
        model, base_url=VLLM, instruct="Find passages", http_client=llama_index.clients()[0]
    ).get_query_embedding("qwen?")
    assert langchain.bodies == llama_index.bodies
    assert langchain.bodies[0]["input"] == ["Instruct: Find passages\nQuery:qwen?"]
    assert langchain.urls[0] == VLLM + "/embeddings"
    QwenEmbeddings(
        model=model, base_url=VLLM, instruct="x", http_client=documents.clients()[0]
    ).embed_documents(["doc"])
    assert documents.bodies[0]["input"] == ["doc"]  # documents carry no instruction
