"""From a validated request and a ``Reply`` to a ``Turn``: the answer and its stream deltas.

Pure and wire-format agnostic; ``_native`` and ``_compat`` render a ``Turn`` to bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._recorded import RecordedRequest, content_text
from ._replies import Reply
from ._tokens import (
    count_tokens,
    count_tokens_joined,
    split_every,
    split_text,
    truncate_tokens,
)
from ._validate import GenerationPlan

DEFAULT_PREFIX = "[emulator] "
"""Every default answer starts with this."""
ECHO_LIMIT = 200
"""Characters of the user text echoed by the default answer."""
TOOL_ARGUMENT_PIECE = 8
"""Characters per streamed tool-argument fragment (at least two fragments per call)."""


@dataclass(frozen=True)
class ResolvedCall:
    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolFragment:
    """One ``tool_calls`` entry of a stream event: the first one of a call has id and name."""

    index: int
    id: str
    name: str | None
    arguments: str


@dataclass(frozen=True)
class Step:
    """One stream event's worth of new output."""

    reasoning: str = ""
    content: str = ""
    tool_calls: tuple[ToolFragment, ...] = ()


@dataclass(frozen=True)
class Turn:
    """The whole answer to one generation request."""

    reasoning: str
    content: str
    calls: tuple[ResolvedCall, ...]
    finish_reason: str
    events: tuple[tuple[Step, str | None], ...]
    """Stream events in order: (new output, finish_reason or None while generating)."""
    usage_override: Mapping[str, Any] | None = None
    search_results: tuple[Mapping[str, Any], ...] = ()
    """The web-search sources of this answer (with ``enable_source``)."""


@dataclass(frozen=True)
class Progress:
    """Cumulative output after some events (drives cumulative streaming and usage)."""

    reasoning: str = ""
    content: str = ""
    arguments: tuple[tuple[ResolvedCall, str], ...] = ()
    reasoning_tokens: int = 0
    """``count_tokens(reasoning)``, kept up to date by :meth:`advance`."""
    content_tokens: int = 0
    """``count_tokens(content)``, kept up to date by :meth:`advance`."""

    def advance(self, step: Step, calls: tuple[ResolvedCall, ...]) -> Progress:
        args = {call.index: text for call, text in self.arguments}
        for fragment in step.tool_calls:
            args[fragment.index] = args.get(fragment.index, "") + fragment.arguments
        return Progress(
            reasoning=self.reasoning + step.reasoning,
            content=self.content + step.content,
            arguments=tuple((call, args[call.index]) for call in calls if call.index in args),
            reasoning_tokens=count_tokens_joined(
                self.reasoning, self.reasoning_tokens, step.reasoning
            ),
            content_tokens=count_tokens_joined(self.content, self.content_tokens, step.content),
        )

    @property
    def output_tokens(self) -> int:
        tools = sum(count_tokens(call.name) + count_tokens(text) for call, text in self.arguments)
        return self.reasoning_tokens + self.content_tokens + tools


def default_text(request: RecordedRequest) -> str:
    """The default answer: an echo of the last user text (or of the tool results that end the
    conversation), truncated to ``ECHO_LIMIT`` characters."""
    messages = request.messages
    trailing_tools: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing_tools.insert(0, content_text(message.get("content")))
    if trailing_tools:
        return DEFAULT_PREFIX + "tool results: " + " | ".join(trailing_tools)[:ECHO_LIMIT]
    return DEFAULT_PREFIX + request.last_user_text[:ECHO_LIMIT]


def default_reasoning(request: RecordedRequest) -> str:
    """Short deterministic reasoning used when a thinking request gets a Reply without one."""
    return f'The user wrote: "{request.last_user_text[:60]}". I will answer directly.'


def example_arguments(function: Mapping[str, Any], request: RecordedRequest) -> dict[str, Any]:
    """Arguments the emulated model fills in for a forced tool: a value of the right type for
    every required property (and every property when none is marked required), strings taken
    from the user's last message, so a schema always validates."""
    schema = function.get("parameters")
    if not isinstance(schema, Mapping):
        return {}
    defs = schema.get("$defs") or schema.get("definitions") or {}
    text = request.last_user_text[:60] or "example"
    value = _example(schema, defs, text, depth=0)
    return value if isinstance(value, dict) else {}


