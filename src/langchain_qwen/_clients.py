"""Transport clients for ``ChatQwen`` and ``QwenEmbeddings``, built from their settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient, Timeouts


class ConnectionSettings(Protocol):
    """The connection fields both LangChain classes declare."""

    api_key: SecretStr | None
    base_url: str | None
    region: str | None
    workspace: str | None
    timeout: float | Timeouts | None
    max_retries: int
    default_headers: dict[str, str] | None
    http_client: httpx.Client | None
    http_async_client: httpx.AsyncClient | None


def _options(settings: ConnectionSettings) -> dict[str, Any]:
    return {
        "api_key": settings.api_key,
        "base_url": settings.base_url,
        "region": settings.region,
        "workspace": settings.workspace,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "default_headers": settings.default_headers,
    }


SyncCache = tuple[dict[str, Any], "DashScopeClient"]
AsyncCache = tuple[dict[str, Any], "AsyncDashScopeClient"]


def sync_client(settings: ConnectionSettings, cached: SyncCache | None) -> SyncCache:
    """The client for the current settings (``cached`` while they are unchanged). Without an
    injected ``http_client``, requests use the transport's shared pool."""
    from qwen_dashscope import DashScopeClient  # loaded on first use
    from qwen_dashscope._client import reuse_client

    return reuse_client(
        cached, DashScopeClient, http_client=settings.http_client, **_options(settings)
    )


def async_client(
    settings: ConnectionSettings, cached: AsyncCache | None, **extra: Any
) -> AsyncCache:
    from qwen_dashscope import AsyncDashScopeClient
    from qwen_dashscope._client import reuse_client

    return reuse_client(
        cached,
        AsyncDashScopeClient,
        http_client=settings.http_async_client,
        **_options(settings),
        **extra,
    )
