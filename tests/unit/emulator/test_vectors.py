"""Text embeddings: limits, determinism, ordering and retrieval sanity (rerank and
multimodal embeddings: test_retrieval.py)."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply

from ._helpers import COMPAT_EMBED_PATH, EMBED_PATH, TEXT_PATH, chat


def embed_request(
    texts: Any, model: str = "text-embedding-v4", **parameters: Any
) -> dict[str, Any]:
    return {"model": model, "input": {"texts": texts}, "parameters": parameters}


def vectors(client: httpx.Client, texts: list[str], **kw: Any) -> list[list[float]]:
    response = client.post(EMBED_PATH, json=embed_request(texts, **kw))
    assert response.status_code == 200, response.text
    items = response.json()["output"]["embeddings"]
    return [item["embedding"] for item in sorted(items, key=lambda i: i["text_index"])]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("model", "parameters", "size"),
    [
        ("text-embedding-v4", {}, 1024),
        ("text-embedding-v4", {"dimension": 2048}, 2048),
        ("text-embedding-v4", {"dimension": 64}, 64),
        ("text-embedding-v3", {}, 1024),
        ("text-embedding-v3", {"dimension": 512}, 512),
        ("text-embedding-v2", {}, 1536),
        ("text-embedding-v1", {}, 1536),
    ],
)
def test_dimensions(
    client: httpx.Client, model: str, parameters: dict[str, Any], size: int
) -> None:
    (vector,) = vectors(client, ["hello"], model=model, **parameters)
    assert len(vector) == size
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
    assert sum(1 for x in vector if x != 0.0) >= 4  # spread over several slots, not one-hot


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            embed_request(["x"] * 11),
            "Value error, batch size is invalid, it should not be larger than 10.",
        ),
        (
            embed_request(["x"] * 11, "text-embedding-v3"),
            "Value error, batch size is invalid, it should not be larger than 10.",
        ),
        (
            embed_request(["x"] * 26, "text-embedding-v2"),
            "Value error, batch size is invalid, it should not be larger than 25.",
        ),
        (embed_request([]), "[] is too short"),
        (embed_request(["ok", ""]), "Range of input length should be [1, 8192]"),
        (
            embed_request(["x"], "text-embedding-v2", dimension=1024),
            "The model text-embedding-v2 does not support the dimension parameter.",
        ),
        (
            embed_request(["x"], "text-embedding-v3", dimension=2048),
            "Value error, dimension should be one of [1024, 768, 512, 256, 128, 64].",
        ),
        (
            embed_request(["x"], text_type="passage"),
            'text_type should be one of ["query", "document"]',
        ),
        (embed_request(["x"], "qwen-plus"), "url error, please check url\uff01"),
        (embed_request(["x"], "text-embedding-v9"), "Model not exist."),
    ],
)
def test_embedding_validation(client: httpx.Client, body: Any, message: str) -> None:
    response = client.post(EMBED_PATH, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == message


def test_batch_limits_are_inclusive(client: httpx.Client) -> None:
    assert len(vectors(client, ["x"] * 10)) == 10
    assert len(vectors(client, ["x"] * 25, model="text-embedding-v2")) == 25


def test_string_input_is_one_text(client: httpx.Client) -> None:
    body = client.post(EMBED_PATH, json=embed_request("代码改变世界")).json()
    assert [item["text_index"] for item in body["output"]["embeddings"]] == [0]
    assert body["usage"] == {"total_tokens": 6}


def test_deterministic_and_text_type_close(client: httpx.Client) -> None:
    first = vectors(client, ["风急天高猿啸哀", "渚清沙白鸟飞回"])
    again = vectors(client, ["风急天高猿啸哀", "渚清沙白鸟飞回"])
    query = vectors(client, ["风急天高猿啸哀"], text_type="query")[0]
    assert first == again
    assert first[0] != query
    assert cosine(first[0], query) > 0.95
    assert abs(cosine(first[0], first[1])) < 0.3
    assert vectors(client, ["风急天高猿啸哀"])[0] == first[0]  # independent of the batch


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("杭州今天的天气怎么样？", 0),
        ("上海的地铁票价", 1),
        ("How do I install Python packages?", 2),
        ("best pizza dough recipe", 3),
    ],
)
def test_retrieval_finds_the_related_document(client: httpx.Client, query: str, best: int) -> None:
    documents = [
        "杭州今天天气晴朗，气温 18 度。",
        "上海地铁的票价从 3 元起。",
        "Use pip to install Python packages from PyPI.",
        "A simple pizza dough recipe needs flour, water, yeast and salt.",
    ]
    docs = vectors(client, documents, text_type="document")
    (q,) = vectors(client, [query], text_type="query")
    scores = [cosine(q, d) for d in docs]
    assert max(range(4), key=scores.__getitem__) == best
    assert scores[best] > 0.2


def test_shuffled_embeddings_keep_text_index(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    texts = ["alpha", "beta", "gamma", "delta", "epsilon"]
    in_order = client.post(EMBED_PATH, json=embed_request(texts)).json()["output"]["embeddings"]
    assert [i["text_index"] for i in in_order] == [0, 1, 2, 3, 4]
    emulator.shuffle_embeddings = True
    shuffled = client.post(EMBED_PATH, json=embed_request(texts)).json()["output"]["embeddings"]
    assert [i["text_index"] for i in shuffled] != [0, 1, 2, 3, 4]
    assert sorted(i["text_index"] for i in shuffled) == [0, 1, 2, 3, 4]
    for item in shuffled:
        assert item["embedding"] == in_order[item["text_index"]]["embedding"]


def test_sparse_output(client: httpx.Client) -> None:
    body = embed_request(["风急天高"], output_type="dense&sparse")
    (item,) = client.post(EMBED_PATH, json=body).json()["output"]["embeddings"]
    assert set(item) == {"sparse_embedding", "embedding", "text_index"}
    tokens = {entry["token"] for entry in item["sparse_embedding"]}
    assert {"风", "风急", "天高"} <= tokens
    sparse_only = embed_request(["风"], output_type="sparse")
    (item,) = client.post(EMBED_PATH, json=sparse_only).json()["output"]["embeddings"]
    assert set(item) == {"sparse_embedding", "text_index"}
    rejected = client.post(
        EMBED_PATH, json=embed_request(["x"], "text-embedding-v2", output_type="sparse")
    )
    assert rejected.status_code == 400


def test_embeddings_do_not_consume_the_queue(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    emulator.enqueue(Reply.text("for chat"))
    vectors(client, ["x"])
    assert emulator.pending == 1
    body = client.post(TEXT_PATH, json=chat(result_format="message")).json()
    assert body["output"]["choices"][0]["message"]["content"] == "for chat"


def test_rules_can_fail_embeddings(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    emulator.when(
        lambda r: r.endpoint == "text-embedding",
        Reply.error(429, "Throttling", "slow down"),
        times=1,
    )
    failed = client.post(EMBED_PATH, json=embed_request(["x"]))
    assert failed.status_code == 429 and failed.json()["code"] == "Throttling"
    assert client.post(EMBED_PATH, json=embed_request(["x"])).status_code == 200


# ---------------------------------------------------------------------------- compat


def test_compat_embeddings(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    body = {"model": "text-embedding-v3", "input": ["hello world", "你好"], "dimensions": 256}
    response = client.post(COMPAT_EMBED_PATH, json=body).json()
    assert set(response) == {"data", "model", "object", "usage", "id"}
    assert response["object"] == "list" and response["model"] == "text-embedding-v3"
    assert [d["index"] for d in response["data"]] == [0, 1]
    assert {d["object"] for d in response["data"]} == {"embedding"}
    assert {len(d["embedding"]) for d in response["data"]} == {256}
    assert response["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    native = vectors(client, ["hello world"], model="text-embedding-v3", dimension=256)[0]
    assert response["data"][0]["embedding"] == native

    encoded = client.post(COMPAT_EMBED_PATH, json={**body, "encoding_format": "base64"}).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(decoded, native, strict=True))

    emulator.shuffle_embeddings = True
    shuffled = client.post(COMPAT_EMBED_PATH, json={**body, "input": ["a", "b", "c"]}).json()
    assert [d["index"] for d in shuffled["data"]] != [0, 1, 2]


def test_compat_embeddings_errors(client: httpx.Client) -> None:
    too_many = client.post(
        COMPAT_EMBED_PATH, json={"model": "text-embedding-v4", "input": ["x"] * 11}
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "invalid_parameter_error"
    assert "should not be larger than 10" in too_many.json()["error"]["message"]
    unknown = client.post(COMPAT_EMBED_PATH, json={"model": "nope", "input": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"
