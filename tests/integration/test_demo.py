"""`make demo` (examples/demo.py) runs end to end against the emulator when no key is set:
a streamed recipe, a tool call and the answer using its result, a thinking model's reasoning,
a structured-output result and a usage table, streamed at a pace a person can follow."""

from __future__ import annotations

import itertools
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def _without_dashscope_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "QWEN_DEMO_"))}


def test_demo_shows_every_step() -> None:
    env = {**_without_dashscope_env(), "QWEN_DEMO_CHUNK_DELAY": "0"}
    result = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("[emulator] no DASHSCOPE_API_KEY set: the bundled emulator at http")
    assert "scripted by examples/emulator-replies.json" in out
    # 1. a real recipe, streamed
    assert "推荐一道家常的「萝卜土豆烧茄子」" in out and "6. 开大火收汁" in out
    # 2. the tool call, its result, and the answer built on it
    assert "tool call: get_weather({'city': '杭州'}) -> 杭州：晴，22°C，东南风 2 级" in out
    assert "杭州今天晴，22°C" in out
    # 3. reasoning first, then the answer
    thinking = out.split("thinking: ", 1)[1]
    assert thinking.startswith("要比较 9.11 和 9.9。")
    assert "\nanswer: 9.9 更大。" in thinking
    # 4. the pydantic object
    assert "Recipe: Recipe(name='萝卜土豆烧茄子', ingredients=['白萝卜', '土豆'," in out
    assert "minutes=35)" in out
    # 5. the usage of all five calls; the thinking call reports its reasoning tokens
    table = out.split("== 5. token usage, as the service reported it ==\n", 1)[1].splitlines()
    assert table[0].split() == ["call", "input", "output", "reasoning", "total"]
    rows = {line.rsplit(None, 4)[0]: line.rsplit(None, 4)[1:] for line in table[1:6]}
    assert list(rows) == [
        "1. recipe (stream)",
        "2. tool call",
        "2. answer",
        "3. thinking",
        "4. structured",
    ]
    for name, (inp, output, reasoning, total) in rows.items():
        assert int(inp) + int(output) == int(total), name
        assert reasoning == "-" or name == "3. thinking"
    assert int(rows["3. thinking"][2]) > 0
    assert "request_id of the last call: " in out


@pytest.mark.timeout(60)
def test_demo_streams_at_a_human_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the default pace (no QWEN_DEMO_CHUNK_DELAY) chunks arrive one by one, spread out in
    time, and the whole demo takes well under a minute."""
    for name in [k for k in os.environ if k.startswith(("DASHSCOPE_", "QWEN_DEMO_"))]:
        monkeypatch.delenv(name)
    pieces: list[tuple[float, str]] = []
    real_print = print

    def recording_print(*args: object, **kwargs: object) -> None:
        if kwargs.get("end") == "" and kwargs.get("flush"):
            pieces.append((time.monotonic(), "".join(map(str, args))))
        real_print(*args, **kwargs)

    monkeypatch.setattr("builtins.print", recording_print)
    demo = runpy.run_path(str(DEMO))  # defines main() without running it
    assert demo["CHUNK_DELAY"] == 0.03
    started = time.monotonic()
    assert demo["main"]() == 0
    assert time.monotonic() - started < 30
    text = "".join(piece for _, piece in pieces)
    assert "萝卜土豆烧茄子" in text
    recipe = pieces[:60]  # the first answer has about 100 chunks
    assert len(recipe) == 60  # one print per streamed chunk, flushed as it arrives
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(recipe)]
    assert sum(gaps) > 59 * 0.03 * 0.8  # not one burst: about 30 ms between chunks
    assert sorted(gaps)[len(gaps) // 2] > 0.02
