"""DashScope's rules, written once, on framework-neutral data.

Both adapters (and direct users of the clients) go through these functions, so a request is
accepted, refused or completed the same way whichever framework built it:

* the generation parameters the adapters expose, and their validation (§3.3);
* ``tool_choice`` in every accepted spelling, checked against the tools actually bound;
* forced tools and JSON output versus thinking (DashScope refuses both while a model thinks);
* the ``n`` rule, partial mode, explicit cache markers;
* embedding batch limits and dimensions;
* whether a non-streaming call must be served by streaming.

Self-hosted servers (vLLM, SGLang, Ollama, llama.cpp) run the same Qwen models without the
service's refusals: the rules that are DashScope's own (JSON output or forced tools while
thinking, the word "json", ``n`` with tools, internal streaming, cache markers, empty
messages) apply where ``backend`` says they do, and the backends' own gaps (Ollama ignores
``tool_choice``) are said instead of sent (research notes §10, decisions 8, 9, 12).

Everything here is pure. ``resolve_chat`` applies the chat rules and returns a
:class:`ResolvedChat`, which a protocol module (``_native``, ``_openai``) writes to the wire.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ._capabilities import ModelCapabilities, get_model_capabilities
from ._config import SELF_HOSTED
from ._errors import InvalidRequestError
from ._json import check_json_value
from ._messages import ChatRequest, MediaPart, Message, TextPart
from ._tools import check_tool_names, tool_names

__all__ = [
    "GENERATION_PARAMETERS",
    "MAX_CACHE_MARKERS",
    "ResolvedChat",
    "StructuredOutputPlan",
    "check_embedding_batch_size",
    "check_embedding_dimension",
    "check_field",
    "check_thinking",
    "check_tool_binding",
    "embedding_batch_limit",
    "embedding_batches",
    "forced_tool_name",
    "normalize_tool_choice",
    "refuse_unknown_keywords",
    "reject_booleans",
    "resolve_chat",
    "sort_unknown_keywords",
    "streams_internally",
    "structured_output_plan",
    "validate_parameters",
]

GENERATION_PARAMETERS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "stop",
    "repetition_penalty",
    "presence_penalty",
    "n",
    "enable_search",
    "search_options",
    "enable_thinking",
    "thinking_budget",
    "response_format",
    "logprobs",
    "top_logprobs",
)
"""The generation parameters both adapters expose as constructor fields (§3.3); any other
DashScope parameter goes through ``model_kwargs`` (LangChain) / ``additional_kwargs``
(LlamaIndex)."""

_NUMERIC = (
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
_BOOLEAN = ("enable_search", "enable_thinking", "logprobs", "incremental_output")
_MANAGED = {
    "result_format": "qwen-dashscope always asks for result_format='message'",
    "stream": "streaming is chosen by the method you call (stream / astream / stream_chat)",
    "stream_options": "the usage of a stream is always reported",
}
_INT64_MAX = 2**63 - 1
# Backends where JSON output or a forced tool cannot run while the model thinks: DashScope
# refuses it [SHARED §3.1]; llama.cpp applies its grammar from the first token [INF research
# §5: "a grammar from token 0 would block <think>"], so thinking is switched off there too.
# vLLM constrains only after </think> [CODE], SGLang likewise [INF], Ollama runs two passes
# [CODE]: thinking is left as it is on those.
_NO_JSON_WHILE_THINKING = frozenset({"dashscope", "llamacpp"})
MAX_CACHE_MARKERS = 4
"""DashScope honours only the last four explicit cache markers of a request."""

ToolChoice = Literal["auto", "none", "required"] | dict[str, Any] | None


# ------------------------------------------------------------------------- parameters


def _number(params: Mapping[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, got {value!r}", param=name)
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


def _valid_stop(stop: Any) -> bool:
    if isinstance(stop, str):
        return bool(stop)
    if not isinstance(stop, (list, tuple)) or not stop:
        return False
    kinds = {type(item) for item in stop}
    if kinds == {str}:
        return all(stop)
    if kinds == {int}:
        return all(0 <= t <= _INT64_MAX for t in stop)
    return kinds <= {list, tuple} and all(
        item and all(isinstance(t, int) and not isinstance(t, bool) for t in item) for item in stop
    )


def validate_parameters(params: Mapping[str, Any], *, backend: str = "dashscope") -> None:
    """Reject, before any request, values the service documents as invalid (§3.3)."""
    if (t := _number(params, "temperature")) is not None:
        _check(0 <= t < 2, "temperature", t, "use a value in [0, 2)")
    if (p := _number(params, "top_p")) is not None:
        _check(0 < p <= 1, "top_p", p, "use a value in (0, 1]")
    if (k := _integer(params, "top_k")) is not None:
        _check(0 <= k <= _INT64_MAX, "top_k", k, "use an integer >= 0 (None or > 100 disables it)")
    if (r := _number(params, "repetition_penalty")) is not None:
        _check(r > 0, "repetition_penalty", r, "use a value > 0 (1.0 means no penalty)")
    if (pp := _number(params, "presence_penalty")) is not None:
        _check(-2 <= pp <= 2, "presence_penalty", pp, "use a value in [-2, 2]")
    if (m := _integer(params, "max_tokens")) is not None:
        _check(
            1 <= m <= _INT64_MAX, "max_tokens", m, "use an integer >= 1, or None for the maximum"
        )
    if (s := _integer(params, "seed")) is not None:
        _check(0 <= s <= _INT64_MAX, "seed", s, f"use an integer in [0, {_INT64_MAX}]")
    if (n := _integer(params, "n")) is not None:
        _check(1 <= n <= 4, "n", n, "use an integer in [1, 4]")
    if (b := _integer(params, "thinking_budget")) is not None:
        _check(1 <= b <= _INT64_MAX, "thinking_budget", b, "use a positive number of tokens")
    if (tl := _integer(params, "top_logprobs")) is not None:
        _check(0 <= tl <= 5, "top_logprobs", tl, "use an integer in [0, 5]")
    for name in _BOOLEAN:
        value = params.get(name)
        if value is not None and not isinstance(value, bool):
            raise InvalidRequestError(f"{name} must be True or False, got {value!r}", param=name)
    stop = params.get("stop")
    if stop is not None and not _valid_stop(stop):
        raise InvalidRequestError(
            f"stop={stop!r} is not valid: use a string, a list of strings, a list of token ids, "
            "or a list of token-id lists (not mixed, not empty)",
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
        if (
            kind in ("json_object", "json_schema")
            and params.get("enable_thinking") is True
            and backend in _NO_JSON_WHILE_THINKING
        ):
            who = "DashScope refuses" if backend == "dashscope" else f"{backend} cannot run"
            raise InvalidRequestError(
                f"response_format {kind} cannot be combined with enable_thinking=True "
                f"({who} JSON output in thinking mode); turn thinking off or use "
                "tool calling for structured output",
                param="response_format",
            )
        if kind == "json_schema" and not isinstance(fmt.get("json_schema"), Mapping):
            raise InvalidRequestError(
                "response_format of type json_schema needs a 'json_schema' object "
                "({'name': ..., 'schema': {...}})",
                param="response_format",
            )
    search = params.get("search_options")
    if search is not None and not isinstance(search, Mapping):
        raise InvalidRequestError(
            f"search_options must be a dict, got {search!r}", param="search_options"
        )
    for name, why in _MANAGED.items():
        if name in params and not (name == "result_format" and params[name] == "message"):
            raise InvalidRequestError(f"{name} cannot be set: {why}", param=name)
    for name, value in params.items():
        check_json_value(value, name)


def check_field(name: str, value: Any) -> Any:
    """A constructor field's value, before pydantic would coerce it: ``stop`` must already be a
    string or a list (a set or generator would become a list), ``timeout`` one of the forms
    ``Timeouts.of`` takes. Returns the value unchanged."""
    if name == "stop" and value is not None and not isinstance(value, (str, list, tuple)):
        raise InvalidRequestError(
            f"stop must be a string or a list, got {type(value).__name__}", param="stop"
        )
    if name == "timeout":
        from ._config import Timeouts

        Timeouts.of(value)
    return value


def reject_booleans(values: Mapping[str, Any]) -> None:
    """``True``/``False`` given for a numeric parameter or setting, as passed to a
    constructor (pydantic would quietly turn them into 1 and 0)."""
    for name in (
        *_NUMERIC,
        "max_retries",
        "max_connections",
        "timeout",
        "request_timeout",
        "batch_size",
    ):
        if isinstance(values.get(name), bool):
            raise InvalidRequestError(f"{name} must be a number, got {values[name]!r}", param=name)


#: Keywords of the peer integrations (ChatOpenAI, llama-index-embeddings-dashscope) that
#: these classes handle another way: the fix, instead of sending them as a parameter.
PEER_KEYWORDS: Final[Mapping[str, str]] = {
    "text_type": "the text type is chosen per call: queries are embedded with "
    "text_type='query' and documents with 'document' (embed_query / embed_documents; "
    "get_query_embedding / get_text_embedding); remove it",
    "extra_body": "extra_body is the openai SDK's; pass its fields as fields "
    "(enable_thinking=..., thinking_budget=...) or, for parameters without a field, in "
    "model_kwargs / additional_kwargs",
    "max_completion_tokens": "the output limit is max_tokens on DashScope (native and "
    "compatible mode) and on the self-hosted servers; pass max_tokens=... instead",
}


def _peer_advice(name: str, where: str) -> InvalidRequestError | None:
    advice = PEER_KEYWORDS.get(name)
    if advice is None:
        return None
    return InvalidRequestError(f"{where} got {name!r}: {advice}", param=name)


def refuse_unknown_keywords(extra: Mapping[str, Any], known: Sequence[str], *, where: str) -> None:
    """Keywords a class without a passthrough dict does not declare (there is nowhere to send
    them): an error naming the fix, the field it nearly spells, or the fields there are."""
    import difflib

    from ._settings import reject_credentials

    if not extra:
        return
    reject_credentials(extra, where=where)
    name = sorted(extra)[0]
    advice = _peer_advice(name, where)
    if advice is not None:
        raise advice
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
    hint = f"did you mean {close[0]!r}?" if close else f"its fields are {sorted(known)}"
    raise InvalidRequestError(f"{where} got an unknown keyword {name!r}; {hint}", param=name)


def sort_unknown_keywords(
    extra: Mapping[str, Any], known: Sequence[str], *, where: str, passthrough: str
) -> dict[str, Any]:
    """Keywords a constructor does not declare: a near miss of a known name is a typo and an
    error ("did you mean ..."), a peer's keyword handled another way an error naming the fix;
    anything else goes into the ``passthrough`` dict (sent as a DashScope parameter) with a
    warning. Credential-like names are refused."""
    import difflib

    from ._settings import reject_credentials

    reject_credentials(extra, where=where)
    out: dict[str, Any] = {}
    for name, value in extra.items():
        advice = _peer_advice(name, where)
        if advice is not None:
            raise advice
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
        if close:
            raise InvalidRequestError(
                f"{where} got an unknown keyword {name!r}; did you mean {close[0]!r}?",
                param=name,
            )
        warnings.warn(
            f"{name!r} is not a {where} field; it was moved to {passthrough} and will be sent "
            "as a DashScope parameter",
            UserWarning,
            stacklevel=5,
        )
        out[name] = value
    return out


# ------------------------------------------------------------------------ tool choice


def _forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _named(choice: Mapping[str, Any]) -> str:
    """The tool a dict ``tool_choice`` names (OpenAI, Anthropic and LangChain shapes)."""
    kind = choice.get("type")
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
    if kind not in (None, "function", "tool") or not isinstance(name, str) or not name:
        raise InvalidRequestError(
            f"tool_choice={dict(choice)!r} does not name a function; use "
            "{'type': 'function', 'function': {'name': ...}}",
            param="tool_choice",
        )
    return name


def normalize_tool_choice(choice: Any, names: Sequence[str]) -> ToolChoice:
    """Any accepted ``tool_choice`` as DashScope's, checked against the bound tool ``names``.

    ``"auto"`` / ``"none"`` (and ``False``) are sent as they are (nothing is sent without
    tools); ``"any"``, ``"required"`` and ``True`` force a call: of the one tool by name, or
    ``"required"`` with several; a tool name or a dict naming a tool forces that tool.
    """
    if choice is None:
        return None
    if choice is False or choice == "none":
        return "none" if names else None
    if choice == "auto":
        return "auto" if names else None
    if choice is True or choice in ("any", "required"):
        if not names:
            raise InvalidRequestError(
                f"tool_choice={choice!r} forces a tool call, but no tools are bound; bind the "
                "tools (bind_tools / chat_with_tools), or leave tool_choice unset",
                param="tool_choice",
            )
        return _forced(names[0]) if len(names) == 1 else "required"
    if isinstance(choice, str):
        name = choice
    elif isinstance(choice, Mapping):
        name = _named(choice)
    else:
        raise InvalidRequestError(
            f"tool_choice={choice!r} is not supported; use 'auto', 'none', 'any', 'required', "
            "True, a tool name or {'type': 'function', 'function': {'name': ...}}",
            param="tool_choice",
        )
    if name not in names:
        bound = ", ".join(repr(n) for n in names) or "none"
        raise InvalidRequestError(
            f"tool_choice names {name!r}, which is not a bound tool (bound: {bound}); use one "
            "of their names, 'auto', 'none', 'any' or 'required'",
            param="tool_choice",
        )
    return _forced(name)


def forced_tool_name(choice: Any) -> str | None:
    """The tool a normalized ``tool_choice`` forces by name, if any."""
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping):
            name = function.get("name")
            return name if isinstance(name, str) else None
    return None


def _forces(choice: ToolChoice) -> bool:
    return choice == "required" or isinstance(choice, Mapping)


# --------------------------------------------------------------------------- thinking


def check_thinking(model: str, enable_thinking: Any) -> None:
    """``enable_thinking`` against what the model can do, before any request."""
    if enable_thinking is not None and not isinstance(enable_thinking, bool):
        raise InvalidRequestError(
            f"enable_thinking must be True, False or None, got {enable_thinking!r}",
            param="enable_thinking",
        )
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


def _settle_thinking(
    model: str,
    caps: ModelCapabilities,
    params: dict[str, Any],
    what: str,
    param: str,
    backend: str = "dashscope",
) -> None:
    """``what`` (a forced tool, JSON output) cannot run while the model thinks: refuse the
    request, or say ``enable_thinking=False`` on a hybrid model where it was left unset."""
    enable = params.get("enable_thinking")
    who = "DashScope refuses it" if backend == "dashscope" else f"{backend} cannot run it"
    if caps.thinking == "always":
        raise InvalidRequestError(
            f"{what} cannot be used with {model!r}: the model always thinks and {who} "
            "in thinking mode. Fix: use a model that can stop thinking (e.g. "
            "qwen-plus, qwen3-max) or leave the choice to the model (tool_choice='auto').",
            param=param,
        )
    if enable is True:
        raise InvalidRequestError(
            f"{what} cannot be combined with enable_thinking=True on {model!r}: {who} "
            "in thinking mode. Fix: pass enable_thinking=False (or leave it unset).",
            param=param,
        )
    if enable is None and caps.thinking == "hybrid":
        # Explicit even where the table says thinking is off by default: defaults differ by
        # model family and change over time, and False is valid for every hybrid model.
        params["enable_thinking"] = False


@dataclass(frozen=True, slots=True)
class StructuredOutputPlan:
    """How a structured-output call runs: force the schema's tool or not, and the
    ``enable_thinking`` to send for that call only (None: leave the instance's).

    ``method`` is the method to run, which is the one asked for unless the backend cannot
    run it (then ``"function_calling"``: the schema as a tool).
    """

    force_tool: bool
    enable_thinking: bool | None
    method: str = "function_calling"


def structured_output_plan(
    model: str, enable_thinking: bool | None, method: str, *, backend: str = "dashscope"
) -> StructuredOutputPlan:
    """The one decision both adapters follow for structured output (tool or JSON mode).

    DashScope: hybrid models run the call with ``enable_thinking=False`` (forced tools and
    JSON output are refused while thinking), whatever the instance says. A model that always
    thinks gets the schema's tool offered with ``tool_choice="auto"``: an answer without the
    call is a parsing error, never ``None``. JSON modes cannot run on such a model at all.

    Self-hosted backends (research notes §5, decision 9):

    * vLLM, SGLang and generic OpenAI servers: ``response_format`` json_schema / json_object
      as asked and the tool forced, thinking left as it is (vLLM applies the constraint after
      ``</think>``).
    * Ollama: JSON modes as asked (its ``format`` works while thinking, two passes); it
      ignores ``tool_choice``, so the schema's tool is offered (``"auto"``).
    * llama.cpp: its grammar starts at the first token, so hybrid models stop thinking for
      the call, as on DashScope; where the model must think (``enable_thinking=True``, or a
      model that always thinks) JSON modes fall back to the forced tool, whose grammar is
      triggered by the ``<tool_call>`` tag after the reasoning [INF].
    """
    if backend in SELF_HOSTED:
        return _self_hosted_plan(model, enable_thinking, method, backend)
    caps = get_model_capabilities(model)
    check_thinking(model, enable_thinking if caps.thinking != "hybrid" else None)
    if method == "function_calling":
        if caps.thinking == "always":
            return StructuredOutputPlan(force_tool=False, enable_thinking=None)
        return StructuredOutputPlan(
            force_tool=True, enable_thinking=False if caps.thinking == "hybrid" else None
        )
    if caps.thinking == "always":
        raise InvalidRequestError(
            f"method={method!r} cannot be used with {model!r}, which always thinks (DashScope "
            "refuses JSON output in thinking mode); use method='function_calling'",
            param="method",
        )
    return StructuredOutputPlan(
        force_tool=False,
        enable_thinking=False if caps.thinking == "hybrid" else None,
        method=method,
    )


def _self_hosted_plan(
    model: str, enable_thinking: bool | None, method: str, backend: str
) -> StructuredOutputPlan:
    caps = get_model_capabilities(model)
    check_thinking(model, enable_thinking)
    if backend == "ollama":
        return StructuredOutputPlan(force_tool=False, enable_thinking=None, method=method)
    if backend != "llamacpp":
        return StructuredOutputPlan(
            force_tool=method == "function_calling", enable_thinking=None, method=method
        )
    must_think = caps.thinking == "always" or enable_thinking is True
    if method == "function_calling" or must_think:
        return StructuredOutputPlan(force_tool=True, enable_thinking=None)
    return StructuredOutputPlan(
        force_tool=False,
        enable_thinking=False if caps.thinking == "hybrid" else None,
        method=method,
    )


def streams_internally(model: str, params: Mapping[str, Any]) -> bool:
    """Whether a non-streaming call must be served by streaming (the model, or its thinking,
    only answers streamed requests)."""
    caps = get_model_capabilities(model)
    if caps.stream_only:
        return True
    return caps.thinking_stream_only and caps.thinks(params.get("enable_thinking"))


# ------------------------------------------------------------------------------ chats


@dataclass(frozen=True, slots=True)
class ResolvedChat:
    """A chat request with every rule applied, ready for a protocol module to write.

    ``parameters`` are final (``tools`` and ``tool_choice`` included when given,
    ``enable_thinking`` settled); ``stream`` is whether the caller streams, ``wire_stream``
    whether the request does (it may stream internally); ``thinks`` whether the model reasons.
    """

    model: str
    endpoint: Literal["text", "multimodal"]
    messages: Sequence[Message]
    parameters: dict[str, Any]
    stream: bool
    wire_stream: bool
    thinks: bool
    backend: str = "dashscope"
    """The server the request is for (``_config.BACKENDS``); the rules applied follow it."""


def _choose_endpoint(
    request: ChatRequest, caps: ModelCapabilities
) -> Literal["text", "multimodal"]:
    """Text models stay on the text endpoint; images need a vision model."""
    if request.endpoint in ("text", "multimodal"):
        return request.endpoint
    if caps.endpoint == "multimodal":
        return "multimodal"
    if any(m.has_media for m in request.messages):
        if caps.known and not caps.vision:
            raise InvalidRequestError(
                f"model {request.model!r} does not take images, video or audio; use a vision "
                "model such as qwen-vl-max, qwen3-vl-plus or qwen3.5-plus",
                param="model",
            )
        return "multimodal"
    if caps.known and caps.endpoint in ("embedding", "rerank", "multimodal-embedding"):
        raise InvalidRequestError(
            f"model {request.model!r} is a model for {caps.endpoint}, not a chat model; use "
            "e.g. qwen-plus",
            param="model",
        )
    return "text"


def _check_messages(messages: Sequence[Message], thinks: bool, backend: str) -> None:
    if not messages:
        raise InvalidRequestError(
            "messages is empty: send at least one user message", param="messages"
        )
    markers = 0
    last = len(messages) - 1
    for position, message in enumerate(messages):
        if not isinstance(message, Message):
            raise InvalidRequestError(
                f"messages[{position}] is a {type(message).__name__}, not a Message",
                param="messages",
            )
        for part in message.parts:
            if part.cache_control is None:
                continue
            if backend != "dashscope":
                raise InvalidRequestError(
                    f"messages[{position}]: cache_control marks DashScope's explicit context "
                    f"cache; the {backend} server has no such cache (vLLM and SGLang cache "
                    "prefixes automatically): remove the marker",
                    param="cache_control",
                )
            if dict(part.cache_control) != {"type": "ephemeral"}:
                raise InvalidRequestError(
                    f"messages[{position}]: cache_control={dict(part.cache_control)!r} is not "
                    "supported; DashScope's explicit cache takes {'type': 'ephemeral'}",
                    param="cache_control",
                )
            markers += 1
        if (
            backend == "dashscope"
            and isinstance(message.content, str)
            and message.content == ""
            and not (message.tool_calls or message.role in ("assistant", "tool"))
        ):
            raise InvalidRequestError(
                f"messages[{position}] ({message.role}) has no content; DashScope rejects "
                "empty messages",
                param="messages",
            )
        if message.partial:
            if position != last or message.role != "assistant":
                raise InvalidRequestError(
                    f"messages[{position}] has partial=True, which only the last message, an "
                    "assistant prefix for the model to continue, may have",
                    param="partial",
                )
            if thinks:
                raise InvalidRequestError(
                    "partial mode (a final assistant message with partial=True) is not "
                    "available while the model thinks; pass enable_thinking=False",
                    param="partial",
                )
            if message.tool_calls:
                raise InvalidRequestError(
                    "a partial assistant message cannot carry tool calls", param="partial"
                )
        for part in message.parts:
            if isinstance(part, MediaPart) and part.options:
                check_json_value(dict(part.options), f"messages[{position}].{part.kind}")
    if markers > MAX_CACHE_MARKERS:
        warnings.warn(
            f"{markers} explicit cache markers (cache_control) were given; DashScope uses only "
            f"the last {MAX_CACHE_MARKERS} of a request",
            UserWarning,
            stacklevel=4,
        )


def _check_n(n: Any, *, stream: bool, has_tools: bool, thinks: bool, backend: str) -> None:
    if n is None or n == 1:
        return
    if stream:
        raise InvalidRequestError(
            f"n={n!r} cannot be streamed (a stream is one message); use a non-streaming call "
            "for several answers, or leave n unset",
            param="n",
        )
    if backend != "dashscope":
        return  # the tool and thinking limits below are the service's
    if has_tools:
        raise InvalidRequestError(
            f"n={n!r} cannot be combined with tools: DashScope answers with one choice when "
            "tools are given; leave n unset",
            param="n",
        )
    if thinks:
        raise InvalidRequestError(
            f"n={n!r} is not available while the model thinks; pass enable_thinking=False or "
            "leave n unset",
            param="n",
        )


def _tool_choice_for(
    backend: str, choice: ToolChoice, given: Any, names: Sequence[str]
) -> ToolChoice:
    """What of ``choice`` a backend takes (research notes §3.4, §3.5, decision 8)."""
    if backend == "ollama":
        # [DOC ollama openai-compatibility.mdx] tool_choice is not supported; [CODE] it is not
        # a field of the request, so it is never sent ("auto" is what Ollama does anyway), and
        # a choice that would change the answer is said instead of silently ignored.
        if choice in (None, "auto"):
            return None
        warnings.warn(
            f"tool_choice={given!r} is not supported by Ollama (its /v1 ignores tool_choice); "
            "it is not sent and the model chooses whether to call a tool",
            UserWarning,
            stacklevel=4,
        )
        return None
    if backend == "llamacpp" and isinstance(choice, Mapping) and len(names) == 1:
        # [3P langchain-llama-cpp] llama-server turns a named tool_choice into "auto"; with one
        # bound tool "required" means the same and is honoured (grammar) [INF].
        return "required"
    return choice


def resolve_chat(request: ChatRequest, *, stream: bool, backend: str = "dashscope") -> ResolvedChat:
    """Apply every chat rule to ``request`` (pure; raises InvalidRequestError naming the
    parameter and the fix). ``backend``: the server (``_config.BACKENDS``) whose rules apply."""
    model = request.model
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(
            f"model must be a non-empty model name, got {model!r}", param="model"
        )
    if not isinstance(request.parameters, Mapping):
        raise InvalidRequestError("parameters must be a dict", param="parameters")
    params = {k: v for k, v in request.parameters.items() if v is not None}
    tools: Sequence[Mapping[str, Any]] = request.tools or ()
    if "tools" in params:
        if tools:
            raise InvalidRequestError("tools were given twice", param="tools")
        tools = params.pop("tools") or ()
    choice = request.tool_choice
    if "tool_choice" in params:
        if choice is not None:
            raise InvalidRequestError("tool_choice was given twice", param="tool_choice")
        choice = params.pop("tool_choice")
    validate_parameters(params, backend=backend)
    caps = get_model_capabilities(model)
    check_thinking(model, params.get("enable_thinking"))
    dashscope = backend == "dashscope"
    settles = backend in _NO_JSON_WHILE_THINKING

    names = tool_names(tools) if tools else []
    check_tool_names(names)
    normalized = _tool_choice_for(backend, normalize_tool_choice(choice, names), choice, names)
    if names:
        params["tools"] = [dict(tool) for tool in tools]
        if normalized is not None:
            params["tool_choice"] = normalized
    elif "parallel_tool_calls" in params:
        raise InvalidRequestError(
            "parallel_tool_calls was given without tools; bind tools or leave it unset",
            param="parallel_tool_calls",
        )
    if _forces(normalized) and dashscope:
        # llama.cpp's tool grammar is lazy (triggered by <tool_call>, after the reasoning)
        # [INF]; vLLM and SGLang constrain after </think>: only DashScope refuses.
        _settle_thinking(
            model, caps, params, f"tool_choice={choice!r} (a forced tool call)", "tool_choice"
        )
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema") and settles:
        _settle_thinking(
            model,
            caps,
            params,
            f"response_format {fmt['type']!r} (JSON output)",
            "response_format",
            backend,
        )
        if (
            dashscope
            and fmt["type"] == "json_object"
            and not any("json" in _text_of(m).lower() for m in request.messages)
        ):
            raise InvalidRequestError(
                "response_format json_object requires the word 'json' in the messages "
                "(DashScope refuses it otherwise); say e.g. 'Answer in JSON' in a system "
                "message",
                param="response_format",
            )

    thinks = caps.thinks(params.get("enable_thinking"))
    _check_messages(request.messages, thinks, backend)
    _check_n(params.get("n"), stream=stream, has_tools=bool(names), thinks=thinks, backend=backend)
    endpoint = _choose_endpoint(request, caps)
    # Internal streaming is for DashScope's stream-only models and thinking modes; a
    # self-hosted server answers whole requests as they are.
    wire_stream = stream or (dashscope and streams_internally(model, params))
    if dashscope and wire_stream and params.get("incremental_output") is False and thinks:
        raise InvalidRequestError(
            "incremental_output=False cannot be used while the model thinks (the service "
            "requires incremental streaming with enable_thinking); leave it unset",
            param="incremental_output",
        )
    return ResolvedChat(
        model=model,
        endpoint=endpoint,
        messages=request.messages,
        parameters=params,
        stream=stream,
        wire_stream=wire_stream,
        thinks=thinks,
        backend=backend,
    )


def check_tool_binding(
    model: str,
    parameters: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]],
    tool_choice: Any,
    *,
    backend: str = "dashscope",
) -> None:
    """The tool rules when tools are bound, before any message exists: names, ``tool_choice``
    against the tools, forced tools versus thinking (the same checks every call repeats)."""
    probe = ChatRequest(
        model=model,
        messages=[Message("user", "?")],
        parameters=parameters,
        tools=tools,
        tool_choice=tool_choice,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each call says what it drops, when it is made
        resolve_chat(probe, stream=False, backend=backend)


def _text_of(message: Message) -> str:
    return "".join(p.text for p in message.parts if isinstance(p, TextPart))


# ------------------------------------------------------------------------- embeddings


def embedding_batch_limit(model: str) -> int:
    """Texts per request the model accepts (10 for v3/v4, 25 for v1/v2; 10 if unknown)."""
    return get_model_capabilities(model).embedding_batch_size or 10


def check_embedding_batch_size(model: str, size: Any, *, param: str = "batch_size") -> int:
    """``size`` texts per request for ``model`` (None: the model's limit), or an error naming
    ``param``: the caller's name for it. Nothing is clamped: the service would refuse it."""
    limit = embedding_batch_limit(model)
    if size is None:
        return limit
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= limit:
        raise InvalidRequestError(
            f"{param}={size!r}: {model} takes between 1 and {limit} texts per request; use at "
            f"most {limit} (the default), and the texts are split into requests of that size",
            param=param,
        )
    return size


def embedding_batches(
    texts: Sequence[str], model: str, batch_size: int | None, *, param: str = "batch_size"
) -> list[tuple[int, Sequence[str]]]:
    """``(offset, batch)`` pairs within the model's limit, in input order."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidRequestError("texts must be a list of strings, not one string", param="texts")
    size = check_embedding_batch_size(model, batch_size, param=param)
    return [(start, texts[start : start + size]) for start in range(0, len(texts), size)]


_ENDPOINT_KINDS: Final = {
    "embedding": ("an embedding model", "text-embedding-v4"),
    "multimodal-embedding": (
        "a multimodal embedding model",
        "tongyi-embedding-vision-plus or qwen3-vl-embedding",
    ),
    "rerank": ("a rerank model", "qwen3-rerank (text) or qwen3-vl-rerank (images, video)"),
}


def check_model_endpoint(model: str, endpoint: str, *, param: str = "model") -> ModelCapabilities:
    """The capabilities of ``model``, refused (naming ``param``, the caller's name for the
    model field) when the table knows it serves another endpoint than ``endpoint``: a chat
    model given to an embedding or rerank class would otherwise fail only at the first call,
    with the service's "Model not exist" or a 400. Unknown names pass (new models)."""
    caps = get_model_capabilities(model)
    if caps.known and caps.endpoint != endpoint:
        what, example = _ENDPOINT_KINDS[endpoint]
        article = "an" if caps.endpoint[:1] in ("a", "e", "i", "o", "u") else "a"
        raise InvalidRequestError(
            f"{param}={model!r} is {article} {caps.endpoint} model, not {what}; use e.g. {example}",
            param=param,
        )
    return caps


def check_embedding_dimension(
    model: str, dimension: Any, *, param: str = "dimension"
) -> int | None:
    """The ``dimension`` to send for ``model`` (None for fixed-size models); a clear error,
    naming ``param`` (the caller's name for it), for a size the model does not offer."""
    if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)):
        raise InvalidRequestError(f"{param} must be an integer, got {dimension!r}", param=param)
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
