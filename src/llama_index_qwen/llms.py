"""``Qwen``: a LlamaIndex ``FunctionCallingLLM`` on the native DashScope protocol."""

from __future__ import annotations

import logging
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
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, SecretStr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode
from typing_extensions import override

from qwen_dashscope import (
    Timeouts,
    check_thinking,
    get_model_capabilities,
    reject_booleans,
    validate_parameters,
)

from ._convert import (
    ChatStreamAssembler,
    chat_response_from_result,
    completion_from_chat,
    is_forced,
    keep_first_tool_call,
    resolve_tool_choice,
    to_wire_messages,
    tool_selections,
    tool_specs,
)
from ._settings import TransportMixin, check_transport, resolve_api_key

if TYPE_CHECKING:
    import httpx
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.tools.types import BaseTool
    from llama_index.core.types import BasePydanticProgram

    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

__all__ = ["DEFAULT_MODEL", "Qwen"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "qwen-plus"

# Constructor fields sent as DashScope ``parameters``.
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
    "enable_thinking",
    "thinking_budget",
)


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

    Images (vision models such as ``qwen3-vl-plus``, ``qwen-vl-max``, ``qwen3.5-plus``):
        ```python
        from llama_index.core.llms import ChatMessage, ImageBlock, TextBlock

        message = ChatMessage(role="user", blocks=[
            ImageBlock(url="https://example.com/cat.png"),  # or path=..., or image=b"..."
            TextBlock(text="What is in this picture?"),
        ])
        Qwen(model="qwen3-vl-plus").chat([message])
        ```

    Usage:
        ``response.additional_kwargs`` holds ``prompt_tokens``, ``completion_tokens``,
        ``total_tokens`` (and ``cached_tokens`` / ``reasoning_tokens`` when reported);
        ``response.raw`` is a plain dict with ``usage`` and ``request_id``, so
        ``TokenCountingHandler`` counts the service's own numbers. Errors are
        ``qwen_dashscope.DashScopeError`` subclasses carrying ``status_code``, ``code`` and
        ``request_id``.
    """

    # The schema is built on first use, not at import (import cost).
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)  # input holds the key

    model: str = Field(
        default=DEFAULT_MODEL,
        description="The Qwen model, e.g. qwen-plus, qwen3-max, qwen-flash, qwen3-vl-plus.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="DashScope API key (default: the DASHSCOPE_API_KEY environment variable).",
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "Native API base URL, e.g. https://dashscope-intl.aliyuncs.com/api/v1 "
            "(default: DASHSCOPE_HTTP_BASE_URL, else the Beijing endpoint)."
        ),
    )
    region: str | None = Field(
        default=None,
        description="Deployment region (beijing, singapore, us, hongkong, finance); or base_url.",
    )
    workspace: str | None = Field(
        default=None, description="Model Studio workspace id (X-DashScope-WorkSpace)."
    )
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
    enable_search: bool | None = Field(
        default=None, description="Let the model search the web (enable_search)."
    )
    enable_thinking: bool | None = Field(
        default=None,
        description="Switch reasoning on/off on hybrid models (default: the model's).",
    )
    thinking_budget: int | None = Field(
        default=None, description="Most reasoning tokens (thinking_budget)."
    )
    timeout: float | Timeouts | None = Field(
        default=None,
        description="Seconds to wait for the connection / next bytes, or a Timeouts(...).",
    )
    max_retries: int = Field(
        default=2, description="Retries of rate-limited, failed or dropped requests."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra HTTP headers sent with every request."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Other DashScope parameters sent with every call (e.g. response_format).",
    )
    context_window: int | None = Field(
        default=None,
        description="Override of the model's context window (default: the capability table).",
    )
    is_function_calling_model: bool | None = Field(
        default=None,
        description="Override of whether the model calls tools (default: the capability table).",
    )

    _sync_transport: tuple[dict[str, Any], DashScopeClient] | None = PrivateAttr(default=None)
    _async_transport: tuple[dict[str, Any], AsyncDashScopeClient] | None = PrivateAttr(default=None)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | SecretStr | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        reject_booleans(kwargs)  # before pydantic turns True into 1.0
        super().__init__(model=model, api_key=resolve_api_key(api_key), **kwargs)
        check_transport(
            base_url=self.base_url,
            region=self.region,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        validate_parameters(self._parameters({}))
        check_thinking(self.model, self.enable_thinking)
        self._http_client = http_client
        self._async_http_client = async_http_client

    @classmethod
    def class_name(cls) -> str:
        return "qwen_llm"

    @property
    def metadata(self) -> LLMMetadata:
        caps = get_model_capabilities(self.model)
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

    # -- transport --------------------------------------------------------------------------

    def _parameters(self, kwargs: dict[str, Any], model: str | None = None) -> dict[str, Any]:
        """DashScope ``parameters`` of one call: fields, then additional_kwargs, then kwargs."""
        params: dict[str, Any] = {}
        for name in _PARAMETER_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        params.update(self.additional_kwargs)
        params.update(kwargs)
        if params.get("n", 1) != 1:
            # A ChatResponse holds one message: never drop the other choices silently.
            raise ValueError(
                f"n={params['n']!r}: LlamaIndex takes one answer per call; remove n, or call "
                "the model several times (or use qwen_dashscope.DashScopeClient for n > 1)"
            )
        if is_forced(params.get("tool_choice")):
            self._allow_forced_tool(params, model or self.model)
        return params

    def _allow_forced_tool(self, params: dict[str, Any], model: str) -> None:
        # DashScope: "The tool_choice parameter does not support being set to required or
        # object in thinking mode".
        caps = get_model_capabilities(model)
        if caps.thinking == "always":
            logger.info(
                "%s always thinks and cannot be forced to call a tool; sending "
                "tool_choice='auto' for this call",
                model,
            )
            params["tool_choice"] = "auto"
        elif caps.thinking == "hybrid" or params.get("enable_thinking"):
            # Explicit even when the table says thinking is off by default: defaults differ by
            # model family and change over time, and False is valid for every hybrid model.
            params["enable_thinking"] = False

    def _prepare(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        """(model, wire messages, parameters) of one call; ``model=`` picks another model."""
        call = dict(kwargs)
        model = str(call.pop("model", None) or self.model)
        return model, to_wire_messages(messages), self._parameters(call, model)

    # -- chat (undecorated bodies: the completion entry points reuse them) -------------------
    def _chat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        model, wire, params = self._prepare(messages, kwargs)
        result = self._get_client().generate(model, wire, params)
        return chat_response_from_result(result)

    def _stream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> Generator[ChatResponse, None, None]:
        model, wire, params = self._prepare(messages, kwargs)
        chunks = self._get_client().stream(model, wire, params)  # validates now

        def gen() -> Generator[ChatResponse, None, None]:
            assembler = ChatStreamAssembler()
            try:
                for chunk in chunks:
                    yield assembler.feed(chunk)
            finally:
                chunks.close()  # closes the HTTP response when the caller stops early

        return gen()

    async def _achat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        model, wire, params = self._prepare(messages, kwargs)
        result = await self._get_aclient().generate(model, wire, params)
        return chat_response_from_result(result)

    def _astream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> AsyncGenerator[ChatResponse, None]:
        model, wire, params = self._prepare(messages, kwargs)
        chunks = self._get_aclient().stream(model, wire, params)  # validates now

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
        specs = tool_specs(tools)
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["tool_choice"] = resolve_tool_choice(
                specs, tools, tool_required=tool_required, tool_choice=tool_choice
            )
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
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
        """Tool calls of a (possibly partial, mid-stream) response; lenient on partial JSON."""
        selections = tool_selections(response.message)
        if not selections and error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but the response has none.")
        return selections

    # -- structured output ------------------------------------------------------------------
    def _forced_program(
        self, output_cls: type[Model], prompt: PromptTemplate
    ) -> BasePydanticProgram[Model] | None:
        """A function-calling program that forces the schema tool (core does not when streaming)."""
        if self.pydantic_program_mode not in (
            PydanticProgramMode.DEFAULT,
            PydanticProgramMode.FUNCTION,
        ):
            return None
        if not self.metadata.is_function_calling_model:
            return None
        from llama_index.core.program.function_program import (
            FunctionCallingProgram,
            get_function_tool,
        )

        return FunctionCallingProgram.from_defaults(
            output_cls=output_cls,
            llm=self,
            prompt=prompt,
            tool_choice=get_function_tool(output_cls).metadata.name,
        )

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        program = self._forced_program(output_cls, prompt)
        if program is None:
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        return program.stream_call(llm_kwargs=llm_kwargs, **prompt_args)

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        program = self._forced_program(output_cls, prompt)
        if program is None:
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        return await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args)
