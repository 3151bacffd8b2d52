"""The same input through both adapters: the same wire request, or the same error.

One table of cases (STYLE.md §12). Each case states the call in LangChain's terms and in
LlamaIndex's; both run against an ``httpx.MockTransport`` that records the request body. A
difference between the two is a bug, or a row marked ``convention`` that says why the
frameworks differ (the name of a parameter, the type that holds a result).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    ImageBlock,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import FunctionTool

from langchain_qwen import ChatQwen, QwenEmbeddings, QwenMultimodalEmbeddings
from langchain_qwen import QwenRerank as LangChainRerank
from llama_index_qwen import Qwen, QwenEmbedding, QwenMultiModalEmbedding
from llama_index_qwen import QwenRerank as LlamaIndexRerank
from llama_index_qwen._convert import INVALID_ARGUMENTS_KEY
from qwen_dashscope import InvalidRequestError

KEY = "sk-conformance"
URL = "https://example.com/cat.png"


def weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: sunny"


def clock(zone: str) -> str:
    """Current time in a time zone."""
    return zone


LC_TOOLS = [weather, clock]
LI_TOOLS = [FunctionTool.from_defaults(fn=weather), FunctionTool.from_defaults(fn=clock)]


def _answer(text: str = "ok", tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish = "stop"
    if tool_calls:
        message["tool_calls"] = tool_calls
        finish = "tool_calls"
    return {
        "output": {"choices": [{"finish_reason": finish, "index": 0, "message": message}]},
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
        "request_id": "rid-conformance",
    }


def _rerank_answer(body: dict[str, Any]) -> dict[str, Any]:
    documents = body.get("documents") or body["input"]["documents"]
    results = [{"index": i, "relevance_score": 1 / (i + 1)} for i in range(len(documents))]
    if "documents" in body:  # the compatible endpoint's flat answer
        return {"object": "list", "results": results, "id": "r", "usage": {"total_tokens": 1}}
    return {"output": {"results": results}, "usage": {"total_tokens": 1}, "request_id": "r"}


def _mm_answer(body: dict[str, Any]) -> dict[str, Any]:
    items = [{"index": i, "embedding": [1.0, 0.0]} for i in range(len(body["input"]["contents"]))]
    return {"output": {"embeddings": items}, "usage": {"total_tokens": 1}, "request_id": "m"}


def _sse(body: dict[str, Any]) -> bytes:
    return f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(body)}\n\n".encode()


@dataclass
class Wire:
    """What reached the (mock) network."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=_answer)
    urls: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        self.headers.append(request.headers)
        self.urls.append(str(request.url))
        if request.url.path.endswith(("/reranks", "/text-rerank")):
            return httpx.Response(200, json=_rerank_answer(self.bodies[-1]))
        if request.url.path.endswith("/multimodal-embedding"):
            return httpx.Response(200, json=_mm_answer(self.bodies[-1]))
        if "text/event-stream" in request.headers.get("accept", ""):
            return httpx.Response(
                200, content=_sse(self.answer), headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=self.answer)

    def clients(self) -> dict[str, Any]:
        transport = httpx.MockTransport(self.handler)
        return {
            "sync": httpx.Client(transport=transport),
            "async": httpx.AsyncClient(transport=transport),
        }


def chat_qwen(wire: Wire, **kwargs: Any) -> ChatQwen:
    clients = wire.clients()
    return ChatQwen(
        api_key=KEY, http_client=clients["sync"], http_async_client=clients["async"], **kwargs
    )


def qwen(wire: Wire, **kwargs: Any) -> Qwen:
    clients = wire.clients()
    return Qwen(
        api_key=KEY, http_client=clients["sync"], async_http_client=clients["async"], **kwargs
    )


Outcome = dict[str, Any] | type[BaseException]


@dataclass(frozen=True)
class Case:
    """``langchain(wire)`` / ``llama_index(wire)`` make the call and return what to compare:
    the request body sent (default), or a value derived from the answer."""

    name: str
    langchain: Callable[[Wire], Any]
    llama_index: Callable[[Wire], Any]
    convention: str | None = None
    """Why the two results may differ in form (they must still mean the same)."""


def _body(wire: Wire) -> dict[str, Any]:
    assert len(wire.bodies) == 1, wire.bodies
    return wire.bodies[0]


def lc_invoke(
    messages: Any, init: dict[str, Any] | None = None, **kwargs: Any
) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        chat_qwen(wire, **(init or {})).invoke(messages, **kwargs)
        return _body(wire)

    return run


def li_chat(
    messages: Any, init: dict[str, Any] | None = None, **kwargs: Any
) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        qwen(wire, **(init or {})).chat(messages, **dict(kwargs))
        return _body(wire)

    return run


def lc_tools(
    messages: Any,
    tools: list[Any],
    init: dict[str, Any] | None = None,
    bind: dict[str, Any] | None = None,
) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        chat_qwen(wire, **(init or {})).bind_tools(tools, **(bind or {})).invoke(messages)
        return _body(wire)

    return run


def li_tools(
    user: str, tools: list[Any], init: dict[str, Any] | None = None, **kwargs: Any
) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        qwen(wire, **(init or {})).chat_with_tools(tools, user, **kwargs)
        return _body(wire)

    return run


FORCED_WEATHER = {"type": "function", "function": {"name": "weather"}}
TEXTS = ["TeaBot warranty", "green tea", "the warranty lasts two years"]
IMAGE = str(Path(__file__).resolve().parents[1] / "fixtures" / "images" / "teapot.png")


def _sent(wire: Wire) -> dict[str, Any]:
    """Every request a retrieval call sent: URLs and bodies."""
    return {"urls": wire.urls, "bodies": wire.bodies}


def lc_rerank(texts: list[str], query: str = "warranty", **init: Any) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        clients = wire.clients()
        reranker = LangChainRerank(
            api_key=KEY, http_client=clients["sync"], http_async_client=clients["async"], **init
        )
        reranker.compress_documents([Document(text) for text in texts], query)
        return _sent(wire)

    return run


def li_rerank(texts: list[str], query: str = "warranty", **init: Any) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        clients = wire.clients()
        reranker = LlamaIndexRerank(
            api_key=KEY, http_client=clients["sync"], async_http_client=clients["async"], **init
        )
        nodes = [NodeWithScore(node=TextNode(text=text)) for text in texts]
        reranker.postprocess_nodes(nodes, query_str=query)
        return _sent(wire)

    return run


def lc_images(**init: Any) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        clients = wire.clients()
        QwenMultimodalEmbeddings(api_key=KEY, http_client=clients["sync"], **init).embed_image(
            [IMAGE]
        )
        return _sent(wire)

    return run


def li_images(**init: Any) -> Callable[[Wire], Any]:
    def run(wire: Wire) -> Any:
        clients = wire.clients()
        QwenMultiModalEmbedding(
            api_key=KEY, http_client=clients["sync"], **init
        ).get_image_embedding_batch([IMAGE])
        return _sent(wire)

    return run


CASES = [
    Case(
        "two text blocks are joined as given",
        lc_invoke([HumanMessage([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])]),
        li_chat([ChatMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")])]),
    ),
    Case(
        "a conversation with tool calls and results",
        lc_invoke(
            [
                SystemMessage("be brief"),
                HumanMessage("weather?"),
                AIMessage(
                    "",
                    tool_calls=[{"name": "weather", "args": {"city": "杭州"}, "id": "call_1"}],
                ),
                ToolMessage("sunny", tool_call_id="call_1"),
            ]
        ),
        li_chat(
            [
                ChatMessage(role="system", content="be brief"),
                ChatMessage(role="user", content="weather?"),
                ChatMessage(
                    role="assistant",
                    blocks=[
                        ToolCallBlock(
                            tool_call_id="call_1", tool_name="weather", tool_kwargs={"city": "杭州"}
                        )
                    ],
                ),
                ChatMessage(
                    role="tool", content="sunny", additional_kwargs={"tool_call_id": "call_1"}
                ),
            ]
        ),
    ),
    Case(
        "an image goes to the multimodal endpoint",
        lc_invoke(
            [HumanMessage([{"type": "image", "url": URL}, {"type": "text", "text": "what?"}])],
            init={"model": "qwen3-vl-plus"},
        ),
        li_chat(
            [ChatMessage(role="user", blocks=[ImageBlock(url=URL), TextBlock(text="what?")])],
            init={"model": "qwen3-vl-plus"},
        ),
    ),
    Case(
        "every generation parameter reaches the request",
        lc_invoke(
            "hi",
            init={
                "temperature": 0.3,
                "top_p": 0.9,
                "top_k": 40,
                "max_tokens": 100,
                "seed": 7,
                "stop": ["END"],
                "repetition_penalty": 1.1,
                "presence_penalty": 0.5,
                "n": 1,
                "enable_search": True,
                "search_options": {"enable_source": True},
                "enable_thinking": False,
                "thinking_budget": 50,
                "logprobs": True,
                "top_logprobs": 2,
            },
        ),
        li_chat(
            [ChatMessage(role="user", content="hi")],
            init={
                "temperature": 0.3,
                "top_p": 0.9,
                "top_k": 40,
                "max_tokens": 100,
                "seed": 7,
                "stop": ["END"],
                "repetition_penalty": 1.1,
                "presence_penalty": 0.5,
                "n": 1,
                "enable_search": True,
                "search_options": {"enable_source": True},
                "enable_thinking": False,
                "thinking_budget": 50,
                "logprobs": True,
                "top_logprobs": 2,
            },
        ),
    ),
    Case(
        "n=2 asks for two answers",
        lc_invoke("hi", init={"n": 2}),
        li_chat([ChatMessage(role="user", content="hi")], init={"n": 2}),
    ),
    Case(
        "n=2 cannot be streamed",
        lambda wire: list(chat_qwen(wire, n=2).stream("hi")),
        lambda wire: list(qwen(wire, n=2).stream_chat([ChatMessage(role="user", content="hi")])),
    ),
    Case(
        "n=2 with tools is refused",
        lc_tools("hi", LC_TOOLS, init={"n": 2}),
        li_tools("hi", LI_TOOLS, init={"n": 2}),
    ),
    Case(
        "tool_choice='any' with one tool forces it by name",
        lc_tools("hi", LC_TOOLS[:1], bind={"tool_choice": "any"}),
        li_tools("hi", LI_TOOLS[:1], tool_choice="any"),
    ),
    Case(
        "tool_required / 'required' with several tools sends 'required'",
        lc_tools("hi", LC_TOOLS, bind={"tool_choice": "required", "parallel_tool_calls": True}),
        li_tools("hi", LI_TOOLS, tool_required=True, allow_parallel_tool_calls=True),
        convention="LangChain spells it tool_choice='required', LlamaIndex tool_required=True",
    ),
    Case(
        "a tool named by tool_choice is forced",
        lc_tools("hi", LC_TOOLS, bind={"tool_choice": "clock", "parallel_tool_calls": True}),
        li_tools("hi", LI_TOOLS, tool_choice="clock", allow_parallel_tool_calls=True),
    ),
    Case(
        "a dict tool_choice naming a tool that is not bound is refused",
        lc_tools(
            "hi",
            LC_TOOLS[:1],
            bind={"tool_choice": {"type": "function", "function": {"name": "nope"}}},
        ),
        li_tools(
            "hi", LI_TOOLS[:1], tool_choice={"type": "function", "function": {"name": "nope"}}
        ),
    ),
    Case(
        "a per-call tool_choice='any' is mapped like a bound one",
        lc_invoke("hi", tools=[convert_to_openai_tool(weather)], tool_choice="any"),
        li_chat(
            [ChatMessage(role="user", content="hi")],
            tools=[LI_TOOLS[0].metadata.to_openai_tool(skip_length_check=True)],
            tool_choice="any",
        ),
    ),
    Case(
        "a forced tool on a hybrid model sends enable_thinking=False",
        lc_tools("hi", LC_TOOLS[:1], bind={"tool_choice": "weather"}, init={"model": "qwen3-32b"}),
        li_tools("hi", LI_TOOLS[:1], tool_choice="weather", init={"model": "qwen3-32b"}),
    ),
    Case(
        "a forced tool with enable_thinking=True is refused",
        lc_tools("hi", LC_TOOLS[:1], bind={"tool_choice": "any"}, init={"enable_thinking": True}),
        li_tools("hi", LI_TOOLS[:1], tool_required=True, init={"enable_thinking": True}),
    ),
    Case(
        "a forced tool on a model that always thinks is refused",
        lc_tools("hi", LC_TOOLS[:1], bind={"tool_choice": "any"}, init={"model": "qwq-plus"}),
        li_tools("hi", LI_TOOLS[:1], tool_required=True, init={"model": "qwq-plus"}),
    ),
    Case(
        "JSON mode on a hybrid model sends enable_thinking=False",
        lc_invoke("answer in JSON", init={"response_format": {"type": "json_object"}}),
        li_chat(
            [ChatMessage(role="user", content="answer in JSON")],
            init={"response_format": {"type": "json_object"}},
        ),
    ),
    Case(
        "JSON mode on a model that always thinks is refused",
        lc_invoke(
            "answer in JSON", init={"model": "qwq-plus"}, response_format={"type": "json_object"}
        ),
        li_chat(
            [ChatMessage(role="user", content="answer in JSON")],
            init={"model": "qwq-plus"},
            response_format={"type": "json_object"},
        ),
    ),
    Case(
        "JSON mode without the word json is refused",
        lc_invoke("hi", response_format={"type": "json_object"}),
        li_chat([ChatMessage(role="user", content="hi")], response_format={"type": "json_object"}),
    ),
    Case(
        "an explicit cache marker is forwarded",
        lc_invoke(
            [
                SystemMessage(
                    [{"type": "text", "text": "manual", "cache_control": {"type": "ephemeral"}}]
                ),
                HumanMessage("q"),
            ]
        ),
        li_chat(
            [
                ChatMessage(
                    role="system",
                    blocks=[
                        TextBlock(text="manual"),
                        CachePoint(cache_control=CacheControl(type="ephemeral")),
                    ],
                ),
                ChatMessage(role="user", content="q"),
            ]
        ),
        convention="LangChain marks the block (cache_control), LlamaIndex adds a CachePoint",
    ),
    Case(
        "a cache marker DashScope does not support is refused",
        lc_invoke(
            [HumanMessage([{"type": "text", "text": "q", "cache_control": {"type": "persistent"}}])]
        ),
        li_chat(
            [
                ChatMessage(
                    role="user",
                    blocks=[
                        TextBlock(text="q"),
                        CachePoint(cache_control=CacheControl(type="persistent")),
                    ],
                )
            ]
        ),
    ),
    Case(
        "a final assistant prefix is sent in partial mode",
        lc_invoke([HumanMessage("poem"), AIMessage("春眠", additional_kwargs={"partial": True})]),
        li_chat(
            [
                ChatMessage(role="user", content="poem"),
                ChatMessage(role="assistant", content="春眠", additional_kwargs={"partial": True}),
            ]
        ),
    ),
    Case(
        "partial mode while thinking is refused",
        lc_invoke(
            [HumanMessage("poem"), AIMessage("春眠", additional_kwargs={"partial": True})],
            init={"enable_thinking": True},
        ),
        li_chat(
            [
                ChatMessage(role="user", content="poem"),
                ChatMessage(role="assistant", content="春眠", additional_kwargs={"partial": True}),
            ],
            init={"enable_thinking": True},
        ),
    ),
    Case(
        "stream=True on a whole-answer call streams and aggregates",
        lc_invoke("hi", stream=True),
        li_chat([ChatMessage(role="user", content="hi")], stream=True),
    ),
    Case(
        "a model that only answers streams is streamed internally",
        lc_invoke("hi", init={"model": "qwen3-235b-a22b-thinking-2507"}),
        li_chat(
            [ChatMessage(role="user", content="hi")],
            init={"model": "qwen3-235b-a22b-thinking-2507"},
        ),
    ),
    Case(
        "a credential under another provider's name is refused",
        lambda wire: chat_qwen(wire, openai_api_key="sk-leak"),
        lambda wire: qwen(wire, openai_api_key="sk-leak"),
    ),
    Case(
        "a misspelled field is refused with the field's name",
        lambda wire: chat_qwen(wire, temprature=0.5),
        lambda wire: qwen(wire, temprature=0.5),
    ),
    Case(
        "an embedding batch over the model's limit is refused",
        lambda wire: QwenEmbeddings(api_key=KEY, batch_size=50),
        lambda wire: QwenEmbedding(api_key=KEY, embed_batch_size=50),
        convention="the framework's name: batch_size (LangChain), embed_batch_size (LlamaIndex)",
    ),
    Case(
        "rerank: qwen3-rerank goes flat to the compatible endpoint",
        lc_rerank(TEXTS, top_n=2, instruct="Retrieve semantically similar text."),
        li_rerank(TEXTS, top_n=2, instruct="Retrieve semantically similar text."),
    ),
    Case(
        "rerank: gte-rerank-v2 goes nested to the native endpoint",
        lc_rerank(TEXTS, model="gte-rerank-v2", top_n=None),
        li_rerank(TEXTS, model="gte-rerank-v2", top_n=None),
    ),
    Case(
        "rerank: a list over the model's limit is split into requests",
        lc_rerank([f"doc {i}" for i in range(130)], model="qwen3-vl-rerank", top_n=5),
        li_rerank([f"doc {i}" for i in range(130)], model="qwen3-vl-rerank", top_n=5),
    ),
    Case(
        "rerank: instruct for a model that does not read it is refused",
        lc_rerank(TEXTS, model="gte-rerank-v2", instruct="x"),
        li_rerank(TEXTS, model="gte-rerank-v2", instruct="x"),
    ),
    Case(
        "rerank: a document over the model's token limit is refused",
        lc_rerank(["word " * 5000]),
        li_rerank(["word " * 5000]),
    ),
    Case(
        "rerank: a misspelled field is refused with the field's name",
        lc_rerank(TEXTS, topn=2),
        li_rerank(TEXTS, topn=2),
    ),
    Case(
        "multimodal embedding: a local image goes as a data URI",
        lc_images(model="qwen3-vl-embedding", dimensions=256),
        li_images(model_name="qwen3-vl-embedding", dimensions=256),
    ),
]


def _outcome(run: Callable[[Wire], Any], wire: Wire) -> Any:
    """The body sent, or the error raised (its class and the parameter it names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return run(wire)
        except InvalidRequestError as exc:
            assert wire.bodies == [], "an invalid request must fail before anything is sent"
            return ("InvalidRequestError", exc.param)
        except ValueError as exc:  # pydantic wraps our error when a constructor refuses
            cause = exc.__cause__ or exc.__context__
            param = getattr(cause, "param", None)
            for error in getattr(exc, "errors", list)():
                inner = (error.get("ctx") or {}).get("error")
                param = getattr(inner, "param", param)
            assert wire.bodies == []
            return ("InvalidRequestError", param)


PARAM_NAMES = {"batch_size": "batch size", "embed_batch_size": "batch size"}


def _comparable(outcome: Any) -> Any:
    """Tools by name only: each framework turns functions into tool schemas with its own
    converter (LangChain's convert_to_openai_tool, LlamaIndex's ToolMetadata), which word the
    description differently (framework convention); the rest of the request must match."""
    if isinstance(outcome, dict) and "tools" in outcome.get("parameters", {}):
        parameters = dict(outcome["parameters"])
        parameters["tools"] = [t["function"]["name"] for t in parameters["tools"]]
        return {**outcome, "parameters": parameters}
    return outcome


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_adapters_send_the_same_request_or_raise_the_same_error(case: Case) -> None:
    langchain = _comparable(_outcome(case.langchain, Wire()))
    llama_index = _comparable(_outcome(case.llama_index, Wire()))
    if case.convention and isinstance(langchain, tuple):
        # Only the parameter's name differs between the frameworks.
        assert langchain[0] == llama_index[0]
        assert PARAM_NAMES.get(langchain[1], langchain[1]) == PARAM_NAMES.get(
            llama_index[1], llama_index[1]
        )
        return
    assert langchain == llama_index


EXPECTED = {
    "two text blocks are joined as given": lambda body: (
        body["input"]["messages"] == [{"role": "user", "content": "ab"}]
    ),
    "n=2 asks for two answers": lambda body: body["parameters"]["n"] == 2,
    "n=2 cannot be streamed": lambda out: out == ("InvalidRequestError", "n"),
    "n=2 with tools is refused": lambda out: out == ("InvalidRequestError", "n"),
    "tool_choice='any' with one tool forces it by name": lambda body: (
        body["parameters"]["tool_choice"] == FORCED_WEATHER
    ),
    "tool_required / 'required' with several tools sends 'required'": lambda body: (
        body["parameters"]["tool_choice"] == "required"
    ),
    "a tool named by tool_choice is forced": lambda body: (
        body["parameters"]["tool_choice"] == {"type": "function", "function": {"name": "clock"}}
    ),
    "a dict tool_choice naming a tool that is not bound is refused": lambda out: (
        out == ("InvalidRequestError", "tool_choice")
    ),
    "a per-call tool_choice='any' is mapped like a bound one": lambda body: (
        body["parameters"]["tool_choice"] == FORCED_WEATHER
    ),
    "a forced tool on a hybrid model sends enable_thinking=False": lambda body: (
        body["parameters"]["enable_thinking"] is False
    ),
    "a forced tool with enable_thinking=True is refused": lambda out: (
        out == ("InvalidRequestError", "tool_choice")
    ),
    "a forced tool on a model that always thinks is refused": lambda out: (
        out == ("InvalidRequestError", "tool_choice")
    ),
    "JSON mode on a hybrid model sends enable_thinking=False": lambda body: (
        body["parameters"]["enable_thinking"] is False
    ),
    "JSON mode on a model that always thinks is refused": lambda out: (
        out == ("InvalidRequestError", "response_format")
    ),
    "JSON mode without the word json is refused": lambda out: (
        out == ("InvalidRequestError", "response_format")
    ),
    "an explicit cache marker is forwarded": lambda body: (
        body["input"]["messages"][0]
        == {
            "role": "system",
            "content": [{"type": "text", "text": "manual", "cache_control": {"type": "ephemeral"}}],
        }
    ),
    "a cache marker DashScope does not support is refused": lambda out: (
        out == ("InvalidRequestError", "cache_control")
    ),
    "a final assistant prefix is sent in partial mode": lambda body: (
        body["input"]["messages"][-1] == {"role": "assistant", "content": "春眠", "partial": True}
    ),
    "partial mode while thinking is refused": lambda out: out == ("InvalidRequestError", "partial"),
    "stream=True on a whole-answer call streams and aggregates": lambda body: (
        body["parameters"]["incremental_output"] is True
    ),
    "a model that only answers streams is streamed internally": lambda body: (
        body["parameters"]["incremental_output"] is True
    ),
    "a credential under another provider's name is refused": lambda out: (
        out == ("InvalidRequestError", "api_key")
    ),
    "a misspelled field is refused with the field's name": lambda out: (
        out == ("InvalidRequestError", "temprature")
    ),
    "rerank: qwen3-rerank goes flat to the compatible endpoint": lambda out: (
        out["urls"] == ["https://dashscope.aliyuncs.com/compatible-api/v1/reranks"]
        and out["bodies"]
        == [
            {
                "model": "qwen3-rerank",
                "query": "warranty",
                "documents": TEXTS,
                "top_n": 2,
                "instruct": "Retrieve semantically similar text.",
            }
        ]
    ),
    "rerank: gte-rerank-v2 goes nested to the native endpoint": lambda out: (
        out["urls"]
        == ["https://dashscope.aliyuncs.com/api/v1/services/rerank/text-rerank/text-rerank"]
        and out["bodies"]
        == [
            {
                "model": "gte-rerank-v2",
                "input": {"query": "warranty", "documents": TEXTS},
                "parameters": {},
            }
        ]
    ),
    "rerank: a list over the model's limit is split into requests": lambda out: (
        [len(b["input"]["documents"]) for b in out["bodies"]] == [100, 30]
        and [b["parameters"]["top_n"] for b in out["bodies"]] == [5, 5]
    ),
    "rerank: instruct for a model that does not read it is refused": lambda out: (
        out == ("InvalidRequestError", "instruct")
    ),
    "rerank: a document over the model's token limit is refused": lambda out: (
        out == ("InvalidRequestError", "documents")
    ),
    "rerank: a misspelled field is refused with the field's name": lambda out: (
        out == ("InvalidRequestError", "topn")
    ),
    "multimodal embedding: a local image goes as a data URI": lambda out: (
        out["bodies"][0]["input"]["contents"][0]["image"].startswith("data:image/png;base64,")
        and out["bodies"][0]["parameters"] == {"dimension": 256}
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_what_the_shared_outcome_is(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    assert EXPECTED[name](_outcome(case.langchain, Wire()))


def test_every_case_is_pinned_or_plain_wire() -> None:
    plain = {
        "a conversation with tool calls and results",
        "an image goes to the multimodal endpoint",
        "every generation parameter reaches the request",
        "an embedding batch over the model's limit is refused",
    }
    assert {c.name for c in CASES} == set(EXPECTED) | plain


# ------------------------------------------------------------------ answers, both ways


def _truncated_call() -> dict[str, Any]:
    return _answer(
        "",
        [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"a": '},
            }
        ],
    )


def test_truncated_arguments_at_the_end_are_an_invalid_call_in_both() -> None:
    wire = Wire(answer=_truncated_call())
    message = chat_qwen(wire).bind_tools(LC_TOOLS[:1]).invoke("hi")
    assert message.tool_calls == []
    assert [c["args"] for c in message.invalid_tool_calls] == ['{"a": ']

    wire = Wire(answer=_truncated_call())
    llm = qwen(wire)
    response = llm.chat_with_tools(LI_TOOLS[:1], "hi")
    [block] = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert block.tool_kwargs == '{"a": '  # the raw string, never {"a": None}
    [selection] = llm.get_tool_calls_from_response(response)
    assert set(selection.tool_kwargs) == {INVALID_ARGUMENTS_KEY}  # a call the tool refuses


def test_truncated_arguments_in_a_streamed_answer() -> None:
    # LangChain aggregates stream chunks itself (AIMessageChunk addition, lenient by design):
    # framework convention. The answer served by streaming *inside* invoke is strict, as is
    # LlamaIndex's last streamed item.
    body = _truncated_call()
    wire = Wire(answer=body)
    chunks = list(chat_qwen(wire).bind_tools(LC_TOOLS[:1]).stream("hi"))
    aggregate = chunks[0]
    for chunk in chunks[1:]:
        aggregate += chunk
    assert aggregate.tool_call_chunks[0]["args"] == '{"a": '  # the raw string is kept

    wire = Wire(answer=body)
    thinking = chat_qwen(wire, model="qwen3-235b-a22b-thinking-2507").invoke("hi")
    assert [c["args"] for c in thinking.invalid_tool_calls] == ['{"a": ']

    wire = Wire(answer=body)
    llm = qwen(wire)
    *_, last = llm.stream_chat_with_tools(LI_TOOLS[:1], "hi")
    [selection] = llm.get_tool_calls_from_response(last)
    assert set(selection.tool_kwargs) == {INVALID_ARGUMENTS_KEY}


def test_two_answers_reach_the_caller_in_both() -> None:
    body = _answer("A")
    body["output"]["choices"].append(
        {"finish_reason": "stop", "index": 1, "message": {"role": "assistant", "content": "B"}}
    )
    result = chat_qwen(Wire(answer=body), n=2).generate([[HumanMessage("hi")]])
    assert [g.message.content for g in result.generations[0]] == ["A", "B"]
    response = qwen(Wire(answer=body), n=2).chat([ChatMessage(role="user", content="hi")])
    assert [m.content for m in response.additional_kwargs["choices"]] == ["A", "B"]


def test_more_than_four_cache_markers_warn_in_both() -> None:
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    with pytest.warns(UserWarning, match="only the last 4"):
        chat_qwen(Wire()).invoke([HumanMessage([marked] * 5)])
    blocks: list[Any] = []
    for _ in range(5):
        blocks += [TextBlock(text="x"), CachePoint(cache_control=CacheControl(type="ephemeral"))]
    with pytest.warns(UserWarning, match="only the last 4"):
        qwen(Wire()).chat([ChatMessage(role="user", blocks=blocks)])


def iter_cases() -> Iterator[str]:  # pragma: no cover - documentation aid
    yield from (c.name for c in CASES)


PAIRS = [
    (ChatQwen, Qwen, "qwen-max"),
    (QwenEmbeddings, QwenEmbedding, "text-embedding-v3"),
    (QwenMultimodalEmbeddings, QwenMultiModalEmbedding, "qwen3-vl-embedding"),
    (LangChainRerank, LlamaIndexRerank, "gte-rerank-v2"),
]


@pytest.mark.parametrize(
    ("lc_class", "li_class", "model"), PAIRS, ids=[p[0].__name__ for p in PAIRS]
)
def test_the_peer_spellings_of_the_settings_mean_the_same_in_both(
    lc_class: Any, li_class: Any, model: str
) -> None:
    """``model_name``, ``api_base``, ``dashscope_api_key`` and ``request_timeout`` (the names
    ChatTongyi, langchain-qwq, OpenAILike and llama-index-llms-dashscope use) are accepted by
    every class of both adapters and give the same connection as the field names."""
    spelled = {
        "model_name": model,
        "api_base": "http://127.0.0.1:9/api/v1",
        "dashscope_api_key": KEY,
        "request_timeout": 7,
    }
    fields = {"model": model, "base_url": spelled["api_base"], "api_key": KEY, "timeout": 7}
    built = [cls(**kwargs) for cls in (lc_class, li_class) for kwargs in (spelled, fields)]
    seen = [
        (
            getattr(obj, "model", None) or obj.model_name,  # LlamaIndex embeddings: model_name
            obj._connection()["base_url"],
            obj._connection()["api_key"].get_secret_value(),
            obj._connection()["timeout"],
        )
        for obj in built
    ]
    assert seen == [(model, "http://127.0.0.1:9/api/v1", KEY, 7)] * 4


PEER_CASES = [
    ("text_type", "document", (QwenEmbeddings, QwenEmbedding), "embed_query"),
    ("extra_body", {"enable_thinking": False}, (ChatQwen, Qwen), "enable_thinking=..."),
    ("max_completion_tokens", 100, (ChatQwen, Qwen), "max_tokens=..."),
]


@pytest.mark.parametrize(
    ("name", "value", "classes", "fix"), PEER_CASES, ids=[c[0] for c in PEER_CASES]
)
def test_a_peer_keyword_handled_another_way_names_the_fix_in_both(
    name: str, value: Any, classes: tuple[Any, Any], fix: str
) -> None:
    """Never sent as a parameter nor dropped: the same error, naming what to do instead."""
    for cls in classes:
        with pytest.raises(ValueError) as caught:
            cls(api_key=KEY, **{name: value})
        assert fix in str(caught.value) and name in str(caught.value), cls


@pytest.mark.parametrize(
    ("lc_class", "li_class", "model"), PAIRS, ids=[p[0].__name__ for p in PAIRS]
)
def test_an_explicit_region_beats_the_environments_base_url_in_both(
    lc_class: Any, li_class: Any, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DASHSCOPE_HTTP_BASE_URL`` applies when neither ``base_url`` nor ``region`` is given
    (LangChain used to read it into ``base_url`` and then refuse ``region`` as a conflict)."""
    from qwen_dashscope import ClientSettings

    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1")
    for cls in (lc_class, li_class):
        regional = ClientSettings.resolve(**cls(api_key=KEY, region="singapore")._connection())
        assert regional.base_url == "https://dashscope-intl.aliyuncs.com/api/v1", cls
        default = ClientSettings.resolve(**cls(api_key=KEY)._connection())
        assert default.base_url == "http://127.0.0.1:9/api/v1", cls


@pytest.mark.parametrize(
    ("lc_class", "li_class", "model"), PAIRS[1:], ids=[p[0].__name__ for p in PAIRS[1:]]
)
def test_a_model_of_another_endpoint_is_refused_alike_in_both(
    lc_class: Any, li_class: Any, model: str
) -> None:
    """A chat model given to an embedding or rerank class (and a rerank model to an embedding
    class) is refused at construction by the one core rule, naming the field and a model to
    use; the two adapters differ only in the field's name (LlamaIndex embeddings:
    ``model_name``)."""
    from qwen_dashscope import check_model_endpoint, get_model_capabilities

    endpoint = get_model_capabilities(model).endpoint
    for wrong in ("qwen-plus", "qwen3-rerank" if endpoint != "rerank" else "text-embedding-v4"):
        messages = []
        for cls in (lc_class, li_class):
            with pytest.raises(ValueError) as caught:
                cls(api_key=KEY, model=wrong)
            messages.append(str(caught.value))
        param = "model_name" if li_class in (QwenEmbedding, QwenMultiModalEmbedding) else "model"
        for message, name in zip(messages, ("model", param), strict=True):
            with pytest.raises(InvalidRequestError) as expected:
                check_model_endpoint(wrong, endpoint, param=name)
            assert str(expected.value).split(" (request_id")[0] in message, (name, message)
