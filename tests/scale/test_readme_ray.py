"""The README's Ray Data example, run for real on a local Ray against the emulator (scripted by
the replies file the README starts the command-line emulator with), in a fresh interpreter as
a reader would run it: after the scale suite's own Ray sessions, a second ``ray.init`` in the
same process times out waiting for its GCS server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qwen_dashscope.testing import DashScopeEmulator, apply_replies
from tests._readme import REPLIES, ROOT, blocks

pytestmark = [pytest.mark.scale]


@pytest.mark.timeout(300)
def test_the_ray_example_labels_the_reviews(
    emulator_env: DashScopeEmulator, tmp_path: Path
) -> None:
    pytest.importorskip("ray", reason="make test-scale installs the ray extra")
    apply_replies(emulator_env, REPLIES)
    in_process, _, ray_data = blocks("bulk jobs")
    script = tmp_path / "readme_ray.py"
    script.write_text(
        in_process
        + "\nprint(sorted(m.content for m in messages))\n"
        + ray_data
        + "\nray.shutdown()\n",
        encoding="utf-8",
    )
    env = dict(os.environ, HOME=str(tmp_path), QWEN_DASHSCOPE_JOBS_DIR=str(tmp_path / "jobs"))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    expected = "['negative', 'positive', 'positive']"
    assert lines[-2] == expected  # in process
    assert lines[-1] == expected  # the same prompts through Ray Data
