"""``ChatQwen``: Qwen chat models on DashScope's native API, as a LangChain ``BaseChatModel``."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, Generation
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from qwen_dashscope import (
    Timeouts,
    check_thinking,
    check_tool_names,
    get_model_capabilities,
    reject_booleans,
    resolve_base_url,
    validate_parameters,
)

from ._clients import AsyncCache, SyncCache, async_client, sync_client
from ._convert import V1Blocks, chunk_from_delta, message_from_result, messages_to_wire

if TYPE_CHECKING:
    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

__all__ = ["ChatQwen"]

# Declared fields that are DashScope ``parameters`` (sent as is, None dropped).
_PARAMETER_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "stop",
    "repetition_penalty",
    "presence_penalty",
    "enable_search",
    "search_options",
    "enable_thinking",
    "thinking_budget",
    "response_format",
)
# Call-time keywords that configure the adapter rather than the request.
_ADAPTER_KWARGS = frozenset(
    {"stream", "stream_usage", "model", "ls_structured_output_format", "structured_output_format"}
)
_FORCING_CHOICES = frozenset({"any", "required"})
StructuredMethod = Literal["function_calling", "json_mode", "json_schema"]


@dataclass(frozen=True, slots=True)
class _Request:
    """What one call sends: the model, the wire messages and the ``parameters``."""

    model: str
    messages: list[dict[str, Any]]
    parameters: dict[str, Any]


def _forces_tool(tool_choice: Any) -> bool:
    return tool_choice == "required" or isinstance(tool_choice, Mapping)


def _thinking_conflict(model: str, enable_thinking: bool | None, what: str) -> str | None:
    """Why ``what`` (a forced tool / JSON mode) cannot run because the model will think.

    A hybrid model with ``enable_thinking`` left unset is no conflict: the request then says
    ``enable_thinking=False`` explicitly (see ``_build_request``), whatever the model's default.
    """
    caps = get_model_capabilities(model)
    if caps.thinking == "hybrid" and enable_thinking is None:
        return None
    if not caps.thinks(enable_thinking):
        return None
    if caps.thinking == "always":
        fix = f"use a model that does not always think, or do not use {what}"
    else:
        fix = "pass enable_thinking=False (constructor or .bind(enable_thinking=False))"
    return (
        f"{what} cannot be used while {model!r} thinks "
        f"(enable_thinking={enable_thinking!r}, the model's thinking mode is "
        f"{caps.thinking!r}): DashScope rejects it in thinking mode. Fix: {fix}."
    )


def _is_hybrid(model: str) -> bool:
    return get_model_capabilities(model).thinking == "hybrid"


def _tool_name(tool: Mapping[str, Any]) -> str:
    function = tool.get("function")
    if isinstance(function, Mapping):
        return str(function.get("name", ""))
    return str(tool.get("name", ""))


def _map_tool_choice(tool_choice: Any, names: Sequence[str]) -> Any:
    """LangChain ``tool_choice`` -> DashScope's (see ``ChatQwen.bind_tools``)."""
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if not isinstance(name, str):
            raise ValueError(f"tool_choice={tool_choice!r} names no function")
        return {"type": "function", "function": {"name": name}}
    if tool_choice is None or tool_choice in ("auto", "none"):
        return tool_choice
    if tool_choice is True or tool_choice in _FORCING_CHOICES:
        if not names:
            raise ValueError(
                f"tool_choice={tool_choice!r} forces a tool call, but no tools were given; "
                "pass the tools to bind_tools, or leave tool_choice unset"
            )
        if len(names) == 1:
            return {"type": "function", "function": {"name": names[0]}}
        return "required"
    if isinstance(tool_choice, str):
        if tool_choice not in names:
            raise ValueError(
                f"tool_choice={tool_choice!r} is not one of the bound tools {list(names)}; use "
                "a tool name, 'auto', 'none', 'any' or 'required'"
            )
        return {"type": "function", "function": {"name": tool_choice}}
    raise ValueError(
        f"tool_choice={tool_choice!r} is not supported; use 'auto', 'none', 'any', "
        "'required', True, a tool name or {'type': 'function', 'function': {'name': ...}}"
    )


