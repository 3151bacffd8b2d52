"""Regions, base URLs, timeouts and the resolution of client settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from ._errors import InvalidRequestError

__all__ = [
    "DEFAULT_BASE_URL",
    "REGIONS",
    "Region",
    "Timeouts",
    "auth_hint",
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


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts in seconds.

    ``connect``: establishing the connection. ``read``: the longest wait for the next bytes
    (for a stream, between two events). ``total``: a deadline for the whole call, including
    retries and, for a stream, the time until its last event; ``None`` for no deadline.
    """

    connect: float = 10.0
    read: float = 300.0
    total: float | None = None

    DEFAULT_CONNECT: ClassVar[float] = 10.0

    @classmethod
    def of(cls, value: float | Timeouts | None) -> Timeouts:
        """A number means connect/read limit of that many seconds (httpx's convention)."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InvalidRequestError(
                f"timeout must be a positive number of seconds or a Timeouts(...), got {value!r}",
                param="timeout",
            )
        return cls(connect=min(float(value), cls.DEFAULT_CONNECT), read=float(value))


def canonical_region(region: str) -> str:
    """The canonical region name, or a clear error listing the valid ones."""
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
    if base_url and region:
        raise InvalidRequestError("pass either base_url or region, not both", param="base_url")
    if region:
        return REGIONS[canonical_region(region)]
    url = base_url or os.environ.get("DASHSCOPE_HTTP_BASE_URL") or DEFAULT_BASE_URL
    url = url.rstrip("/")
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


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument or ``DASHSCOPE_API_KEY``; a clear error when neither is set."""
    key = api_key if api_key is not None else os.environ.get("DASHSCOPE_API_KEY")
    if not key or not key.strip():
        raise InvalidRequestError(
            "No DashScope API key: pass api_key=... or set the DASHSCOPE_API_KEY environment "
            "variable (keys are created in the Model Studio console of your region).",
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
