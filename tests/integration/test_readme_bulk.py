"""Run the README's "Bulk jobs" examples against the emulator (the Ray one in tests/scale)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator

README = Path(__file__).resolve().parents[2] / "README.md"


def bulk_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- BEGIN bulk jobs -->")[1].split("<!-- END bulk jobs -->")[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_bulk_examples_run(
    emulator_env: DashScopeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWEN_DASHSCOPE_JOBS_DIR", str(tmp_path))
    in_process, batch_api, ray_data = bulk_blocks()
    compile(ray_data, "README.md", "exec")  # run for real by tests/scale (it needs Ray)
    namespace: dict[str, object] = {}
    exec(compile(in_process, "README.md", "exec"), namespace)
    exec(compile(batch_api, "README.md", "exec"), namespace)
    messages, results = namespace["messages"], namespace["results"]
    assert [m.content for m in results] == [m.content for m in messages]  # type: ignore[attr-defined]
    assert namespace["same"].id == namespace["job"].id  # type: ignore[attr-defined]
    creates = emulator_env.batches.calls.count(("POST", "/compatible-mode/v1/batches"))
    assert creates == 1
