"""Text embeddings (protocol doc §9) and the tokenizer: validation, vectors, bodies. Pure.

Rerank and multimodal embeddings are in ``_retrieval`` (they reuse these vectors and scores).

Vectors are hashed bags of features, so texts that share words (or, for Chinese, character
bigrams) point in similar directions and retrieval over them behaves sensibly:

* a run of non-CJK word characters gives the lower-cased word (weight 1);
* a run of CJK characters gives each character bigram (weight 1) and each character (0.5);
* each feature adds ±weight at 8 positions chosen by BLAKE2b, then the vector is L2-normalised;
* ``text_type="query"`` adds one small marker feature, so a query and the same text as a
  document are close (cosine ≈ 0.99) but not identical.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import ServiceError, body_invalid, empty_input, invalid, url_error
from ._models import ModelSpec
from ._recorded import content_text
from ._tokens import CJK_RANGES, TOKEN_RE, count_tokens
from ._validate import MSG_TOO_SHORT, compat_model, lookup_model

_FEATURE_RE = re.compile(rf"([{CJK_RANGES}]+)|((?:(?![{CJK_RANGES}])\w)+)")
SPARSE_VOCABULARY = 250_000
"""Index range of ``sparse_embedding`` items."""
QUERY_MARKER_WEIGHT = 0.1
SLOTS_PER_FEATURE = 8

TextType = Literal["query", "document"]
OutputType = Literal["dense", "sparse", "dense&sparse"]


def features(text: str) -> dict[str, float]:
    """Weighted bag of features of ``text`` (see the module docstring)."""
    out: dict[str, float] = {}
    for match in _FEATURE_RE.finditer(text):
        cjk, word = match.group(1), match.group(2)
        if word:
            key = word.lower()
            out[key] = out.get(key, 0.0) + 1.0
            continue
        for char in cjk:
            out[char] = out.get(char, 0.0) + 0.5
        for a, b in itertools.pairwise(cjk):
            out[a + b] = out.get(a + b, 0.0) + 1.0
    if not out and text.strip():
        out[text.strip()] = 1.0  # punctuation-only text still gets a direction
    return out


def _slot(feature: str, size: int, salt: int = 0) -> tuple[int, float]:
    digest = hashlib.blake2b(f"{salt}:{feature}".encode(), digest_size=8).digest()
    return int.from_bytes(digest[:6], "big") % size, (1.0 if digest[7] & 1 else -1.0)


def embed(text: str, dimension: int, text_type: TextType = "document") -> list[float]:
    """Deterministic L2-normalised dense vector of ``text``.

    Each feature is spread over ``SLOTS_PER_FEATURE`` signed positions (a count sketch), so
    vectors are not one-hot and hash collisions average out.
    """
    bag = features(text)
    if text_type == "query":
        norm = math.sqrt(sum(w * w for w in bag.values())) or 1.0
        bag["\x00query"] = QUERY_MARKER_WEIGHT * norm
    return bag_vector(bag, dimension)


def bag_vector(bag: dict[str, float], dimension: int) -> list[float]:
    """The L2-normalised count sketch of a weighted bag of features."""
    if not bag:
        bag = {"\x00empty": 1.0}
    vector = [0.0] * dimension
    for feature, weight in bag.items():
        for salt in range(SLOTS_PER_FEATURE):
            index, sign = _slot(feature, dimension, salt)
            vector[index] += sign * weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:  # every slot cancelled out (vanishingly rare)
        vector[_slot("\x00empty", dimension)[0]] = 1.0
        return vector
    return [x / norm for x in vector]


def sparse_embed(text: str) -> list[dict[str, Any]]:
    """``sparse_embedding`` items: one ``{"index","value","token"}`` per feature."""
    return [
        {"index": _slot(feature, SPARSE_VOCABULARY)[0], "value": round(weight, 4), "token": feature}
        for feature, weight in features(text).items()
    ]


def relevance(query: str, document: str) -> float:
    """Rerank score in [0, 1]: mostly the share of the query's features the document holds
    (so the document sharing most words with the query ranks first), a little the cosine of
    the two bags (of two documents holding the same query words, the more focused one wins).
    """
    q, d = features(query), features(document)
    shared = sum(min(weight, d[key]) for key, weight in q.items() if key in d)
    if shared == 0.0:
        return 0.0
    dot = sum(weight * d[key] for key, weight in q.items() if key in d)
    norm = math.sqrt(sum(w * w for w in q.values())) * math.sqrt(sum(w * w for w in d.values()))
    recall = shared / sum(q.values())
    return round(min(1.0, 0.8 * recall + 0.2 * dot / norm), 6)


def shuffled_order(count: int) -> list[int]:
    """A fixed permutation of ``range(count)`` that is never the identity when count > 1."""
    order = sorted(range(count), key=lambda i: hashlib.sha256(str(i).encode()).digest())
    if count > 1 and order == list(range(count)):
        order = order[1:] + order[:1]
    return order


# --------------------------------------------------------------------------- embeddings


@dataclass(frozen=True)
class EmbeddingPlan:
    spec: ModelSpec
    texts: tuple[str, ...]
    dimension: int
    text_type: TextType
    output_type: OutputType
    encoding_format: Literal["float", "base64"] = "float"


def _check_texts(texts: Any, spec: ModelSpec) -> tuple[str, ...]:
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise body_invalid()
    if not texts:
        raise invalid(MSG_TOO_SHORT)
    if len(texts) > spec.max_batch:
        raise invalid(
            f"Value error, batch size is invalid, it should not be larger than {spec.max_batch}."
        )
    for text in texts:
        if not text or count_tokens(text) > spec.max_text_tokens:
            raise invalid(f"Range of input length should be [1, {spec.max_text_tokens}]")
    return tuple(texts)


def _check_dimension(value: Any, spec: ModelSpec) -> int:
    if value is None:
        return spec.dimensions[0]
    if len(spec.dimensions) == 1:
        # [INF] v1/v2 have a fixed 1536 dimension and do not accept the parameter (§9).
        raise invalid(f"The model {spec.name} does not support the dimension parameter.")
    if isinstance(value, bool) or value not in spec.dimensions:
        allowed = ", ".join(str(d) for d in sorted(spec.dimensions, reverse=True))
        raise invalid(f"Value error, dimension should be one of [{allowed}].")  # [INF]
    return int(value)


def plan_embedding(body: Any, *, models: Mapping[str, ModelSpec]) -> EmbeddingPlan:
    """Validate a native text-embedding request."""
    if not isinstance(body, dict):
        raise body_invalid()
    spec = lookup_model(body, models)
    if spec.endpoint != "text-embedding":
        raise url_error()
    inp = body.get("input")
    if not isinstance(inp, dict) or inp.get("texts") is None:
        raise empty_input()
    texts = _check_texts(inp["texts"], spec)
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise body_invalid()
    text_type = params.get("text_type", "document")
    if text_type not in ("query", "document"):
        raise invalid('text_type should be one of ["query", "document"]')  # [INF]
    output_type = params.get("output_type", "dense")
    if output_type not in ("dense", "sparse", "dense&sparse") or (
        output_type != "dense" and not spec.sparse
    ):
        raise invalid(f"The output_type {output_type} is not supported by {spec.name}.")  # [INF]
    return EmbeddingPlan(
        spec=spec,
        texts=texts,
        dimension=_check_dimension(params.get("dimension"), spec),
        text_type=text_type,
        output_type=output_type,
    )


def plan_compat_embedding(body: Any, *, models: Mapping[str, ModelSpec]) -> EmbeddingPlan:
    """Validate an OpenAI-compatible /embeddings request."""
    body, model, spec = compat_model(body, models)
    if spec.endpoint != "text-embedding":
        raise ServiceError(
            404, "model_not_supported", f"Unsupported model {model} for OpenAI compatibility mode."
        )
    if body.get("input") is None:
        raise invalid("you must provide an input parameter.")  # [INF]
    texts = _check_texts(body["input"], spec)
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise invalid('encoding_format should be one of ["float", "base64"]')  # [INF]
    return EmbeddingPlan(
        spec=spec,
        texts=texts,
        dimension=_check_dimension(body.get("dimensions"), spec),
        text_type="document",
        output_type="dense",
        encoding_format=encoding,
    )


def embedding_body(plan: EmbeddingPlan, request_id: str, *, shuffle: bool) -> dict[str, Any]:
    """Native body [CAP embedding-v2.json]: embeddings with ``text_index``, usage total_tokens."""
    order = shuffled_order(len(plan.texts)) if shuffle else list(range(len(plan.texts)))
    items: list[dict[str, Any]] = []
    for i in order:
        text = plan.texts[i]
        item: dict[str, Any] = {}
        if plan.output_type != "dense":
            item["sparse_embedding"] = sparse_embed(text)
        if plan.output_type != "sparse":
            item["embedding"] = embed(text, plan.dimension, plan.text_type)
        item["text_index"] = i
        items.append(item)
    tokens = sum(count_tokens(t) for t in plan.texts)
    return {
        "output": {"embeddings": items},
        "usage": {"total_tokens": tokens},
        "request_id": request_id,
    }


def compat_embedding_body(plan: EmbeddingPlan, request_id: str, *, shuffle: bool) -> dict[str, Any]:
    """OpenAI ``list`` of ``embedding`` objects (base64 = little-endian float32, as OpenAI)."""
    order = shuffled_order(len(plan.texts)) if shuffle else list(range(len(plan.texts)))
    data: list[dict[str, Any]] = []
    for i in order:
        vector = embed(plan.texts[i], plan.dimension, plan.text_type)
        encoded: Any = vector
        if plan.encoding_format == "base64":
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"embedding": encoded, "index": i, "object": "embedding"})
    tokens = sum(count_tokens(t) for t in plan.texts)
    return {
        "data": data,
        "model": plan.spec.name,
        "object": "list",
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        "id": request_id,
    }


# --------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class TokenizePlan:
    text: str


def plan_tokenize(body: Any, *, models: Mapping[str, ModelSpec]) -> TokenizePlan:
    """Validate a ``/api/v1/tokenizer`` request (capture tokenizer.request.json)."""
    if not isinstance(body, dict):
        raise body_invalid()
    spec = lookup_model(body, models)
    if not spec.is_chat:
        raise url_error()
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise empty_input()
    messages = inp.get("messages")
    if isinstance(messages, list) and messages:
        if not all(isinstance(m, dict) for m in messages):
            raise body_invalid()
        return TokenizePlan("".join(content_text(m.get("content")) for m in messages))
    prompt = inp.get("prompt")
    if isinstance(prompt, str) and prompt:
        return TokenizePlan(prompt)
    raise invalid(MSG_TOO_SHORT)


def tokenize_body(plan: TokenizePlan, request_id: str) -> dict[str, Any]:
    """The emulator's tokens (see ``_tokens``) with stable ids, shaped like the capture."""
    tokens = TOKEN_RE.findall(plan.text)
    ids = [
        int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest(), "big") % 151_643
        for t in tokens
    ]
    return {
        "output": {"token_ids": ids, "tokens": tokens},
        "usage": {"input_tokens": len(tokens)},
        "request_id": request_id,
    }
