"""Closing, context managers, sharing across threads, fork (C-01), close in flight (C-07), repr (C-14)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desam_client import ClientClosedError, DeSAMClient, DeSAMError
from desam_testing import FakeScheduler

CANARY = "sk-canary-Sup3rS3cret"


def test_close_is_idempotent_and_later_calls_say_closed(client: Any, fake: FakeScheduler) -> None:
    client.get_logs  # noqa: B018 - attribute access only
    client.close()
    client.close()
    assert client.closed
    with pytest.raises(ClientClosedError, match="closed"):
        client.get_info("job-1")
    assert fake.request_count() == 0


def test_context_manager_closes(fake: FakeScheduler) -> None:
    with DeSAMClient(host=fake.host, port=fake.port, api_key="sk-test") as client:
        client.submit_job(name="x", command="true")
    assert client.closed
    with pytest.raises(ClientClosedError):
        client.list_jobs()


def test_one_client_shared_by_threads(fake: FakeScheduler) -> None:
    with DeSAMClient(host=fake.host, port=fake.port, api_key="sk-test") as client:
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: client.submit_job(name=f"t{i}", command="true"), range(64)))
        assert len(set(ids)) == 64
        assert len(client.batch_get_info(ids)) == 64


def test_c07_close_cuts_a_blocked_call_short(fake: FakeScheduler) -> None:
    before = threading.active_count()
    fake.faults.add("QueryJob", latency=30.0)
    client = DeSAMClient(host=fake.host, port=fake.port, api_key="sk-test")
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            client.get_info("job-1")
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=blocked)
    caller.start()
    time.sleep(0.2)  # the case: close() 0.2 s after the call started
    started = time.monotonic()
    client.close()
    caller.join(timeout=5)
    assert time.monotonic() - started < 2.0
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], DeSAMError)
    with pytest.raises(ClientClosedError):
        client.get_info("job-1")
    fake.faults.clear()
    for _ in range(200):
        DeSAMClient(host=fake.host, port=fake.port, api_key="sk-test").close()
    assert threading.active_count() <= before + 2


def _child_status(host: str, port: int, job_id: str, queue: Any, client: DeSAMClient) -> None:
    try:
        queue.put(("ok", str(client.get_status(job_id, call_timeout=5))))
    except DeSAMError as error:
        queue.put(("error", str(error)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_c01_client_used_in_a_forked_child(fake: FakeScheduler) -> None:
    client = DeSAMClient(host=fake.host, port=fake.port, api_key="sk-test")
    job_id = client.submit_job(name="parent", command="true")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_status, args=(fake.host, fake.port, job_id, queue, client))
    child.start()
    child.join(timeout=10)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the child hung"
    kind, value = queue.get(timeout=1)
    assert kind == "ok" and value == "QUEUED", value
    assert client.get_status(job_id) == "QUEUED"  # the parent's client keeps working
    client.close()


def test_c14_repr_and_errors_never_show_the_key(make_client: Any, fake: FakeScheduler) -> None:
    client = make_client(api_key=CANARY)
    text = repr(client) + str(client) + repr(client.config)
    assert "Sup3rS3cret" not in text
    assert "security='plaintext'" in repr(client)
    with pytest.raises(DeSAMError) as info:
        client.get_info("job-1")  # the fake does not know the canary key
    assert info.value.error_code == "INVALID_API_KEY"
    fake.faults.add(
        "QueryJob", status=__import__("grpc").StatusCode.INTERNAL, message=f"echo {CANARY}", times=1
    )
    with pytest.raises(DeSAMError) as info2:
        client.get_info("job-1", retry=None)
    for error in (info.value, info2.value):
        assert "Sup3rS3cret" not in str(error) + repr(error) + str(error.args)
