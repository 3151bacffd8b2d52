"""Retrieval endpoints, both ways (pure): rerank on its two protocols, multimodal embeddings.

Protocol facts are from the retrieval notes (``/work/notes/retrieval-protocol.md``, labels as
in the protocol notes: [DOC] official reference, [SDK] official SDK, [3P-CAP] bytes a third
party captured, [INF] our inference). No capture of our own exists for these endpoints.

Rerank. The endpoint follows the model (capability table, ``rerank_api``):

* ``compatible``: ``POST {host}/compatible-api/v1/reranks`` [DOC], at the host root, not under
  ``/api/v1``: a flat body ``{"model","query","documents","top_n","instruct"}`` answered by
  ``{"object":"list","results":[{"index","relevance_score"}],"model","id","usage"}`` [DOC]
  [3P-CAP]. Only qwen3-rerank is documented there ("仅支持 qwen3-rerank").
* ``native``: ``POST {base}/services/rerank/text-rerank/text-rerank`` [DOC][SDK] with
  ``{"model","input":{"query","documents"},"parameters":{...}}``, answered by
  ``{"output":{"results":[...]},"usage":{"total_tokens"},"request_id"}`` (gte-rerank-v2,
  qwen3-vl-rerank, whose documents may be ``{"image": ...}`` / ``{"video": url}`` [DOC]).

Decisions where the references are silent (retrieval notes §6):

* Limits: documents per request and request tokens (``query tokens × documents + document
  tokens`` [DOC formula]) come from the table. A longer list is split into several requests
  and the answers merged by score, ``top_n`` applied after merging (each request asks for at
  most ``top_n``: the overall best are among each part's best). The docs call scores
  "relative within the request"; a pointwise reranker's score does not depend on the other
  documents [INF], which is what makes merging meaningful.
* Tokens per query or document: the service truncates longer items silently [DOC], so the
  client refuses them (``InvalidRequestError`` naming the document). Without the service's
  tokenizer the count is an estimate that errs high (:func:`estimate_tokens`); image and video
  documents count 0 towards the request budget (their token cost is not documented).
* qwen3-vl-rerank's "text 100 / image 40 / video 4" [DOC] is read as: at most 100 documents
  per request, of which at most 40 images and 4 videos.
* ``return_documents`` is never sent: the result's ``document`` is the caller's own text
  (identical to what the service would echo, and also right when a list was split). The
  compatible endpoint does not document the field for qwen3-rerank anyway [DOC].
* ``instruct`` for a model that does not read it (gte-rerank-v2 [DOC]) is an error, not
  dropped.
* The compatible path is derived from the base URL: a trailing ``/api/v1`` is replaced by
  ``/compatible-api/v1/reranks`` (``https://dashscope.aliyuncs.com/api/v1`` ->
  ``https://dashscope.aliyuncs.com/compatible-api/v1/reranks``; a gateway prefix before
  ``/api/v1`` is kept); a base URL without ``/api/v1`` gets it at its host root. The client
  sends paths relative to the base URL, so the path is spelled with ``..`` segments, which
  httpx removes when it builds the URL (RFC 3986 §5.2.4).

Multimodal embeddings: ``POST {base}/services/embeddings/multimodal-embedding/
multimodal-embedding`` [DOC][SDK], ``{"model","input":{"contents":[...]},"parameters":{...}}``
with items ``{"text"}``, ``{"image": url or data URI}``, ``{"video": url}``,
``{"multi_images": [...]}`` [DOC]. Decisions: local image files and bytes become data URIs
(the official SDK uploads them to temporary OSS instead [SDK]); video must be a URL [DOC
"仅支持URL"]; ``dimension`` equal to a fixed-size model's size is not sent, any other value is
an error; ``enable_fusion=True`` is refused for models other than qwen3-vl-embedding [DOC
"仅 qwen3-vl-embedding 模型支持该参数"]; an item holding several modalities is refused except
on the 2026-03-06 snapshots, which fuse it [DOC]; the plain tongyi models document no item
count, and 20 per request is our choice [INF].
"""

