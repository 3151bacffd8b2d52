"""Shared fixtures: the bundled emulator over real loopback HTTP, and the captures."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator

ROOT = Path(__file__).resolve().parents[1]
WIRE = ROOT / "tests" / "fixtures" / "wire"


@pytest.fixture(scope="session")
def wire_dir() -> Path:
    """The captured traffic in tests/fixtures/wire (part of the repository: never skipped)."""
    if not WIRE.is_dir():
        pytest.fail(f"captures not found at {WIRE}: tests/fixtures/wire belongs to the repository")
    return WIRE


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[DashScopeEmulator]:
    with DashScopeEmulator() as emu:
        yield emu


@pytest.fixture
def emulator(_emulator_server: DashScopeEmulator) -> Iterator[DashScopeEmulator]:
    """A running emulator, with its queue, rules and request log cleared for this test."""
    _emulator_server.reset()
    yield _emulator_server
    _emulator_server.reset()


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
        server.reset()
        used.append(server)
        return server

    yield get
    for server in used:
        server.reset()


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
