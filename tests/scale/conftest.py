"""The scale suite (``make test-scale``): a real local Ray and the bulk-jobs notebook.

It needs the ``ray`` and ``notebooks`` extras, which ``make test-scale`` installs; ``make
test`` deselects it (``-m "not scale"``). One Ray session serves each test module (starting
one costs ≈ 8 s and 2.5 CPU-s on a 2-core machine), with HOME pointed at a temporary folder:
Ray 2.60 writes ``~/.ray/auth_token``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.scale)


@pytest.fixture(scope="module")
def ray_session(
    _emulator_server: DashScopeEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashScopeEmulator]:
    """A local Ray with 2 workers' worth of CPUs whose workers see the emulator's settings."""
    ray = pytest.importorskip("ray", reason="make test-scale installs the ray extra")
    home = tmp_path_factory.mktemp("ray-home")
    previous = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    env_vars = {
        "DASHSCOPE_API_KEY": _emulator_server.api_key or "sk-emulator",
        "DASHSCOPE_HTTP_BASE_URL": _emulator_server.base_url,
        "HOME": str(home),
    }
    ray.init(
        num_cpus=4,  # logical: the predictors wait on HTTP, they do not compute
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": env_vars},
    )
    try:
        yield _emulator_server
    finally:
        ray.shutdown()
        if previous is not None:
            os.environ["HOME"] = previous
