"""Client CPU per request at 200 concurrent requests, per async HTTP transport.

Why: httpx's own asyncio pool costs milliseconds of CPU per request under high concurrency;
httpx over the aiohttp transport (``httpx-aiohttp``) is an order of magnitude cheaper. The
``AsyncDashScopeClient`` uses aiohttp when the ``aiohttp`` extra is installed. This script
measures the choice: process CPU time of the client process divided by requests.

    python -m benchmarks.bench_async_transport [--requests 1000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

import httpx

from qwen_dashscope import AsyncDashScopeClient
from qwen_dashscope._pools import default_async_http_client

from ._emulator import emulator_process

MESSAGES = [{"role": "user", "content": "你好"}]


async def _run(client: AsyncDashScopeClient, total: int, concurrency: int, stream: bool) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            if stream:
                async for _ in client.stream("qwen-plus", MESSAGES):
                    pass
            else:
                await client.generate("qwen-plus", MESSAGES)

    # warm-up: open the pool's connections
    await asyncio.gather(*(one() for _ in range(concurrency)))
    start = time.process_time()
    await asyncio.gather(*(one() for _ in range(total)))
    return (time.process_time() - start) / total * 1000


def measure(
    base_url: str, make_http: Callable[[], httpx.AsyncClient], total: int, conc: int, stream: bool
) -> float:
    async def main() -> float:
        http = make_http()
        client = AsyncDashScopeClient(
            api_key="sk-emulator", base_url=base_url, http_client=http, max_retries=0
        )
        try:
            return await _run(client, total, conc, stream)
        finally:
            await http.aclose()

    return asyncio.run(main())


TRANSPORTS: dict[str, Callable[[], httpx.AsyncClient]] = {
    "httpx (default limits)": lambda: httpx.AsyncClient(),
    "httpx (1000-connection pool)": lambda: httpx.AsyncClient(
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    ),
    "httpx-aiohttp (our default)": default_async_http_client,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"client CPU per request, {args.concurrency} concurrent, median of {args.repeat} runs")
    print(f"{'transport':32} {'generate ms':>12} {'stream ms':>10}")
    with emulator_process() as base_url:
        for name, factory in TRANSPORTS.items():
            row = []
            for stream in (False, True):
                runs = [
                    measure(base_url, factory, args.requests, args.concurrency, stream)
                    for _ in range(args.repeat)
                ]
                row.append(statistics.median(runs))
            print(f"{name:32} {row[0]:12.3f} {row[1]:10.3f}")
    chosen = type(default_async_http_client()).__name__
    print(f"AsyncDashScopeClient default http client: {chosen}")


if __name__ == "__main__":
    main()
