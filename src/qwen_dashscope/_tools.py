"""Tool calls on the wire: argument formatting, and argument parsing for both adapters.

The model writes a tool call's arguments as a JSON string. While a stream is still arriving
the string is usually incomplete: :func:`parse_partial_arguments` completes it leniently (for
progress displays and agents that look at every chunk). Once the answer is finished,
:func:`parse_arguments` is strict: a JSON object, or a :class:`ToolArgumentsError` that keeps
the raw string. Both adapters use these two functions, so a truncated call is an invalid call
in LangChain and in LlamaIndex alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidRequestError

__all__ = [
    "ToolArgumentsError",
    "check_tool_names",
    "format_arguments",
    "parse_arguments",
    "parse_partial_arguments",
    "parse_partial_json",
    "tool_names",
]

_CLOSERS = {"{": "}", "[": "]"}


class ToolArgumentsError(ValueError):
    """A finished tool call whose arguments are not a JSON object; ``raw`` is what came."""

    def __init__(self, name: str, raw: str, reason: str) -> None:
        super().__init__(f"tool call {name!r}: {reason}: {raw!r}")
        self.name = name
        self.raw = raw
        self.reason = reason


def format_arguments(arguments: Mapping[str, Any] | str | None) -> str:
    """Arguments as the JSON string the wire carries (a string is sent as given)."""
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(dict(arguments), ensure_ascii=False)


def parse_arguments(raw: str, *, name: str = "") -> dict[str, Any]:
    """The arguments of a finished call: a JSON object (``{}`` for an empty string)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ToolArgumentsError(name, raw, f"arguments are not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            name, raw, f"arguments are a JSON {type(value).__name__}, not an object"
        )
    return value


def parse_partial_arguments(raw: str) -> dict[str, Any]:
    """The arguments of a call still being streamed, completed leniently (never raises)."""
    value = parse_partial_json(raw)
    return value if isinstance(value, dict) else {}


_TAIL = 256
"""How far back from the end a partial value is looked for (a partial key or literal)."""


def _states(text: str, start: int) -> list[tuple[str, bool, bool] | None]:
    """For every cut point ``start..len(text)``: (closers, in_string, escaped) of the prefix,
    or None once the prefix has a closing bracket that matches nothing."""
    stack: list[str] = []
    in_string = escaped = False
    out: list[tuple[str, bool, bool] | None] = []
    broken = False
    for position in range(len(text) + 1):
        if position >= start:
            out.append(None if broken else ("".join(reversed(stack)), in_string, escaped))
        if position == len(text) or broken:
            continue
        char = text[position]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in "}]" and (not stack or stack.pop() != char):
            broken = True
    return out


def parse_partial_json(text: str) -> Any:
    """Best-effort value of a JSON prefix: the longest prefix that closes into valid JSON.

    ``'{"a": "x'`` gives ``{"a": "x"}``; ``'{"a": '`` gives ``{}`` (a key whose value has not
    started is left out); text that is no JSON prefix at all gives ``None``. Linear in the
    length of ``text`` plus at most ``_TAIL`` retries near its end.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = max(1, len(text) - _TAIL)
    states = _states(text, start)
    for end in range(len(text), start - 1, -1):
        state = states[end - start]
        if state is None:
            continue
        closers, in_string, escaped = state
        prefix = text[:end]
        if in_string:
            prefix = (prefix[:-1] if escaped else prefix) + '"'
        try:
            return json.loads(prefix + closers)
        except ValueError:
            continue
    return None


def tool_names(tools: Any) -> list[str]:
    """The function names of OpenAI-style tool dicts (``{"type": "function", ...}``)."""
    if not isinstance(tools, (list, tuple)):
        raise InvalidRequestError(
            f"tools must be a list of tool dicts, got {tools!r}", param="tools"
        )
    names = []
    for position, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(
                f"tools[{position}] is not a function tool "
                "({'type': 'function', 'function': {'name': ..., 'parameters': {...}}})",
                param="tools",
            )
        names.append(name)
    return names


def check_tool_names(names: Any) -> None:
    """Tool names the service refuses (§ tools: "Tool names are not allowed to be [search]")."""
    if "search" in names:
        raise InvalidRequestError(
            "DashScope does not allow a tool named 'search' (the name is reserved for its own "
            "web search; use enable_search for that); rename the tool",
            param="tools",
        )
