"""Raw HTTP clients of the shared emulator (tests/conftest.py's ``emulator``), for the tests
that speak the protocol by hand."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator


@pytest.fixture(scope="session")
def _client(_emulator_server: DashScopeEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {_emulator_server.api_key}"}
    with httpx.Client(base_url=_emulator_server.url, headers=headers, timeout=10) as http:
        yield http


@pytest.fixture
def client(emulator: DashScopeEmulator, _client: httpx.Client) -> httpx.Client:
    """An authorised client of ``emulator`` (one per session: creating one costs ~20 ms)."""
    return _client


@pytest.fixture(scope="session")
def _anon(_emulator_server: DashScopeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_emulator_server.url, timeout=10) as http:
        yield http


@pytest.fixture
def anon(emulator: DashScopeEmulator, _anon: httpx.Client) -> httpx.Client:
    """A client of ``emulator`` that sends no Authorization header by itself."""
    return _anon
