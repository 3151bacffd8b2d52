"""Every client of the side-by-side benchmark: ours, the peers and the floors.

A ``Spec`` says how to import a client (timed cold), which floor it is compared with, and how
it is set up; ``build(spec, urls, sizes)`` makes it, behind one small interface:

* chat clients: ``invoke(text)``, ``stream(text) -> chunks``, ``ainvoke(text)``,
  ``astream(text) -> chunks``;
* embedding clients: ``embed(texts) -> vectors``.

Nothing heavy is imported here: each client's packages are imported by its builder, in the
client's own process.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LANGCHAIN, LLAMA_INDEX, RAW = "LangChain", "LlamaIndex", "raw"
MINIMAL, RAW_LLM, RAW_HTTPX, RAW_EMBED = (
    "MinimalChat",
    "RawLLM",
    "raw httpx",
    "raw httpx (embeddings)",
)
CHAT_MODEL = "qwen-plus"


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    """``chat`` or ``embeddings``."""
    framework: str
    role: str
    """``ours``, ``peer`` or ``floor``."""
    imports: str
    """The import statement timed in a fresh interpreter."""
    setup: str
    """How it is set up, for the report."""
    floor: str | None = None
    """The client it is compared with (for every row but ``import``)."""
    requires: tuple[str, ...] = ()
    """Modules that must be importable for the client to run."""
    notes: tuple[tuple[str, str], ...] = ()
    """(row kind or ``*``, note): facts about it the report prints next to those rows."""
    defaults: str = ""
    """Set: the client also runs once as set up by default; this says what the run changes."""
    io: bool = True
    """False: it makes no requests (the fake model)."""

    @property
    def available(self) -> bool:
        return all(_importable(module) for module in self.requires)

    @property
    def import_floor(self) -> str | None:
        """The floor of the ``import`` row: the framework's own chat-model stack with httpx."""
        if self.role == "floor":
            return None
        return {LANGCHAIN: MINIMAL, LLAMA_INDEX: RAW_LLM}.get(self.framework)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


OURS_LC = ("langchain_qwen", "langchain_core")
OURS_LI = ("llama_index_qwen", "llama_index.core")
DASHSCOPE_SDK = "dashscope.base_http_api_url=<native>"
SUNSET = "langchain-community warns on import that it is being sunset"
NO_STREAMING = (
    "its pre_init validator puts streaming=False in model_fields_set, which langchain-core "
    "1.x reads as streaming disabled: .stream()/.astream() make one non-streaming call"
)

