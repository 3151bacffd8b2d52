"""``QwenEmbedding`` against the emulator: text types, dimensions, batching, order, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from llama_index.core.base.embeddings.base import similarity

from llama_index_qwen import QwenEmbedding
from qwen_dashscope import BadRequestError, RateLimitError
from qwen_dashscope.testing import DashScopeEmulator, Reply
from tests._calls import call

EmbeddingFactory = Callable[..., QwenEmbedding]
SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


def _embedding_requests(emu: DashScopeEmulator) -> list:  # type: ignore[type-arg]
    return [r for r in emu.requests if r.endpoint == "text-embedding"]


@SYNC
async def test_query_and_document_text_types(
    make_embedding: EmbeddingFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emb = make_embedding()
    query = await call(emb, "get_query_embedding", "西湖在哪里？", sync=sync)
    doc = await call(emb, "get_text_embedding", "西湖在杭州。", sync=sync)
    assert len(query) == len(doc) == 1024
    assert all(isinstance(x, float) for x in query + doc)
    first, second = _embedding_requests(emulator)
    assert first.body == {
        "model": "text-embedding-v4",
        "input": {"texts": ["西湖在哪里？"]},
        "parameters": {"text_type": "query"},
    }
    assert second.parameters == {"text_type": "document"}


@SYNC
async def test_dimensions_and_instruct(
    make_embedding: EmbeddingFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emb = make_embedding(dimensions=256, instruct="Find the answer")
    vector = await call(emb, "get_query_embedding", "q", sync=sync)
    docs = await call(emb, "get_text_embedding_batch", ["a doc"], sync=sync)
    assert len(vector) == len(docs[0]) == 256
    query_call, doc_call = _embedding_requests(emulator)
    assert query_call.parameters == {
        "text_type": "query",
        "dimension": 256,
        "instruct": "Find the answer",
    }
    assert doc_call.parameters == {"text_type": "document", "dimension": 256}  # no instruct


@pytest.mark.parametrize(("model", "limit"), [("text-embedding-v4", 10), ("text-embedding-v2", 25)])
@SYNC
async def test_batches_within_the_model_limit_in_order(
    make_embedding: EmbeddingFactory,
    emulator: DashScopeEmulator,
    sync: bool,
    model: str,
    limit: int,
) -> None:
    texts = [f"document number {i} about topic {i % 7}" for i in range(57)]
    emb = make_embedding(model_name=model)
    vectors = await call(emb, "get_text_embedding_batch", texts, sync=sync)
    sizes = [len(r.input["texts"]) for r in _embedding_requests(emulator)]
    assert max(sizes) == limit and sum(sizes) == 57
    # each vector is the one of its own text, whatever order the batches completed in
    singles = [emb.get_text_embedding(t) for t in (texts[0], texts[33], texts[56])]
    assert [vectors[0], vectors[33], vectors[56]] == singles


async def test_relevant_text_is_nearest(make_embedding: EmbeddingFactory) -> None:
    emb = make_embedding()
    docs = ["DashScope API keys are bound to a region.", "The weather in Hangzhou is mild."]
    doc_vectors = await emb.aget_text_embedding_batch(docs)
    query = await emb.aget_query_embedding("Which region is my API key bound to?")
    scores = [similarity(query, v) for v in doc_vectors]
    assert scores[0] > scores[1]


@SYNC
async def test_errors_are_typed_never_none_vectors(
    make_embedding: EmbeddingFactory, emulator: DashScopeEmulator, sync: bool
) -> None:
    emulator.when(
        lambda r: r.endpoint == "text-embedding",
        Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."),
        times=1,
    )
    emb = make_embedding()
    with pytest.raises(RateLimitError) as info:
        await call(emb, "get_text_embedding_batch", ["a", "b"], sync=sync)
    assert info.value.request_id
    assert info.value.code == "Throttling.RateQuota"


async def test_service_validation_errors_surface(
    make_embedding: EmbeddingFactory, emulator: DashScopeEmulator
) -> None:
    emulator.when(
        lambda r: r.endpoint == "text-embedding",
        Reply.error(400, "InvalidParameter", "Range of input length should be [1, 8192]"),
        times=1,
    )
    with pytest.raises(BadRequestError, match="input length"):
        make_embedding().get_query_embedding("x")
