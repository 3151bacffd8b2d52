"""Every public path of the three packages, driven the same way (sync and async twins).

``generate(path, sync, ...)`` answers one chat call, ``stream(path, sync, ...)`` consumes a
whole stream, ``embed(path, sync, ...)`` embeds a batch, each through the class a user would
use: ``client`` = ``DashScopeClient`` / ``AsyncDashScopeClient``, ``ChatQwen``, ``Qwen``,
``QwenEmbeddings``, ``QwenEmbedding``. Connection settings (``timeout``, ``max_retries``,
``default_headers``, ``http_client``) are passed under each class's own name.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests._calls import call, collect

KEY = "sk-faults-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "介绍一下杭州"}]
MOCK_BASE = "http://127.0.0.1:9/api/v1"  # never reached: an httpx.MockTransport answers

CHAT_PATHS = ("client", "ChatQwen", "Qwen")
EMBED_PATHS = ("client", "QwenEmbeddings", "QwenEmbedding")


def _settings(path: str, sync: bool, http_client: Any, settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    if http_client is not None:
        if path in ("client",):
            out["http_client"] = http_client
        elif path in ("ChatQwen", "QwenEmbeddings"):
            out["http_client" if sync else "http_async_client"] = http_client
        else:
            out["http_client" if sync else "async_http_client"] = http_client
    return out


def chat_object(
    path: str, sync: bool, *, base_url: str, http_client: Any = None, **settings: Any
) -> Any:
    """The object a user builds for chat on ``path``."""
    kwargs = _settings(path, sync, http_client, settings)
    kwargs.setdefault("api_key", KEY)
    if path == "client":
        from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

        cls = DashScopeClient if sync else AsyncDashScopeClient
        return cls(base_url=base_url, **kwargs)
    if path == "ChatQwen":
        from langchain_qwen import ChatQwen

        return ChatQwen(model="qwen-plus", base_url=base_url, **kwargs)
    from llama_index_qwen import Qwen

    return Qwen(model="qwen-plus", base_url=base_url, **kwargs)


async def generate(
    path: str,
    sync: bool,
    *,
    base_url: str,
    text: str = "介绍一下杭州",
    parameters: dict[str, Any] | None = None,
    **settings: Any,
) -> str:
    """One non-streaming chat call on a new object; the answer text."""
    obj = chat_object(path, sync, base_url=base_url, **settings)
    return await ask(obj, path, sync, text=text, parameters=parameters)


async def ask(
    obj: Any,
    path: str,
    sync: bool,
    *,
    text: str = "介绍一下杭州",
    parameters: dict[str, Any] | None = None,
) -> str:
    """One non-streaming chat call on ``obj``; ``parameters`` go to the call."""
    params = dict(parameters or {})
    if path == "client":
        messages = [{"role": "user", "content": text}]
        return str((await call(obj, "generate", "qwen-plus", messages, params)).text)
    if path == "ChatQwen":
        return str((await call(obj, "invoke", text, sync=sync, **params)).content)
    from llama_index.core.llms import ChatMessage

    chat = [ChatMessage(role="user", content=text)]
    response = await call(obj, "chat", chat, sync=sync, **params)
    return str(response.message.content)


async def stream(path: str, sync: bool, *, base_url: str, **settings: Any) -> list[str]:
    """A whole streamed chat call; the text of every delta."""
    obj = chat_object(path, sync, base_url=base_url, **settings)
    if path == "client":
        return [c.text for c in await collect(obj, "stream", "qwen-plus", MESSAGES)]
    if path == "ChatQwen":
        return [str(c.content) for c in await collect(obj, "stream", "介绍一下杭州", sync=sync)]
    from llama_index.core.llms import ChatMessage

    chat = [ChatMessage(role="user", content="介绍一下杭州")]
    return [r.delta or "" for r in await collect(obj, "stream_chat", chat, sync=sync)]


def embed_object(
    path: str, sync: bool, *, base_url: str, http_client: Any = None, **settings: Any
) -> Any:
    kwargs = _settings(path, sync, http_client, settings)
    kwargs.setdefault("api_key", KEY)
    if path == "client":
        from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

        cls = DashScopeClient if sync else AsyncDashScopeClient
        return cls(base_url=base_url, **kwargs)
    if path == "QwenEmbeddings":
        from langchain_qwen import QwenEmbeddings

        return QwenEmbeddings(base_url=base_url, **kwargs)
    from llama_index_qwen import QwenEmbedding

    return QwenEmbedding(base_url=base_url, **kwargs)


async def embed(
    path: str, sync: bool, *, base_url: str, texts: list[str] | None = None, **settings: Any
) -> list[list[float]]:
    """One embedding batch on a new object; the vectors."""
    obj = embed_object(path, sync, base_url=base_url, **settings)
    return await embed_with(obj, path, sync, texts or ["西湖在杭州。"])


async def embed_with(obj: Any, path: str, sync: bool, texts: list[str]) -> list[list[float]]:
    if path == "client":
        return [list(v) for v in (await call(obj, "embed", texts)).vectors]
    if path == "QwenEmbeddings":
        return await call(obj, "embed_documents", texts, sync=sync)  # type: ignore[no-any-return]
    return await call(obj, "get_text_embedding_batch", texts, sync=sync)  # type: ignore[no-any-return]


class Wire:
    """An ``httpx.MockTransport`` handler: answers every request well, keeps what was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        sent = json.loads(request.content)
        headers = {"x-request-id": "rid-wire"}
        if request.url.path.endswith("/text-embedding"):
            texts = sent.get("input", {}).get("texts", [])
            body = {
                "output": {
                    "embeddings": [
                        {"text_index": i, "embedding": [0.5] * 4} for i in range(len(texts))
                    ]
                },
                "usage": {"total_tokens": len(texts)},
                "request_id": "rid-wire",
            }
            return httpx.Response(200, json=body, headers=headers)
        message = {"role": "assistant", "content": "ok"}
        if request.headers.get("x-dashscope-sse") == "enable":
            event = {
                "output": {"choices": [{"message": message, "finish_reason": "stop"}]},
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
                "request_id": "rid-wire",
            }
            frame = "id:1\nevent:result\n:HTTP_STATUS/200\ndata:" + json.dumps(event) + "\n\n"
            return httpx.Response(
                200,
                content=frame.encode(),
                headers={**headers, "content-type": "text/event-stream;charset=UTF-8"},
            )
        body = {
            "output": {"choices": [{"message": message, "finish_reason": "stop"}]},
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            "request_id": "rid-wire",
        }
        return httpx.Response(200, json=body, headers=headers)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The ``parameters`` object of every request sent."""
        return [json.loads(r.content).get("parameters", {}) for r in self.requests]

    def http(self, sync: bool) -> Any:
        transport = httpx.MockTransport(self)
        return httpx.Client(transport=transport) if sync else httpx.AsyncClient(transport=transport)


def method_name(kind: str, path: str, sync: bool) -> str:
    """The public method a path uses, for test ids and messages."""
    names = {
        ("generate", "client"): ("generate", "generate"),
        ("generate", "ChatQwen"): ("invoke", "ainvoke"),
        ("generate", "Qwen"): ("chat", "achat"),
        ("stream", "client"): ("stream", "stream"),
        ("stream", "ChatQwen"): ("stream", "astream"),
        ("stream", "Qwen"): ("stream_chat", "astream_chat"),
        ("embed", "client"): ("embed", "embed"),
        ("embed", "QwenEmbeddings"): ("embed_documents", "aembed_documents"),
        ("embed", "QwenEmbedding"): ("get_text_embedding_batch", "aget_text_embedding_batch"),
    }
    sync_name, async_name = names[(kind, path)]
    return sync_name if sync else async_name
