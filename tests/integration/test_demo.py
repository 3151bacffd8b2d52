"""`make demo` (examples/demo.py) runs end to end against the emulator when no key is set."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_streams_calls_a_tool_and_prints_usage() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    result = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("[emulator] no DASHSCOPE_API_KEY set")
    assert "萝卜土豆炖茄子" in out
    assert "tool call: get_weather({'city': '杭州'})" in out
    assert "杭州今天晴" in out
    assert out.count("usage: {'input_tokens':") == 2
    assert "request_id: " in out


def test_demo_prints_the_answer_token_by_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("DASHSCOPE_")]:
        monkeypatch.delenv(name)
    pieces: list[str] = []
    real_print = print

    def recording_print(*args: object, **kwargs: object) -> None:
        if kwargs.get("end") == "" and kwargs.get("flush"):
            pieces.append("".join(map(str, args)))
        real_print(*args, **kwargs)

    monkeypatch.setattr("builtins.print", recording_print)
    demo = runpy.run_path(str(DEMO))  # defines main() without running it
    assert demo["main"]() == 0
    assert len(pieces) > 10  # one print per streamed chunk, flushed as it arrives
    assert "萝卜土豆炖茄子" in "".join(pieces)
