"""Waiting on many jobs: RPCs per poll round with the batched helper against polling job by job."""

from __future__ import annotations

import contextlib
import math
import time

from benchmarks import clients
from benchmarks.harness import Row, fmt_ms, median
from benchmarks.serve import Server
from desam_client import WaitTimeoutError

BATCH = 500  # ids per BatchQueryJobs call (desam_client._core.operations.BATCH_CHUNK_IDS)


def run(*, jobs: int, rounds: int) -> list[Row]:
    with Server("fake") as server:
        ids = server.inject(jobs, status=1)  # QUEUED: every round finds them all pending
        client = clients.sync_client(server.address)
        if not hasattr(client, "wait_all"):
            client.close()
            return [
                Row(
                    "waiting",
                    f"poll rounds over {jobs:,} jobs",
                    "not measured",
                    "",
                    None,
                    "client.wait_all is missing",
                    None,
                )
            ]
        try:
            batched_calls, batched_times = [], []
            single_calls, single_times = [], []
            for _ in range(rounds):
                # timeout=0 makes wait_all poll exactly one round, then raise WaitTimeoutError.
                before = server.count("BatchQueryJobs"), server.count()
                start = time.perf_counter()
                with contextlib.suppress(WaitTimeoutError):
                    client.wait_all(ids, timeout=0)
                batched_times.append(time.perf_counter() - start)
                after = server.count("BatchQueryJobs"), server.count()
                assert after[0] - before[0] == after[1] - before[1], "the helper made other calls too"
                batched_calls.append(after[0] - before[0])

                before_single = server.count()
                start = time.perf_counter()
                for job_id in ids:
                    client.get_status(job_id)
                single_times.append(time.perf_counter() - start)
                single_calls.append(server.count() - before_single)
        finally:
            client.close()
    per_round = median(batched_calls)
    goal = math.ceil(jobs / BATCH)
    return [
        Row(
            "waiting",
            f"RPCs per poll round, {jobs:,} jobs: wait_all (batched) vs get_status per job",
            f"{per_round:g}",
            f"{median(single_calls):g}",
            per_round / median(single_calls),
            f"= ⌈N/{BATCH}⌉ = {goal}",
            per_round == goal,
        ),
        Row(
            "waiting",
            f"time per poll round, {jobs:,} jobs: wait_all (batched) vs get_status per job",
            fmt_ms(median(batched_times)),
            fmt_ms(median(single_times)),
            median(batched_times) / median(single_times),
        ),
    ]
