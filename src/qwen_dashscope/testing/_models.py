"""The emulator's model table (protocol doc §3.3, §5.5, §8-§11).

Values are the documented ones where the doc gives them and [INF] guesses otherwise; they are
time-varying on the real service, so the whole table can be overridden per emulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Endpoint = Literal["text-generation", "multimodal-generation", "text-embedding", "text-rerank"]
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

    @property
    def is_chat(self) -> bool:
        return self.endpoint in ("text-generation", "multimodal-generation")


def _text(name: str, **kw: Any) -> ModelSpec:
    return ModelSpec(name=name, endpoint="text-generation", **kw)


def _mm(name: str, **kw: Any) -> ModelSpec:
    return ModelSpec(name=name, endpoint="multimodal-generation", result_format="message", **kw)


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
    ModelSpec("qwen3-rerank", "text-rerank", max_batch=500, max_text_tokens=4_000),
    ModelSpec("gte-rerank-v2", "text-rerank", max_batch=500, max_text_tokens=4_000),
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
