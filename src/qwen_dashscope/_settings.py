"""Connection settings, resolved and validated once, and the per-object client cache.

``ClientSettings`` is what a client is built from: every field already checked, the key in a
``SecretStr``. ``ClientCache`` holds the clients of one model object (a ``ChatQwen``, a
``Qwen``...) and builds new ones when that object's settings change, so frameworks can copy
and mutate model objects freely (``model_copy(update=...)``, attribute assignment).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ._config import (
    SELF_HOSTED,
    Backend,
    Protocol,
    Timeouts,
    auth_hint,
    is_private_host,
    resolve_api_key,
    resolve_endpoint,
)
from ._errors import InvalidRequestError

if TYPE_CHECKING:
    from ._client import AsyncDashScopeClient, DashScopeClient

__all__ = [
    "CONNECTION_FIELDS",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "ClientCache",
    "ClientSettings",
    "check_max_connections",
    "check_max_retries",
    "connection_options",
    "looks_like_credential",
    "region_beats_environment",
    "reject_credentials",
]

logger = logging.getLogger("qwen_dashscope")

DEFAULT_MAX_RETRIES = 2
_MAX_RETRIES_CAP = 100
DEFAULT_MAX_CONNECTIONS = 1000
"""Connections of a shared pool (the openai SDK's figure): enough that 1,000 concurrent calls
never wait for one another. Idle connections close after 5 seconds."""


_CREDENTIAL = re.compile(
    r"(api_?key|secret|password|passwd|authorization|access_?key|credential|(^|_)token($|_))",
    re.IGNORECASE,
)


def looks_like_credential(name: str) -> bool:
    """Whether a keyword name looks like a credential (``openai_api_key``, ``apikey``,
    ``api_token``, ``secret_key``...; ``max_tokens`` does not)."""
    return bool(_CREDENTIAL.search(name))


def reject_credentials(names: Any, *, where: str) -> None:
    """Refuse keywords that look like credentials: they would otherwise be passed on as
    request parameters, and from there reach reprs, logs and serialized objects."""
    for name in names:
        if isinstance(name, str) and looks_like_credential(name):
            raise InvalidRequestError(
                f"{where} got {name!r}, which looks like a credential; the DashScope key goes "
                "in api_key=... or the DASHSCOPE_API_KEY environment variable (never among "
                "the request parameters)",
                param="api_key",
            )


def region_beats_environment(values: dict[str, Any]) -> None:
    """Constructor keywords of a class whose ``base_url`` field defaults to
    ``DASHSCOPE_HTTP_BASE_URL`` (LangChain's ``from_env`` convention): an explicit ``region``
    without a ``base_url`` means that region's host, in the order ``ClientSettings.resolve``
    follows (``base_url``, then ``region``, then the environment), not a conflict."""
    if (
        values.get("region") is not None
        and values.get("base_url") is None
        and values.get("api_base") is None
    ):
        values["base_url"] = None  # the field's environment default does not apply


CONNECTION_FIELDS = (
    "api_key",
    "base_url",
    "region",
    "workspace",
    "timeout",
    "max_retries",
    "default_headers",
    "protocol",
    "backend",
    "max_connections",
)
"""The connection fields every model class declares (the keywords of ClientSettings.resolve)."""


_PROTOCOL_FIELDS = ("protocol", "backend")
"""Fields a class that only reaches native endpoints (rerank, multimodal) need not declare."""


def connection_options(source: Any) -> dict[str, Any]:
    """A model object's connection fields, as ``ClientSettings.resolve`` keywords."""
    return {
        name: getattr(source, name, None) if name in _PROTOCOL_FIELDS else getattr(source, name)
        for name in CONNECTION_FIELDS
    }


def check_max_retries(value: Any) -> int:
    """``max_retries`` as an int in [0, 100], or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_RETRIES_CAP:
        raise InvalidRequestError(
            f"max_retries must be an integer between 0 and {_MAX_RETRIES_CAP}, got {value!r}",
            param="max_retries",
        )
    return value


def check_max_connections(value: Any, *, injected: Sequence[Any] = ()) -> int | None:
    """``max_connections`` as a positive int (or None: the default), or a clear error.

    ``injected``: a model object's own HTTP clients (sync and async). They have their own
    limits, so ``max_connections`` sizes only the shared pools the others use; with every
    client injected it would size nothing, which is an error rather than ignored.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"max_connections must be a positive integer (the most connections of the shared "
            f"pool; default {DEFAULT_MAX_CONNECTIONS}), got {value!r}",
            param="max_connections",
        )
    if injected and all(client is not None for client in injected):
        raise InvalidRequestError(
            "max_connections sizes the shared connection pools, but both HTTP clients were "
            "given, and they have their own limits: set them there (httpx.Limits("
            "max_connections=...)), or drop max_connections",
            param="max_connections",
        )
    return value


def _check_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    """``default_headers`` as (name, value) pairs an HTTP request can carry."""
    if headers is None:
        return ()
    if not isinstance(headers, Mapping):
        raise InvalidRequestError(
            f"default_headers must be a mapping of header names to values, got {headers!r}",
            param="default_headers",
        )
    pairs = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidRequestError(
                f"default_headers[{name!r}] must map a string to a string, got {value!r}",
                param="default_headers",
            )
        token = name.isascii() and name and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name)
        if not token:
            raise InvalidRequestError(
                f"default_headers: {name!r} is not a valid HTTP header name",
                param="default_headers",
            )
        if any(c in "\r\n\0" for c in value) or not all(
            0x20 <= ord(c) < 0x7F or c == "\t" for c in value
        ):
            raise InvalidRequestError(
                f"default_headers[{name!r}] holds characters an HTTP header cannot carry "
                "(line breaks, control or non-ASCII characters)",
                param="default_headers",
            )
        if name.lower() == "authorization":
            raise InvalidRequestError(
                "default_headers must not set Authorization: pass the key as api_key (or set "
                "DASHSCOPE_API_KEY), so that it stays out of logs and reprs",
                param="default_headers",
            )
        pairs.append((name, value))
    return tuple(pairs)


