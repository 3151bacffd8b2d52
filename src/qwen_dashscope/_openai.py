"""The OpenAI chat-completions protocol: DashScope's compatible mode and self-hosted Qwen
servers (vLLM, SGLang, Ollama, llama.cpp) speak it.

Requests: a :class:`ResolvedChat` (every DashScope/Qwen rule already applied, ``_rules``) is
written as a ``/chat/completions`` body: messages with OpenAI content parts, the standard
fields at the top level, and the Qwen extensions where each backend reads them (research
notes on the backends: thinking switch, reasoning in histories). The Batch API sends these
same bodies, one per JSONL line.

Answers: :func:`accumulator` gives the reader of a chat's answer (``_openai_stream``), which
turns chunks or a whole body into the same results as the native protocol's;
:func:`embedding_result` reads ``/embeddings`` answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._capabilities import get_model_capabilities
from ._config import BACKENDS, SELF_HOSTED, Backend
from ._errors import InvalidRequestError, ProtocolError
from ._messages import MediaPart, Message, TextPart
from ._native import WireRequest
from ._openai_stream import DONE, OpenAIAccumulator, openai_usage
from ._recovery import tool_schemas
from ._rules import ResolvedChat
from ._types import Embedding, EmbeddingResult, GenerationResult, Usage

__all__ = [
    "BACKENDS",
    "CHAT_PATH",
    "DONE",
    "EMBEDDINGS_PATH",
    "Backend",
    "OpenAIAccumulator",
    "accumulator",
    "embedding_body",
    "embedding_result",
    "generation_result",
    "openai_message",
    "query_instruction",
    "render_chat",
]

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
# Where each backend reads an assistant turn's reasoning back from a history (research
# notes §1, decision 2). Every assistant turn that has reasoning carries it: the chat
# template decides what it keeps (Qwen3 keeps the turns after the last user message, Qwen3.6
# with preserve_thinking all of them), and keeping it is what makes thinking work across a
# tool loop.
_REASONING_FIELDS: dict[str, tuple[str, ...]] = {
    "dashscope": (),  # not read (native or compatible): it would only cost input tokens
    # vLLM >= 0.16 reads only "reasoning" and dropped "reasoning_content" silently until its
    # May-2026 normaliser (which keeps "reasoning" when both come) [CODE, ISSUE vllm#38488,
    # #42664]; <= 0.11.0 read only "reasoning_content": both keys, one text.
    "vllm": ("reasoning", "reasoning_content"),
    "sglang": ("reasoning_content",),  # [CODE ChatCompletionMessageGenericParam]
    "ollama": ("reasoning",),  # [CODE openai.go FromChatRequest: Thinking: msg.Reasoning]
    "llamacpp": ("reasoning_content",),  # [DOC README, ISSUE mistral-vibe#123]
    "openai": (),
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
    if message.reasoning and message.role == "assistant":
        for field in _REASONING_FIELDS.get(backend, ()):
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
    if params.pop("incremental_output", True) is False:  # True: what OpenAI streams are
        raise InvalidRequestError(
            "incremental_output=False is an option of DashScope's native API: OpenAI-protocol "
            "streams (compatible mode, self-hosted servers, the Batch API) are always "
            "incremental, and every class hands you deltas either way; leave it unset",
            param="incremental_output",
        )
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


def accumulator(chat: ResolvedChat) -> OpenAIAccumulator:
    """The reader of ``chat``'s answer (a stream, or one whole body).

    Self-hosted backends get the repairs of a misconfigured or failing server parser
    (research notes §10, decisions 1 and 5): ``<think>`` split out of the content, and tool
    calls left as text recovered when they name a bound tool (bare JSON calls on Ollama
    only, whose older templates answer that way). DashScope's compatible mode parses on the
    service's side: nothing is rewritten there.
    """
    self_hosted = chat.backend in SELF_HOSTED
    tools = chat.parameters.get("tools") or ()
    opens_in_prompt = get_model_capabilities(chat.model).think_in_prompt
    return OpenAIAccumulator(
        tools=tool_schemas(tools),
        recover=self_hosted,
        bare_json=chat.backend == "ollama",
        split_think=self_hosted,
        thinks=chat.thinks and opens_in_prompt,
    )


def generation_result(
    body: Mapping[str, Any], chat: ResolvedChat | None = None, *, request_id: str | None = None
) -> GenerationResult:
    """A complete answer from a non-streamed ``chat.completion`` body (``chat``: the request,
    for tool-call recovery; None reads the body as it is; ``request_id``: the service's, when
    known, else the body's ``id``)."""
    reader = accumulator(chat) if chat is not None else OpenAIAccumulator()
    if request_id:
        reader.request_id = request_id
    return reader.complete(body)


def embedding_body(
    model: str,
    texts: Sequence[str],
    *,
    dimensions: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/embeddings`` body of one batch (``encoding_format`` float, as the vectors are
    returned as lists)."""
    if not texts:
        raise InvalidRequestError("texts is empty: pass at least one text", param="texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text:
            raise InvalidRequestError(
                f"texts[{i}] is empty or not a string ({text!r})", param="texts"
            )
    body: dict[str, Any] = {"model": model, "input": list(texts), "encoding_format": "float"}
    if dimensions is not None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise InvalidRequestError(
                f"dimensions must be a positive integer, got {dimensions!r}", param="dimensions"
            )
        body["dimensions"] = dimensions
    if extra:
        body.update(extra)
    return body


def query_instruction(instruct: str, text: str) -> str:
    """A Qwen3-Embedding query with its task instruction, in the model card's format (the
    servers add nothing themselves [INF research notes §6])."""
    return f"Instruct: {instruct}\nQuery:{text}"


def _normalized(vector: list[float], size: int) -> list[float]:
    cut = vector[:size]
    norm = math.sqrt(sum(v * v for v in cut))
    return [v / norm for v in cut] if norm else cut


def embedding_result(
    responses: Sequence[tuple[int, Any, str | None]],
    expected: int,
    *,
    dimensions: int | None = None,
) -> EmbeddingResult:
    """Batches' ``(offset, body, request id)`` -> one result in input order.

    A vector longer than the ``dimensions`` asked for (llama.cpp ignores the field [INF]) is
    cut and L2-normalized here, as Ollama and vLLM's Matryoshka pooling do on the server
    [CODE ollama routes.go ``normalize(embedding[:dims])``]: the same size from every server
    (research notes §10, decision 11).
    """
    items: list[Embedding] = []
    total = Usage()
    request_id = None
    for offset, body, rid in responses:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise ProtocolError(f"malformed embeddings answer: {str(body)[:200]}", request_id=rid)
        for position, item in enumerate(data):
            vector = item.get("embedding") if isinstance(item, Mapping) else None
            if not isinstance(vector, list) or not vector:
                raise ProtocolError(f"embedding {position} came back empty", request_id=rid)
            index = item.get("index")
            index = index if isinstance(index, int) else position
            if dimensions is not None and len(vector) > dimensions:
                vector = _normalized(vector, dimensions)
            items.append(Embedding(index=offset + index, vector=vector))
        usage = body.get("usage")
        if isinstance(usage, Mapping):
            used = openai_usage(usage)
            total.input_tokens += used.input_tokens
            total.total_tokens += used.total_tokens or used.input_tokens
        request_id = rid or body.get("id") or request_id
    items.sort(key=lambda e: e.index)
    if len(items) != expected:
        raise ProtocolError(
            f"asked for {expected} embeddings, received {len(items)}", request_id=request_id
        )
    return EmbeddingResult(embeddings=items, usage=total, request_id=request_id)
