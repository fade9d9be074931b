"""The fake scheduler itself: QueryJob throughput against a constant-answer servicer, and paging cost."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from benchmarks import clients
from benchmarks.harness import Row, ainterleaved, fmt_ms, fmt_rate, interleaved, median, paired_ratio
from benchmarks.serve import API_KEY, Server
from desam_proto import client_pb2 as pb

CONCURRENCY = 64
THROUGHPUT_GOAL = 0.8
PAGE_GOAL = 2.0
SMALL_STORE = 1_000
PAGE_CALLS = 20


def run(*, calls: int, rounds: int, jobs: int) -> list[Row]:
    rows = _query_throughput(calls, rounds)
    rows += _paging(jobs, rounds * 2)
    return rows


def _query_throughput(calls: int, rounds: int) -> list[Row]:
    with Server("fake") as fake, Server("constant") as constant:
        loop = asyncio.new_event_loop()
        try:
            values = loop.run_until_complete(_load({"fake": fake, "constant": constant}, calls, rounds))
        finally:
            loop.close()
    ratio = paired_ratio(values["fake"], values["constant"])
    return [
        Row(
            "fake scheduler",
            f"QueryJob, {CONCURRENCY} in flight: FakeScheduler vs constant servicer",
            fmt_rate(median(values["fake"])),
            fmt_rate(median(values["constant"])),
            ratio,
            f"≥ {THROUGHPUT_GOAL}×",
            ratio >= THROUGHPUT_GOAL,
        ),
    ]


async def _load(servers: dict[str, Server], calls: int, rounds: int) -> dict[str, list[float]]:
    stubs = {name: clients.async_stub(server.address) for name, server in servers.items()}

    def block(name: str, n: int) -> Callable[[], Any]:
        stub = stubs[name][1]
        request = pb.QueryJobRequest(api_key=API_KEY, job_id=servers[name].job_id)

        async def run_block() -> float:
            counter = itertools.count()

            async def worker() -> None:
                while next(counter) < n:
                    clients.checked(await stub.QueryJob(request, timeout=clients.TIMEOUT))

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return n / (time.perf_counter() - start)

        return run_block

    try:
        for name in servers:
            await block(name, 500)()
        return await ainterleaved({name: block(name, calls) for name in servers}, rounds, warmup=False)
    finally:
        for channel, _ in stubs.values():
            await channel.close()


def _paging(jobs: int, rounds: int) -> list[Row]:
    with Server("fake", jobs=SMALL_STORE) as small, Server("fake", jobs=jobs) as big:
        made = {"small": clients.sync_stub(small.address), "big": clients.sync_stub(big.address)}
        plain = pb.ListJobsRequest(api_key=API_KEY, limit=100)
        filtered = pb.ListJobsRequest(
            api_key=API_KEY, limit=100, status=pb.QUEUED
        )  # every stored job matches

        def block(server: str, request: pb.ListJobsRequest) -> Callable[[], float]:
            stub = made[server][1]

            def run_block() -> float:
                start = time.perf_counter()
                for _ in range(PAGE_CALLS):
                    reply = clients.checked(stub.ListJobs(request, timeout=clients.TIMEOUT))
                    assert len(reply.jobs) == 100
                return (time.perf_counter() - start) / PAGE_CALLS

            return run_block

        try:
            values = interleaved(
                {
                    "small": block("small", plain),
                    "big": block("big", plain),
                    "small filtered": block("small", filtered),
                    "big filtered": block("big", filtered),
                },
                rounds,
            )
        finally:
            for channel, _ in made.values():
                channel.close()
    ratio = paired_ratio(values["big"], values["small"])
    return [
        Row(
            "fake scheduler",
            f"ListJobs page of 100: {jobs:,} stored jobs vs {SMALL_STORE:,}",
            fmt_ms(median(values["big"])),
            fmt_ms(median(values["small"])),
            ratio,
            f"≤ {PAGE_GOAL:g}×",
            ratio <= PAGE_GOAL,
        ),
        Row(
            "fake scheduler",
            f"the same with a status filter (the store is scanned): {jobs:,} vs {SMALL_STORE:,}",
            fmt_ms(median(values["big filtered"])),
            fmt_ms(median(values["small filtered"])),
            paired_ratio(values["big filtered"], values["small filtered"]),
        ),
    ]