class _ToolOutputParser(JsonOutputKeyToolsParser):
    """First call of the schema's tool; a missing call is an error, never ``None``."""

    pydantic_schema: Any = None

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        parsed = super().parse_result(result, partial=partial)
        if parsed is None:
            if partial:
                return None
            message = getattr(result[0], "message", None) if result else None
            raise OutputParserException(
                f"the model answered without calling the {self.key_name!r} tool, so there is "
                "no structured output",
                llm_output=str(getattr(message, "content", "")),
            )
        if self.pydantic_schema is None:
            return parsed
        # pydantic.v1 models have parse_obj only
        validate = getattr(self.pydantic_schema, "model_validate", None)
        try:
            if validate is None:
                return self.pydantic_schema.parse_obj(parsed)
            return validate(parsed)
        except Exception:
            if partial:
                return None
            raise


def _mentions_json(messages: Sequence[BaseMessage]) -> bool:
    return any("json" in m.text.lower() for m in messages)


class ChatQwen(BaseChatModel):
    """Qwen chat models through DashScope's native API (Model Studio / 百炼).

    Setup:
        Install ``qwen-dashscope[langchain]`` and set your key (keys are bound to a region;
        the default is Beijing, ``region="singapore"`` for international keys):

        .. code-block:: bash

            pip install "qwen-dashscope[langchain]"
            export DASHSCOPE_API_KEY="sk-..."

    Instantiate:
        .. code-block:: python

            from langchain_qwen import ChatQwen

            llm = ChatQwen(
                model="qwen-plus",
                temperature=0.7,
                max_tokens=1024,
                # region="singapore", base_url=..., timeout=60, max_retries=2,
                # enable_thinking=..., enable_search=..., model_kwargs={"n": 1},
            )

    Invoke:
        .. code-block:: python

            msg = llm.invoke([("system", "你是一位厨师"), ("human", "用萝卜、土豆、茄子做一道菜")])
            msg.content

    Stream:
        .. code-block:: python

            for chunk in llm.stream("讲一个笑话"):
                print(chunk.content, end="", flush=True)

    Async:
        .. code-block:: python

            msg = await llm.ainvoke("你好")
            async for chunk in llm.astream("你好"):
                print(chunk.content, end="")
            results = await llm.abatch(["你好", "Hello"])

    Tools:
        .. code-block:: python

            from langchain_core.tools import tool

            @tool
            def get_weather(city: str) -> str:
                '''Current weather of a city.'''
                return "晴, 25°C"

            llm_with_tools = llm.bind_tools([get_weather])   # tool_choice="any" forces it
            msg = llm_with_tools.invoke("杭州天气怎么样？")
            msg.tool_calls  # [{'name': 'get_weather', 'args': {'city': '杭州'}, 'id': ...}]

    Structured output:
        .. code-block:: python

            from pydantic import BaseModel

            class Recipe(BaseModel):
                name: str
                ingredients: list[str]

            structured = llm.with_structured_output(Recipe)   # or method="json_schema"
            structured.invoke("用萝卜、土豆、茄子做一道菜")   # -> Recipe(...)

    Usage:
        .. code-block:: python

            msg = llm.invoke("你好")
            msg.usage_metadata
            # {'input_tokens': 9, 'output_tokens': 12, 'total_tokens': 21,
            #  'input_token_details': {'cache_read': 0}}
            msg.response_metadata["request_id"]

    Thinking:
        .. code-block:: python

            thinker = ChatQwen(model="qwen-plus", enable_thinking=True, thinking_budget=2048)
            msg = thinker.invoke("9.11 和 9.9 哪个大？")
            msg.additional_kwargs["reasoning_content"]    # also a "reasoning" content block
            [b["type"] for b in msg.content_blocks]        # ['reasoning', 'text']

    Images:
        .. code-block:: python

            vision = ChatQwen(model="qwen3-vl-plus")
            vision.invoke([{"role": "user", "content": [
                {"type": "text", "text": "描述这张图片"},
                {"type": "image", "url": "https://example.com/cat.png"},
                # or {"type": "image", "base64": "...", "mime_type": "image/png"}
                # or {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}
            ]}])
    """

    # defer_build: the pydantic schema is built on first instantiation, not at import.
    # hide_input_in_errors: a ValidationError would otherwise print the constructor's input,
    # API key included.
    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        defer_build=True,
        hide_input_in_errors=True,
    )

    model: str = Field(default="qwen-plus", alias="model_name")
    """Model name, e.g. ``qwen-plus``, ``qwen-turbo``, ``qwen3-max``, ``qwen3-vl-plus``."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("DASHSCOPE_API_KEY", default=None),
        alias="dashscope_api_key",
    )
    """DashScope API key; read from ``DASHSCOPE_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=from_env("DASHSCOPE_HTTP_BASE_URL", default=None))
    """Native API base (``https://dashscope.aliyuncs.com/api/v1``); read from
    ``DASHSCOPE_HTTP_BASE_URL`` when not given. Mutually exclusive with ``region``."""
    region: str | None = None
    """Deployment region: ``beijing`` (default), ``singapore``, ``us``, ``hongkong``,
    ``finance``. API keys only work in the region they were created in."""
    workspace: str | None = None
    """Model Studio workspace id (sent as ``X-DashScope-WorkSpace``)."""

    temperature: float | None = None
    """Sampling temperature in [0, 2)."""
    top_p: float | None = None
    """Nucleus sampling threshold in (0, 1]."""
    top_k: int | None = None
    """Top-k sampling (>= 0; None or > 100 disables it)."""
    max_tokens: int | None = None
    """Maximum output tokens (default: the model's maximum)."""
    seed: int | None = None
    """Random seed for reproducible sampling."""
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""
    repetition_penalty: float | None = None
    """Repetition penalty (> 0; 1.0 means none)."""
    presence_penalty: float | None = None
    """Presence penalty in [-2, 2]."""
    enable_search: bool | None = None
    """Let the model search the web."""
    search_options: dict[str, Any] | None = None
    """Web search options (``forced_search``, ``search_strategy``, ``enable_source``...)."""
    enable_thinking: bool | None = None
    """Thinking switch of hybrid models (None: the model's default)."""
    thinking_budget: int | None = None
    """Maximum reasoning tokens when thinking."""
    response_format: dict[str, Any] | None = None
    """``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``."""
    streaming: bool = False
    """Serve ``invoke`` by streaming (``.stream()`` always streams, with or without this)."""
    stream_usage: bool = True
    """Put the token usage on the last streamed chunk."""
    timeout: float | Timeouts | None = Field(default=None, alias="request_timeout")
    """Seconds (connect/read), or a ``qwen_dashscope.Timeouts``; default 300 s read."""
    max_retries: int = 2
    """Retries of failed requests (429, 5xx, connection errors) before giving up."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send sync requests with (proxies, mTLS, transports)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send async requests with."""

    # The transport clients, each with the settings it was built from (see ``_clients``).
    _sync_transport: SyncCache | None = PrivateAttr(default=None)
    _async_transport: AsyncCache | None = PrivateAttr(default=None)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other DashScope ``parameters`` (``n``, ``logprobs``, ``top_logprobs``,
    ``vl_high_resolution_images``, ...), sent as is."""

    # ---------------------------------------------------------------------- validation
    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Unknown constructor keywords go to ``model_kwargs`` (with a warning), never lost."""
        if not isinstance(values, dict):
            return values
        reject_booleans(values)  # before pydantic turns True into 1.0
        known: set[str] = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        if not extra:
            return values
        values = {k: v for k, v in values.items() if k in known}
        model_kwargs = dict(values.get("model_kwargs") or {})
        for key, value in extra.items():
            if key in model_kwargs:
                raise ValueError(f"{key} was given both as a keyword and in model_kwargs")
            warnings.warn(
                f"{key!r} is not a ChatQwen field; it was moved to model_kwargs and will be "
                "sent as a DashScope parameter",
                UserWarning,
                stacklevel=4,
            )
            model_kwargs[key] = value
        values["model_kwargs"] = model_kwargs
        return values

    @model_validator(mode="after")
    def _validate(self) -> Self:
        """Fail at construction, naming the parameter, for anything the service would reject."""
        fields = type(self).model_fields
        for key in self.model_kwargs:
            name = next(
                (n for n, f in fields.items() if key in (n, f.alias)),
                None,
            )
            if name is not None:
                raise ValueError(
                    f"model_kwargs[{key!r}] duplicates the {name!r} field; pass "
                    f"ChatQwen({name}=...) instead"
                )
            if key == "result_format":
                raise ValueError(
                    "model_kwargs['result_format'] is managed by ChatQwen (always 'message')"
                )
        validate_parameters(self._default_parameters)
        resolve_base_url(self.base_url, self.region)
        Timeouts.of(self.timeout)
        if isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {self.max_retries!r}")
        check_thinking(self.model, self.enable_thinking)
        return self

    # ---------------------------------------------------------------------- LangChain API
    @property
    def _llm_type(self) -> str:
        return "qwen-dashscope"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_qwen", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "DASHSCOPE_API_KEY"}

    @property
    def _default_parameters(self) -> dict[str, Any]:
        """The DashScope ``parameters`` this instance sends (None values dropped)."""
        fields = self.__dict__
        params = {name: fields[name] for name in _PARAMETER_FIELDS if fields[name] is not None}
        if "stop" in params and not params["stop"]:
            del params["stop"]  # LangChain passes stop=[] for "no stop sequences"
        if self.model_kwargs:
            params.update(self.model_kwargs)
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, **self._default_parameters}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        ls_params = LangSmithParams(
            ls_provider="dashscope",
            ls_model_name=str(kwargs.get("model", self.model)),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            ls_params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            ls_params["ls_max_tokens"] = max_tokens
        ls_stop = stop or kwargs.get("stop", self.stop)
        if ls_stop:
            ls_params["ls_stop"] = [ls_stop] if isinstance(ls_stop, str) else list(ls_stop)
        return ls_params

    def _resolve_model_profile(self) -> ModelProfile | None:
        caps = get_model_capabilities(self.model)
        if not caps.known:
            return None
        return ModelProfile(
            max_input_tokens=caps.context_window,
            max_output_tokens=caps.max_output,
            text_inputs=True,
            text_outputs=True,
            image_inputs=caps.vision,
            image_url_inputs=caps.vision,
            reasoning_output=caps.thinking != "none",
            tool_calling=caps.tools,
            tool_choice=caps.tools and caps.thinking != "always",
            tool_call_streaming=caps.tools,
        )

    # ---------------------------------------------------------------------- clients
    @property
    def _client(self) -> DashScopeClient:
        self._sync_transport = sync_client(self, self._sync_transport)
        return self._sync_transport[1]

    @property
    def _async_client(self) -> AsyncDashScopeClient:
        self._async_transport = async_client(self, self._async_transport)
        return self._async_transport[1]

    # ---------------------------------------------------------------------- payload
    def _build_request(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        *,
        stream: bool = False,
        **kwargs: Any,
    ) -> _Request:
        """The one payload builder (pure): instance settings < model_kwargs < call kwargs."""
        model = str(kwargs.get("model") or self.model)
        params = self._default_parameters
        params.update({k: v for k, v in kwargs.items() if k not in _ADAPTER_KWARGS})
        if stop:
            params["stop"] = stop
        elif not params.get("stop"):
            params.pop("stop", None)
        params = {k: v for k, v in params.items() if v is not None}
        if stream and params.get("n", 1) != 1:
            # A stream is one message: several choices would interleave their deltas.
            raise ValueError(
                f"n={params['n']!r} cannot be streamed (a stream is one message); use invoke() "
                "or batch() for several answers, or leave n unset"
            )
        if "tool_choice" in params and _forces_tool(params["tool_choice"]):
            problem = _thinking_conflict(
                model,
                params.get("enable_thinking"),
                f"tool_choice={params['tool_choice']!r} (a forced tool call)",
            )
            if problem:
                raise ValueError(problem)
            if "enable_thinking" not in params and _is_hybrid(model):
                # Forced tools are rejected in thinking mode; the user asked for a tool, not
                # for thinking, so say so rather than rely on the model's default.
                params["enable_thinking"] = False
        return _Request(model=model, messages=messages_to_wire(messages), parameters=params)

    def _chat_result(self, result: Any, model: str) -> ChatResult:
        choices = result.choices or [result]
        generations = [
            ChatGeneration(
                message=message_from_result(choice, model=model),
                generation_info={"finish_reason": choice.finish_reason},
            )
            for choice in choices
        ]
        return ChatResult(generations=generations, llm_output={"model_name": model})

    def _use_stream_for_generate(self, kwargs: Mapping[str, Any]) -> bool:
        return bool(kwargs.get("stream", self.streaming))

    # ---------------------------------------------------------------------- calls
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._use_stream_for_generate(kwargs):
            chunks = self._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
            return _result_from_chunks(chunks)
        request = self._build_request(messages, stop, **kwargs)
        result = self._client.generate(request.model, request.messages, request.parameters)
        return self._chat_result(result, request.model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._use_stream_for_generate(kwargs):
            chunks = [
                chunk
                async for chunk in self._astream(
                    messages, stop=stop, run_manager=run_manager, **kwargs
                )
            ]
            return _result_from_chunks(iter(chunks))
        request = self._build_request(messages, stop, **kwargs)
        client = self._async_client
        result = await client.generate(request.model, request.messages, request.parameters)
        return self._chat_result(result, request.model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._build_request(messages, stop, stream=True, **kwargs)
        v1 = V1Blocks() if self.output_version == "v1" else None
        deltas = self._client.stream(request.model, request.messages, request.parameters)
        try:
            for delta in deltas:
                if not _has_output(delta):
                    continue
                chunk = ChatGenerationChunk(
                    message=chunk_from_delta(
                        delta, model=request.model, stream_usage=stream_usage, v1=v1
                    )
                )
                if run_manager:
                    run_manager.on_llm_new_token(delta.text, chunk=chunk)
                yield chunk
        finally:
            deltas.close()  # closes the HTTP response when the caller stops early

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._build_request(messages, stop, stream=True, **kwargs)
        v1 = V1Blocks() if self.output_version == "v1" else None
        deltas = self._async_client.stream(request.model, request.messages, request.parameters)
        try:
            async for delta in deltas:
                if not _has_output(delta):
                    continue
                chunk = ChatGenerationChunk(
                    message=chunk_from_delta(
                        delta, model=request.model, stream_usage=stream_usage, v1=v1
                    )
                )
                if run_manager:
                    await run_manager.on_llm_new_token(delta.text, chunk=chunk)
                yield chunk
        finally:
            await deltas.aclose()

    # ---------------------------------------------------------------------- tools
    def _effective_thinking(self, kwargs: Mapping[str, Any]) -> tuple[str, bool | None]:
        model = str(kwargs.get("model") or self.model)
        if "enable_thinking" in kwargs:
            return model, kwargs["enable_thinking"]
        return model, self.enable_thinking

    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any LangChain form: ``@tool``, pydantic, TypedDict, function, dict).

        ``tool_choice``:

        * ``"auto"`` (the service default) / ``"none"``: sent as is.
        * a tool name, or ``{"type": "function", "function": {"name": ...}}``: that tool is
          forced.
        * ``"any"`` / ``"required"`` / ``True``: with exactly one tool, that tool is forced by
          name; with several, ``"required"`` is sent (the model must call at least one; the
          current service accepts it outside thinking mode).
        * Thinking mode: DashScope rejects forced tools while the model thinks. On a hybrid
          model with ``enable_thinking`` unset, a forced call is sent with
          ``enable_thinking=False`` (you asked for a tool, not for thinking). With
          ``enable_thinking=True``, or on a model that always thinks, a forcing
          ``tool_choice`` raises ``ValueError`` here (naming both settings and the fix)
          instead of being silently rewritten to ``"auto"``.

        ``parallel_tool_calls=True`` lets the model call several tools in one turn (the
        service default is False). ``strict`` is passed to ``convert_to_openai_tool``.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        names = [_tool_name(t) for t in formatted]
        check_tool_names(names)
        choice = _map_tool_choice(tool_choice, names)
        if _forces_tool(choice):
            model, thinking = self._effective_thinking(kwargs)
            problem = _thinking_conflict(
                model, thinking, f"tool_choice={tool_choice!r} (a forced tool call)"
            )
            if problem:
                raise ValueError(problem)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    # ---------------------------------------------------------------------- structured
    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """A runnable returning ``schema`` instances (pydantic) or dicts (TypedDict, JSON schema).

        ``method``:

        * ``"function_calling"`` (default): the schema becomes a tool and the call is forced,
          so the result is never ``None``. Forced tools are rejected while the model thinks:
          on a hybrid model this runnable (only) sends ``enable_thinking=False``, whatever
          the instance says; on a model that always thinks, the tool is offered with
          ``tool_choice="auto"`` and an answer without the tool call raises
          ``OutputParserException``.
        * ``"json_mode"``: ``response_format={"type": "json_object"}``. The service requires the
          word "json" in the messages; when it is absent a short system instruction naming JSON
          and the schema is added.
        * ``"json_schema"``: ``response_format={"type": "json_schema", ...}`` with the schema.

        JSON modes do not work while thinking: a hybrid model gets ``enable_thinking=False``
        for this runnable, a model that always thinks raises ``ValueError``.
        """
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        model, thinking = self._effective_thinking({})
        caps = get_model_capabilities(model)
        thinks = caps.thinks(thinking)
        bind_kwargs: dict[str, Any] = {}
        ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: OutputParserLike[Any] | Runnable[Any, Any]
        llm: Runnable[LanguageModelInput, Any]
        prepare: Runnable[Any, Any] | None = None
        if method == "function_calling":
            if schema is None:
                raise ValueError("method='function_calling' needs a schema")
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            tool_choice: Any = name
            if thinks and caps.thinking == "always":
                tool_choice = "auto"
            elif caps.thinking == "hybrid":
                bind_kwargs["enable_thinking"] = False
            llm = self.bind_tools(
                [schema],
                tool_choice=tool_choice,
                strict=strict,
                ls_structured_output_format=ls_format,
                **bind_kwargs,
            )
            parser = _ToolOutputParser(
                key_name=name,
                first_tool_only=True,
                pydantic_schema=schema if is_pydantic else None,
            )
        elif method in ("json_mode", "json_schema"):
            if thinks and caps.thinking == "always":
                raise ValueError(
                    f"method={method!r} cannot be used with {model!r}, which always thinks "
                    "(DashScope rejects JSON output in thinking mode); use "
                    "method='function_calling'"
                )
            if caps.thinking == "hybrid":
                bind_kwargs["enable_thinking"] = False
            if method == "json_mode":
                response_format: dict[str, Any] = {"type": "json_object"}
                prepare = RunnableLambda(self._json_instruction(schema))
            else:
                if schema is None:
                    raise ValueError("method='json_schema' needs a schema")
                response_format = {"type": "json_schema", "json_schema": _json_schema(schema)}
                if strict is not None:
                    response_format["json_schema"]["strict"] = strict
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format=ls_format,
                **bind_kwargs,
            )
            if prepare is not None:
                llm = prepare | llm
            parser = (
                PydanticOutputParser(pydantic_object=cast(Any, schema))
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method={method!r}: use 'function_calling', 'json_mode' or 'json_schema'"
            )
        if include_raw:
            parser_assign = RunnablePassthrough.assign(
                parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
            )
            parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
            with_fallback = parser_assign.with_fallbacks(
                [parser_none], exception_key="parsing_error"
            )
            return RunnableMap(raw=llm) | with_fallback
        return llm | parser

    def _json_instruction(
        self, schema: Mapping[str, Any] | type | None
    ) -> Callable[[LanguageModelInput], list[BaseMessage]]:
        """Input -> messages that mention JSON (the service requires it for json_object)."""
        if schema is None:
            instruction = "Respond with a single JSON object."
        else:
            schema_json = json.dumps(_json_schema(schema)["schema"], ensure_ascii=False)
            instruction = (
                "Respond with a single JSON object that matches this JSON schema: " + schema_json
            )

        def add(value: LanguageModelInput) -> list[BaseMessage]:
            messages = self._convert_input(value).to_messages()
            if _mentions_json(messages):
                return messages
            if messages and isinstance(messages[0], SystemMessage):
                first = messages[0]
                content: Any = (
                    f"{first.content}\n\n{instruction}"
                    if isinstance(first.content, str)
                    else [*first.content, {"type": "text", "text": "\n\n" + instruction}]
                )
                return [first.model_copy(update={"content": content}), *messages[1:]]
            return [SystemMessage(instruction), *messages]

        return add


def _json_schema(schema: Mapping[str, Any] | type) -> dict[str, Any]:
    """``json_schema`` object of ``response_format``: name, description, schema."""
    if isinstance(schema, Mapping) and "function" in schema:  # an OpenAI tool dict
        function = schema["function"]
        return {
            "name": function["name"],
            **({"description": function["description"]} if function.get("description") else {}),
            "schema": function.get("parameters", {}),
        }
    json_schema = dict(convert_to_json_schema(cast(Any, schema)))
    name = str(json_schema.pop("title", None) or "output")
    description = json_schema.pop("description", None)
    out: dict[str, Any] = {"name": name, "schema": json_schema}
    if description:
        out["description"] = description
    return out


def _has_output(delta: Any) -> bool:
    return bool(delta.text or delta.reasoning or delta.tool_calls or delta.finish_reason)


def _result_from_chunks(chunks: Iterator[ChatGenerationChunk]) -> ChatResult:
    """Aggregate streamed chunks into one result (``streaming=True``)."""
    merged: ChatGenerationChunk | None = None
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
    if merged is None:
        raise ValueError("the stream ended without any output")
    message = merged.message
    assert isinstance(message, AIMessageChunk)
    final = AIMessage(
        content=message.content,
        additional_kwargs=message.additional_kwargs,
        tool_calls=message.tool_calls,
        invalid_tool_calls=message.invalid_tool_calls,
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        id=message.id,
    )
    return ChatResult(
        generations=[ChatGeneration(message=final, generation_info=merged.generation_info)]
    )
