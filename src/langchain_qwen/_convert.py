"""Pure conversions between LangChain messages and DashScope wire dicts.

LangChain messages -> wire message dicts (``{"role", "content", "tool_calls", "tool_call_id"}``),
core results/deltas -> ``AIMessage`` / ``AIMessageChunk``, ``Usage`` -> ``UsageMetadata``.
No I/O here; everything is table-tested in ``tests/unit/langchain/test_convert.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

if TYPE_CHECKING:
    from qwen_dashscope import GenerationChunk, GenerationResult, Usage


__all__ = [
    "MODEL_PROVIDER",
    "V1Blocks",
    "chunk_from_delta",
    "content_to_wire",
    "message_from_result",
    "message_to_wire",
    "messages_to_wire",
    "usage_to_metadata",
]

MODEL_PROVIDER = "dashscope"
"""``response_metadata["model_provider"]``; langchain-core has no translator registered under
this name, so ``content_blocks`` uses its best-effort parser, which reads the reasoning from
``additional_kwargs["reasoning_content"]`` (see ``AIMessage.content_blocks``)."""

WireContent = str | list[dict[str, Any]]

# Blocks that carry no input for DashScope: model-side reasoning, and tool calls (sent from
# ``AIMessage.tool_calls`` instead).
_SKIPPED_BLOCKS = frozenset(
    {
        "reasoning",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
    }
)
_MEDIA = ("image", "video", "audio")
_MEDIA_BLOCKS = frozenset({*_MEDIA, "image_url", "video_url", "input_audio", "file"})
# Provider-side activity recorded in another provider's assistant messages (OpenAI Responses
# built-in tool items, Anthropic server tools, v1 ``non_standard``): DashScope takes no such
# input. They are left out, with a warning; the message's text and tool_calls are sent.
_PROVIDER_SIDE = frozenset(
    {
        "function_call",  # OpenAI Responses; the call itself is in AIMessage.tool_calls
        "server_tool_use",
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "computer_call",
        "image_generation_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "non_standard",
    }
)

logger = logging.getLogger("langchain_qwen")


# --------------------------------------------------------------------------------- input


def _data_uri(mime_type: str | None, data: str, kind: str) -> str:
    if data.startswith("data:"):
        return data
    mime = mime_type or {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}[kind]
    return f"data:{mime};base64,{data}"


def _media_source(block: Mapping[str, Any], kind: str) -> str:
    """The URL or data URI of a v1 / v0 / Anthropic media block."""
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic: {"type": "base64"|"url", ...}
        if source.get("type") == "base64":
            return _data_uri(source.get("media_type"), str(source["data"]), kind)
        if source.get("type") == "url":
            return str(source["url"])
    source_type = block.get("source_type")  # LangChain v0 blocks
    if source_type == "url" or (source_type is None and block.get("url")):
        return str(block["url"])
    if source_type == "base64":
        return _data_uri(block.get("mime_type"), str(block["data"]), kind)
    if block.get("base64"):  # LangChain v1 blocks
        return _data_uri(block.get("mime_type"), str(block["base64"]), kind)
    raise ValueError(
        f"unsupported {kind} block {_preview(block)}: DashScope takes a URL or base64 data "
        "(file ids are not supported)"
    )


def _preview(block: Any) -> str:
    text = repr(block)
    return text if len(text) <= 120 else text[:117] + "..."


def _block_to_items(block: Any) -> list[dict[str, Any]]:
    """One LangChain content block -> zero or more DashScope content items."""
    if isinstance(block, str):
        return [{"text": block}] if block else []
    if not isinstance(block, Mapping):
        raise ValueError(f"unsupported content block {_preview(block)}")
    kind = block.get("type")
    if kind in ("text", "text-plain") or (kind is None and "text" in block):
        text = block.get("text")
        return [{"text": text}] if isinstance(text, str) and text else []
    if kind == "image_url":  # OpenAI Chat Completions
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if not isinstance(url, str):
            raise ValueError(f"image_url block without a url: {_preview(block)}")
        return [{"image": url}]
    if kind in _MEDIA:
        return [{kind: _media_source(block, kind)}]
    if kind == "video_url":
        video = block.get("video_url")
        url = video.get("url") if isinstance(video, Mapping) else video
        return [{"video": str(url)}]
    if kind in _SKIPPED_BLOCKS:
        return []
    if kind == "file":
        raise ValueError(
            "file/PDF content blocks are not supported by DashScope chat models; extract the "
            "text first, or send pages as images to a vision model"
        )
    if kind is None and len(block) == 1 and next(iter(block)) in _MEDIA:
        return [dict(block)]  # already a DashScope item: {"image": ...}
    raise ValueError(f"unsupported content block for DashScope: {_preview(block)}")


def content_to_wire(content: str | Sequence[Any]) -> WireContent:
    """LangChain content -> a string (text only) or a list of DashScope items (with media)."""
    if isinstance(content, str):
        return content
    items: list[dict[str, Any]] = []
    for block in content:
        items.extend(_block_to_items(block))
    if any(set(item) != {"text"} for item in items):
        return items
    return "".join(item["text"] for item in items)


def _text_only(content: str | Sequence[Any], role: str) -> str:
    wire = content_to_wire(content)
    if isinstance(wire, str):
        return wire
    raise ValueError(f"{role} messages can only contain text for DashScope, got {wire!r}")


def _arguments_json(args: Any) -> str:
    if isinstance(args, str):
        return args
    return json.dumps(args, ensure_ascii=False)


def _wire_tool_call(call: ToolCall | InvalidToolCall) -> dict[str, Any]:
    args = call.get("args")
    return {
        "id": call.get("id") or "",
        "type": "function",
        "function": {
            "name": call.get("name") or "",
            "arguments": _arguments_json({} if args is None else args),
        },
    }


def _tool_use_calls(content: str | Sequence[Any]) -> list[dict[str, Any]]:
    """Anthropic-style ``tool_use`` blocks of an AIMessage that has no ``tool_calls``."""
    if isinstance(content, str):
        return []
    calls = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") in ("tool_use", "tool_call"):
            args = block.get("input", block.get("args", {}))
            calls.append(
                {
                    "id": block.get("id") or "",
                    "type": "function",
                    "function": {"name": block["name"], "arguments": _arguments_json(args)},
                }
            )
    return calls


def _tool_result_text(content: Any) -> str:
    """ToolMessage / tool_result content -> the string DashScope requires."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and any(
        isinstance(b, Mapping) and b.get("type") in _MEDIA_BLOCKS for b in content
    ):
        raise ValueError(
            "a tool result holds media, but DashScope tool results are text: put the image "
            "(or audio, video, file) in a HumanMessage after the ToolMessage"
        )
    if isinstance(content, Sequence) and all(
        isinstance(b, str) or (isinstance(b, Mapping) and b.get("type") == "text") for b in content
    ):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    # Deterministic serialization of structured results (same input -> same bytes).
    return json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)


