"""One client's process in the side-by-side benchmark.

    python -m benchmarks._runner IMPORT_STATEMENT JOB_JSON

First, before anything else is imported, it refuses non-loopback traffic and times the
client's import statement (the cold import, with its peak RSS); then it runs the job's rows
and prints one line, ``RESULT {json}``. CPU is ``time.process_time()`` of this whole process
(threads included); the emulator runs in another one.
"""

from __future__ import annotations

import sys
import time

from benchmarks import _offline


def main(statement: str, job_text: str) -> None:
    _offline.install()
    import resource

    start = time.perf_counter()
    exec(statement, {})
    import_ms = (time.perf_counter() - start) * 1000
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import json

    job = json.loads(job_text)
    rows: dict[str, dict[str, object]] = {
        "import": {"ms": import_ms, "rss_mb": import_rss, "notes": []}
    }
    try:
        from . import _rows

        rows.update(_rows.run(job))
    finally:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"rows": rows, "rss_mb": peak, "network": _offline.attempts}
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
