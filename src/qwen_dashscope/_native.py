"""DashScope's native protocol, both ways: request bodies out, answers in (pure).

Chat requests come in as a :class:`ResolvedChat` (every rule applied, ``_rules``) and leave as
``{"model", "input": {"messages"}, "parameters"}`` for the text or multimodal endpoint (§3,
§8 of the protocol notes). Answers are parsed here too: generation bodies and stream events
(through the ``StreamAccumulator``), embeddings and tokenizer bodies (rerank and
multimodal embeddings: ``_retrieval``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from ._accumulator import StreamAccumulator
from ._errors import InvalidRequestError, ProtocolError
from ._messages import MediaPart, Message, TextPart
from ._rules import ResolvedChat, check_embedding_dimension
from ._types import (
    Embedding,
    EmbeddingResult,
    GenerationResult,
    TokenizeResult,
    Usage,
)

__all__ = [
    "EMBEDDING_PATH",
    "GENERATION_PATHS",
    "RERANK_PATH",
    "TOKENIZER_PATH",
    "WireRequest",
    "embedding_body",
    "embedding_result",
    "generation_result",
    "parse_model",
    "render_chat",
    "tokenize_body",
    "tokenize_chat_body",
    "tokenize_result",
    "wire_message",
]

GENERATION_PATHS: dict[str, str] = {
    "text": "/services/aigc/text-generation/generation",
    "multimodal": "/services/aigc/multimodal-generation/generation",
}
EMBEDDING_PATH = "/services/embeddings/text-embedding/text-embedding"
TOKENIZER_PATH = "/tokenizer"  # not under /services (capture tokenizer.request-headers.txt)
RERANK_PATH = "/services/rerank/text-rerank/text-rerank"


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One request to send: path (under the base URL), JSON body, and how to read it."""

    path: str
    body: dict[str, Any]
    stream: bool
    incremental: bool = True


# ------------------------------------------------------------------------------ chat


def _media_item(part: MediaPart) -> dict[str, Any]:
    source = list(part.source) if isinstance(part.source, tuple) else part.source
    item: dict[str, Any] = {part.kind: source, **part.options}
    if part.cache_control is not None:
        item["cache_control"] = dict(part.cache_control)
    return item


def _text_item(part: TextPart, typed: bool) -> dict[str, Any]:
    # The text endpoint takes typed parts ({"type": "text", ...}) when a cache marker needs a
    # list (context-cache reference); the multimodal endpoint takes untyped items (§8).
    item: dict[str, Any] = {"type": "text", "text": part.text} if typed else {"text": part.text}
    if part.cache_control is not None:
        item["cache_control"] = dict(part.cache_control)
    return item


def _text_content(message: Message, position: int) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    texts: list[TextPart] = []
    for part in message.content:
        if not isinstance(part, TextPart):
            raise InvalidRequestError(
                f"messages[{position}] has {part.kind} content, which the text endpoint cannot "
                "take; use a vision model (qwen-vl-*, qwen3-vl-*, qwen3.5-*)",
                param="messages",
            )
        texts.append(part)
    if any(part.cache_control is not None for part in texts):
        return [_text_item(part, typed=True) for part in texts]
    # Text blocks are joined as given, with nothing in between: the multimodal endpoint (and
    # Qwen's chat template) render consecutive text items the same way.
    return "".join(part.text for part in texts)


def _multimodal_content(message: Message) -> list[dict[str, Any]]:
    return [
        _text_item(part, typed=False) if isinstance(part, TextPart) else _media_item(part)
        for part in message.parts
    ]


def wire_message(
    message: Message, endpoint: Literal["text", "multimodal"], position: int = 0
) -> dict[str, Any]:
    """One message as the native endpoints take it."""
    wire: dict[str, Any] = {"role": message.role}
    if endpoint == "multimodal":
        wire["content"] = _multimodal_content(message)
    else:
        wire["content"] = _text_content(message, position)
    if message.tool_calls:
        wire["tool_calls"] = [call.to_wire() for call in message.tool_calls]
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.partial:
        wire["partial"] = True
    # reasoning_content is not sent back: DashScope reads no such input field (§3.2), so it
    # would only cost input tokens.
    if message.extra:
        wire.update(message.extra)
    return wire


