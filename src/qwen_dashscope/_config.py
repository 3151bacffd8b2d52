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
    "DEFAULT_BASE_URL",
    "REGIONS",
    "Region",
    "Timeouts",
    "auth_hint",
    "canonical_region",
    "is_private_host",
    "region_of",
    "resolve_api_key",
    "resolve_base_url",
]

Region = Literal["beijing", "singapore", "us", "hongkong", "finance"]

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
    """Explicit base_url, then region, then ``DASHSCOPE_HTTP_BASE_URL``, then Beijing."""
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
