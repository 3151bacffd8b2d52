"""OpenAI chat-completions answers as they arrive: chunks -> deltas -> one result.

The response side of ``_openai``: the same :class:`GenerationChunk` / :class:`GenerationResult`
the native ``StreamAccumulator`` produces, from the bodies of DashScope's compatible mode and
of self-hosted servers (research notes §1-§4; decisions in §10 are quoted by number):

* reasoning from ``reasoning_content`` (DashScope, SGLang, llama.cpp, vLLM < 0.16) or
  ``reasoning`` (vLLM >= 0.11.1, Ollama), one per delta, never both concatenated: vLLM
  0.11-0.15 sends the same text under both keys (decision 1);
* ``<think>…</think>`` split out of ``content`` for self-hosted backends whose reasoning
  parser is off, including Qwen3.5's closing-only ``…</think>answer`` when a Qwen3.5+ model
  thinks and no reasoning field arrived (decision 1: the content is held until ``</think>``
  or the end then, the one case where a stream is not passed on as it comes);
* tool-call fragments keyed by ``index`` only; ``id`` missing (vLLM), null (SGLang), ``""``
  (DashScope) or repeated; several entries per chunk; whole calls in one chunk (Ollama)
  (decision 6);
* usage from whichever chunk carries it (the ``include_usage`` chunk, ``choices: []``), cached
  and reasoning tokens where reported, ``None`` where not (decision 7);
* tool calls the server's parser left as text recovered (``_recovery``; decision 5), with
  synthetic ids, ``finish_reason: "tool_calls"`` and ``extras["tool_calls_recovered"]``;
* an answer that landed entirely in the reasoning (content empty, no call, finished with
  ``stop``) is also given as the text, marked ``extras["answer_from_reasoning"]``.

The chunk that carries a choice's ``finish_reason`` is held back until the stream ends
(``[DONE]``, or the end of the bytes): the usage chunk comes after it on every backend, and
text withheld while it might have been a tool call is settled then. So the last delta of a
choice carries its ``finish_reason`` and the usage, as the native protocol's does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ._accumulator import content_text
from ._errors import ProtocolError
from ._json import dumps
from ._recovery import (
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_MARKERS,
    find_marker,
    held_suffix,
    recover_tool_calls,
)
from ._types import GenerationChunk, GenerationResult, ToolCall, ToolCallDelta, Usage

__all__ = ["DONE", "OpenAIAccumulator", "openai_usage"]

DONE: Final[dict[str, Any]] = {"[DONE]": True}
"""What the transport hands over for the ``data: [DONE]`` line that ends a stream."""


def openai_usage(usage: Mapping[str, Any]) -> Usage:
    """An OpenAI ``usage`` object -> :class:`Usage` (``cached_tokens`` None when not reported:
    Ollama never, vLLM / SGLang only with their server flags)."""
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    total = usage.get("total_tokens")
    details = usage.get("prompt_tokens_details")
    output = usage.get("completion_tokens_details")
    cached = creation = reasoning = None
    if isinstance(details, Mapping):
        cached = details.get("cached_tokens")
        creation = details.get("cache_creation_input_tokens")
    if isinstance(output, Mapping):
        reasoning = output.get("reasoning_tokens")
    if reasoning is None:
        reasoning = usage.get("reasoning_tokens")  # SGLang: top level [ISSUE sglang#26172]
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=prompt + completion if total is None else total,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
        raw=dict(usage),
        cache_creation_tokens=creation,
    )


@dataclass(slots=True)
class _Tool:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class _Channel:
    """One text stream (content or reasoning) with what is withheld from it."""

    emitted: str = ""
    held: str = ""
    """Text not handed out yet: a possible marker start, or a possible tool call."""
    in_call: bool = False
    """A marker was seen: everything from it is held until the choice finishes."""


@dataclass(slots=True)
class _Choice:
    content: _Channel = field(default_factory=_Channel)
    reasoning: _Channel = field(default_factory=_Channel)
    think: str = "start"
    """Content ``<think>`` split: start (undecided), in (inside), closing (Qwen3.5: all
    content is reasoning until a ``</think>``), out."""
    think_held: str = ""
    strip_leading: bool = False
    saw_reasoning: bool = False
    tools: dict[int, _Tool] = field(default_factory=dict)
    last_tool: int = -1
    recovered: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False
    logprobs: list[Any] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def _reasoning_of(message: Mapping[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning", "thinking"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _malformed(what: str, request_id: str | None) -> ProtocolError:
    return ProtocolError(f"malformed chat completion ({what})", request_id=request_id)


class OpenAIAccumulator:
    """Feed parsed chunks (or one whole body); get deltas; ask for the result at the end.

    ``tools``: the bound tools' ``{name: parameters schema}``; with ``recover`` the tool
    calls a server left as text are recovered (``bare_json``: also an untagged JSON call, as
    older Ollama templates answer). ``split_think``: take ``<think>`` blocks out of the
    content; ``thinks``: a reasoning block whose ``<think>`` was in the prompt is expected
    (a Qwen3.5+ model that thinks), so content before a ``</think>`` is reasoning.
    """

    def __init__(
        self,
        *,
        tools: Mapping[str, Mapping[str, Any]] | None = None,
        recover: bool = False,
        bare_json: bool = False,
        split_think: bool = False,
        thinks: bool = False,
        request_id: str | None = None,
    ) -> None:
        self.tools = dict(tools or {})
        self.recover = recover and bool(self.tools)
        self.bare_json = bare_json
        self.split_think = split_think
        self.thinks = thinks
        self.request_id = request_id
        self.usage: Usage | None = None
        self._choices: dict[int, _Choice] = {}
        self._flushed = False

    @property
    def incremental(self) -> bool:
        return True

    @property
    def finished(self) -> bool:
        """Whether every choice seen so far has its finish_reason."""
        return bool(self._choices) and all(
            c.finish_reason is not None for c in self._choices.values()
        )

    # ------------------------------------------------------------------------ feeding
    def feed(self, event: Mapping[str, Any]) -> list[GenerationChunk]:
        """The deltas one chunk contributes (``DONE``: the held-back last ones)."""
        if event is DONE:
            return self.end()
        if not self.request_id and isinstance(event.get("id"), str):
            self.request_id = event["id"]
        usage = event.get("usage")
        if usage:
            if not isinstance(usage, Mapping):
                raise _malformed("usage is not an object", self.request_id)
            self.usage = openai_usage(usage)
        choices = event.get("choices")
        if choices is None:
            if usage:
                return []
            raise _malformed("no 'choices'", self.request_id)
        if not isinstance(choices, list):
            raise _malformed("'choices' is not a list", self.request_id)
        chunks = []
        for position, choice in enumerate(choices):
            if not isinstance(choice, Mapping):
                raise _malformed("choices[] is not an object", self.request_id)
            index = choice.get("index")
            index = index if isinstance(index, int) else position
            message = choice.get("delta", choice.get("message")) or {}
            if not isinstance(message, Mapping):
                raise _malformed("choices[].delta is not an object", self.request_id)
            try:
                chunk = self._feed_choice(index, choice, message)
            except (TypeError, AttributeError, KeyError) as exc:
                raise _malformed(f"choices[].delta: {exc}", self.request_id) from exc
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _state(self, index: int) -> _Choice:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _Choice()
        return state

    def _feed_choice(
        self, index: int, choice: Mapping[str, Any], message: Mapping[str, Any]
    ) -> GenerationChunk | None:
        state = self._state(index)
        chunk = GenerationChunk(self.request_id, index=index)
        reasoning = _reasoning_of(message)
        if reasoning:
            state.saw_reasoning = True
            if state.think == "closing":  # the server parses reasoning after all
                chunk.text += self._tools_text(state, state.think_held)
                state.think_held, state.think = "", "out"
            chunk.reasoning += self._reasoning_text(state, reasoning)
        text = content_text(message.get("content"))
        if text:
            more_text, more_reasoning = self._content(state, text)
            chunk.text += more_text
            chunk.reasoning += more_reasoning
        if chunk.text.strip() and state.reasoning.in_call:
            # The model answered in the content: what looked like a call in its reasoning was
            # reasoning (calls are recovered from the reasoning only when there is no answer).
            chunk.reasoning += state.reasoning.held
            state.reasoning.emitted += state.reasoning.held
            state.reasoning.held, state.reasoning.in_call = "", False
        calls = message.get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                raise TypeError("tool_calls is not a list")
            for position, call in enumerate(calls):
                delta = self._feed_tool(state, position, call)
                if delta is None:
                    continue
                last = chunk.tool_calls[-1] if chunk.tool_calls else None
                if last is not None and last.index == delta.index:
                    # vLLM sends a call's name and its first arguments as two entries of one
                    # chunk: one delta per call and chunk, so frameworks see one fragment.
                    last.id = last.id or delta.id
                    last.name = last.name or delta.name
                    last.arguments += delta.arguments
                else:
                    chunk.tool_calls.append(delta)
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, Mapping) and logprobs.get("content"):
            state.logprobs.extend(logprobs["content"])
            chunk.extras = {"logprobs": {"content": logprobs["content"]}}
        finish = choice.get("finish_reason")
        if finish not in (None, "", "null"):
            state.finish_reason = str(finish)
        if not (chunk.text or chunk.reasoning or chunk.tool_calls or chunk.extras):
            return None
        return chunk

    # ------------------------------------------------------------------------ channels
    def _withhold(self, channel: _Channel, text: str, *, bare_json: bool) -> str:
        """What of ``text`` can be handed out now (the rest may be a tool call)."""
        if not self.recover:
            channel.emitted += text
            return text
        channel.held += text
        if channel.in_call:
            return ""
        start = find_marker(channel.held)
        if start >= 0:
            out, channel.held = channel.held[:start], channel.held[start:]
            channel.in_call = True
        elif bare_json and not channel.emitted.strip():
            stripped = channel.held.lstrip()
            if stripped.startswith(("{", "[")):
                channel.in_call = True
                return ""
            if not stripped:
                return ""
            out, channel.held = channel.held, ""
            hold = held_suffix(out, TOOL_MARKERS)
            if hold:
                out, channel.held = out[:-hold], out[-hold:]
        else:
            hold = held_suffix(channel.held, TOOL_MARKERS)
            cut = len(channel.held) - hold
            out, channel.held = channel.held[:cut], channel.held[cut:]
        channel.emitted += out
        return out

    def _reasoning_text(self, state: _Choice, text: str) -> str:
        return self._withhold(state.reasoning, text, bare_json=False)

    def _tools_text(self, state: _Choice, text: str) -> str:
        if state.strip_leading:
            text = text.lstrip()
            if not text:
                return ""
            state.strip_leading = False
        return self._withhold(state.content, text, bare_json=self.bare_json)

    def _content(self, state: _Choice, text: str) -> tuple[str, str]:
        """(content, reasoning) that a piece of ``content`` gives, after the think split."""
        if not self.split_think or state.think == "out":
            return self._tools_text(state, text), ""
        reasoning = ""
        if state.think == "start":
            buffer = state.think_held + text
            stripped = buffer.lstrip()
            if stripped.startswith(THINK_OPEN):
                state.think, state.think_held = "in", ""
                text = stripped[len(THINK_OPEN) :]
            elif THINK_OPEN.startswith(stripped):
                state.think_held = buffer  # "<thi" or only whitespace so far: undecided
                return "", ""
            elif self.thinks and not state.saw_reasoning:
                state.think, state.think_held, text = "closing", "", buffer
            else:
                state.think, state.think_held = "out", ""
                return self._tools_text(state, buffer), ""
        buffer = state.think_held + text
        end = buffer.find(THINK_CLOSE)
        if end < 0:
            if state.think == "closing":
                state.think_held = buffer
                return "", ""
            hold = held_suffix(buffer, (THINK_CLOSE,))
            cut = len(buffer) - hold
            state.think_held = buffer[cut:]
            return "", self._reasoning_text(state, buffer[:cut])
        reasoning = self._reasoning_text(state, buffer[:end])
        state.think, state.think_held, state.strip_leading = "out", "", True
        return self._tools_text(state, buffer[end + len(THINK_CLOSE) :]), reasoning

    # ------------------------------------------------------------------------ tool calls
    def _feed_tool(self, state: _Choice, position: int, call: Any) -> ToolCallDelta | None:
        if not isinstance(call, Mapping):
            raise TypeError("a tool_calls entry is not an object")
        function = call.get("function") or {}
        if not isinstance(function, Mapping):
            raise TypeError("tool_calls[].function is not an object")
        index = call.get("index", function.get("index"))
        name = function.get("name") or ""
        if not isinstance(index, int):
            # No index (non-streamed messages; Ollama's native shape keeps it in function):
            # a fragment with a name starts the next call, one without continues the last.
            index = state.last_tool + 1 if name or state.last_tool < 0 else state.last_tool
            if not name and not state.tools:
                index = position
        arguments = function.get("arguments")
        if arguments is None:
            arguments = ""
        elif isinstance(arguments, Mapping):  # Ollama native: an object [CODE api/types.go]
            arguments = dumps(arguments).decode()
        elif not isinstance(arguments, str):
            raise TypeError("tool call arguments must be a JSON string")
        call_id = call.get("id") or ""
        if not isinstance(call_id, str):
            call_id = str(call_id)
        tool = state.tools.get(index)
        delta = ToolCallDelta(index=index)
        if tool is None:
            tool = state.tools[index] = _Tool()
        if call_id and not tool.id:  # the first id wins; a repeated or later one is ignored
            tool.id = delta.id = call_id
        if name and not tool.name:
            tool.name = delta.name = name
        state.last_tool = max(state.last_tool, index)
        delta.arguments = arguments
        tool.arguments += arguments
        if delta.id is None and delta.name is None and not delta.arguments:
            return None
        return delta

    # ------------------------------------------------------------------------ the end
    def end(self) -> list[GenerationChunk]:
        """The held-back last delta of every finished choice (once)."""
        if self._flushed or not self.finished:
            return []
        self._flushed = True
        return [self._finish(index, state) for index, state in sorted(self._choices.items())]

    def _finish(self, index: int, state: _Choice) -> GenerationChunk:
        chunk = GenerationChunk(self.request_id, index=index, usage=self.usage)
        # Text still undecided: a think prefix that never became "<think>" is content, a
        # closing-only block without "</think>" was content after all, an open one reasoning.
        if state.think_held:
            if state.think == "in":
                chunk.reasoning += self._reasoning_text(state, state.think_held)
            else:
                chunk.text += self._tools_text(state, state.think_held)
            state.think_held = ""
        recovered = None
        if self.recover and not state.tools:
            content, reasoning = state.content, state.reasoning
            if content.in_call:
                recovered = recover_tool_calls(content.held, self.tools, bare_json=self.bare_json)
                if recovered is not None:
                    content.held = ""
                    chunk.text += recovered.text
                    content.emitted += recovered.text
            elif reasoning.in_call and not (content.emitted + content.held).strip():
                recovered = recover_tool_calls(reasoning.held, self.tools)
                if recovered is not None:
                    reasoning.held = ""
                    chunk.reasoning += recovered.text
                    reasoning.emitted += recovered.text
        for channel, text in ((state.reasoning, "reasoning"), (state.content, "text")):
            if channel.held:
                setattr(chunk, text, getattr(chunk, text) + channel.held)
                channel.emitted += channel.held
                channel.held = ""
        finish = state.finish_reason
        if recovered is not None:
            for position, (name, arguments) in enumerate(recovered.calls):
                call = ToolCall(
                    id="call_" + uuid.uuid4().hex[:24],
                    name=name,
                    arguments=arguments,
                    index=position,
                )
                state.recovered.append(call)
                chunk.tool_calls.append(
                    ToolCallDelta(index=position, id=call.id, name=name, arguments=arguments)
                )
            finish = "tool_calls"
            state.extras["tool_calls_recovered"] = True
        elif (
            finish == "stop"
            and not state.tools
            and not state.content.emitted.strip()
            and state.reasoning.emitted.strip()
        ):
            # The whole answer is in the reasoning (a reasoning parser that never saw
            # </think>): it is also the text, so callers that read the content get it.
            chunk.text += state.reasoning.emitted
            state.content.emitted += state.reasoning.emitted
            state.extras["answer_from_reasoning"] = True
        chunk.finish_reason = state.finish_reason = finish
        if state.extras:
            chunk.extras = {**(chunk.extras or {}), **state.extras}
        return chunk

    def result(self) -> GenerationResult:
        """Everything received so far as one result (choice 0 first)."""
        results = []
        for index, state in sorted(self._choices.items()):
            calls = [
                ToolCall(id=t.id, name=t.name, arguments=t.arguments, index=i)
                for i, t in sorted(state.tools.items())
            ] or list(state.recovered)
            extras = dict(state.extras)
            if state.logprobs:
                extras["logprobs"] = {"content": state.logprobs}
            results.append(
                GenerationResult(
                    request_id=self.request_id,
                    text=state.content.emitted,
                    reasoning=state.reasoning.emitted,
                    tool_calls=calls,
                    finish_reason=state.finish_reason,
                    usage=self.usage or Usage(),
                    index=index,
                    extras=extras,
                )
            )
        if not results:
            raise ProtocolError("the stream ended without any choice", request_id=self.request_id)
        first = results[0]
        first.choices = results
        return first

    def complete(self, body: Mapping[str, Any]) -> GenerationResult:
        """A whole (non-streamed) ``chat.completion`` body as a result."""
        self.feed(body)
        if not self.finished:
            raise _malformed("an answer without a finish_reason", self.request_id)
        self.end()
        result = self.result()
        result.raw = dict(body)
        return result
