"""Self-hosted servers' OpenAI-compatible dialects: vLLM, SGLang, Ollama, llama.cpp.

A :class:`Flavour` says how one server speaks (research notes on self-hosted Qwen, §1-§7):
where it reads the thinking switch and what it does with one it does not read, the reasoning
field it writes, how it streams tool-call fragments, when it reports usage, its error
envelope, its probe endpoint. These functions validate a request into the emulator's own
``GenerationPlan`` and render a ``Turn`` as that server would. Pure; independent of the
client package (the emulator must never share the client's rules).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import ServiceError
from ._generation import Progress, ResolvedCall, Step, Turn, final_progress, unparsed_text
from ._models import ModelSpec
from ._native import merge_usage
from ._recorded import content_text
from ._tokens import count_tokens
from ._validate import GenerationPlan, InputUsage
from ._vectors import EmbeddingPlan

FlavourName = Literal["vllm", "sglang", "ollama", "llamacpp"]


@dataclass(frozen=True)
class Flavour:
    """How one self-hosted server speaks the OpenAI protocol (the presets are in
    :data:`FLAVOURS`; ``dataclasses.replace`` one to emulate another version or launch)."""

    name: FlavourName
    reasoning_keys: tuple[str, ...]
    """The reasoning field(s) of answers: vLLM >= 0.16 ``reasoning``, 0.11-0.15 both [ISSUE
    vllm#29408], SGLang and llama.cpp ``reasoning_content``, Ollama ``reasoning``."""
    version: str = "0.0.0"
    reasoning_parser: bool = True
    """False: launched without ``--reasoning-parser``: the reasoning stays in the content,
    inside ``<think>…</think>``."""
    think_in_prompt: bool = False
    """With ``reasoning_parser=False``: the model's chat template opens ``<think>`` in the
    prompt (Qwen3.5+), so the content has only the closing tag."""
    tool_parser: bool = True
    """False: launched without a tool-call parser: calls arrive as text in the content and an
    explicit ``tool_choice: "auto"`` is a 400 (vLLM)."""
    served_models: tuple[str, ...] = ()
    """The models the server serves (others: 404); empty: any name."""
    prompt_tokens_details: bool = False
    """Usage reports ``prompt_tokens_details.cached_tokens`` (vLLM
    ``--enable-prompt-tokens-details``, SGLang ``--enable-cache-report``; llama.cpp always)."""

    @property
    def honours_tool_choice(self) -> bool:
        # [DOC ollama openai-compatibility.mdx] tool_choice: not supported (ignored)
        return self.name != "ollama"


FLAVOURS: dict[str, Flavour] = {
    "vllm": Flavour("vllm", ("reasoning",), version="0.20.0"),
    "sglang": Flavour("sglang", ("reasoning_content",), version="0.5.11"),
    "ollama": Flavour("ollama", ("reasoning",), version="0.33.0"),
    "llamacpp": Flavour(
        "llamacpp", ("reasoning_content",), version="b6497", prompt_tokens_details=True
    ),
}
DEFAULT_MODELS = {
    "vllm": "Qwen/Qwen3-8B",
    "sglang": "Qwen/Qwen3-8B",
    "ollama": "qwen3:8b",
    "llamacpp": "unsloth/Qwen3-8B-GGUF",
}
_OWNER = {"vllm": "vllm", "sglang": "sglang", "ollama": "library", "llamacpp": "llamacpp"}
_FINGERPRINT = {"ollama": "fp_ollama", "llamacpp": "b6497-cd08fc3e"}
# [CODE vllm chat_completion/protocol.py] reasoning_effort Literal values
_VLLM_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
# [CODE ollama openai.go thinkFromReasoningEffort]
_OLLAMA_EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "ultra", "max", "none")
_QWEN_EOS = 151645  # SGLang's matched_stop for <|im_end|> [ISSUE sglang#26172 shows an id]


def flavour_of(value: str | Flavour) -> Flavour:
    if isinstance(value, Flavour):
        return value
    if value not in FLAVOURS:
        raise ValueError(f"unknown flavour {value!r}; use dashscope or one of {sorted(FLAVOURS)}")
    return FLAVOURS[value]


# --------------------------------------------------------------------------- models


def _base_name(model: str) -> str:
    name = model.lower().rsplit("/", 1)[-1]
    return re.sub(r"[:@].*$", "", name) if ":" in name else name


