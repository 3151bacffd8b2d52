"""`make demo` (examples/demo.py) runs end to end against the emulator when no key is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
