"""What the four LlamaIndex classes share: the connection fields (declared once, here), their
clients, and the LlamaIndex-side spellings of their keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr

from qwen_dashscope import (
    ClientCache,
    ClientSettings,
    InvalidRequestError,
    check_max_connections,
    connection_options,
    refuse_unknown_keywords,
    sort_unknown_keywords,
)

if TYPE_CHECKING:
    import httpx

    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

API_KEY_ENV = "DASHSCOPE_API_KEY"

# The connection fields, declared once: each class writes ``api_key: ApiKeyField`` and so on
# (the names are CONNECTION_FIELDS; a test checks every class declares them all).
ApiKeyField = Annotated[
    SecretStr | None,
    Field(
        default=None,
        exclude=True,
        repr=False,
        description="DashScope API key (default: the DASHSCOPE_API_KEY environment variable).",
    ),
]
BaseUrlField = Annotated[
    str | None,
    Field(
        default=None,
        description="API base URL, e.g. https://dashscope-intl.aliyuncs.com/api/v1 (default: "
        "DASHSCOPE_HTTP_BASE_URL, else the Beijing endpoint; api_base= too).",
    ),
]
RegionField = Annotated[
    str | None,
    Field(
        default=None,
        description="Deployment region (beijing, singapore, us, hongkong, finance); or base_url.",
    ),
]
WorkspaceField = Annotated[
    str | None,
    Field(default=None, description="Model Studio workspace id (X-DashScope-WorkSpace)."),
]
ProtocolField = Annotated[
    str | None,
    Field(
        default=None,
        description="'native' (DashScope's /api/v1) or 'openai' (DashScope's "
        "/compatible-mode/v1 or a self-hosted /v1); None: inferred from base_url.",
    ),
]
BackendField = Annotated[
    str | None,
    Field(
        default=None,
        description="The server: 'dashscope', 'vllm', 'sglang', 'ollama', 'llamacpp', 'openai' "
        "(generic) or 'auto' (ask it once); None: inferred from base_url (DashScope hosts, "
        "port 11434 Ollama, 30000 SGLang, else vLLM). Decides where the thinking switch and "
        "reasoning go and which DashScope-only rules apply.",
    ),
]
TimeoutField = Annotated[
    Any,
    Field(
        default=None,
        description="Seconds (connect/read), (connect, read), an httpx.Timeout or a "
        "qwen_dashscope.Timeouts (which also has a total deadline).",
    ),
]
MaxRetriesField = Annotated[
    int, Field(default=2, description="Retries of rate-limited, failed or dropped requests.")
]
DefaultHeadersField = Annotated[
    dict[str, str] | None,
    Field(default=None, description="Extra HTTP headers sent with every request."),
]
MaxConnectionsField = Annotated[
    int | None,
    Field(
        default=None,
        description="Most connections of the shared pool its requests use (default 1000, as "
        "the openai SDK; beyond it calls wait for a free one). Not used for a client given as "
        "http_client / async_http_client (they keep their own httpx.Limits).",
    ),
]

# Other LlamaIndex integrations' names for our fields (llama-index-llms-dashscope,
# llama-index-llms-openai): accepted, so migrating code keeps its meaning.
ALIASES = {
    "model_name": "model",
    "api_base": "base_url",
    "dashscope_api_key": "api_key",
    "request_timeout": "timeout",
}
"""The peers' spellings of the settings (llama-index-llms-dashscope, OpenAILike), for the
classes whose model field is ``model`` (``Qwen``, ``QwenRerank``)."""

EMBEDDING_ALIASES = {**{k: v for k, v in ALIASES.items() if v != "model"}, "model": "model_name"}
"""The same for the embedding classes, whose model field is LlamaIndex's ``model_name``."""


def take_aliases(kwargs: dict[str, Any], aliases: dict[str, str]) -> None:
    """Rename alias keywords in place; an alias and its field both given is an error."""
    for alias, name in aliases.items():
        if alias in kwargs:
            if name in kwargs and kwargs[name] is not None:
                raise InvalidRequestError(
                    f"{alias}= and {name}= were both given; pass only {name}=", param=alias
                )
            kwargs[name] = kwargs.pop(alias)


def sort_keywords(
    kwargs: dict[str, Any], known: set[str], *, where: str, passthrough: str | None
) -> dict[str, Any]:
    """Unknown keywords: refused when they look like credentials or like a typo of a field;
    otherwise moved to the ``passthrough`` dict with a warning (an error without one)."""
    extra = {k: v for k, v in kwargs.items() if k not in known}
    for key in extra:
        del kwargs[key]
    if not extra:
        return {}
    if passthrough is None:
        refuse_unknown_keywords(extra, sorted(known), where=where)
        return {}  # not reached: refuse_unknown_keywords raises for any extra
    return sort_unknown_keywords(extra, sorted(known), where=where, passthrough=passthrough)


def resolve_api_key(api_key: Any) -> SecretStr | None:
    """The key as given (a SecretStr), checked; None means the environment's."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if api_key is not None and not isinstance(api_key, str):
        raise InvalidRequestError(
            f"api_key must be a string (or a pydantic SecretStr), got a {type(api_key).__name__}",
            param="api_key",
        )
    return None if api_key is None else SecretStr(api_key)


class TransportMixin:
    """Lazily built transport clients, shared by ``Qwen`` and ``QwenEmbedding``.

    The pydantic classes declare ``_clients``, ``_http_client`` and ``_async_http_client`` as
    private attributes and the connection fields this reads; the clients are rebuilt when
    those fields change (``model_copy(update=...)``, attribute assignment).
    """

    if TYPE_CHECKING:  # declared by the pydantic classes; not fields of this mixin
        _clients: ClientCache
        _http_client: httpx.Client | None
        _async_http_client: httpx.AsyncClient | None
        api_key: SecretStr | None
        base_url: str | None
        region: str | None
        workspace: str | None
        timeout: Any
        max_retries: int
        default_headers: dict[str, str] | None
        protocol: str | None
        backend: str | None
        max_connections: int | None

    def _connection(self) -> dict[str, Any]:
        return connection_options(self)

    def _check_connection(
        self, http_client: Any = None, async_http_client: Any = None
    ) -> ClientSettings:
        """Fail at construction on a missing key (DashScope backends only), bad region, base
        URL, protocol, backend, timeout, retries or pool size (``max_connections`` with both
        HTTP clients given sizes nothing), then keep the HTTP clients given (if any). A
        DashScope key left unset is taken from DASHSCOPE_API_KEY now, as before; self-hosted
        servers need none."""
        settings = ClientSettings.resolve(**self._connection(), warn=False)
        if self.api_key is None and settings.api_key is not None and not settings.self_hosted:
            self.api_key = settings.api_key
        check_max_connections(self.max_connections, injected=(http_client, async_http_client))
        self._http_client = http_client
        self._async_http_client = async_http_client
        return settings

    @property
    def _backend(self) -> str:
        """The backend these settings resolve to (no key needed)."""
        return ClientSettings.check(**self._connection()).backend

    def _client_extra(self) -> dict[str, Any]:
        return {}

    def _get_client(self) -> DashScopeClient:
        return self._clients.sync(self._connection(), self._http_client)

    def _get_aclient(self) -> AsyncDashScopeClient:
        return self._clients.async_(
            self._connection(), self._async_http_client, **self._client_extra()
        )

    def close(self) -> None:
        """Close the sync transport (an injected ``http_client``; the shared pool stays)."""
        client = self._clients.take_sync()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async transport (an injected client; the per-loop pool closes itself)."""
        client = self._clients.take_async()
        if client is not None:
            await client.aclose()
