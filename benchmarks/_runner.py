"""One client's process in the side-by-side benchmark.

    python -m benchmarks._runner IMPORT_STATEMENT JOB_JSON

First, before anything else is imported, it refuses non-loopback traffic and times the
client's import statement (the cold import, with its peak RSS); then it runs the job's rows
and prints one line, ``RESULT {json}``. CPU is ``time.process_time()`` of this whole process
(threads included); the emulator runs in another one. A job may hold several clients, one
after another (the smoke run): only the first one's import is cold.
"""

from __future__ import annotations

import sys
import time

from benchmarks import _offline


def main(statement: str, job_text: str) -> None:
    """``statement``: the first client's import (timed before anything else is imported);
    ``job_text``: the clients (each with its import statement and rows) and the sizes."""
    _offline.install()
    import resource

    def timed_import(statement: str) -> dict[str, object]:
        start = time.perf_counter()
        exec(statement, {})
        elapsed = (time.perf_counter() - start) * 1000
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"ms": elapsed, "rss_mb": rss, "notes": []}

    first = timed_import(statement)
    import json

    job = json.loads(job_text)
    clients: dict[str, dict[str, object]] = {}
    try:
        from . import _rows

        for i, part in enumerate(job["clients"]):
            rows = {"import": first if i == 0 else timed_import(part["imports"])}
            clients[part["client"]] = rows
            rows.update(_rows.run(job, part["client"], part["rows"]))
    finally:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"clients": clients, "rss_mb": peak, "network": _offline.attempts}
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
