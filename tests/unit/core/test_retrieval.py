"""Rerank and multimodal embeddings: bodies, answers, limits (pure), and both client twins
over ``httpx.MockTransport`` (paths, retries, typed errors, usage)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwen_dashscope import (
    BadRequestError,
    InvalidRequestError,
    ProtocolError,
)
from qwen_dashscope._retrieval import (
    MULTIMODAL_EMBEDDING_PATH,
    compat_rerank_path,
    compat_rerank_url,
    estimate_tokens,
    image_source,
    merge_reranks,
    multimodal_embedding_batches,
    multimodal_embedding_result,
    rerank_answer,
    rerank_plan,
    video_source,
)
from qwen_dashscope._wire import MultimodalEmbeddingResponse
from tests._calls import call

from ._mock import mock_client

BASE = "https://dashscope.aliyuncs.com/api/v1"
IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
TEAPOT = (IMAGES / "teapot.png").read_bytes()
TEAPOT_URI = "data:image/png;base64," + base64.b64encode(TEAPOT).decode()

# ------------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("base", "url"),
    [
        (BASE, "https://dashscope.aliyuncs.com/compatible-api/v1/reranks"),
        (
            "https://dashscope-intl.aliyuncs.com/api/v1",
            "https://dashscope-intl.aliyuncs.com/compatible-api/v1/reranks",
        ),
        (
            "https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1",
            "https://ws-1.ap-southeast-1.maas.aliyuncs.com/compatible-api/v1/reranks",
        ),
        ("http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/compatible-api/v1/reranks"),
        (
            "https://gw.example.com/qwen/api/v1",
            "https://gw.example.com/qwen/compatible-api/v1/reranks",
        ),
        ("https://gw.example.com/qwen", "https://gw.example.com/compatible-api/v1/reranks"),
    ],
)
def test_the_compatible_path_sits_at_the_host_root(base: str, url: str) -> None:
    assert compat_rerank_url(base) == url
    assert str(httpx.URL(base + compat_rerank_path(base))) == url  # what the client sends


# ---------------------------------------------------------------------------- bodies


def bodies(model: str, query: Any, documents: Any, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    plan = rerank_plan(BASE, model, query, documents, **kw)
    return [(call.path, call.body) for call in plan.calls]


RERANK_BODIES = [
    (
        "qwen3-rerank, flat on the compatible endpoint",
        ("qwen3-rerank", "什么是文本排序模型", ["a", "b"]),
        {"top_n": 2, "instruct": "Retrieve semantically similar text."},
        [
            (
                "/../../compatible-api/v1/reranks",
                {
                    "model": "qwen3-rerank",
                    "query": "什么是文本排序模型",
                    "documents": ["a", "b"],
                    "top_n": 2,
                    "instruct": "Retrieve semantically similar text.",
                },
            )
        ],
    ),
    (
        "gte-rerank-v2, nested on the native endpoint; return_documents is not sent",
        ("gte-rerank-v2", "q", ["a", {"text": "b"}]),
        {"return_documents": True},
        [
            (
                "/services/rerank/text-rerank/text-rerank",
                {
                    "model": "gte-rerank-v2",
                    "input": {"query": "q", "documents": ["a", "b"]},
                    "parameters": {},
                },
            )
        ],
    ),
    (
        "qwen3-vl-rerank with an image query and media documents (bytes become a data URI)",
        (
            "qwen3-vl-rerank",
            {"image": TEAPOT},
            ["text", {"image": "https://e.com/a.jpg"}, {"video": "https://e.com/v.mp4"}],
        ),
        {"top_n": 1, "instruct": "x"},
        [
            (
                "/services/rerank/text-rerank/text-rerank",
                {
                    "model": "qwen3-vl-rerank",
                    "input": {
                        "query": {"image": TEAPOT_URI},
                        "documents": [
                            "text",
                            {"image": "https://e.com/a.jpg"},
                            {"video": "https://e.com/v.mp4"},
                        ],
                    },
                    "parameters": {"top_n": 1, "instruct": "x"},
                },
            )
        ],
    ),
    (
        "an unknown model goes native, without limits",
        ("qwen9-rerank", "q", ["a"]),
        {},
        [
            (
                "/services/rerank/text-rerank/text-rerank",
                {
                    "model": "qwen9-rerank",
                    "input": {"query": "q", "documents": ["a"]},
                    "parameters": {},
                },
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [row[1:] for row in RERANK_BODIES],
    ids=[row[0] for row in RERANK_BODIES],
)
def test_rerank_bodies(args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any) -> None:
    assert bodies(*args, **kwargs) == expected


def test_long_lists_are_split_within_the_document_and_token_limits() -> None:
    plan = rerank_plan(BASE, "qwen3-rerank", "q", ["d"] * 1201, top_n=5)
    assert [len(c.indices) for c in plan.calls] == [500, 500, 201]
    assert all(c.body["top_n"] == 5 for c in plan.calls)
    assert plan.calls[1].indices[0] == 500
    # gte-rerank-v2: 30,000 request tokens = (query + document) tokens per document
    long_doc = " ".join(["word"] * 1000)  # ~1000 estimated tokens
    plan = rerank_plan(BASE, "gte-rerank-v2", "q", [long_doc] * 60)
    sizes = [len(c.indices) for c in plan.calls]
    assert sum(sizes) == 60 and len(sizes) == 3 and "top_n" not in plan.calls[0].body["parameters"]
    # qwen3-vl-rerank: at most 40 images and 4 videos per request
    docs = [{"image": f"https://e.com/{i}.png"} for i in range(50)] + [
        {"video": f"https://e.com/{i}.mp4"} for i in range(5)
    ]
    plan = rerank_plan(BASE, "qwen3-vl-rerank", "q", docs)
    assert [len(c.indices) for c in plan.calls] == [40, 14, 1]


def test_top_n_is_applied_after_merging_by_score() -> None:
    plan = rerank_plan(BASE, "qwen3-rerank", "q", ["d"] * 700, top_n=3, return_documents=True)
    first = {"object": "list", "results": [{"index": 10, "relevance_score": 0.5}], "id": "r1",
             "usage": {"total_tokens": 7}}  # fmt: skip
    second = {
        "object": "list",
        "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.5}],
        "id": "r2",
        "usage": {"total_tokens": 5},
    }
    answers = [
        rerank_answer(plan.calls[0], first, None),
        rerank_answer(plan.calls[1], second, None),
    ]
    result = merge_reranks(plan, answers)
    assert [(r.index, r.relevance_score) for r in result.results] == [
        (501, 0.9),
        (10, 0.5),  # a tie: input order
        (500, 0.5),
    ]
    assert result.results[0].document == "d"
    assert (result.usage.input_tokens, result.usage.total_tokens) == (12, 12)
    assert result.request_id == "r2"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"output": {"results": []}, "usage": {"total_tokens": 3}, "request_id": "n"}, 3),
        ({"output": {"results": []}, "usage": {"input_tokens": 4}, "request_id": "n"}, 4),
        ({"output": {"results": []}, "request_id": "n"}, 0),
    ],
)
def test_native_usage_reads_total_or_input_tokens(raw: dict[str, Any], expected: int) -> None:
    call = rerank_plan(BASE, "gte-rerank-v2", "q", ["a"]).calls[0]
    assert rerank_answer(call, raw, "hdr")[1:] == (expected, "n")


def test_answers_out_of_range_are_protocol_errors() -> None:
    call = rerank_plan(BASE, "qwen3-rerank", "q", ["a"]).calls[0]
    with pytest.raises(ProtocolError, match="index 3"):
        rerank_answer(call, {"results": [{"index": 3, "relevance_score": 1.0}]}, "rid")
    with pytest.raises(ProtocolError):
        rerank_answer(call, {"object": "list"}, "rid")


@pytest.mark.parametrize(
    ("args", "kwargs", "param", "match"),
    [
        (("qwen3-rerank", "q", []), {}, "documents", "empty"),
        (("qwen3-rerank", "q", "abc"), {}, "documents", "list"),
        (("qwen3-rerank", "", ["a"]), {}, "query", "empty"),
        (("qwen3-rerank", "q", ["a", ""]), {}, "documents", r"documents\[1\]"),
        (("qwen3-rerank", "q", ["a"]), {"top_n": 0}, "top_n", "top_n"),
        (("qwen3-rerank", "q", ["a"]), {"top_n": True}, "top_n", "top_n"),
        (("gte-rerank-v2", "q", ["a"]), {"instruct": "x"}, "instruct", "does not read"),
        (("text-embedding-v4", "q", ["a"]), {}, "model", "not a rerank model"),
        (("qwen3-rerank", "q", [{"image": "https://e.com/a.png"}]), {}, "documents", "image"),
        (("gte-rerank-v2", "q", [{"image": "https://e.com/a.png"}]), {}, "documents", "image"),
        (("qwen3-vl-rerank", {"video": "https://e.com/v.mp4"}, ["a"]), {}, "query", "video"),
        (("qwen3-vl-rerank", "q", [{"video": "/tmp/v.mp4"}]), {}, "documents", "URL"),
        (("qwen3-vl-rerank", "q", [{"audio": "x"}]), {}, "documents", "audio"),
        (("qwen3-rerank", "q", ["word " * 5000]), {}, "documents", "4000 tokens"),
        (("qwen3-rerank", "词" * 4001, ["a"]), {}, "query", "silently truncates"),
    ],
)
def test_rerank_refusals(
    args: tuple[Any, ...], kwargs: dict[str, Any], param: str, match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match) as info:
        rerank_plan(BASE, *args, **kwargs)
    assert info.value.param == param


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        ("hello world, this is a test.", 8),  # Qwen: 8 tokens
        ("什么是文本排序模型", 9),
        ("1234567890", 10),  # digits one by one
        ("   ", 0),
    ],
)
def test_token_estimate_errs_high(text: str, at_least: int) -> None:
    assert estimate_tokens(text) >= at_least


# ----------------------------------------------------------------------------- media


def test_image_sources(tmp_path: Path) -> None:
    path = tmp_path / "pot.png"
    path.write_bytes(TEAPOT)
    assert image_source("https://e.com/a.png") == "https://e.com/a.png"
    assert image_source(TEAPOT_URI) == TEAPOT_URI
    assert image_source(TEAPOT) == TEAPOT_URI
    assert image_source(path) == TEAPOT_URI
    assert image_source(str(path)) == TEAPOT_URI
    assert image_source(path.as_uri()) == TEAPOT_URI
    import io

    assert image_source(io.BytesIO(TEAPOT)) == TEAPOT_URI
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 10
    assert image_source(jpeg).startswith("data:image/jpeg;base64,")
    with pytest.raises(InvalidRequestError, match="neither"):
        image_source(str(tmp_path / "missing.png"))
    with pytest.raises(InvalidRequestError, match="not an image"):
        image_source(b"plain text")
    with pytest.raises(InvalidRequestError, match="MB"):
        image_source(TEAPOT, max_bytes=100)
    with pytest.raises(InvalidRequestError, match="data:image"):
        image_source("data:text/plain;base64,aGk=")
    assert video_source("https://e.com/v.mp4") == "https://e.com/v.mp4"
    with pytest.raises(InvalidRequestError, match="public http"):
        video_source(str(path))


# -------------------------------------------------------------- multimodal embeddings


def mm_bodies(model: str, contents: Any, **kw: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(b.offset, b.body) for b in multimodal_embedding_batches(model, contents, **kw)]


MM_BODIES = [
    (
        "text, image URL, local bytes, video; fixed dimension not sent",
        ("tongyi-embedding-vision-plus", ["多模态向量模型", {"image": "https://e.com/a.jpg"},
                                          {"image": TEAPOT}, {"video": "https://e.com/v.mp4"}]),
        {"dimension": 1152},
        [
            (
                0,
                {
                    "model": "tongyi-embedding-vision-plus",
                    "input": {
                        "contents": [
                            {"text": "多模态向量模型"},
                            {"image": "https://e.com/a.jpg"},
                            {"image": TEAPOT_URI},
                            {"video": "https://e.com/v.mp4"},
                        ]
                    },
                    "parameters": {},
                },
            )
        ],
    ),
    (
        "qwen3-vl fused, with dimension, instruct and fps",
        ("qwen3-vl-embedding", ["商品描述文本", {"image": "https://e.com/a.png"}]),
        {"dimension": 1024, "enable_fusion": True, "instruct": "x", "fps": 0.5},
        [
            (
                0,
                {
                    "model": "qwen3-vl-embedding",
                    "input": {"contents": [{"text": "商品描述文本"}, {"image": "https://e.com/a.png"}]},
                    "parameters": {
                        "dimension": 1024,
                        "enable_fusion": True,
                        "instruct": "x",
                        "fps": 0.5,
                    },
                },
            )
        ],
    ),
    (
        "a snapshot fuses one item holding several modalities; multi_images",
        (
            "tongyi-embedding-vision-plus-2026-03-06",
            [{"text": "t", "image": "https://e.com/a.png"}, {"multi_images": [TEAPOT, TEAPOT]}],
        ),
        {"dimension": 256},
        [
            (
                0,
                {
                    "model": "tongyi-embedding-vision-plus-2026-03-06",
                    "input": {
                        "contents": [
                            {"text": "t", "image": "https://e.com/a.png"},
                            {"multi_images": [TEAPOT_URI, TEAPOT_URI]},
                        ]
                    },
                    "parameters": {"dimension": 256},
                },
            )
        ],
    ),
    (
        "enable_fusion=False on a model without the parameter is what it does anyway",
        ("multimodal-embedding-v1", ["a"]),
        {"enable_fusion": False},
        [(0, {"model": "multimodal-embedding-v1", "input": {"contents": [{"text": "a"}]},
              "parameters": {}})],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [row[1:] for row in MM_BODIES],
    ids=[row[0] for row in MM_BODIES],
)
def test_multimodal_bodies(args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any) -> None:
    assert mm_bodies(*args, **kwargs) == expected


def test_multimodal_batches_follow_item_image_and_video_limits() -> None:
    contents: list[Any] = ["t"] * 25
    assert [o for o, _ in mm_bodies("qwen3-vl-embedding", contents)] == [0, 20]
    images = [{"image": f"https://e.com/{i}.png"} for i in range(12)]
    sizes = [len(b["input"]["contents"]) for _, b in mm_bodies("qwen3-vl-embedding", images)]
    assert sizes == [5, 5, 2]
    videos = [{"video": "https://e.com/v.mp4"}, "a", {"video": "https://e.com/w.mp4"}]
    assert [o for o, _ in mm_bodies("multimodal-embedding-v1", videos)] == [0, 2]
    assert [o for o, _ in mm_bodies("qwen3-vl-embedding", contents, batch_size=7)] == [0, 7, 14, 21]


@pytest.mark.parametrize(
    ("args", "kwargs", "param", "match"),
    [
        (("qwen3-vl-embedding", []), {}, "contents", "empty"),
        (("qwen3-vl-embedding", "text"), {}, "contents", "not one item"),
        (("qwen3-vl-embedding", [{"audio": "x"}]), {}, "contents", "audio"),
        (("qwen3-vl-embedding", [{"text": "a", "image": "https://e.com/a.png"}]), {},
         "contents", "enable_fusion=True"),
        (("qwen3-vl-embedding", [{"multi_images": ["https://e.com/a.png"]}]), {}, "contents",
         "multi_images"),
        (("tongyi-embedding-vision-plus", [{"multi_images": ["https://e.com/a.png"] * 9}]), {},
         "contents", "at most 8"),
        (("qwen3-vl-embedding", [{"video": "v.mp4"}]), {}, "contents", "public http"),
        (("qwen3-vl-embedding", ["a"]), {"dimension": 100}, "dimension", "2560"),
        (("tongyi-embedding-vision-plus", ["a"]), {"dimension": 512}, "dimension", "1152"),
        (("tongyi-embedding-vision-plus", ["a"]), {"enable_fusion": True}, "enable_fusion",
         "qwen3-vl-embedding"),
        (("qwen3-vl-embedding", ["a"] * 21), {"enable_fusion": True}, "contents", "one request"),
        (("qwen3-vl-embedding", ["a"]), {"batch_size": 21}, "batch_size", "20"),
        (("qwen3-vl-embedding", ["a"]), {"fps": 2}, "fps", "fps"),
        (("multimodal-embedding-v1", ["word " * 600]), {}, "contents", "512 tokens"),
        (("text-embedding-v4", ["a"]), {}, "model", "not a multimodal"),
    ],
)  # fmt: skip
def test_multimodal_refusals(
    args: tuple[Any, ...], kwargs: dict[str, Any], param: str, match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match) as info:
        multimodal_embedding_batches(*args, **kwargs)
    assert info.value.param == param


def mm_response(embeddings: list[dict[str, Any]], usage: dict[str, Any]) -> Any:
    raw = {"output": {"embeddings": embeddings}, "usage": usage, "request_id": "m"}
    return MultimodalEmbeddingResponse.model_validate(raw)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (  # tongyi [DOC]
            {"input_tokens": 10, "input_tokens_details": {"image_tokens": 896, "text_tokens": 7},
             "output_tokens": 3, "total_tokens": 906},
            (903, 3, 906),
        ),
        ({"input_tokens": 43, "image_tokens": 1247, "total_tokens": 1290}, (1290, 0, 1290)),
        ({"input_tokens": 5, "image_tokens": 100, "image_count": 1, "duration": 3}, (105, 0, 105)),
    ],
)  # fmt: skip
def test_multimodal_result_usage_per_family(
    usage: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    response = mm_response([{"index": 0, "embedding": [1.0], "type": "text"}], usage)
    result = multimodal_embedding_result([(0, response)], 1)
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (
        expected
    )
    assert result.usage.raw == usage


def test_multimodal_result_orders_by_index_and_checks_the_count() -> None:
    first = mm_response(
        [{"index": 1, "embedding": [2.0], "type": "image"}, {"index": 0, "embedding": [1.0]}],
        {"total_tokens": 2, "input_tokens_details": {"image_tokens": 1}},
    )
    second = mm_response([{"index": 0, "embedding": [3.0], "type": "vl"}], {"total_tokens": 1})
    result = multimodal_embedding_result([(0, first), (2, second)], 3)
    assert result.vectors == [[1.0], [2.0], [3.0]]
    assert [e.kind for e in result.embeddings] == [None, "image", "vl"]
    assert result.usage.raw == {"total_tokens": 3, "input_tokens_details": {"image_tokens": 1}}
    with pytest.raises(ProtocolError, match="asked for 4"):
        multimodal_embedding_result([(0, first), (2, second)], 4)
    with pytest.raises(ProtocolError, match="empty"):
        multimodal_embedding_result([(0, mm_response([{"index": 0, "embedding": []}], {}))], 1)


# -------------------------------------------------------------------- the twins, mocked


class Service:
    """A MockTransport handler answering rerank and multimodal-embedding requests."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[httpx.Request] = []
        self.failures = failures

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            self.failures -= 1
            return httpx.Response(503, json={"code": "ServiceUnavailable", "message": "busy"})
        body = json.loads(request.content)
        if request.url.path == "/compatible-api/v1/reranks":
            docs = body["documents"]
            results = [
                {"index": i, "relevance_score": round(1 / (1 + len(d)), 4)}
                for i, d in enumerate(docs)
            ]
            results.sort(key=lambda r: -r["relevance_score"])
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "results": results[: body.get("top_n", len(docs))],
                    "model": body["model"],
                    "id": f"c{len(self.requests)}",
                    "usage": {"total_tokens": len(docs)},
                },
            )
        if request.url.path.endswith("/text-rerank"):
            return httpx.Response(
                400,
                json={
                    "code": "InvalidParameter",
                    "message": "<400> InternalError.Algo.InvalidParameter: Value error, ...",
                    "request_id": "n1",
                },
            )
        contents = body["input"]["contents"]
        items = [{"index": i, "embedding": [float(i), 1.0], "type": "text"}
                 for i in range(len(contents))]  # fmt: skip
        return httpx.Response(
            200,
            json={
                "output": {"embeddings": items[::-1]},
                "usage": {"input_tokens": len(contents), "image_tokens": 0,
                          "total_tokens": len(contents)},
                "request_id": "m1",
            },
        )  # fmt: skip


