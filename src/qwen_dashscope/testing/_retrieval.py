"""Rerank (native and ``/compatible-api``) and multimodal embeddings: validation and answers.

Evidence is the retrieval notes' (``/work/notes/retrieval-protocol.md``): [DOC] the API
references, [3P-CAP] bodies third parties captured from the live service, [INF] our guesses.
Every message marked [INF] sits in :data:`MESSAGES`, so it can be corrected in one place.

Meaning without a model:

* rerank scores are the cosine of the query's and the document's bags of words and Chinese
  bigrams (``_vectors.relevance``): the document sharing most words with the query comes
  first; an image or video is scored through its caption (see below), 0 without one;
* multimodal vectors: a text gets the same vector as on the text-embedding endpoint; an image
  or video gets its caption's vector plus a small marker feature (cosine ≈ 0.99 with the
  caption), its own random direction when it has no caption. Captions come from a scripted
  mapping (``DashScopeEmulator(image_captions=...)`` / ``describe_image``) keyed by URL or by
  the image's bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import ServiceError, body_invalid, compat_error_body, empty_input, invalid
from ._models import ModelSpec
from ._tokens import count_tokens, truncate_tokens
from ._validate import MSG_MODAL, MSG_TOO_SHORT, compat_model, lookup_model
from ._vectors import bag_vector, embed, features, relevance

_ALGO = "<400> InternalError.Algo.InvalidParameter: Value error, "
MESSAGES: dict[str, str] = {
    # [3P-CAP] Tencent/WeKnora#3458 (> 500 documents; "empty" is in the same text).
    "documents_count": _ALGO
    + "batch size of documents is invalid, it should not be empty or larger than {max}.: "
    "input.documents",
    # [3P-CAP] apecloud/ApeRAG#1071 (gte-rerank-v2, one very long document).
    "document_length": _ALGO
    + "document index:{index} is invalid, it should not be larger than 300000: input.documents",
    # [INF] the captured wording, applied to the per-type caps of qwen3-vl-rerank [DOC limits].
    "documents_images": _ALGO
    + "image count of documents is invalid, it should not be larger than {max}.: input.documents",
    "documents_videos": _ALGO
    + "video count of documents is invalid, it should not be larger than {max}.: input.documents",
    # [INF] request token limit [DOC] exceeded (behaviour undocumented).
    "request_tokens": _ALGO
    + "input tokens of the request is invalid, it should not be larger than {max}.: "
    "input.documents",
    "query_required": "The query field is a required field.",  # [INF]
    "documents_required": "The documents field is a required field.",  # [INF]
    "top_n": _ALGO + "top_n should be greater than or equal to 1.: parameters.top_n",  # [INF]
    "return_documents": "'return_documents' must be Boolean",  # [INF]
    # [INF] by analogy with the captured text-embedding message ("batch size is invalid...").
    "contents_count": _ALGO
    + "batch size is invalid, it should not be larger than {max}.: input.contents",
    "contents_images": _ALGO
    + "image count is invalid, it should not be larger than {max}.: input.contents",
    "contents_videos": _ALGO
    + "video count is invalid, it should not be larger than {max}.: input.contents",
    "multi_images": _ALGO
    + "multi_images size is invalid, it should not be larger than {max}.: input.contents",
    "image_url": "The image url is invalid, it should be an http(s) URL or a base64 data URI.",
    "image_size": "The image size is too large, it should not be larger than {max} MB.",
    "video_url": "The video url is invalid, only http(s) URLs are supported.",  # [DOC] URL only
    "output_type": 'output_type should be one of ["dense"]',  # [DOC] "目前仅支持dense"
    "fps": "fps should be in [0, 1].",
    "dimension_fixed": "The model {model} does not support the dimension parameter.",
    "dimension": "Value error, dimension should be one of [{allowed}].",
    "text_length": "Range of input length should be [1, {max}]",
    "compat_model": "Unsupported model {model} for OpenAI compatibility mode.",  # 404 [INF]
}
MAX_DOCUMENT_CHARS = 300_000
"""[3P-CAP] a single document longer than this (characters [INF]) is refused."""
VIDEO_IMAGES = 4
"""[INF] a video counts as this many images (tokens, usage)."""


def _message(key: str, **values: Any) -> str:
    return MESSAGES[key].format(**values)


# ------------------------------------------------------------------------------- media


def media_key(source: Any) -> str:
    """The caption-mapping key of an image or video: the URL, or ``sha256:<hex>`` of the
    image's bytes (from bytes, a data URI or a local file)."""
    if isinstance(source, (bytes, bytearray)):
        return "sha256:" + hashlib.sha256(bytes(source)).hexdigest()
    if isinstance(source, Path):
        return media_key(source.read_bytes())
    text = str(source)
    if text[:5].lower() == "data:":
        _, _, payload = text.partition(",")
        try:
            return media_key(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            return "data:" + hashlib.sha256(text.encode()).hexdigest()
    if not text[:8].lower().startswith(("http://", "https:/", "oss://")) and Path(text).is_file():
        return media_key(Path(text).read_bytes())
    return text


def _check_image(source: Any, spec: ModelSpec) -> str:
    if not isinstance(source, str) or not source:
        raise invalid(_message("image_url"))
    head = source[:16].lower()
    if head.startswith(("http://", "https://", "oss://")):
        return source  # loopback tests cannot fetch it: only the scheme is checked
    meta, comma, payload = source.partition(",")
    meta = meta.lower()
    if not comma or not meta.startswith("data:image/") or not meta.endswith(";base64"):
        raise invalid(_message("image_url"))
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(_message("image_url")) from None
    if spec.max_image_bytes is not None and len(data) > spec.max_image_bytes:
        raise invalid(_message("image_size", max=spec.max_image_bytes // (1024 * 1024)))
    return source


def _check_video(source: Any) -> str:
    if not isinstance(source, str) or not source[:8].lower().startswith(("http://", "https:/")):
        raise invalid(_message("video_url"))
    return source


def _media_bag(kind: str, source: str, captions: Mapping[str, str]) -> dict[str, float]:
    caption = captions.get(media_key(source))
    if caption is None:
        return {f"\x00{kind}:{media_key(source)}": 1.0}
    bag = features(caption)
    norm = math.sqrt(sum(w * w for w in bag.values())) or 1.0
    bag[f"\x00{kind}"] = 0.1 * norm
    return bag


def _caption(kind: str, source: str, captions: Mapping[str, str]) -> str:
    return captions.get(media_key(source), "") if kind != "text" else source


# ------------------------------------------------------------------------------ rerank


@dataclass(frozen=True)
class RerankDoc:
    kind: str
    """text, image or video."""
    value: str
    """The text (truncated to the model's limit), or the image/video source."""
    tokens: int


@dataclass(frozen=True)
class RerankPlan:
    spec: ModelSpec
    query: RerankDoc
    documents: tuple[RerankDoc, ...]
    top_n: int
    return_documents: bool
    compatible: bool


def _rerank_text(value: str, spec: ModelSpec) -> RerankDoc:
    # [DOC] "Exceeding this limit triggers truncation": silently, counting what is kept.
    text = truncate_tokens(value, spec.max_text_tokens) if spec.max_text_tokens else value
    return RerankDoc("text", text, count_tokens(text))


def _rerank_item(value: Any, spec: ModelSpec, *, compatible: bool, query: bool) -> RerankDoc:
    if isinstance(value, str):
        return _rerank_text(value, spec)
    if compatible or not isinstance(value, dict) or len(value) != 1:
        raise body_invalid()
    ((kind, source),) = value.items()
    if kind == "text" and isinstance(source, str):
        return _rerank_text(source, spec)
    if kind not in spec.media or (query and kind == "video"):
        raise invalid(MSG_MODAL)  # [INF] the generation endpoint's message for odd items
    if kind == "image":
        return RerankDoc("image", _check_image(source, spec), spec.image_tokens)
    return RerankDoc("video", _check_video(source), spec.image_tokens * VIDEO_IMAGES)


def _plan_rerank(
    spec: ModelSpec, query: Any, raw_docs: Any, params: Mapping[str, Any], *, compatible: bool
) -> RerankPlan:
    if query is None or query == "" or query == {}:
        raise invalid(_message("query_required"))
    wire_query = _rerank_item(query, spec, compatible=compatible, query=True)
    if wire_query.kind == "text" and not wire_query.value.strip():
        raise invalid(_message("query_required"))
    if not isinstance(raw_docs, list):
        raise invalid(_message("documents_required"))
    if not raw_docs or (spec.max_batch and len(raw_docs) > spec.max_batch):
        raise invalid(_message("documents_count", max=spec.max_batch))
    documents = []
    for index, doc in enumerate(raw_docs):
        text = doc if isinstance(doc, str) else doc.get("text") if isinstance(doc, dict) else None
        if isinstance(text, str) and len(text) > MAX_DOCUMENT_CHARS:
            raise invalid(_message("document_length", index=index))
        documents.append(_rerank_item(doc, spec, compatible=compatible, query=False))
    images = sum(d.kind == "image" for d in documents)
    videos = sum(d.kind == "video" for d in documents)
    if spec.max_images is not None and images > spec.max_images:
        raise invalid(_message("documents_images", max=spec.max_images))
    if spec.max_videos is not None and videos > spec.max_videos:
        raise invalid(_message("documents_videos", max=spec.max_videos))
    tokens = wire_query.tokens * len(documents) + sum(d.tokens for d in documents)
    if spec.max_request_tokens is not None and tokens > spec.max_request_tokens:
        raise invalid(_message("request_tokens", max=spec.max_request_tokens))
    top_n = params.get("top_n", len(documents))
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise invalid(_message("top_n"))
    return_documents = params.get("return_documents", False)
    if not isinstance(return_documents, bool):
        raise invalid(_message("return_documents"))
    return RerankPlan(
        spec,
        wire_query,
        tuple(documents),
        min(top_n, len(documents)),
        # Decision: the compatible endpoint never returns documents (no observed body does).
        return_documents and not compatible,
        compatible,
    )


def plan_rerank(body: Any, *, models: Mapping[str, ModelSpec]) -> RerankPlan:
    """Validate a native text-rerank request (any rerank model; qwen3-rerank too [DOC-Q])."""
    if not isinstance(body, dict):
        raise body_invalid()
    spec = lookup_model(body, models)
    if spec.endpoint != "text-rerank":
        raise ServiceError(400, "InvalidParameter", "url error, please check url\uff01")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise empty_input()
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise body_invalid()
    return _plan_rerank(spec, inp.get("query"), inp.get("documents"), params, compatible=False)


def plan_compat_rerank(body: Any, *, models: Mapping[str, ModelSpec]) -> RerankPlan:
    """Validate a ``/compatible-api/v1/reranks`` request: a flat body, qwen3-rerank only."""
    body, model, spec = compat_model(body, models)
    if spec.endpoint != "text-rerank" or not spec.compatible_rerank:
        raise ServiceError(404, "model_not_supported", _message("compat_model", model=model))
    # A nested native body has no top-level query/documents: a required-field error [INF].
    return _plan_rerank(spec, body.get("query"), body.get("documents"), body, compatible=True)


def _rerank_scores(plan: RerankPlan, captions: Mapping[str, str]) -> list[tuple[float, int]]:
    query = _caption(plan.query.kind, plan.query.value, captions)
    scored = []
    for i, doc in enumerate(plan.documents):
        text = _caption(doc.kind, doc.value, captions)
        scored.append((relevance(query, text) if query and text else 0.0, i))
    return sorted(scored, key=lambda pair: (-pair[0], pair[1]))[: plan.top_n]


def rerank_body(plan: RerankPlan, request_id: str, captions: Mapping[str, str]) -> dict[str, Any]:
    """The answer: by score (ties: lower index first [INF]); usage per the [DOC] formula."""
    tokens = plan.query.tokens * len(plan.documents) + sum(d.tokens for d in plan.documents)
    results: list[dict[str, Any]] = []
    for score, i in _rerank_scores(plan, captions):
        result: dict[str, Any] = {}
        if plan.return_documents:
            # [3P-CAP] "document" comes first; image/video echo their source [3P-mock].
            doc = plan.documents[i]
            result["document"] = {doc.kind: doc.value}
        result["index"] = i
        result["relevance_score"] = score
        results.append(result)
    if plan.compatible:
        # [DOC][3P-CAP] key order object, results, model, id, usage; no request_id.
        return {
            "object": "list",
            "results": results,
            "model": plan.spec.name,
            "id": request_id,
            "usage": {"total_tokens": tokens},
        }
    return {
        "output": {"results": results},
        "usage": {"total_tokens": tokens},
        "request_id": request_id,
    }


def compat_rerank_error_body(error: ServiceError, request_id: str) -> dict[str, Any]:
    """OpenAI envelope plus ``id`` and ``request_id`` (equal), as compatible-mode's
    embeddings answer [3P-CAP]; validation errors keep the native code as type and code."""
    body = compat_error_body(error, request_id)
    if error.code.startswith("InvalidParameter"):
        body["error"]["type"] = body["error"]["code"] = error.code
    return {"error": body["error"], "id": request_id, "request_id": request_id}


# ------------------------------------------------------------------ multimodal embedding


@dataclass(frozen=True)
class MultimodalItem:
    parts: tuple[tuple[str, Any], ...]
    """(kind, value) pairs: text, image, video, multi_images (a tuple of sources)."""


@dataclass(frozen=True)
class MultimodalPlan:
    spec: ModelSpec
    items: tuple[MultimodalItem, ...]
    dimension: int
    fuse_all: bool


def _multimodal_item(value: Any, spec: ModelSpec) -> MultimodalItem:
    if isinstance(value, str):
        value = {"text": value}
    if not isinstance(value, dict) or not value:
        raise body_invalid()
    if any(key not in ("text", *spec.media) for key in value):
        raise invalid(MSG_MODAL)
    if len(value) > 1 and spec.fusion != "object":
        raise invalid(MSG_MODAL)  # [INF] decision: only the snapshots fuse an item [DOC]
    parts: list[tuple[str, Any]] = []
    for kind, source in value.items():
        if kind == "text":
            if not isinstance(source, str) or not source:
                raise invalid(_message("text_length", max=spec.max_text_tokens))
            if spec.max_text_tokens and count_tokens(source) > spec.max_text_tokens:
                raise invalid(_message("text_length", max=spec.max_text_tokens))
            parts.append(("text", source))
        elif kind == "image":
            parts.append(("image", _check_image(source, spec)))
        elif kind == "video":
            parts.append(("video", _check_video(source)))
        else:
            if not isinstance(source, list) or not source:
                raise body_invalid()
            if spec.max_multi_images is not None and len(source) > spec.max_multi_images:
                raise invalid(_message("multi_images", max=spec.max_multi_images))
            parts.append(("multi_images", tuple(_check_image(s, spec) for s in source)))
    return MultimodalItem(tuple(parts))


def plan_multimodal_embedding(body: Any, *, models: Mapping[str, ModelSpec]) -> MultimodalPlan:
    """Validate a multimodal-embedding request."""
    if not isinstance(body, dict):
        raise body_invalid()
    spec = lookup_model(body, models)
    if spec.endpoint != "multimodal-embedding":
        # [3P-CAP 2026] HKUDS/DeepTutor#660 (a text model on this endpoint).
        raise invalid(
            "url error, please check url\uff01 For details, see: "
            "https://help.aliyun.com/zh/model-studio/error-code#error-url"
        )
    inp = body.get("input")
    if not isinstance(inp, dict) or inp.get("contents") is None:
        raise empty_input()
    contents = inp["contents"]
    if not isinstance(contents, list):
        raise body_invalid()
    if not contents:
        raise invalid(MSG_TOO_SHORT)
    if spec.max_batch and len(contents) > spec.max_batch:
        raise invalid(_message("contents_count", max=spec.max_batch))
    items = tuple(_multimodal_item(value, spec) for value in contents)
    images = sum(
        1 if kind == "image" else len(value) if kind == "multi_images" else 0
        for item in items
        for kind, value in item.parts
    )
    videos = sum(kind == "video" for item in items for kind, _ in item.parts)
    if spec.max_images is not None and images > spec.max_images:
        raise invalid(_message("contents_images", max=spec.max_images))
    if spec.max_videos is not None and videos > spec.max_videos:
        raise invalid(_message("contents_videos", max=spec.max_videos))
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise body_invalid()
    if params.get("output_type", "dense") != "dense":
        raise invalid(_message("output_type"))
    fps = params.get("fps", 1.0)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 <= fps <= 1:
        raise invalid(_message("fps"))
    dimension = params.get("dimension")
    if dimension is None:
        dimension = spec.dimensions[0]
    elif len(spec.dimensions) == 1:
        raise invalid(_message("dimension_fixed", model=spec.name))  # [INF] decision
    elif isinstance(dimension, bool) or dimension not in spec.dimensions:
        allowed = ", ".join(str(d) for d in sorted(spec.dimensions, reverse=True))
        raise invalid(_message("dimension", allowed=allowed))
    # [DOC] "仅 qwen3-vl-embedding 模型支持该参数": elsewhere it is ignored [INF].
    fuse_all = params.get("enable_fusion") is True and spec.fusion == "parameter"
    return MultimodalPlan(spec, items, int(dimension), fuse_all)


def _part_bag(kind: str, value: Any, captions: Mapping[str, str]) -> dict[str, float]:
    if kind == "text":
        return features(value)
    if kind == "multi_images":
        bag: dict[str, float] = {}
        for source in value:
            for feature, weight in _media_bag("image", source, captions).items():
                bag[feature] = bag.get(feature, 0.0) + weight / len(value)
        return bag
    return _media_bag(kind, value, captions)


def _vector(parts: Any, dimension: int, captions: Mapping[str, str]) -> list[float]:
    if len(parts) == 1 and parts[0][0] == "text":
        return embed(parts[0][1], dimension)  # the text-embedding endpoint's vector
    total = [0.0] * dimension
    for kind, value in parts:
        for i, x in enumerate(bag_vector(_part_bag(kind, value, captions), dimension)):
            total[i] += x
    norm = math.sqrt(sum(x * x for x in total)) or 1.0
    return [x / norm for x in total]


def _usage(plan: MultimodalPlan, vectors: int) -> dict[str, Any]:
    text = image = count = videos = 0
    for item in plan.items:
        for kind, value in item.parts:
            if kind == "text":
                text += count_tokens(value)
            elif kind == "video":
                image += plan.spec.image_tokens * VIDEO_IMAGES
                videos += 1
            else:
                pictures = 1 if kind == "image" else len(value)
                image += plan.spec.image_tokens * pictures
                count += pictures
    family = plan.spec.usage_family
    if family == "qwen3-vl":
        return {"input_tokens": text, "image_tokens": image, "total_tokens": text + image}
    if family == "v1":
        # [DOC] duration = video seconds; the emulator cannot watch: 10 s per video [INF].
        return {
            "input_tokens": text,
            "image_tokens": image,
            "image_count": count,
            "duration": 10 * videos,
        }
    return {
        "input_tokens": text + image,
        "input_tokens_details": {"image_tokens": image, "text_tokens": text},
        "output_tokens": vectors,
        "total_tokens": text + image + vectors,
    }


def _kind(item: MultimodalItem, spec: ModelSpec) -> str:
    if len(item.parts) > 1:
        return "fused"  # [DOC] the snapshots' fused vector
    if spec.fusion == "parameter":
        return "vl"  # [DOC] qwen3-vl-embedding in independent mode
    return item.parts[0][0]


def multimodal_embedding_body(
    plan: MultimodalPlan, request_id: str, captions: Mapping[str, str]
) -> dict[str, Any]:
    """One vector per item (``index`` = position), or one ``fusion`` vector for all."""
    if plan.fuse_all:
        parts = tuple(part for item in plan.items for part in item.parts)
        vector = _vector(parts, plan.dimension, captions)
        embeddings = [{"index": 0, "embedding": vector, "type": "fusion"}]
    else:
        embeddings = [
            {
                "index": i,
                "embedding": _vector(item.parts, plan.dimension, captions),
                "type": _kind(item, plan.spec),
            }
            for i, item in enumerate(plan.items)
        ]
    return {
        "output": {"embeddings": embeddings},
        "usage": _usage(plan, len(embeddings)),
        "request_id": request_id,
    }
