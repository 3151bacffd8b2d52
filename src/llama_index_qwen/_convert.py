"""Pure conversions between LlamaIndex objects and DashScope wire dicts.

``ChatMessage`` -> wire message dicts (the transport routes text/multimodal), transport results
and delta chunks -> ``ChatResponse``, usage -> the keys LlamaIndex reads, tools -> DashScope
``tools``/``tool_choice``. No I/O here.
"""

from __future__ import annotations

import json
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
from llama_index.core.llms.utils import parse_partial_json

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

    from qwen_dashscope import GenerationChunk, GenerationResult, Usage

__all__ = [
    "ChatStreamAssembler",
    "chat_response_from_result",
    "completion_from_chat",
    "is_forced",
    "keep_first_tool_call",
    "lenient_arguments",
    "resolve_tool_choice",
    "to_wire_message",
    "to_wire_messages",
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


# -- input: ChatMessage -> wire dict -------------------------------------------------------------


def _data_uri(b64: bytes, mimetype: str) -> str:
    return f"data:{mimetype};base64,{b64.decode('ascii')}"


def _image_item(block: ImageBlock) -> dict[str, Any]:
    if block.url is not None and block.image is None:
        return {"image": str(block.url)}  # http(s) or a data: URI, passed through untouched
    data = block.resolve_image(as_base64=True).read()
    return {"image": _data_uri(data, block.image_mimetype or "image/png")}


def _audio_item(block: AudioBlock) -> dict[str, Any]:
    if block.url is not None and block.audio is None:
        return {"audio": str(block.url)}
    data = block.resolve_audio(as_base64=True).read()
    return {"audio": _data_uri(data, f"audio/{block.format or 'wav'}")}


def _video_item(block: VideoBlock) -> dict[str, Any]:
    if block.url is not None and block.video is None:
        return {"video": str(block.url)}
    data = block.resolve_video(as_base64=True).read()
    return {"video": _data_uri(data, block.video_mimetype or "video/mp4")}


def _arguments_json(kwargs: Mapping[str, Any] | str) -> str:
    if isinstance(kwargs, str):
        return kwargs
    return json.dumps(dict(kwargs), ensure_ascii=False)


def _wire_tool_call(call: Any) -> dict[str, Any]:
    """A tool call from ``additional_kwargs["tool_calls"]`` (a dict or an OpenAI-style object)."""
    if not isinstance(call, Mapping):
        dump = getattr(call, "model_dump", None)
        if dump is None:
            raise ValueError(f"unsupported tool call in additional_kwargs: {call!r}")
        call = dump()
    function = call.get("function") or {}
    arguments = function.get("arguments")
    return {
        "id": call.get("id") or "",
        "type": "function",
        "function": {
            "name": function.get("name") or "",
            "arguments": _arguments_json(arguments if arguments is not None else ""),
        },
    }


def _tool_calls_of(message: ChatMessage, blocks: Sequence[ToolCallBlock]) -> list[dict[str, Any]]:
    known = [_wire_tool_call(c) for c in message.additional_kwargs.get("tool_calls") or ()]
    if not blocks:
        return known
    by_id = {c["id"]: c for c in known if c["id"]}
    calls = []
    for block in blocks:
        arguments = _arguments_json(block.tool_kwargs)
        original = by_id.get(block.tool_call_id or "")
        # Keep the model's exact argument string when the block still says the same thing.
        if (
            original is not None
            and not isinstance(block.tool_kwargs, str)
            and lenient_arguments(original["function"]["arguments"]) == block.tool_kwargs
        ):
            arguments = original["function"]["arguments"]
        calls.append(
            {
                "id": block.tool_call_id or "",
                "type": "function",
                "function": {"name": block.tool_name, "arguments": arguments},
            }
        )
    return calls


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """One LlamaIndex message as a DashScope message dict.

    Text-only content becomes a string; images, audio and video become single-key items
    (``{"image": url-or-data-URI}``) next to ``{"text": ...}`` items. Thinking blocks are not
    sent back (DashScope ignores reasoning in the history).
    """
    role = _ROLES.get(message.role)
    if role is None:
        raise ValueError(f"unsupported message role {message.role!r}")
    items: list[dict[str, Any]] = []
    tool_blocks: list[ToolCallBlock] = []
    media = False
    for block in message.blocks:
        if isinstance(block, TextBlock):
            items.append({"text": block.text})
        elif isinstance(block, ImageBlock):
            items.append(_image_item(block))
            media = True
        elif isinstance(block, AudioBlock):
            items.append(_audio_item(block))
            media = True
        elif isinstance(block, VideoBlock):
            items.append(_video_item(block))
            media = True
        elif isinstance(block, ToolCallBlock):
            tool_blocks.append(block)
        elif isinstance(block, (ThinkingBlock, CachePoint)):
            continue
        else:
            raise ValueError(
                f"{type(block).__name__} is not supported by Qwen on DashScope; send text, "
                "images, audio or video"
            )
    content: str | list[dict[str, Any]]
    if media:
        content = items
    elif len(items) == 1:
        content = items[0]["text"]
    elif items:
        content = "\n".join(item["text"] for item in items)
    else:
        content = ""
    wire: dict[str, Any] = {"role": role, "content": content}
    if role == "assistant":
        calls = _tool_calls_of(message, tool_blocks)
        if calls:
            wire["tool_calls"] = calls
    elif role == "tool":
        if media:  # tool results are text on DashScope
            raise ValueError("a tool result message can only hold text")
        tool_call_id = message.additional_kwargs.get("tool_call_id")
        if tool_call_id:
            wire["tool_call_id"] = str(tool_call_id)
    return wire


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """A conversation as DashScope message dicts."""
    return [to_wire_message(m) for m in messages]


# -- output: transport results -> ChatResponse ---------------------------------------------------


def lenient_arguments(arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    """Tool arguments as a dict; partial JSON (mid-stream) is completed, garbage gives ``{}``."""
    if not isinstance(arguments, str):
        return dict(arguments)
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        try:
            value = parse_partial_json(arguments)
        except (ValueError, TypeError):
            return {}
    return value if isinstance(value, dict) else {}


def _final_kwargs(arguments: str) -> dict[str, Any] | str:
    """Complete arguments: a dict when they are a JSON object, else the string as received."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


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
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


def _raw_usage(usage: Usage | None) -> dict[str, Any]:
    # DashScope's own keys (input_tokens, output_tokens, details) plus the OpenAI-style keys
    # that TokenCountingHandler reads first.
    if usage is None:
        return {}
    return {**usage.raw, **usage_kwargs(usage)}


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
                "tool_kwargs": _final_kwargs(arguments) if final else arguments,
            }
        )
    additional = {"tool_calls": _wire_calls(calls)} if calls else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=additional)


def chat_response_from_result(result: GenerationResult) -> ChatResponse:
    """A complete answer as a ``ChatResponse``; ``raw`` is a plain dict holding ``usage``."""
    calls = [(c.id, c.name, c.arguments) for c in result.tool_calls]
    message = _message(
        result.text,
        result.reasoning,
        calls,
        final=True,
        reasoning_tokens=result.usage.reasoning_tokens,
    )
    raw: dict[str, Any] = dict(result.raw) if result.raw else {"request_id": result.request_id}
    raw["usage"] = _raw_usage(result.usage)
    if not result.raw:  # served by streaming internally: no wire body to show
        raw["finish_reason"] = result.finish_reason
    return ChatResponse(message=message, raw=raw, additional_kwargs=usage_kwargs(result.usage))


class ChatStreamAssembler:
    """Delta chunks in, cumulative ``ChatResponse`` items out (tool calls assembled by index)."""

    def __init__(self) -> None:
        self.text = ""
        self.reasoning = ""
        self._calls: dict[int, list[str]] = {}

    def feed(self, chunk: GenerationChunk) -> ChatResponse:
        self.text += chunk.text
        self.reasoning += chunk.reasoning
        for delta in chunk.tool_calls:
            call = self._calls.setdefault(delta.index, ["", "", ""])
            if delta.id:
                call[0] = delta.id
            if delta.name:
                call[1] = delta.name
            call[2] += delta.arguments
        final = chunk.finish_reason is not None
        calls = [(c[0], c[1], c[2]) for _, c in sorted(self._calls.items())]
        usage = chunk.usage
        message = _message(
            self.text,
            self.reasoning,
            calls,
            final=final,
            reasoning_tokens=usage.reasoning_tokens if usage is not None else None,
        )
        additional = usage_kwargs(usage)
        if chunk.reasoning:
            additional["thinking_delta"] = chunk.reasoning
        raw = {
            "request_id": chunk.request_id,
            "finish_reason": chunk.finish_reason,
            "usage": _raw_usage(usage),
        }
        return ChatResponse(
            message=message, delta=chunk.text, raw=raw, additional_kwargs=additional
        )


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


def resolve_tool_choice(
    specs: Sequence[Mapping[str, Any]],
    tools: Sequence[BaseTool],
    *,
    tool_required: bool,
    tool_choice: str | Mapping[str, Any] | None,
) -> str | dict[str, Any] | None:
    """DashScope ``tool_choice`` for a call (None: leave it to the service, i.e. "auto").

    A tool name forces that tool; ``"required"`` (or ``tool_required``) with a single tool
    forces it by name, which every DashScope model version accepts; with several tools it
    stays ``"required"``.
    """
    names = [spec["function"]["name"] for spec in specs]
    if isinstance(tool_choice, Mapping):
        return dict(tool_choice)
    if tool_choice is None:
        choice: str | None = "required" if tool_required else None
    elif tool_choice in ("auto", "none"):
        return tool_choice
    elif tool_choice in ("required", "any"):
        choice = "required"
    else:
        name = str(tool_choice)
        original = [tool.metadata.name for tool in tools]
        if name in original:  # the name before sanitising
            name = names[original.index(name)]
        if name not in names:
            raise ValueError(
                f"tool_choice={name!r} is not one of the tools given: {', '.join(names)}"
            )
        return _forced(name)
    if choice == "required" and len(names) == 1:
        return _forced(names[0])
    return choice


def _forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def is_forced(tool_choice: Any) -> bool:
    """Whether a ``tool_choice`` value makes the model call a tool."""
    return isinstance(tool_choice, Mapping) or tool_choice == "required"


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """Tool calls of a message (blocks first, else ``additional_kwargs``); never raises."""
    selections = [
        ToolSelection(
            tool_id=block.tool_call_id or "",
            tool_name=block.tool_name,
            tool_kwargs=lenient_arguments(block.tool_kwargs),
        )
        for block in message.blocks
        if isinstance(block, ToolCallBlock)
    ]
    if selections:
        return selections
    for call in message.additional_kwargs.get("tool_calls") or ():
        try:
            wire = _wire_tool_call(call)
        except ValueError:
            continue
        selections.append(
            ToolSelection(
                tool_id=wire["id"],
                tool_name=wire["function"]["name"],
                tool_kwargs=lenient_arguments(wire["function"]["arguments"]),
            )
        )
    return selections


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