@pytest.mark.parametrize("sync", [True, False])
async def test_rerank_twins_split_retry_and_merge(sync: bool, monkeypatch: Any) -> None:
    monkeypatch.setattr("qwen_dashscope._client.backoff", lambda attempt: 0.0)
    service = Service(failures=1)
    client = mock_client(service, sync)
    documents = ["x" * (1 + i % 7) for i in range(600)]
    result = await call(client, "rerank", "q", documents, top_n=4, return_documents=True)
    urls = [str(r.url) for r in service.requests]
    assert urls == ["https://dashscope.aliyuncs.com/compatible-api/v1/reranks"] * 3  # one retry
    assert [len(json.loads(r.content)["documents"]) for r in service.requests] == [500, 500, 100]
    assert [r.index for r in result.results] == [0, 7, 14, 21]
    assert result.results[0].document == "x"
    assert result.usage.total_tokens == 600 and result.request_id == "c3"


@pytest.mark.parametrize("sync", [True, False])
async def test_rerank_twins_raise_typed_errors(sync: bool) -> None:
    client = mock_client(Service(), sync)
    with pytest.raises(BadRequestError) as info:
        await call(client, "rerank", "q", ["a"], model="gte-rerank-v2")
    assert info.value.code == "InvalidParameter" and info.value.request_id == "n1"
    with pytest.raises(InvalidRequestError):
        await call(client, "rerank", "q", [])


@pytest.mark.parametrize("sync", [True, False])
async def test_multimodal_twins(sync: bool) -> None:
    service = Service()
    client = mock_client(service, sync)
    contents = [f"t{i}" for i in range(23)] + [{"image": TEAPOT}]
    result = await call(client, "embed_multimodal", contents, model="qwen3-vl-embedding")
    assert [v[0] for v in result.vectors] == [float(i) for i in range(20)] + [0.0, 1.0, 2.0, 3.0]
    assert {r.url.path for r in service.requests} == {"/api/v1" + MULTIMODAL_EMBEDDING_PATH}
    assert json.loads(service.requests[-1].content)["input"]["contents"][-1] == {
        "image": TEAPOT_URI
    }
    assert result.usage.total_tokens == 24 and result.request_id == "m1"
