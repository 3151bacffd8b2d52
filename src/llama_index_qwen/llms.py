"""``Qwen``: a LlamaIndex ``FunctionCallingLLM`` on DashScope (native or compatible mode) and
self-hosted OpenAI-compatible Qwen servers."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model
from typing_extensions import override

from qwen_dashscope import (
    GENERATION_PARAMETERS,
    BatchJob,
    BatchLimits,
    BulkOptions,
    ChatRequest,
    ClientCache,
    InvalidRequestError,
    check_field,
    check_thinking,
    get_model_capabilities,
    reject_booleans,
    reject_credentials,
    structured_output_plan,
    suggest_models,
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

from ._convert import (
    ChatStreamAssembler,
    chat_response_from_result,
    completion_from_chat,
    keep_first_tool_call,
    map_tool_choice,
    to_neutral_messages,
    tool_selections,
    tool_specs,
)
from ._settings import (
    ALIASES,
    ApiKeyField,
    BackendField,
    BaseUrlField,
    DefaultHeadersField,
    MaxConnectionsField,
    MaxRetriesField,
    ProtocolField,
    RegionField,
    TimeoutField,
    TransportMixin,
    WorkspaceField,
    sort_keywords,
    take_aliases,
)

if TYPE_CHECKING:
    import httpx
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.tools.types import BaseTool


__all__ = ["DEFAULT_MODEL", "Qwen"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "qwen-plus"
_STRUCTURED = "_qwen_structured_output"
"""A private ``llm_kwargs`` marker: this tool call is a structured-output program's."""