SPECS: tuple[Spec, ...] = (
    Spec(
        name="ChatQwen",
        kind="chat",
        framework=LANGCHAIN,
        role="ours",
        imports="from langchain_qwen import ChatQwen",
        setup="ChatQwen(model='qwen-plus', base_url=<native>)",
        floor=MINIMAL,
        requires=OURS_LC,
    ),
    Spec(
        name="Qwen",
        kind="chat",
        framework=LLAMA_INDEX,
        role="ours",
        imports="from llama_index_qwen import Qwen",
        setup="Qwen(model='qwen-plus', base_url=<native>)",
        floor=RAW_LLM,
        requires=OURS_LI,
    ),
    Spec(
        name="ChatTongyi",
        kind="chat",
        framework=LANGCHAIN,
        role="peer",
        imports="from langchain_community.chat_models import ChatTongyi",
        setup=f"ChatTongyi(model='qwen-plus'); {DASHSCOPE_SDK}. {SUNSET}",
        floor=MINIMAL,
        requires=("langchain_community", "dashscope"),
        notes=(("stream", NO_STREAMING), ("streams", NO_STREAMING)),
    ),
    Spec(
        name="langchain-qwq ChatQwen",
        kind="chat",
        framework=LANGCHAIN,
        role="peer",
        imports="from langchain_qwq import ChatQwen",
        setup="langchain_qwq.ChatQwen(model='qwen-plus', base_url=<compatible>)",
        floor=MINIMAL,
        requires=("langchain_qwq",),
    ),
    Spec(
        name="ChatOpenAI",
        kind="chat",
        framework=LANGCHAIN,
        role="peer",
        imports="from langchain_openai import ChatOpenAI",
        setup="ChatOpenAI(model='qwen-plus', base_url=<compatible>)",
        floor=MINIMAL,
        requires=("langchain_openai",),
    ),
    Spec(
        name="DashScope (llama-index)",
        kind="chat",
        framework=LLAMA_INDEX,
        role="peer",
        imports="from llama_index.llms.dashscope import DashScope",
        setup=f"DashScope(model_name='qwen-plus', max_tokens=None); {DASHSCOPE_SDK}",
        floor=RAW_LLM,
        requires=("llama_index.llms.dashscope", "dashscope"),
        notes=(("stream", "max_tokens=None: its default (256) would cut the long answer short"),),
    ),
    Spec(
        name="OpenAILike",
        kind="chat",
        framework=LLAMA_INDEX,
        role="peer",
        imports="from llama_index.llms.openai_like import OpenAILike",
        setup="OpenAILike(model='qwen-plus', api_base=<compatible>, is_chat_model=True)",
        floor=RAW_LLM,
        requires=("llama_index.llms.openai_like",),
    ),
    Spec(
        name=RAW_HTTPX,
        kind="chat",
        framework=RAW,
        role="floor",
        imports="import httpx",
        setup="httpx.Client(); async: httpx on the aiohttp transport, no connection cap; "
        "a POST + json.loads, SSE lines + json.loads",
        requires=("httpx",),
    ),
    Spec(
        name="fake model",
        kind="chat",
        framework=LANGCHAIN,
        role="floor",
        imports="from langchain_core.language_models import GenericFakeChatModel",
        setup="langchain-core's GenericFakeChatModel: no I/O, the same message objects",
        requires=("langchain_core",),
        notes=(("async", "no I/O: langchain-core's own cost, no latency"),),
        io=False,
    ),
    Spec(
        name=MINIMAL,
        kind="chat",
        framework=LANGCHAIN,
        role="floor",
        imports="from langchain_core.language_models.chat_models import BaseChatModel; "
        "import httpx",
        setup="benchmarks.bench_langchain.MinimalChat: raw httpx inside a BaseChatModel",
        requires=OURS_LC,  # its module imports ChatQwen too
    ),
    Spec(
        name=RAW_LLM,
        kind="chat",
        framework=LLAMA_INDEX,
        role="floor",
        imports="from llama_index.core.llms import CustomLLM; import httpx",
        setup="benchmarks.bench_llama_index.RawLLM: raw httpx inside a CustomLLM",
        requires=OURS_LI,
    ),
    Spec(
        name="QwenEmbeddings",
        kind="embeddings",
        framework=LANGCHAIN,
        role="ours",
        imports="from langchain_qwen import QwenEmbeddings",
        setup="QwenEmbeddings(model='text-embedding-v4', base_url=<native>)",
        floor=RAW_EMBED,
        requires=OURS_LC,
    ),
    Spec(
        name="QwenEmbedding",
        kind="embeddings",
        framework=LLAMA_INDEX,
        role="ours",
        imports="from llama_index_qwen import QwenEmbedding",
        setup="QwenEmbedding(model_name='text-embedding-v4', base_url=<native>)",
        floor=RAW_EMBED,
        requires=OURS_LI,
    ),
    Spec(
        name="DashScopeEmbeddings",
        kind="embeddings",
        framework=LANGCHAIN,
        role="peer",
        imports="from langchain_community.embeddings import DashScopeEmbeddings",
        setup=f"DashScopeEmbeddings(model='text-embedding-v4'); {DASHSCOPE_SDK}. {SUNSET}",
        floor=RAW_EMBED,
        requires=("langchain_community", "dashscope"),
    ),
    Spec(
        name="OpenAIEmbeddings",
        kind="embeddings",
        framework=LANGCHAIN,
        role="peer",
        imports="from langchain_openai import OpenAIEmbeddings",
        setup="OpenAIEmbeddings(model='text-embedding-v4', base_url=<compatible>, "
        "chunk_size=10, check_embedding_ctx_length=False)",
        floor=RAW_EMBED,
        requires=("langchain_openai",),
        defaults="chunk_size=10 (default 1000: DashScope takes at most 10 texts per request "
        "for v4); check_embedding_ctx_length=False (default True: it tokenizes with tiktoken, "
        "which downloads its encoding)",
    ),
    Spec(
        name="DashScopeEmbedding (llama-index)",
        kind="embeddings",
        framework=LLAMA_INDEX,
        role="peer",
        imports="from llama_index.embeddings.dashscope import DashScopeEmbedding",
        setup="DashScopeEmbedding(model_name='text-embedding-v4', embed_batch_size=10); "
        + DASHSCOPE_SDK,
        floor=RAW_EMBED,
        requires=("llama_index.embeddings.dashscope", "dashscope"),
        defaults="embed_batch_size=10 (default 25: DashScope takes at most 10 texts per "
        "request for v4; the SDK's 400 answer is only logged, then llama-index-core fails on the "
        "missing vectors)",
    ),
    Spec(
        name=RAW_EMBED,
        kind="embeddings",
        framework=RAW,
        role="floor",
        imports="import httpx",
        setup="httpx.Client(): one native POST of 10 texts after another",
        requires=("httpx",),
    ),
)

