"""Load: one sync client shared by 64 threads, one async client with 10,000 calls in flight.

The scheduler is the dev server in a subprocess, so that its threads and sockets
do not count: the thread and file-descriptor counts before and after are this
process's, which holds only the client. No call may fail, and closing the client
must give back every thread and descriptor it took.

A gRPC server built on gRPC core (like the fake, a Python server) sheds the calls
queued beyond its pending-request limits (1,000, hard 3,000) with CANCELLED. The
client retries those; 10,000 calls at once on one channel need more attempts than
the default six, so that test gives its client a longer policy (see
docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desam_client import AsyncDeSAMClient, DeSAMClient, Job, RetryPolicy

KEY, USER = "sk-load", "loader"
THREADS, CALLS_PER_THREAD = 64, 200
ASYNC_CALLS = 10_000
THREAD_SLACK, FD_SLACK = 2, 4
#: Enough attempts to outlast the server's load shedding of a 10,000-call burst.
BURST_POLICY = RetryPolicy(max_attempts=30, initial_backoff=0.05, max_backoff=1.0, total_timeout=120)


@pytest.fixture
def server(dev_server: Callable[..., Any]) -> Any:
    with dev_server("--port", "0", "--executor", "manual", "--api-key", f"{KEY}={USER}") as address:
        yield address


def _warm_up(host: str, port: int) -> None:
    """One call through each kind of client first: gRPC's process-wide set-up is not a leak."""
    with DeSAMClient(host=host, port=port, api_key=KEY, load_entrypoint_plugins=False) as client:
        client.list_jobs(limit=1)

    async def once() -> None:
        async with AsyncDeSAMClient(
            host=host, port=port, api_key=KEY, load_entrypoint_plugins=False
        ) as client:
            await client.list_jobs(limit=1)

    asyncio.run(once())


@pytest.mark.slow
def test_one_sync_client_64_threads(
    server: tuple[str, int], fd_count: Callable[[], int], retry_recorder: Any, report: Callable[..., None]
) -> None:
    host, port = server
    _warm_up(host, port)
    threads_before, fds_before = threading.active_count(), fd_count()
    started = time.monotonic()
    client = DeSAMClient(
        host=host, port=port, api_key=KEY, load_entrypoint_plugins=False, plugins=[retry_recorder]
    )
    seed = client.submit_job(name="load-seed", command="true")

    def worker(n: int) -> Counter[str]:
        done: Counter[str] = Counter()
        mine: list[str] = []
        for k in range(CALLS_PER_THREAD):
            kind = k % 10
            if kind == 0:
                mine.append(
                    client.submit_job(name=f"load-{n}-{k}", command="true", labels={"thread": str(n)})
                )
                done["submit_job"] += 1
            elif kind in (1, 2):
                assert client.get_status(mine[-1]) == "QUEUED"
                done["get_status"] += 1
            elif kind in (3, 4):
                job = client.get_info(seed)
                assert isinstance(job, Job) and job.name == "load-seed"
                done["get_info"] += 1
            elif kind == 5:
                assert 1 <= len(client.list_jobs(limit=5)) <= 5
                done["list_jobs"] += 1
            elif kind == 6:
                jobs = client.batch_get_info([*mine, "job-missing"])
                assert [j.job_id for j in jobs] == mine and jobs.missing == ("job-missing",)
                done["batch_get_info"] += 1
            elif kind == 7:
                assert client.get_logs(seed) == ""
                done["get_logs"] += 1
            elif kind == 8:
                assert client.find_submission(f"none-{n}-{k}") is None
                done["find_submission"] += 1
            else:
                assert client.cancel(mine[-1]) is True
                done["cancel"] += 1
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        per_thread = list(pool.map(worker, range(THREADS)))
    elapsed = time.monotonic() - started
    total: Counter[str] = sum(per_thread, Counter())
    assert sum(total.values()) == THREADS * CALLS_PER_THREAD
    cancelled = sum(1 for _ in client.iter_jobs(status="CANCELLED", page_size=500))
    assert cancelled == total["cancel"] == total["submit_job"]
    client.close()

    threads_after, fds_after = threading.active_count(), fd_count()
    assert threads_after <= threads_before + THREAD_SLACK, (threads_before, threads_after)
    assert fds_after <= fds_before + FD_SLACK, (fds_before, fds_after)
    report(
        threads=THREADS,
        calls=sum(total.values()),
        by_method=dict(total),
        errors=0,
        retries=retry_recorder.total,
        retried=dict(retry_recorder.by_error),
        most_attempts=retry_recorder.most_attempts,
        seconds=round(elapsed, 2),
        calls_per_s=round(sum(total.values()) / elapsed),
        threads_before_after=(threads_before, threads_after),
        fds_before_after=(fds_before, fds_after),
    )


