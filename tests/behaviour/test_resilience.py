"""Retries, restarts and idempotent submission (C-04, C-05), for both clients."""

from __future__ import annotations

import socket
import threading
from typing import Any

import grpc
import pytest

from desam_client import (
    DeadlineExceededError,
    DeSAMConnectionError,
    RetryPolicy,
    SubmissionUnknownError,
    hookimpl,
)
from desam_testing import FakeScheduler


class RetryRecorder:
    """A plugin that records every retry it observes."""

    def __init__(self) -> None:
        self.retries: list[tuple[str, int, str]] = []
        self.first = threading.Event()

    @hookimpl
    def desam_call_retry(self, call: Any, error: Any, delay: float) -> None:
        self.retries.append((call.rpc, call.attempt, type(error).__name__))
        self.first.set()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_c04_scheduler_restarts_on_the_same_port(make_client: Any, keys: dict[str, str]) -> None:
    port = _free_port()
    recorder = RetryRecorder()
    first = FakeScheduler(api_keys=keys, port=port).start()
    client = make_client(port=port, plugins=[recorder])  # the default retry policy
    try:
        job_id = client.submit_job(name="before restart", command="true")
    finally:
        first.stop()
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["job"] = client.get_info(job_id)
        except Exception as error:
            outcome["error"] = error

    caller = threading.Thread(target=call)
    caller.start()
    assert recorder.first.wait(10), "the call was not retried while the scheduler was down"
    second = FakeScheduler(api_keys=keys, port=port)
    second.inject_job(job_id=job_id, owner="alice", name="before restart")
    with second:
        caller.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["job"].name == "before restart"
    assert recorder.retries and all(rpc == "QueryJob" for rpc, _, _ in recorder.retries)


def test_c04_with_retries_off_a_down_scheduler_is_a_connection_error(
    make_client: Any, keys: dict[str, str]
) -> None:
    port = _free_port()
    recorder = RetryRecorder()
    with FakeScheduler(api_keys=keys, port=port):
        client = make_client(port=port, plugins=[recorder], retry=None)
        job_id = client.submit_job(name="x", command="true")
    with pytest.raises(DeSAMConnectionError) as info:
        client.get_info(job_id)
    assert not isinstance(info.value, grpc.RpcError)
    assert info.value.grpc_code is grpc.StatusCode.UNAVAILABLE
    assert recorder.retries == []


def test_transient_errors_are_retried_and_reads_heal(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="x", command="true")
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=2)
    assert client.get_info(job_id).job_id == job_id
    assert fake.request_count("QueryJob") == 3


def test_permanent_errors_are_not_retried(make_client: Any, fake: FakeScheduler) -> None:
    client = make_client(api_key="sk-wrong")
    with pytest.raises(Exception, match="INVALID_API_KEY"):
        client.get_info("job-1")
    assert fake.request_count("QueryJob") == 1


def test_c05_slow_submission_never_duplicates(make_client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("SubmitJob", reply_delay=2.0, times=1)
    client = make_client(
        timeout=0.5, retry=RetryPolicy(max_attempts=4, initial_backoff=0.05, total_timeout=10)
    )
    job_id = client.submit_job(name="slow", command="true")
    jobs = client.list_jobs(limit=100)
    assert [j.job_id for j in jobs if j.name == "slow"] == [job_id]


def test_c05_without_retries_the_caller_learns_how_to_find_it(make_client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("SubmitJob", reply_delay=2.0, times=1)
    client = make_client(timeout=0.5, retry=None)
    with pytest.raises(SubmissionUnknownError) as info:
        client.submit_job(name="slow", command="true")
    error = info.value
    assert "find_submission" in str(error) and error.submission_id in str(error)
    found = client.find_submission(error.submission_id)
    assert found is not None
    assert [j.job_id for j in client.list_jobs() if j.name == "slow"] == [found]


def test_c05_lost_replies_never_duplicate_even_without_server_dedup(
    make_client: Any, fake: FakeScheduler
) -> None:
    fake.dedup_submissions = False  # behave like a scheduler that does not de-duplicate
    fake.faults.add("SubmitJob", lose_reply=True, times=2)
    client = make_client(retry=RetryPolicy(max_attempts=5, initial_backoff=0.01))
    job_id = client.submit_job(name="lost", command="true")
    assert [j.job_id for j in client.list_jobs() if j.name == "lost"] == [job_id]
    assert fake.request_count("SubmitJob") == 1  # the probe found the first attempt's job


def test_c05_reads_in_the_same_situation_are_retried(make_client: Any, fake: FakeScheduler) -> None:
    recorder = RetryRecorder()
    client = make_client(
        timeout=0.5, plugins=[recorder], retry=RetryPolicy(max_attempts=3, initial_backoff=0.01)
    )
    job_id = client.submit_job(name="x", command="true")
    fake.faults.add("QueryJob", reply_delay=2.0, times=1)
    assert client.get_info(job_id).job_id == job_id
    assert ("QueryJob", 1, "DeadlineExceededError") in recorder.retries


def test_deadline_budget_spans_all_attempts(make_client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE)
    client = make_client(
        retry=RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.1, total_timeout=0.6)
    )
    with pytest.raises(DeSAMConnectionError):
        client.get_info("job-1")
    assert 2 <= fake.request_count("QueryJob") < 100


def test_per_call_timeout_is_a_deadline(client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("QueryJob", latency=5.0)
    with pytest.raises(DeadlineExceededError):
        client.get_info("job-1", call_timeout=0.2, retry=None)