BY_NAME = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True)
class Urls:
    native: str
    compatible: str

    @property
    def generation(self) -> str:
        return self.native + "/services/aigc/text-generation/generation"

    @property
    def embedding(self) -> str:
        return self.native + "/services/embeddings/text-embedding/text-embedding"


# ---------------------------------------------------------------------- the interface


class LangChainChat:
    def __init__(self, model: Any) -> None:
        self.model = model

    def invoke(self, text: str) -> str:
        return str(self.model.invoke(text).text)

    def stream(self, text: str) -> int:
        return sum(1 for _ in self.model.stream(text))

    async def ainvoke(self, text: str) -> str:
        return str((await self.model.ainvoke(text)).text)

    async def astream(self, text: str) -> int:
        chunks = 0
        async for _ in self.model.astream(text):
            chunks += 1
        return chunks


class LlamaIndexChat:
    def __init__(self, llm: Any) -> None:
        from llama_index.core.llms import ChatMessage

        self.llm, self.message = llm, ChatMessage

    def _messages(self, text: str) -> list[Any]:
        return [self.message(role="user", content=text)]

    def invoke(self, text: str) -> str:
        return str(self.llm.chat(self._messages(text)).message.content)

    def stream(self, text: str) -> int:
        return sum(1 for _ in self.llm.stream_chat(self._messages(text)))

    async def ainvoke(self, text: str) -> str:
        return str((await self.llm.achat(self._messages(text))).message.content)

    async def astream(self, text: str) -> int:
        chunks = 0
        async for _ in await self.llm.astream_chat(self._messages(text)):
            chunks += 1
        return chunks


class RawChat:
    """The raw httpx floor: ``benchmarks._measure``'s requests."""

    def __init__(self, urls: Urls) -> None:
        from . import _measure

        self.url, self.m = urls.generation, _measure
        self.http = floor_client()
        self.ahttp = unlimited_async_client()

    def invoke(self, text: str) -> str:
        return str(self.m.raw_post(self.http, self.url, text))

    def stream(self, text: str) -> int:
        return self.m.raw_stream(self.http, self.url, text)

    async def ainvoke(self, text: str) -> str:
        return str(await self.m.raw_apost(self.ahttp, self.url, text))

    async def astream(self, text: str) -> int:
        return await self.m.raw_astream(self.ahttp, self.url, text)


