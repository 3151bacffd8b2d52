"""Run every benchmark script in this folder: ``python -m benchmarks``."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def main() -> int:
    here = pathlib.Path(__file__).parent
    failed = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n=== {script.stem}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"benchmarks.{script.stem}"])
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
