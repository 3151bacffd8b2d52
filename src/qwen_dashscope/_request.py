"""Pure request building: validation, endpoint choice, content normalization, bodies."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._capabilities import Endpoint, ModelCapabilities, get_model_capabilities
from ._errors import InvalidRequestError

__all__ = [
    "EMBEDDING_PATH",
    "GENERATION_PATHS",
    "RERANK_PATH",
    "TOKENIZER_PATH",
    "PreparedGeneration",
    "check_embedding_dimension",
    "check_thinking",
    "check_tool_names",
    "prepare_embedding",
    "prepare_generation",
    "prepare_rerank",
    "reject_booleans",
    "streams_internally",
    "validate_parameters",
]

GENERATION_PATHS: dict[str, str] = {
    "text": "/services/aigc/text-generation/generation",
    "multimodal": "/services/aigc/multimodal-generation/generation",
}
EMBEDDING_PATH = "/services/embeddings/text-embedding/text-embedding"
TOKENIZER_PATH = "/tokenizer"  # not under /services (capture tokenizer.request-headers.txt)
RERANK_PATH = "/services/rerank/text-rerank/text-rerank"

_MEDIA_KEYS = frozenset({"image", "video", "audio"})
_INT64_MAX = 2**63 - 1


def _number(params: Mapping[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidRequestError(f"{name} must be a number, got {value!r}", param=name)
    return float(value)


def _integer(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be an integer, got {value!r}", param=name)
    return value


def _check(ok: bool, name: str, value: Any, rule: str) -> None:
    if not ok:
        raise InvalidRequestError(f"{name}={value!r} is out of range: {rule}", param=name)


def validate_parameters(params: Mapping[str, Any]) -> None:
    """Reject, before any request, values the service documents as invalid (§3.3)."""
    if (t := _number(params, "temperature")) is not None:
        _check(0 <= t < 2, "temperature", t, "use a value in [0, 2)")
    if (p := _number(params, "top_p")) is not None:
        _check(0 < p <= 1, "top_p", p, "use a value in (0, 1]")
    if (k := _integer(params, "top_k")) is not None:
        _check(k >= 0, "top_k", k, "use an integer >= 0 (None or > 100 disables top-k)")
    if (r := _number(params, "repetition_penalty")) is not None:
        _check(r > 0, "repetition_penalty", r, "use a value > 0 (1.0 means no penalty)")
    if (pp := _number(params, "presence_penalty")) is not None:
        _check(-2 <= pp <= 2, "presence_penalty", pp, "use a value in [-2, 2]")
    if (m := _integer(params, "max_tokens")) is not None:
        _check(m >= 1, "max_tokens", m, "use an integer >= 1, or None for the model's maximum")
    if (s := _integer(params, "seed")) is not None:
        _check(0 <= s <= _INT64_MAX, "seed", s, f"use an integer in [0, {_INT64_MAX}]")
    if (n := _integer(params, "n")) is not None:
        _check(1 <= n <= 4, "n", n, "use an integer in [1, 4]")
    if (b := _integer(params, "thinking_budget")) is not None:
        _check(b >= 1, "thinking_budget", b, "use a positive number of tokens")
    if (tl := _integer(params, "top_logprobs")) is not None:
        _check(0 <= tl <= 5, "top_logprobs", tl, "use an integer in [0, 5]")
    stop = params.get("stop")
    if stop is not None and not _valid_stop(stop):
        raise InvalidRequestError(
            f"stop={stop!r} is not valid: use a string, a list of strings, a list of token ids, "
            "or a list of token-id lists (not mixed)",
            param="stop",
        )
    fmt = params.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, Mapping) else None
        if kind not in ("text", "json_object", "json_schema"):
            raise InvalidRequestError(
                f"response_format={fmt!r} is not valid: use {{'type': 'text'}}, "
                "{'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {...}}",
                param="response_format",
            )
        if kind == "json_object" and params.get("enable_thinking") is True:
            raise InvalidRequestError(
                "response_format json_object cannot be combined with enable_thinking=True "
                "(the service rejects JSON mode while thinking); turn thinking off or use "
                "tool calling for structured output",
                param="response_format",
            )


_NUMERIC_PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "repetition_penalty",
    "presence_penalty",
    "thinking_budget",
    "n",
    "top_logprobs",
)


def reject_booleans(values: Mapping[str, Any]) -> None:
    """``True``/``False`` given for a numeric parameter, as passed to a constructor (pydantic
    would quietly turn them into 1 and 0; ``validate_parameters`` rejects them at call time)."""
    for name in _NUMERIC_PARAMETERS:
        if isinstance(values.get(name), bool):
            raise InvalidRequestError(f"{name} must be a number, got {values[name]!r}", param=name)


def check_tool_names(names: Collection[Any]) -> None:
    """Tool names the service refuses (§ tools: "Tool names are not allowed to be [search]")."""
    if "search" in names:
        raise InvalidRequestError(
            "DashScope does not allow a tool named 'search' (the name is reserved for its own "
            "web search; use enable_search for that); rename the tool",
            param="tools",
        )


def _tool_names(tools: Any) -> list[Any]:
    if not isinstance(tools, list):
        return []
    return [
        tool.get("function", {}).get("name") if isinstance(tool, Mapping) else None
        for tool in tools
    ]


def check_thinking(model: str, enable_thinking: Any) -> None:
    """``enable_thinking`` against what the model can do, before any request."""
    caps = get_model_capabilities(model)
    if enable_thinking is True and caps.known and caps.thinking == "none":
        raise InvalidRequestError(
            f"enable_thinking=True: {model!r} does not think; use a thinking model such as "
            "qwen-plus, qwen3-max or qwq-plus, or leave enable_thinking unset",
            param="enable_thinking",
        )
    if enable_thinking is False and caps.thinking == "always":
        raise InvalidRequestError(
            f"enable_thinking=False: {model!r} always thinks and rejects False; leave "
            "enable_thinking unset or use a hybrid model such as qwen-plus",
            param="enable_thinking",
        )


def _valid_stop(stop: Any) -> bool:
    if isinstance(stop, str):
        return True
    if not isinstance(stop, list) or not stop:
        return False
    kinds = {type(item) for item in stop}
    if kinds == {str}:
        return True
    if kinds == {int}:
        return True
    return kinds == {list} and all(
        all(isinstance(t, int) and not isinstance(t, bool) for t in item) for item in stop
    )


def _has_media(messages: Sequence[Mapping[str, Any]]) -> bool:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(item, Mapping) and _MEDIA_KEYS & item.keys() for item in content
        ):
            return True
    return False


def _to_text_content(message: Mapping[str, Any], position: int) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message if isinstance(message, dict) else dict(message)  # nothing to change
    parts: list[str] = []
    for item in content:
        if not (isinstance(item, Mapping) and set(item) <= {"text"}):
            raise InvalidRequestError(
                f"messages[{position}] has non-text content {item!r}, which the text endpoint "
                "cannot take; use a vision model (qwen-vl-*, qwen3-vl-*, qwen3.5-*)",
                param="messages",
            )
        parts.append(str(item.get("text", "")))
    return {**message, "content": "".join(parts)}


def _to_multimodal_content(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": [{"text": content}] if content else []}
    if content is None:
        return {**message, "content": []}
    return dict(message)


def choose_endpoint(
    caps: ModelCapabilities, model: str, messages: Sequence[Mapping[str, Any]]
) -> Endpoint:
    """Text models stay on the text endpoint; images need a vision model."""
    if caps.endpoint == "multimodal":
        return "multimodal"
    if _has_media(messages):
        if caps.known and not caps.vision:
            raise InvalidRequestError(
                f"model {model!r} does not take images, video or audio; use a vision model "
                "such as qwen-vl-max, qwen3-vl-plus or qwen3.5-plus",
                param="model",
            )
        return "multimodal"
    return "text"


def streams_internally(model: str, params: Mapping[str, Any]) -> bool:
    """Whether a non-streaming call must be served by streaming (thinking is stream-only)."""
    caps = get_model_capabilities(model)
    if caps.stream_only:
        return True
    return caps.thinking_stream_only and caps.thinks(params.get("enable_thinking"))


@dataclass(frozen=True, slots=True)
class PreparedGeneration:
    path: str
    body: dict[str, Any]
    stream: bool
    incremental: bool
    endpoint: Endpoint


def prepare_generation(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any] | None = None,
    *,
    stream: bool,
    endpoint: Endpoint | None = None,
) -> PreparedGeneration:
    """The request for one generation call."""
    if not model:
        raise InvalidRequestError("model must be a non-empty model name", param="model")
    if not messages:
        raise InvalidRequestError(
            "messages is empty: send at least one user message", param="messages"
        )
    params = {k: v for k, v in (parameters or {}).items() if v is not None}
    validate_parameters(params)
    check_thinking(model, params.get("enable_thinking"))
    check_tool_names(_tool_names(params.get("tools")))
    caps = get_model_capabilities(model)
    chosen = endpoint or choose_endpoint(caps, model, messages)
    if chosen == "multimodal":
        wire_messages = [_to_multimodal_content(m) for m in messages]
    else:
        wire_messages = [_to_text_content(m, i) for i, m in enumerate(messages)]
    params.setdefault("result_format", "message")
    thinks = caps.thinks(params.get("enable_thinking"))
    incremental = True
    if stream:
        incremental = bool(params.setdefault("incremental_output", True))
        if not incremental and thinks and caps.thinking != "none":
            raise InvalidRequestError(
                "incremental_output=False cannot be used while the model thinks (the service "
                "requires incremental streaming with enable_thinking); leave it unset",
                param="incremental_output",
            )
    else:
        params.pop("incremental_output", None)
    body: dict[str, Any] = {
        "model": model,
        "input": {"messages": wire_messages},
        "parameters": params,
    }
    return PreparedGeneration(
        path=GENERATION_PATHS[chosen],
        body=body,
        stream=stream,
        incremental=incremental,
        endpoint=chosen,
    )


def check_embedding_dimension(
    model: str, dimension: int | None, *, param: str = "dimension"
) -> int | None:
    """The ``dimension`` to send for ``model`` (None for fixed-size models); a clear error,
    naming ``param`` (the caller's name for it), for a size the model does not offer."""
    caps = get_model_capabilities(model)
    if dimension is None or not caps.embedding_dimensions:
        return dimension
    if dimension not in caps.embedding_dimensions:
        allowed = ", ".join(map(str, caps.embedding_dimensions))
        raise InvalidRequestError(
            f"{param}={dimension} is not offered by {model}; use one of {allowed}",
            param=param,
        )
    if len(caps.embedding_dimensions) == 1:
        return None  # v1/v2 have a fixed size and reject the parameter
    return dimension


def prepare_embedding(
    model: str,
    texts: Sequence[str],
    *,
    text_type: str | None = None,
    dimension: int | None = None,
    output_type: str | None = None,
    instruct: str | None = None,
) -> dict[str, Any]:
    """The body of one embedding request (one batch)."""
    if isinstance(texts, str):
        raise InvalidRequestError("texts must be a list of strings, not one string", param="texts")
    if not texts:
        raise InvalidRequestError("texts is empty: pass at least one text", param="texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequestError(
                f"texts[{i}] is empty or not a string ({text!r}); DashScope rejects empty input",
                param="texts",
            )
    caps = get_model_capabilities(model)
    limit = caps.embedding_batch_size
    if limit is not None and len(texts) > limit:
        raise InvalidRequestError(
            f"{len(texts)} texts exceed {model}'s batch limit of {limit}; split the batch",
            param="texts",
        )
    if text_type not in (None, "query", "document"):
        raise InvalidRequestError(
            f"text_type={text_type!r}: use 'query' or 'document'", param="text_type"
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


def prepare_rerank(
    model: str,
    query: str,
    documents: Sequence[str],
    *,
    top_n: int | None = None,
    return_documents: bool | None = None,
    instruct: str | None = None,
) -> dict[str, Any]:
    """The body of one rerank request."""
    if not query:
        raise InvalidRequestError("query must be a non-empty string", param="query")
    if not documents:
        raise InvalidRequestError("documents is empty: pass at least one", param="documents")
    if top_n is not None and top_n < 1:
        raise InvalidRequestError(f"top_n={top_n} must be >= 1", param="top_n")
    params: dict[str, Any] = {}
    if top_n is not None:
        params["top_n"] = top_n
    if return_documents is not None:
        params["return_documents"] = return_documents
    if instruct is not None:
        params["instruct"] = instruct
    return {
        "model": model,
        "input": {"query": query, "documents": list(documents)},
        "parameters": params,
    }