def _self_hosted_key(raw: Any) -> SecretStr | None:
    """The key for a server that is not DashScope: optional (vLLM without ``--api-key``,
    Ollama and llama.cpp take any or none; ``"EMPTY"`` is sent as given). The DashScope key of
    the environment is never sent to such a server, even when a framework copied it into
    ``api_key`` (LangChain reads DASHSCOPE_API_KEY into the field by default)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        resolve_api_key(raw)  # the same clear error for a key of the wrong type
    env = os.environ.get("DASHSCOPE_API_KEY", "").strip()
    if env and raw.strip() == env:
        logger.debug("the DashScope key (DASHSCOPE_API_KEY) is not sent to a self-hosted server")
        return None
    return SecretStr(resolve_api_key(raw))


def _warn_plain_http(base_url: str) -> None:
    # Python's warning registry shows it once per place (the default filter).
    if not base_url.startswith("http://") or is_private_host(base_url):
        return
    warnings.warn(
        f"base_url {base_url!r} uses plain http:// to a public host: the API key would travel "
        "unencrypted; use https://",
        UserWarning,
        stacklevel=4,
    )


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a client connects with, validated: build it with :meth:`resolve`."""

    api_key: SecretStr | None
    """None only for self-hosted backends (no ``Authorization`` header is sent then)."""
    base_url: str
    workspace: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: tuple[tuple[str, str], ...] = ()
    protocol: Protocol = "native"
    """``native`` (DashScope's ``/api/v1``) or ``openai`` (``/chat/completions``...)."""
    backend: Backend = "dashscope"
    """The server: ``dashscope`` (both protocols), ``vllm``, ``sglang``, ``ollama``,
    ``llamacpp`` or ``openai`` (a generic OpenAI-compatible server)."""

    max_connections: int | None = None
    """The most connections of the shared pool (None: ``DEFAULT_MAX_CONNECTIONS``); clients
    given their own ``http_client`` use that client's limits instead."""

    @property
    def pool_size(self) -> int:
        """The connection cap of the shared pool these settings use."""
        return DEFAULT_MAX_CONNECTIONS if self.max_connections is None else self.max_connections

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace: str | None = None,
        timeout: Any = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        protocol: str | None = None,
        backend: str | None = None,
        max_connections: int | None = None,
        warn: bool = True,
    ) -> ClientSettings:
        """Settings from what a user passes (``None``: the environment, then the default).

        ``protocol`` / ``backend`` unset are inferred from the base URL
        (``_config.resolve_endpoint``); ``backend="auto"`` asks the server once (``_probe``).
        ``warn``: warn about plain ``http://`` to a public host (the key would travel in clear
        text); off for a construction-time :meth:`check`, so each object warns when used.
        """
        raw = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        resolved_url, resolved_protocol, resolved_backend = resolve_endpoint(
            base_url, region, protocol, backend
        )
        if resolved_backend == "auto":
            from ._probe import detect_backend

            resolved_backend = detect_backend(resolved_url)
        if workspace is not None and (not isinstance(workspace, str) or not workspace.strip()):
            raise InvalidRequestError(
                f"workspace must be a non-empty string, got {workspace!r}", param="workspace"
            )
        if resolved_backend in SELF_HOSTED:
            if workspace is not None:
                raise InvalidRequestError(
                    f"workspace= is a DashScope (Model Studio) setting; a {resolved_backend} "
                    "server has no workspaces",
                    param="workspace",
                )
            key = _self_hosted_key(raw)
        else:
            key = SecretStr(resolve_api_key(raw))
        if warn and key is not None:
            _warn_plain_http(resolved_url)
        return cls(
            api_key=key,
            base_url=resolved_url,
            workspace=workspace,
            timeouts=Timeouts.of(timeout),
            max_retries=check_max_retries(max_retries),
            default_headers=_check_headers(default_headers),
            protocol=resolved_protocol,
            backend=resolved_backend,  # type: ignore[arg-type]
            max_connections=check_max_connections(max_connections),
        )

    @classmethod
    def check(cls, **options: Any) -> ClientSettings:
        """Validate settings as :meth:`resolve` does, except that the key may still be missing
        (frameworks build model objects before the environment is set up); the settings come
        back with a placeholder key then."""
        api_key = options.get("api_key")
        raw = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if raw is None and not os.environ.get("DASHSCOPE_API_KEY", "").strip():
            options = {**options, "api_key": "sk-placeholder"}
        return cls.resolve(**options, warn=False)

    @property
    def self_hosted(self) -> bool:
        """Whether the server is not DashScope's."""
        return self.backend in SELF_HOSTED

    @property
    def auth_hint(self) -> str | None:
        """The region advice an authentication error carries."""
        return auth_hint(self.base_url)

    def __repr__(self) -> str:
        return (
            f"ClientSettings(base_url={self.base_url!r}, protocol={self.protocol!r}, "
            f"backend={self.backend!r}, workspace={self.workspace!r}, "
            f"timeouts={self.timeouts!r}, max_retries={self.max_retries}, "
            f"max_connections={self.max_connections!r}, "
            f"api_key={'None' if self.api_key is None else repr(SecretStr('x'))})"
        )


