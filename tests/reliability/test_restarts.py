"""The scheduler restarts on the same port in the middle of a workflow; the same clients carry on (C-04).

A real scheduler keeps its jobs across a restart; the fake keeps them in memory,
so each restart here stops one fake and starts a new one on the same port with
every job, owner, status and log line of the old one. Three restarts happen
while calls are in flight: during the submissions, during the cancels and
during the wait.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor

from desam_client import RetryPolicy
from desam_proto import client_pb2 as pb
from desam_testing import SUBMISSION_ID_KEY, FakeScheduler

JOBS = 200
WORKERS = 8
#: The default backoff (0.2 s doubling, full jitter, 120 s budget) with more attempts than the
#: default six: with dozens of calls retried per run, one of them drawing six short pauses in a
#: row could otherwise give up before gRPC's reconnect backoff (200 ms, growing) lets it through.
POLICY = RetryPolicy(max_attempts=20)


def _fields(job: pb.Job) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in job.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[field.name] = dict(value)
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            out[field.name] = list(value)
        else:
            out[field.name] = value
    return out


class Scheduler:
    """A fake scheduler on a fixed port that can restart, keeping its jobs."""

    def __init__(self, port: int, keys: dict[str, str]) -> None:
        self.port = port
        self.keys = keys
        self.lock = threading.Lock()
        self.restarts = 0
        self.jobs_carried = 0
        self.down_s = 0.0
        self.fake = self._new().start()

    def _new(self) -> FakeScheduler:
        return FakeScheduler(api_keys=self.keys, admin_keys=["sk-admin"], port=self.port)

    def restart(self) -> None:
        """Stop, carry every job over to a new fake, start it on the same port."""
        with self.lock:
            old = self.fake
            began = time.monotonic()
            old.stop()  # in-flight calls are cut off; what they did stays in the old store
            new = self._new()
            for job in old.jobs:
                new.inject_job(owner=old.owner_of(job.job_id), logs=old.logs(job.job_id), **_fields(job))
            new.start()
            self.down_s = max(self.down_s, time.monotonic() - began)
            self.fake = new
            self.restarts += 1
            self.jobs_carried += len(old.jobs)

    def stop(self) -> None:
        self.fake.stop()


@pytest.mark.slow
def test_restarts_mid_workflow(
    make_client: Any,
    keys: dict[str, str],
    client_kind: str,
    port_factory: Callable[[], int],
    retry_recorder: Any,
    report: Callable[..., None],
) -> None:
    scheduler = Scheduler(port_factory(), keys)
    try:
        client = make_client(port=scheduler.port, retry=POLICY, plugins=[retry_recorder])
        started = time.monotonic()
        counts = Counter[str]()
        halfway = {"submit": threading.Event(), "cancel": threading.Event()}
        lock = threading.Lock()

        def count(stage: str, total: int) -> None:
            with lock:
                counts[stage] += 1
                if counts[stage] == total // 2:
                    halfway[stage].set()

        def submit(i: int) -> str:
            job_id = str(client.submit_job(name=f"restart-{i}", command="true", submission_id=f"restart-{i}"))
            count("submit", JOBS)
            return job_id

        def cancel(job_id: str) -> bool:
            cancelled = bool(client.cancel(job_id))
            count("cancel", JOBS // 2)
            return cancelled

        with ThreadPoolExecutor(WORKERS) as pool:
            # 1: restart while the submissions are in flight.
            submitted = pool.map(submit, range(JOBS))
            assert halfway["submit"].wait(30)
            scheduler.restart()
            ids = dict(enumerate(submitted))

            # 2: restart while the even jobs are being cancelled.
            cancels = pool.map(cancel, [ids[i] for i in range(0, JOBS, 2)])
            assert halfway["cancel"].wait(30)
            scheduler.restart()
            cancelled = list(cancels)

            # 3: the executor runs the odd jobs; it restarts the scheduler half-way while
            # the client waits for all of them.
            odd = [ids[i] for i in range(1, JOBS, 2)]

            def drive() -> None:
                for n, job_id in enumerate(odd):
                    if n == len(odd) // 2:
                        scheduler.restart()
                    fake = scheduler.fake
                    fake.executor.start(job_id)
                    fake.executor.log(job_id, f"output of {job_id}")
                    fake.executor.succeed(job_id)

            driver = threading.Thread(target=drive, name="executor-driver")
            driver.start()
            finished = client.wait_all(list(ids.values()), poll_interval=0.05, timeout=60)
            driver.join(30)
            assert not driver.is_alive()
            logs = list(pool.map(client.get_logs, odd))
        elapsed = time.monotonic() - started

        stored = scheduler.fake.jobs
        per_submission = Counter(job.metadata[SUBMISSION_ID_KEY] for job in stored)
        assert len(stored) == JOBS and max(per_submission.values()) == 1, "a submission created two jobs"
        assert set(per_submission) == {f"restart-{i}" for i in range(JOBS)}, "a job was lost"
        assert {job.job_id for job in stored} == set(ids.values())
        assert cancelled == [True] * (JOBS // 2)
        status = {job.job_id: job.status for job in stored}
        for i, job_id in ids.items():
            assert status[job_id] == (pb.CANCELLED if i % 2 == 0 else pb.SUCCEEDED)
        assert [job.job_id for job in finished] == list(ids.values())
        assert [job.status for job in finished] == ["CANCELLED" if i % 2 == 0 else "SUCCEEDED" for i in ids]
        assert logs == [f"output of {job_id}\n" for job_id in odd]
        assert scheduler.restarts == 3
        assert retry_recorder.total > 0 and retry_recorder.not_desam == []
        report(
            client=client_kind,
            jobs=JOBS,
            restarts=scheduler.restarts,
            longest_outage_s=round(scheduler.down_s, 3),
            retries=retry_recorder.total,
            retried_errors=dict(retry_recorder.by_error),
            retried_rpcs=dict(retry_recorder.by_rpc),
            most_attempts=retry_recorder.most_attempts,
            duplicates=0,
            lost=0,
            total_s=round(elapsed, 2),
        )
    finally:
        scheduler.stop()
