"""Connection settings shared by ``Qwen`` and ``QwenEmbedding``: key, base URL, clients."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from qwen_dashscope import InvalidRequestError, Timeouts, resolve_base_url

if TYPE_CHECKING:
    import httpx

    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

API_KEY_ENV = "DASHSCOPE_API_KEY"


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    """The key from the argument or ``DASHSCOPE_API_KEY``; a clear error when neither is set."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key or not key.strip():
        raise InvalidRequestError(
            "No DashScope API key: pass api_key=... or set the DASHSCOPE_API_KEY environment "
            "variable (keys are created in the Model Studio console of your region).",
            param="api_key",
        )
    return SecretStr(key.strip())


def client_kwargs(
    *,
    api_key: SecretStr | None,
    base_url: str | None,
    region: str | None,
    workspace: str | None,
    timeout: float | Timeouts | None,
    max_retries: int,
    default_headers: dict[str, str] | None,
) -> dict[str, Any]:
    """Keyword arguments for ``DashScopeClient`` / ``AsyncDashScopeClient``."""
    return {
        "api_key": resolve_api_key(api_key),
        "base_url": base_url,
        "region": region,
        "workspace": workspace,
        "timeout": timeout,
        "max_retries": max_retries,
        "default_headers": default_headers,
    }


def check_transport(
    *,
    base_url: str | None,
    region: str | None,
    timeout: float | Timeouts | None,
    max_retries: int,
) -> None:
    """Fail at construction on a bad region, base URL, timeout or retry count."""
    resolve_base_url(base_url, region)
    Timeouts.of(timeout)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(
            f"max_retries must be an integer >= 0, got {max_retries!r}", param="max_retries"
        )


class TransportMixin:
    """Lazily built transport clients, shared by ``Qwen`` and ``QwenEmbedding``.

    The pydantic classes declare ``_sync_transport``, ``_async_transport``, ``_http_client``
    and ``_async_http_client`` as private attributes and the connection fields this reads.
    Each transport is kept with the settings it was built from, and rebuilt when they change
    (``model_copy(update=...)``, attribute assignment).
    """

    if TYPE_CHECKING:  # declared by the pydantic classes; not fields of this mixin
        _sync_transport: tuple[dict[str, Any], DashScopeClient] | None
        _async_transport: tuple[dict[str, Any], AsyncDashScopeClient] | None
        _http_client: httpx.Client | None
        _async_http_client: httpx.AsyncClient | None
        api_key: SecretStr | None
        base_url: str | None
        region: str | None
        workspace: str | None
        timeout: float | Timeouts | None
        max_retries: int
        default_headers: dict[str, str] | None

    def _client_kwargs(self) -> dict[str, Any]:
        return client_kwargs(
            api_key=self.api_key,
            base_url=self.base_url,
            region=self.region,
            workspace=self.workspace,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
        )

    def _get_client(self) -> DashScopeClient:
        from qwen_dashscope import DashScopeClient  # loaded on first use
        from qwen_dashscope._client import reuse_client

        self._sync_transport = reuse_client(
            self._sync_transport,
            DashScopeClient,
            http_client=self._http_client,
            **self._client_kwargs(),
        )
        return self._sync_transport[1]

    def _get_aclient(self) -> AsyncDashScopeClient:
        from qwen_dashscope import AsyncDashScopeClient
        from qwen_dashscope._client import reuse_client

        self._async_transport = reuse_client(
            self._async_transport,
            AsyncDashScopeClient,
            http_client=self._async_http_client,
            **self._client_kwargs(),
        )
        return self._async_transport[1]

    def close(self) -> None:
        """Close the sync transport (an injected ``http_client``; the shared pool stays)."""
        if self._sync_transport is not None:
            self._sync_transport[1].close()
            self._sync_transport = None

    async def aclose(self) -> None:
        """Close the async transport (an injected client; the per-loop pool closes itself)."""
        if self._async_transport is not None:
            await self._async_transport[1].aclose()
            self._async_transport = None
