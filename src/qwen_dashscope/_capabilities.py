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
    "ModelCapabilities",
    "ThinkingMode",
    "get_model_capabilities",
    "register_model",
    "suggest_models",
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
    # Rerank
    "gte-rerank": ModelCapabilities(context_window=30_000, max_output=0, endpoint="rerank"),
    "qwen3-rerank": ModelCapabilities(context_window=4_000, max_output=0, endpoint="rerank"),
    "qwen3-vl-rerank": ModelCapabilities(
        context_window=8_000, max_output=0, endpoint="rerank", vision=True
    ),
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


def get_model_capabilities(model: str) -> ModelCapabilities:
    """Capabilities for ``model``; unknown names get :data:`DEFAULT_CAPABILITIES`."""
    if model in _OVERRIDES:
        return _OVERRIDES[model]
    name = model.lower()
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