def _resolve_for(options: Mapping[str, Any], http_client: Any) -> ClientSettings:
    """A model object's settings for one of its clients: ``max_connections`` sizes the shared
    pools, so a client the user injected (which has its own limits) is built without it."""
    if http_client is not None and options.get("max_connections") is not None:
        options = {**options, "max_connections": None}
    return ClientSettings.resolve(**options)


class ClientCache:
    """The sync and async clients of one model object, rebuilt when its settings change.

    ``options`` are the object's raw connection fields (compared with ``==`` on every call,
    which is cheap); they are resolved into :class:`ClientSettings` only when they change.
    Copies of a model object (``copy``, ``deepcopy``, pickling) start with an empty cache.
    """

    __slots__ = ("_async", "_sync")

    def __init__(self) -> None:
        self._sync: tuple[tuple[Any, ...], DashScopeClient] | None = None
        self._async: tuple[tuple[Any, ...], AsyncDashScopeClient] | None = None

    def __copy__(self) -> ClientCache:
        return ClientCache()

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCache:
        return ClientCache()

    def __reduce__(self) -> tuple[Callable[[], ClientCache], tuple[()]]:
        return ClientCache, ()

    def __repr__(self) -> str:
        return "ClientCache()"

    def sync(
        self, options: Mapping[str, Any], http_client: Any = None, **extra: Any
    ) -> DashScopeClient:
        """The sync client for these ``options`` (``ClientSettings.resolve`` keywords)."""
        key = (tuple(options.items()), id(http_client), tuple(extra.items()))
        slot = self._sync
        if slot is not None and slot[0] == key:
            return slot[1]
        from ._client import DashScopeClient

        client = DashScopeClient(
            _resolve_for(options, http_client), http_client=http_client, **extra
        )
        self._sync = (key, client)
        return client

    def async_(
        self, options: Mapping[str, Any], http_client: Any = None, **extra: Any
    ) -> AsyncDashScopeClient:
        """The async client for these ``options``."""
        key = (tuple(options.items()), id(http_client), tuple(extra.items()))
        slot = self._async
        if slot is not None and slot[0] == key:
            return slot[1]
        from ._client import AsyncDashScopeClient

        client = AsyncDashScopeClient(
            _resolve_for(options, http_client), http_client=http_client, **extra
        )
        self._async = (key, client)
        return client

    def take_sync(self) -> DashScopeClient | None:
        """Forget the sync client and return it (for ``close()``)."""
        slot, self._sync = self._sync, None
        return None if slot is None else slot[1]

    def take_async(self) -> AsyncDashScopeClient | None:
        """Forget the async client and return it (for ``aclose()``)."""
        slot, self._async = self._async, None
        return None if slot is None else slot[1]
