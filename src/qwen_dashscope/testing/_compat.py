"""OpenAI-compatible mode bodies and stream chunks (protocol doc §7). Pure functions."""

from __future__ import annotations

from typing import Any

from ._generation import Progress, ToolFragment, Turn, final_progress
from ._native import cache_details, dumps, merge_usage
from ._validate import GenerationPlan

DONE_FRAME = b"data: [DONE]\n\n"


def compat_frame(data: Any) -> bytes:
    """One compat SSE event: ``data: {json}`` and a blank line [DOC]."""
    return f"data: {dumps(data)}\n\n".encode()


def compat_usage(plan: GenerationPlan, progress: Progress, *, details: bool) -> dict[str, Any]:
    prompt = plan.input_usage.total
    completion = progress.output_tokens
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if plan.thinking:
        usage["completion_tokens_details"] = {"reasoning_tokens": progress.reasoning_tokens}
    if details:
        usage["prompt_tokens_details"] = cache_details(plan)
    return usage


def _envelope(
    obj: str, choices: list[dict[str, Any]], request_id: str, model: str, created: int
) -> dict[str, Any]:
    return {
        "choices": choices,
        "object": obj,
        "usage": None,
        "created": created,
        "system_fingerprint": None,
        "model": model,
        "id": f"chatcmpl-{request_id}",
    }


def compat_body(
    plan: GenerationPlan, turn: Turn, request_id: str, *, created: int
) -> dict[str, Any]:
    """Non-streaming chat.completion body [3P-CAP compat-chat-completion.json]."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if plan.thinking:
        message["reasoning_content"] = turn.reasoning
    if turn.calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
                "index": call.index,
            }
            for call in turn.calls
        ]
    choice = {"message": message, "finish_reason": turn.finish_reason, "index": 0, "logprobs": None}
    body = _envelope("chat.completion", [choice], request_id, plan.spec.name, created)
    usage = compat_usage(plan, final_progress(turn), details=True)
    body["usage"] = merge_usage(usage, turn.usage_override)
    return body


def compat_stream_chunks(
    plan: GenerationPlan, turn: Turn, request_id: str, *, created: int
) -> list[dict[str, Any]]:
    """Every chat.completion.chunk of a streamed answer (without the ``[DONE]`` sentinel)."""

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"delta": delta, "index": 0, "logprobs": None, "finish_reason": finish}
        return _envelope("chat.completion.chunk", [choice], request_id, plan.spec.name, created)

    # [DOC] the first chunk only announces the role.
    first: dict[str, Any] = {"content": "", "role": "assistant"}
    if plan.thinking:
        first = {"content": None, "role": "assistant", "reasoning_content": ""}
    chunks = [chunk(first, None)]
    progress = Progress()
    for step, finish in turn.events:
        progress = progress.advance(step, turn.calls)
        delta: dict[str, Any]
        if step.reasoning:
            delta = {"content": None, "reasoning_content": step.reasoning}
        elif step.tool_calls:
            delta = {"content": None, "tool_calls": [_fragment(f) for f in step.tool_calls]}
        else:
            delta = {"content": step.content}
            if plan.thinking:
                delta["reasoning_content"] = None
        chunks.append(chunk(delta, finish))
    if plan.include_usage:
        usage_chunk = _envelope("chat.completion.chunk", [], request_id, plan.spec.name, created)
        usage_chunk["usage"] = merge_usage(
            compat_usage(plan, progress, details=False), turn.usage_override
        )
        chunks.append(usage_chunk)
    return chunks


def _fragment(fragment: ToolFragment) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": fragment.arguments}
    if fragment.name is not None:
        function = {"name": fragment.name, "arguments": fragment.arguments}
    return {"index": fragment.index, "id": fragment.id, "type": "function", "function": function}
