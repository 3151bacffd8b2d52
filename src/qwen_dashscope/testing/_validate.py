"""Request validation for generation endpoints: body -> ``GenerationPlan`` or ``ServiceError``.

Pure functions. Messages are verbatim from the protocol doc (§3.3, §5.5, §6.3) where it gives
them; the few marked [INF] are the emulator's own wording for rules the doc states without a
message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import (
    ServiceError,
    body_invalid,
    empty_input,
    empty_model,
    invalid,
    model_not_exist,
    url_error,
)
from ._models import ModelSpec, ResultFormat
from ._recorded import content_text
from ._tokens import count_tokens

GenEndpoint = Literal["text-generation", "multimodal-generation", "compat-chat"]

IMAGE_TOKENS = 256
"""Input tokens charged per image item (the real count depends on the resolution)."""
VIDEO_TOKENS = 1024
"""Input tokens charged per video item (a list of frames counts IMAGE_TOKENS per frame)."""
AUDIO_TOKENS = 128
"""Input tokens charged per audio item."""

_ROLES = frozenset({"system", "user", "assistant", "tool", "plugin"})
_MODAL_KEYS = ("text", "image", "video", "audio")

# Messages verbatim from the doc.
MSG_EITHER = 'Either "prompt" or "messages" must exist and cannot both be none'
MSG_TOO_SHORT = "[] is too short"
MSG_ROLE = "Role must be user or assistant and Content length must be greater than 0"
MSG_CONTENT_REQUIRED = "The content field is a required field."
MSG_CONTENT_STRING = "input content must be a string."
MSG_MODAL = "The item of content should be a message of a certain modal."
MSG_TOOL_ORDER = (
    'messages with role "tool" must be a response to a preceeding message with "tool_calls"'
)
MSG_TOOL_SEARCH = "Tool names are not allowed to be [search]"
MSG_TOOL_CHOICE = 'tool_choice is one of the strings that should be ["none", "auto"]'
MSG_TOOL_CHOICE_THINKING = (
    "The tool_choice parameter does not support being set to required or object in thinking mode"
)
MSG_JSON_WORD = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
    "'json_object'."
)
MSG_JSON_THINKING = "Json mode response is not supported when enable_thinking is true"
MSG_THINK_INCREMENTAL = (
    'The incremental_output parameter must be "true" when enable_thinking is true'
)
MSG_THINK_FORMAT = 'The result_format parameter must be "message" when enable_thinking is true'
MSG_THINK_NONSTREAM = "parameter.enable_thinking must be set to false for non-streaming calls"
MSG_THINK_ONLY = "The value of the enable_thinking parameter is restricted to True."
MSG_STREAM_ONLY = (
    "This model only support stream mode, please enable the stream parameter to access the model."
)
# [INF] rules the doc states without quoting a message.
MSG_TOOLS_FORMAT = 'The result_format parameter must be "message" when tools are provided'
MSG_RESULT_FORMAT = 'result_format should be one of ["text", "message"]'
MSG_TOOL_ARGUMENTS = "The arguments of a tool call must be a JSON string"
MSG_PARTIAL_LAST = "Only the last message can be a partial assistant message"
MSG_PARTIAL_THINKING = "Partial mode is not supported in thinking mode"
MSG_CACHE_TYPE = 'cache_control only supports type "ephemeral"'
MSG_FORCED_UNKNOWN = "The function named in tool_choice is not among the tools"

CACHE_MIN_TOKENS = 1024
"""[DOC context cache] the smallest prefix an explicit marker caches."""
CACHE_MAX_MARKERS = 4
"""[DOC] only the last four markers of a request take effect."""


@dataclass(frozen=True)
class InputUsage:
    """Input token accounting of one request."""

    text_tokens: int = 0
    image_tokens: int = 0
    video_tokens: int = 0
    audio_tokens: int = 0

    @property
    def total(self) -> int:
        return self.text_tokens + self.image_tokens + self.video_tokens + self.audio_tokens


@dataclass(frozen=True)
class SearchPlan:
    """Web search (``enable_search``) and its ``search_options`` [CAP search streams, DOC]."""

    strategy: str = "turbo"
    enable_source: bool = False
    enable_citation: bool = False
    citation_format: str = "[<number>]"
    prepend: bool = False


def plan_search(params: Mapping[str, Any]) -> SearchPlan | None:
    if _bool(params, "enable_search") is not True:
        return None
    options = params.get("search_options") or {}
    if not isinstance(options, dict):
        raise body_invalid()
    return SearchPlan(
        strategy=str(options.get("search_strategy") or "turbo"),
        enable_source=options.get("enable_source") is True,
        enable_citation=options.get("enable_citation") is True,
        citation_format=str(options.get("citation_format") or "[<number>]"),
        prepend=options.get("prepend_search_result") is True,
    )


@dataclass(frozen=True)
class GenerationPlan:
    """Everything the response builders need to know about a validated generation request."""

    spec: ModelSpec
    endpoint: GenEndpoint
    stream: bool
    result_format: ResultFormat
    incremental: bool
    thinking: bool
    thinking_budget: int | None
    max_tokens: int | None
    has_tools: bool
    input_usage: InputUsage
    include_usage: bool = False
    """Compat only: ``stream_options.include_usage``."""
    forced_tool: Mapping[str, Any] | None = None
    """The tool a forced ``tool_choice`` makes the default reply call (its function dict)."""
    cache_points: tuple[tuple[str, int], ...] = ()
    """Explicit cache markers: (prefix key, prefix tokens) for prefixes long enough to cache."""
    cache_read: int = 0
    """Input tokens read from the explicit cache (resolved by the server)."""
    cache_created: int = 0
    """Input tokens written to the explicit cache (resolved by the server)."""
    search: SearchPlan | None = None
    """Web search, when ``enable_search`` is on (native endpoints only)."""
    json_schema: Mapping[str, Any] | None = None
    """Self-hosted flavours: the ``response_format`` schema the server constrains the default
    answer to (``{}`` for json_object)."""

    @property
    def list_content(self) -> bool:
        """Native multimodal responses carry ``content`` as a list of ``{"text"}`` items."""
        return self.endpoint == "multimodal-generation"


# --------------------------------------------------------------------------- helpers


def _number(params: Mapping[str, Any], name: str, type_msg: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(type_msg)
    return float(value)


def _integer(params: Mapping[str, Any], name: str, range_msg: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise invalid(range_msg)
    return value


def _bool(params: Mapping[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be Boolean")  # [INF]
    return value


def check_sampling(params: Mapping[str, Any], spec: ModelSpec) -> int | None:
    """Range checks of the sampling knobs (§3.3); returns ``max_tokens``."""
    temperature = _number(params, "temperature", "'temperature' must be Float")
    if temperature is not None and not 0.0 <= temperature < 2.0:
        raise invalid("Temperature should be in [0.0, 2.0)")
    top_p = _number(params, "top_p", "'top_p' must be Float")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise invalid("Range of top_p should be (0.0, 1.0]")
    top_k = _integer(params, "top_k", "Parameter top_k be greater than or equal to 0")
    if top_k is not None and top_k < 0:
        raise invalid("Parameter top_k be greater than or equal to 0")
    penalty = _number(params, "repetition_penalty", "'repetition_penalty' must be Float")
    if penalty is not None and penalty <= 0:
        raise invalid("Repetition_penalty should be greater than 0.0")
    presence = _number(params, "presence_penalty", "'presence_penalty' must be Float")
    if presence is not None and not -2.0 <= presence <= 2.0:
        raise invalid("Presence_penalty should be in [-2.0, 2.0]")
    seed_msg = "Range of seed should be [0, 9223372036854775807]"
    seed = _integer(params, "seed", seed_msg)
    if seed is not None and not 0 <= seed <= 9223372036854775807:
        raise invalid(seed_msg)
    n_msg = "Range of n should be [1, 4]"
    n = _integer(params, "n", n_msg)
    if n is not None and not 1 <= n <= 4:
        raise invalid(n_msg)
    top_logprobs = _integer(params, "top_logprobs", "Range of top_logprobs should be [0, 5]")
    if top_logprobs is not None and not 0 <= top_logprobs <= 5:
        raise invalid("Range of top_logprobs should be [0, 5]")
    max_msg = f"Range of max_tokens should be [1, {spec.max_output}]"
    max_tokens = _integer(params, "max_tokens", max_msg)
    if max_tokens is not None and not 1 <= max_tokens <= spec.max_output:
        raise invalid(max_msg)
    return max_tokens


def _item_usage(item: Mapping[str, Any]) -> InputUsage:
    if "image" in item:
        return InputUsage(image_tokens=IMAGE_TOKENS)
    if "video" in item:
        video = item["video"]
        if isinstance(video, list):
            return InputUsage(video_tokens=IMAGE_TOKENS * len(video))
        return InputUsage(video_tokens=VIDEO_TOKENS)
    if "audio" in item:
        return InputUsage(audio_tokens=AUDIO_TOKENS)
    return InputUsage()


def _add(a: InputUsage, b: InputUsage) -> InputUsage:
    return InputUsage(
        a.text_tokens + b.text_tokens,
        a.image_tokens + b.image_tokens,
        a.video_tokens + b.video_tokens,
        a.audio_tokens + b.audio_tokens,
    )


def _check_tool_calls(message: Mapping[str, Any]) -> list[Any]:
    calls = message.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise body_invalid()
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise body_invalid()
        if not isinstance(function.get("arguments"), str):
            raise invalid(MSG_TOOL_ARGUMENTS)
    return calls


def _typed_text_parts(content: list[Any]) -> bool:
    """[DOC context cache] the text endpoint takes a list of typed text parts
    (``{"type": "text", "text", "cache_control"}``), the form explicit cache markers need."""
    return bool(content) and all(
        isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str)
        for item in content
    )


def check_messages(messages: list[Any], *, endpoint: GenEndpoint) -> InputUsage:
    """Validate the message list; returns the input usage it implies."""
    usage = InputUsage()
    previous_had_calls = False  # last non-tool message was an assistant with tool_calls
    last = len(messages) - 1
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise body_invalid()
        role = message.get("role")
        if role not in _ROLES:
            raise invalid(MSG_ROLE)
        if message.get("partial") is True and (position != last or role != "assistant"):
            raise invalid(MSG_PARTIAL_LAST)  # [INF]
        calls = _check_tool_calls(message) if role == "assistant" else []
        if role == "tool":
            if not previous_had_calls:
                raise invalid(MSG_TOOL_ORDER)
        else:
            previous_had_calls = bool(calls)
        for call in calls:
            usage = _add(usage, InputUsage(count_tokens(call["function"]["arguments"])))
        content = message.get("content")
        if content is None:
            if role == "assistant" and calls:
                continue
            raise invalid(MSG_CONTENT_REQUIRED)
        if isinstance(content, str):
            usage = _add(usage, InputUsage(count_tokens(content)))
            continue
        if not isinstance(content, list):
            raise body_invalid()
        if endpoint == "text-generation":
            if not _typed_text_parts(content):
                raise invalid(MSG_CONTENT_STRING)
            for item in content:
                usage = _add(usage, InputUsage(count_tokens(item["text"])))
            continue
        for item in content:
            usage = _add(usage, _check_item(item, endpoint))
    return usage


def cache_points(messages: list[Any], model: str) -> tuple[tuple[str, int], ...]:
    """[DOC context cache] each ``cache_control`` marker caches everything up to it; only the
    last four markers count, and only prefixes of at least 1024 tokens are cached."""
    import hashlib

    points: list[tuple[str, int]] = []
    digest = hashlib.sha256(model.encode())
    tokens = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        items = content if isinstance(content, list) else [{"text": content or ""}]
        digest.update(str(message.get("role")).encode() if isinstance(message, dict) else b"")
        for item in items:
            if not isinstance(item, dict):
                continue
            text = item.get("text")
            piece = text if isinstance(text, str) else json.dumps(item, sort_keys=True)
            digest.update(piece.encode("utf-8", "replace"))
            tokens += count_tokens(text) if isinstance(text, str) else _item_usage(item).total
            marker = item.get("cache_control")
            if marker is None:
                continue
            if marker != {"type": "ephemeral"}:
                raise invalid(MSG_CACHE_TYPE)  # [INF] the doc: "仅支持将 type 设置为 ephemeral"
            points.append((digest.copy().hexdigest(), tokens))
    return tuple(p for p in points[-CACHE_MAX_MARKERS:] if p[1] >= CACHE_MIN_TOKENS)


def _check_item(item: Any, endpoint: GenEndpoint) -> InputUsage:
    if not isinstance(item, dict):
        raise invalid(MSG_MODAL)
    if endpoint == "compat-chat":
        # OpenAI content parts: {"type":"text","text"} / {"type":"image_url",...} / ...
        kind = item.get("type")
        if kind == "text":
            if not isinstance(item.get("text"), str):
                raise body_invalid()
            return InputUsage(count_tokens(item["text"]))
        if kind in ("image_url", "input_image"):
            return InputUsage(image_tokens=IMAGE_TOKENS)
        if kind in ("video", "video_url"):
            return InputUsage(video_tokens=VIDEO_TOKENS)
        if kind == "input_audio":
            return InputUsage(audio_tokens=AUDIO_TOKENS)
        raise body_invalid()
    keys = [key for key in _MODAL_KEYS if key in item]
    if len(keys) != 1:
        raise invalid(MSG_MODAL)
    marker = item.get("cache_control")
    if marker is not None and marker != {"type": "ephemeral"}:
        raise invalid(MSG_CACHE_TYPE)
    if keys[0] == "text":
        if not isinstance(item["text"], str):
            raise invalid(MSG_MODAL)
        return InputUsage(count_tokens(item["text"]))
    return _item_usage(item)


def _mentions_json(messages: list[Any]) -> bool:
    return any(
        "json" in content_text(m.get("content")).lower() for m in messages if isinstance(m, dict)
    )


def _tools_tokens(tools: Any) -> int:
    return count_tokens(json.dumps(tools, ensure_ascii=False)) if tools else 0


def check_tools(
    params: Mapping[str, Any], *, thinking: bool
) -> tuple[bool, Mapping[str, Any] | None]:
    """Validate ``tools`` and ``tool_choice``; returns whether tools were given and the
    function a forced ``tool_choice`` names (the first tool for ``"required"``)."""
    tools = params.get("tools")
    functions: list[Mapping[str, Any]] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise body_invalid()
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise body_invalid()
            if function["name"] == "search":
                raise invalid(MSG_TOOL_SEARCH)
            functions.append(function)
    choice = params.get("tool_choice")
    forced: Mapping[str, Any] | None = None
    if isinstance(choice, str):
        if thinking and choice == "required":
            raise invalid(MSG_TOOL_CHOICE_THINKING)
        # "required" is accepted outside thinking mode: the service's own thinking-mode error
        # ("does not support being set to required or object in thinking mode") names it as a
        # recognised value. Older 2024-25 models answered the MSG_TOOL_CHOICE error instead.
        if choice not in ("none", "auto", "required"):
            raise invalid(MSG_TOOL_CHOICE)
        if choice == "required" and functions:
            forced = functions[0]
    elif isinstance(choice, dict):
        if thinking:
            raise invalid(MSG_TOOL_CHOICE_THINKING)
        function = choice.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise body_invalid()
        named = [f for f in functions if f["name"] == function["name"]]
        if not named:
            raise invalid(MSG_FORCED_UNKNOWN)  # [INF]
        forced = named[0]
    elif choice is not None:
        raise body_invalid()
    return bool(tools), forced


def check_response_format(
    params: Mapping[str, Any], messages: list[Any], *, thinking: bool
) -> None:
    fmt = params.get("response_format")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise body_invalid()
    if fmt["type"] == "text":
        return
    if thinking:
        raise invalid(MSG_JSON_THINKING)
    if fmt["type"] == "json_object" and not _mentions_json(messages):
        raise invalid(MSG_JSON_WORD)


def resolve_thinking(spec: ModelSpec, enable_thinking: bool | None) -> bool:
    """Whether the request thinks, or the enable_thinking error (§5.5)."""
    if spec.thinking == "none":
        if enable_thinking:
            raise ServiceError(
                400,
                "InvalidParameter.NotSupportEnableThinking",
                f"The model {spec.name} does not support enable_thinking.",
            )
        return False
    if spec.thinking == "always":
        if enable_thinking is False:
            raise invalid(MSG_THINK_ONLY)
        return True
    return spec.thinking_default if enable_thinking is None else enable_thinking


def check_thinking_budget(params: Mapping[str, Any], spec: ModelSpec) -> int | None:
    msg = (
        "The thinking_budget parameter must be a positive integer and not greater than "
        f"{spec.max_thinking}"
    )
    budget = _integer(params, "thinking_budget", msg)
    if budget is not None and not 1 <= budget <= spec.max_thinking:
        raise invalid(msg)
    return budget


def lookup_model(body: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> ModelSpec:
    model = body.get("model")
    if model is None or model == "":
        raise empty_model()
    if not isinstance(model, str) or model not in models:
        raise model_not_exist()
    if models[model].retired:
        raise ServiceError(404, "ModelNotFound", "Model can not be found.")  # [DOC] [INF]
    return models[model]


# --------------------------------------------------------------------------- native


def plan_native_generation(
    endpoint: Literal["text-generation", "multimodal-generation"],
    body: Any,
    *,
    stream: bool,
    models: Mapping[str, ModelSpec],
) -> GenerationPlan:
    """Validate a native generation request (§3, §5.5, §8)."""
    if not isinstance(body, dict):
        raise body_invalid()
    spec = lookup_model(body, models)
    if spec.endpoint != endpoint:
        raise url_error()
    params = body.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise body_invalid()

    inp = body.get("input")
    if inp is None:
        raise empty_input()
    if not isinstance(inp, dict):
        raise ServiceError(
            400, "BadRequest.IllegalInput", "The input parameter requires json format."
        )
    prompt = inp.get("prompt")
    messages = inp.get("messages")
    if prompt is None and messages is None:
        raise invalid(MSG_EITHER)
    if messages is not None and not isinstance(messages, list):
        raise body_invalid()
    if prompt is not None and (not isinstance(prompt, str) or prompt == ""):
        raise invalid(MSG_ROLE)
    if messages == []:
        # [CAP] prompt + an empty list is a role error; an empty list alone is "too short".
        raise invalid(MSG_ROLE if prompt else MSG_TOO_SHORT)
    usage = check_messages(messages or [], endpoint=endpoint)
    if prompt:
        usage = _add(usage, InputUsage(count_tokens(prompt)))
    usage = _add(usage, InputUsage(_tools_tokens(params.get("tools"))))

    max_tokens = check_sampling(params, spec)
    if usage.total > spec.max_input:
        raise invalid(f"Range of input length should be [1, {spec.max_input}]")

    fmt = params.get("result_format")
    if fmt is not None and fmt not in ("text", "message"):
        raise invalid(MSG_RESULT_FORMAT)
    result_format: ResultFormat = "message"
    if endpoint == "text-generation":
        result_format = fmt or spec.result_format
    incremental = _bool(params, "incremental_output")
    incremental = spec.incremental_output if incremental is None else incremental

    if spec.stream_only and not stream:
        raise invalid(MSG_STREAM_ONLY)
    thinking = resolve_thinking(spec, _bool(params, "enable_thinking"))
    if thinking:
        if not stream and not spec.nonstream_thinking:
            raise invalid(MSG_THINK_NONSTREAM)
        if result_format != "message":
            raise invalid(MSG_THINK_FORMAT)
        if stream and not incremental:
            raise invalid(MSG_THINK_INCREMENTAL)
    budget = check_thinking_budget(params, spec)
    has_tools, forced = check_tools(params, thinking=thinking)
    if has_tools and result_format != "message":
        raise invalid(MSG_TOOLS_FORMAT)
    check_response_format(params, messages or [{"content": prompt}], thinking=thinking)
    if thinking and messages and messages[-1].get("partial") is True:
        raise invalid(MSG_PARTIAL_THINKING)  # [DOC] "思考模式不支持前缀续写" (message [INF])
    return GenerationPlan(
        spec=spec,
        endpoint=endpoint,
        stream=stream,
        result_format=result_format,
        incremental=incremental if stream else False,
        thinking=thinking,
        thinking_budget=budget if thinking else None,
        max_tokens=max_tokens,
        has_tools=has_tools,
        input_usage=usage,
        forced_tool=forced,
        cache_points=cache_points(messages or [], spec.name),
        search=plan_search(params),
    )


# --------------------------------------------------------------------------- compat


def compat_model(
    body: Any, models: Mapping[str, ModelSpec]
) -> tuple[dict[str, Any], str, ModelSpec]:
    """Body, model name and spec of an OpenAI-compatible request, or the service's error."""
    if not isinstance(body, dict):
        raise body_invalid()
    model = body.get("model")
    if not model:
        raise ServiceError(400, "invalid_request_error", "you must provide a model parameter.")
    spec = models.get(model) if isinstance(model, str) else None
    if spec is None or spec.retired:
        raise ServiceError(
            404,
            "ModelNotFound",
            f"The model `{model}` does not exist or you do not have access to it.",
        )
    return body, model, spec


