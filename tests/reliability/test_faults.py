"""A 500-job workflow under injected faults: nothing duplicated, nothing lost, every error a DeSAMError.

The fake scheduler answers a quarter of all calls with UNAVAILABLE, loses the
reply of a share of the calls it did act on, and delays others. The workflow
(submit 500 jobs from 16 threads, cancel half of them, run the other half with
the manual executor from a thread, wait for all, read the logs) runs with both
clients, with the fake's own de-duplication of submissions on and off: with it
off, only the client's look-up before a resend keeps submissions unique.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import pytest

from desam_client import DeSAMError, JobStatus, RetryPolicy
from desam_proto import client_pb2 as pb
from desam_testing import SUBMISSION_ID_KEY, FakeScheduler

T = TypeVar("T")

JOBS = 500
WORKERS = 16
LOG_LINES = 3
#: Retries on, with short pauses so that the run stays quick; the budget is generous.
POLICY = RetryPolicy(max_attempts=10, initial_backoff=0.01, max_backoff=0.2, total_timeout=60)


def _install_faults(fake: FakeScheduler, seed: int) -> dict[str, Any]:
    """A call gets the first fault that draws it, in this order."""
    return {
        "unavailable": fake.faults.add(None, status=grpc.StatusCode.UNAVAILABLE, ratio=0.25, seed=seed),
        "lost_reply": fake.faults.add(None, lose_reply=True, ratio=0.10, seed=seed + 1),
        "latency_3ms": fake.faults.add(None, latency=0.003, ratio=0.15, seed=seed + 2),
        "latency_30ms": fake.faults.add(None, latency=0.03, ratio=0.03, seed=seed + 3),
    }


class Workflow:
    """Drives one client through the workflow; keeps every error that reached the caller."""

    def __init__(self, client: Any, fake: FakeScheduler, tag: str) -> None:
        self.client = client
        self.fake = fake
        self.tag = tag
        self.escaped: list[DeSAMError] = []
        self._lock = threading.Lock()

    def persist(self, call: Callable[[], T], attempts: int = 20) -> T:
        """What an application does with an error that outlived the retries: note it, call again.

        Only DeSAMError is caught: anything else fails the test.
        """
        for _ in range(attempts - 1):
            try:
                return call()
            except DeSAMError as error:
                with self._lock:
                    self.escaped.append(error)
        return call()

    def submit(self, i: int) -> str:
        """Submit job ``i``; if the outcome is unknown, look it up before submitting again."""
        sid = f"{self.tag}-{i}"
        for _ in range(20):
            try:
                return str(
                    self.client.submit_job(
                        name=f"{self.tag}-job-{i}",
                        command=f"echo {i}",
                        labels={"i": str(i)},
                        submission_id=sid,
                    )
                )
            except DeSAMError as error:
                with self._lock:
                    self.escaped.append(error)
                found = self.persist(lambda: self.client.find_submission(sid))
                if found is not None:
                    return str(found)
        raise AssertionError(f"submission {sid} never went through")

    def drive(self, ids: dict[int, str]) -> None:
        """The executor's side: run every odd job; one in five of them fails."""
        for i, job_id in ids.items():
            if i % 2 == 0:
                continue
            self.fake.executor.start(job_id)
            self.fake.executor.log(job_id, *[f"job {i} line {n}" for n in range(LOG_LINES)])
            if i % 10 == 1:
                self.fake.executor.fail(job_id, f"exit code {i % 7 + 1}")
            else:
                self.fake.executor.succeed(job_id)


