"""Rerank (native and compatible-api) and multimodal embeddings: shapes, limits, meaning."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, count_tokens
from qwen_dashscope.testing._retrieval import MESSAGES

from ._helpers import COMPAT_RERANK_PATH, EMBED_PATH, MM_EMBED_PATH, RERANK_PATH

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
TEAPOT = (IMAGES / "teapot.png").read_bytes()
LEAF = (IMAGES / "tea_leaf.png").read_bytes()
ALGO = "<400> InternalError.Algo.InvalidParameter: Value error, "


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def rerank_request(query: Any, documents: list[Any], **parameters: Any) -> dict[str, Any]:
    return {
        "model": parameters.pop("model", "qwen3-rerank"),
        "input": {"query": query, "documents": documents},
        "parameters": parameters,
    }


def compat_request(query: Any, documents: Any, **fields: Any) -> dict[str, Any]:
    return {"model": fields.pop("model", "qwen3-rerank"), "query": query, "documents": documents}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# ------------------------------------------------------------------------------ native


def test_rerank_orders_by_shared_words(client: httpx.Client) -> None:
    documents = [
        "上海明天有雨。",
        "Paris is the capital of France.",
        "杭州今天天气晴朗，适合去西湖。",
        "杭州的天气预报说明天多云。",
    ]
    body = client.post(
        RERANK_PATH, json=rerank_request("杭州今天天气", documents, return_documents=True)
    ).json()
    assert list(body) == ["output", "usage", "request_id"]
    results = body["output"]["results"]
    assert [r["index"] for r in results] == [2, 3, 0, 1]
    assert results[-1]["relevance_score"] == 0.0
    assert all(0.0 <= r["relevance_score"] <= 1.0 for r in results)
    # [3P-CAP] document comes before index and relevance_score
    assert all(list(r) == ["document", "index", "relevance_score"] for r in results)
    assert all(r["document"] == {"text": documents[r["index"]]} for r in results)
    expected = count_tokens("杭州今天天气") * 4 + sum(count_tokens(d) for d in documents)
    assert body["usage"] == {"total_tokens": expected}


def test_the_document_with_most_query_words_wins(client: httpx.Client) -> None:
    documents = ["tea", "a kettle for tea", "quantum computing"]
    body = client.post(RERANK_PATH, json=rerank_request("tea kettle", documents, top_n=2)).json()
    results = body["output"]["results"]
    assert [r["index"] for r in results] == [1, 0]
    assert all(list(r) == ["index", "relevance_score"] for r in results)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (rerank_request("q", []), 400, MESSAGES["documents_count"].format(max=500)),
        (rerank_request("", ["a"]), 400, "The query field is a required field."),
        (rerank_request("q", ["a"], top_n=0), 400, MESSAGES["top_n"]),
        (
            rerank_request("q", ["a"], model="text-embedding-v4"),
            400,
            "url error, please check url\uff01",
        ),
        (rerank_request("q", ["a"], model="gte-rerank"), 404, "Model can not be found."),
        (
            rerank_request("q", ["x" * 300_001]),
            400,
            ALGO + "document index:0 is invalid, it should not be larger than 300000: "
            "input.documents",
        ),
        (
            rerank_request("q", [{"image": "https://example.com/a.png"}]),
            400,
            "The item of content should be a message of a certain modal.",
        ),
        (
            rerank_request("q", [{"video": "data:video/mp4;base64,AAAA"}], model="qwen3-vl-rerank"),
            400,
            MESSAGES["video_url"],
        ),
    ],
)
def test_rerank_validation(client: httpx.Client, body: Any, status: int, message: str) -> None:
    response = client.post(RERANK_PATH, json=body)
    assert response.status_code == status, response.text
    assert response.json()["message"] == message
    assert response.json()["code"] in ("InvalidParameter", "ModelNotFound")


def test_rerank_captured_limit_message(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(models={"gte-rerank-v2": {"max_batch": 3}})
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    body = rerank_request("q", ["a", "b", "c", "d"], model="gte-rerank-v2")
    response = httpx.post(emu.url + RERANK_PATH, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == (
        ALGO + "batch size of documents is invalid, it should not be empty or larger than 3.: "
        "input.documents"
    )


def test_rerank_truncates_long_documents_silently_and_limits_request_tokens(
    make_emulator: Callable[..., DashScopeEmulator],
) -> None:
    models = {"qwen3-rerank": {"max_text_tokens": 3, "max_request_tokens": 20}}
    emu = make_emulator(models=models)
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    body = rerank_request("q", ["one two three four five"])
    ok = httpx.post(emu.url + RERANK_PATH, json=body, headers=headers).json()
    assert ok["usage"] == {"total_tokens": 1 + 3}  # [DOC] truncated, counted as kept
    over = rerank_request("q", ["one two three"] * 6)
    response = httpx.post(emu.url + RERANK_PATH, json=over, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == MESSAGES["request_tokens"].format(max=20)


def test_vl_rerank_scores_images_by_their_caption(emulator: DashScopeEmulator) -> None:
    emulator.describe_image(TEAPOT, "a brown clay teapot")
    emulator.describe_image("https://example.com/leaf.png", "a green tea leaf")
    documents = [
        {"image": "https://example.com/leaf.png"},
        {"image": data_uri(TEAPOT)},
        "the stock market fell",
        {"image": data_uri(LEAF)},  # no caption: a random direction
    ]
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    body = rerank_request(
        {"text": "clay teapot"}, documents, model="qwen3-vl-rerank", return_documents=True
    )
    answer = httpx.post(emulator.url + RERANK_PATH, json=body, headers=headers).json()
    results = answer["output"]["results"]
    assert results[0]["index"] == 1
    assert results[0]["document"] == {"image": data_uri(TEAPOT)}
    assert {r["index"]: r["relevance_score"] for r in results}[3] == 0.0


def test_vl_rerank_per_type_caps(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    emu = make_emulator(models={"qwen3-vl-rerank": {"max_images": 1}})
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    docs = [{"image": "https://e.com/a.png"}, {"image": "https://e.com/b.png"}]
    body = rerank_request("q", docs, model="qwen3-vl-rerank")
    response = httpx.post(emu.url + RERANK_PATH, json=body, headers=headers)
    assert response.json()["message"] == MESSAGES["documents_images"].format(max=1)


# -------------------------------------------------------------------------- compatible


def test_compat_rerank_shape(client: httpx.Client) -> None:
    documents = ["文本排序模型用于搜索", "量子计算是前沿领域", "文本排序模型的新进展"]
    body = {**compat_request("什么是文本排序模型", documents), "top_n": 2, "instruct": "x"}
    response = client.post(COMPAT_RERANK_PATH, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert list(answer) == ["object", "results", "model", "id", "usage"]  # [3P-CAP] order
    assert answer["object"] == "list" and answer["model"] == "qwen3-rerank"
    assert answer["id"] == response.headers["x-request-id"]
    assert [r["index"] for r in answer["results"]] == [0, 2]
    assert all(list(r) == ["index", "relevance_score"] for r in answer["results"])
    tokens = count_tokens("什么是文本排序模型") * 3 + sum(count_tokens(d) for d in documents)
    assert answer["usage"] == {"total_tokens": tokens}
    # return_documents: accepted, never answered on this endpoint (no observed body has it)
    again = client.post(COMPAT_RERANK_PATH, json={**body, "return_documents": True}).json()
    assert all("document" not in r for r in again["results"])


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        (
            compat_request("q", []),
            400,
            "InvalidParameter",
            MESSAGES["documents_count"].format(max=500),
        ),
        (
            compat_request("q", ["a"], model="gte-rerank-v2"),
            404,
            "model_not_supported",
            "Unsupported model gte-rerank-v2 for OpenAI compatibility mode.",
        ),
        (
            rerank_request("q", ["a"]),  # a nested native body
            400,
            "InvalidParameter",
            "The query field is a required field.",
        ),
        (compat_request("q", [{"text": "a"}]), 400, "InvalidParameter", None),
    ],
)
def test_compat_rerank_errors(
    client: httpx.Client, body: Any, status: int, kind: str, message: str | None
) -> None:
    response = client.post(COMPAT_RERANK_PATH, json=body)
    assert response.status_code == status
    answer = response.json()
    assert set(answer) == {"error", "id", "request_id"}
    assert answer["id"] == answer["request_id"]
    assert set(answer["error"]) == {"message", "type", "param", "code"}
    assert answer["error"]["code"] == kind
    if message is not None:
        assert answer["error"]["message"] == message


def test_compat_rerank_authentication(anon: httpx.Client) -> None:
    response = anon.post(COMPAT_RERANK_PATH, json=compat_request("q", ["a"]))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


# ------------------------------------------------------------------ multimodal embedding


def mm_request(contents: Any, model: str = "qwen3-vl-embedding", **params: Any) -> dict[str, Any]:
    return {"model": model, "input": {"contents": contents}, "parameters": params}


def test_related_texts_and_captioned_images_are_close(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.describe_image(TEAPOT, "a brown clay teapot")
    contents = [
        "a brown clay teapot",
        {"image": data_uri(TEAPOT)},
        "brewing tea in a clay teapot",
        "quarterly revenue report",
        {"image": data_uri(LEAF)},
    ]
    answer = client.post(MM_EMBED_PATH, json=mm_request(contents, dimension=512)).json()
    vectors = [e["embedding"] for e in answer["output"]["embeddings"]]
    assert [e["index"] for e in answer["output"]["embeddings"]] == [0, 1, 2, 3, 4]
    assert {e["type"] for e in answer["output"]["embeddings"]} == {"vl"}  # [DOC] qwen3-vl
    assert all(len(v) == 512 for v in vectors)
    assert cosine(vectors[0], vectors[1]) > 0.95  # an image and its caption
    assert cosine(vectors[1], vectors[2]) > cosine(vectors[1], vectors[3]) + 0.2
    assert abs(cosine(vectors[4], vectors[0])) < 0.3  # uncaptioned: unrelated
    text = client.post(
        EMBED_PATH,
        json={
            "model": "text-embedding-v4",
            "input": {"texts": ["a brown clay teapot"]},
            "parameters": {"dimension": 512},
        },
    ).json()
    assert text["output"]["embeddings"][0]["embedding"] == vectors[0]  # same text, same vector
    text_tokens = sum(count_tokens(c) for c in contents if isinstance(c, str))
    assert answer["usage"] == {
        "input_tokens": text_tokens,
        "image_tokens": 512,
        "total_tokens": text_tokens + 512,
    }


def test_usage_keys_per_family(client: httpx.Client) -> None:
    contents = ["hello", {"image": "https://e.com/a.png"}]
    tongyi = client.post(MM_EMBED_PATH, json=mm_request(contents, "tongyi-embedding-vision-plus"))
    assert tongyi.json()["usage"] == {
        "input_tokens": 257,
        "input_tokens_details": {"image_tokens": 256, "text_tokens": 1},
        "output_tokens": 2,
        "total_tokens": 259,
    }
    assert [e["type"] for e in tongyi.json()["output"]["embeddings"]] == ["text", "image"]
    assert len(tongyi.json()["output"]["embeddings"][0]["embedding"]) == 1152
    v1 = client.post(MM_EMBED_PATH, json=mm_request(contents, "multimodal-embedding-v1"))
    assert v1.json()["usage"] == {
        "input_tokens": 1,
        "image_tokens": 256,
        "image_count": 1,
        "duration": 0,
    }


def test_fusion(client: httpx.Client) -> None:
    contents = ["a teapot", {"image": "https://e.com/a.png"}, {"video": "https://e.com/v.mp4"}]
    fused = client.post(MM_EMBED_PATH, json=mm_request(contents, enable_fusion=True)).json()
    assert [(e["index"], e["type"]) for e in fused["output"]["embeddings"]] == [(0, "fusion")]
    # ignored on a model without the parameter [INF]
    other = client.post(
        MM_EMBED_PATH,
        json=mm_request(contents[:2], "tongyi-embedding-vision-plus", enable_fusion=True),
    ).json()
    assert len(other["output"]["embeddings"]) == 2
    snapshot = client.post(
        MM_EMBED_PATH,
        json=mm_request(
            [{"text": "a teapot", "image": "https://e.com/a.png"}, "b"],
            "tongyi-embedding-vision-plus-2026-03-06",
        ),
    ).json()
    assert [e["type"] for e in snapshot["output"]["embeddings"]] == ["fused", "text"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (mm_request([]), "[] is too short"),
        (mm_request(["x"] * 21), MESSAGES["contents_count"].format(max=20)),
        (
            mm_request([{"image": f"https://e.com/{i}.png"} for i in range(6)]),
            MESSAGES["contents_images"].format(max=5),
        ),
        (
            mm_request([{"audio": "https://e.com/a.mp3"}]),
            "The item of content should be a message of a certain modal.",
        ),
        (mm_request([{"text": "a", "image": "https://e.com/a.png"}]), None),
        (mm_request([{"image": "not a url"}]), MESSAGES["image_url"]),
        (mm_request([{"video": data_uri(TEAPOT)}]), MESSAGES["video_url"]),
        (mm_request(["x"], dimension=100), None),
        (mm_request(["x"], "tongyi-embedding-vision-plus", dimension=512), None),
        (mm_request(["x"], "text-embedding-v4"), None),
        (mm_request(["x"], output_type="sparse"), MESSAGES["output_type"]),
    ],
)
def test_multimodal_validation(client: httpx.Client, body: Any, message: str | None) -> None:
    response = client.post(MM_EMBED_PATH, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameter"
    if message is not None:
        assert response.json()["message"] == message


def test_multimodal_wrong_endpoint_message(client: httpx.Client) -> None:
    response = client.post(MM_EMBED_PATH, json=mm_request(["x"], "text-embedding-v4"))
    assert response.json()["message"] == (
        "url error, please check url\uff01 For details, see: "
        "https://help.aliyun.com/zh/model-studio/error-code#error-url"
    )  # [3P-CAP 2026]


def test_data_uri_size_limit(make_emulator: Callable[..., DashScopeEmulator]) -> None:
    models = {"qwen3-vl-embedding": {"max_image_bytes": 100}}
    emu = make_emulator(models=models)
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    body = mm_request([{"image": data_uri(TEAPOT)}])
    response = httpx.post(emu.url + MM_EMBED_PATH, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == MESSAGES["image_size"].format(max=0)


def test_captions_from_the_constructor_survive_reset(
    make_emulator: Callable[..., DashScopeEmulator], tmp_path: Path
) -> None:
    image = tmp_path / "pot.png"
    image.write_bytes(TEAPOT)
    emu = make_emulator(image_captions={image: "a teapot"})
    emu.describe_image("https://e.com/x.png", "x")
    emu.reset()
    assert list(emu.image_captions.values()) == ["a teapot"]
