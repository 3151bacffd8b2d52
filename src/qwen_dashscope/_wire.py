"""Pydantic models of what DashScope sends on the wire (native protocol).

They tolerate unknown fields (the service adds fields over time) and do not depend on key
order. Only the shapes seen in captures are modelled; everything else stays reachable
through ``model_extra``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CompatRerankResponse",
    "EmbeddingResponse",
    "GenerationResponse",
    "MultimodalEmbeddingResponse",
    "RerankResponse",
    "TokenizeResponse",
    "WireChoice",
    "WireEmbedding",
    "WireFunction",
    "WireMessage",
    "WireOutput",
    "WireRerankResult",
    "WireToolCall",
    "WireUsage",
]


class _Wire(BaseModel):
    # defer_build: the validators are built on first use, not at import (saves ~60 ms).
    model_config = ConfigDict(extra="allow", frozen=False, defer_build=True)


class WireTokenDetails(_Wire):
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    text_tokens: int | None = None
    image_tokens: int | None = None


class WireUsage(_Wire):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: WireTokenDetails | None = None
    output_tokens_details: WireTokenDetails | None = None
    image_tokens: int | None = None


class WireFunction(_Wire):
    name: str | None = None
    arguments: str | None = None


class WireToolCall(_Wire):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: WireFunction | None = None


class WireMessage(_Wire):
    role: str | None = None
    # A string on the text endpoint, a list of single-key items on the multimodal endpoint.
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    tool_calls: list[WireToolCall] | None = None


class WireChoice(_Wire):
    index: int | None = None
    message: WireMessage | None = None
    # DashScope sends finish_reason as the *string* "null" while generating.
    finish_reason: str | None = None
    logprobs: Any = None


class WireOutput(_Wire):
    text: str | None = None
    finish_reason: str | None = None
    choices: list[WireChoice] | None = None
    search_info: dict[str, Any] | None = None


class GenerationResponse(_Wire):
    """A non-streaming body or one SSE ``data:`` payload of the generation endpoints."""

    output: WireOutput | None = None
    usage: WireUsage | None = None
    request_id: str | None = None


class WireEmbedding(_Wire):
    text_index: int
    embedding: list[float] | None = None
    sparse_embedding: list[dict[str, Any]] | None = None


class WireEmbeddingOutput(_Wire):
    embeddings: list[WireEmbedding] = Field(default_factory=list)


class EmbeddingResponse(_Wire):
    output: WireEmbeddingOutput
    usage: WireUsage | None = None
    request_id: str | None = None


class WireRerankResult(_Wire):
    index: int
    relevance_score: float
    document: dict[str, Any] | None = None


class WireRerankOutput(_Wire):
    results: list[WireRerankResult] = Field(default_factory=list)


class WireTokenizeOutput(_Wire):
    token_ids: list[int] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list)


class TokenizeResponse(_Wire):
    output: WireTokenizeOutput
    usage: WireUsage | None = None
    request_id: str | None = None


class RerankResponse(_Wire):
    output: WireRerankOutput
    usage: WireUsage | None = None
    request_id: str | None = None


class CompatRerankResponse(_Wire):
    """``/compatible-api/v1/reranks``: ``{"object":"list","results","model","id","usage"}``
    with no ``output`` and no ``request_id`` (retrieval notes §2.3, [DOC][3P-CAP])."""

    results: list[WireRerankResult]
    model: str | None = None
    id: str | None = None
    usage: WireUsage | None = None


class WireMultimodalEmbedding(_Wire):
    index: int
    embedding: list[float]
    type: str | None = None


class WireMultimodalEmbeddingOutput(_Wire):
    embeddings: list[WireMultimodalEmbedding] = Field(default_factory=list)


class MultimodalEmbeddingResponse(_Wire):
    """The multimodal-embedding answer; ``usage`` keys differ per model family (§4.3)."""

    output: WireMultimodalEmbeddingOutput
    usage: dict[str, Any] | None = None
    request_id: str | None = None