def family(model: str) -> Literal["none", "hybrid", "always", "embedding"]:
    """What a Qwen open-weight model does, from its name (the emulator's own reading)."""
    name = model.lower()
    if "embedding" in name or "embed" in name:
        return "embedding"
    if "thinking" in name or "qwq" in name:
        return "always"
    base = _base_name(model)
    if "instruct" in name or "coder" in name or "qwen2" in base:
        return "none"
    return "hybrid" if base.startswith("qwen3") else "none"


def embedding_size(model: str) -> int:
    """Qwen3-Embedding sizes: 0.6B 1024, 4B 2560, 8B 4096 (model cards)."""
    name = model.lower()
    if "8b" in name:
        return 4096
    if "4b" in name:
        return 2560
    return 1024


# --------------------------------------------------------------------------- errors


_TYPES = {400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError", 429: "RateLimitError"}


def error_body(error: ServiceError, flavour: Flavour) -> dict[str, Any]:
    """The server's error envelope for ``error``."""
    status, message = error.status, error.message
    if flavour.name == "sglang":  # [CODE sglang ErrorResponse] flat, like older vLLM
        kind = _TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
        return {"object": "error", "message": message, "type": kind, "param": None, "code": status}
    if flavour.name == "ollama":  # [CODE ollama openai.go NewError]
        kind = "invalid_request_error" if status < 500 else "api_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}
    if flavour.name == "llamacpp":  # [DOC README] {"error": {"code", "message", "type"}}
        kind = {404: "not_found_error", 401: "authentication_error"}.get(
            status, "invalid_request_error" if status < 500 else "server_error"
        )
        return {"error": {"code": status, "message": message, "type": kind}}
    kind = _TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}


def _bad(message: str) -> ServiceError:
    return ServiceError(400, "BadRequest", message)


# --------------------------------------------------------------------------- GET endpoints


def get_answer(path: str, flavour: Flavour) -> tuple[int, Any] | None:
    """Probe and listing endpoints: (status, JSON body or text), None for unknown paths."""
    if path in ("/health", "/v1/health"):
        return 200, {}
    if path == "/v1/models":
        models = flavour.served_models or (DEFAULT_MODELS[flavour.name],)
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": _OWNER[flavour.name]}
            for m in models
        ]
        return 200, {"object": "list", "data": data}
    model = (flavour.served_models or (DEFAULT_MODELS[flavour.name],))[0]
    if flavour.name == "ollama":
        if path == "/api/version":  # [CODE server/routes.go]
            return 200, {"version": flavour.version}
        if path == "/":
            return 200, "Ollama is running"
    if flavour.name == "sglang" and path in ("/get_model_info", "/model_info"):
        return 200, {"model_path": model, "tokenizer_path": model, "is_generation": True}
    if flavour.name == "llamacpp" and path == "/props":
        return 200, {
            "default_generation_settings": {"n_ctx": 16384, "model": model},
            "total_slots": 1,
            "chat_template": "{# qwen3 #}",
        }
    if flavour.name == "vllm" and path == "/version":
        return 200, {"version": flavour.version}
    return None


# --------------------------------------------------------------------------- chat requests


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _thinks(body: Mapping[str, Any], model: str, flavour: Flavour) -> bool:
    """Whether the server makes the model think, reading the switch where it reads it."""
    kind = family(model)
    effort: Any = body.get("reasoning_effort")
    if flavour.name == "ollama":
        # [CODE ollama openai.go] reasoning.effort wins over reasoning_effort; think,
        # enable_thinking and chat_template_kwargs are not fields: ignored.
        reasoning = body.get("reasoning")
        if isinstance(reasoning, Mapping) and reasoning.get("effort") is not None:
            effort = reasoning["effort"]
        if effort is not None and effort not in _OLLAMA_EFFORTS:
            raise _bad(
                f'invalid reasoning value: "{effort}" (must be "minimal", "low", "medium", '
                '"high", "xhigh", "ultra", "max", or "none")'
            )
        enable = None if effort is None else effort != "none"
    else:
        kwargs = body.get("chat_template_kwargs")
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise _bad("chat_template_kwargs must be an object")
        enable = _bool((kwargs or {}).get("enable_thinking"))
        if flavour.name == "sglang":
            if isinstance(effort, bool):
                raise _bad("reasoning_effort must not be a boolean")  # [CODE]
            reasoning = body.get("reasoning")
            if enable is None and isinstance(reasoning, Mapping):
                enable = _bool(reasoning.get("enabled"))
                effort = reasoning.get("effort", effort)
        elif flavour.name == "vllm" and effort is not None and effort not in _VLLM_EFFORTS:
            raise _bad(f"reasoning_effort: Input should be {', '.join(map(repr, _VLLM_EFFORTS))}")
        if enable is None and effort is not None:
            enable = effort != "none"  # [CODE vllm build_chat_params; llama.cpp README]
        # A top-level enable_thinking is not a field of these servers: ignored [INF].
    if kind == "always":
        return True
    if kind != "hybrid":
        return False
    return True if enable is None else enable  # Qwen3 templates think unless told not to


