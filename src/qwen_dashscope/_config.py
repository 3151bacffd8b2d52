"""Regions, base URLs, timeouts, and the resolution of each connection setting."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from ._errors import InvalidRequestError

__all__ = [
    "BACKENDS",
    "DEFAULT_BASE_URL",
    "PROTOCOLS",
    "REGIONS",
    "SELF_HOSTED",
    "Backend",
    "Protocol",
    "Region",
    "Timeouts",
    "auth_hint",
    "canonical_region",
    "infer_backend",
    "infer_protocol",
    "is_dashscope_url",
    "is_private_host",
    "region_of",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_endpoint",
]

Region = Literal["beijing", "singapore", "us", "hongkong", "finance"]
Protocol = Literal["native", "openai"]
"""``native``: DashScope's own API (``…/api/v1``); ``openai``: the OpenAI chat-completions and
embeddings protocol (DashScope's ``…/compatible-mode/v1``, self-hosted servers' ``…/v1``)."""
Backend = Literal["dashscope", "vllm", "sglang", "ollama", "llamacpp", "openai"]
"""The server behind an OpenAI-protocol base URL (where it reads Qwen's switches)."""
PROTOCOLS: tuple[str, ...] = ("native", "openai")
BACKENDS: tuple[str, ...] = ("dashscope", "vllm", "sglang", "ollama", "llamacpp", "openai")
SELF_HOSTED: frozenset[str] = frozenset({"vllm", "sglang", "ollama", "llamacpp", "openai"})
"""Backends that are not DashScope: no DashScope key, no DashScope-only features."""

DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1"

# Native API bases of the documented deployment regions (§1.1 of the protocol notes).
REGIONS: dict[str, str] = {
    "beijing": "https://dashscope.aliyuncs.com/api/v1",
    "singapore": "https://dashscope-intl.aliyuncs.com/api/v1",
    "us": "https://dashscope-us.aliyuncs.com/api/v1",
    "hongkong": "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
    "finance": "https://dashscope-finance.aliyuncs.com/api/v1",
}

_REGION_ALIASES: dict[str, str] = {
    "cn": "beijing",
    "china": "beijing",
    "cn-beijing": "beijing",
    "intl": "singapore",
    "international": "singapore",
    "ap-southeast-1": "singapore",
    "us-east-1": "us",
    "virginia": "us",
    "hk": "hongkong",
    "cn-hongkong": "hongkong",
    "hong-kong": "hongkong",
}


def _seconds(value: Any, name: str) -> float | None:
    """A finite positive number of seconds, or None (no limit); errors name ``timeout``."""
    if value is None:
        return None
    label = name if name.startswith("timeout") else f"timeout ({name})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(
            f"{label} must be a positive number of seconds, got {value!r}", param="timeout"
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidRequestError(
            f"{label}={value!r} is not a positive, finite number of seconds (use None for no "
            "limit)",
            param="timeout",
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts in seconds (``None``: no limit).

    ``connect``: establishing the connection. ``read``: the longest wait for the next bytes
    (for a stream, between two events). ``total``: a deadline for the whole call, including
    retries, the whole body and, for a stream, the time until its last event.
    """

    connect: float | None = 10.0
    read: float | None = 300.0
    total: float | None = None

    DEFAULT_CONNECT: ClassVar[float] = 10.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            object.__setattr__(self, name, _seconds(getattr(self, name), f"Timeouts.{name}"))

    @classmethod
    def of(cls, value: Any) -> Timeouts:
        """From what users pass as ``timeout``.

        A number means the connect/read limit of that many seconds (httpx's convention, the
        connect limit capped at 10 s); ``(connect, read)`` as requests takes it; an
        ``httpx.Timeout`` (its ``connect`` and ``read``); a ``Timeouts``; ``None``: defaults.
        """
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise InvalidRequestError(
                    f"timeout={value!r}: a tuple must be (connect, read) seconds",
                    param="timeout",
                )
            return cls(connect=_seconds(value[0], "connect"), read=_seconds(value[1], "read"))
        if type(value).__module__.startswith("httpx") and type(value).__name__ == "Timeout":
            return cls(connect=value.connect, read=value.read)
        seconds = _seconds(value, "timeout")
        assert seconds is not None
        return cls(connect=min(seconds, cls.DEFAULT_CONNECT), read=seconds)


def canonical_region(region: str) -> str:
    """The canonical region name, or a clear error listing the valid ones."""
    if not isinstance(region, str):
        raise InvalidRequestError(f"region must be a string, got {region!r}", param="region")
    key = region.strip().lower()
    key = _REGION_ALIASES.get(key, key)
    if key not in REGIONS:
        valid = ", ".join(sorted(REGIONS))
        raise InvalidRequestError(
            f"region={region!r} is not a DashScope region; use one of {valid} "
            "(or pass base_url for a workspace or private endpoint)",
            param="region",
        )
    return key


def resolve_base_url(base_url: str | None = None, region: str | None = None) -> str:
    """Explicit base_url, then region, then ``DASHSCOPE_HTTP_BASE_URL``, then Beijing (a bare
    host gets DashScope's native ``/api/v1``; :func:`resolve_endpoint` knows the protocols)."""
    if base_url is not None and not isinstance(base_url, str):
        raise InvalidRequestError(f"base_url must be a string, got {base_url!r}", param="base_url")
    if base_url is not None and not base_url.strip():
        raise InvalidRequestError(
            "base_url is empty; pass a URL such as "
            f"{DEFAULT_BASE_URL}, or leave it unset (None) for the default",
            param="base_url",
        )
    if base_url and region:
        raise InvalidRequestError("pass either base_url or region, not both", param="base_url")
    if region:
        return REGIONS[canonical_region(region)]
    url = base_url or os.environ.get("DASHSCOPE_HTTP_BASE_URL") or DEFAULT_BASE_URL
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError(
            f"base_url={url!r} is not an http(s) URL; expected e.g. {DEFAULT_BASE_URL}",
            param="base_url",
        )
    # Accept a bare host ("https://dashscope-intl.aliyuncs.com") as well as the API base.
    if parts.path in ("", "/"):
        url += "/api/v1"
    return url


def resolve_api_key(api_key: Any) -> str:
    """The key from the argument or ``DASHSCOPE_API_KEY``; a clear error when neither is set."""
    if api_key is not None and not isinstance(api_key, str):
        # Never echo the value: it may be a key in the wrong shape.
        raise InvalidRequestError(
            f"api_key must be a string (or a pydantic SecretStr), got a {type(api_key).__name__}",
            param="api_key",
        )
    key = api_key if api_key is not None else os.environ.get("DASHSCOPE_API_KEY")
    if not key or not key.strip():
        raise InvalidRequestError(
            "No DashScope API key: pass api_key=... or set the DASHSCOPE_API_KEY environment "
            "variable (keys are created in the Model Studio console of your region).",
            param="api_key",
        )
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in key.strip()):
        raise InvalidRequestError(
            "api_key holds characters an HTTP header cannot carry (spaces, line breaks or "
            "non-ASCII); copy the key again from the Model Studio console",
            param="api_key",
        )
    return key.strip()


def region_of(base_url: str) -> str | None:
    """The region whose documented host ``base_url`` points at, if any."""
    host = urlsplit(base_url).netloc.lower()
    for name, url in REGIONS.items():
        if urlsplit(url).netloc == host:
            return name
    for marker, name in (
        (".ap-southeast-1.", "singapore"),
        (".us-east-1.", "us"),
        ("vpc-cn-beijing", "beijing"),
    ):
        if marker in host:
            return name
    return None


def is_private_host(base_url: str) -> bool:
    """Whether ``base_url`` names loopback, a private address or ``localhost``."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def auth_hint(base_url: str) -> str | None:
    """What to tell the user when a key is rejected: keys are bound to one region."""
    region = region_of(base_url)
    if region is None:
        return None
    others = ", ".join(f"{name!r}" for name in REGIONS if name != region)
    host = urlsplit(base_url).netloc
    return (
        f"DashScope API keys are bound to the region they were created in; this request went "
        f"to {host} (region {region!r}). If your key belongs to another region, set "
        f"region= to one of {others} (or base_url=, or DASHSCOPE_HTTP_BASE_URL)."
    )


# ------------------------------------------------------------------- protocol, backend

_COMPAT_PATH = "/compatible-mode/v1"
_NATIVE_PATH = "/api/v1"
# Default ports that name one server [CODE ollama envconfig: 11434; INF well known: SGLang
# 30000]. vLLM's 8000 is also the fallback; llama.cpp's port is not reliable (8080 in most
# builds, 9931 in one README copy), nor are ports behind proxies: an explicit backend= wins.
_PORTS: dict[int, str] = {11434: "ollama", 30000: "sglang"}


def is_dashscope_url(url: str) -> bool:
    """Whether ``url`` is DashScope's (an ``*.aliyuncs.com`` host, or a compatible-mode path)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host.endswith(".aliyuncs.com") or _COMPAT_PATH in parts.path


def infer_protocol(url: str) -> Protocol:
    """``openai`` for ``…/compatible-mode/v1`` and any ``…/v1`` that is not DashScope's native
    ``…/api/v1``; ``native`` otherwise."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith(_COMPAT_PATH):
        return "openai"
    if path.endswith("/v1") and not path.endswith(_NATIVE_PATH):
        return "openai"
    return "native"


def infer_backend(url: str, protocol: Protocol) -> Backend:
    """The backend an OpenAI-protocol URL most likely is, without any request: DashScope by
    host or path, Ollama / SGLang by their default ports, else vLLM (the most common server;
    SGLang and llama.cpp read the thinking switch where vLLM does)."""
    if protocol == "native" or is_dashscope_url(url):
        return "dashscope"
    port = urlsplit(url).port
    return _PORTS.get(port, "vllm") if port is not None else "vllm"  # type: ignore[return-value]


def _check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidRequestError(
            f"{name}={value!r} is not valid; use one of {', '.join(map(repr, allowed))} "
            "(or leave it unset to infer it from base_url)",
            param=name,
        )


def _with_path(url: str, old: str, new: str) -> str:
    return url[: -len(old)] + new if url.endswith(old) else url


def resolve_endpoint(
    base_url: str | None = None,
    region: str | None = None,
    protocol: str | None = None,
    backend: str | None = None,
) -> tuple[str, Protocol, str]:
    """``(base URL, protocol, backend)`` from the settings a user gives (pure; ``backend`` may
    come back as ``"auto"``, which :mod:`._probe` settles with requests).

    Explicit values win. Unset, the protocol comes from the URL (:func:`infer_protocol`) or
    from a self-hosted ``backend``, the backend from the URL (:func:`infer_backend`). A bare
    host gets the protocol's path (``/api/v1``, ``/compatible-mode/v1`` on DashScope, ``/v1``
    elsewhere); a DashScope URL of the other protocol is switched to this one's path.
    """
    _check_choice(protocol, "protocol", PROTOCOLS)
    _check_choice(backend, "backend", (*BACKENDS, "auto"))
    self_hosted = backend is not None and backend != "dashscope"
    if region and self_hosted:
        raise InvalidRequestError(
            f"region= is a DashScope setting; a {backend} server needs base_url= (e.g. "
            "http://localhost:8000/v1)",
            param="region",
        )
    if protocol == "native" and self_hosted:
        raise InvalidRequestError(
            f"backend={backend!r} speaks the OpenAI protocol, not DashScope's native one; use "
            "protocol='openai' (or leave it unset) with base_url='http://<host>:<port>/v1'",
            param="backend",
        )
    url = resolve_base_url(base_url, region)
    bare = base_url is not None and urlsplit(base_url.strip()).path in ("", "/") and not region
    if protocol is None:
        protocol = "openai" if self_hosted else infer_protocol(url)
    dashscope = is_dashscope_url(url) or (region is not None) or backend == "dashscope"
    if protocol == "openai":
        if bare and not dashscope:
            url = _with_path(url, _NATIVE_PATH, "/v1")
        elif dashscope:
            url = _with_path(url, _NATIVE_PATH, _COMPAT_PATH)
    elif url.endswith(_COMPAT_PATH):
        url = _with_path(url, _COMPAT_PATH, _NATIVE_PATH)
    proto: Protocol = "openai" if protocol == "openai" else "native"
    if backend is None:
        backend = infer_backend(url, proto)
    if backend in SELF_HOSTED and is_dashscope_url(url) and urlsplit(url).hostname:
        host = (urlsplit(url).hostname or "").lower()
        if host.endswith(".aliyuncs.com"):
            raise InvalidRequestError(
                f"backend={backend!r} with a DashScope URL ({url}); use backend='dashscope' "
                "(or leave it unset)",
                param="backend",
            )
    return url, proto, backend
