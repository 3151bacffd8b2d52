"""The emulator's model table (protocol doc §3.3, §5.5, §8-§11).

Values are the documented ones where the doc gives them and [INF] guesses otherwise; they are
time-varying on the real service, so the whole table can be overridden per emulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Endpoint = Literal[
    "text-generation",
    "multimodal-generation",
    "text-embedding",
    "text-rerank",
    "multimodal-embedding",
]
Fusion = Literal["none", "parameter", "object"]
UsageFamily = Literal["tongyi", "qwen3-vl", "v1"]
ThinkingMode = Literal["none", "hybrid", "always"]
ResultFormat = Literal["text", "message"]


@dataclass(frozen=True)
class ModelSpec:
    """What the emulator needs to know about one model."""

    name: str
    endpoint: Endpoint
    max_output: int = 8_192
    """Upper bound of ``max_tokens`` ("Range of max_tokens should be [1, max_output]")."""
    max_input: int = 129_024
    """Input tokens allowed ("Range of input length should be [1, max_input]")."""
    thinking: ThinkingMode = "none"
    """``none``: rejects enable_thinking=true; ``always``: rejects false; ``hybrid``: switchable."""
    thinking_default: bool = False
    """Hybrid models only: whether a request without enable_thinking thinks."""
    nonstream_thinking: bool = False
    """Whether a non-streaming request may think."""
    stream_only: bool = False
    """Non-streaming calls are rejected outright (QwQ, QVQ, Omni)."""
    max_thinking: int = 38_912
    """Upper bound of ``thinking_budget`` (the model's maximum chain of thought)."""
    result_format: ResultFormat = "text"
    """Default ``result_format`` (ignored on the multimodal endpoint, which is always message)."""
    incremental_output: bool = False
    """Default ``incremental_output``."""
    dimensions: tuple[int, ...] = ()
    """Embeddings: allowed ``dimension`` values, the first being the default."""
    max_batch: int = 0
    """Embeddings: texts per request; rerank: documents per request."""
    max_text_tokens: int = 0
    """Embeddings and rerank: tokens allowed per text."""
    sparse: bool = False
    """Embeddings: ``output_type`` sparse / dense&sparse supported (v3, v4)."""
    retired: bool = False
    """Discontinued: every request answers 404 ModelNotFound (gte-rerank since 2026-05-30)."""
    compatible_rerank: bool = False
    """Rerank: also served on ``/compatible-api/v1/reranks`` (qwen3-rerank only [DOC])."""
    max_request_tokens: int | None = None
    """Rerank: ``query tokens × documents + document tokens`` allowed per request."""
    media: tuple[str, ...] = ()
    """Rerank and multimodal embedding: item kinds besides text (image, video, multi_images)."""
    max_images: int | None = None
    """Images per request (multi_images pictures included); None: no limit."""
    max_videos: int | None = None
    max_multi_images: int | None = None
    """Pictures in one ``multi_images`` item."""
    max_image_bytes: int | None = None
    """Decoded size of one data-URI image (URLs cannot be fetched on loopback)."""
    fusion: Fusion = "none"
    """Multimodal embedding: ``parameter`` = ``enable_fusion`` (qwen3-vl-embedding); ``object``
    = an item with several modalities is one ``fused`` vector (2026-03-06 snapshots)."""
    usage_family: UsageFamily = "tongyi"
    """Multimodal embedding: which ``usage`` keys the answer carries (§4.3 of the notes)."""
    image_tokens: int = 256
    """Multimodal: tokens counted per image (a video counts 4 images) [INF]."""

    @property
    def is_chat(self) -> bool:
        return self.endpoint in ("text-generation", "multimodal-generation")


def _text(name: str, **kw: Any) -> ModelSpec:
    return ModelSpec(name=name, endpoint="text-generation", **kw)


def _mm(name: str, **kw: Any) -> ModelSpec:
    return ModelSpec(name=name, endpoint="multimodal-generation", result_format="message", **kw)


_MB = 1024 * 1024
_V4_DIMS = (1024, 2048, 1536, 768, 512, 256, 128, 64)
_V3_DIMS = (1024, 768, 512, 256, 128, 64)

_TABLE: tuple[ModelSpec, ...] = (
    # Commercial hybrids: thinking off by default, non-stream thinking allowed (FAQ 2026-01).
    _text("qwen-turbo", max_output=16_384, thinking="hybrid", nonstream_thinking=True),
    _text(
        "qwen-plus",
        max_output=32_768,
        thinking="hybrid",
        nonstream_thinking=True,
        max_thinking=81_920,
    ),
    _text(
        "qwen-flash",
        max_output=32_768,
        max_input=997_952,
        thinking="hybrid",
        nonstream_thinking=True,
        max_thinking=81_920,
    ),
    _text("qwen-max", max_output=8_192, max_input=30_720),
    _text("qwen-long", max_output=8_192, max_input=10_000_000, result_format="message"),
    # Qwen3-Max: message + incremental by default (§3.3); hybrid like qwen3-max-preview [INF].
    _text(
        "qwen3-max",
        max_output=65_536,
        max_input=258_048,
        thinking="hybrid",
        nonstream_thinking=True,
        max_thinking=81_920,
        result_format="message",
        incremental_output=True,
    ),
    # Qwen3 open-source hybrid: thinking on by default, stream-only thinking (§5.5).
    _text(
        "qwen3-235b-a22b",
        max_output=16_384,
        thinking="hybrid",
        thinking_default=True,
        result_format="message",
        incremental_output=True,
    ),
    # Open-source thinking variants answer streaming requests only ("This model only support
    # stream mode"), whatever the 2026-01 FAQ lists as non-stream thinking (issue 8, measured).
    *(
        _text(
            name,
            max_output=32_768,
            thinking="always",
            stream_only=True,
            max_thinking=81_920,
            result_format="message",
            incremental_output=True,
        )
        for name in (
            "qwen3-30b-a3b-thinking-2507",
            "qwen3-235b-a22b-thinking-2507",
            "qwen3-next-80b-a3b-thinking",
        )
    ),
    _text(
        "qwen3-235b-a22b-instruct-2507",
        max_output=32_768,
        result_format="message",
        incremental_output=True,
    ),
    _text(
        "qwq-plus",
        max_output=8_192,
        thinking="always",
        stream_only=True,
        max_thinking=32_768,
        result_format="message",
        incremental_output=True,
    ),
    # Multimodal endpoint (§8). Qwen3.5 uses the multimodal API ("url error" on text-generation).
    _mm(
        "qwen3.5-plus",
        max_output=65_536,
        max_input=983_616,
        thinking="hybrid",
        thinking_default=True,
        nonstream_thinking=True,
        max_thinking=81_920,
        incremental_output=True,
    ),
    _mm(
        "qwen3.5-flash",
        max_output=65_536,
        max_input=983_616,
        thinking="hybrid",
        thinking_default=True,
        nonstream_thinking=True,
        max_thinking=81_920,
        incremental_output=True,
    ),
    _mm("qwen-vl-plus", max_output=8_192, max_input=30_720),
    _mm("qwen-vl-max", max_output=8_192, max_input=30_720),
    _mm(
        "qwen3-vl-plus",
        max_output=32_768,
        max_input=258_048,
        thinking="hybrid",
        nonstream_thinking=True,
        max_thinking=81_920,
        incremental_output=True,
    ),
    _mm(
        "qwen3-vl-235b-a22b-thinking",
        max_output=32_768,
        max_input=258_048,
        thinking="always",
        stream_only=True,
        max_thinking=81_920,
        incremental_output=True,
    ),
    _mm(
        "qvq-max",
        max_output=8_192,
        thinking="always",
        stream_only=True,
        max_thinking=16_384,
        incremental_output=True,
    ),
    _mm(
        "qwen3-omni-flash",
        max_output=16_384,
        max_input=16_384,
        thinking="hybrid",
        stream_only=True,
        max_thinking=32_768,
        incremental_output=True,
    ),
    # Embeddings (§9) and rerank (§10).
    ModelSpec(
        "text-embedding-v1",
        "text-embedding",
        dimensions=(1536,),
        max_batch=25,
        max_text_tokens=2_048,
    ),
    ModelSpec(
        "text-embedding-v2",
        "text-embedding",
        dimensions=(1536,),
        max_batch=25,
        max_text_tokens=2_048,
    ),
    ModelSpec(
        "text-embedding-v3",
        "text-embedding",
        dimensions=_V3_DIMS,
        max_batch=10,
        max_text_tokens=8_192,
        sparse=True,
    ),
    ModelSpec(
        "text-embedding-v4",
        "text-embedding",
        dimensions=_V4_DIMS,
        max_batch=10,
        max_text_tokens=8_192,
        sparse=True,
    ),
    # Rerank (retrieval notes §2.5, §3.4; the newest docs' request limits).
    ModelSpec(
        "qwen3-rerank",
        "text-rerank",
        max_batch=500,
        max_text_tokens=4_000,
        max_request_tokens=120_000,
        compatible_rerank=True,
    ),
    ModelSpec(
        "gte-rerank-v2",
        "text-rerank",
        max_batch=500,
        max_text_tokens=4_000,
        max_request_tokens=30_000,
    ),
    ModelSpec(
        "qwen3-vl-rerank",
        "text-rerank",
        max_batch=100,
        max_text_tokens=8_000,
        max_request_tokens=120_000,
        media=("image", "video"),
        max_images=40,
        max_videos=4,
        max_image_bytes=10 * _MB,
    ),
    ModelSpec("gte-rerank", "text-rerank", max_batch=500, max_text_tokens=4_000, retired=True),
    # Multimodal embeddings (retrieval notes §4.1, newest doc). max_batch=0: no item limit.
    ModelSpec(
        "tongyi-embedding-vision-plus",
        "multimodal-embedding",
        dimensions=(1152,),
        max_text_tokens=1_024,
        media=("image", "video", "multi_images"),
        max_multi_images=8,
        max_image_bytes=3 * _MB,
    ),
    ModelSpec(
        "tongyi-embedding-vision-flash",
        "multimodal-embedding",
        dimensions=(768,),
        max_text_tokens=1_024,
        media=("image", "video", "multi_images"),
        max_multi_images=8,
        max_image_bytes=3 * _MB,
    ),
    *(
        ModelSpec(
            name,
            "multimodal-embedding",
            dimensions=dims,
            max_batch=20,
            max_text_tokens=1_024,
            media=("image", "video", "multi_images"),
            max_images=64,
            max_videos=8,
            max_multi_images=64,
            max_image_bytes=10 * _MB,
            fusion="object",
            image_tokens=402,  # res_level 1 (the default): 127/402/578/1026 [DOC]
        )
        for name, dims in (
            ("tongyi-embedding-vision-plus-2026-03-06", (1152, 1024, 512, 256, 128, 64)),
            ("tongyi-embedding-vision-flash-2026-03-06", (768, 512, 256, 128, 64)),
        )
    ),
    ModelSpec(
        "qwen3-vl-embedding",
        "multimodal-embedding",
        dimensions=(2560, 2048, 1536, 1024, 768, 512, 256),
        max_batch=20,
        max_text_tokens=32_000,
        media=("image", "video"),
        max_images=5,
        max_videos=1,
        max_image_bytes=10 * _MB,
        fusion="parameter",
        usage_family="qwen3-vl",
    ),
    ModelSpec(
        "multimodal-embedding-v1",
        "multimodal-embedding",
        dimensions=(1024,),
        max_batch=20,
        max_text_tokens=512,
        media=("image", "video"),
        max_images=1,
        max_videos=1,
        max_image_bytes=3 * _MB,
        usage_family="v1",
    ),
)

DEFAULT_MODELS: Mapping[str, ModelSpec] = {spec.name: spec for spec in _TABLE}
"""The built-in model table, by model name."""


def build_model_table(
    overrides: Mapping[str, ModelSpec | Mapping[str, Any]] | None,
) -> dict[str, ModelSpec]:
    """The default table patched with ``overrides``.

    A ``ModelSpec`` value replaces or adds a model. A mapping value patches the fields of an
    existing model (``{"qwen-plus": {"max_output": 100}}``) or, with at least ``endpoint``,
    defines a new one.
    """
    table = dict(DEFAULT_MODELS)
    for name, value in (overrides or {}).items():
        if isinstance(value, ModelSpec):
            table[name] = dataclasses.replace(value, name=name)
        elif name in table:
            table[name] = dataclasses.replace(table[name], **dict(value))
        else:
            table[name] = ModelSpec(name=name, **dict(value))
    return table