def _choice(body: Mapping[str, Any], flavour: Flavour) -> tuple[bool, Mapping[str, Any] | None]:
    """(tools given, the function a forced tool_choice makes the default reply call)."""
    tools = body.get("tools")
    if tools is None:
        return False, None
    if not isinstance(tools, list):
        raise _bad("tools must be a list")
    functions = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise _bad("tools[].function.name is required")
        functions.append(function)
    choice = body.get("tool_choice")
    if flavour.name == "vllm" and not flavour.tool_parser and choice == "auto":
        raise _bad(
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        )
    if not flavour.honours_tool_choice or choice in (None, "auto", "none"):
        return bool(functions), None
    if choice == "required":
        return True, functions[0] if functions else None
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        named = [f for f in functions if f["name"] == name]
        if not named:
            raise _bad(f"Tool '{name}' has not been passed in `tools`.")
        return True, named[0]
    raise _bad(f"Invalid tool_choice: {choice!r}")


def _json_schema(body: Mapping[str, Any], flavour: Flavour) -> Mapping[str, Any] | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, Mapping):
        return None
    kind = fmt.get("type")
    if kind == "json_object":
        return {}
    if kind != "json_schema":
        return None
    schema = fmt.get("json_schema")
    if isinstance(schema, Mapping) and isinstance(schema.get("schema"), Mapping):
        inner: Mapping[str, Any] = schema["schema"]
        return inner
    if flavour.name in ("sglang", "llamacpp") and isinstance(fmt.get("schema"), Mapping):
        bare: Mapping[str, Any] = fmt["schema"]  # [CODE sglang set_json_schema; DOC llama.cpp]
        return bare
    if flavour.name == "vllm":
        raise _bad(
            "When response_format type is 'json_schema', the 'json_schema' field must be provided."
        )
    return None  # Ollama: unconstrained [CODE openai.go]


def check_model(body: Any, flavour: Flavour) -> str:
    if not isinstance(body, Mapping):
        raise _bad("The request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model is required")
    if flavour.served_models and model not in flavour.served_models:
        raise ServiceError(404, "NotFound", f"The model `{model}` does not exist.")
    return model


def plan_chat(body: Any, flavour: Flavour) -> GenerationPlan:
    """Validate a ``/v1/chat/completions`` request as ``flavour``'s server does."""
    model = check_model(body, flavour)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages must be a non-empty list")
    if not all(isinstance(m, Mapping) and isinstance(m.get("role"), str) for m in messages):
        raise _bad("every message needs a role")
    stream = body.get("stream") is True
    thinking = _thinks(body, model, flavour)
    has_tools, forced = _choice(body, flavour)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _bad("max_tokens must be a positive integer")
    budget = body.get("thinking_token_budget") if flavour.name == "vllm" else None
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    text = sum(count_tokens(content_text(m.get("content"))) for m in messages)
    tools = body.get("tools")
    if tools:
        text += count_tokens(json.dumps(tools, ensure_ascii=False))
    kind = family(model)
    spec = ModelSpec(
        name=model,
        endpoint="text-generation",
        max_output=32_768,
        max_input=10**9,
        thinking="none" if kind == "embedding" else kind,
        thinking_default=True,
        nonstream_thinking=True,
    )
    return GenerationPlan(
        spec=spec,
        endpoint="compat-chat",
        stream=stream,
        result_format="message",
        incremental=True,
        thinking=thinking,
        thinking_budget=budget
        if isinstance(budget, int) and not isinstance(budget, bool)
        else None,
        max_tokens=max_tokens,
        has_tools=has_tools,
        input_usage=InputUsage(text_tokens=text),
        include_usage=include_usage,
        forced_tool=forced,
        json_schema=_json_schema(body, flavour),
    )


# --------------------------------------------------------------------------- answers


def _usage(plan: GenerationPlan, progress: Progress, flavour: Flavour) -> dict[str, Any]:
    prompt, completion = plan.input_usage.total, progress.output_tokens
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if flavour.prompt_tokens_details:
        usage["prompt_tokens_details"] = {"cached_tokens": 0}
    elif flavour.name in ("vllm", "sglang"):
        usage["prompt_tokens_details"] = None
    if flavour.name == "sglang" and plan.thinking:
        usage["reasoning_tokens"] = progress.reasoning_tokens  # top level [ISSUE sglang#26172]
    return usage