def _example(schema: Any, defs: Mapping[str, Any], text: str, *, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > 8:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _example(defs.get(ref.rsplit("/", 1)[-1]), defs, text, depth=depth + 1)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [
                o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")
            ]
            return _example((usable or options)[0], defs, text, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {
            name: _example(properties[name], defs, text, depth=depth + 1)
            for name in required
            if name in properties
        }
    if kind == "array":
        item = _example(schema.get("items", {"type": "string"}), defs, text, depth=depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date":
        return "2026-01-01"
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    return text


SEARCH_RESULTS = 2
"""Sources the emulated web search finds for every query."""


def search_results(request: RecordedRequest) -> tuple[dict[str, Any], ...]:
    """Deterministic sources for the user's query, shaped as the service's [CAP]."""
    from urllib.parse import quote

    query = request.last_user_text[:40] or "query"
    return tuple(
        {
            "icon": "",
            "site_name": "emulator",
            "index": n,
            "title": f"{query} ({n})",
            "url": f"https://example.com/search?q={quote(query)}&n={n}",
        }
        for n in range(1, SEARCH_RESULTS + 1)
    )


def tool_call_id(seed: bytes, index: int) -> str:
    """``call_`` + 22 hex, stable for a given request body and call position."""
    return "call_" + hashlib.sha256(seed + b"#" + str(index).encode()).hexdigest()[:22]


def _argument_pieces(arguments: str) -> list[str]:
    if len(arguments) < 2:
        return [arguments]
    return split_text(arguments, max(2, math.ceil(len(arguments) / TOOL_ARGUMENT_PIECE)))


def unparsed_text(calls: tuple[ResolvedCall, ...], syntax: str) -> str:
    """Tool calls written as the model writes them, for a server whose parser failed."""
    blocks = []
    for call in calls:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        if syntax == "xml":
            lines = [f"<function={call.name}>"]
            for key, value in arguments.items() if isinstance(arguments, dict) else ():
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                lines += [f"<parameter={key}>", text, "</parameter>"]
            lines.append("</function>")
            blocks.append("<tool_call>\n" + "\n".join(lines) + "\n</tool_call>")
        else:
            payload = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
            blocks.append(payload if syntax == "json" else f"<tool_call>\n{payload}\n</tool_call>")
    return "\n".join(blocks)


def build_turn(plan: GenerationPlan, reply: Reply, request: RecordedRequest) -> Turn:
    """Answer ``request`` (already validated into ``plan``) with ``reply``."""
    reasoning = ""
    if plan.thinking:
        reasoning = reply.reasoning if reply.reasoning is not None else default_reasoning(request)
        if plan.thinking_budget is not None:
            reasoning = truncate_tokens(reasoning, plan.thinking_budget)
    content = default_text(request) if reply.answer is None else reply.answer
    calls = tuple(
        ResolvedCall(
            index=i,
            id=call.id or tool_call_id(request.raw_body, i),
            name=call.name,
            arguments=call.arguments_json,
        )
        for i, call in enumerate(reply.calls if reply.kind == "tool_calls" else ())
    )
    if reply.kind == "default" and plan.json_schema is not None and plan.forced_tool is None:
        # A self-hosted server constrains the answer to the schema (guided decoding).
        schema = plan.json_schema
        text = request.last_user_text[:60] or "example"
        defs = schema.get("$defs") or schema.get("definitions") or {}
        value = _example(schema, defs, text, depth=0) if schema else {"answer": text}
        content = json.dumps(value, ensure_ascii=False)
    if reply.kind == "default" and plan.forced_tool is not None:
        # A forced tool_choice is obeyed, as the service does: the tool is called with
        # arguments made from its schema, and there is no text answer.
        content = ""
        arguments = json.dumps(example_arguments(plan.forced_tool, request), ensure_ascii=False)
        calls = (
            ResolvedCall(
                index=0,
                id=tool_call_id(request.raw_body, 0),
                name=str(plan.forced_tool["name"]),
                arguments=arguments,
            ),
        )
    if reply.unparsed is not None and calls:
        # The server's tool parser failed: the calls are text, the answer an ordinary one.
        text = unparsed_text(calls, reply.unparsed)
        if reply.in_reasoning:
            reasoning = (reasoning + "\n" if reasoning else "") + (content + text)
            content = ""
        else:
            content = (content + "\n\n" if content else "") + text
        calls = ()
    elif reply.in_reasoning:
        # The server's reasoning parser took the whole answer for reasoning.
        reasoning, content = (reasoning + "\n" if reasoning else "") + content, ""
    finish = "tool_calls" if calls else "stop"
    if not calls and plan.max_tokens is not None and count_tokens(content) > plan.max_tokens:
        content = truncate_tokens(content, plan.max_tokens)
        finish = "length"
    if reply.finish_reason is not None:
        finish = reply.finish_reason
    found: tuple[dict[str, Any], ...] = ()
    if plan.search is not None and not calls:
        found = search_results(request) if plan.search.enable_source else ()
        if plan.search.enable_citation and plan.search.enable_source and content:
            # [CAP] citation markers name search_results[].index, e.g. "[ref_1]".
            content += plan.search.citation_format.replace("<number>", "1")

    steps = [Step(reasoning=piece) for piece in split_every(reasoning)]
    pieces = split_text(content, reply.chunks) if reply.chunks else split_every(content)
    steps += [Step(content=piece) for piece in pieces]
    for call in calls:
        for n, piece in enumerate(_argument_pieces(call.arguments)):
            first = n == 0
            fragment = ToolFragment(
                index=call.index,
                id=call.id if first else "",
                name=call.name if first else None,
                arguments=piece,
            )
            steps.append(Step(tool_calls=(fragment,)))

    events: list[tuple[Step, str | None]] = [(step, None) for step in steps]
    if calls:
        # [CAP §5.4] tool-call streams put the finish_reason on the last arguments fragment.
        events[-1] = (events[-1][0], finish)
    else:
        # [CAP §5.2 pattern (a)] one final event with empty output and the finish_reason.
        events.append((Step(), finish))
    return Turn(
        reasoning=reasoning,
        content=content,
        calls=calls,
        finish_reason=finish,
        events=tuple(events),
        usage_override=reply.usage,
        search_results=found,
    )


def final_progress(turn: Turn) -> Progress:
    """The progress after the whole turn (used by non-streaming bodies)."""
    progress = Progress()
    for step, _ in turn.events:
        progress = progress.advance(step, turn.calls)
    return progress
