"""Shared fixtures: the bundled emulator over real loopback HTTP, and the captures.

- ``emulator``: the session's emulator, reset for each test (``emulator_env`` also points
  the environment at it); ``flavoured("vllm")``: a self-hosted flavour of it, likewise;
  ``make_emulator(**kwargs)``: an emulator of the test's own, for a constructor argument the
  shared ones cannot take (a key, a model table, a modified flavour).
- ``wire``: the captured traffic in tests/fixtures/wire (``tests._wire.Captures``).

Building the package's classes against an emulator and calling them sync or async:
``tests/_calls.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from qwen_dashscope.testing import DashScopeEmulator
from tests._wire import WIRE, Captures


@pytest.fixture(scope="session")
def wire() -> Captures:
    """The captured traffic in tests/fixtures/wire (part of the repository: never skipped)."""
    if not WIRE.is_dir():
        pytest.fail(f"captures not found at {WIRE}: tests/fixtures/wire belongs to the repository")
    return Captures(WIRE)


def _fresh(server: DashScopeEmulator) -> None:
    """Forget the queue, rules and request log, and undo what tests set by attribute."""
    server.reset()
    server.chunk_delay = 0.0
    server.shuffle_embeddings = False


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[DashScopeEmulator]:
    with DashScopeEmulator() as emu:
        yield emu


@pytest.fixture
def emulator(_emulator_server: DashScopeEmulator) -> Iterator[DashScopeEmulator]:
    """The running emulator, with its queue, rules and request log cleared for this test
    (``chunk_delay`` and ``shuffle_embeddings`` may be set: they are undone afterwards)."""
    _fresh(_emulator_server)
    yield _emulator_server
    _fresh(_emulator_server)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., DashScopeEmulator]]:
    """``make_emulator(**kwargs)``: a started ``DashScopeEmulator(**kwargs)`` of this test's
    own, stopped after it. Only for what the shared ``emulator`` cannot be: another key,
    model table, image captions or flavour."""
    started: list[DashScopeEmulator] = []

    def start(**kwargs: Any) -> DashScopeEmulator:
        server = DashScopeEmulator(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _flavoured_servers() -> Iterator[dict[str, DashScopeEmulator]]:
    servers: dict[str, DashScopeEmulator] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def flavoured(
    _flavoured_servers: dict[str, DashScopeEmulator],
) -> Iterator[Callable[[str], DashScopeEmulator]]:
    """``flavoured("vllm")``: a running self-hosted flavour of the emulator (one per session,
    started on first use), with its queue, rules and request log cleared for this test."""
    used: list[DashScopeEmulator] = []

    def get(name: str) -> DashScopeEmulator:
        server = _flavoured_servers.get(name)
        if server is None:
            server = _flavoured_servers[name] = DashScopeEmulator(flavour=name).start()
        _fresh(server)
        used.append(server)
        return server

    yield get
    for server in used:
        _fresh(server)


@pytest.fixture
def emulator_env(emulator: DashScopeEmulator, monkeypatch: pytest.MonkeyPatch) -> DashScopeEmulator:
    """Point DASHSCOPE_API_KEY / DASHSCOPE_HTTP_BASE_URL at the emulator."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", emulator.api_key or "sk-emulator")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Unit and integration tests never see a real key or base URL from the environment."""
    if "live" in request.keywords:
        return
    for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL"):
        if name in os.environ:
            monkeypatch.delenv(name)
