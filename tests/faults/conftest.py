"""Fixtures of the fault-injection suite: raw misbehaving servers on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .servers import Handler, RawServer


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    """``serve(handler)`` starts a ``RawServer``; every server is stopped after the test."""
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        server = RawServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
