"""Pure conversions between LlamaIndex objects and qwen_dashscope's neutral types.

``ChatMessage`` -> ``qwen_dashscope.Message`` (content parts, cache points, tool calls,
reasoning, partial prefix); core results and delta chunks -> ``ChatResponse``; usage -> the
keys LlamaIndex reads; tools -> OpenAI-style specs. The DashScope rules (text joining,
``tool_choice``, argument parsing) are the core's; this module only maps. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.llms.llm import ToolSelection

from qwen_dashscope import (
    MediaPart,
    Message,
    TextPart,
    ToolArgumentsError,
    format_arguments,
    parse_arguments,
    parse_partial_arguments,
)
from qwen_dashscope import ToolCall as CoreToolCall

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

    from qwen_dashscope import GenerationChunk, GenerationResult, Usage

__all__ = [
    "INVALID_ARGUMENTS_KEY",
    "ChatStreamAssembler",
    "chat_response_from_result",
    "completion_from_chat",
    "keep_first_tool_call",
    "lenient_arguments",
    "map_tool_choice",
    "to_neutral_message",
    "to_neutral_messages",
    "tool_selections",
    "tool_specs",
    "usage_kwargs",
]

_ROLES: dict[MessageRole, str] = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}

INVALID_ARGUMENTS_KEY = "invalid_json_arguments"
"""The one keyword a tool call with unusable arguments carries (see ``tool_selections``)."""


# -- input: ChatMessage -> neutral Message ------------------------------------------------------


def _data_uri(b64: bytes, mimetype: str) -> str:
    return f"data:{mimetype};base64,{b64.decode('ascii')}"


def _image_part(block: ImageBlock) -> MediaPart:
    if block.url is not None and block.image is None:
        return MediaPart("image", str(block.url))  # http(s) or a data: URI, untouched
    data = block.resolve_image(as_base64=True).read()
    return MediaPart("image", _data_uri(data, block.image_mimetype or "image/png"))


def _audio_part(block: AudioBlock) -> MediaPart:
    if block.url is not None and block.audio is None:
        return MediaPart("audio", str(block.url))
    data = block.resolve_audio(as_base64=True).read()
    return MediaPart("audio", _data_uri(data, f"audio/{block.format or 'wav'}"))


def _video_part(block: VideoBlock) -> MediaPart:
    if block.url is not None and block.video is None:
        return MediaPart("video", str(block.url))
    data = block.resolve_video(as_base64=True).read()
    return MediaPart("video", _data_uri(data, block.video_mimetype or "video/mp4"))


def _call_from_kwargs(call: Any, position: int) -> CoreToolCall:
    """A tool call from ``additional_kwargs["tool_calls"]`` (a dict or an OpenAI-style object)."""
    if not isinstance(call, Mapping):
        dump = getattr(call, "model_dump", None)
        if dump is None:
            raise ValueError(f"unsupported tool call in additional_kwargs: {call!r}")
        call = dump()
    function = call.get("function") or {}
    arguments = function.get("arguments")
    return CoreToolCall(
        id=call.get("id") or "",
        name=function.get("name") or "",
        arguments=format_arguments(arguments if arguments is not None else ""),
        index=position,
    )


def _tool_calls_of(message: ChatMessage, blocks: Sequence[ToolCallBlock]) -> list[CoreToolCall]:
    known = [
        _call_from_kwargs(c, i)
        for i, c in enumerate(message.additional_kwargs.get("tool_calls") or ())
    ]
    if not blocks:
        return known
    by_id = {c.id: c for c in known if c.id}
    calls = []
    for position, block in enumerate(blocks):
        arguments = format_arguments(block.tool_kwargs)
        original = by_id.get(block.tool_call_id or "")
        # Keep the model's exact argument string when the block still says the same thing.
        if (
            original is not None
            and not isinstance(block.tool_kwargs, str)
            and lenient_arguments(original.arguments) == block.tool_kwargs
        ):
            arguments = original.arguments
        calls.append(
            CoreToolCall(
                id=block.tool_call_id or "",
                name=block.tool_name,
                arguments=arguments,
                index=position,
            )
        )
    return calls


def _cache_marker(point: CachePoint) -> dict[str, Any]:
    control = point.cache_control
    marker: dict[str, Any] = {"type": control.type}
    if control.ttl not in (None, "5m"):
        marker["ttl"] = control.ttl  # the core refuses what DashScope does not support
    return marker


def to_neutral_message(message: ChatMessage) -> Message:
    """One LlamaIndex message as a neutral message.

    Text, images, audio and video become parts; a ``CachePoint`` marks the part before it as
    an explicit cache point; ``ThinkingBlock``s are the turn's reasoning; ``ToolCallBlock``s
    (or OpenAI-style ``additional_kwargs["tool_calls"]``) its tool calls. A final assistant
    message with ``additional_kwargs={"partial": True}`` is a prefix for the model to continue.
    """
    role = _ROLES.get(message.role)
    if role is None:
        raise ValueError(f"unsupported message role {message.role!r}")
    parts: list[TextPart | MediaPart] = []
    tool_blocks: list[ToolCallBlock] = []
    reasoning: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(TextPart(block.text))
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif isinstance(block, AudioBlock):
            parts.append(_audio_part(block))
        elif isinstance(block, VideoBlock):
            parts.append(_video_part(block))
        elif isinstance(block, ToolCallBlock):
            tool_blocks.append(block)
        elif isinstance(block, ThinkingBlock):
            if block.content:
                reasoning.append(block.content)
        elif isinstance(block, CachePoint):
            if not parts:
                raise ValueError(
                    "a CachePoint must follow the content it caches (text, image...) in the "
                    "same message"
                )
            last = parts[-1]
            marker = _cache_marker(block)
            parts[-1] = (
                TextPart(last.text, marker)
                if isinstance(last, TextPart)
                else MediaPart(last.kind, last.source, last.options, marker)
            )
        else:
            raise ValueError(
                f"{type(block).__name__} is not supported by Qwen on DashScope; send text, "
                "images, audio or video"
            )
    partial = message.additional_kwargs.get("partial", False)
    if not isinstance(partial, bool):
        raise ValueError("ChatMessage.additional_kwargs['partial'] must be True or False")
    calls: list[CoreToolCall] = []
    tool_call_id = None
    if role == "assistant":
        calls = _tool_calls_of(message, tool_blocks)
    elif role == "tool":
        if any(isinstance(p, MediaPart) for p in parts):  # tool results are text on DashScope
            raise ValueError("a tool result message can only hold text")
        value = message.additional_kwargs.get("tool_call_id")
        tool_call_id = str(value) if value else None
    content: str | list[TextPart | MediaPart] = (
        parts[0].text
        if len(parts) == 1 and isinstance(parts[0], TextPart) and parts[0].cache_control is None
        else parts
    )
    return Message(
        role,  # type: ignore[arg-type]
        content if parts else "",
        tool_calls=calls,
        tool_call_id=tool_call_id,
        reasoning="".join(reasoning) or None,
        partial=partial,
    )


def to_neutral_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """A conversation as neutral messages."""
    return [to_neutral_message(m) for m in messages]


# -- output: transport results -> ChatResponse ---------------------------------------------------


def lenient_arguments(arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    """Tool arguments as a dict while they may still be arriving (partial JSON completed)."""
    if not isinstance(arguments, str):
        return dict(arguments)
    return parse_partial_arguments(arguments)


def _final_kwargs(name: str, arguments: str) -> dict[str, Any] | str:
    """A finished call's arguments: the core's strict parse, or the string as received."""
    try:
        return parse_arguments(arguments, name=name)
    except ToolArgumentsError:
        return arguments


def usage_kwargs(usage: Usage | None) -> dict[str, Any]:
    """Token counts under the keys LlamaIndex integrations use (OpenAI style)."""
    if usage is None:
        return {}
    counts: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        counts["cached_tokens"] = usage.cached_tokens
    if usage.cache_creation_tokens is not None:
        counts["cache_creation_tokens"] = usage.cache_creation_tokens
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


def _raw_usage(usage: Usage | None, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    # DashScope's own keys (input_tokens, output_tokens, details) plus the OpenAI-style keys
    # that TokenCountingHandler reads first (``counts``: ``usage_kwargs(usage)``, if known).
    if usage is None:
        return {}
    return {**usage.raw, **(usage_kwargs(usage) if counts is None else counts)}


def _wire_calls(calls: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}
        for id_, name, arguments in calls
    ]


def _message(
    text: str,
    reasoning: str,
    calls: Sequence[tuple[str, str, str]],
    *,
    final: bool,
    reasoning_tokens: int | None = None,
) -> ChatMessage:
    # Blocks are given as dicts: pydantic builds them in one validation pass, which is cheaper
    # per stream chunk than constructing each block (or than model_construct).
    blocks: list[dict[str, Any]] = []
    if reasoning:
        blocks.append(
            {"block_type": "thinking", "content": reasoning, "num_tokens": reasoning_tokens}
        )
    if text or not calls:
        blocks.append({"block_type": "text", "text": text})
    for id_, name, arguments in calls:
        blocks.append(
            {
                "block_type": "tool_call",
                "tool_call_id": id_ or None,
                "tool_name": name,
                "tool_kwargs": _final_kwargs(name, arguments) if final else arguments,
            }
        )
    additional = {"tool_calls": _wire_calls(calls)} if calls else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=additional)


def _result_message(result: GenerationResult) -> ChatMessage:
    calls = [(c.id, c.name, c.arguments) for c in result.tool_calls]
    return _message(
        result.text,
        result.reasoning,
        calls,
        final=True,
        reasoning_tokens=result.usage.reasoning_tokens,
    )


def chat_response_from_result(result: GenerationResult) -> ChatResponse:
    """A complete answer as a ``ChatResponse``; ``raw`` is a plain dict holding ``usage``.

    ``search_info`` / ``tool_info`` / ``logprobs`` are in ``additional_kwargs`` (and ``raw``);
    with ``n`` > 1 every answer is in ``additional_kwargs["choices"]`` (the first is also
    ``message``).
    """
    message = _result_message(result)
    raw: dict[str, Any] = dict(result.raw) if result.raw else {"request_id": result.request_id}
    raw["usage"] = _raw_usage(result.usage)
    if not result.raw:  # served by streaming internally: no wire body to show
        raw["finish_reason"] = result.finish_reason
        raw.update(result.extras)
    additional: dict[str, Any] = {**usage_kwargs(result.usage), **result.extras}
    if len(result.choices) > 1:
        additional["choices"] = [_result_message(choice) for choice in result.choices]
    return ChatResponse(message=message, raw=raw, additional_kwargs=additional)


class ChatStreamAssembler:
    """Delta chunks in, cumulative ``ChatResponse`` items out (tool calls assembled by index).

    Mid-stream items hold the arguments received so far (as strings); the last item (the one
    with a ``finish_reason``) holds the core's strict parse, like a non-streamed answer.
    """

    def __init__(self) -> None:
        self.text = ""
        self.reasoning = ""
        self.extras: dict[str, Any] = {}
        self._calls: dict[int, list[str]] = {}

    def feed(self, chunk: GenerationChunk) -> ChatResponse:
        if chunk.text:
            self.text += chunk.text
        if chunk.reasoning:
            self.reasoning += chunk.reasoning
        for delta in chunk.tool_calls:
            call = self._calls.setdefault(delta.index, ["", "", ""])
            if delta.id:
                call[0] = delta.id
            if delta.name:
                call[1] = delta.name
            call[2] += delta.arguments
        if chunk.extras:
            for key, value in chunk.extras.items():
                self._merge(key, value)
        final = chunk.finish_reason is not None
        calls = [(c[0], c[1], c[2]) for _, c in sorted(self._calls.items())] if self._calls else []
        usage = chunk.usage
        message = _message(
            self.text,
            self.reasoning,
            calls,
            final=final,
            reasoning_tokens=usage.reasoning_tokens if usage is not None else None,
        )
        counts = usage_kwargs(usage)
        additional = dict(counts)
        if chunk.reasoning:
            additional["thinking_delta"] = chunk.reasoning
        if self.extras:
            additional.update(self.extras)
        raw = {
            "request_id": chunk.request_id,
            "finish_reason": chunk.finish_reason,
            "usage": _raw_usage(usage, counts),
            **(chunk.extras or {}),
        }
        return ChatResponse(
            message=message, delta=chunk.text, raw=raw, additional_kwargs=additional
        )

    def _merge(self, key: str, new: Any) -> None:
        """Add what a chunk brought (new list items, new sub-keys) to what came before."""
        old = self.extras.get(key)
        if isinstance(old, list) and isinstance(new, list):
            self.extras[key] = old + new
        elif isinstance(old, dict) and isinstance(new, dict):
            merged = dict(old)
            for sub, value in new.items():
                before = merged.get(sub)
                merged[sub] = (
                    before + value
                    if isinstance(before, list) and isinstance(value, list)
                    else value
                )
            self.extras[key] = merged
        else:
            self.extras[key] = new


def completion_from_chat(response: ChatResponse) -> CompletionResponse:
    """The completion view of a chat response (text, delta, usage, raw)."""
    additional = {**response.message.additional_kwargs, **response.additional_kwargs}
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        additional_kwargs=additional,
    )


# -- tools ------------------------------------------------------------------------------------


def tool_specs(tools: Sequence[BaseTool]) -> list[dict[str, Any]]:
    """DashScope ``tools``: the OpenAI function shape, with nested ``$defs`` and ``required``."""
    return [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]


def map_tool_choice(
    specs: Sequence[Mapping[str, Any]],
    tools: Sequence[BaseTool],
    *,
    tool_required: bool,
    tool_choice: str | Mapping[str, Any] | None,
) -> Any:
    """LlamaIndex's ``tool_required`` / ``tool_choice`` as a ``tool_choice`` for the core.

    ``tool_required=True`` asks for ``"required"``; a tool's name as LlamaIndex knows it is
    mapped to the name in its spec. The core then checks and normalizes it (``"required"``
    with one tool forces that tool by name).
    """
    if tool_choice is None:
        return "required" if tool_required else None
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required", "any"):
        names = [spec["function"]["name"] for spec in specs]
        original = [tool.metadata.name for tool in tools]
        if tool_choice in original and tool_choice not in names:  # the name before sanitising
            return names[original.index(tool_choice)]
    return tool_choice


def tool_selections(message: ChatMessage, *, final: bool = False) -> list[ToolSelection]:
    """Tool calls of a message (blocks first, else ``additional_kwargs``); never raises.

    While a stream is arriving, arguments are completed leniently. In a finished answer a
    call whose arguments are not a JSON object is not turned into an empty call: it carries
    ``{INVALID_ARGUMENTS_KEY: "<why>: <the raw string>"}``, which no tool accepts, so the
    agent runs it as a failed tool call and hands that error back to the model to correct.
    """
    out: list[ToolSelection] = []
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        pairs = [(b.tool_call_id or "", b.tool_name, b.tool_kwargs) for b in blocks]
    else:
        pairs = []
        for position, call in enumerate(message.additional_kwargs.get("tool_calls") or ()):
            try:
                core = _call_from_kwargs(call, position)
            except ValueError:
                continue
            pairs.append((core.id, core.name, core.arguments))
    for tool_id, name, kwargs in pairs:
        if isinstance(kwargs, str):
            if final:
                try:
                    kwargs = parse_arguments(kwargs, name=name)
                except ToolArgumentsError as exc:
                    kwargs = {INVALID_ARGUMENTS_KEY: f"{exc.reason}: {exc.raw}"}
            else:
                kwargs = parse_partial_arguments(kwargs)
        out.append(ToolSelection(tool_id=tool_id, tool_name=name, tool_kwargs=dict(kwargs)))
    return out


def keep_first_tool_call(response: ChatResponse) -> None:
    """Drop all but the first tool call (when parallel calls were not allowed)."""
    message = response.message
    seen = False
    blocks = []
    for block in message.blocks:
        if isinstance(block, ToolCallBlock):
            if seen:
                continue
            seen = True
        blocks.append(block)
    message.blocks = blocks
    calls = message.additional_kwargs.get("tool_calls")
    if isinstance(calls, list) and len(calls) > 1:
        message.additional_kwargs["tool_calls"] = calls[:1]
