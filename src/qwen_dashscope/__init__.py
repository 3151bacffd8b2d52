"""qwen-dashscope: the shared DashScope transport on httpx + pydantic.

``DashScopeClient`` / ``AsyncDashScopeClient`` speak the native DashScope protocol (text and
multimodal generation, embeddings, rerank; JSON and SSE streaming), with typed errors,
retries, and a capability table of Qwen models. The LangChain and LlamaIndex adapters
(``langchain_qwen``, ``llama_index_qwen``) are built on it; ``qwen_dashscope.testing`` is an
emulator of the service for offline tests.
"""

from typing import TYPE_CHECKING, Any

from ._capabilities import (
    DEFAULT_CAPABILITIES,
    ModelCapabilities,
    get_model_capabilities,
    register_model,
)
from ._config import DEFAULT_BASE_URL, REGIONS, Region, Timeouts, resolve_base_url
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
from ._request import (
    check_embedding_dimension,
    check_thinking,
    check_tool_names,
    reject_booleans,
    streams_internally,
    validate_parameters,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._client import AsyncDashScopeClient, DashScopeClient
    from ._stream import StreamAccumulator
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

# Loaded on first use (PEP 562): importing an adapter does not import httpx and the client
# until a client is created.
_LAZY = {
    "AsyncDashScopeClient": "_client",
    "DashScopeClient": "_client",
    "StreamAccumulator": "_stream",
    **{
        name: "_types"
        for name in (
            "Embedding",
            "EmbeddingResult",
            "GenerationChunk",
            "GenerationResult",
            "RerankItem",
            "RerankResult",
            "TokenizeResult",
            "ToolCall",
            "ToolCallDelta",
            "Usage",
        )
    },
}


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
    "DEFAULT_BASE_URL",
    "DEFAULT_CAPABILITIES",
    "REGIONS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncDashScopeClient",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "DashScopeClient",
    "DashScopeError",
    "Embedding",
    "EmbeddingResult",
    "GenerationChunk",
    "GenerationResult",
    "InvalidRequestError",
    "ModelCapabilities",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "Region",
    "RerankItem",
    "RerankResult",
    "ServerError",
    "StreamAccumulator",
    "Timeouts",
    "TokenizeResult",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "__version__",
    "check_embedding_dimension",
    "check_thinking",
    "check_tool_names",
    "get_model_capabilities",
    "register_model",
    "reject_booleans",
    "resolve_base_url",
    "streams_internally",
    "validate_parameters",
]
