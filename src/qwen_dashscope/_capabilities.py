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
    "Endpoint",
    "ModelCapabilities",
    "ThinkingMode",
    "get_model_capabilities",
    "register_model",
]

ThinkingMode = Literal["none", "hybrid", "always"]
Endpoint = Literal["text", "multimodal", "embedding", "rerank"]


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
    # Qwen3 open-source hybrids think by default and only when streaming
    "qwen3-": _QWEN3_OPEN,
    "qwen3-next-80b-a3b-thinking": _TEXT(
        context_window=131_072, max_output=32_768, thinking="always"
    ),
    "qwen3-next-80b-a3b-instruct": _TEXT(context_window=131_072, max_output=32_768),
    "qwen3-235b-a22b-thinking-2507": _TEXT(
        context_window=131_072, max_output=32_768, thinking="always"
    ),
    "qwen3-30b-a3b-thinking-2507": _TEXT(
        context_window=131_072, max_output=32_768, thinking="always"
    ),
    "qwen3-235b-a22b-instruct-2507": _TEXT(context_window=131_072, max_output=32_768),
    "qwen3-30b-a3b-instruct-2507": _TEXT(context_window=131_072, max_output=32_768),
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
    # Rerank
    "gte-rerank": ModelCapabilities(context_window=30_000, max_output=0, endpoint="rerank"),
    "qwen3-rerank": ModelCapabilities(context_window=4_000, max_output=0, endpoint="rerank"),
    "qwen3-vl-rerank": ModelCapabilities(
        context_window=8_000, max_output=0, endpoint="rerank", vision=True
    ),
}
# A plain "qwen3-" prefix must not capture the families above that have their own rows.
_PREFIXES = sorted(_TABLE, key=len, reverse=True)
_OVERRIDES: dict[str, ModelCapabilities] = {}
_SNAPSHOT = re.compile(r"(-latest|-\d{4}-\d{2}-\d{2}|-\d{4})$")


def register_model(name: str, capabilities: ModelCapabilities) -> None:
    """Add or override a model (exact name) in the capability table."""
    _OVERRIDES[name] = capabilities


def get_model_capabilities(model: str) -> ModelCapabilities:
    """Capabilities for ``model``; unknown names get :data:`DEFAULT_CAPABILITIES`."""
    if model in _OVERRIDES:
        return _OVERRIDES[model]
    name = model.lower()
    for candidate in (name, _SNAPSHOT.sub("", name)):
        if candidate in _TABLE:
            return _TABLE[candidate]
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return _TABLE[prefix]
    return DEFAULT_CAPABILITIES
