"""Throughput of submissions: many calls in flight: the client vs the raw stub, same concurrency."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks import clients
from benchmarks.harness import Row, ainterleaved, fmt_rate, interleaved, median, paired_ratio
from benchmarks.serve import Server

CONCURRENCY = 64  # asyncio calls in flight
THREADS = 16  # threads of the sync clients' pool
GOAL = 0.9


def run(*, submissions: int, rounds: int) -> list[Row]:
    with Server("fake") as server:
        loop = asyncio.new_event_loop()
        try:
            rows = loop.run_until_complete(_async(server.address, submissions, rounds))
        finally:
            loop.close()
        rows += _sync(server.address, submissions, rounds)
    return rows


async def _async(address: str, submissions: int, rounds: int) -> list[Row]:
    client = clients.async_client(address)
    channel, stub = clients.async_stub(address)

    async def ours() -> Any:
        return await client.submit_job(name="bench", command="true")

    async def raw() -> Any:
        reply = await stub.SubmitJob(clients.submit_request(), timeout=clients.TIMEOUT)
        return clients.checked(reply).job_id

    def block(call: Callable[[], Awaitable[Any]], n: int) -> Callable[[], Awaitable[float]]:
        async def run_block() -> float:
            counter = itertools.count()

            async def worker() -> None:
                while next(counter) < n:
                    await call()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return n / (time.perf_counter() - start)

        return run_block

    try:
        # A short warm-up (channels, both sides' caches), then full blocks of `submissions` each.
        for call in (ours, raw):
            await block(call, 500)()
        blocks = {"ours": block(ours, submissions), "raw": block(raw, submissions)}
        values = await ainterleaved(blocks, rounds, warmup=False)
    finally:
        await client.close()
        await channel.close()
    ratio = paired_ratio(values["ours"], values["raw"])
    return [
        Row(
            "throughput",
            f"{submissions:,} submissions, {CONCURRENCY} in flight: AsyncDeSAMClient vs raw grpc.aio stub",
            fmt_rate(median(values["ours"])),
            fmt_rate(median(values["raw"])),
            ratio,
            f"≥ {GOAL}×",
            ratio >= GOAL,
        )
    ]


def _sync(address: str, submissions: int, rounds: int) -> list[Row]:
    client = clients.sync_client(address)
    channel, stub = clients.sync_stub(address)

    def ours() -> Any:
        return client.submit_job(name="bench", command="true")

    def raw() -> Any:
        return clients.checked(stub.SubmitJob(clients.submit_request(), timeout=clients.TIMEOUT)).job_id

    pool = ThreadPoolExecutor(THREADS)

    def block(call: Callable[[], Any], n: int) -> Callable[[], float]:
        def run_block() -> float:
            counter = itertools.count()
            lock_free_next = counter.__next__  # itertools.count is atomic under the GIL

            def worker() -> None:
                while lock_free_next() < n:
                    call()

            start = time.perf_counter()
            for future in [pool.submit(worker) for _ in range(THREADS)]:
                future.result()
            return n / (time.perf_counter() - start)

        return run_block

    try:
        for call in (ours, raw):
            block(call, 500)()
        values = interleaved(
            {"ours": block(ours, submissions), "raw": block(raw, submissions)}, rounds, warmup=False
        )
    finally:
        pool.shutdown()
        client.close()
        channel.close()
    return [
        Row(
            "throughput",
            f"{submissions:,} submissions, {THREADS} threads: DeSAMClient vs raw stub",
            fmt_rate(median(values["ours"])),
            fmt_rate(median(values["raw"])),
            paired_ratio(values["ours"], values["raw"]),
        )
    ]