def _run(client: Any, fake: FakeScheduler, tag: str) -> dict[str, Any]:
    flow = Workflow(client, fake, tag)
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        ids = dict(enumerate(pool.map(flow.submit, range(JOBS))))
        submitted = time.monotonic()

        driver = threading.Thread(target=flow.drive, args=(ids,), name="executor-driver")
        driver.start()
        singles = [ids[i] for i in range(0, JOBS, 4)]
        batches = [[ids[i] for i in range(start, min(start + 100, JOBS), 4)] for start in range(2, JOBS, 100)]
        single_results = list(pool.map(lambda j: flow.persist(lambda: client.cancel(j)), singles))
        batch_results = list(pool.map(lambda b: flow.persist(lambda: client.batch_cancel(b)), batches))
        finished = flow.persist(lambda: client.wait_all(list(ids.values()), poll_interval=0.05, timeout=60))
        driver.join(30)
        assert not driver.is_alive()

        odd = [ids[i] for i in range(1, JOBS, 2)]
        logs = list(pool.map(lambda j: flow.persist(lambda: client.get_logs(j)), odd))
    ended = time.monotonic()

    # -- what the scheduler holds --------------------------------------------------------------
    stored = fake.jobs
    per_submission = Counter(job.metadata[SUBMISSION_ID_KEY] for job in stored)
    per_name = Counter(job.name for job in stored)
    assert len(stored) == JOBS, f"{len(stored)} jobs stored for {JOBS} submissions"
    assert max(per_submission.values()) == 1, "a submission created two jobs"
    assert set(per_submission) == {f"{tag}-{i}" for i in range(JOBS)}, "a submission was lost"
    assert max(per_name.values()) == 1
    assert {job.job_id for job in stored} == set(ids.values())
    by_id = {job.job_id: job for job in stored}
    for i, job_id in ids.items():
        job = by_id[job_id]
        assert job.name == f"{tag}-job-{i}" and job.labels["i"] == str(i)
        expected = pb.CANCELLED if i % 2 == 0 else pb.FAILED if i % 10 == 1 else pb.SUCCEEDED
        assert job.status == expected, (i, job.status)

    # -- what the client was told --------------------------------------------------------------
    assert single_results == [True] * len(singles), "a running job's cancel answered False"
    for batch, result in zip(batches, batch_results, strict=False):
        assert dict(result) == dict.fromkeys(batch, True), result.messages
    assert [job.job_id for job in finished] == list(ids.values())
    for i, job in enumerate(finished):
        assert job.status == JobStatus.from_number(by_id[ids[i]].status)
    for n, text in zip(range(1, JOBS, 2), logs, strict=False):
        assert text.splitlines() == [f"job {n} line {k}" for k in range(LOG_LINES)]
    assert all(isinstance(error, DeSAMError) for error in flow.escaped)
    return {
        "submit_s": round(submitted - started, 2),
        "total_s": round(ended - started, 2),
        "escaped": dict(Counter(type(e).__name__ for e in flow.escaped)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("server_dedup", [True, False], ids=["server-dedup", "no-server-dedup"])
def test_500_job_workflow_under_faults(
    make_client: Any,
    fake: FakeScheduler,
    client_kind: str,
    server_dedup: bool,
    retry_recorder: Any,
    report: Callable[..., None],
) -> None:
    fake.dedup_submissions = server_dedup
    faults = _install_faults(fake, seed=20240 + server_dedup)
    client = make_client(retry=POLICY, plugins=[retry_recorder])
    figures = _run(client, fake, tag=f"{client_kind}-{server_dedup}")
    hits = {name: fault.hits for name, fault in faults.items()}
    fake.faults.clear()

    assert retry_recorder.not_desam == []
    assert hits["unavailable"] > 0 and hits["lost_reply"] > 0  # the faults really happened
    report(
        client=client_kind,
        server_dedup=server_dedup,
        jobs=JOBS,
        requests=fake.request_count(),
        submit_requests=fake.request_count("SubmitJob"),
        probes_or_lookups=fake.request_count("ListJobs"),
        faults=hits,
        retries=retry_recorder.total,
        retried_errors=dict(retry_recorder.by_error),
        most_attempts=retry_recorder.most_attempts,
        duplicates=0,
        lost=0,
        **figures,
    )


def test_batch_cancel_after_a_lost_reply_reports_what_it_cancelled(client: Any, fake: FakeScheduler) -> None:
    running = [client.submit_job(name=f"r{i}", command="sleep 60") for i in range(3)]
    done = client.submit_job(name="done", command="true")
    for job_id in [*running, done]:
        fake.executor.start(job_id)
    fake.executor.succeed(done)
    fake.faults.add("BatchCancelJobs", lose_reply=True, times=1)  # acts, then the reply is lost
    result = client.batch_cancel([*running, done, "job-unknown"])
    assert fake.request_count("BatchCancelJobs") == 2
    assert dict(result) == {**dict.fromkeys(running, True), done: False, "job-unknown": False}
    assert set(result.messages) == {done, "job-unknown"}
    assert all(fake.get_job(job_id).status == pb.CANCELLED for job_id in running)
