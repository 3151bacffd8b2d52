"""Pure conversions between LangChain objects and qwen_dashscope's neutral types.

LangChain messages -> ``qwen_dashscope.Message`` (content parts, tool calls, reasoning,
partial prefix), core results and deltas -> ``AIMessage`` / ``AIMessageChunk``, ``Usage`` ->
``UsageMetadata``, web-search results -> v1 ``citation`` annotations. Every DashScope rule
(how text parts are joined, how tool arguments are parsed, what is refused) is the core's;
this module only maps. Table-tested in ``tests/unit/langchain/test_convert.py``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

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

from qwen_dashscope import (
    MediaPart,
    Message,
    TextPart,
    ToolArgumentsError,
    format_arguments,
    parse_arguments,
)
from qwen_dashscope import ToolCall as CoreToolCall

if TYPE_CHECKING:
    from qwen_dashscope import GenerationChunk, GenerationResult, Usage


__all__ = [
    "MODEL_PROVIDER",
    "V1Blocks",
    "chunk_from_delta",
    "citations",
    "message_from_result",
    "message_to_neutral",
    "messages_to_neutral",
    "usage_to_metadata",
]

MODEL_PROVIDER = "dashscope"
"""``response_metadata["model_provider"]``; its block translator (``_blocks``) turns our
messages into standard content blocks."""

# Blocks that carry no input for DashScope because the message carries them elsewhere:
# reasoning (``Message.reasoning``) and tool calls (``AIMessage.tool_calls``).
_REPRESENTED_ELSEWHERE = frozenset(
    {
        "reasoning",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
    }
)
_MEDIA = ("image", "video", "audio")
_MEDIA_BLOCKS = frozenset({*_MEDIA, "image_url", "video_url", "input_audio", "file"})
# Provider-side activity recorded in assistant messages (v1 server tool blocks, OpenAI
# Responses built-in tool items, Anthropic server tools, v1 ``non_standard``): DashScope takes
# no such input. They are left out with a warning; the message's text and tool_calls are sent.
_PROVIDER_SIDE = frozenset(
    {
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
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


def _cache_control(block: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """An explicit cache marker on a block (top level, as Anthropic writes it, or in v1
    ``extras``); the core checks its value."""
    marker = block.get("cache_control")
    if marker is None and isinstance(block.get("extras"), Mapping):
        marker = block["extras"].get("cache_control")
    return marker if marker is None or isinstance(marker, Mapping) else {"type": marker}


def _block_to_parts(block: Any) -> list[TextPart | MediaPart]:
    """One LangChain content block -> zero or more neutral parts."""
    if isinstance(block, str):
        return [TextPart(block)] if block else []
    if not isinstance(block, Mapping):
        raise ValueError(f"unsupported content block {_preview(block)}")
    kind = block.get("type")
    cache = _cache_control(block)
    if kind in ("text", "text-plain") or (kind is None and "text" in block):
        text = block.get("text")
        return [TextPart(text, cache)] if isinstance(text, str) and (text or cache) else []
    if kind == "image_url":  # OpenAI Chat Completions
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if not isinstance(url, str):
            raise ValueError(f"image_url block without a url: {_preview(block)}")
        return [MediaPart("image", url, cache_control=cache)]
    if kind in _MEDIA:
        return [MediaPart(kind, _media_source(block, kind), cache_control=cache)]
    if kind == "video_url":
        video = block.get("video_url")
        url = video.get("url") if isinstance(video, Mapping) else video
        return [MediaPart("video", str(url), cache_control=cache)]
    if kind in _REPRESENTED_ELSEWHERE:
        return []
    if kind == "file":
        raise ValueError(
            "file/PDF content blocks are not supported by DashScope chat models; extract the "
            "text first, or send pages as images to a vision model"
        )
    if kind is None and len(block) == 1 and next(iter(block)) in _MEDIA:
        media = next(iter(block))
        return [MediaPart(media, block[media])]  # already a DashScope item: {"image": ...}
    raise ValueError(f"unsupported content block for DashScope: {_preview(block)}")


def content_to_parts(content: str | Sequence[Any]) -> str | list[TextPart | MediaPart]:
    """LangChain content -> a string, or neutral parts (the core joins text parts)."""
    if isinstance(content, str):
        return content
    parts: list[TextPart | MediaPart] = []
    for block in content:
        parts.extend(_block_to_parts(block))
    return parts


def _text_only(content: str | Sequence[Any], role: str) -> str | list[TextPart | MediaPart]:
    parts = content_to_parts(content)
    if isinstance(parts, list) and any(isinstance(p, MediaPart) for p in parts):
        raise ValueError(f"{role} messages can only contain text for DashScope, got {content!r}")
    return parts


def _core_call(call: ToolCall | InvalidToolCall, position: int) -> CoreToolCall:
    args = call.get("args")
    return CoreToolCall(
        id=call.get("id") or "",
        name=call.get("name") or "",
        arguments=format_arguments(args if isinstance(args, (str, Mapping)) else None),
        index=position,
    )


def _tool_use_calls(content: str | Sequence[Any]) -> list[CoreToolCall]:
    """Anthropic-style ``tool_use`` blocks of an AIMessage that has no ``tool_calls``."""
    if isinstance(content, str):
        return []
    calls: list[CoreToolCall] = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") in ("tool_use", "tool_call"):
            args = block.get("input", block.get("args", {}))
            calls.append(
                CoreToolCall(
                    id=block.get("id") or "",
                    name=block["name"],
                    arguments=format_arguments(args),
                    index=len(calls),
                )
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


def _assistant_content(content: str | list[Any], *, own: bool = False) -> str | list[Any]:
    """An assistant message's content without server-side blocks (with a warning, unless
    the message is our own: its code-interpreter runs are DashScope's own record)."""
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
    if left_out and not own:
        logger.warning(
            "an assistant message's %s blocks were left out: DashScope takes no such input "
            "(its text and tool_calls are sent)",
            ", ".join(sorted(left_out)),
        )
    return kept


