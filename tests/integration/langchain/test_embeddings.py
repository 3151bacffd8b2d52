"""QwenEmbeddings against the DashScope emulator over loopback HTTP."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from pydantic import SecretStr

import qwen_dashscope
from langchain_qwen import QwenEmbeddings
from qwen_dashscope.testing import DashScopeEmulator, Reply
from tests._calls import call, qwen_embeddings

EMBED_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
TEXTS = [f"第{i}道菜：萝卜 土豆 茄子 number {i}" for i in range(23)]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture
def shuffling_emulator(emulator: DashScopeEmulator) -> DashScopeEmulator:
    """The emulator, returning each batch's embeddings out of order (text_index shuffled)."""
    emulator.shuffle_embeddings = True  # undone by the fixture
    return emulator


@pytest.mark.parametrize("sync", [True, False])
async def test_query_and_document_text_types(emulator: DashScopeEmulator, sync: bool) -> None:
    model = qwen_embeddings(emulator, dimensions=512)
    query = await call(model, "embed_query", "萝卜怎么做", sync=sync)
    docs = await call(model, "embed_documents", ["萝卜怎么做"], sync=sync)
    assert len(query) == 512 and len(docs[0]) == 512
    first, second = emulator.requests
    assert first.path == EMBED_PATH
    assert first.body["model"] == "text-embedding-v4"
    assert first.parameters == {"text_type": "query", "dimension": 512}
    assert second.parameters == {"text_type": "document", "dimension": 512}
    assert 0.9 < cosine(query, docs[0]) < 1.0  # same text, different text_type


@pytest.mark.parametrize("sync", [True, False])
async def test_batches_split_to_the_limit_and_come_back_in_order(
    shuffling_emulator: DashScopeEmulator, sync: bool
) -> None:
    model = qwen_embeddings(shuffling_emulator, dimensions=256)
    vectors = await call(model, "embed_documents", TEXTS, sync=sync)
    batches = [r.body["input"]["texts"] for r in shuffling_emulator.requests]
    assert sorted(len(b) for b in batches) == [3, 10, 10]  # v4 takes at most 10 per request
    assert sorted(t for b in batches for t in b) == sorted(TEXTS)
    singles = [model.embed_documents([text])[0] for text in TEXTS]
    assert vectors == singles


@pytest.mark.parametrize("sync", [True, False])
async def test_v2_uses_its_own_limit_and_no_dimension(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    model = qwen_embeddings(emulator, model="text-embedding-v2")
    vectors = await call(model, "embed_documents", TEXTS, sync=sync)
    assert len(vectors) == 23 and len(vectors[0]) == 1536
    assert [len(r.body["input"]["texts"]) for r in emulator.requests] == [23]
    assert "dimension" not in emulator.requests[0].parameters


@pytest.mark.parametrize("sync", [True, False])
async def test_v2_splits_at_25(emulator: DashScopeEmulator, sync: bool) -> None:
    texts = [f"文档 {i}" for i in range(30)]
    vectors = await call(
        qwen_embeddings(emulator, model="text-embedding-v2"), "embed_documents", texts, sync=sync
    )
    assert len(vectors) == 30
    assert sorted(len(r.body["input"]["texts"]) for r in emulator.requests) == [5, 25]


@pytest.mark.parametrize("sync", [True, False])
async def test_one_string_is_not_embedded_letter_by_letter(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    with pytest.raises(ValueError, match="embed_query"):
        await call(qwen_embeddings(emulator), "embed_documents", "杭州西湖", sync=sync)
    assert emulator.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_a_copy_with_other_settings_uses_them(
    make_emulator: Callable[..., DashScopeEmulator], emulator: DashScopeEmulator, sync: bool
) -> None:
    model = qwen_embeddings(emulator)
    await call(model, "embed_query", "杭州", sync=sync)
    other = make_emulator(api_key="sk-other")
    copy = model.model_copy(update={"base_url": other.base_url, "api_key": SecretStr("sk-other")})
    assert await call(copy, "embed_query", "杭州", sync=sync)
    assert len(other.requests) == 1
    await call(model, "embed_query", "杭州", sync=sync)
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("sync", [True, False])
async def test_custom_batch_size(emulator: DashScopeEmulator, sync: bool) -> None:
    await call(qwen_embeddings(emulator, batch_size=4), "embed_documents", TEXTS[:9], sync=sync)
    assert sorted(len(r.body["input"]["texts"]) for r in emulator.requests) == [1, 4, 4]


@pytest.mark.parametrize("sync", [True, False])
async def test_empty_input_sends_nothing(emulator: DashScopeEmulator, sync: bool) -> None:
    assert await call(qwen_embeddings(emulator), "embed_documents", [], sync=sync) == []
    assert emulator.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_errors_are_typed(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.when(
        lambda r: r.endpoint == "text-embedding",
        Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."),
    )
    with pytest.raises(qwen_dashscope.RateLimitError) as info:
        await call(qwen_embeddings(emulator, max_retries=0), "embed_query", "hi", sync=sync)
    assert info.value.request_id
    with pytest.raises(qwen_dashscope.AuthenticationError):
        model = qwen_embeddings(emulator, api_key="sk-wrong", max_retries=0)
        await call(model, "embed_query", "hi", sync=sync)


def test_construction_validates() -> None:
    with pytest.raises(ValueError, match="dimensions=100"):
        QwenEmbeddings(dimensions=100)
    with pytest.raises(ValueError, match="batch_size=11"):
        QwenEmbeddings(batch_size=11)
    with pytest.raises(ValueError, match="not an embedding model"):
        QwenEmbeddings(model="qwen-plus")
    with pytest.raises(ValueError, match="max_concurrency"):
        QwenEmbeddings(max_concurrency=0)
    model = QwenEmbeddings(api_key="sk-secret-embed", max_concurrency=2)
    assert "sk-secret-embed" not in repr(model)
    assert model._async_client.embedding_concurrency == 2
