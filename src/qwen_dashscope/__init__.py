"""qwen-dashscope: the shared DashScope core on httpx + pydantic.

``DashScopeClient`` / ``AsyncDashScopeClient`` speak the native DashScope protocol (text and
multimodal generation, text and multimodal embeddings, rerank, tokenizer; JSON and SSE
streaming), with typed errors, retries and a capability table of Qwen models. The DashScope
rules both adapters obey live here too, on framework-neutral data (``ChatRequest``,
``Message``, parts): parameter validation, ``tool_choice``, thinking versus forced tools and
JSON output, ``n``, partial mode, cache markers, embedding batch limits, rerank limits,
tool-call arguments. The LangChain and LlamaIndex adapters (``langchain_qwen``,
``llama_index_qwen``) only translate their framework's objects to and from these.
``qwen_dashscope.testing`` is an emulator of the service for offline tests.

Bulk jobs: ``submit_chat_batch`` / ``submit_embedding_batch`` / ``batch_job`` (DashScope's
Batch API, a resumable ``BatchJob``), ``BulkOptions`` for the in-process runner, and
``qwen_dashscope.ray`` (Ray Data predictors; Ray is an optional extra).
"""

from typing import TYPE_CHECKING, Any

from ._capabilities import (
    DEFAULT_CAPABILITIES,
    KNOWN_MODELS,
    ModelCapabilities,
    get_model_capabilities,
    register_model,
    suggest_models,
)
from ._config import (
    DEFAULT_BASE_URL,
    REGIONS,
    Region,
    Timeouts,
    resolve_api_key,
    resolve_base_url,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    DashScopeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
)
from ._messages import ChatRequest, MediaPart, Message, TextPart, chat_request, message_from_wire
from ._rules import (
    GENERATION_PARAMETERS,
    MAX_CACHE_MARKERS,
    ResolvedChat,
    StructuredOutputPlan,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_field,
    check_model_endpoint,
    check_thinking,
    check_tool_binding,
    embedding_batch_limit,
    forced_tool_name,
    normalize_tool_choice,
    refuse_unknown_keywords,
    reject_booleans,
    resolve_chat,
    sort_unknown_keywords,
    streams_internally,
    structured_output_plan,
    validate_parameters,
)
from ._settings import (
    CONNECTION_FIELDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    ClientCache,
    ClientSettings,
    check_max_connections,
    check_max_retries,
    connection_options,
    looks_like_credential,
    region_beats_environment,
    reject_credentials,
)
from ._tools import (
    ToolArgumentsError,
    check_tool_names,
    format_arguments,
    parse_arguments,
    parse_partial_arguments,
    tool_names,
)
from ._types import (
    Embedding,
    EmbeddingResult,
    GenerationChunk,
    GenerationResult,
    RerankItem,
    RerankResult,
    TokenizeResult,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._accumulator import StreamAccumulator
    from ._batch import BatchLimits, RowResult
    from ._client import AsyncDashScopeClient, DashScopeClient
    from ._jobs import BatchJob, batch_job, submit_chat_batch, submit_embedding_batch
    from ._retrieval import (
        DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
        compat_rerank_url,
        estimate_tokens,
        image_source,
        video_source,
    )
    from ._runner import BulkOptions, RateLimiter

# Loaded on first use (PEP 562): importing an adapter does not import httpx and the client
# until a client is created.
_LAZY = {
    "AsyncDashScopeClient": "_client",
    "DashScopeClient": "_client",
    "StreamAccumulator": "_accumulator",
    "DEFAULT_MULTIMODAL_EMBEDDING_MODEL": "_retrieval",
    "compat_rerank_url": "_retrieval",
    "estimate_tokens": "_retrieval",
    "image_source": "_retrieval",
    "video_source": "_retrieval",
    "BatchJob": "_jobs",
    "BatchLimits": "_batch",
    "BulkOptions": "_runner",
    "RateLimiter": "_runner",
    "RowResult": "_batch",
    "batch_job": "_jobs",
    "submit_chat_batch": "_jobs",
    "submit_embedding_batch": "_jobs",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and only those names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'qwen_dashscope' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CONNECTION_FIELDS",
    "DEFAULT_BASE_URL",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MULTIMODAL_EMBEDDING_MODEL",
    "GENERATION_PARAMETERS",
    "KNOWN_MODELS",
    "MAX_CACHE_MARKERS",
    "REGIONS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncDashScopeClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchJob",
    "BatchLimits",
    "BulkOptions",
    "ChatRequest",
    "ClientCache",
    "ClientSettings",
    "ContentFilterError",
    "DashScopeClient",
    "DashScopeError",
    "Embedding",
    "EmbeddingResult",
    "GenerationChunk",
    "GenerationResult",
    "InvalidRequestError",
    "MediaPart",
    "Message",
    "ModelCapabilities",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RateLimiter",
    "Region",
    "RerankItem",
    "RerankResult",
    "ResolvedChat",
    "RowResult",
    "ServerError",
    "StreamAccumulator",
    "StructuredOutputPlan",
    "TextPart",
    "Timeouts",
    "TokenizeResult",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "__version__",
    "batch_job",
    "chat_request",
    "check_embedding_batch_size",
    "check_embedding_dimension",
    "check_field",
    "check_max_connections",
    "check_max_retries",
    "check_model_endpoint",
    "check_thinking",
    "check_tool_binding",
    "check_tool_names",
    "compat_rerank_url",
    "connection_options",
    "embedding_batch_limit",
    "estimate_tokens",
    "forced_tool_name",
    "format_arguments",
    "get_model_capabilities",
    "image_source",
    "looks_like_credential",
    "message_from_wire",
    "normalize_tool_choice",
    "parse_arguments",
    "parse_partial_arguments",
    "refuse_unknown_keywords",
    "region_beats_environment",
    "register_model",
    "reject_booleans",
    "reject_credentials",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_chat",
    "sort_unknown_keywords",
    "streams_internally",
    "structured_output_plan",
    "submit_chat_batch",
    "submit_embedding_batch",
    "suggest_models",
    "tool_names",
    "validate_parameters",
    "video_source",
]
