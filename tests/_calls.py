"""Calling the package the way the tests do: its classes built against an emulator, one call
made sync or async through one function, a stream collected.

- ``chat_qwen`` / ``qwen_embeddings`` (LangChain), ``qwen_llm`` / ``qwen_embedding``
  (LlamaIndex), ``core_client``: pointed at an emulator (its base URL and key) and otherwise
  as a user would build them: retries included (pass ``max_retries=0`` for none).
- ``await call(llm, "invoke", value, sync=sync)``: ``llm.invoke(value)``, or ``await
  llm.ainvoke(value)`` when ``sync`` is False (the frameworks' naming); for the core's
  clients, whose async twin is another class with the same method names, leave ``sync`` out.
- ``await collect(llm, "stream", value, sync=sync)``: every item of a streaming call, sync or
  async (LlamaIndex's ``astream_*`` coroutines included).
- ``add_up(chunks)``: LangChain chunks added into one message; ``answer(llm, prompt,
  stream=...)``: that message by ``invoke``, or by ``stream`` and ``add_up``.

The mock-transport layer of the core's unit tests is tests/unit/core/_mock.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

    from langchain_qwen import ChatQwen, QwenEmbeddings
    from llama_index_qwen import Qwen, QwenEmbedding
    from qwen_dashscope.testing import DashScopeEmulator


def _on(emulator: DashScopeEmulator, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the emulator's base URL and key (a key only when it checks one)."""
    target: dict[str, Any] = {"base_url": emulator.base_url}
    if emulator.api_key is not None:
        target["api_key"] = emulator.api_key
    return {**target, **kwargs}


def chat_qwen(emulator: DashScopeEmulator, **kwargs: Any) -> ChatQwen:
    """``ChatQwen`` on the emulator."""
    from langchain_qwen import ChatQwen

    return ChatQwen(**_on(emulator, kwargs))


def qwen_embeddings(emulator: DashScopeEmulator, **kwargs: Any) -> QwenEmbeddings:
    """``QwenEmbeddings`` on the emulator."""
    from langchain_qwen import QwenEmbeddings

    return QwenEmbeddings(**_on(emulator, kwargs))


def qwen_llm(emulator: DashScopeEmulator, **kwargs: Any) -> Qwen:
    """LlamaIndex ``Qwen`` on the emulator."""
    from llama_index_qwen import Qwen

    return Qwen(**_on(emulator, kwargs))


def qwen_embedding(emulator: DashScopeEmulator, **kwargs: Any) -> QwenEmbedding:
    """LlamaIndex ``QwenEmbedding`` on the emulator."""
    from llama_index_qwen import QwenEmbedding

    return QwenEmbedding(**_on(emulator, kwargs))


def core_client(emulator: DashScopeEmulator, sync: bool, **kwargs: Any) -> Any:
    """``DashScopeClient`` (``sync``) or ``AsyncDashScopeClient`` on the emulator."""
    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

    cls = DashScopeClient if sync else AsyncDashScopeClient
    return cls(**_on(emulator, kwargs))


def _start(obj: Any, method: str, sync: bool | None, args: Any, kwargs: Any) -> Any:
    return getattr(obj, method if sync is not False else "a" + method)(*args, **kwargs)


async def call(obj: Any, method: str, *args: Any, sync: bool | None = None, **kwargs: Any) -> Any:
    """``obj.method(*args, **kwargs)``, or ``await obj.amethod(...)`` when ``sync`` is False;
    without ``sync``, the method as named, awaited when it returns an awaitable."""
    result = _start(obj, method, sync, args, kwargs)
    return await result if inspect.isawaitable(result) else result


async def collect(
    obj: Any, method: str, *args: Any, sync: bool | None = None, **kwargs: Any
) -> list[Any]:
    """Every item of ``obj.method(...)`` (sync) or of ``obj.amethod(...)`` (async), in order.

    Without ``sync``: the method as named, iterated as what it returns (the core's clients)."""
    result = _start(obj, method, sync, args, kwargs)
    if inspect.isawaitable(result):  # LlamaIndex: ``await llm.astream_chat(...)`` first
        result = await result
    if hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)


def add_up(chunks: Iterable[Any]) -> Any:
    """The chunks of a LangChain stream added into one (``AIMessageChunk`` + ...)."""
    full = None
    for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert full is not None, "the stream was empty"
    return full


def answer(llm: Any, prompt: Any, *, stream: bool) -> AIMessage:
    """``llm.invoke(prompt)``, or the message ``llm.stream(prompt)`` adds up to."""
    from langchain_core.messages import AIMessage, AIMessageChunk

    message = add_up(llm.stream(prompt)) if stream else llm.invoke(prompt)
    assert isinstance(message, AIMessageChunk if stream else AIMessage)
    return message