def _reasoning_of(message: AIMessage) -> str | None:
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        return reasoning
    if isinstance(message.content, list):
        texts = [
            str(b.get("reasoning") or b.get("thinking") or "")
            for b in message.content
            if isinstance(b, Mapping) and b.get("type") in ("reasoning", "thinking")
        ]
        if any(texts):
            return "".join(texts)
    return None


def _human(message: BaseMessage) -> list[Message]:
    """A user message; Anthropic-style ``tool_result`` blocks become tool messages first."""
    content = message.content
    if isinstance(content, str):
        return [Message("user", content)]
    out = [
        Message(
            "tool",
            _tool_result_text(block.get("content", "")),
            tool_call_id=str(block.get("tool_use_id", "")),
        )
        for block in content
        if isinstance(block, Mapping) and block.get("type") == "tool_result"
    ]
    rest = [b for b in content if not (isinstance(b, Mapping) and b.get("type") == "tool_result")]
    if rest or not out:
        out.append(Message("user", content_to_parts(rest)))
    return out


def _assistant(message: AIMessage) -> Message:
    calls = [_core_call(tc, i) for i, tc in enumerate(message.tool_calls)]
    calls += [_core_call(tc, len(calls) + i) for i, tc in enumerate(message.invalid_tool_calls)]
    if not calls:
        calls = _tool_use_calls(message.content)
    partial = message.additional_kwargs.get("partial", False)
    if not isinstance(partial, bool):
        raise ValueError("AIMessage.additional_kwargs['partial'] must be True or False")
    return Message(
        "assistant",
        _text_only(
            _assistant_content(
                message.content,
                own=message.response_metadata.get("model_provider") == MODEL_PROVIDER,
            ),
            "assistant",
        ),
        tool_calls=calls,
        reasoning=_reasoning_of(message),
        partial=partial,
    )


def message_to_neutral(message: BaseMessage) -> list[Message]:
    """One LangChain message -> neutral messages (usually one).

    A final ``AIMessage(..., additional_kwargs={"partial": True})`` is a prefix for the model
    to continue (DashScope's partial mode).
    """
    if isinstance(message, SystemMessage):
        return [Message("system", content_to_parts(message.content))]
    if isinstance(message, HumanMessage):
        return _human(message)
    if isinstance(message, AIMessage):
        return [_assistant(message)]
    if isinstance(message, ToolMessage):
        return [
            Message("tool", _tool_result_text(message.content), tool_call_id=message.tool_call_id)
        ]
    if isinstance(message, ChatMessage):
        role = {"human": "user", "ai": "assistant", "developer": "system"}.get(
            message.role, message.role
        )
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"ChatMessage role {message.role!r} is not supported by DashScope")
        return [Message(role, content_to_parts(message.content))]  # type: ignore[arg-type]
    raise ValueError(
        f"{type(message).__name__} is not supported by ChatQwen; use System/Human/AI/Tool messages"
    )


def messages_to_neutral(messages: Sequence[BaseMessage]) -> list[Message]:
    """LangChain messages -> the neutral conversation."""
    out: list[Message] = []
    for message in messages:
        out.extend(message_to_neutral(message))
    return out


# -------------------------------------------------------------------------------- output


def usage_to_metadata(usage: Usage) -> UsageMetadata:
    """Core usage -> ``UsageMetadata`` with cache and reasoning details when known."""
    input_details = InputTokenDetails()
    if usage.cached_tokens is not None:
        input_details["cache_read"] = usage.cached_tokens
    if usage.cache_creation_tokens is not None:
        input_details["cache_creation"] = usage.cache_creation_tokens
    audio = (usage.raw.get("input_tokens_details") or {}).get("audio_tokens")
    if isinstance(audio, int):
        input_details["audio"] = audio
    # The detail keys are optional in practice (langchain-core omits them itself).
    metadata = cast(
        "UsageMetadata",
        {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        },
    )
    if input_details:
        metadata["input_token_details"] = input_details
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return metadata