from __future__ import annotations

import base64
import math
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ._capabilities import ModelCapabilities
from ._errors import InvalidRequestError, ProtocolError
from ._native import RERANK_PATH, parse_model
from ._rules import check_embedding_batch_size, check_embedding_dimension, check_model_endpoint
from ._types import Embedding, EmbeddingResult, RerankItem, RerankResult, Usage

__all__ = [
    "COMPAT_RERANK_PATH",
    "DEFAULT_MULTIMODAL_EMBEDDING_MODEL",
    "MULTIMODAL_EMBEDDING_PATH",
    "NATIVE_RERANK_PATH",
    "MultimodalBatch",
    "RerankCall",
    "RerankPlan",
    "compat_rerank_path",
    "compat_rerank_url",
    "estimate_tokens",
    "image_source",
    "merge_reranks",
    "multimodal_embedding_batches",
    "multimodal_embedding_result",
    "rerank_answer",
    "rerank_plan",
    "video_source",
]

DEFAULT_MULTIMODAL_EMBEDDING_MODEL = "tongyi-embedding-vision-plus"
"""Served in Beijing and Singapore [DOC] (qwen3-vl-embedding is Beijing only)."""
COMPAT_RERANK_PATH = "/compatible-api/v1/reranks"
"""At the host root [DOC] (``compatible-api``, not ``compatible-mode``)."""
NATIVE_RERANK_PATH = RERANK_PATH
MULTIMODAL_EMBEDDING_PATH = "/services/embeddings/multimodal-embedding/multimodal-embedding"
_API_V1 = "/api/v1"
_MEDIA_KEYS = ("text", "image", "video", "multi_images")

# ------------------------------------------------------------------------- estimates

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_ESTIMATE_RE = re.compile(rf"([{_CJK}])|(\d)|((?:(?![{_CJK}])[^\W\d_])+)|(\S)")


def estimate_tokens(text: str) -> int:
    """A token count for ``text`` that errs high (we have no Qwen tokenizer).

    One per CJK character, digit and punctuation mark, and one per 4 letters of a word
    (rounded up; BPE tokens of English average about 4 characters and digits are split
    one by one by Qwen's tokenizer [INF]). Whitespace is free.
    """
    count = 0
    for match in _ESTIMATE_RE.finditer(text):
        word = match.group(3)
        count += math.ceil(len(word) / 4) if word else 1
    return count


# ---------------------------------------------------------------------------- media

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_URL_SCHEMES = ("http://", "https://", "oss://")


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


def _root(param: str) -> str:
    """The parameter an error names: ``documents`` for ``documents[3]``."""
    return re.split(r"[\[.]", param, maxsplit=1)[0]


def _too_big(size: int, max_bytes: int | None, what: str, param: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise InvalidRequestError(
            f"{what} is {size / 1048576:.1f} MB, over the model's limit of "
            f"{max_bytes / 1048576:.0f} MB per image; resize or recompress it",
            param=_root(param),
        )


def _data_uri(data: bytes, mime: str | None, what: str, param: str, max_bytes: int | None) -> str:
    mime = _sniff(data) or mime
    if mime is None or not mime.startswith("image/"):
        raise InvalidRequestError(
            f"{what} is not an image this client recognises (PNG, JPEG, GIF, WEBP, BMP, TIFF)",
            param=_root(param),
        )
    _too_big(len(data), max_bytes, what, param)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_source(value: Any, *, param: str = "image", max_bytes: int | None = None) -> str:
    """What DashScope takes as an image: an http(s)/oss URL or data URI as given; a local
    file (path, ``file://`` URI, ``os.PathLike``) or bytes (``bytes``, ``BytesIO``) as a
    ``data:image/...;base64,`` URI."""
    if hasattr(value, "getvalue"):  # io.BytesIO (LlamaIndex's ImageType)
        value = value.getvalue()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _data_uri(bytes(value), None, f"{param} (bytes)", param, max_bytes)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(
            f"{param} must be a URL, a data URI, a local file path or bytes, got {value!r:.80}",
            param=_root(param),
        )
    lowered = value[:16].lower()
    if lowered.startswith(_URL_SCHEMES):
        return value
    if lowered.startswith("data:"):
        head, _, payload = value.partition(",")
        if not head.lower().startswith("data:image/") or not head.lower().endswith(";base64"):
            raise InvalidRequestError(
                f"{param}: a data URI must read data:image/<format>;base64,<data> [DOC]",
                param=_root(param),
            )
        _too_big(len(payload) * 3 // 4, max_bytes, f"{param} (data URI)", param)
        return value
    path = Path(unquote(urlsplit(value).path) if lowered.startswith("file://") else value)
    if not path.is_file():
        raise InvalidRequestError(
            f"{param}={value!r:.120} is neither an http(s) URL, a data URI nor an existing file",
            param=_root(param),
        )
    return _data_uri(
        path.read_bytes(), mimetypes.guess_type(path.name)[0], str(path), param, max_bytes
    )


def video_source(value: Any, *, param: str = "video") -> str:
    """A video is a public URL: DashScope takes no local or base64 video [DOC "仅支持URL"]."""
    if isinstance(value, str) and value[:16].lower().startswith(_URL_SCHEMES):
        return value
    raise InvalidRequestError(
        f"{param} must be a public http(s) URL (DashScope does not take local or base64 "
        f"video); got {value!r:.80}",
        param=_root(param),
    )


def _media_check(kind: str, caps: ModelCapabilities, model: str, param: str) -> None:
    if caps.known and kind not in caps.media:
        hint = "qwen3-vl-rerank" if caps.endpoint == "rerank" else "qwen3-vl-embedding"
        takes = ", ".join(("text", *caps.media))
        raise InvalidRequestError(
            f"{param}: {model} takes {takes}, not {kind}; use e.g. {hint}", param=_root(param)
        )


# ---------------------------------------------------------------------------- rerank


def compat_rerank_url(base_url: str) -> str:
    """The compatible rerank URL for a native base URL (see the module docstring)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    prefix = path[: -len(_API_V1)] if path.endswith(_API_V1) else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}{COMPAT_RERANK_PATH}"


def compat_rerank_path(base_url: str) -> str:
    """:func:`compat_rerank_url` as a path relative to ``base_url`` (with ``..`` segments)."""
    path = urlsplit(base_url).path.rstrip("/")
    depth = len([segment for segment in path.split("/") if segment])
    prefix = path[: -len(_API_V1)] if path.endswith(_API_V1) else ""
    return "/" + "../" * depth + (prefix + COMPAT_RERANK_PATH).lstrip("/")


@dataclass(frozen=True, slots=True)
class RerankCall:
    """One request: ``path`` under the base URL, its body, and the caller's index of each
    document it sends (``indices[i]`` for the answer's ``index`` i)."""

    path: str
    body: dict[str, Any]
    indices: tuple[int, ...]
    compatible: bool


@dataclass(frozen=True, slots=True)
class RerankPlan:
    calls: tuple[RerankCall, ...]
    top_n: int | None
    texts: tuple[str | None, ...] | None
    """The documents' texts, when ``return_documents`` was asked."""


@dataclass(frozen=True, slots=True)
class _Doc:
    wire: str | dict[str, str]
    kind: str
    text: str | None
    tokens: int


def _rerank_caps(model: Any) -> ModelCapabilities:
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model must be a non-empty model name", param="model")
    return check_model_endpoint(model, "rerank")


def _check_tokens(text: str, caps: ModelCapabilities, model: str, what: str, param: str) -> int:
    tokens = estimate_tokens(text)
    if caps.max_item_tokens is not None and tokens > caps.max_item_tokens:
        raise InvalidRequestError(
            f"{what} is about {tokens} tokens (a count that errs high), over {model}'s limit "
            f"of {caps.max_item_tokens} tokens, beyond which the service silently truncates "
            "it; split long texts (e.g. with a text splitter) first",
            param=param,
        )
    return tokens


def _rerank_item(value: Any, caps: ModelCapabilities, model: str, param: str) -> _Doc:
    """A query or document as the wire takes it."""
    if isinstance(value, str):
        if not value.strip():
            raise InvalidRequestError(f"{param} is empty", param=_root(param))
        tokens = _check_tokens(value, caps, model, param, param.split("[")[0])
        return _Doc(value, "text", value, tokens)
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InvalidRequestError(
            f"{param} must be a string or one of {{'text': ...}}, {{'image': ...}}, "
            f"{{'video': url}}; got {value!r:.80}",
            param=_root(param),
        )
    ((kind, source),) = value.items()
    if kind == "text":  # a bare string is the same document [DOC "也可不通过dict直接传入字符串"]
        return _rerank_item(source, caps, model, param)
    if kind not in ("image", "video"):
        raise InvalidRequestError(
            f"{param} has the key {kind!r}; use text, image or video", param=_root(param)
        )
    _media_check(kind, caps, model, param)
    if kind == "image":
        wire = image_source(source, param=param, max_bytes=caps.max_image_bytes)
    else:
        wire = video_source(source, param=param)
    return _Doc({kind: wire}, kind, None, 0)


def _rerank_batches(
    query: _Doc, docs: Sequence[_Doc], caps: ModelCapabilities, model: str
) -> list[list[int]]:
    """Consecutive groups of document positions within every per-request limit."""
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = images = videos = 0
    for i, doc in enumerate(docs):
        cost = query.tokens + doc.tokens
        fits = (
            (caps.max_documents is None or len(current) < caps.max_documents)
            and (caps.max_request_tokens is None or tokens + cost <= caps.max_request_tokens)
            and (caps.max_images is None or images + (doc.kind == "image") <= caps.max_images)
            and (caps.max_videos is None or videos + (doc.kind == "video") <= caps.max_videos)
        )
        if current and not fits:
            batches.append(current)
            current, tokens, images, videos = [], 0, 0, 0
        if caps.max_request_tokens is not None and cost > caps.max_request_tokens:
            raise InvalidRequestError(
                f"the query with documents[{i}] is about {cost} tokens, over {model}'s "
                f"{caps.max_request_tokens} tokens per request; shorten the query",
                param="query",
            )
        current.append(i)
        tokens += cost
        images += doc.kind == "image"
        videos += doc.kind == "video"
    if current:
        batches.append(current)
    return batches


def rerank_plan(
    base_url: str,
    model: str,
    query: str | Mapping[str, Any],
    documents: Sequence[str | Mapping[str, Any]],
    *,
    top_n: int | None = None,
    return_documents: bool | None = None,
    instruct: str | None = None,
) -> RerankPlan:
    """The requests that rerank ``documents`` against ``query`` with ``model``."""
    caps = _rerank_caps(model)
    if isinstance(documents, (str, Mapping)) or not isinstance(documents, Sequence):
        raise InvalidRequestError(
            "documents must be a list (of strings, or of {'image': ...} items for qwen3-vl-rerank)",
            param="documents",
        )
    if not documents:
        raise InvalidRequestError("documents is empty: pass at least one", param="documents")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise InvalidRequestError(f"top_n={top_n!r} must be an integer >= 1", param="top_n")
    if return_documents not in (None, True, False):
        raise InvalidRequestError(
            f"return_documents must be True or False, got {return_documents!r}",
            param="return_documents",
        )
    if instruct is not None:
        if not isinstance(instruct, str) or not instruct.strip():
            raise InvalidRequestError("instruct must be a non-empty string", param="instruct")
        if caps.known and not caps.rerank_instruct:
            raise InvalidRequestError(
                f"{model} does not read instruct (only qwen3-rerank and qwen3-vl-rerank do "
                "[DOC]); leave it unset or use qwen3-rerank",
                param="instruct",
            )
    if isinstance(query, Mapping) and "video" in query:
        raise InvalidRequestError(
            "the query may be text or an image, not a video [DOC]", param="query"
        )
    wire_query = _rerank_item(query, caps, model, "query")
    docs = [_rerank_item(d, caps, model, f"documents[{i}]") for i, d in enumerate(documents)]
    compatible = caps.rerank_api == "compatible"
    if compatible and not all(d.kind == "text" for d in (wire_query, *docs)):
        raise InvalidRequestError(
            f"{model} ranks text only; use qwen3-vl-rerank for image or video", param="documents"
        )
    batches = _rerank_batches(wire_query, docs, caps, model)
    calls = []
    for batch in batches:
        wanted = top_n if top_n is None or len(batches) == 1 else min(top_n, len(batch))
        texts = [docs[i].wire for i in batch]
        if compatible:
            body: dict[str, Any] = {"model": model, "query": wire_query.wire, "documents": texts}
            if wanted is not None:
                body["top_n"] = wanted
            if instruct is not None:
                body["instruct"] = instruct
            path = compat_rerank_path(base_url)
        else:
            params: dict[str, Any] = {}
            if wanted is not None:
                params["top_n"] = wanted
            if instruct is not None:
                params["instruct"] = instruct
            body = {
                "model": model,
                "input": {"query": wire_query.wire, "documents": texts},
                "parameters": params,
            }
            path = NATIVE_RERANK_PATH
        calls.append(RerankCall(path, body, tuple(batch), compatible))
    return RerankPlan(
        calls=tuple(calls),
        top_n=top_n,
        texts=tuple(d.text for d in docs) if return_documents else None,
    )


def rerank_answer(
    call: RerankCall, raw: Any, request_id: str | None
) -> tuple[list[RerankItem], int, str | None]:
    """One answer as ``(items with the caller's indices, tokens used, request id)``."""
    if call.compatible:
        compat = parse_model("CompatRerankResponse", raw, request_id)
        results, usage, rid = compat.results, compat.usage, compat.id or request_id
    else:
        native = parse_model("RerankResponse", raw, request_id)
        results, usage, rid = native.output.results, native.usage, native.request_id or request_id
    items = []
    for result in results:
        if not 0 <= result.index < len(call.indices):
            raise ProtocolError(
                f"rerank answered index {result.index} for {len(call.indices)} documents",
                request_id=rid,
            )
        items.append(RerankItem(call.indices[result.index], result.relevance_score))
    # [DOC][SDK Java] native usage is total_tokens; the Python SDK's mock uses input_tokens.
    used = (usage.total_tokens or usage.input_tokens or 0) if usage is not None else 0
    return items, used, rid


def merge_reranks(
    plan: RerankPlan, answers: Sequence[tuple[list[RerankItem], int, str | None]]
) -> RerankResult:
    """The answers of a plan as one result: by score (ties: input order), then ``top_n``."""
    items = sorted(
        (item for found, _, _ in answers for item in found),
        key=lambda item: (-item.relevance_score, item.index),
    )
    if plan.top_n is not None:
        items = items[: plan.top_n]
    if plan.texts is not None:
        for item in items:
            item.document = plan.texts[item.index]
    total = sum(used for _, used, _ in answers)
    return RerankResult(
        results=items,
        usage=Usage(input_tokens=total, total_tokens=total),
        request_id=answers[-1][2] if answers else None,
    )


# --------------------------------------------------------------- multimodal embedding


@dataclass(frozen=True, slots=True)
class MultimodalBatch:
    offset: int
    """Position of this request's first item among the caller's contents."""
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Item:
    wire: dict[str, Any]
    images: int
    videos: int


def _multimodal_caps(model: Any) -> ModelCapabilities:
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model must be a non-empty model name", param="model")
    return check_model_endpoint(model, "multimodal-embedding")


def _content_item(value: Any, caps: ModelCapabilities, model: str, i: int) -> _Item:
    param = f"contents[{i}]"
    if isinstance(value, str):
        value = {"text": value}
    if not isinstance(value, Mapping) or not value:
        raise InvalidRequestError(
            f"{param} must be a string or a dict with text, image, video or multi_images; "
            f"got {value!r:.80}",
            param="contents",
        )
    unknown = [key for key in value if key not in _MEDIA_KEYS]
    if unknown:
        raise InvalidRequestError(
            f"{param} has the key {unknown[0]!r}; use text, image, video or multi_images",
            param="contents",
        )
    if len(value) > 1 and caps.known and caps.fusion != "object":
        hint = (
            " or enable_fusion=True to fuse all contents into one vector"
            if caps.fusion == "parameter"
            else ""
        )
        raise InvalidRequestError(
            f"{param} holds {' and '.join(value)} in one item, which {model} does not fuse; "
            f"pass them as separate items{hint}",
            param="contents",
        )
    wire: dict[str, Any] = {}
    images = videos = 0
    for kind, source in value.items():
        if kind == "text":
            if not isinstance(source, str) or not source.strip():
                raise InvalidRequestError(f"{param}: text is empty", param="contents")
            _check_tokens(source, caps, model, f"{param} (text)", "contents")
            wire["text"] = source
            continue
        _media_check(kind, caps, model, param)
        if kind == "image":
            wire["image"] = image_source(source, param=param, max_bytes=caps.max_image_bytes)
            images += 1
        elif kind == "video":
            wire["video"] = video_source(source, param=param)
            videos += 1
        else:
            if isinstance(source, (str, bytes)) or not isinstance(source, Sequence) or not source:
                raise InvalidRequestError(
                    f"{param}: multi_images must be a non-empty list of images", param="contents"
                )
            if caps.max_multi_images is not None and len(source) > caps.max_multi_images:
                raise InvalidRequestError(
                    f"{param} holds {len(source)} images; {model} takes at most "
                    f"{caps.max_multi_images} in one multi_images item",
                    param="contents",
                )
            wire["multi_images"] = [
                image_source(s, param=f"{param}.multi_images[{j}]", max_bytes=caps.max_image_bytes)
                for j, s in enumerate(source)
            ]
            images += len(source)
    return _Item(wire, images, videos)


def _over(count: int, limit: int | None) -> bool:
    return limit is not None and count > limit


def multimodal_embedding_batches(
    model: str,
    contents: Sequence[str | Mapping[str, Any]],
    *,
    dimension: int | None = None,
    enable_fusion: bool | None = None,
    instruct: str | None = None,
    fps: float | None = None,
    batch_size: int | None = None,
) -> list[MultimodalBatch]:
    """The requests embedding ``contents`` (each within the model's limits), in order."""
    caps = _multimodal_caps(model)
    if isinstance(contents, (str, Mapping)) or not isinstance(contents, Sequence):
        raise InvalidRequestError(
            "contents must be a list of items (strings, or dicts with text / image / video / "
            "multi_images), not one item",
            param="contents",
        )
    if not contents:
        raise InvalidRequestError("contents is empty: pass at least one item", param="contents")
    if enable_fusion not in (None, True, False):
        raise InvalidRequestError(
            f"enable_fusion must be True or False, got {enable_fusion!r}", param="enable_fusion"
        )
    if enable_fusion and caps.known and caps.fusion != "parameter":
        raise InvalidRequestError(
            f"enable_fusion is read only by qwen3-vl-embedding [DOC], not {model}",
            param="enable_fusion",
        )
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1
    ):
        raise InvalidRequestError(f"fps={fps!r} must be a number in (0, 1]", param="fps")
    if instruct is not None and (not isinstance(instruct, str) or not instruct.strip()):
        raise InvalidRequestError("instruct must be a non-empty string", param="instruct")
    dimension = check_embedding_dimension(model, dimension, param="dimension")
    size = check_embedding_batch_size(model, batch_size, param="batch_size")
    if enable_fusion is not None and caps.known and caps.fusion != "parameter":
        enable_fusion = None  # False on a model without the parameter: what it does anyway
    params: dict[str, Any] = {}
    for key, value in (
        ("dimension", dimension),
        ("enable_fusion", enable_fusion),
        ("instruct", instruct),
        ("fps", fps),
    ):
        if value is not None:
            params[key] = value
    items = [_content_item(value, caps, model, i) for i, value in enumerate(contents)]
    groups: list[list[_Item]] = []
    current: list[_Item] = []
    images = videos = 0
    for i, item in enumerate(items):
        if _over(item.images, caps.max_images) or _over(item.videos, caps.max_videos):
            raise InvalidRequestError(
                f"contents[{i}] holds more images or videos than {model} takes per request "
                f"({caps.max_images} images, {caps.max_videos} videos)",
                param="contents",
            )
        full = (
            len(current) >= size
            or _over(images + item.images, caps.max_images)
            or _over(videos + item.videos, caps.max_videos)
        )
        if current and full:
            if enable_fusion:
                raise InvalidRequestError(
                    f"enable_fusion fuses every item into one request, and these contents "
                    f"exceed {model}'s limits per request ({size} items, {caps.max_images} "
                    f"images, {caps.max_videos} videos [DOC])",
                    param="contents",
                )
            groups.append(current)
            current, images, videos = [], 0, 0
        current.append(item)
        images += item.images
        videos += item.videos
    groups.append(current)
    batches = []
    offset = 0
    for group in groups:
        body = {
            "model": model,
            "input": {"contents": [item.wire for item in group]},
            "parameters": dict(params),
        }
        batches.append(MultimodalBatch(offset, body))
        offset += len(group)
    return batches


def _add_counts(total: dict[str, Any], usage: Mapping[str, Any]) -> None:
    for key, value in usage.items():
        if isinstance(value, Mapping):
            _add_counts(total.setdefault(key, {}), value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


def multimodal_embedding_result(
    responses: Sequence[tuple[int, Any]], expected: int
) -> EmbeddingResult:
    """Batches' ``(offset, MultimodalEmbeddingResponse)`` -> one result in input order.

    ``usage`` keys differ per family [DOC §4.3]: ``total_tokens`` when given (tongyi,
    qwen3-vl), else ``input_tokens + image_tokens`` (multimodal-embedding-v1); the summed
    wire counts are kept in ``usage.raw``.
    """
    items: list[Embedding] = []
    raw: dict[str, Any] = {}
    request_id = None
    for offset, response in responses:
        for emb in sorted(response.output.embeddings, key=lambda e: e.index):
            if not emb.embedding:
                raise ProtocolError(
                    f"embedding {emb.index} came back empty", request_id=response.request_id
                )
            items.append(Embedding(index=offset + emb.index, vector=emb.embedding, kind=emb.type))
        _add_counts(raw, response.usage or {})
        request_id = response.request_id
    if len(items) != expected or len({e.index for e in items}) != expected:
        raise ProtocolError(
            f"asked for {expected} embeddings, received {len(items)}", request_id=request_id
        )
    output = int(raw.get("output_tokens", 0))
    total = raw.get("total_tokens")
    if total is None:
        total = raw.get("input_tokens", 0) + raw.get("image_tokens", 0) + output
    usage = Usage(
        input_tokens=int(total) - output, output_tokens=output, total_tokens=int(total), raw=raw
    )
    return EmbeddingResult(embeddings=items, usage=usage, request_id=request_id)
