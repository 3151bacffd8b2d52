"""Answers as they arrive: wire events -> delta chunks -> one complete result.

A pure state machine over parsed JSON bodies, used for streams and (fed once) for
non-streaming bodies. With ``incremental_output=false`` every event repeats everything so far
(text, reasoning, tool-call arguments); those are turned into exact deltas here, so the
adapters only ever see deltas. Output fields beside the choices (``search_info``,
``tool_info``, ...) and per-choice ``logprobs`` are kept too: each chunk carries what is new in
its event, the result carries everything (later events that repeat or empty a field never
erase what came first).

The hot path reads plain dicts because validating every stream event into pydantic models
cost more CPU than the rest of the transport. The pydantic models in ``_wire`` remain the
schema: anything here that does not look like it is re-validated with them, and the
``ProtocolError`` says exactly what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ._errors import ProtocolError
from ._types import GenerationChunk, GenerationResult, ToolCall, ToolCallDelta, Usage

__all__ = ["StreamAccumulator", "content_text", "malformed", "merge_new"]

_OUTPUT_KEYS = frozenset({"choices", "text", "finish_reason"})


def content_text(content: Any) -> str:
    """Text of a message content: a string, or the ``text`` items of a multimodal list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(item["text"] for item in content if isinstance(item.get("text"), str))


def _finish(reason: Any) -> str | None:
    # DashScope sends finish_reason as the string "null" while generating.
    return None if reason in (None, "null", "") else str(reason)


def malformed(event: Any, request_id: str | None, what: str) -> ProtocolError:
    """A precise error for an event that is not what the protocol says."""
    from ._wire import GenerationResponse  # the schema, imported only when something is off

    try:
        GenerationResponse.model_validate(event)
    except ValidationError as exc:
        return ProtocolError(f"malformed generation event ({what}): {exc}", request_id=request_id)
    return ProtocolError(f"malformed generation event: {what}", request_id=request_id)


def _new_items(previous: Any, current: Any) -> Any:
    """What ``current`` adds to ``previous`` (None: nothing): a list's new items, a value
    that changed."""
    if current is None or current == [] or current == {} or current == "":
        return None  # later search events send empty lists: what came first stays
    if isinstance(current, list) and isinstance(previous, list):
        if current[: len(previous)] == previous:
            return current[len(previous) :] or None
        return current
    return None if current == previous else current


def merge_new(state: dict[str, Any], key: str, value: Any) -> Any:
    """Fold ``value`` into ``state[key]``; returns the part of it that is new (or None).

    Dicts (``search_info``) are merged per sub-key, lists (``tool_info``) grow by their new
    items, other values are replaced when they change.
    """
    previous = state.get(key)
    if isinstance(value, dict):
        known = previous if isinstance(previous, dict) else {}
        merged = dict(known)
        delta = {}
        for sub, item in value.items():
            new = _new_items(known.get(sub), item)
            if new is not None:
                delta[sub] = new
                merged[sub] = item  # the whole current value (a list that grew, or a new one)
        if not delta:
            return None
        state[key] = merged
        return delta
    new = _new_items(previous, value)
    if new is None:
        return None
    state[key] = value
    return new


class _Growing:
    """One output field as it grows (text, reasoning, a tool call's arguments).

    The pieces are kept and joined once, for the result: appending each event's piece to a
    string would copy the whole text on every event (quadratic in a long stream). In
    cumulative mode (``incremental_output=false``) each event repeats the whole value, so the
    latest one is kept too, to cut the new suffix from the next.
    """

    __slots__ = ("_latest", "_pieces")

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._latest = ""

    def add(self, value: str, *, cumulative: bool, what: str, request_id: str | None) -> str:
        """Take an event's value; returns what is new in it (the whole value, incrementally)."""
        if cumulative:
            piece = _delta(self._latest, value, what, request_id)
            if piece:
                self._latest = value
        else:
            piece = value
        if piece:
            self._pieces.append(piece)
        return piece

    def value(self) -> str:
        return "".join(self._pieces)


@dataclass(slots=True)
class _ToolState:
    id: str = ""
    name: str = ""
    arguments: _Growing = field(default_factory=_Growing)


@dataclass(slots=True)
class _ChoiceState:
    text: _Growing = field(default_factory=_Growing)
    reasoning: _Growing = field(default_factory=_Growing)
    tools: dict[int, _ToolState] = field(default_factory=dict)
    finish_reason: str | None = None
    logprobs: list[Any] = field(default_factory=list)


def _delta(previous: str, current: str, what: str, request_id: str | None) -> str:
    """The new suffix of a cumulative value."""
    if not current or current == previous:
        return ""
    if current.startswith(previous):
        return current[len(previous) :]
    raise ProtocolError(
        f"cumulative stream ({what}) does not extend what was already received: "
        f"{previous[-40:]!r} -> {current[:40]!r}",
        request_id=request_id,
    )