@pytest.mark.slow
def test_one_async_client_10000_concurrent_calls(
    server: tuple[str, int], fd_count: Callable[[], int], retry_recorder: Any, report: Callable[..., None]
) -> None:
    host, port = server
    _warm_up(host, port)
    threads_before, fds_before = threading.active_count(), fd_count()
    in_flight = {"now": 0, "peak": 0}

    async def tracked(call: Any) -> Any:
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        try:
            return await call
        finally:
            in_flight["now"] -= 1

    async def main() -> tuple[Counter[str], float]:
        async with AsyncDeSAMClient(
            host=host,
            port=port,
            api_key=KEY,
            load_entrypoint_plugins=False,
            plugins=[retry_recorder],
            retry=BURST_POLICY,
        ) as client:
            seed = await client.submit_job(name="async-seed", command="true")
            calls: list[tuple[str, Any]] = []
            for k in range(ASYNC_CALLS):
                kind = k % 8
                if kind == 0:
                    calls.append(("submit_job", client.submit_job(name=f"async-{k}", command="true")))
                elif kind in (1, 2):
                    calls.append(("get_status", client.get_status(seed)))
                elif kind in (3, 4):
                    calls.append(("get_info", client.get_info(seed)))
                elif kind == 5:
                    calls.append(("list_jobs", client.list_jobs(limit=3)))
                elif kind == 6:
                    calls.append(("batch_get_info", client.batch_get_info([seed, "job-missing"])))
                else:
                    calls.append(("get_logs", client.get_logs(seed)))
            started = time.monotonic()
            results = await asyncio.gather(*(tracked(call) for _, call in calls))
            elapsed = time.monotonic() - started
            done: Counter[str] = Counter()
            submitted = set()
            for (kind, _), result in zip(calls, results, strict=True):
                done[kind] += 1
                if kind == "submit_job":
                    submitted.add(result)
                elif kind == "get_status":
                    assert result == "QUEUED"
                elif kind == "get_info":
                    assert result.job_id == seed
                elif kind == "batch_get_info":
                    assert [j.job_id for j in result] == [seed] and result.missing == ("job-missing",)
                elif kind == "get_logs":
                    assert result == ""
            assert len(submitted) == done["submit_job"]
            found = {job.job_id async for job in client.iter_jobs(page_size=500)}
            assert submitted <= found and len(found) == len(submitted) + 1
            return done, elapsed

    done, elapsed = asyncio.run(main())
    assert sum(done.values()) == ASYNC_CALLS
    assert in_flight["peak"] == ASYNC_CALLS  # all of them were in flight together
    threads_after, fds_after = threading.active_count(), fd_count()
    assert threads_after <= threads_before + THREAD_SLACK, (threads_before, threads_after)
    assert fds_after <= fds_before + FD_SLACK, (fds_before, fds_after)
    report(
        calls=ASYNC_CALLS,
        peak_in_flight=in_flight["peak"],
        by_method=dict(done),
        errors=0,
        retries=retry_recorder.total,
        retried=dict(retry_recorder.by_error),
        most_attempts=retry_recorder.most_attempts,
        seconds=round(elapsed, 2),
        calls_per_s=round(ASYNC_CALLS / elapsed),
        threads_before_after=(threads_before, threads_after),
        fds_before_after=(fds_before, fds_after),
    )