def render_chat(chat: ResolvedChat) -> WireRequest:
    """The native request for a resolved chat."""
    params = dict(chat.parameters)
    params["result_format"] = "message"
    incremental = True
    if chat.wire_stream:
        incremental = bool(params.setdefault("incremental_output", True))
    else:
        params.pop("incremental_output", None)
    messages = [wire_message(m, chat.endpoint, i) for i, m in enumerate(chat.messages)]
    body = {"model": chat.model, "input": {"messages": messages}, "parameters": params}
    return WireRequest(
        path=GENERATION_PATHS[chat.endpoint],
        body=body,
        stream=chat.wire_stream,
        incremental=incremental,
    )


def generation_result(body: Mapping[str, Any]) -> GenerationResult:
    """A complete answer from a non-streaming body (the parsed JSON)."""
    return StreamAccumulator(incremental=True).complete(body)


# ------------------------------------------------------------------------- embeddings


def embedding_body(
    model: str,
    texts: Sequence[str],
    *,
    text_type: str | None = None,
    dimension: int | None = None,
    output_type: str | None = None,
    instruct: str | None = None,
) -> dict[str, Any]:
    """The body of one embedding request (one batch, already within the model's limit)."""
    if not texts:
        raise InvalidRequestError("texts is empty: pass at least one text", param="texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequestError(
                f"texts[{i}] is empty or not a string ({text!r}); DashScope rejects empty input",
                param="texts",
            )
    if text_type not in (None, "query", "document"):
        raise InvalidRequestError(
            f"text_type={text_type!r}: use 'query' or 'document'", param="text_type"
        )
    if output_type not in (None, "dense", "sparse", "dense&sparse"):
        raise InvalidRequestError(
            f"output_type={output_type!r}: use 'dense', 'sparse' or 'dense&sparse'",
            param="output_type",
        )
    dimension = check_embedding_dimension(model, dimension)
    params: dict[str, Any] = {}
    for key, value in (
        ("text_type", text_type),
        ("dimension", dimension),
        ("output_type", output_type),
        ("instruct", instruct),
    ):
        if value is not None:
            params[key] = value
    return {"model": model, "input": {"texts": list(texts)}, "parameters": params}


def parse_model(name: str, raw: Any, request_id: str | None) -> Any:
    """Validate a parsed body into the ``_wire`` model ``name`` (imported on first use)."""
    from . import _wire

    cls = getattr(_wire, name)
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise ProtocolError(f"malformed {cls.__name__}: {exc}", request_id=request_id) from None


def embedding_result(responses: Sequence[tuple[int, Any]], expected: int) -> EmbeddingResult:
    """Batches' ``(offset, EmbeddingResponse)`` -> one result in input order."""
    items: list[Embedding] = []
    total = Usage()
    request_id = None
    for offset, response in responses:
        for emb in sorted(response.output.embeddings, key=lambda e: e.text_index):
            if emb.embedding is None and emb.sparse_embedding is None:
                raise ProtocolError(
                    f"embedding {emb.text_index} came back empty", request_id=response.request_id
                )
            items.append(
                Embedding(
                    index=offset + emb.text_index,
                    vector=emb.embedding or [],
                    sparse=emb.sparse_embedding,
                )
            )
        if response.usage is not None:
            used = response.usage.total_tokens or response.usage.input_tokens or 0
            total.input_tokens += used
            total.total_tokens += used
        request_id = response.request_id
    if len(items) != expected:
        raise ProtocolError(
            f"asked for {expected} embeddings, received {len(items)}", request_id=request_id
        )
    return EmbeddingResult(embeddings=items, usage=total, request_id=request_id)


def tokenize_chat_body(chat: ResolvedChat) -> dict[str, Any]:
    """The tokenizer request that counts a chat's messages (and tools) as the model sees them."""
    messages = [wire_message(m, chat.endpoint, i) for i, m in enumerate(chat.messages)]
    params = {"tools": chat.parameters["tools"]} if "tools" in chat.parameters else {}
    return {"model": chat.model, "input": {"messages": messages}, "parameters": params}


def tokenize_body(model: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("model must be a non-empty model name", param="model")
    if not messages:
        raise InvalidRequestError("messages is empty", param="messages")
    return {"model": model, "input": {"messages": list(messages)}, "parameters": {}}


def tokenize_result(response: Any) -> TokenizeResult:
    usage = response.usage
    count = usage.input_tokens if usage and usage.input_tokens is not None else None
    return TokenizeResult(
        token_ids=response.output.token_ids,
        tokens=response.output.tokens,
        input_tokens=len(response.output.token_ids) if count is None else count,
        request_id=response.request_id,
    )