class StreamAccumulator:
    """Feed parsed events; get delta chunks; ask for the complete result at the end."""

    def __init__(self, *, incremental: bool = True, request_id: str | None = None) -> None:
        self.incremental = incremental
        self.request_id: str | None = request_id
        self.usage: Usage | None = None
        self._choices: dict[int, _ChoiceState] = {}
        self._extras: dict[str, Any] = {}

    @property
    def finished(self) -> bool:
        """Whether every choice seen so far has its finish_reason."""
        return bool(self._choices) and all(
            c.finish_reason is not None for c in self._choices.values()
        )

    def feed(self, event: Mapping[str, Any]) -> list[GenerationChunk]:
        """The chunks (one per choice present) that this event contributes."""
        request_id = event.get("request_id")
        if request_id:
            self.request_id = request_id
        usage = event.get("usage")
        # Usage is cumulative on every event; a search preamble sends "usage": {}.
        if usage:
            if not isinstance(usage, dict):
                raise malformed(event, self.request_id, "usage")
            if usage.get("input_tokens") is not None:
                self.usage = Usage.from_dict(usage)
        output = event.get("output")
        if not isinstance(output, dict):
            raise malformed(event, self.request_id, "no 'output' object")
        extras = None
        if not _OUTPUT_KEYS.issuperset(output):  # search_info, tool_info (code interpreter)...
            for key, value in output.items():
                if key in _OUTPUT_KEYS:
                    continue
                new = merge_new(self._extras, key, value)
                if new is not None:
                    extras = extras or {}
                    extras[key] = new
        choices = output.get("choices")
        if choices is None:  # result_format "text"
            text = output.get("text")
            if text is not None and not isinstance(text, str):
                raise malformed(event, self.request_id, "output.text")
            chunk = self._feed_message(0, {"content": text}, _finish(output.get("finish_reason")))
            chunk.extras = extras
            return [chunk]
        if not isinstance(choices, list):
            raise malformed(event, self.request_id, "output.choices")
        chunks: list[GenerationChunk] = []
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise malformed(event, self.request_id, "output.choices[]")
            index = choice.get("index")
            index = index if isinstance(index, int) else position
            message = choice.get("message") or {}
            if not isinstance(message, dict):
                raise malformed(event, self.request_id, "choices[].message")
            try:
                chunk = self._feed_message(index, message, _finish(choice.get("finish_reason")))
            except (TypeError, AttributeError, KeyError) as exc:
                raise malformed(event, self.request_id, f"choices[].message: {exc}") from exc
            chunk_extras = extras if position == 0 else None
            logprobs = choice.get("logprobs")
            if logprobs:
                content = logprobs.get("content") if isinstance(logprobs, dict) else None
                if content:
                    self._choices[index].logprobs.extend(content)
                    chunk_extras = {**(chunk_extras or {}), "logprobs": {"content": content}}
            chunk.extras = chunk_extras
            chunks.append(chunk)
        return chunks

    def _feed_message(
        self, index: int, message: dict[str, Any], finish_reason: str | None
    ) -> GenerationChunk:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState()
        chunk = GenerationChunk(self.request_id, index=index, usage=self.usage)
        if finish_reason:
            chunk.finish_reason = state.finish_reason = finish_reason
        cumulative, request_id = not self.incremental, self.request_id
        text = content_text(message.get("content"))
        chunk.text = state.text.add(
            text, cumulative=cumulative, what="content", request_id=request_id
        )
        reasoning = message.get("reasoning_content")
        if reasoning:
            if not isinstance(reasoning, str):
                raise TypeError("reasoning_content must be a string")
            chunk.reasoning = state.reasoning.add(
                reasoning, cumulative=cumulative, what="reasoning", request_id=request_id
            )
        tool_calls = message.get("tool_calls")
        if tool_calls:
            for position, call in enumerate(tool_calls):
                delta = self._feed_tool(state, position, call)
                if delta is not None:
                    chunk.tool_calls.append(delta)
        return chunk

    def _feed_tool(
        self, state: _ChoiceState, position: int, call: dict[str, Any]
    ) -> ToolCallDelta | None:
        index = call.get("index")
        index = index if isinstance(index, int) else position
        function = call.get("function") or {}
        name = function.get("name") or ""
        arguments = function.get("arguments")
        if arguments is None:
            arguments = ""
        elif not isinstance(arguments, str):
            raise TypeError("tool call arguments must be a JSON string")
        call_id = call.get("id") or None
        tool = state.tools.get(index)
        delta = ToolCallDelta(index=index)
        if tool is None:
            tool = state.tools[index] = _ToolState()
            delta.id = call_id
            delta.name = name or None
        else:
            if call_id and not tool.id:
                delta.id = call_id
            if name and not tool.name:
                delta.name = name
        if delta.id:
            tool.id = delta.id
        if delta.name:
            tool.name = delta.name
        delta.arguments = tool.arguments.add(
            arguments,
            cumulative=not self.incremental,
            what="tool arguments",
            request_id=self.request_id,
        )
        if delta.id is None and delta.name is None and not delta.arguments:
            return None
        return delta

    def end(self) -> list[GenerationChunk]:
        """Chunks held back until the stream ends: none (every native event is final as it
        comes); the OpenAI-protocol reader holds its last ones)."""
        return []

    def complete(self, body: Mapping[str, Any]) -> GenerationResult:
        """A complete answer from a non-streaming body (the parsed JSON)."""
        self.feed(body)
        result = self.result()
        if result.finish_reason is None:  # never hand out an empty or cut-off answer as complete
            raise malformed(body, self.request_id, "an answer without a finish_reason")
        result.raw = dict(body)
        return result

    def result(self) -> GenerationResult:
        """Everything received so far as one result (choice 0 first)."""
        results = [
            GenerationResult(
                request_id=self.request_id,
                text=state.text.value(),
                reasoning=state.reasoning.value(),
                tool_calls=[
                    ToolCall(id=t.id, name=t.name, arguments=t.arguments.value(), index=i)
                    for i, t in sorted(state.tools.items())
                ],
                finish_reason=state.finish_reason,
                usage=self.usage or Usage(),
                index=index,
                extras={
                    **self._extras,
                    **({"logprobs": {"content": state.logprobs}} if state.logprobs else {}),
                },
            )
            for index, state in sorted(self._choices.items())
        ]
        if not results:
            raise ProtocolError("the stream ended without any event", request_id=self.request_id)
        first = results[0]
        first.choices = results
        return first
