"""Bulk runners against the emulator (in a separate process, every answer 200 ms late).

1. The in-process runner (``AsyncDashScopeClient`` + ``qwen_dashscope._runner.achat_rows``):
   10,000 rows at concurrency 200 should take under 1.2 x (rows / concurrency x latency)
   = 12 s of wall time, at <= 0.5 ms of client CPU per row (issue 11).
2. Ray Data (``qwen_dashscope.ray.ChatPredictor``, local Ray): rows per second by number of
   actors, until the emulator (one Python process) saturates. Needs the ``ray`` extra.

    python -m benchmarks.bench_bulk [--rows 10000] [--concurrency 200] [--repeat 3]
                                    [--ray-rows 4000] [--workers 1,2,4]
                                    [--skip-ray] [--skip-in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

import httpx

from qwen_dashscope import AsyncDashScopeClient, BulkOptions, ChatRequest, Message
from qwen_dashscope._runner import achat_rows

from ._emulator import emulator_process

LATENCY = 0.2
KEY = "sk-emulator"


def _requests(rows: int) -> list[ChatRequest]:
    return [ChatRequest("qwen-plus", [Message("user", f"评论 {i}: 好吃")]) for i in range(rows)]


def _http_client(limits: httpx.Limits) -> httpx.AsyncClient:
    try:
        from qwen_dashscope._aiohttp import CookielessAiohttpClient
    except ImportError:
        return httpx.AsyncClient(limits=limits)
    return CookielessAiohttpClient(limits=limits)


def in_process(base_url: str, rows: int, concurrency: int) -> tuple[float, float, float, int]:
    """(wall seconds, client CPU ms per row, the same without the runner, failed rows)."""

    async def main() -> tuple[float, float, float, int]:
        # The shared default pool holds httpx's default 100 connections: a run of 200 at once
        # brings its own pool (the default async transport, with room for all of them).
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        http = _http_client(limits)
        client = AsyncDashScopeClient(
            api_key=KEY, base_url=base_url, max_retries=0, http_client=http
        )
        options = BulkOptions(max_concurrency=concurrency, row_retries=0)
        await achat_rows(client, _requests(concurrency), options)  # warm-up: the connections
        requests = _requests(rows)
        wall, cpu = time.perf_counter(), time.process_time()
        done = await achat_rows(client, requests, options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # The floor: the same calls through a bare gather + semaphore (no runner at all).
        gate = asyncio.Semaphore(concurrency)

        async def bare(request: ChatRequest) -> None:
            async with gate:
                await client.chat(request)

        floor = time.process_time()
        await asyncio.gather(*(bare(r) for r in requests))
        floor = time.process_time() - floor
        await http.aclose()
        failed = sum(1 for r in done if not r.ok)
        return wall, cpu / rows * 1000, floor / rows * 1000, failed

    return asyncio.run(main())


def ray_curve(base_url: str, rows: int, workers: list[int], concurrency: int) -> None:
    try:
        import ray
    except ImportError:
        print("ray is not installed (pip install 'qwen-dashscope[ray]'): skipped")
        return
    from qwen_dashscope.ray import ChatPredictor

    home = tempfile.mkdtemp(prefix="bench-ray-home-")
    os.environ["HOME"] = home
    env = {"DASHSCOPE_API_KEY": KEY, "DASHSCOPE_HTTP_BASE_URL": base_url, "HOME": home}
    ray.init(
        num_cpus=max(workers) + 1,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": env},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    print(f"\nRay Data: {rows} rows, {concurrency} in flight per actor, {LATENCY}s latency")
    print(f"{'actors':>6} {'wall s':>8} {'rows/s':>8} {'ceiling rows/s':>15}")
    try:
        for size in workers:
            items = [{"prompt": f"评论 {i}: 好吃"} for i in range(rows)]
            ds = ray.data.from_items(items, override_num_blocks=max(8, size * 4))
            start = time.perf_counter()
            out = ds.map_batches(
                ChatPredictor,
                fn_constructor_kwargs={"model": "qwen-plus", "max_concurrency": concurrency},
                compute=ray.data.ActorPoolStrategy(size=size),
                batch_size=concurrency * 2,
                num_cpus=1,
            ).take_all()
            wall = time.perf_counter() - start
            failed = sum(1 for r in out if r["error"])
            ceiling = size * concurrency / LATENCY
            note = f"  ({failed} failed)" if failed else ""
            print(f"{size:>6} {wall:8.2f} {rows / wall:8.0f} {ceiling:15.0f}{note}")
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ray-rows", type=int, default=4000)
    parser.add_argument("--ray-concurrency", type=int, default=32)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as replies:
        json.dump([{"delay": LATENCY}], replies)
    target = args.rows / args.concurrency * LATENCY
    with emulator_process("--replies", replies.name) as base_url:
        print(
            f"in-process runner: {args.rows} rows, concurrency {args.concurrency}, "
            f"{LATENCY * 1000:.0f} ms latency; target wall < {1.2 * target:.1f} s "
            f"(floor {target:.1f} s), CPU <= 0.5 ms/row"
        )
        repeat = 0 if args.skip_in_process else args.repeat
        runs = [in_process(base_url, args.rows, args.concurrency) for _ in range(repeat)]
        for wall, cpu, floor, failed in runs:
            print(
                f"  wall {wall:6.2f} s ({wall / target:.2f} x floor)  client CPU {cpu:.3f} "
                f"ms/row (bare gather: {floor:.3f})" + (f"  {failed} failed" if failed else "")
            )
        walls = [r[0] for r in runs] or [0.0]
        cpus = [r[1] for r in runs] or [0.0]
        print(
            f"  median wall {statistics.median(walls):.2f} s (range {min(walls):.2f}-"
            f"{max(walls):.2f}), median CPU {statistics.median(cpus):.3f} ms/row (range "
            f"{min(cpus):.3f}-{max(cpus):.3f})"
        )
        if not args.skip_ray:
            workers = [int(w) for w in args.workers.split(",")]
            ray_curve(base_url, args.ray_rows, workers, args.ray_concurrency)
    os.unlink(replies.name)


if __name__ == "__main__":
    main()
