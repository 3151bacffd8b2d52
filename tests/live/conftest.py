"""Live tests talk to the real DashScope service; they are skipped without a key.

They run inside `make test` whenever DASHSCOPE_API_KEY is set (the loopback-only socket
guard is lifted for them alone), or on their own with `make live`.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/live/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.live)
            item.add_marker(pytest.mark.enable_socket)
            if not os.environ.get("DASHSCOPE_API_KEY"):
                item.add_marker(pytest.mark.skip(reason="DASHSCOPE_API_KEY is not set"))
