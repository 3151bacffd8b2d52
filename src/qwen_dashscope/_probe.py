"""``backend="auto"``: ask the server what it is, once per base URL.

Only used when a user sets ``backend="auto"``; otherwise the backend is the explicit setting
or inferred from the URL without any request (``_config.infer_backend``). The probes are
ordered most specific first (research notes §7) and cost at most four GETs, all answered
locally by the server; the answer is cached for the life of the process. A server that answers
none of them is taken as vLLM (whose own ``/version`` is the last probe). A probe that cannot
connect is not cached, so a server started later is still recognised.

This is blocking I/O at settings time (the first use of a model object): async applications
should set ``backend=`` explicitly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

__all__ = ["PROBES", "clear_cache", "detect_backend", "server_root"]

logger = logging.getLogger("qwen_dashscope")

_TIMEOUT = httpx.Timeout(3.0)


def _has(*keys: str) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and all(k in body for k in keys)


PROBES: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    # [CODE ollama server/routes.go] {"version": "0.33.0"}
    ("/api/version", "ollama", _has("version")),
    # [CODE sglang http_server] {"model_path", "tokenizer_path", "is_generation", ...}
    ("/get_model_info", "sglang", _has("model_path")),
    # [DOC llama.cpp tools/server/README.md] server properties (default_generation_settings ...)
    ("/props", "llamacpp", _has("default_generation_settings")),
    # [INF] vLLM {"version": "0.x.y"}
    ("/version", "vllm", _has("version")),
)

_cache: dict[str, str] = {}
_lock = threading.Lock()


def server_root(base_url: str) -> str:
    """The server's root: ``base_url`` without its trailing ``/v1``."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def clear_cache() -> None:
    """Forget every probed backend (tests; a server replaced by another on the same URL)."""
    with _lock:
        _cache.clear()


def detect_backend(base_url: str, *, transport: httpx.BaseTransport | None = None) -> str:
    """The backend serving ``base_url`` (cached per base URL)."""
    with _lock:
        known = _cache.get(base_url)
    if known is not None:
        return known
    root = server_root(base_url)
    reached = False
    with httpx.Client(timeout=_TIMEOUT, transport=transport) as http:
        for path, backend, matches in PROBES:
            try:
                response = http.get(root + path)
            except httpx.TransportError:
                continue
            reached = True
            if response.status_code != 200:
                continue
            try:
                body = response.json()
            except ValueError:
                continue
            if matches(body):
                logger.info("backend of %s: %s (answered %s)", base_url, backend, path)
                with _lock:
                    _cache[base_url] = backend
                return backend
    logger.info("backend of %s: no probe answered, taking vllm", base_url)
    if reached:
        with _lock:
            _cache[base_url] = "vllm"
    return "vllm"