def _assistant_content(content: str | list[Any]) -> str | list[Any]:
    """An assistant message's content without other providers' server-side blocks."""
    if isinstance(content, str):
        return content
    kept: list[Any] = []
    left_out: set[str] = set()
    for block in content:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "refusal":  # OpenAI: the refusal is what the model said
            kept.append({"type": "text", "text": block.get("refusal") or ""})
        elif isinstance(kind, str) and (kind in _PROVIDER_SIDE or kind.endswith("_tool_result")):
            left_out.add(kind)
        else:
            kept.append(block)
    if left_out:
        logger.warning(
            "an assistant message's %s blocks were left out: DashScope takes no such input "
            "(its text and tool_calls are sent)",
            ", ".join(sorted(left_out)),
        )
    return kept


def _human_to_wire(message: BaseMessage) -> list[dict[str, Any]]:
    """A user message; Anthropic-style ``tool_result`` blocks become tool messages first."""
    content = message.content
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_results = [
        {
            "role": "tool",
            "content": _tool_result_text(block.get("content", "")),
            "tool_call_id": block.get("tool_use_id", ""),
        }
        for block in content
        if isinstance(block, Mapping) and block.get("type") == "tool_result"
    ]
    rest = [b for b in content if not (isinstance(b, Mapping) and b.get("type") == "tool_result")]
    out = tool_results
    if rest or not tool_results:
        out.append({"role": "user", "content": content_to_wire(rest)})
    return out


def message_to_wire(message: BaseMessage) -> list[dict[str, Any]]:
    """One LangChain message -> DashScope wire messages (usually one)."""
    if isinstance(message, SystemMessage):
        return [{"role": "system", "content": content_to_wire(message.content)}]
    if isinstance(message, HumanMessage):
        return _human_to_wire(message)
    if isinstance(message, AIMessage):
        wire: dict[str, Any] = {
            "role": "assistant",
            "content": _text_only(_assistant_content(message.content), "assistant"),
        }
        calls = [_wire_tool_call(tc) for tc in message.tool_calls]
        calls += [_wire_tool_call(tc) for tc in message.invalid_tool_calls]
        if not calls:
            calls = _tool_use_calls(message.content)
        if calls:
            wire["tool_calls"] = calls
        # reasoning_content is not sent back: DashScope ignores it in history (protocol §3.2
        # documents no such input field), so it would only cost input tokens.
        return [wire]
    if isinstance(message, ToolMessage):
        return [
            {
                "role": "tool",
                "content": _tool_result_text(message.content),
                "tool_call_id": message.tool_call_id,
            }
        ]
    if isinstance(message, ChatMessage):
        role = {"human": "user", "ai": "assistant"}.get(message.role, message.role)
        return [{"role": role, "content": content_to_wire(message.content)}]
    raise ValueError(
        f"{type(message).__name__} is not supported by ChatQwen; use System/Human/AI/Tool messages"
    )


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> the ``input.messages`` list."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        wire.extend(message_to_wire(message))
    return wire


# -------------------------------------------------------------------------------- output


