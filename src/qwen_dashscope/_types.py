"""Normalized results handed to the adapters: deltas, complete results, usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Embedding",
    "EmbeddingResult",
    "GenerationChunk",
    "GenerationResult",
    "RerankItem",
    "RerankResult",
    "TokenizeResult",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


@dataclass(slots=True)
class Usage:
    """Token counts. ``total_tokens`` is computed when the service omits it (multimodal).

    ``cached_tokens``: input read from a context cache (implicit or explicit);
    ``cache_creation_tokens``: input written to an explicit cache (billed at creation rates).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    cache_creation_tokens: int | None = None

    @classmethod
    def from_dict(cls, usage: dict[str, Any]) -> Usage:
        """From the wire ``usage`` object (the dict is kept as ``raw``, not copied)."""
        inp = usage.get("input_tokens") or 0
        out = usage.get("output_tokens") or 0
        total = usage.get("total_tokens")
        prompt = usage.get("prompt_tokens_details")
        output = usage.get("output_tokens_details")
        cached = creation = None
        if isinstance(prompt, dict):
            cached = prompt.get("cached_tokens")
            creation = prompt.get("cache_creation_input_tokens")
        if cached is None:
            # Singapore VL models report it at the top level (context-cache reference).
            cached = usage.get("cached_tokens")
        return cls(
            input_tokens=inp,
            output_tokens=out,
            total_tokens=inp + out if total is None else total,
            cached_tokens=cached,
            reasoning_tokens=output.get("reasoning_tokens") if isinstance(output, dict) else None,
            raw=usage,
            cache_creation_tokens=creation,
        )


@dataclass(slots=True)
class ToolCall:
    """A complete tool call; ``arguments`` is the JSON string the model produced (parse it
    with ``qwen_dashscope.parse_arguments``)."""

    id: str
    name: str
    arguments: str
    index: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call. ``id``/``name`` only on the first fragment."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class GenerationChunk:
    """One streamed event, as deltas whatever ``incremental_output`` mode was used.

    ``finish_reason`` is ``None`` until the last event; ``usage`` is the cumulative usage the
    service reported with this event (it repeats usage on every event).
    """

    request_id: str | None = None
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    index: int = 0
    extras: dict[str, Any] | None = None
    """Other output fields of this event (``search_info``, ``tool_info``, ``logprobs``)."""


@dataclass(slots=True)
class GenerationResult:
    """A complete answer (one choice; ``choices`` holds all when ``n`` > 1)."""

    request_id: str | None = None
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    index: int = 0
    raw: dict[str, Any] = field(default_factory=dict)
    choices: list[GenerationResult] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    """Other output fields (``search_info``, ``tool_info``, ``logprobs``): nothing is dropped."""


@dataclass(slots=True)
class Embedding:
    index: int
    vector: list[float]
    sparse: list[dict[str, Any]] | None = None
    kind: str | None = None
    """Multimodal embeddings: the service's ``type`` (text, image, video, multi_images, vl,
    fusion, fused)."""


@dataclass(slots=True)
class EmbeddingResult:
    """Embeddings in input order (sorted by ``text_index``)."""

    embeddings: list[Embedding]
    usage: Usage
    request_id: str | None = None

    @property
    def vectors(self) -> list[list[float]]:
        return [e.vector for e in self.embeddings]


@dataclass(slots=True)
class TokenizeResult:
    """Tokens of a prompt as the model's tokenizer sees them."""

    token_ids: list[int]
    tokens: list[str]
    input_tokens: int
    request_id: str | None = None


@dataclass(slots=True)
class RerankItem:
    """One ranked document: ``index`` into the caller's list; ``document``: its text (when
    ``return_documents`` was asked and the document is text)."""

    index: int
    relevance_score: float
    document: str | None = None


@dataclass(slots=True)
class RerankResult:
    """Results sorted by relevance, highest first."""

    results: list[RerankItem]
    usage: Usage
    request_id: str | None = None
