"""``ChatQwen``: Qwen chat models as a LangChain ``BaseChatModel``, on DashScope's native API,
its compatible mode, or a self-hosted OpenAI-compatible server (vLLM, SGLang, Ollama...)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    convert_to_messages,
    message_to_dict,
    messages_from_dict,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from qwen_dashscope import (
    GENERATION_PARAMETERS,
    BatchJob,
    BatchLimits,
    BulkOptions,
    ChatRequest,
    ClientCache,
    ClientSettings,
    check_field,
    check_max_connections,
    check_thinking,
    check_tool_binding,
    connection_options,
    get_model_capabilities,
    normalize_tool_choice,
    region_beats_environment,
    reject_booleans,
    reject_credentials,
    sort_unknown_keywords,
    validate_parameters,
)
from qwen_dashscope._jobs import batch_job, submit_chat_batch
from qwen_dashscope._runner import (
    Checkpoint,
    estimate_chat_tokens,
    request_key,
    run_async,
    run_sync,
)

from ._blocks import register as _register_blocks
from ._convert import V1Blocks, chunk_from_delta, message_from_result, messages_to_neutral
from ._structured import StructuredMethod, structured_runnable

if TYPE_CHECKING:
    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient, GenerationChunk

__all__ = ["ChatQwen"]

_register_blocks()  # standard content blocks for model_provider="dashscope"

# Call-time keywords that configure the adapter rather than the request.
_ADAPTER_KWARGS = frozenset(
    {"stream", "stream_usage", "ls_structured_output_format", "structured_output_format"}
)


def _total_tokens(message: Any) -> int:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("total_tokens") or 0)


def _bulk_options(
    config: RunnableConfig,
    count: int,
    *,
    requests_per_minute: float | None,
    tokens_per_minute: float | None,
    progress: bool,
    row_retries: int,
    return_exceptions: bool,
    threads: bool,
) -> BulkOptions:
    """LangChain's ``max_concurrency`` (None: LangChain's own default, threads for ``batch``,
    unbounded for ``abatch``) plus the bulk options."""
    limit = config.get("max_concurrency")
    if limit is None:
        import os

        limit = min(32, (os.cpu_count() or 1) + 4) if threads else max(1, count)
    return BulkOptions(
        max_concurrency=limit,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        row_retries=row_retries,
        progress=progress,
        stop_on_error=not return_exceptions,
        description="ChatQwen.batch",
    )


def _has_output(delta: GenerationChunk) -> bool:
    return bool(
        delta.text or delta.reasoning or delta.tool_calls or delta.finish_reason or delta.extras
    )


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
                # max_connections=1000 (the shared pool's size),
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

    Context cache, partial mode, web search:
        .. code-block:: python

            llm.invoke([
                SystemMessage([{"type": "text", "text": long_manual,
                                "cache_control": {"type": "ephemeral"}}]),   # explicit cache
                HumanMessage("第三章讲了什么？"),
            ]).usage_metadata["input_token_details"]   # {'cache_creation': ..., 'cache_read': ...}
            llm.invoke([HumanMessage("写一首诗"),
                        AIMessage("春眠不觉晓，", additional_kwargs={"partial": True})])
            searcher = ChatQwen(model="qwen-plus", enable_search=True,
                                search_options={"enable_source": True, "enable_citation": True})
            searcher.invoke("今天杭州天气").response_metadata["search_info"]

    Bulk jobs (in process, or DashScope's Batch API at half the price):
        .. code-block:: python

            msgs = llm.batch(prompts, {"max_concurrency": 50}, requests_per_minute=1200,
                             tokens_per_minute=10**6, progress=True, return_exceptions=True)
            job = llm.submit_batch(prompts)          # model="batch-test-model" is free
            results = job.wait()                     # AIMessage or the row's exception
            llm.batch_job(job.id).status             # from any process

    Token counting (DashScope's tokenizer, no local tokenizer needed):
        .. code-block:: python

            llm.get_num_tokens_from_messages([HumanMessage("你好")])
            await llm.aget_num_tokens_from_messages([HumanMessage("你好")])

    Self-hosted Qwen (vLLM, SGLang, Ollama, llama.cpp) and DashScope's compatible mode:
        .. code-block:: python

            # vllm serve Qwen/Qwen3-8B --reasoning-parser qwen3 --enable-auto-tool-choice \
            #     --tool-call-parser hermes
            local = ChatQwen(model="Qwen/Qwen3-8B", base_url="http://localhost:8000/v1")
            ollama = ChatQwen(model="qwen3:8b", base_url="http://localhost:11434/v1")
            compat = ChatQwen(model="qwen-plus", region="singapore", protocol="openai")

        The same thinking switch, reasoning, tools, structured output and usage: the
        ``backend`` (inferred from ``base_url``, or set) says where the server reads them.
        Tool calls a server's parser left as text are recovered
        (``response_metadata["tool_calls_recovered"]``).

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
    base_url: str | None = Field(
        default_factory=from_env("DASHSCOPE_HTTP_BASE_URL", default=None), alias="api_base"
    )
    """Native API base (``https://dashscope.aliyuncs.com/api/v1``); read from
    ``DASHSCOPE_HTTP_BASE_URL`` when not given. Mutually exclusive with ``region``."""
    region: str | None = None
    """Deployment region: ``beijing`` (default), ``singapore``, ``us``, ``hongkong``,
    ``finance``. API keys only work in the region they were created in."""
    workspace: str | None = None
    """Model Studio workspace id (sent as ``X-DashScope-WorkSpace``)."""
    protocol: str | None = None
    """``"native"`` (DashScope's ``/api/v1``) or ``"openai"`` (``/chat/completions``: DashScope's
    ``/compatible-mode/v1`` or a self-hosted ``/v1``). None: inferred from ``base_url`` (any
    ``…/v1`` but DashScope's native ``…/api/v1`` is the OpenAI protocol)."""
    backend: str | None = None
    """The server behind an OpenAI-protocol URL: ``"dashscope"``, ``"vllm"``, ``"sglang"``,
    ``"ollama"``, ``"llamacpp"``, ``"openai"`` (a generic OpenAI-compatible server), or
    ``"auto"`` (ask the server once). None: inferred from the URL (DashScope hosts; port 11434
    Ollama, 30000 SGLang; otherwise vLLM). It decides where the thinking switch and reasoning
    go and which DashScope-only rules and features apply."""

    # The generation parameters (qwen_dashscope.GENERATION_PARAMETERS; a test checks the list).
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
    n: int | None = None
    """Answers per call (1-4): ``generate`` returns them as several generations."""
    enable_search: bool | None = None
    """Let the model search the web (results in ``response_metadata["search_info"]``)."""
    search_options: dict[str, Any] | None = None
    """Web search options (``forced_search``, ``search_strategy``, ``enable_source``...)."""
    enable_thinking: bool | None = None
    """Thinking switch of hybrid models (None: the model's default)."""
    thinking_budget: int | None = None
    """Maximum reasoning tokens when thinking."""
    response_format: dict[str, Any] | None = None
    """``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``."""
    logprobs: bool | None = None
    """Return token log-probabilities (``response_metadata["logprobs"]``)."""
    top_logprobs: int | None = None
    """Alternatives per token with ``logprobs`` (0-5)."""

    streaming: bool = False
    """Serve ``invoke`` by streaming (``.stream()`` always streams, with or without this)."""
    stream_usage: bool = True
    """Put the token usage on the last streamed chunk."""
    timeout: Any = Field(default=None, alias="request_timeout")
    """Seconds (connect/read), ``(connect, read)``, an ``httpx.Timeout`` or a
    ``qwen_dashscope.Timeouts`` (which also has a ``total`` deadline); default 300 s read."""
    max_retries: int = 2
    """Retries of failed requests (429, 5xx, connection errors) before giving up."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    max_connections: int | None = None
    """Most connections of the shared pool its requests use (default 1,000, the openai SDK's
    figure; beyond it calls wait for a free connection). Objects with the same value share one
    pool per process (sync) and per event loop (async). Not used for a client given as
    ``http_client`` / ``http_async_client``: those keep their own ``httpx.Limits``."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send sync requests with (proxies, mTLS, transports)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send async requests with."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other DashScope ``parameters`` (``vl_high_resolution_images``, ``enable_code_interpreter``,
    ...), sent as they are."""

    # The transport clients, rebuilt when the connection settings change.
    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _backend_of: tuple[tuple[Any, ...], str] | None = PrivateAttr(default=None)

    # ---------------------------------------------------------------------- validation
    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Unknown constructor keywords: a typo is an error, a credential-like name is
        refused, anything else goes to ``model_kwargs`` (with a warning), never lost."""
        if not isinstance(values, dict):
            return values
        reject_booleans(values)  # before pydantic turns True into 1.0
        region_beats_environment(values)
        known: set[str] = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        reject_credentials(values.get("model_kwargs") or {}, where="ChatQwen model_kwargs")
        if not extra:
            return values
        moved = sort_unknown_keywords(
            extra, sorted(known), where="ChatQwen", passthrough="model_kwargs"
        )
        values = {k: v for k, v in values.items() if k in known}
        model_kwargs = dict(values.get("model_kwargs") or {})
        for key, value in moved.items():
            if key in model_kwargs:
                raise ValueError(f"{key} was given both as a keyword and in model_kwargs")
            model_kwargs[key] = value
        values["model_kwargs"] = model_kwargs
        return values

    @field_validator("stop", "timeout", mode="before")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        return check_field(info.field_name or "", value)  # before pydantic coerces it

    @model_validator(mode="after")
    def _validate(self) -> Self:
        """Fail at construction, naming the parameter, for anything the service would reject."""
        fields = type(self).model_fields
        for key in self.model_kwargs:
            name = next((n for n, f in fields.items() if key in (n, f.alias)), None)
            if name is not None:
                raise ValueError(
                    f"model_kwargs[{key!r}] duplicates the {name!r} field; pass "
                    f"ChatQwen({name}=...) instead"
                )
        settings = ClientSettings.check(**self._connection())
        validate_parameters(self._default_parameters, backend=settings.backend)
        check_max_connections(
            self.max_connections, injected=(self.http_client, self.http_async_client)
        )
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
        params = {name: fields[name] for name in GENERATION_PARAMETERS if fields[name] is not None}
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
            ls_provider=self._backend,
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
            # Ollama ignores tool_choice [DOC openai-compatibility.mdx]
            tool_choice=caps.tools and caps.thinking != "always" and self._backend != "ollama",
            tool_call_streaming=caps.tools,
        )

    # ---------------------------------------------------------------------- clients
    def _connection(self) -> dict[str, Any]:
        return connection_options(self)

    @property
    def _backend(self) -> str:
        """The backend these settings resolve to (no key needed; remembered per settings, as
        LangSmith asks for it on every call)."""
        key = tuple(self._connection().items())
        cached = self._backend_of
        if cached is not None and cached[0] == key:
            return cached[1]
        backend = ClientSettings.check(**dict(key)).backend
        self._backend_of = (key, backend)
        return backend

    @property
    def _client(self) -> DashScopeClient:
        return self._clients.sync(self._connection(), self.http_client)

    @property
    def _async_client(self) -> AsyncDashScopeClient:
        return self._clients.async_(self._connection(), self.http_async_client)

    # ---------------------------------------------------------------------- payload
    def _request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> ChatRequest:
        """The neutral request of one call: instance settings < model_kwargs < call kwargs."""
        call = {k: v for k, v in kwargs.items() if k not in _ADAPTER_KWARGS}
        model = str(call.pop("model", None) or self.model)
        tools = call.pop("tools", None) or ()
        tool_choice = call.pop("tool_choice", None)
        reject_credentials(call, where="ChatQwen call")
        params = self._default_parameters
        params.update(call)
        if stop:
            params["stop"] = stop
        elif not params.get("stop"):
            params.pop("stop", None)
        return ChatRequest(
            model=model,
            messages=messages_to_neutral(messages),
            parameters=params,
            tools=tools,
            tool_choice=tool_choice,
        )

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

    # ---------------------------------------------------------------------- calls
    # Streaming an invoke (``invoke(..., stream=True)``, ``streaming=True``) is langchain-core's
    # job: it calls ``_stream`` and aggregates the chunks (``generate_from_stream``).
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,  # noqa: ARG002
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        return self._chat_result(self._client.chat(request), request.model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,  # noqa: ARG002
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        return self._chat_result(await self._async_client.chat(request), request.model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._request(messages, stop, kwargs)
        v1 = V1Blocks() if self.output_version == "v1" else None
        deltas = self._client.chat_stream(request)
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
        request = self._request(messages, stop, kwargs)
        v1 = V1Blocks() if self.output_version == "v1" else None
        deltas = self._async_client.chat_stream(request)
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

    # ---------------------------------------------------------------------- tokens
    def _token_request(
        self, messages: Sequence[BaseMessage], tools: Sequence[Any] | None
    ) -> ChatRequest:
        formatted = [convert_to_openai_tool(t) for t in tools or ()]
        kwargs = {"tools": formatted} if formatted else {}
        return self._request(convert_to_messages(messages), None, kwargs)

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` from DashScope's tokenizer for this model."""
        return self._client.tokenize(self.model, [{"role": "user", "content": text}]).token_ids

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Input tokens of ``messages`` (and ``tools``), counted by DashScope's tokenizer (no
        local tokenizer, no GPT-2 fallback); ``trim_messages(token_counter=llm)`` uses it."""
        return self._client.count_tokens(self._token_request(messages, tools))

    async def aget_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Async ``get_num_tokens_from_messages``."""
        return await self._async_client.count_tokens(self._token_request(messages, tools))

    async def aget_num_tokens(self, text: str) -> int:
        """Async ``get_num_tokens``: the tokens of ``text`` as one user message."""
        return await self.aget_num_tokens_from_messages([HumanMessage(text)])

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` as one user message, from DashScope's tokenizer."""
        return self.get_num_tokens_from_messages([HumanMessage(text)])

    # ---------------------------------------------------------------------- bulk
    def _wants_bulk(self, *options: Any) -> bool:
        return any(option not in (None, False, 0) for option in options)

    def _row_request(self, item: tuple[Any, RunnableConfig], kwargs: dict[str, Any]) -> Any:
        messages = self._convert_input(item[0]).to_messages()
        return self._request(messages, kwargs.get("stop"), kwargs)

    def _row_tokens(self, item: tuple[Any, RunnableConfig], kwargs: dict[str, Any]) -> int:
        return estimate_chat_tokens(self._row_request(item, kwargs))

    def _checkpoint(self, path: str | None, kwargs: dict[str, Any]) -> Checkpoint | None:
        """Finished rows kept in ``path`` (JSONL), keyed by the request each row sends."""
        if path is None:
            return None
        return Checkpoint(
            path,
            key=lambda item: request_key(self._row_request(item, kwargs)),
            dump=message_to_dict,
            load=lambda data: messages_from_dict([data])[0],
        )

    def batch(  # type: ignore[override]  # adds keyword-only options
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        row_retries: int = 0,
        checkpoint: str | None = None,
        **kwargs: Any | None,
    ) -> list[AIMessage]:
        """LangChain's ``batch`` (``invoke`` per input, at most ``config["max_concurrency"]``
        at once), plus the bulk runner's options: ``requests_per_minute`` /
        ``tokens_per_minute`` (client-side pacing: DashScope throttles on both),
        ``progress`` (a tqdm bar, or a log line), ``row_retries`` (retries of a row after the
        client's own, for 429/5xx/connection errors; a 429 pauses every row), ``checkpoint``
        (a JSONL file of finished rows: a run killed half-way, started again with the same
        file, sends only the rows not in it). Without them this is langchain-core's
        ``batch``. With ``return_exceptions=False`` no new row starts
        once one has failed, and that error is raised."""
        if not self._wants_bulk(
            requests_per_minute, tokens_per_minute, progress, row_retries, checkpoint
        ):
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        if not inputs:
            return []
        configs = get_config_list(config, len(inputs))
        options = _bulk_options(
            configs[0],
            len(inputs),
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            progress=progress,
            row_retries=row_retries,
            return_exceptions=return_exceptions,
            threads=True,
        )

        def one(item: tuple[Any, RunnableConfig]) -> AIMessage:
            return self.invoke(item[0], item[1], **kwargs)

        return run_sync(  # type: ignore[return-value]
            list(zip(inputs, configs, strict=True)),
            one,
            options,
            estimate=lambda item: self._row_tokens(item, kwargs),
            used=_total_tokens,
            checkpoint=self._checkpoint(checkpoint, kwargs),
        )

    async def abatch(  # type: ignore[override]  # adds keyword-only options
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        row_retries: int = 0,
        checkpoint: str | None = None,
        **kwargs: Any | None,
    ) -> list[AIMessage]:
        """Async ``batch`` (real async I/O; ``max_concurrency`` unset means unbounded, as in
        langchain-core), with the same bulk options."""
        if not self._wants_bulk(
            requests_per_minute, tokens_per_minute, progress, row_retries, checkpoint
        ):
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        if not inputs:
            return []
        configs = get_config_list(config, len(inputs))
        options = _bulk_options(
            configs[0],
            len(inputs),
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            progress=progress,
            row_retries=row_retries,
            return_exceptions=return_exceptions,
            threads=False,
        )

        async def one(item: tuple[Any, RunnableConfig]) -> AIMessage:
            return await self.ainvoke(item[0], item[1], **kwargs)

        return await run_async(  # type: ignore[return-value]
            list(zip(inputs, configs, strict=True)),
            one,
            options,
            estimate=lambda item: self._row_tokens(item, kwargs),
            used=_total_tokens,
            checkpoint=self._checkpoint(checkpoint, kwargs),
        )

    def _as_message(self, result: Any) -> AIMessage:
        return message_from_result(result, model=str(result.raw.get("model") or self.model))

    def submit_batch(
        self,
        inputs: Sequence[LanguageModelInput],
        *,
        stop: list[str] | None = None,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
        jobs_dir: str | None = None,
        dedup: bool = True,
        limits: BatchLimits | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Send ``inputs`` as one DashScope Batch API job (half the real-time price, results
        within ``completion_window``); ``job.wait()`` returns an ``AIMessage`` (or the row's
        exception) per input, in order.

        Each row is the request ``invoke`` would send (same rules, same parameters, call
        ``kwargs`` on top), except that thinking is off on hybrid models unless
        ``enable_thinking`` is set. ``model="batch-test-model"`` runs the flow for free.
        Submitting the same inputs again returns the same job (``dedup=False``: a new one).
        """
        requests = [
            self._request(self._convert_input(value).to_messages(), stop, kwargs)
            for value in inputs
        ]
        return submit_chat_batch(
            self._client,
            requests,
            completion_window=completion_window,
            metadata=metadata,
            jobs_dir=jobs_dir,
            dedup=dedup,
            limits=limits,
            convert=self._as_message,
        )

    def batch_job(self, job_id: str, *, jobs_dir: str | None = None) -> BatchJob:
        """Re-attach to a Batch API job from any process (``job.wait()`` -> ``AIMessage`` each)."""
        return batch_job(self._client, job_id, jobs_dir=jobs_dir, convert=self._as_message)

    # ---------------------------------------------------------------------- tools
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

        ``tool_choice`` (the same rules as every call, checked here already):

        * ``"auto"`` (the service default) / ``"none"``: sent as is.
        * a tool name, or ``{"type": "function", "function": {"name": ...}}``: that tool is
          forced (it must be one of ``tools``).
        * ``"any"`` / ``"required"`` / ``True``: with exactly one tool, that tool is forced by
          name; with several, ``"required"`` is sent (the model must call at least one).
        * Thinking mode: DashScope rejects forced tools while the model thinks. On a hybrid
          model with ``enable_thinking`` unset, a forced call is sent with
          ``enable_thinking=False`` (you asked for a tool, not for thinking). With
          ``enable_thinking=True``, or on a model that always thinks, a forcing
          ``tool_choice`` raises ``ValueError`` (naming both settings and the fix) instead of
          being silently rewritten to ``"auto"``.

        ``parallel_tool_calls=True`` lets the model call several tools in one turn (the
        service default is False). ``strict`` is passed to ``convert_to_openai_tool``.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        # The rules every call applies, checked now: a bad binding fails here, not later.
        call = {k: v for k, v in kwargs.items() if k not in _ADAPTER_KWARGS}
        model = str(call.pop("model", None) or self.model)
        check_tool_binding(
            model,
            {**self._default_parameters, **call},
            formatted,
            tool_choice,
            backend=self._backend,
        )
        choice = normalize_tool_choice(tool_choice, [t["function"]["name"] for t in formatted])
        if choice is not None:
            kwargs["tool_choice"] = choice  # DashScope's spelling (calls normalize it again)
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

        JSON modes do not work while thinking on DashScope: a hybrid model gets
        ``enable_thinking=False`` for this runnable, a model that always thinks raises
        ``ValueError``. Self-hosted servers differ (vLLM and SGLang constrain after the
        reasoning, so thinking stays; Ollama ignores ``tool_choice``, so the tool is offered
        rather than forced: prefer ``method="json_schema"`` there). The decision is
        ``qwen_dashscope.structured_output_plan``, which LlamaIndex's ``Qwen`` follows too.
        """
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        return structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )
