"""Native DashScope response bodies and SSE frames (protocol doc §4, §5). Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._generation import Progress, ResolvedCall, Step, Turn, final_progress
from ._validate import GenerationPlan


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8, as the service sends it [CAP]."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse_frame(event_id: int, event: str, status: int, data: Mapping[str, Any]) -> bytes:
    """One native SSE event, byte-for-byte as §5.1 (no spaces after colons, blank line)."""
    return f"id:{event_id}\nevent:{event}\n:HTTP_STATUS/{status}\ndata:{dumps(data)}\n\n".encode()


def merge_usage(usage: dict[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply a Reply's usage override (nested dicts merged); total follows input+output unless
    the override sets it."""
    if not override:
        return usage
    merged = dict(usage)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "total_tokens" in merged and "total_tokens" not in override:
        for inp, out in (("input_tokens", "output_tokens"), ("prompt_tokens", "completion_tokens")):
            if inp in merged and out in merged:
                merged["total_tokens"] = merged[inp] + merged[out]
    return merged


def cache_details(plan: GenerationPlan) -> dict[str, Any]:
    """``prompt_tokens_details`` with the explicit cache's figures when markers were sent
    [3P-CAP context-cache usage objects; DOC field names]."""
    if not plan.cache_points:
        return {"cached_tokens": 0}
    return {
        "cached_tokens": plan.cache_read,
        "cache_creation_input_tokens": plan.cache_created,
        "cache_type": "ephemeral",
        "cache_creation": {"ephemeral_5m_input_tokens": plan.cache_created},
    }


def native_usage(plan: GenerationPlan, progress: Progress) -> dict[str, Any]:
    """Cumulative usage for the output produced so far (§4.3)."""
    source = plan.input_usage
    output = progress.output_tokens
    usage: dict[str, Any] = {
        "total_tokens": source.total + output,
        "output_tokens": output,
        "input_tokens": source.total,
    }
    reasoning = progress.reasoning_tokens
    if plan.endpoint == "multimodal-generation":
        usage["image_tokens"] = source.image_tokens
        if source.video_tokens:
            usage["video_tokens"] = source.video_tokens
        if source.audio_tokens:
            usage["audio_tokens"] = source.audio_tokens
        details: dict[str, int] = {
            "text_tokens": source.text_tokens,
            "image_tokens": source.image_tokens,
        }
        if source.video_tokens:
            details["video_tokens"] = source.video_tokens
        if source.audio_tokens:
            details["audio_tokens"] = source.audio_tokens
        usage["input_tokens_details"] = details
        out_details = {"text_tokens": output - reasoning}
        if plan.thinking:
            out_details["reasoning_tokens"] = reasoning
        usage["output_tokens_details"] = out_details
        if plan.cache_points:
            usage["prompt_tokens_details"] = cache_details(plan)
    else:
        if plan.thinking:
            usage["output_tokens_details"] = {"reasoning_tokens": reasoning}
        usage["prompt_tokens_details"] = cache_details(plan)
    if plan.search is not None:
        usage["plugins"] = {"search": {"count": 1, "strategy": plan.search.strategy}}
    return usage


def _content(plan: GenerationPlan, text: str) -> str | list[dict[str, str]]:
    if plan.list_content:
        # [CAP §5.8] multimodal content is a list of {"text"} items, [] when empty.
        return [{"text": text}] if text else []
    return text


def _full_call(call: ResolvedCall, arguments: str) -> dict[str, Any]:
    return {
        "index": call.index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def _fragment(index: int, call_id: str, name: str | None, arguments: str) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function = {"name": name, "arguments": arguments}
    return {"index": index, "id": call_id, "type": "function", "function": function}


def _stream_output(
    plan: GenerationPlan, step: Step, progress: Progress, finish: str | None
) -> dict[str, Any]:
    # [CAP §0.1] non-final events carry finish_reason as the STRING "null".
    reason = finish or "null"
    cumulative = not plan.incremental
    if plan.result_format == "text":
        return {"finish_reason": reason, "text": progress.content if cumulative else step.content}
    message: dict[str, Any] = {
        "content": _content(plan, progress.content if cumulative else step.content)
    }
    if plan.thinking:
        message["reasoning_content"] = progress.reasoning if cumulative else step.reasoning
    if cumulative and progress.arguments:
        # Cumulative mode repeats every call so far, with full id/name and arguments so far.
        message["tool_calls"] = [_full_call(call, args) for call, args in progress.arguments]
    elif not cumulative and step.tool_calls:
        message["tool_calls"] = [
            _fragment(f.index, f.id, f.name, f.arguments) for f in step.tool_calls
        ]
    message["role"] = "assistant"
    return {"choices": [{"message": message, "index": 0, "finish_reason": reason}]}


def native_stream_events(plan: GenerationPlan, turn: Turn, request_id: str) -> list[dict[str, Any]]:
    """The ``data`` objects of every ``event:result`` frame of a streamed answer.

    Web search [CAP single-generation-message-search-sse]: the sources come once (a first
    event of their own, with ``"usage": {}``, when ``prepend_search_result``; else with the
    first answer event); every later event repeats ``search_info`` with empty lists.
    """
    events: list[dict[str, Any]] = []
    progress = Progress()
    search = plan.search
    if search is not None and search.prepend and turn.search_results:
        events.append(
            {
                "output": {
                    **_stream_output(plan, Step(), progress, None),
                    "search_info": {"search_results": list(turn.search_results)},
                },
                "usage": {},
                "request_id": request_id,
            }
        )
    for step, finish in turn.events:
        progress = progress.advance(step, turn.calls)
        output = _stream_output(plan, step, progress, finish)
        if search is not None and search.enable_source:
            first = not events and not search.prepend
            output["search_info"] = (
                {"search_results": list(turn.search_results)}
                if first
                else {"extra_tool_info": [], "search_results": []}
            )
        events.append(
            {
                "output": output,
                "usage": merge_usage(native_usage(plan, progress), turn.usage_override),
                "request_id": request_id,
            }
        )
    return events


def native_body(plan: GenerationPlan, turn: Turn, request_id: str) -> dict[str, Any]:
    """The non-streaming response body (§4.1, §4.2)."""
    progress = final_progress(turn)
    output: dict[str, Any]
    if plan.result_format == "text":
        output = {"finish_reason": turn.finish_reason, "text": turn.content}
    else:
        message: dict[str, Any] = {"role": "assistant", "content": _content(plan, turn.content)}
        if plan.thinking:
            message["reasoning_content"] = turn.reasoning
        if turn.calls:
            message["tool_calls"] = [
                {
                    "function": {"name": call.name, "arguments": call.arguments},
                    "index": call.index,
                    "id": call.id,
                    "type": "function",
                }
                for call in turn.calls
            ]
        output = {
            "choices": [{"finish_reason": turn.finish_reason, "index": 0, "message": message}]
        }
    if plan.search is not None and plan.search.enable_source:
        output["search_info"] = {"search_results": list(turn.search_results)}
    return {
        "output": output,
        "usage": merge_usage(native_usage(plan, progress), turn.usage_override),
        "request_id": request_id,
    }
