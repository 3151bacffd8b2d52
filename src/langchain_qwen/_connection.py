"""The connection fields and clients shared by ``QwenRerank`` and ``QwenMultimodalEmbeddings``
(the same names, defaults and environment variables as ``QwenEmbeddings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from qwen_dashscope import (
    ClientCache,
    ClientSettings,
    Timeouts,
    check_max_connections,
    refuse_unknown_keywords,
    region_beats_environment,
    reject_booleans,
)

if TYPE_CHECKING:
    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient


class QwenConnection(BaseModel):
    """DashScope connection settings, validated at construction; clients built lazily."""

    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
        defer_build=True,
        hide_input_in_errors=True,  # the constructor's input holds the API key
    )

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("DASHSCOPE_API_KEY", default=None),
        alias="dashscope_api_key",
    )
    """DashScope API key; read from ``DASHSCOPE_API_KEY`` when not given."""
    base_url: str | None = Field(
        default_factory=from_env("DASHSCOPE_HTTP_BASE_URL", default=None), alias="api_base"
    )
    """Native API base; read from ``DASHSCOPE_HTTP_BASE_URL`` when not given."""
    region: str | None = None
    """Deployment region (``beijing`` default, ``singapore``, ``us``, ...)."""
    workspace: str | None = None
    """Model Studio workspace id."""
    timeout: Any = Field(default=None, alias="request_timeout")
    """Seconds (connect/read), ``(connect, read)``, an ``httpx.Timeout`` or a
    ``qwen_dashscope.Timeouts``."""
    max_retries: int = 2
    """Retries of failed requests (429, 5xx, connection errors)."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    max_connections: int | None = None
    """Most connections of the shared pool its requests use (default 1,000, the openai SDK's
    figure; beyond it calls wait for a free connection). Not used for a client given as
    ``http_client`` / ``http_async_client``: those keep their own ``httpx.Limits``."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` for sync requests."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` for async requests."""

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)

    @model_validator(mode="before")
    @classmethod
    def _unknown_keywords(cls, values: Any) -> Any:
        """Keywords the class does not have are errors: there is nowhere to send them."""
        if not isinstance(values, dict):
            return values
        reject_booleans(values)  # before pydantic turns True into 1
        region_beats_environment(values)
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        extra = {k: v for k, v in values.items() if k not in known}
        refuse_unknown_keywords(extra, sorted(known), where=cls.__name__)
        return values

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        Timeouts.of(value)
        return value

    def _check_connection(self) -> None:
        ClientSettings.check(**self._connection())
        check_max_connections(
            self.max_connections, injected=(self.http_client, self.http_async_client)
        )

    def _connection(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "region": self.region,
            "workspace": self.workspace,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "max_connections": self.max_connections,
        }

    def _client_extra(self) -> dict[str, Any]:
        return {}

    @property
    def _client(self) -> DashScopeClient:
        return self._clients.sync(self._connection(), self.http_client)

    @property
    def _async_client(self) -> AsyncDashScopeClient:
        return self._clients.async_(
            self._connection(), self.http_async_client, **self._client_extra()
        )
