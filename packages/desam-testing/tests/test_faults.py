"""Fault injection: gRPC errors, error replies, latency, delayed and lost replies."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler

ALICE = "sk-alice"
Submit = Callable[..., str]


def query(stub: pbg.ClientServiceStub, job_id: str = "job-x", **kwargs: object) -> pb.QueryJobResponse:
    return stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id=job_id), **kwargs)  # type: ignore[arg-type]


def code_of(call: Callable[[], object]) -> grpc.StatusCode | None:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()
    return None


def test_a_status_fault_answers_before_acting(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    fault = fake.faults.add("SubmitJob", status=grpc.StatusCode.UNAVAILABLE, message="down", times=1)
    request = pb.SubmitJobRequest(api_key=ALICE, name="n", command="c")
    assert code_of(lambda: stub.SubmitJob(request)) == grpc.StatusCode.UNAVAILABLE
    assert fake.jobs == []
    assert fake.request_count("SubmitJob") == 1
    assert stub.SubmitJob(request).response.success
    assert fault.hits == 1
    assert fake.faults.active() == []
    assert len(fake.jobs) == 1


def test_an_error_code_fault_answers_a_failed_reply_without_acting(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit
) -> None:
    job_id = submit()
    fake.faults.add("QueryJob", error_code="JOB_NOT_FOUND", message="gone")
    reply = query(stub, job_id)
    assert (reply.response.success, reply.response.error_code, reply.response.message) == (
        False,
        "JOB_NOT_FOUND",
        "gone",
    )
    fake.faults.add("SubmitJob", error_code="INSUFFICIENT_RESOURCES")
    reply2 = stub.SubmitJob(pb.SubmitJobRequest(api_key=ALICE, name="n", command="c"))
    assert reply2.response.error_code == "INSUFFICIENT_RESOURCES"
    assert len(fake.jobs) == 1


@pytest.mark.parametrize("status", [None, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_lost_reply_acts_then_fails(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, status: grpc.StatusCode | None
) -> None:
    fake.faults.add("SubmitJob", lose_reply=True, status=status)
    code = code_of(lambda: stub.SubmitJob(pb.SubmitJobRequest(api_key=ALICE, name="n", command="c")))
    assert code == (status or grpc.StatusCode.UNAVAILABLE)
    assert len(fake.jobs) == 1


def test_a_lost_upload_reply_keeps_the_blob(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    fake.faults.add("UploadFile", lose_reply=True)
    chunk = pb.UploadFileRequest(
        api_key=ALICE,
        file_hash="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        chunk_id="0",
        is_last_chunk=True,
    )
    assert code_of(lambda: stub.UploadFile(iter([chunk]))) == grpc.StatusCode.UNAVAILABLE
    assert list(fake.blobs) == [chunk.file_hash]


def test_a_slow_reply_after_acting_stores_one_job_only(
    stub: pbg.ClientServiceStub, fake: FakeScheduler
) -> None:
    """C-05: the fake stores the job but takes 2 s to answer; the client gives up after 0.5 s."""
    fake.faults.add("SubmitJob", reply_delay=2.0, times=1)
    request = pb.SubmitJobRequest(
        api_key=ALICE, name="n", command="c", metadata={"desam-submission-id": "retry-me"}
    )
    started = time.monotonic()
    assert code_of(lambda: stub.SubmitJob(request, timeout=0.5)) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.5
    assert len(fake.jobs) == 1
    retried = stub.SubmitJob(request, timeout=5)
    assert retried.response.success
    assert retried.job_id == fake.jobs[0].job_id
    assert len(fake.jobs) == 1


def test_latency_comes_before_acting(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, eventually: Callable[..., None]
) -> None:
    fake.faults.add("ListJobs", latency=0.2)
    started = time.monotonic()
    assert stub.ListJobs(pb.ListJobsRequest(api_key=ALICE)).response.success
    assert time.monotonic() - started >= 0.2
    fake.faults.clear()
    fake.faults.add("SubmitJob", latency=0.5)
    assert code_of(
        lambda: stub.SubmitJob(pb.SubmitJobRequest(api_key=ALICE, name="n", command="c"), timeout=0.1)
    ) == (grpc.StatusCode.DEADLINE_EXCEEDED)
    # the call ended during the latency, so the scheduler never acted
    eventually(lambda: fake.faults.active()[0].hits == 1)
    assert fake.jobs == []


def test_stop_interrupts_a_blocked_call_at_once(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub], eventually: Callable[..., None]
) -> None:
    """C-07: a call blocked for 30 s on the server does not hold stop() up."""
    fake = FakeScheduler().start()
    stub = connect(fake)
    fake.faults.add("QueryJob", latency=30)
    future = stub.QueryJob.future(pb.QueryJobRequest(api_key="sk-test", job_id="job-x"))
    eventually(lambda: fake.request_count("QueryJob") == 1)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(grpc.RpcError) as caught:
        future.result(timeout=5)
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def test_times_limits_the_hits(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    fault = fake.faults.add("QueryJob", status=grpc.StatusCode.INTERNAL, times=2)
    codes = [code_of(lambda: query(stub)) for _ in range(4)]
    assert codes == [grpc.StatusCode.INTERNAL, grpc.StatusCode.INTERNAL, None, None]
    assert fault.hits == 2


def test_ratio_hits_a_seeded_fraction(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    fault = fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, ratio=0.3, seed=7)
    draws = random.Random(7)
    expected = [draws.random() < 0.3 for _ in range(40)]
    hit = [code_of(lambda: query(stub)) is not None for _ in range(40)]
    assert hit == expected
    assert fault.hits == sum(expected)
    assert 0 < fault.hits < 40


def test_a_fault_for_any_rpc_and_the_first_match_wins(
    stub: pbg.ClientServiceStub, fake: FakeScheduler
) -> None:
    first = fake.faults.add("QueryJob", status=grpc.StatusCode.NOT_FOUND)
    anything = fake.faults.add(status=grpc.StatusCode.UNAVAILABLE)
    assert code_of(lambda: query(stub)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: stub.ListJobs(pb.ListJobsRequest(api_key=ALICE))) == grpc.StatusCode.UNAVAILABLE
    assert code_of(lambda: stub.QueryCacheQuota(pb.QueryCacheQuotaRequest())) == grpc.StatusCode.UNAVAILABLE
    assert (first.hits, anything.hits) == (1, 2)
    first.remove()
    assert code_of(lambda: query(stub)) == grpc.StatusCode.UNAVAILABLE
    fake.faults.clear()
    assert code_of(lambda: query(stub)) is None
    assert fake.request_count() == 5


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"rpc": "QueryJobs"}, "unknown RPC"),
        ({"status": grpc.StatusCode.OK}, "OK"),
        ({"error_code": "X", "status": grpc.StatusCode.INTERNAL}, "cannot be combined"),
        ({"error_code": "X", "lose_reply": True}, "cannot be combined"),
        ({"latency": -1}, ">= 0"),
        ({"times": 0}, "times"),
        ({"ratio": 1.5}, "ratio"),
    ],
)
def test_nonsense_faults_are_refused(fake: FakeScheduler, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        fake.faults.add(**kwargs)  # type: ignore[arg-type]


def test_faults_are_thread_safe(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    fault = fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=25)
    failures: list[grpc.StatusCode | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            code = code_of(lambda: query(stub))
            with lock:
                failures.append(code)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures.count(grpc.StatusCode.UNAVAILABLE) == 25
    assert fault.hits == 25