class Qwen(TransportMixin, FunctionCallingLLM):
    """Qwen models on Alibaba Cloud Model Studio (DashScope), native protocol.

    Setup:
        ``pip install "qwen-dashscope[llama-index]"`` and set ``DASHSCOPE_API_KEY`` (keys are
        bound to a region: pass ``region="singapore"`` or ``base_url=...``, or set
        ``DASHSCOPE_HTTP_BASE_URL``, when yours is not a Beijing key).

    Instantiate:
        ```python
        from llama_index_qwen import Qwen

        llm = Qwen(model="qwen-plus", temperature=0.3)  # max_tokens unset: the model's maximum
        ```

    Chat and complete:
        ```python
        from llama_index.core.llms import ChatMessage

        response = llm.chat([ChatMessage(role="user", content="用一句话介绍杭州")])
        print(response.message.content)
        print(llm.complete("Say hi").text)
        ```

    Stream (every item has ``delta``; the last one carries the final usage):
        ```python
        for item in llm.stream_chat([ChatMessage(role="user", content="Tell me a story")]):
            print(item.delta, end="")
        ```

    Async (real async I/O, no threads): ``await llm.achat(...)``, ``await llm.acomplete(...)``,
    ``async for item in await llm.astream_chat(...)``.

    Tools and agents:
        ```python
        from llama_index.core.agent.workflow import FunctionAgent

        def get_weather(city: str) -> str:
            "Current weather of a city."
            return f"Sunny in {city}"

        agent = FunctionAgent(tools=[get_weather], llm=llm)
        answer = await agent.run("What's the weather in Hangzhou?")
        ```
        ``chat_with_tools(tools, tool_required=True)`` forces a call (by name with one tool,
        ``"required"`` with several); ``tool_choice="get_weather"`` forces that tool;
        ``allow_parallel_tool_calls`` is sent as ``parallel_tool_calls``.

    Structured output:
        ```python
        from pydantic import BaseModel
        from llama_index.core.prompts import PromptTemplate

        class City(BaseModel):
            name: str
            province: str

        city = llm.structured_predict(City, PromptTemplate("Extract the city: {text}"),
                                      text="I live in Hangzhou")
        ```
        The schema is sent as a tool and the call is forced (also when streaming with
        ``stream_structured_predict``).

    Thinking:
        ``Qwen(model="qwen3-max", enable_thinking=True)``: the reasoning arrives as a
        ``ThinkingBlock`` in ``response.message.blocks`` and, when streaming, as
        ``item.additional_kwargs["thinking_delta"]``. Models that only think while streaming
        are streamed internally by ``chat``. DashScope refuses forced tool calls while
        thinking, so a call that forces a tool (``tool_required``, a tool name, structured
        output) is sent with ``enable_thinking=False`` on hybrid models (that call only; the
        instance is not changed); on always-thinking models (QwQ, ``*-thinking-*``) it is sent
        with ``tool_choice="auto"`` and the model may answer in text instead.

    Self-hosted Qwen and DashScope's compatible mode:
        ```python
        # vllm serve Qwen/Qwen3-8B --reasoning-parser qwen3 --enable-auto-tool-choice \
        #     --tool-call-parser hermes
        llm = Qwen(model="Qwen/Qwen3-8B", base_url="http://localhost:8000/v1")
        llm = Qwen(model="qwen3:8b", base_url="http://localhost:11434/v1")   # Ollama
        llm = Qwen(model="qwen-plus", region="singapore", protocol="openai")  # compatible mode
        ```
        No key is needed for a self-hosted server (``api_key="EMPTY"`` works too). Reasoning,
        the thinking switch, tools and usage behave as on DashScope; tool calls a server left
        as text are recovered (``additional_kwargs["tool_calls_recovered"]``).

    Images (vision models such as ``qwen3-vl-plus``, ``qwen-vl-max``, ``qwen3.5-plus``):
        ```python
        from llama_index.core.llms import ChatMessage, ImageBlock, TextBlock

        message = ChatMessage(role="user", blocks=[
            ImageBlock(url="https://example.com/cat.png"),  # or path=..., or image=b"..."
            TextBlock(text="What is in this picture?"),
        ])
        Qwen(model="qwen3-vl-plus").chat([message])
        ```

    Context cache, partial mode, web search:
        ```python
        from llama_index.core.llms import CachePoint, CacheControl

        ChatMessage(role="system", blocks=[TextBlock(text=long_manual),
                                           CachePoint(cache_control=CacheControl(type="ephemeral"))])
        ChatMessage(role="assistant", content="春眠不觉晓，", additional_kwargs={"partial": True})
        Qwen(enable_search=True, search_options={"enable_source": True}).chat(messages)
        # -> response.additional_kwargs["search_info"] (also when streaming)
        ```

    Bulk jobs:
        ``llm.batch(inputs, max_concurrency=50, requests_per_minute=1200, progress=True,
        return_exceptions=True)`` runs ``chat`` over many inputs (``abatch`` too);
        ``job = llm.submit_batch(inputs)`` sends them to DashScope's Batch API (half price),
        ``job.wait()`` returns a ``ChatResponse`` (or the row's exception) per input and
        ``llm.batch_job(job.id)`` re-attaches from any process.

    Usage:
        ``response.additional_kwargs`` holds ``prompt_tokens``, ``completion_tokens``,
        ``total_tokens`` (and ``cached_tokens`` / ``cache_creation_tokens`` /
        ``reasoning_tokens`` when reported);
        ``response.raw`` is a plain dict with ``usage`` and ``request_id``, so
        ``TokenCountingHandler`` counts the service's own numbers. Errors are
        ``qwen_dashscope.DashScopeError`` subclasses carrying ``status_code``, ``code`` and
        ``request_id``.
    """

    # The schema is built on first use, not at import (import cost).
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)  # input holds the key

    model: str = Field(
        default=DEFAULT_MODEL,
        description="The Qwen model, e.g. qwen-plus, qwen3-max, qwen-flash, qwen3-vl-plus "
        "(model_name= is accepted too).",
    )
    api_key: ApiKeyField
    base_url: BaseUrlField
    region: RegionField
    workspace: WorkspaceField
    protocol: ProtocolField
    backend: BackendField
    # The generation parameters (qwen_dashscope.GENERATION_PARAMETERS; a test checks the list).
    temperature: float | None = Field(
        default=None, description="Sampling temperature in [0, 2) (default: the model's)."
    )
    top_p: float | None = Field(default=None, description="Nucleus sampling in (0, 1].")
    top_k: int | None = Field(default=None, description="Top-k sampling (>= 0).")
    max_tokens: int | None = Field(
        default=None,
        description="Most tokens to generate; None sends nothing: the model's own maximum.",
    )
    seed: int | None = Field(default=None, description="Random seed for reproducible sampling.")
    stop: str | list[str] | list[int] | list[list[int]] | None = Field(
        default=None, description="Stop strings or token ids."
    )
    repetition_penalty: float | None = Field(
        default=None, description="Repetition penalty (> 0; 1.0 means none)."
    )
    presence_penalty: float | None = Field(default=None, description="Presence penalty in [-2, 2].")
    n: int | None = Field(
        default=None,
        description="Answers per call (1-4); all of them are in additional_kwargs['choices'].",
    )
    enable_search: bool | None = Field(
        default=None, description="Let the model search the web (enable_search)."
    )
    search_options: dict[str, Any] | None = Field(
        default=None,
        description="Web search options (enable_source, enable_citation, forced_search...).",
    )
    enable_thinking: bool | None = Field(
        default=None,
        description="Switch reasoning on/off on hybrid models (default: the model's).",
    )
    thinking_budget: int | None = Field(
        default=None, description="Most reasoning tokens (thinking_budget)."
    )
    response_format: dict[str, Any] | None = Field(
        default=None,
        description="{'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {...}}.",
    )
    logprobs: bool | None = Field(
        default=None, description="Return token log-probabilities (additional_kwargs)."
    )
    top_logprobs: int | None = Field(
        default=None, description="Alternatives per token with logprobs (0-5)."
    )
    timeout: TimeoutField
    max_retries: MaxRetriesField
    default_headers: DefaultHeadersField
    max_connections: MaxConnectionsField
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Other DashScope parameters sent with every call (e.g. "
        "vl_high_resolution_images, enable_code_interpreter).",
    )
    context_window: int | None = Field(
        default=None,
        description="Override of the model's context window (default: the capability table).",
    )
    is_function_calling_model: bool | None = Field(
        default=None,
        description="Override of whether the model calls tools (default: the capability table).",
    )

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _warned_model: str | None = PrivateAttr(default=None)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | SecretStr | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        take_aliases(kwargs, ALIASES)
        if "model" in kwargs:  # model_name=...
            if model is not None:
                raise InvalidRequestError(
                    "model_name= and model= were both given; pass only model=", param="model_name"
                )
            model = kwargs.pop("model")
        if "api_key" in kwargs:  # dashscope_api_key=...
            api_key = kwargs.pop("api_key")
        reject_booleans(kwargs)  # before pydantic turns True into 1.0
        known = set(type(self).model_fields) | set(ALIASES)
        moved = sort_keywords(kwargs, known, where="Qwen", passthrough="additional_kwargs")
        extra = dict(kwargs.get("additional_kwargs") or {})
        for key, value in moved.items():
            if key in extra:
                raise ValueError(f"{key} was given both as a keyword and in additional_kwargs")
            extra[key] = value
        reject_credentials(extra, where="Qwen additional_kwargs")
        for key in extra:
            if key in type(self).model_fields:
                raise ValueError(
                    f"additional_kwargs[{key!r}] duplicates the {key!r} field; pass "
                    f"Qwen({key}=...) instead"
                )
        kwargs["additional_kwargs"] = extra
        raw_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        super().__init__(
            model=model or DEFAULT_MODEL,
            api_key=None if raw_key is None else SecretStr(raw_key),
            **kwargs,
        )
        settings = self._check_connection(http_client, async_http_client)
        validate_parameters(self._parameters(), backend=settings.backend)
        check_thinking(self.model, self.enable_thinking)

    @field_validator("stop", "timeout", mode="before")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        return check_field(info.field_name or "", value)  # before pydantic coerces it

    @classmethod
    def class_name(cls) -> str:
        return "qwen_llm"

    @property
    def metadata(self) -> LLMMetadata:
        caps = get_model_capabilities(self.model)
        if not caps.known and self._warned_model != self.model:
            self._warned_model = self.model  # once per instance and model
            hint = suggest_models(self.model)
            warnings.warn(
                f"Qwen: {self.model!r} is not in the model table, so its metadata "
                f"(context_window={caps.context_window}, num_output={caps.max_output}) are "
                "defaults"
                + (f"; did you mean {' or '.join(map(repr, hint))}?" if hint else "")
                + " Pass context_window= to set it.",
                UserWarning,
                stacklevel=2,
            )
        return LLMMetadata(
            context_window=self.context_window or caps.context_window,
            num_output=self.max_tokens or caps.max_output,
            is_chat_model=True,
            is_function_calling_model=(
                caps.tools
                if self.is_function_calling_model is None
                else self.is_function_calling_model
            ),
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # -- requests ---------------------------------------------------------------------------

    def _parameters(self) -> dict[str, Any]:
        """The DashScope ``parameters`` this instance sends: fields, then additional_kwargs."""
        fields = self.__dict__
        params = {name: fields[name] for name in GENERATION_PARAMETERS if fields[name] is not None}
        params.update(self.additional_kwargs)
        return params

    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatRequest:
        """The neutral request of one call; ``model=`` picks another model for it."""
        call = dict(kwargs)
        call.pop(_STRUCTURED, None)
        model = str(call.pop("model", None) or self.model)
        tools = call.pop("tools", None) or ()
        tool_choice = call.pop("tool_choice", None)
        reject_credentials(call, where="Qwen call")
        params = self._parameters()
        params.update(call)
        return ChatRequest(
            model=model,
            messages=to_neutral_messages(messages),
            parameters=params,
            tools=tools,
            tool_choice=tool_choice,
        )

    # -- chat (undecorated bodies: the completion entry points reuse them) -------------------
    def _chat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        if kwargs.pop("stream", False):  # served by streaming, answered whole
            return _last(self._stream_chat(messages, kwargs))
        result = self._get_client().chat(self._request(messages, kwargs))
        return chat_response_from_result(result)

    async def _achat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        if kwargs.pop("stream", False):  # served by streaming, answered whole
            return await _alast(self._astream_chat(messages, kwargs))
        result = await self._get_aclient().chat(self._request(messages, kwargs))
        return chat_response_from_result(result)

    def _stream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> Generator[ChatResponse, None, None]:
        kwargs.pop("stream", None)
        chunks = self._get_client().chat_stream(self._request(messages, kwargs))  # checked now

        def gen() -> Generator[ChatResponse, None, None]:
            assembler = ChatStreamAssembler()
            try:
                for chunk in chunks:
                    yield assembler.feed(chunk)
            finally:
                chunks.close()  # closes the HTTP response when the caller stops early

        return gen()

    def _astream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> AsyncGenerator[ChatResponse, None]:
        kwargs.pop("stream", None)
        chunks = self._get_aclient().chat_stream(self._request(messages, kwargs))  # checked now

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            assembler = ChatStreamAssembler()
            try:
                async for chunk in chunks:
                    yield assembler.feed(chunk)
            finally:
                await chunks.aclose()

        return gen()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream_chat(messages, kwargs)

    # -- completion (one callback event per call: the chat bodies are not decorated) ---------
    @staticmethod
    def _prompt_messages(prompt: str) -> list[ChatMessage]:
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @override
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return completion_from_chat(self._chat(self._prompt_messages(prompt), kwargs))

    @override
    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        responses = self._stream_chat(self._prompt_messages(prompt), kwargs)
        return (completion_from_chat(response) for response in responses)

    @override
    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return completion_from_chat(await self._achat(self._prompt_messages(prompt), kwargs))

    @override
    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = self._astream_chat(self._prompt_messages(prompt), kwargs)

        async def gen() -> AsyncGenerator[CompletionResponse, None]:
            try:
                async for response in responses:
                    yield completion_from_chat(response)
            finally:
                await responses.aclose()

        return gen()

    # -- tokens -----------------------------------------------------------------------------
    def count_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        """Input tokens of ``messages`` (``tools=`` specs too), from DashScope's tokenizer."""
        return self._get_client().count_tokens(self._request(messages, kwargs))

    async def acount_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        """Async ``count_tokens``."""
        return await self._get_aclient().count_tokens(self._request(messages, kwargs))

    # -- bulk -------------------------------------------------------------------------------
    @staticmethod
    def _batch_messages(value: str | Sequence[ChatMessage]) -> list[ChatMessage]:
        if isinstance(value, str):
            return [ChatMessage(role=MessageRole.USER, content=value)]
        return list(value)

    def _bulk_options(
        self,
        max_concurrency: int,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        progress: bool,
        row_retries: int,
        return_exceptions: bool,
    ) -> BulkOptions:
        return BulkOptions(
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            row_retries=row_retries,
            progress=progress,
            stop_on_error=not return_exceptions,
            description="Qwen.batch",
        )

    def _row_tokens(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> int:
        return estimate_chat_tokens(self._request(messages, dict(kwargs)))

    def _checkpoint(self, path: str | None, kwargs: dict[str, Any]) -> Checkpoint | None:
        """Finished rows kept in ``path`` (JSONL), keyed by the request each row sends."""
        if path is None:
            return None
        return Checkpoint(
            path,
            key=lambda messages: request_key(self._request(messages, dict(kwargs))),
            dump=lambda response: response.model_dump(mode="json"),
            load=ChatResponse.model_validate,
        )

    def batch(
        self,
        inputs: Sequence[str | Sequence[ChatMessage]],
        *,
        max_concurrency: int = 16,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        row_retries: int = 0,
        return_exceptions: bool = False,
        checkpoint: str | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """``chat`` over many inputs (message lists, or prompts as one user message), at most
        ``max_concurrency`` at once, paced to ``requests_per_minute`` / ``tokens_per_minute``,
        with a ``progress`` bar; a ``ChatResponse`` per input in order. A failed row's
        exception takes its place with ``return_exceptions=True``; otherwise no new row
        starts once one has failed, and that error is raised (as LangChain's ``batch``).
        ``checkpoint``: a JSONL file of finished rows; a run killed half-way and started again
        with the same file sends only the rows not in it."""
        options = self._bulk_options(
            max_concurrency,
            requests_per_minute,
            tokens_per_minute,
            progress,
            row_retries,
            return_exceptions,
        )
        rows = [self._batch_messages(value) for value in inputs]

        def one(messages: list[ChatMessage]) -> ChatResponse:
            response: ChatResponse = self.chat(messages, **kwargs)
            return response

        return run_sync(
            rows,
            one,
            options,
            estimate=lambda messages: self._row_tokens(messages, kwargs),
            used=_response_tokens,
            checkpoint=self._checkpoint(checkpoint, kwargs),
        )

    async def abatch(
        self,
        inputs: Sequence[str | Sequence[ChatMessage]],
        *,
        max_concurrency: int = 16,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        progress: bool = False,
        row_retries: int = 0,
        return_exceptions: bool = False,
        checkpoint: str | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Async ``batch`` (real async I/O, one event loop)."""
        options = self._bulk_options(
            max_concurrency,
            requests_per_minute,
            tokens_per_minute,
            progress,
            row_retries,
            return_exceptions,
        )
        rows = [self._batch_messages(value) for value in inputs]

        async def one(messages: list[ChatMessage]) -> ChatResponse:
            response: ChatResponse = await self.achat(messages, **kwargs)
            return response

        return await run_async(
            rows,
            one,
            options,
            estimate=lambda messages: self._row_tokens(messages, kwargs),
            used=_response_tokens,
            checkpoint=self._checkpoint(checkpoint, kwargs),
        )

    def submit_batch(
        self,
        inputs: Sequence[str | Sequence[ChatMessage]],
        *,
        completion_window: str = "24h",
        metadata: dict[str, str] | None = None,
        jobs_dir: str | None = None,
        dedup: bool = True,
        limits: BatchLimits | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Send ``inputs`` as one DashScope Batch API job (half the real-time price, results
        within ``completion_window``); ``job.wait()`` returns a ``ChatResponse`` (or the
        row's exception) per input, in order. Rows are the requests ``chat`` would send, with
        thinking off on hybrid models unless ``enable_thinking`` is set;
        ``model="batch-test-model"`` tries the flow for free; the same inputs submitted again
        give the same job (``dedup=False``: a new one)."""
        requests = [self._request(self._batch_messages(v), dict(kwargs)) for v in inputs]
        return submit_chat_batch(
            self._get_client(),
            requests,
            completion_window=completion_window,
            metadata=metadata,
            jobs_dir=jobs_dir,
            dedup=dedup,
            limits=limits,
            convert=chat_response_from_result,
        )

    def batch_job(self, job_id: str, *, jobs_dir: str | None = None) -> BatchJob:
        """Re-attach to a Batch API job from any process (``job.wait()`` -> ``ChatResponse``)."""
        return batch_job(
            self._get_client(), job_id, jobs_dir=jobs_dir, convert=chat_response_from_result
        )

    # -- tools ------------------------------------------------------------------------------
    @override
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments for a call with tools (full-fidelity schemas)."""
        if kwargs.pop(_STRUCTURED, False):
            # Structured output: the core decides whether the schema's tool can be forced.
            model = str(kwargs.get("model") or self.model)
            plan = structured_output_plan(
                model,
                kwargs.get("enable_thinking", self.enable_thinking),
                "function_calling",
                backend=self._backend,
            )
            tool_required = plan.force_tool
            tool_choice = tool_choice if plan.force_tool else "auto"
            if plan.enable_thinking is not None:
                kwargs["enable_thinking"] = plan.enable_thinking
        specs = tool_specs(tools)
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            choice = map_tool_choice(
                specs, tools, tool_required=tool_required, tool_choice=tool_choice
            )
            if choice is not None:
                prepared["tool_choice"] = choice
            if allow_parallel_tool_calls:  # False is the service default (and ChatQwen's)
                prepared["parallel_tool_calls"] = True
        elif tool_required:
            prepared["tool_choice"] = "required"  # the core explains: no tools to call
        return prepared

    @override
    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            keep_first_tool_call(response)
        return response

    @override
    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """Tool calls of a response: lenient mid-stream, strict once the answer is finished
        (a call with broken arguments becomes a tool error the agent can recover from)."""
        # Stream items carry their finish_reason in raw (None until the last); a whole answer's
        # raw is the wire body, without one at the top.
        raw = response.raw if isinstance(response.raw, dict) else {}
        final = raw.get("finish_reason", "whole answer") is not None
        selections = tool_selections(response.message, final=final)
        if not selections and error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but the response has none.")
        return selections

    # -- structured output ------------------------------------------------------------------
    @staticmethod
    def _structured(llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        return {**(llm_kwargs or {}), _STRUCTURED: True}

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """The schema as a tool, forced where the model allows (``structured_output_plan``)."""
        result: Model = super().structured_predict(
            output_cls, prompt, self._structured(llm_kwargs), **prompt_args
        )
        return result

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async ``structured_predict``."""
        result: Model = await super().astructured_predict(
            output_cls, prompt, self._structured(llm_kwargs), **prompt_args
        )
        return result

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        return super()._structured_stream_call(
            output_cls, prompt, self._structured(llm_kwargs), **prompt_args
        )

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        return await super()._structured_astream_call(
            output_cls, prompt, self._structured(llm_kwargs), **prompt_args
        )


def _response_tokens(response: ChatResponse) -> int:
    return int(response.additional_kwargs.get("total_tokens") or 0)


def _last(responses: Generator[ChatResponse, None, None]) -> ChatResponse:
    """The final item of a stream, as a whole answer."""
    last = None
    for item in responses:
        last = item
    if last is None:
        raise ValueError("the stream ended without any output")
    return ChatResponse(
        message=last.message, raw=last.raw, additional_kwargs=last.additional_kwargs
    )


async def _alast(responses: AsyncGenerator[ChatResponse, None]) -> ChatResponse:
    last = None
    async for item in responses:
        last = item
    if last is None:
        raise ValueError("the stream ended without any output")
    return ChatResponse(
        message=last.message, raw=last.raw, additional_kwargs=last.additional_kwargs
    )
