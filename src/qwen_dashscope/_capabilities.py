"""What each Qwen model can do: context, output limit, thinking, vision, tools, endpoint.

Figures follow the Model Studio model pages (see the protocol notes §11); they change over
time, so every entry can be overridden with :func:`register_model` or per instance in the
adapters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "DEFAULT_CAPABILITIES",
    "KNOWN_MODELS",
    "Endpoint",
    "Fusion",
    "MediaKind",
    "ModelCapabilities",
    "RerankAPI",
    "ThinkingMode",
    "get_model_capabilities",
    "register_model",
    "suggest_models",
]

ThinkingMode = Literal["none", "hybrid", "always"]
Endpoint = Literal["text", "multimodal", "embedding", "rerank", "multimodal-embedding"]
RerankAPI = Literal["compatible", "native"]
MediaKind = Literal["image", "video", "multi_images"]
Fusion = Literal["none", "parameter", "object"]


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """Capabilities of one model (or family).

    ``thinking``: "none" (never reasons), "hybrid" (``enable_thinking`` switches it, default
    ``thinking_default``), "always" (always reasons). ``thinking_stream_only``: the service
    rejects thinking on non-streaming calls, so clients must stream internally.
    ``stream_only``: the model only answers streaming calls at all (Omni).
    ``endpoint``: where a text-only request goes; ``vision`` models take images there or on
    the multimodal endpoint.
    """

    context_window: int = 32_768
    max_output: int = 8_192
    thinking: ThinkingMode = "none"
    thinking_default: bool = False
    thinking_stream_only: bool = False
    stream_only: bool = False
    vision: bool = False
    tools: bool = True
    endpoint: Endpoint = "text"
    embedding_batch_size: int | None = None
    embedding_dimensions: tuple[int, ...] = ()
    known: bool = True
    # Retrieval models (rerank and multimodal embedding; see _retrieval). None: no limit known.
    rerank_api: RerankAPI = "native"
    """Rerank: ``compatible`` = ``{host}/compatible-api/v1/reranks`` (flat, Cohere-shaped),
    ``native`` = ``/api/v1/services/rerank/text-rerank/text-rerank``."""
    rerank_instruct: bool = False
    """Rerank: the model reads ``instruct`` (qwen3-rerank, qwen3-vl-rerank)."""
    max_documents: int | None = None
    """Rerank: documents per request (longer lists are split and merged by score)."""
    max_item_tokens: int | None = None
    """Rerank: tokens per query or document; multimodal embedding: tokens per text. The
    service truncates longer items silently, so the client refuses them."""
    max_request_tokens: int | None = None
    """Rerank: ``query tokens × documents + document tokens`` allowed per request."""
    media: tuple[MediaKind, ...] = ()
    """Kinds of items besides text the model takes (image, video, multi_images)."""
    max_images: int | None = None
    """Images per request (multi_images pictures included)."""
    max_videos: int | None = None
    """Videos per request."""
    max_multi_images: int | None = None
    """Pictures in one ``multi_images`` item."""
    max_image_bytes: int | None = None
    """Size of one image the model takes (checked for local files, bytes and data URIs)."""
    fusion: Fusion = "none"
    """Multimodal embedding: ``parameter`` = ``enable_fusion`` fuses all contents into one
    vector (qwen3-vl-embedding); ``object`` = an item holding several modalities is one fused
    vector (the tongyi-embedding-vision-*-2026-03-06 snapshots)."""
    think_in_prompt: bool = False
    """The chat template opens ``<think>`` in the prompt (Qwen3.5+): a server without a
    reasoning parser shows only the closing ``</think>`` in the content."""

    def thinks(self, enable_thinking: bool | None) -> bool:
        """Whether a request with this ``enable_thinking`` value makes the model reason."""
        if self.thinking == "always":
            return True
        if self.thinking == "hybrid":
            return self.thinking_default if enable_thinking is None else enable_thinking
        return bool(enable_thinking)


DEFAULT_CAPABILITIES = ModelCapabilities(known=False)

_TEXT = ModelCapabilities
_HYBRID_COMMERCIAL = ModelCapabilities(thinking="hybrid")
_QWEN3_OPEN = ModelCapabilities(
    context_window=131_072,
    max_output=16_384,
    thinking="hybrid",
    thinking_default=True,
    thinking_stream_only=True,
)
_QWEN35 = ModelCapabilities(
    context_window=1_000_000,
    max_output=65_536,
    thinking="hybrid",
    thinking_default=True,
    vision=True,
    endpoint="multimodal",
    think_in_prompt=True,  # [CODE vllm qwen3_reasoning_parser.py docstring]
)
_VL = ModelCapabilities(
    context_window=131_072, max_output=8_192, vision=True, endpoint="multimodal", tools=False
)
_EMB_V3 = ModelCapabilities(
    context_window=8_192,
    max_output=0,
    tools=False,
    endpoint="embedding",
    embedding_batch_size=10,
    embedding_dimensions=(1024, 768, 512, 256, 128, 64),
)
_EMB_V1 = ModelCapabilities(
    context_window=2_048,
    max_output=0,
    tools=False,
    endpoint="embedding",
    embedding_batch_size=25,
    embedding_dimensions=(1536,),
)

_MB = 1024 * 1024
_RERANK_GTE = ModelCapabilities(
    context_window=4_000,
    max_output=0,
    tools=False,
    endpoint="rerank",
    max_documents=500,
    max_item_tokens=4_000,
    max_request_tokens=30_000,
)
_MM_EMB_TONGYI = ModelCapabilities(
    context_window=1_024,
    max_output=0,
    tools=False,
    endpoint="multimodal-embedding",
    embedding_batch_size=20,
    embedding_dimensions=(1152,),
    max_item_tokens=1_024,
    media=("image", "video", "multi_images"),
    max_multi_images=8,
    max_image_bytes=3 * _MB,
)
_MM_EMB_SNAPSHOT = replace(
    _MM_EMB_TONGYI,
    embedding_dimensions=(1152, 1024, 512, 256, 128, 64),
    max_images=64,
    max_videos=8,
    max_multi_images=64,
    max_image_bytes=10 * _MB,
    fusion="object",
)

# Exact names and family prefixes; the longest matching prefix wins.
_TABLE: dict[str, ModelCapabilities] = {
    # Commercial text models
    "qwen-max": _TEXT(context_window=32_768, max_output=8_192),
    "qwen-plus": replace(_HYBRID_COMMERCIAL, context_window=131_072, max_output=32_768),
    "qwen-turbo": replace(_HYBRID_COMMERCIAL, context_window=131_072, max_output=16_384),
    "qwen-flash": replace(_HYBRID_COMMERCIAL, context_window=1_000_000, max_output=32_768),
    "qwen-long": _TEXT(context_window=10_000_000, max_output=32_768),
    "qwen3-max": replace(_HYBRID_COMMERCIAL, context_window=262_144, max_output=65_536),
    "qwen3-coder": _TEXT(context_window=1_000_000, max_output=65_536),
    # Qwen3.5 / 3.6: natively multimodal, served on the multimodal endpoint; thinking on by
    # default (not verified against the live service: a hybrid model's default matters only
    # when a tool is forced, and the adapters then send enable_thinking=False explicitly).
    "qwen3.5-plus": _QWEN35,
    "qwen3.5-flash": _QWEN35,
    "qwen3.6-plus": _QWEN35,
    # Qwen3 open-source hybrids think by default and only when streaming; the -thinking and
    # -instruct variants are matched by family below (_FAMILIES).
    "qwen3-": _QWEN3_OPEN,
    # Reasoning-only
    "qwq": _TEXT(
        context_window=131_072, max_output=8_192, thinking="always", thinking_stream_only=True
    ),
    "deepseek-r1": _TEXT(context_window=65_536, max_output=8_192, thinking="always"),
    "deepseek-v3": _TEXT(context_window=65_536, max_output=8_192),
    # Vision
    "qwen-vl": _VL,
    "qwen-vl-max": replace(_VL, tools=True),
    "qwen3-vl": replace(
        _VL,
        context_window=262_144,
        max_output=32_768,
        thinking="hybrid",
        thinking_stream_only=True,
        tools=True,
    ),
    "qvq": replace(_VL, context_window=131_072, thinking="always", thinking_stream_only=True),
    # Omni: streaming output only
    "qwen-omni": replace(_VL, context_window=32_768, max_output=2_048, stream_only=True),
    "qwen3-omni": replace(
        _VL,
        context_window=65_536,
        max_output=16_384,
        thinking="hybrid",
        thinking_stream_only=True,
        stream_only=True,
    ),
    # Embeddings
    "text-embedding-v1": _EMB_V1,
    "text-embedding-v2": _EMB_V1,
    "text-embedding-v3": _EMB_V3,
    "text-embedding-v4": replace(
        _EMB_V3, embedding_dimensions=(2048, 1536, 1024, 768, 512, 256, 128, 64)
    ),
    # Rerank (limits: /work/notes/retrieval-protocol.md §2.5, §3.4). [DOC] "qwen3-rerank: POST
    # .../compatible-api/v1/reranks ... qwen3-vl-rerank / gte-rerank-v2: POST .../text-rerank";
    # the per-request limit is the newest docs' (120,000; 30,000 in January 2026 copies).
    "gte-rerank": _RERANK_GTE,  # discontinued 2026-05-30 [DOC]
    "gte-rerank-v2": _RERANK_GTE,
    "qwen3-rerank": replace(
        _RERANK_GTE, rerank_api="compatible", rerank_instruct=True, max_request_tokens=120_000
    ),
    "qwen3-vl-rerank": replace(
        _RERANK_GTE,
        context_window=8_000,
        vision=True,
        rerank_instruct=True,
        max_documents=100,
        max_item_tokens=8_000,
        max_request_tokens=120_000,
        media=("image", "video"),
        max_images=40,
        max_videos=4,
        max_image_bytes=10 * _MB,
    ),
    # [3P, unverified] seen in late-2026 third-party projects, always on the native path.
    "qwen3.7-text-rerank": replace(
        _RERANK_GTE,
        context_window=30_000,
        rerank_instruct=True,
        max_item_tokens=30_000,
        max_request_tokens=120_000,
    ),
    # Multimodal embeddings (§4.1, newest doc). The plain tongyi models take no dimension and
    # document no item count ("暂无传入内容元素数量限制"): 20 per request is our choice [INF].
    "tongyi-embedding-vision-plus": _MM_EMB_TONGYI,
    "tongyi-embedding-vision-flash": replace(_MM_EMB_TONGYI, embedding_dimensions=(768,)),
    "tongyi-embedding-vision-plus-2026-03-06": _MM_EMB_SNAPSHOT,
    "tongyi-embedding-vision-flash-2026-03-06": replace(
        _MM_EMB_SNAPSHOT, embedding_dimensions=(768, 512, 256, 128, 64)
    ),
    "qwen3-vl-embedding": replace(
        _MM_EMB_TONGYI,
        context_window=32_000,
        embedding_dimensions=(2560, 2048, 1536, 1024, 768, 512, 256),
        max_item_tokens=32_000,
        media=("image", "video"),
        max_images=5,
        max_videos=1,
        max_multi_images=None,
        max_image_bytes=10 * _MB,
        fusion="parameter",
    ),
    "multimodal-embedding-v1": replace(
        _MM_EMB_TONGYI,
        context_window=512,
        embedding_dimensions=(1024,),
        max_item_tokens=512,
        media=("image", "video"),
        max_images=1,
        max_videos=1,
        max_multi_images=None,
    ),
    # Open weights served by vLLM / SGLang / Ollama / llama.cpp (names are normalized first,
    # see _open_weight_name): Qwen2.5, Qwen3 embedding and reranker, Qwen3-Coder.
    "qwen2.5-": _TEXT(context_window=32_768, max_output=8_192),
    "qwen2.5-vl-": replace(_VL, tools=True),
    # No service limit on a self-hosted server: batches of 64 keep requests reasonable.
    "qwen3-embedding": ModelCapabilities(
        context_window=32_768,
        max_output=0,
        tools=False,
        endpoint="embedding",
        embedding_batch_size=64,
    ),
    "qwen3-reranker": ModelCapabilities(context_window=32_768, max_output=0, endpoint="rerank"),
}
# Families whose size part varies (qwen3-235b-a22b-thinking-2507, qwen3-4b-thinking-2507,
# qwen3-next-80b-a3b-thinking, qwen3-vl-235b-a22b-thinking...), so new sizes follow. The
# open-source thinking variants only answer streaming requests at all ("This model only
# support stream mode"), so the core streams them internally.
_THINKING_OPEN = _TEXT(
    context_window=131_072,
    max_output=32_768,
    thinking="always",
    thinking_stream_only=True,
    stream_only=True,
)
_FAMILIES: tuple[tuple[re.Pattern[str], ModelCapabilities], ...] = (
    (
        re.compile(r"^qwen3(\.\d+)?-vl-[\w.-]*-thinking(-\d+)?$"),
        replace(_THINKING_OPEN, context_window=262_144, vision=True, endpoint="multimodal"),
    ),
    (
        re.compile(r"^qwen3(\.\d+)?-vl-[\w.-]*-instruct(-\d+)?$"),
        replace(_VL, context_window=262_144, max_output=32_768, tools=True),
    ),
    (re.compile(r"^qwen3(\.\d+)?-[\w.-]*-thinking(-\d+)?$"), _THINKING_OPEN),
    (
        re.compile(r"^qwen3(\.\d+)?-[\w.-]*-instruct(-\d+)?$"),
        _TEXT(context_window=131_072, max_output=32_768),
    ),
    # Qwen3.5 / 3.6 open weights (Qwen/Qwen3.5-27B, qwen3.5:35b-a3b): natively multimodal
    # hybrids that think by default, like the hosted qwen3.5-plus.
    (
        re.compile(r"^qwen3\.\d+(-\d+(\.\d+)?b)(-a\d+(\.\d+)?b)?$"),
        replace(_QWEN35, context_window=262_144),
    ),
    # Ollama's untagged names (qwen3, qwen3:latest) and QwQ.
    (re.compile(r"^qwen3$"), _QWEN3_OPEN),
    (re.compile(r"^qwen3\.\d+$"), replace(_QWEN35, context_window=262_144)),
)
# A plain "qwen3-" prefix must not capture the families above that have their own rows.
_PREFIXES = sorted(_TABLE, key=len, reverse=True)
_OVERRIDES: dict[str, ModelCapabilities] = {}
_SNAPSHOT = re.compile(r"(-latest|-\d{4}-\d{2}-\d{2}|-\d{4})$")

KNOWN_MODELS: tuple[str, ...] = (
    "qwen-max",
    "qwen-plus",
    "qwen-turbo",
    "qwen-flash",
    "qwen-long",
    "qwen3-max",
    "qwen3-coder-plus",
    "qwen3-coder-flash",
    "qwen3.5-plus",
    "qwen3.5-flash",
    "qwen3.6-plus",
    "qwen3-235b-a22b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-235b-a22b-thinking-2507",
    "qwen3-235b-a22b-instruct-2507",
    "qwen3-30b-a3b-thinking-2507",
    "qwen3-30b-a3b-instruct-2507",
    "qwen3-next-80b-a3b-thinking",
    "qwen3-next-80b-a3b-instruct",
    "qwq-plus",
    "qwq-32b",
    "deepseek-r1",
    "deepseek-v3",
    "qwen-vl-max",
    "qwen-vl-plus",
    "qwen3-vl-plus",
    "qwen3-vl-flash",
    "qwen3-vl-235b-a22b-thinking",
    "qwen3-vl-235b-a22b-instruct",
    "qvq-max",
    "qwen-omni-turbo",
    "qwen3-omni-flash",
    "text-embedding-v1",
    "text-embedding-v2",
    "text-embedding-v3",
    "text-embedding-v4",
    "qwen3-rerank",
    "gte-rerank-v2",
    "qwen3-vl-rerank",
    "tongyi-embedding-vision-plus",
    "tongyi-embedding-vision-flash",
    "qwen3-vl-embedding",
    "multimodal-embedding-v1",
)
"""Model names the package knows (for suggestions when a name is misspelled)."""


def suggest_models(model: str, *, limit: int = 3) -> list[str]:
    """The known model names closest to ``model`` (for 'did you mean' hints)."""
    import difflib

    names = sorted(set(KNOWN_MODELS) | set(_OVERRIDES))
    return difflib.get_close_matches(model.lower(), names, n=limit, cutoff=0.6)


def register_model(name: str, capabilities: ModelCapabilities) -> None:
    """Add or override a model (exact name) in the capability table."""
    _OVERRIDES[name] = capabilities


# Open-weight spellings: a hub namespace (Qwen/, unsloth/), an Ollama or GGUF tag (:8b,
# :Q4_K_M), a quantization or format suffix (-FP8, -AWQ, -GPTQ-Int4, -GGUF, -MLX-4bit).
_NAMESPACE = re.compile(r"^[\w.-]+/")
_QUANT = re.compile(
    r"(-(fp8|fp16|bf16|awq|gguf|mlx(-\d+bit)?|gptq(-int\d)?|int\d|w\d+a\d+|dynamic|\d+bit))+$"
)
_OLLAMA_TAG = re.compile(r":([\w.-]+)$")
_GGUF_QUANT = re.compile(r"^(q\d\w*|iq\d\w*|f16|f32|bf16|latest)$")


def _open_weight_name(name: str) -> str:
    """``Qwen/Qwen3-8B-FP8`` -> ``qwen3-8b``; ``qwen3:8b`` -> ``qwen3-8b``;
    ``unsloth/Qwen3-8B-GGUF:Q4_K_M`` -> ``qwen3-8b``; ``qwen3:latest`` -> ``qwen3``."""
    name = _NAMESPACE.sub("", name.lower())
    tag = _OLLAMA_TAG.search(name)
    if tag:
        name = name[: tag.start()]
        value = tag.group(1)
        if not _GGUF_QUANT.match(value):
            # Ollama size tags, possibly with a quantization: 8b, 30b-a3b-q4_K_M, 8b-fp16
            value = re.sub(r"-(q\d\w*|iq\d\w*|fp16|bf16|f16)$", "", value)
            name = f"{name}-{value}"
    return _QUANT.sub("", name)


def get_model_capabilities(model: str) -> ModelCapabilities:
    """Capabilities for ``model``; unknown names get :data:`DEFAULT_CAPABILITIES`.

    DashScope names, and open-weight names as self-hosted servers spell them
    (``Qwen/Qwen3-8B``, ``qwen3:8b``, ``Qwen/Qwen3.5-27B``, ``Qwen/Qwen3-Embedding-8B``...),
    resolve from the same table by family; :func:`register_model` overrides an exact name.
    """
    if model in _OVERRIDES:
        return _OVERRIDES[model]
    name = model.lower()
    if "/" in name or ":" in name or _QUANT.search(name):
        name = _open_weight_name(model)
        if name in _OVERRIDES:
            return _OVERRIDES[name]
    for candidate in (name, _SNAPSHOT.sub("", name)):
        if candidate in _TABLE:
            return _TABLE[candidate]
    for pattern, caps in _FAMILIES:
        if pattern.match(name):
            return caps
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return _TABLE[prefix]
    return DEFAULT_CAPABILITIES
