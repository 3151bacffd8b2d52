"""The OpenAI chat-completions protocol, request side: DashScope's compatible mode and
self-hosted Qwen servers (vLLM, SGLang, Ollama, llama.cpp) speak it.

A :class:`ResolvedChat` (every DashScope/Qwen rule already applied, ``_rules``) is written as
a ``/chat/completions`` body: messages with OpenAI content parts, the standard fields at the
top level, and the Qwen extensions where each backend reads them (research notes on the
backends: thinking switch, reasoning in histories). The Batch API sends these same bodies, one
per JSONL line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ._errors import InvalidRequestError
from ._messages import MediaPart, Message, TextPart
from ._native import WireRequest
from ._rules import ResolvedChat

__all__ = [
    "BACKENDS",
    "CHAT_PATH",
    "EMBEDDINGS_PATH",
    "Backend",
    "embedding_body",
    "openai_message",
    "render_chat",
]

Backend = Literal["dashscope", "vllm", "sglang", "ollama", "llamacpp", "openai"]
BACKENDS: tuple[str, ...] = ("dashscope", "vllm", "sglang", "ollama", "llamacpp", "openai")

CHAT_PATH = "/chat/completions"
EMBEDDINGS_PATH = "/embeddings"

# Fields of the OpenAI request body itself (everything else is a Qwen/DashScope extension).
_STANDARD = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "stop",
    "n",
    "presence_penalty",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "logprobs",
    "top_logprobs",
)
# Sampling extensions self-hosted servers take at the top level too (vLLM, SGLang, llama.cpp).
_SAMPLING = ("top_k", "repetition_penalty")
# What only DashScope's service does: refused elsewhere instead of silently ignored there.
_DASHSCOPE_ONLY = (
    "enable_search",
    "search_options",
    "enable_code_interpreter",
    "vl_high_resolution_images",
    "max_input_tokens",
    "translation_options",
)
# Where each backend writes an assistant turn's reasoning back in a history.
_REASONING_FIELD: dict[str, str | None] = {
    "dashscope": None,  # not read (native or compatible): it would only cost input tokens
    "vllm": "reasoning",  # vLLM >= 0.16 reads only "reasoning" (earlier ones read it too)
    "sglang": "reasoning_content",
    "ollama": "reasoning",
    "llamacpp": "reasoning_content",
    "openai": None,
}


def _text_part(part: TextPart) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        item["cache_control"] = dict(part.cache_control)
    return item


def _media_part(part: MediaPart) -> dict[str, Any]:
    item: dict[str, Any]
    if part.kind == "image":
        item = {"type": "image_url", "image_url": {"url": part.source, **part.options}}
    elif part.kind == "video":
        if isinstance(part.source, tuple):  # DashScope compatible mode: a list of frames
            item = {"type": "video", "video": list(part.source)}
        else:
            item = {"type": "video_url", "video_url": {"url": part.source}}
    else:
        source = str(part.source)
        if source.startswith("data:"):
            header, _, data = source.partition(",")
            audio_format = header.split("/")[-1].split(";")[0] or "wav"
            item = {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}
        else:
            item = {"type": "input_audio", "input_audio": {"data": source, "format": "mp3"}}
    if part.cache_control is not None:
        item["cache_control"] = dict(part.cache_control)
    return item


def _content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    parts = message.parts
    if all(isinstance(p, TextPart) and p.cache_control is None for p in parts):
        # Joined as given, as on the native text endpoint.
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    return [_text_part(p) if isinstance(p, TextPart) else _media_part(p) for p in parts]


def openai_message(message: Message, backend: Backend = "dashscope") -> dict[str, Any]:
    """One message as the chat-completions API takes it."""
    wire: dict[str, Any] = {"role": message.role, "content": _content(message)}
    if message.tool_calls:
        wire["tool_calls"] = [call.to_wire() for call in message.tool_calls]
        if wire["content"] == "":
            wire["content"] = None  # the OpenAI convention for a turn that only calls tools
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.partial:
        if backend != "dashscope":
            raise InvalidRequestError(
                "partial mode (an assistant prefix to continue) is DashScope's; self-hosted "
                "OpenAI-compatible servers do not take it",
                param="partial",
            )
        wire["partial"] = True
    field = _REASONING_FIELD.get(backend)
    if field and message.reasoning and message.role == "assistant":
        wire[field] = message.reasoning
    if message.extra:
        wire.update(message.extra)
    return wire


def _thinking(params: dict[str, Any], body: dict[str, Any], backend: Backend) -> None:
    """Put ``enable_thinking`` / ``thinking_budget`` where ``backend`` reads them."""
    enable = params.pop("enable_thinking", None)
    budget = params.pop("thinking_budget", None)
    if enable is None and budget is None:
        return
    if backend == "dashscope":
        if enable is not None:
            body["enable_thinking"] = enable
        if budget is not None:
            body["thinking_budget"] = budget
    elif backend in ("vllm", "sglang", "llamacpp"):
        if enable is not None:
            kwargs = dict(body.get("chat_template_kwargs") or {})
            kwargs.setdefault("enable_thinking", enable)
            body["chat_template_kwargs"] = kwargs
        if budget is not None:
            if backend != "vllm":
                raise InvalidRequestError(
                    f"thinking_budget is not supported by {backend} (vLLM takes it as "
                    "thinking_token_budget); leave it unset or set the server's budget",
                    param="thinking_budget",
                )
            body["thinking_token_budget"] = budget
    elif backend == "ollama":
        if budget is not None:
            raise InvalidRequestError(
                "thinking_budget is not supported by Ollama; leave it unset",
                param="thinking_budget",
            )
        if enable is False:
            body["reasoning_effort"] = "none"  # Ollama's /v1 ignores think / template kwargs
    else:
        raise InvalidRequestError(
            "enable_thinking / thinking_budget are Qwen switches the backend 'openai' does not "
            "take; set backend= to the server you run (vllm, sglang, ollama, llamacpp)",
            param="enable_thinking",
        )


def render_chat(chat: ResolvedChat, *, backend: Backend = "dashscope") -> WireRequest:
    """The ``/chat/completions`` request for a resolved chat (path relative to the ``/v1``
    base)."""
    params = dict(chat.parameters)
    params.pop("result_format", None)
    params.pop("incremental_output", None)  # OpenAI streams are always incremental
    body: dict[str, Any] = {
        "model": chat.model,
        "messages": [openai_message(m, backend) for m in chat.messages],
    }
    for name in _STANDARD:
        if name in params:
            body[name] = params.pop(name)
    _thinking(params, body, backend)
    for name in _SAMPLING:
        if name in params:
            body[name] = params.pop(name)
    if backend != "dashscope":
        for name in _DASHSCOPE_ONLY:
            if name in params:
                raise InvalidRequestError(
                    f"{name} is a DashScope service feature; the {backend} server does not have it",
                    param=name,
                )
    body.update(params)  # other extensions: DashScope compatible mode reads them top-level
    if chat.wire_stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return WireRequest(path=CHAT_PATH, body=body, stream=chat.wire_stream)


def embedding_body(
    model: str,
    texts: Sequence[str],
    *,
    dimensions: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/embeddings`` body of one batch (``encoding_format`` float, as the vectors are
    returned as lists)."""
    body: dict[str, Any] = {"model": model, "input": list(texts), "encoding_format": "float"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    if extra:
        body.update(extra)
    return body
