"""Standard (v1) content blocks of ChatQwen's messages: langchain-core's translator for
``model_provider="dashscope"``.

``AIMessage.content_blocks`` (and ``output_version="v1"``) use it: reasoning, code-interpreter
runs as ``server_tool_call`` blocks, the text with its web-search ``citation`` annotations,
and the tool calls.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

from ._convert import MODEL_PROVIDER, citations

__all__ = ["register"]


def _blocks(message: AIMessage, *, chunk: bool) -> list[types.ContentBlock]:
    if isinstance(message.content, list):  # already standard blocks (output_version="v1")
        return cast("list[types.ContentBlock]", message.content)
    blocks: list[dict[str, Any]] = []
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "reasoning", "reasoning": reasoning})
    metadata = message.response_metadata
    tool_info = metadata.get("tool_info")
    if isinstance(tool_info, list):
        for position, run in enumerate(tool_info):
            code = run.get("code_interpreter") if isinstance(run, dict) else None
            if isinstance(code, dict):
                blocks.append(
                    {
                        "type": "server_tool_call",
                        "id": f"code_interpreter_{position}",
                        "name": "code_interpreter",
                        "args": dict(code),
                    }
                )
    if message.content:
        text: dict[str, Any] = {"type": "text", "text": message.content}
        annotations = citations(message.content, metadata)
        if annotations:
            text["annotations"] = annotations
        blocks.append(text)
    if chunk and isinstance(message, AIMessageChunk) and message.chunk_position != "last":
        blocks.extend(
            {
                "type": "tool_call_chunk",
                "id": c.get("id"),
                "name": c.get("name"),
                "args": c.get("args"),
                **({"index": c["index"]} if c.get("index") is not None else {}),
            }
            for c in message.tool_call_chunks
        )
    else:
        blocks.extend(
            {"type": "tool_call", "id": c.get("id"), "name": c["name"], "args": c["args"]}
            for c in message.tool_calls
        )
        blocks.extend(
            {
                "type": "invalid_tool_call",
                "id": c.get("id"),
                "name": c.get("name"),
                "args": c.get("args"),
                "error": c.get("error"),
            }
            for c in message.invalid_tool_calls
        )
    return cast("list[types.ContentBlock]", blocks)


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    return _blocks(message, chunk=False)


def translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _blocks(message, chunk=True)


def register() -> None:
    """Register the translator (done when ``langchain_qwen.chat_models`` is imported)."""
    register_translator(MODEL_PROVIDER, translate_content, translate_content_chunk)
