"""From a validated request and a ``Reply`` to a ``Turn``: the answer and its stream deltas.

Pure and wire-format agnostic; ``_native`` and ``_compat`` render a ``Turn`` to bytes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._recorded import RecordedRequest, content_text
from ._replies import Reply
from ._tokens import count_tokens, split_every, split_text, truncate_tokens
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


@dataclass(frozen=True)
class Progress:
    """Cumulative output after some events (drives cumulative streaming and usage)."""

    reasoning: str = ""
    content: str = ""
    arguments: tuple[tuple[ResolvedCall, str], ...] = ()

    def advance(self, step: Step, calls: tuple[ResolvedCall, ...]) -> Progress:
        args = {call.index: text for call, text in self.arguments}
        for fragment in step.tool_calls:
            args[fragment.index] = args.get(fragment.index, "") + fragment.arguments
        return Progress(
            reasoning=self.reasoning + step.reasoning,
            content=self.content + step.content,
            arguments=tuple((call, args[call.index]) for call in calls if call.index in args),
        )

    @property
    def reasoning_tokens(self) -> int:
        return count_tokens(self.reasoning)

    @property
    def output_tokens(self) -> int:
        tools = sum(count_tokens(call.name) + count_tokens(text) for call, text in self.arguments)
        return self.reasoning_tokens + count_tokens(self.content) + tools


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


def tool_call_id(seed: bytes, index: int) -> str:
    """``call_`` + 22 hex, stable for a given request body and call position."""
    return "call_" + hashlib.sha256(seed + b"#" + str(index).encode()).hexdigest()[:22]


def _argument_pieces(arguments: str) -> list[str]:
    if len(arguments) < 2:
        return [arguments]
    return split_text(arguments, max(2, math.ceil(len(arguments) / TOOL_ARGUMENT_PIECE)))


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
    finish = "tool_calls" if calls else "stop"
    if not calls and plan.max_tokens is not None and count_tokens(content) > plan.max_tokens:
        content = truncate_tokens(content, plan.max_tokens)
        finish = "length"
    if reply.finish_reason is not None:
        finish = reply.finish_reason

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
    )


def final_progress(turn: Turn) -> Progress:
    """The progress after the whole turn (used by non-streaming bodies)."""
    progress = Progress()
    for step, _ in turn.events:
        progress = progress.advance(step, turn.calls)
    return progress
