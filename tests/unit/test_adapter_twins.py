"""The adapters' sync and async twins are kept by hand: they differ only in async syntax.

Pairs are found by name (``x`` / ``ax``, ``_x`` / ``_ax``, ``get_x`` / ``aget_x``), so every
twin an adapter has, or adds, is compared. A pair that differs on purpose is listed with why.
"""

from __future__ import annotations

import pytest

from langchain_qwen import ChatQwen, QwenEmbeddings, QwenMultimodalEmbeddings, QwenRerank
from llama_index_qwen import Qwen, QwenEmbedding, QwenMultiModalEmbedding
from llama_index_qwen import QwenRerank as LlamaIndexQwenRerank
from tests._twins import adapter_twins, normalized

# Async spellings -> sync ones, beyond tests._twins.COMMON.
NAMES = (
    ("AsyncCallbackManagerForLLMRun", "CallbackManagerForLLMRun"),
    ("self._async_client", "self._client"),
    ("self._get_aclient()", "self._get_client()"),
    ("self._aembed", "self._embed"),
    ("self.aget_num_tokens_from_messages", "self.get_num_tokens_from_messages"),
    ("self._astream_chat", "self._stream_chat"),
    ("self._achat", "self._chat"),
    ("_alast(", "_last("),
    ("chat_stream", "chat_stream"),
    ("super().astructured_predict", "super().structured_predict"),
    ("super()._structured_astream_call", "super()._structured_stream_call"),
    ("self._clients.async_(", "self._clients.sync("),
    ("self._clients.take_async()", "self._clients.take_sync()"),
    ("run_async(", "run_sync("),
    ("self.ainvoke(", "self.invoke("),
    ("self.achat(", "self.chat("),
    ("super().abatch(", "super().batch("),
    ("aembedding_rows(", "embedding_rows("),
)

# Pairs that differ on purpose.
DIFFERENT = {
    (QwenEmbeddings, "_client"): "the async client takes embedding_concurrency",
    (Qwen, "_get_client"): "the async client takes the class's client extras",
    (QwenEmbedding, "_get_client"): "the async client takes the class's client extras",
    (LlamaIndexQwenRerank, "_get_client"): "the async client takes the class's client extras",
    (QwenMultiModalEmbedding, "_get_client"): "the async client takes the class's client extras",
    (Qwen, "stream_complete"): "an async generator has to be written out to close its source",
    (ChatQwen, "batch"): "LangChain's default concurrency: threads for batch, unbounded abatch",
}

CASES = [
    (cls, sync_name, async_name, sync, async_)
    for cls in (
        ChatQwen,
        QwenEmbeddings,
        QwenRerank,
        QwenMultimodalEmbeddings,
        Qwen,
        QwenEmbedding,
        LlamaIndexQwenRerank,
        QwenMultiModalEmbedding,
    )
    for sync_name, async_name, sync, async_ in adapter_twins(cls)
]


def _function(member: object) -> object:
    """The method's own code, beneath LlamaIndex's callback and span decorators: the first
    function reachable through ``__wrapped__`` and closures whose code is in our package."""
    import inspect

    function: object = member.fget if isinstance(member, property) else member
    seen: list[object] = [function]
    for candidate in seen:
        code = getattr(candidate, "__code__", None)
        if (
            code is not None
            and "/src/" in code.co_filename
            and "site-packages" not in code.co_filename
        ):
            return candidate
        wrapped = getattr(candidate, "__wrapped__", None)
        cells = [c.cell_contents for c in getattr(candidate, "__closure__", None) or ()]
        seen.extend(x for x in (wrapped, *cells) if inspect.isfunction(x) and x not in seen)
    return function


@pytest.mark.parametrize(
    ("cls", "sync_name", "async_name", "sync", "async_"),
    CASES,
    ids=[f"{c[0].__name__}.{c[1]}/{c[2]}" for c in CASES],
)
def test_twins_match(
    cls: type, sync_name: str, async_name: str, sync: object, async_: object
) -> None:
    a, b = normalized(_function(sync), NAMES), normalized(_function(async_), NAMES)
    if (cls, sync_name) in DIFFERENT:
        assert a != b  # else take it off the list
        return
    assert a == b


def test_the_expected_twins_are_found() -> None:
    found = {(c[0].__name__, c[1]) for c in CASES}
    assert {
        ("ChatQwen", "_generate"),
        ("ChatQwen", "_stream"),
        ("ChatQwen", "get_num_tokens_from_messages"),
        ("QwenEmbeddings", "embed_documents"),
        ("Qwen", "_chat"),
        ("Qwen", "_stream_chat"),
        ("Qwen", "chat"),
        ("Qwen", "complete"),
        ("Qwen", "count_tokens"),
        ("Qwen", "structured_predict"),
        ("QwenEmbedding", "_get_query_embedding"),
    } <= found