class FakeChat(LangChainChat):
    """GenericFakeChatModel, streaming as many chunks as the emulator would."""

    def __init__(self, sizes: dict[str, Any]) -> None:
        from langchain_core.messages import AIMessage

        from ._emulator import BURST, LONG
        from .bench_langchain import fake_model

        answer = AIMessage(
            "x",
            usage_metadata={"input_tokens": 50, "output_tokens": 50, "total_tokens": 100},
            response_metadata={"model_name": CHAT_MODEL, "finish_reason": "stop"},
        )
        self.by_marker = {
            LONG: fake_model(answer, sizes["long"]),
            BURST: fake_model(answer, sizes["burst"]),
        }
        super().__init__(fake_model(answer, 54))

    def _pick(self, text: str) -> Any:
        for marker, model in self.by_marker.items():
            if text.startswith(marker):
                return model
        return self.model

    def stream(self, text: str) -> int:
        return sum(1 for _ in self._pick(text).stream(text))

    async def astream(self, text: str) -> int:
        chunks = 0
        async for _ in self._pick(text).astream(text):
            chunks += 1
        return chunks


class LangChainEmbed:
    def __init__(self, model: Any) -> None:
        self.model = model

    def embed(self, texts: list[str]) -> list[Any]:
        return list(self.model.embed_documents(texts))


class LlamaIndexEmbed:
    def __init__(self, model: Any) -> None:
        self.model = model

    def embed(self, texts: list[str]) -> list[Any]:
        return list(self.model.get_text_embedding_batch(texts))


class RawEmbed:
    def __init__(self, urls: Urls) -> None:
        from ._measure import raw_embed

        self.url, self.http, self.raw_embed = urls.embedding, floor_client(), raw_embed

    def embed(self, texts: list[str]) -> list[Any]:
        return self.raw_embed(self.http, self.url, texts)


FLOOR_TIMEOUT = 60.0
"""The floors' timeout: the emulator builds a 5,000-event native stream before its first byte."""


def floor_client() -> Any:
    import httpx

    return httpx.Client(timeout=FLOOR_TIMEOUT)


def unlimited_async_client() -> Any:
    """The floors' async pool: httpx's API on the aiohttp transport (when installed: httpx's
    own asyncio pool costs several times its CPU per call under concurrency), with no
    practical cap on connections, so nothing queues."""
    import httpx

    limits = httpx.Limits(max_connections=10_000, max_keepalive_connections=10_000)
    try:
        from httpx_aiohttp import HttpxAiohttpClient
    except ImportError:
        return httpx.AsyncClient(limits=limits, timeout=FLOOR_TIMEOUT)
    # httpx-aiohttp maps max_connections=None to aiohttp's default cap of 100: give a number.
    return HttpxAiohttpClient(limits=limits, timeout=FLOOR_TIMEOUT)


def _dashscope(urls: Urls) -> None:
    """Point the dashscope SDK at the emulator (it also reads DASHSCOPE_HTTP_BASE_URL)."""
    import dashscope

    dashscope.base_http_api_url = urls.native


# ---------------------------------------------------------------------- builders


def _chat_qwen(urls: Urls, key: str) -> Any:
    from langchain_qwen import ChatQwen

    return LangChainChat(ChatQwen(model=CHAT_MODEL, api_key=key, base_url=urls.native))


def _qwen(urls: Urls, key: str) -> Any:
    from llama_index_qwen import Qwen

    return LlamaIndexChat(Qwen(model=CHAT_MODEL, api_key=key, base_url=urls.native))


def _chat_tongyi(urls: Urls, key: str) -> Any:
    from langchain_community.chat_models import ChatTongyi

    _dashscope(urls)
    return LangChainChat(ChatTongyi(model=CHAT_MODEL, api_key=key))


def _qwq_chat_qwen(urls: Urls, key: str) -> Any:
    from langchain_qwq import ChatQwen

    return LangChainChat(ChatQwen(model=CHAT_MODEL, api_key=key, base_url=urls.compatible))


def _chat_openai(urls: Urls, key: str) -> Any:
    from langchain_openai import ChatOpenAI

    return LangChainChat(ChatOpenAI(model=CHAT_MODEL, api_key=key, base_url=urls.compatible))