def _without_parsers(turn: Turn, plan: GenerationPlan, flavour: Flavour) -> Turn:
    """The turn as a server without its reasoning / tool parser sends it: text only."""
    if not flavour.reasoning_parser and turn.reasoning and plan.thinking:
        events: list[tuple[Step, str | None]] = []
        opened = inside = False
        for step, finish in turn.events:
            if step.reasoning:
                head = "" if opened or flavour.think_in_prompt else "<think>\n"
                opened = inside = True
                events.append((Step(content=head + step.reasoning), finish))
                continue
            if inside:
                events.append((Step(content="\n</think>\n\n"), None))
                inside = False
            events.append((step, finish))
        head = "" if flavour.think_in_prompt else "<think>\n"
        content = head + turn.reasoning + "\n</think>\n\n" + turn.content
        turn = dataclasses.replace(turn, reasoning="", content=content, events=tuple(events))
    if not flavour.tool_parser and turn.calls:
        text = unparsed_text(turn.calls, "hermes")
        steps = [(s, f) for s, f in turn.events if not s.tool_calls]
        steps.append((Step(content=text), "stop"))
        turn = dataclasses.replace(
            turn,
            content=turn.content + text,
            calls=(),
            finish_reason="stop",
            events=tuple(steps),
        )
    return turn


