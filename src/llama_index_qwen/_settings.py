"""Connection settings shared by ``Qwen`` and ``QwenEmbedding``: key, base URL, clients."""

from __future__ import annotations

import os
from typing import Any

from pydantic import SecretStr

from qwen_dashscope import InvalidRequestError, Timeouts, resolve_base_url

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
