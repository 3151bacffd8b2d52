"""Stream accumulation: wire events -> delta chunks -> one complete result.

A pure state machine. With ``incremental_output=false`` every event repeats everything so far
(text, reasoning, and tool-call arguments); those are turned into exact deltas here, so the
adapters only ever see deltas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import ProtocolError
from ._types import GenerationChunk, GenerationResult, ToolCall, ToolCallDelta, Usage
from ._wire import GenerationResponse, WireMessage, WireToolCall

__all__ = ["StreamAccumulator", "content_text", "result_from_response"]


def content_text(content: str | list[dict[str, Any]] | None) -> str:
    """Text of a message content: a string, or the ``text`` items of a multimodal list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(item["text"] for item in content if isinstance(item.get("text"), str))


def _finish(reason: str | None) -> str | None:
    # DashScope sends finish_reason as the string "null" while generating.
    return None if reason in (None, "null", "") else reason


@dataclass(slots=True)
class _ToolState:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class _ChoiceState:
    text: str = ""
    reasoning: str = ""
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

    def __init__(self, *, incremental: bool = True) -> None:
        self.incremental = incremental
        self.request_id: str | None = None
        self.usage: Usage | None = None
        self._choices: dict[int, _ChoiceState] = {}
        self._extras: dict[str, Any] = {}

    def feed(self, event: GenerationResponse) -> list[GenerationChunk]:
        """The chunks (one per choice present) that this event contributes."""
        self.request_id = event.request_id or self.request_id
        # Usage is cumulative on every event; a search preamble sends "usage": {}.
        if event.usage is not None and event.usage.input_tokens is not None:
            self.usage = Usage.from_wire(event.usage)
        output = event.output
        if output is None:
            raise ProtocolError("stream event without 'output'", request_id=self.request_id)
        chunks: list[GenerationChunk] = []
        # Fields beside the text: search_info, tool_info (code interpreter), ...
        extras = dict(output.model_extra or {})
        if output.search_info is not None:
            extras["search_info"] = output.search_info
        self._extras.update(extras)
        if output.choices is not None:
            for position, choice in enumerate(output.choices):
                index = choice.index if choice.index is not None else position
                chunk = self._feed_message(index, choice.message, _finish(choice.finish_reason))
                chunk_extras = dict(extras)
                if choice.logprobs:
                    chunk_extras["logprobs"] = choice.logprobs
                    content = (
                        choice.logprobs.get("content")
                        if isinstance(choice.logprobs, dict)
                        else None
                    )
                    self._choices[index].logprobs.extend(content or [])
                chunk.extras = chunk_extras or None
                chunks.append(chunk)
        else:  # result_format "text"
            message = WireMessage(content=output.text or "")
            chunk = self._feed_message(0, message, _finish(output.finish_reason))
            chunk.extras = extras or None
            chunks.append(chunk)
        return chunks

    def _feed_message(
        self, index: int, message: WireMessage | None, finish_reason: str | None
    ) -> GenerationChunk:
        state = self._choices.setdefault(index, _ChoiceState())
        chunk = GenerationChunk(
            request_id=self.request_id, index=index, usage=self.usage, finish_reason=finish_reason
        )
        if finish_reason:
            state.finish_reason = finish_reason
        if message is None:
            return chunk
        text = content_text(message.content)
        reasoning = message.reasoning_content or ""
        if self.incremental:
            chunk.text, chunk.reasoning = text, reasoning
        else:
            chunk.text = _delta(state.text, text, "content", self.request_id)
            chunk.reasoning = _delta(state.reasoning, reasoning, "reasoning", self.request_id)
        state.text += chunk.text
        state.reasoning += chunk.reasoning
        for position, call in enumerate(message.tool_calls or ()):
            delta = self._feed_tool(state, position, call)
            if delta is not None:
                chunk.tool_calls.append(delta)
        return chunk

    def _feed_tool(
        self, state: _ChoiceState, position: int, call: WireToolCall
    ) -> ToolCallDelta | None:
        index = call.index if call.index is not None else position
        function = call.function
        name = (function.name if function else None) or ""
        arguments = (function.arguments if function else None) or ""
        tool = state.tools.get(index)
        delta = ToolCallDelta(index=index)
        if tool is None:
            tool = state.tools[index] = _ToolState()
            delta.id = call.id or None
            delta.name = name or None
        elif call.id and not tool.id:
            delta.id = call.id
        if name and not tool.name:
            delta.name = name
        if delta.id:
            tool.id = delta.id
        if delta.name:
            tool.name = delta.name
        if self.incremental:
            delta.arguments = arguments
        else:
            delta.arguments = _delta(tool.arguments, arguments, "tool arguments", self.request_id)
        tool.arguments += delta.arguments
        if delta.id is None and delta.name is None and not delta.arguments:
            return None
        return delta

    def result(self) -> GenerationResult:
        """Everything received so far as one result (choice 0 first)."""
        results = [
            GenerationResult(
                request_id=self.request_id,
                text=state.text,
                reasoning=state.reasoning,
                tool_calls=[
                    ToolCall(id=t.id, name=t.name, arguments=t.arguments, index=i)
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


def result_from_response(response: GenerationResponse, raw: dict[str, Any]) -> GenerationResult:
    """A complete result from a non-streaming body."""
    accumulator = StreamAccumulator(incremental=True)
    accumulator.feed(response)
    result = accumulator.result()
    result.raw = raw
    return result