def _parse_tool_calls(
    result: GenerationResult,
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """The core's strict parse of a finished answer's calls."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in result.tool_calls:
        try:
            args = parse_arguments(call.arguments, name=call.name)
        except ToolArgumentsError as exc:
            invalid.append(
                invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=exc.reason)
            )
            continue
        calls.append(tool_call(name=call.name, args=args, id=call.id))
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


_CITATION_MARKER = re.compile(r"\[(?:ref_)?(\d+)\]")


def citations(text: str, extras: Mapping[str, Any]) -> list[dict[str, Any]]:
    """v1 ``citation`` annotations for a web-search answer.

    Each ``[ref_N]`` / ``[N]`` marker in ``text`` that names a search result becomes a
    citation of that result spanning the marker; without markers, every result is a citation
    without a span (the sources the answer drew on).
    """
    search = extras.get("search_info")
    results = search.get("search_results") if isinstance(search, Mapping) else None
    if not isinstance(results, list) or not results:
        return []
    by_index = {r.get("index"): r for r in results if isinstance(r, Mapping)}

    def cite(result: Mapping[str, Any], span: tuple[int, int] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "citation"}
        if result.get("url"):
            out["url"] = result["url"]
        if result.get("title"):
            out["title"] = result["title"]
        if span is not None:
            out["start_index"], out["end_index"] = span
        extra = {k: result[k] for k in ("index", "site_name", "icon") if result.get(k)}
        if extra:
            out["extras"] = extra
        return out

    found = [
        cite(by_index[int(m.group(1))], m.span())
        for m in _CITATION_MARKER.finditer(text)
        if int(m.group(1)) in by_index
    ]
    return found or [cite(r, None) for r in by_index.values()]


def message_from_result(result: GenerationResult, *, model: str) -> AIMessage:
    """A complete core result (one choice) -> ``AIMessage``."""
    calls, invalid = _parse_tool_calls(result)
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    metadata = response_metadata(
        model=model, finish_reason=result.finish_reason, request_id=result.request_id
    )
    metadata.update(result.extras)  # search_info, tool_info, logprobs... (nothing dropped)
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
    position in the stream: reasoning, text, then one per tool call. The text block's
    citations (web search) are added once, with the last chunk.
    """

    def __init__(self) -> None:
        self._next = 0
        self._kind: str | None = None
        self._current = 0
        self._text_index: int | None = None
        self._tools: dict[int, int] = {}
        self._results: list[Any] = []
        self.text = ""

    def _index(self, kind: str) -> int:
        if kind != self._kind:
            self._kind, self._current = kind, self._next
            self._next += 1
        return self._current

    def blocks(self, chunk: GenerationChunk) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        search = (chunk.extras or {}).get("search_info")
        if isinstance(search, Mapping) and isinstance(search.get("search_results"), list):
            self._results.extend(search["search_results"])
        if chunk.reasoning:
            out.append(
                {
                    "type": "reasoning",
                    "reasoning": chunk.reasoning,
                    "index": self._index("reasoning"),
                }
            )
        if chunk.text:
            self._text_index = self._index("text")
            self.text += chunk.text
            out.append({"type": "text", "text": chunk.text, "index": self._text_index})
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
        if chunk.finish_reason is not None and self._results and self._text_index is not None:
            annotations = citations(self.text, {"search_info": {"search_results": self._results}})
            if annotations:
                out.append(
                    {
                        "type": "text",
                        "text": "",
                        "annotations": annotations,
                        "index": self._text_index,
                    }
                )
        return out


def chunk_from_delta(
    chunk: GenerationChunk,
    *,
    model: str,
    stream_usage: bool,
    v1: V1Blocks | None = None,
) -> AIMessageChunk:
    """A core delta -> ``AIMessageChunk``.

    Tool-call fragments become ``tool_call_chunks`` keyed by ``index`` (``id``/``name`` on the
    first fragment only), so chunk addition rebuilds parallel calls. What the event adds to
    ``search_info`` / ``tool_info`` / ``logprobs`` goes into ``response_metadata`` (chunk
    addition merges it back into the whole). The chunk with the ``finish_reason`` is the last
    one: it carries ``chunk_position="last"``, the response metadata and (with
    ``stream_usage``) the usage, once. With ``v1`` (``output_version="v1"``) the content is
    the list of standard blocks (the text's citations come with the last chunk).
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
    if chunk.extras:
        metadata.update(chunk.extras)
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
