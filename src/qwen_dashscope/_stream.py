"""Stream accumulation: wire events -> delta chunks -> one complete result.

A pure state machine over parsed JSON bodies. With ``incremental_output=false`` every event
repeats everything so far (text, reasoning, and tool-call arguments); those are turned into
exact deltas here, so the adapters only ever see deltas.

The hot path reads plain dicts (``json.loads``) because validating every stream event into
pydantic models cost more CPU than the rest of the transport. The pydantic models in
``_wire`` remain the schema: anything here that does not look like it is re-validated with
them, and the ``ProtocolError`` says exactly what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ._errors import ProtocolError
from ._types import GenerationChunk, GenerationResult, ToolCall, ToolCallDelta, Usage

__all__ = ["StreamAccumulator", "content_text", "result_from_response"]

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


def _malformed(event: Any, request_id: str | None, what: str) -> ProtocolError:
    """A precise error for an event that is not what the protocol says."""
    from ._wire import GenerationResponse  # the schema, imported only when something is off

    try:
        GenerationResponse.model_validate(event)
    except ValidationError as exc:
        return ProtocolError(f"malformed generation event ({what}): {exc}", request_id=request_id)
    return ProtocolError(f"malformed generation event: {what}", request_id=request_id)


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

    def feed(self, event: dict[str, Any]) -> list[GenerationChunk]:
        """The chunks (one per choice present) that this event contributes."""
        request_id = event.get("request_id")
        if request_id:
            self.request_id = request_id
        usage = event.get("usage")
        # Usage is cumulative on every event; a search preamble sends "usage": {}.
        if usage:
            if not isinstance(usage, dict):
                raise _malformed(event, self.request_id, "usage")
            if usage.get("input_tokens") is not None:
                self.usage = Usage.from_dict(usage)
        output = event.get("output")
        if not isinstance(output, dict):
            raise _malformed(event, self.request_id, "no 'output' object")
        extras = None
        if output.keys() - _OUTPUT_KEYS:  # search_info, tool_info (code interpreter), ...
            extras = {k: v for k, v in output.items() if k not in _OUTPUT_KEYS}
            for key, value in extras.items():
                # Later search events repeat "search_results": [] - keep what was found.
                if value or key not in self._extras:
                    self._extras[key] = value
        choices = output.get("choices")
        if choices is None:  # result_format "text"
            text = output.get("text")
            if text is not None and not isinstance(text, str):
                raise _malformed(event, self.request_id, "output.text")
            chunk = self._feed_message(0, {"content": text}, _finish(output.get("finish_reason")))
            chunk.extras = extras
            return [chunk]
        if not isinstance(choices, list):
            raise _malformed(event, self.request_id, "output.choices")
        chunks: list[GenerationChunk] = []
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise _malformed(event, self.request_id, "output.choices[]")
            index = choice.get("index")
            index = index if isinstance(index, int) else position
            message = choice.get("message") or {}
            if not isinstance(message, dict):
                raise _malformed(event, self.request_id, "choices[].message")
            try:
                chunk = self._feed_message(index, message, _finish(choice.get("finish_reason")))
            except (TypeError, AttributeError, KeyError) as exc:
                raise _malformed(event, self.request_id, f"choices[].message: {exc}") from exc
            chunk_extras = extras
            logprobs = choice.get("logprobs")
            if logprobs:
                chunk_extras = {**(extras or {}), "logprobs": logprobs}
                content = logprobs.get("content") if isinstance(logprobs, dict) else None
                self._choices[index].logprobs.extend(content or [])
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
        text = content_text(message.get("content"))
        reasoning = message.get("reasoning_content") or ""
        if self.incremental:
            chunk.text, chunk.reasoning = text, reasoning
        else:
            chunk.text = _delta(state.text, text, "content", self.request_id)
            chunk.reasoning = _delta(state.reasoning, reasoning, "reasoning", self.request_id)
        if chunk.text:
            state.text += chunk.text
        if chunk.reasoning:
            state.reasoning += chunk.reasoning
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


def result_from_response(response: dict[str, Any]) -> GenerationResult:
    """A complete result from a non-streaming body (the parsed JSON)."""
    accumulator = StreamAccumulator(incremental=True)
    accumulator.feed(response)
    result = accumulator.result()
    if result.finish_reason is None:  # never hand out an empty or cut-off answer as complete
        raise _malformed(response, accumulator.request_id, "an answer without a finish_reason")
    result.raw = response
    return result