def _llama_dashscope(urls: Urls, key: str) -> Any:
    from llama_index.llms.dashscope import DashScope

    _dashscope(urls)
    return LlamaIndexChat(DashScope(model_name=CHAT_MODEL, api_key=key, max_tokens=None))


def _openai_like(urls: Urls, key: str) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(model=CHAT_MODEL, api_base=urls.compatible, api_key=key, is_chat_model=True)
    return LlamaIndexChat(llm)


def _minimal(urls: Urls, key: str) -> Any:
    from .bench_langchain import MinimalChat

    model = MinimalChat(url=urls.generation, http=floor_client(), ahttp=unlimited_async_client())
    return LangChainChat(model)


def _raw_llm(urls: Urls, key: str) -> Any:
    from .bench_llama_index import RawLLM

    llm = RawLLM(url=urls.generation, http=floor_client(), ahttp=unlimited_async_client())
    return LlamaIndexChat(llm)


def _qwen_embeddings(urls: Urls, key: str) -> Any:
    from langchain_qwen import QwenEmbeddings

    return LangChainEmbed(
        QwenEmbeddings(model="text-embedding-v4", api_key=key, base_url=urls.native)
    )


def _qwen_embedding(urls: Urls, key: str) -> Any:
    from llama_index_qwen import QwenEmbedding

    return LlamaIndexEmbed(
        QwenEmbedding(model_name="text-embedding-v4", api_key=key, base_url=urls.native)
    )


def _dashscope_embeddings(urls: Urls, key: str) -> Any:
    from langchain_community.embeddings import DashScopeEmbeddings

    _dashscope(urls)
    return LangChainEmbed(DashScopeEmbeddings(model="text-embedding-v4", dashscope_api_key=key))


def _openai_embeddings(urls: Urls, key: str, defaults: bool = False) -> Any:
    from langchain_openai import OpenAIEmbeddings

    tuned: dict[str, Any] = {} if defaults else {"chunk_size": 10}
    if not defaults:
        tuned["check_embedding_ctx_length"] = False
    return LangChainEmbed(
        OpenAIEmbeddings(model="text-embedding-v4", api_key=key, base_url=urls.compatible, **tuned)
    )


def _llama_dashscope_embedding(urls: Urls, key: str, defaults: bool = False) -> Any:
    from llama_index.embeddings.dashscope import DashScopeEmbedding

    _dashscope(urls)
    tuned = {} if defaults else {"embed_batch_size": 10}
    return LlamaIndexEmbed(DashScopeEmbedding(model_name="text-embedding-v4", api_key=key, **tuned))


BUILDERS: dict[str, Callable[..., Any]] = {
    "ChatQwen": _chat_qwen,
    "Qwen": _qwen,
    "ChatTongyi": _chat_tongyi,
    "langchain-qwq ChatQwen": _qwq_chat_qwen,
    "ChatOpenAI": _chat_openai,
    "DashScope (llama-index)": _llama_dashscope,
    "OpenAILike": _openai_like,
    RAW_HTTPX: lambda urls, key: RawChat(urls),
    MINIMAL: _minimal,
    RAW_LLM: _raw_llm,
    "QwenEmbeddings": _qwen_embeddings,
    "QwenEmbedding": _qwen_embedding,
    "DashScopeEmbeddings": _dashscope_embeddings,
    "OpenAIEmbeddings": _openai_embeddings,
    "DashScopeEmbedding (llama-index)": _llama_dashscope_embedding,
    RAW_EMBED: lambda urls, key: RawEmbed(urls),
}


def build(name: str, urls: Urls, key: str, sizes: dict[str, Any], defaults: bool = False) -> Any:
    """Make the named client (``defaults``: as set up by default, where that differs)."""
    if name == "fake model":
        return FakeChat(sizes)
    if defaults:
        return BUILDERS[name](urls, key, defaults=True)
    return BUILDERS[name](urls, key)
