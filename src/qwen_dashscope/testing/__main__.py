"""``python -m qwen_dashscope.testing``: run the emulator in the foreground until Ctrl-C
(or SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from ._server import DashScopeEmulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qwen_dashscope.testing", description="Run a local DashScope emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default="sk-emulator", help="key to accept")
    parser.add_argument("--any-key", action="store_true", help="accept any non-empty key")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between events")
    args = parser.parse_args(argv)
    emulator = DashScopeEmulator(
        host=args.host,
        port=args.port,
        api_key=None if args.any_key else args.api_key,
        chunk_delay=args.chunk_delay,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    emulator.start()
    print(
        f"DashScope emulator: base_url={emulator.base_url} "
        f"compatible_base_url={emulator.compatible_base_url} api_key={emulator.api_key or '*'}",
        flush=True,
    )
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
