"""The framework-neutral chat request: messages, content parts, tools, tool choice.

The adapters map their framework's messages to these types and nothing else; the core's rules
(``_rules``) check them and a protocol module (``_native``) writes them to the wire. The core
also accepts DashScope's own message dicts (``message_from_wire``), so ``DashScopeClient`` can
be used directly with wire-shaped input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._capabilities import Endpoint
from ._errors import InvalidRequestError
from ._tools import format_arguments
from ._types import ToolCall

__all__ = [
    "ChatRequest",
    "MediaKind",
    "MediaPart",
    "Message",
    "Part",
    "Role",
    "TextPart",
    "chat_request",
    "message_from_wire",
]

Role = Literal["system", "user", "assistant", "tool"]
MediaKind = Literal["image", "video", "audio"]
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_MEDIA: frozenset[str] = frozenset({"image", "video", "audio"})


@dataclass(frozen=True, slots=True)
class TextPart:
    """Text; ``cache_control`` (``{"type": "ephemeral"}``) marks an explicit cache point."""

    text: str
    cache_control: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MediaPart:
    """An image, video or audio item: a URL, a ``data:`` URI, or (video) a list of frame URLs.

    ``options`` are DashScope's per-item settings (``min_pixels``, ``max_pixels``, ``fps``,
    ``max_frames``...), sent next to the item as given.
    """

    kind: MediaKind
    source: str | tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    cache_control: Mapping[str, Any] | None = None


Part = TextPart | MediaPart


@dataclass(slots=True)
class Message:
    """One conversation turn.

    ``content`` is a string or a list of parts. ``tool_calls`` (assistant) are sent back in
    histories with their exact argument strings; ``tool_call_id`` answers one (tool).
    ``reasoning`` is an assistant turn's reasoning, kept for protocols that take it back.
    ``partial`` marks a final assistant prefix for the model to continue. ``extra`` holds any
    other wire keys of the message, forwarded as given.
    """

    role: Role
    content: str | Sequence[Part] = ""
    tool_calls: Sequence[ToolCall] = ()
    tool_call_id: str | None = None
    reasoning: str | None = None
    partial: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parts(self) -> Sequence[Part]:
        """The content as parts (a string is one text part)."""
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        return self.content

    @property
    def has_media(self) -> bool:
        return not isinstance(self.content, str) and any(
            isinstance(part, MediaPart) for part in self.content
        )


@dataclass(slots=True)
class ChatRequest:
    """A chat call before the rules: what the user (through an adapter) asked for.

    ``parameters`` are DashScope generation parameters (``temperature``, ``enable_thinking``,
    ``n``, ``response_format``...; ``None`` values mean "unset"); ``tools`` are OpenAI-style
    function tools; ``tool_choice`` is any of the accepted spellings (see
    ``_rules.normalize_tool_choice``). ``endpoint`` forces the text or multimodal endpoint.
    """

    model: str
    messages: Sequence[Message]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tools: Sequence[Mapping[str, Any]] = ()
    tool_choice: Any = None
    endpoint: Endpoint | None = None


# ------------------------------------------------------------------ DashScope dicts in


def _wire_part(item: Any, where: str) -> Part:
    if isinstance(item, str):
        return TextPart(item)
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            f"{where} must be a content item such as {{'text': ...}} or {{'image': url}}, "
            f"got {item!r}",
            param="messages",
        )
    cache = item.get("cache_control")
    if "text" in item and item.get("type", "text") == "text":
        text = item["text"]
        if not isinstance(text, str):
            raise InvalidRequestError(f"{where}.text must be a string", param="messages")
        return TextPart(text, cache)
    kinds = [k for k in _MEDIA if k in item]
    if len(kinds) != 1:
        raise InvalidRequestError(
            f"{where} must have exactly one of 'text', 'image', 'video', 'audio': {item!r}",
            param="messages",
        )
    kind = kinds[0]
    source = item[kind]
    if isinstance(source, list):
        source = tuple(source)
    if not isinstance(source, (str, tuple)):
        raise InvalidRequestError(f"{where}.{kind} must be a URL or data URI", param="messages")
    options = {k: v for k, v in item.items() if k not in (kind, "cache_control", "type")}
    return MediaPart(kind, source, options, cache)  # type: ignore[arg-type]


def _wire_tool_call(call: Any, where: str, position: int) -> ToolCall:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InvalidRequestError(
            f"{where} must be {{'id': ..., 'type': 'function', 'function': {{'name': ..., "
            f"'arguments': ...}}}}, got {call!r}",
            param="messages",
        )
    assert isinstance(call, Mapping)
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, (str, Mapping)):
        raise InvalidRequestError(
            f"{where}.function.arguments must be a JSON string", param="messages"
        )
    return ToolCall(
        id=str(call.get("id") or ""),
        name=function["name"],
        arguments=format_arguments(arguments),
        index=position,
    )


_KNOWN_KEYS = frozenset(
    {"role", "content", "tool_calls", "tool_call_id", "reasoning_content", "partial"}
)


def message_from_wire(message: Any, position: int = 0) -> Message:
    """A DashScope message dict (``{"role", "content", ...}``) as a :class:`Message`."""
    where = f"messages[{position}]"
    if isinstance(message, Message):
        return message
    if not isinstance(message, Mapping):
        raise InvalidRequestError(
            f"{where} must be a message dict such as {{'role': 'user', 'content': 'hi'}}, "
            f"got {message!r}",
            param="messages",
        )
    role = message.get("role")
    if role not in _ROLES:
        raise InvalidRequestError(
            f"{where}.role={role!r}: use 'system', 'user', 'assistant' or 'tool'",
            param="messages",
        )
    content = message.get("content")
    parsed: str | list[Part]
    if content is None:
        parsed = ""
    elif isinstance(content, str):
        parsed = content
    elif isinstance(content, list):
        parsed = [_wire_part(item, f"{where}.content[{i}]") for i, item in enumerate(content)]
    else:
        raise InvalidRequestError(
            f"{where}.content must be a string or a list of items, got {content!r}",
            param="messages",
        )
    calls = message.get("tool_calls") or ()
    if not isinstance(calls, (list, tuple)):
        raise InvalidRequestError(f"{where}.tool_calls must be a list", param="messages")
    partial = message.get("partial", False)
    if not isinstance(partial, bool):
        raise InvalidRequestError(f"{where}.partial must be True or False", param="messages")
    tool_call_id = message.get("tool_call_id")
    return Message(
        role=role,
        content=parsed,
        tool_calls=tuple(
            _wire_tool_call(c, f"{where}.tool_calls[{i}]", i) for i, c in enumerate(calls)
        ),
        tool_call_id=None if tool_call_id is None else str(tool_call_id),
        reasoning=message.get("reasoning_content"),
        partial=partial,
        extra={k: v for k, v in message.items() if k not in _KNOWN_KEYS},
    )


def chat_request(
    model: str,
    messages: Sequence[Message | Mapping[str, Any]],
    parameters: Mapping[str, Any] | None = None,
    *,
    endpoint: Endpoint | None = None,
) -> ChatRequest:
    """A :class:`ChatRequest` from wire-shaped input (``tools``/``tool_choice`` may be among
    the ``parameters``, as DashScope's own body puts them)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidRequestError(
            "messages must be a list of message dicts, e.g. [{'role': 'user', 'content': 'hi'}]",
            param="messages",
        )
    params = dict(parameters or {})
    if not isinstance(parameters or {}, Mapping):
        raise InvalidRequestError("parameters must be a dict", param="parameters")
    tools = params.pop("tools", None) or ()
    tool_choice = params.pop("tool_choice", None)
    return ChatRequest(
        model=model,
        messages=[message_from_wire(m, i) for i, m in enumerate(messages)],
        parameters=params,
        tools=tools,
        tool_choice=tool_choice,
        endpoint=endpoint,
    )