def _wire_call(call: ResolvedCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _envelope(
    obj: str, choices: list[dict[str, Any]], rid: str, model: str, created: int, flavour: Flavour
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid if flavour.name == "sglang" else f"chatcmpl-{rid}",
        "object": obj,
        "created": created,
        "model": model,
        "choices": choices,
    }
    if flavour.name in _FINGERPRINT:
        out["system_fingerprint"] = _FINGERPRINT[flavour.name]
    return out


def chat_body(
    plan: GenerationPlan, turn: Turn, rid: str, flavour: Flavour, *, created: int
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body."""
    turn = _without_parsers(turn, plan, flavour)
    calls = [_wire_call(c) for c in turn.calls]
    content: str | None = turn.content or (None if calls or turn.reasoning else "")
    message: dict[str, Any] = {"role": "assistant", "content": content}
    name = flavour.name
    if name == "sglang":
        message["reasoning_content"] = turn.reasoning or None
        message["tool_calls"] = calls or None
    elif name == "ollama":
        if turn.reasoning:
            message["reasoning"] = turn.reasoning  # omitempty [CODE openai.go]
        if calls:
            message["tool_calls"] = [{**c, "index": i} for i, c in enumerate(calls)]
    else:
        for key in flavour.reasoning_keys:
            message[key] = turn.reasoning or None
        message["tool_calls"] = calls
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": turn.finish_reason,
    }
    if name == "vllm":
        choice["stop_reason"] = None
    if name == "sglang":
        choice["matched_stop"] = _QWEN_EOS if turn.finish_reason == "stop" else None
    body = _envelope("chat.completion", [choice], rid, plan.spec.name, created, flavour)
    body["usage"] = merge_usage(_usage(plan, final_progress(turn), flavour), turn.usage_override)
    if name == "sglang":
        body["metadata"] = {"weight_version": "default"}
    if name == "llamacpp":
        body["timings"] = _timings(plan, final_progress(turn))
    return body


def _timings(plan: GenerationPlan, progress: Progress) -> dict[str, Any]:
    return {
        "cache_n": 0,
        "prompt_n": plan.input_usage.total,
        "prompt_ms": 1.0,
        "predicted_n": progress.output_tokens,
        "predicted_ms": 1.0,
    }


def _fragments(step: Step, flavour: Flavour) -> list[dict[str, Any]]:
    """One step's tool-call fragments in the server's shape (research notes §3)."""
    out: list[dict[str, Any]] = []
    for fragment in step.tool_calls:
        first = fragment.name is not None
        if flavour.name == "vllm":
            # [CODE hermes_tool_parser.py] name entry (no arguments key), then the arguments
            # diff: two entries for the same index in one chunk.
            if first:
                out.append(
                    {
                        "index": fragment.index,
                        "type": "function",
                        "id": fragment.id,
                        "function": {"name": fragment.name},
                    }
                )
            if fragment.arguments:
                out.append({"index": fragment.index, "function": {"arguments": fragment.arguments}})
        elif flavour.name == "sglang":
            # [CODE serving_chat] later fragments: null id and name, type kept (pydantic dump)
            out.append(
                {
                    "id": fragment.id if first else None,
                    "index": fragment.index,
                    "type": "function",
                    "function": {"name": fragment.name, "arguments": fragment.arguments},
                }
            )
        else:  # llama.cpp [INF: OpenAI-style]
            item: dict[str, Any] = {"index": fragment.index, "function": {}}
            if first:
                item.update(id=fragment.id, type="function")
                item["function"]["name"] = fragment.name
            item["function"]["arguments"] = fragment.arguments
            out.append(item)
    return out


def stream_chunks(
    plan: GenerationPlan, turn: Turn, rid: str, flavour: Flavour, *, created: int
) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of a streamed answer (``[DONE]`` not included)."""
    turn = _without_parsers(turn, plan, flavour)
    name = flavour.name
    model = plan.spec.name

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if name == "sglang":  # [CODE] chunk.model_dump_json(): every field, nulls included
            delta = {
                "role": None,
                "content": None,
                "reasoning_content": None,
                "tool_calls": None,
                **delta,
            }
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish,
        }
        if name == "vllm":
            choice["stop_reason"] = None
        if name == "sglang":
            choice["matched_stop"] = _QWEN_EOS if finish == "stop" else None
        return _envelope("chat.completion.chunk", [choice], rid, model, created, flavour)

    chunks: list[dict[str, Any]] = []
    if name != "ollama":
        first: dict[str, Any] = {"role": "assistant", "content": ""}
        if name == "llamacpp":
            first["content"] = None
        chunks.append(chunk(first))
    progress = Progress()
    for step, _ in turn.events:
        progress = progress.advance(step, turn.calls)
        role = {"role": "assistant"} if name == "ollama" else {}
        if step.reasoning:
            if name == "ollama":  # no content key in the reasoning half [CODE ToStreamChunks]
                chunks.append(chunk({**role, "reasoning": step.reasoning}))
            else:
                chunks.append(chunk({k: step.reasoning for k in flavour.reasoning_keys}))
        if step.content:
            chunks.append(chunk({**role, "content": step.content}))
        if step.tool_calls and name != "ollama":
            chunks.append(chunk({"tool_calls": _fragments(step, flavour)}))
    if name == "ollama":  # [CODE ToToolCalls] each call complete, in its own chunk
        for call in turn.calls:
            whole = {**_wire_call(call), "index": call.index}
            chunks.append(chunk({"role": "assistant", "content": "", "tool_calls": [whole]}))
    final = chunk({} if name in ("ollama", "llamacpp") else {"content": ""}, turn.finish_reason)
    chunks.append(final)
    if plan.include_usage:
        usage = merge_usage(_usage(plan, progress, flavour), turn.usage_override)
        if name == "ollama":  # a copy of the finish chunk with no choices [CODE middleware]
            last = {**final, "choices": [], "usage": usage}
        else:
            last = _envelope("chat.completion.chunk", [], rid, model, created, flavour)
            last["usage"] = usage
        if name == "llamacpp":
            last["timings"] = _timings(plan, progress)
        chunks.append(last)
    return chunks


# --------------------------------------------------------------------------- embeddings


def plan_embeddings(body: Any, flavour: Flavour) -> EmbeddingPlan:
    """Validate a ``/v1/embeddings`` request as ``flavour``'s server does."""
    model = check_model(body, flavour)
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]  # Ollama: "" becomes [""] [CODE]
    if not isinstance(texts, list) or not texts:
        raise _bad("invalid input")  # Ollama's message for [] [CODE middleware/openai.go]
    if not all(isinstance(t, str) for t in texts):
        raise _bad("invalid input: token arrays are not supported")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise _bad(
            f"Invalid value for 'encoding_format' = {encoding}. Supported values: "
            "['float', 'base64']."
        )
    size = embedding_size(model)
    dimensions = body.get("dimensions")
    if dimensions is not None and flavour.name != "llamacpp":  # llama.cpp ignores it [INF]
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise _bad("dimensions must be a positive integer")
        if 0 < dimensions < size:  # vLLM (Matryoshka) and Ollama truncate + renormalise
            size = dimensions
        elif flavour.name == "vllm" and dimensions > size:
            raise _bad(f"dimensions must be at most {size}")
    spec = ModelSpec(name=model, endpoint="text-embedding", max_batch=2048, max_text_tokens=32_768)
    return EmbeddingPlan(
        spec=spec,
        texts=tuple(texts),
        dimension=size,
        text_type="document",
        output_type="dense",
        encoding_format=encoding,
    )
