"""QwenRerank and QwenMultiModalEmbedding in LlamaIndex pipelines, against the emulator."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.callbacks import CallbackManager, CBEventType
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.schema import ImageDocument, ImageNode, NodeWithScore, TextNode

from llama_index_qwen import Qwen, QwenEmbedding, QwenMultiModalEmbedding, QwenRerank
from qwen_dashscope import InvalidRequestError
from qwen_dashscope.testing import DashScopeEmulator
from tests._calls import call

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
TEXTS = {
    "kettle": "The TeaBot T1 kettle heats water to any temperature.",
    "green": "Green tea such as Longjing steeps at 80 °C for two minutes.",
    "warranty": "The warranty of the TeaBot lasts two years.",
    "oolong": "Oolong tea can be steeped several times.",
    "claims": "Warranty claims need the receipt and the serial number.",
}


def kw(emu: DashScopeEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "max_retries": 0}


class Events(BaseEventHandler):
    """Collects the instrumentation events (a pydantic model: state in a class var)."""

    seen: list[BaseEvent] = []  # noqa: RUF012

    @classmethod
    def class_name(cls) -> str:
        return "Events"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        type(self).seen.append(event)


class Callbacks(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        self.ends: list[tuple[CBEventType, Any]] = []

    def on_event_start(self, event_type: Any, payload: Any = None, **kw: Any) -> str:
        return kw.get("event_id", "")

    def on_event_end(self, event_type: Any, payload: Any = None, **kw: Any) -> None:
        self.ends.append((event_type, payload))

    def start_trace(self, trace_id: str | None = None) -> None:
        return None

    def end_trace(self, trace_id: str | None = None, trace_map: Any = None) -> None:
        return None


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    handler = Events()
    root = get_dispatcher()
    root.add_event_handler(handler)
    Events.seen = []
    yield Events.seen
    root.event_handlers.remove(handler)


@pytest.mark.parametrize("sync", [True, False])
async def test_query_engine_with_the_reranker(
    emulator: DashScopeEmulator,
    sync: bool,
    events: list[BaseEvent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = [Document(text=text, metadata={"src": src}) for src, text in TEXTS.items()]
    index = VectorStoreIndex.from_documents(documents, embed_model=QwenEmbedding(**kw(emulator)))
    callbacks = Callbacks()
    # the query engine hands its (the global) callback manager to its postprocessors
    monkeypatch.setattr(Settings, "callback_manager", CallbackManager([callbacks]))
    reranker = QwenRerank(top_n=2, **kw(emulator))
    engine = index.as_query_engine(
        llm=Qwen(**kw(emulator)),
        similarity_top_k=5,
        node_postprocessors=[reranker],
    )
    query = "how long does the TeaBot warranty last"
    response = await call(engine, "query", query, sync=sync)
    assert [n.node.metadata["src"] for n in response.source_nodes] == ["warranty", "claims"]
    scores = [n.score for n in response.source_nodes]
    assert all(isinstance(s, float) for s in scores) and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert response.source_nodes[0].node.metadata == {"src": "warranty"}
    generation = [r for r in emulator.requests if r.endpoint == "text-generation"][-1]
    assert TEXTS["warranty"] in generation.last_user_text
    assert TEXTS["oolong"] not in generation.last_user_text  # reranked away
    starts = [e for e in events if isinstance(e, ReRankStartEvent)]
    ends = [e for e in events if isinstance(e, ReRankEndEvent)]
    assert len(starts) == len(ends) == 1
    assert starts[0].model_name == "qwen3-rerank" and starts[0].top_n == 2
    assert len(starts[0].nodes) == 5 and ends[0].nodes == response.source_nodes
    reranking = [payload for kind, payload in callbacks.ends if kind == CBEventType.RERANKING]
    assert len(reranking) == 1


@pytest.mark.parametrize("sync", [True, False])
async def test_postprocess_directly(emulator: DashScopeEmulator, sync: bool) -> None:
    nodes = [NodeWithScore(node=TextNode(text=t, id_=s), score=0.1) for s, t in TEXTS.items()]
    reranker = QwenRerank(model="gte-rerank-v2", top_n=None, **kw(emulator))
    if sync:
        ranked = reranker.postprocess_nodes(nodes, query_str="oolong tea")
        empty = reranker.postprocess_nodes([], query_str="oolong tea")
    else:
        ranked = await reranker.apostprocess_nodes(nodes, query_str="oolong tea")
        empty = await reranker.apostprocess_nodes([], query_str="oolong tea")
    assert empty == []
    assert ranked[0].node.node_id == "oolong" and len(ranked) == 5
    assert all(n.node is m.node for n in ranked for m in nodes if m.node.node_id == n.node.node_id)
    assert nodes[0].score == 0.1  # the given nodes keep their scores
    assert [r.endpoint for r in emulator.requests] == ["text-rerank"]
    with pytest.raises(ValueError, match="query bundle"):
        reranker.postprocess_nodes(nodes)


def test_constructor(emulator: DashScopeEmulator) -> None:
    assert QwenRerank(model_name="qwen3-vl-rerank", **kw(emulator)).model == "qwen3-vl-rerank"
    with pytest.raises(InvalidRequestError, match="did you mean 'top_n'"):
        QwenRerank(topn=3, **kw(emulator))
    with pytest.raises(InvalidRequestError, match="looks like a credential"):
        QwenRerank(openai_api_key="sk-x", base_url=emulator.base_url)
    with pytest.raises(InvalidRequestError, match="not a rerank model"):
        QwenRerank(model="text-embedding-v4", **kw(emulator))
    with pytest.raises(InvalidRequestError, match="not a multimodal embedding model"):
        QwenMultiModalEmbedding(model="text-embedding-v4", **kw(emulator))
    with pytest.raises(InvalidRequestError, match="embed_batch_size"):
        QwenMultiModalEmbedding(embed_batch_size=50, **kw(emulator))
    assert (
        QwenMultiModalEmbedding(model="qwen3-vl-embedding", **kw(emulator)).embed_batch_size == 20
    )


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.parametrize("sync", [True, False])
async def test_multimodal_embedding(emulator: DashScopeEmulator, sync: bool) -> None:
    emulator.describe_image(IMAGES / "teapot.png", "a brown clay teapot")
    model = QwenMultiModalEmbedding(model="qwen3-vl-embedding", dimensions=256, **kw(emulator))
    paths = [str(IMAGES / n) for n in ("teapot.png", "tea_leaf.png", "mountain.png")]
    from io import BytesIO

    if sync:
        images = model.get_image_embedding_batch(paths)
        single = model.get_image_embedding(BytesIO((IMAGES / "teapot.png").read_bytes()))
        query = model.get_query_embedding("clay teapot")
        texts = model.get_text_embedding_batch(["a brown clay teapot", "tax law"])
    else:
        images = await model.aget_image_embedding_batch(paths)
        single = await model.aget_image_embedding(BytesIO((IMAGES / "teapot.png").read_bytes()))
        query = await model.aget_query_embedding("clay teapot")
        texts = await model.aget_text_embedding_batch(["a brown clay teapot", "tax law"])
    assert single == images[0]  # a file and its bytes are the same image
    assert cosine(query, images[0]) > max(cosine(query, images[1]), cosine(query, images[2]))
    assert cosine(texts[0], images[0]) > 0.95 > cosine(texts[1], images[0])
    batches = [len(r.input["contents"]) for r in emulator.requests][:2]
    assert batches == [3, 1]  # one request for the batch of three


@pytest.mark.parametrize("sync", [True, False])
async def test_multimodal_vector_store_index(emulator: DashScopeEmulator, sync: bool) -> None:
    for name, caption in (
        ("teapot", "a brown clay teapot"),
        ("tea_leaf", "a fresh green tea leaf"),
        ("mountain", "a snowy mountain"),
    ):
        emulator.describe_image(IMAGES / f"{name}.png", caption)
    model = QwenMultiModalEmbedding(**kw(emulator))
    documents = [
        ImageDocument(image_path=str(IMAGES / f"{n}.png"), metadata={"file_name": f"{n}.png"})
        for n in ("teapot", "tea_leaf", "mountain")
    ] + [Document(text="Clay teapots keep tea warm.")]
    # (use_async=True inside a running loop makes llama-index run the embedding on a loop of
    # its own in a thread, which it closes without shutting down its async generators.)
    index = MultiModalVectorStoreIndex.from_documents(
        documents, embed_model=model, image_embed_model=model
    )
    retriever = index.as_retriever(similarity_top_k=1, image_similarity_top_k=1)
    query = "a snowy mountain"
    found = await call(retriever, "retrieve", query, sync=sync)
    images = [n for n in found if isinstance(n.node, ImageNode)]
    assert images[0].node.metadata["file_name"] == "mountain.png"  # type: ignore[union-attr]
    texts = [n for n in found if not isinstance(n.node, ImageNode)]
    assert texts[0].node.get_content() == "Clay teapots keep tea warm."
    sent = [r for r in emulator.requests if r.endpoint == "multimodal-embedding"]
    assert any(
        "image" in item for r in sent for item in r.input["contents"]
    )  # the images themselves were embedded