def usage_to_metadata(usage: Usage) -> UsageMetadata:
    """Core usage -> ``UsageMetadata`` with cache-read and reasoning details when known."""
    metadata = UsageMetadata(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )
    input_details = InputTokenDetails()
    if usage.cached_tokens is not None:
        input_details["cache_read"] = usage.cached_tokens
    audio = (usage.raw.get("input_tokens_details") or {}).get("audio_tokens")
    if isinstance(audio, int):
        input_details["audio"] = audio
    if input_details:
        metadata["input_token_details"] = input_details
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return metadata


def _parse_tool_calls(
    result: GenerationResult,
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in result.tool_calls:
        try:
            args = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError as exc:
            invalid.append(
                invalid_tool_call(
                    name=call.name, args=call.arguments, id=call.id, error=f"invalid JSON: {exc}"
                )
            )
            continue
        if isinstance(args, dict):
            calls.append(tool_call(name=call.name, args=args, id=call.id))
        else:
            invalid.append(
                invalid_tool_call(
                    name=call.name,
                    args=call.arguments,
                    id=call.id,
                    error="arguments are not a JSON object",
                )
            )
    return calls, invalid


def response_metadata(
    *, model: str, finish_reason: str | None, request_id: str | None
) -> dict[str, Any]:
    return {
        "model_name": model,
        "finish_reason": finish_reason,
        "request_id": request_id,
        "model_provider": MODEL_PROVIDER,
    }


def message_from_result(result: GenerationResult, *, model: str) -> AIMessage:
    """A complete core result (one choice) -> ``AIMessage``."""
    calls, invalid = _parse_tool_calls(result)
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    metadata = response_metadata(
        model=model, finish_reason=result.finish_reason, request_id=result.request_id
    )
    metadata.update(result.extras)  # search_info, logprobs, ... (nothing dropped)
    message_id = result.request_id
    if message_id and result.index:
        message_id = f"{message_id}-{result.index}"
    return AIMessage(
        content=result.text,
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_to_metadata(result.usage),
        response_metadata=metadata,
        id=message_id,
    )


class V1Blocks:
    """Standard (v1) content blocks for one stream, with ``index`` values that never collide.

    langchain-core numbers v1 blocks by type changes but keeps a tool-call chunk's own
    ``index`` (the wire position of the call), so a reasoning or text block and the first tool
    call would both be index 0 and be merged into one block. Here every block gets its own
    position in the stream: reasoning, text, then one per tool call.
    """

    def __init__(self) -> None:
        self._next = 0
        self._kind: str | None = None
        self._current = 0
        self._tools: dict[int, int] = {}

    def _index(self, kind: str) -> int:
        if kind != self._kind:
            self._kind, self._current = kind, self._next
            self._next += 1
        return self._current

    def blocks(self, chunk: GenerationChunk) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if chunk.reasoning:
            out.append(
                {
                    "type": "reasoning",
                    "reasoning": chunk.reasoning,
                    "index": self._index("reasoning"),
                }
            )
        if chunk.text:
            out.append({"type": "text", "text": chunk.text, "index": self._index("text")})
        for delta in chunk.tool_calls:
            if delta.index not in self._tools:
                self._tools[delta.index] = self._next
                self._next += 1
                self._kind = "tool_call"
            out.append(
                {
                    "type": "tool_call_chunk",
                    "id": delta.id,
                    "name": delta.name,
                    "args": delta.arguments,
                    "index": self._tools[delta.index],
                }
            )
        return out


def chunk_from_delta(
    chunk: GenerationChunk, *, model: str, stream_usage: bool, v1: V1Blocks | None = None
) -> AIMessageChunk:
    """A core delta -> ``AIMessageChunk``.

    Tool-call fragments become ``tool_call_chunks`` keyed by ``index`` (``id``/``name`` on the
    first fragment only), so chunk addition rebuilds parallel calls. The chunk with the
    ``finish_reason`` is the last one: it carries ``chunk_position="last"``, the response
    metadata and (with ``stream_usage``) the usage, once. With ``v1`` (``output_version="v1"``)
    the content is the list of standard blocks.
    """
    fields: dict[str, Any] = {"id": chunk.request_id}
    if chunk.reasoning:
        fields["additional_kwargs"] = {"reasoning_content": chunk.reasoning}
    if chunk.tool_calls:
        fields["tool_call_chunks"] = [
            tool_call_chunk(name=d.name, args=d.arguments, id=d.id, index=d.index)
            for d in chunk.tool_calls
        ]
    content: str | list[str | dict[str, Any]] = chunk.text
    metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
    if v1 is not None:
        content = list(v1.blocks(chunk))
        metadata["output_version"] = "v1"
    if chunk.finish_reason is not None:
        metadata.update(
            response_metadata(
                model=model, finish_reason=chunk.finish_reason, request_id=chunk.request_id
            )
        )
        fields["chunk_position"] = "last"
        if stream_usage and chunk.usage is not None:
            fields["usage_metadata"] = usage_to_metadata(chunk.usage)
    return AIMessageChunk(content=content, response_metadata=metadata, **fields)