def plan_compat_chat(body: Any, *, models: Mapping[str, ModelSpec]) -> GenerationPlan:
    """Validate an OpenAI-compatible chat.completions request (§7)."""
    body, model, spec = compat_model(body, models)
    if not spec.is_chat:
        raise ServiceError(
            404, "model_not_supported", f"Unsupported model {model} for OpenAI compatibility mode."
        )
    messages = body.get("messages")
    if messages is None:
        raise invalid("you must provide a messages parameter")  # [INF] OpenAI's wording
    if not isinstance(messages, list):
        raise body_invalid()
    if not messages:
        raise invalid(MSG_TOO_SHORT)
    stream = _bool(body, "stream") or False
    usage = check_messages(messages, endpoint="compat-chat")
    usage = _add(usage, InputUsage(_tools_tokens(body.get("tools"))))
    max_tokens = check_sampling(body, spec)
    if usage.total > spec.max_input:
        raise invalid(f"Range of input length should be [1, {spec.max_input}]")
    if spec.stream_only and not stream:
        raise invalid(MSG_STREAM_ONLY)
    thinking = resolve_thinking(spec, _bool(body, "enable_thinking"))
    if thinking and not stream and not spec.nonstream_thinking:
        raise invalid(MSG_THINK_NONSTREAM)
    budget = check_thinking_budget(body, spec)
    has_tools, forced = check_tools(body, thinking=thinking)
    check_response_format(body, messages, thinking=thinking)
    if thinking and messages[-1].get("partial") is True:
        raise invalid(MSG_PARTIAL_THINKING)
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return GenerationPlan(
        spec=spec,
        endpoint="compat-chat",
        stream=stream,
        result_format="message",
        incremental=True,
        thinking=thinking,
        thinking_budget=budget if thinking else None,
        max_tokens=max_tokens,
        has_tools=has_tools,
        input_usage=usage,
        include_usage=include_usage,
        forced_tool=forced,
        cache_points=cache_points(messages, spec.name),
    )
