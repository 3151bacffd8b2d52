"""Keep a benchmark process on loopback: an audit hook refuses (and records) every DNS look-up
or connection to anything but 127.0.0.0/8, ``::1`` and ``localhost``.

Installed before any client is imported, so telemetry sent at import time is caught too. An
audit hook needs no import (``socket`` is not loaded for it), so import timings stay fair.
"""

from __future__ import annotations

import sys

# Environment for benchmark processes: every SDK pointed at the emulator, tracing off.
QUIET_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    "LANGSMITH_TEST_TRACKING": "false",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "false",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

attempts: list[str] = []
"""Every refused look-up or connection, as ``"event host:port"``."""


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None or host == "":
        return True  # getaddrinfo(None, port): the local wildcard
    host = str(host).lower().strip("[]")
    return host in ("localhost", "::1", "0:0:0:0:0:0:0:1") or host.startswith("127.")


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):  # an AF_UNIX path
            return
        host, port = address[0], address[1]
    else:
        return
    if not _loopback(host):
        attempts.append(f"{event} {host}:{port}")
        raise OSError(f"benchmark processes stay on loopback: {event} {host}:{port} refused")


def install() -> None:
    """Refuse non-loopback traffic in this process from now on (cannot be undone)."""
    sys.addaudithook(_hook)
