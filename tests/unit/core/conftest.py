"""Fixtures of the core's unit tests (the clients over httpx.MockTransport: ``_mock.py``)."""

from __future__ import annotations

import pytest

from qwen_dashscope import _client as client_module


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clients' backoff sleeps (sync and async) recorded instead of slept."""
    slept: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(client_module.time, "sleep", slept.append)
    monkeypatch.setattr(client_module.asyncio, "sleep", fake_async_sleep)
    return slept
