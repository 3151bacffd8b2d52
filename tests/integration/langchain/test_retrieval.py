"""QwenRerank and QwenMultimodalEmbeddings in LangChain pipelines, against the emulator."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from pydantic import ValidationError

from langchain_qwen import QwenEmbeddings, QwenMultimodalEmbeddings, QwenRerank
from qwen_dashscope import BadRequestError, InvalidRequestError
from qwen_dashscope.testing import DashScopeEmulator, Reply
from tests._calls import call

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
DOCS = [
    Document("The TeaBot T1 kettle heats water to any temperature.", metadata={"src": "kettle"}),
    Document("Green tea such as Longjing steeps at 80 °C for two minutes.", metadata={"src": "g"}),
    Document("The warranty of the TeaBot lasts two years.", metadata={"src": "warranty"}, id="w1"),
    Document("Oolong tea can be steeped several times.", metadata={"src": "oolong"}),
    Document("Warranty claims need the receipt and the serial number.", metadata={"src": "c"}),
]


def kw(emu: DashScopeEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "max_retries": 0}


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.parametrize("sync", [True, False])
async def test_contextual_compression_retriever(emulator: DashScopeEmulator, sync: bool) -> None:
    retrievers = pytest.importorskip("langchain_classic.retrievers")  # the dev extra
    store = InMemoryVectorStore(QwenEmbeddings(**kw(emulator)))
    store.add_documents(DOCS)
    retriever = retrievers.ContextualCompressionRetriever(
        base_compressor=QwenRerank(top_n=2, **kw(emulator)),
        base_retriever=store.as_retriever(search_kwargs={"k": 5}),
    )
    query = "how long does the TeaBot warranty last"
    docs = await call(retriever, "invoke", query, sync=sync)
    assert [d.metadata["src"] for d in docs] == ["warranty", "c"]
    assert docs[0].id == "w1" and docs[0].page_content == DOCS[2].page_content
    scores = [d.metadata["relevance_score"] for d in docs]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    assert "relevance_score" not in DOCS[2].metadata  # the given documents are not touched
    rerank = [r for r in emulator.requests if r.endpoint == "compat-rerank"]
    assert len(rerank) == 1
    assert rerank[0].path == "/compatible-api/v1/reranks"
    assert rerank[0].body is not None
    assert rerank[0].body["query"] == query and rerank[0].body["top_n"] == 2
    assert len(rerank[0].body["documents"]) == 5


@pytest.mark.parametrize("sync", [True, False])
async def test_native_models_and_instruct(emulator: DashScopeEmulator, sync: bool) -> None:
    reranker = QwenRerank(model="gte-rerank-v2", top_n=None, **kw(emulator))
    docs = (
        reranker.compress_documents(DOCS, "oolong tea")
        if sync
        else await reranker.acompress_documents(DOCS, "oolong tea")
    )
    assert len(docs) == 5 and docs[0].metadata["src"] == "oolong"
    assert emulator.requests[-1].endpoint == "text-rerank"
    assert emulator.requests[-1].parameters == {}
    instructed = QwenRerank(instruct="Retrieve semantically similar text.", **kw(emulator))
    assert instructed.compress_documents([], "q") == []  # nothing sent
    instructed.compress_documents(DOCS[:2], "tea")
    assert emulator.requests[-1].body["instruct"] == "Retrieve semantically similar text."  # type: ignore[index]


def test_long_lists_are_split_and_merged(emulator: DashScopeEmulator) -> None:
    docs = [Document(f"filler document number {i}") for i in range(120)]
    docs[97] = Document("the answer about oolong tea", metadata={"src": "answer"})
    reranker = QwenRerank(model="qwen3-vl-rerank", top_n=1, **kw(emulator))
    assert reranker.compress_documents(docs, "oolong tea")[0].metadata == {
        "src": "answer",
        "relevance_score": pytest.approx(1.0, abs=0.2),
    }
    sizes = [len(r.input["documents"]) for r in emulator.requests]
    assert sizes == [100, 20]


def test_errors(emulator: DashScopeEmulator) -> None:
    with pytest.raises(ValidationError, match="did you mean 'top_n'"):
        QwenRerank(topn=3, **kw(emulator))
    with pytest.raises(ValidationError, match="looks like a credential"):
        QwenRerank(openai_api_key="sk-x", base_url=emulator.base_url)
    with pytest.raises(ValidationError, match="not a rerank model"):
        QwenRerank(model="qwen-plus", **kw(emulator))
    with pytest.raises(InvalidRequestError, match="4000 tokens"):
        QwenRerank(**kw(emulator)).compress_documents([Document("word " * 5000)], "q")
    emulator.when(
        lambda r: r.endpoint == "compat-rerank",
        Reply.error(400, "InvalidParameter", "<400> InternalError.Algo.InvalidParameter: x"),
    )
    with pytest.raises(BadRequestError) as info:
        QwenRerank(**kw(emulator)).compress_documents(DOCS, "q")
    assert info.value.code == "InvalidParameter" and info.value.request_id


@pytest.mark.parametrize("sync", [True, False])
async def test_multimodal_embeddings(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.describe_image(IMAGES / "teapot.png", "a brown clay teapot")
    emulator.describe_image(IMAGES / "mountain.png", "a snowy mountain")
    model = QwenMultimodalEmbeddings(model="qwen3-vl-embedding", dimensions=512, **kw(emulator))
    uris = [str(IMAGES / "teapot.png"), (IMAGES / "mountain.png").as_uri()]
    if sync:
        images = model.embed_image(uris)
        query = model.embed_query("clay teapot")
        texts = model.embed_documents(["a brown clay teapot", "stock prices"])
    else:
        images = await model.aembed_image(uris)
        query = await model.aembed_query("clay teapot")
        texts = await model.aembed_documents(["a brown clay teapot", "stock prices"])
    assert all(len(v) == 512 for v in (*images, query, *texts))
    assert cosine(query, images[0]) > cosine(query, images[1]) + 0.3
    assert cosine(images[0], texts[0]) > 0.95
    sent = [r for r in emulator.requests if r.endpoint == "multimodal-embedding"]
    assert sent[0].body is not None
    image = sent[0].body["input"]["contents"][0]["image"]
    assert image.startswith("data:image/png;base64,")
    assert sent[0].parameters == {"dimension": 512}


def test_text_to_image_search(emulator: DashScopeEmulator) -> None:
    emulator.describe_image(IMAGES / "teapot.png", "a brown clay teapot")
    emulator.describe_image(IMAGES / "tea_leaf.png", "a fresh green tea leaf")
    model = QwenMultimodalEmbeddings(**kw(emulator))
    paths = [str(IMAGES / name) for name in ("teapot.png", "tea_leaf.png", "mountain.png")]
    vectors = model.embed_image(paths)  # what Chroma's add_images calls
    query = model.embed_query("green tea leaf")
    best = max(range(3), key=lambda i: cosine(query, vectors[i]))
    assert paths[best].endswith("tea_leaf.png")
    with pytest.raises(InvalidRequestError, match="list"):
        model.embed_image(paths[0])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="1152"):
        QwenMultimodalEmbeddings(dimensions=512, **kw(emulator))
