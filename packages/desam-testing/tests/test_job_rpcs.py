"""The job RPCs through a real gRPC connection: submit, query, list, batch, logs, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import Capacity, FakeScheduler

ALICE, BOB, ADMIN = "sk-alice", "sk-bob", "sk-admin"

Submit = Callable[..., str]


def test_submit_stores_every_field_and_answers_the_job(
    stub: pbg.ClientServiceStub, fake: FakeScheduler
) -> None:
    request = pb.SubmitJobRequest(
        api_key=ALICE,
        name="训练任务",
        command="python train.py",
        working_dir="/work",
        resources=pb.ResourceRequirement(cpu_cores=8, memory_mb=16384, gpu_count=1, disk_mb=10),
        dependencies=[pb.DataDependency(source_path="s3://x", dest_path="/data", is_input=True)],
        metadata={"owner": "alice@example.com"},
        env={"CUDA_VISIBLE_DEVICES": "0"},
        timeout=3600,
        retries=2,
        artifacts=["dataset.zip"],
        labels={"project": "cv"},
        description="使用ResNet50训练",
    )
    reply = stub.SubmitJob(request)
    assert reply.response.success
    job = reply.job
    assert reply.job_id == job.job_id
    assert job.job_id.startswith("job-")
    assert len(job.job_id) == len("job-") + 12
    assert job.user_id == "alice"
    assert job.status == pb.QUEUED
    assert job.submit_time == 1_700_000_000
    assert (job.start_time, job.finish_time) == (0, 0)
    for name in ("name", "command", "working_dir", "timeout", "retries", "description"):
        assert getattr(job, name) == getattr(request, name)
    assert job.resources == request.resources
    assert list(job.dependencies) == list(request.dependencies)
    assert dict(job.metadata) == {"owner": "alice@example.com"}
    assert dict(job.env) == {"CUDA_VISIBLE_DEVICES": "0"}
    assert dict(job.labels) == {"project": "cv"}
    assert list(job.artifacts) == ["dataset.zip"]
    assert fake.get_job(job.job_id) == job
    assert fake.owner_of(job.job_id) == "alice"


def test_user_id_is_recorded_as_given_but_the_key_decides_who_sees_the_job(
    stub: pbg.ClientServiceStub, submit: Submit
) -> None:
    job_id = submit(ALICE, user_id="default_user")
    assert stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id=job_id)).job.user_id == "default_user"
    denied = stub.QueryJob(pb.QueryJobRequest(api_key=BOB, job_id=job_id))
    assert denied.response.error_code == "PERMISSION_DENIED"


def test_job_ids_are_unique(submit: Submit) -> None:
    assert len({submit() for _ in range(50)}) == 50


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"command": ""}, "command"),
        ({"resources": pb.ResourceRequirement(cpu_cores=-2)}, "resources.cpu_cores"),
        ({"resources": pb.ResourceRequirement(memory_mb=-1)}, "resources.memory_mb"),
        ({"resources": pb.ResourceRequirement(gpu_count=-1)}, "resources.gpu_count"),
        ({"resources": pb.ResourceRequirement(disk_mb=-1)}, "resources.disk_mb"),
        ({"timeout": -1}, "timeout"),
        ({"retries": -1}, "retries"),
    ],
)
def test_invalid_submissions_name_the_field_and_store_nothing(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, fields: dict[str, object], named: str
) -> None:
    request = pb.SubmitJobRequest(api_key=ALICE, name="n", command="true")
    for key, value in fields.items():
        if isinstance(value, pb.ResourceRequirement):
            request.resources.CopyFrom(value)
        else:
            setattr(request, key, value)
    reply = stub.SubmitJob(request)
    assert not reply.response.success
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert named in reply.response.message
    assert reply.job_id == ""
    assert fake.jobs == []


def test_the_largest_int32_timeout_is_accepted(submit: Submit, fake: FakeScheduler) -> None:
    job_id = submit(timeout=2_147_483_647)
    assert fake.get_job(job_id).timeout == 2_147_483_647


def test_a_job_larger_than_the_cluster_is_refused(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub],
) -> None:
    with FakeScheduler(capacity=Capacity(cpu=4, memory_mb=1024, gpu=0)) as fake:
        stub = connect(fake)
        for resources, field in [
            (pb.ResourceRequirement(cpu_cores=5), "cpu_cores"),
            (pb.ResourceRequirement(memory_mb=1025), "memory_mb"),
            (pb.ResourceRequirement(gpu_count=1), "gpu_count"),
        ]:
            reply = stub.SubmitJob(
                pb.SubmitJobRequest(api_key="sk-test", name="n", command="c", resources=resources)
            )
            assert reply.response.error_code == "INSUFFICIENT_RESOURCES"
            assert field in reply.response.message
        fits = pb.ResourceRequirement(cpu_cores=4, memory_mb=1024)
        reply = stub.SubmitJob(pb.SubmitJobRequest(api_key="sk-test", name="n", command="c", resources=fits))
        assert reply.response.success
        assert len(fake.jobs) == 1


def test_query_unknown_and_foreign_jobs(stub: pbg.ClientServiceStub, submit: Submit) -> None:
    job_id = submit(ALICE)
    missing = stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id="job-000000000000"))
    assert (missing.response.success, missing.response.error_code) == (False, "JOB_NOT_FOUND")
    assert not missing.HasField("job")
    foreign = stub.QueryJob(pb.QueryJobRequest(api_key=BOB, job_id=job_id))
    assert foreign.response.error_code == "PERMISSION_DENIED"
    assert not foreign.HasField("job")
    assert stub.QueryJob(pb.QueryJobRequest(api_key=ADMIN, job_id=job_id)).job.job_id == job_id
    empty = stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id=""))
    assert empty.response.error_code == "INVALID_ARGUMENT"


def test_listing_pages_newest_first_with_the_total(stub: pbg.ClientServiceStub, submit: Submit) -> None:
    ids = [submit(name=f"job-{i}") for i in range(25)]  # all in the same second of the fake clock
    newest_first = ids[::-1]
    seen: list[str] = []
    for offset in (0, 10, 20):
        reply = stub.ListJobs(pb.ListJobsRequest(api_key=ALICE, limit=10, offset=offset))
        assert reply.response.success
        assert reply.total == 25
        seen += [job.job_id for job in reply.jobs]
    assert seen == newest_first
    beyond = stub.ListJobs(pb.ListJobsRequest(api_key=ALICE, limit=10, offset=30))
    assert (list(beyond.jobs), beyond.total) == ([], 25)


def test_listing_default_limit_is_100(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    for _ in range(120):
        fake.inject_job(owner="alice", name="x", command="c")
    reply = stub.ListJobs(pb.ListJobsRequest(api_key=ALICE))
    assert (len(reply.jobs), reply.total) == (100, 120)


def test_listing_orders_by_submit_time_before_sequence(
    stub: pbg.ClientServiceStub, fake: FakeScheduler
) -> None:
    late = fake.inject_job(owner="alice", name="late", command="c", submit_time=1_700_000_500)
    early = fake.inject_job(owner="alice", name="early", command="c", submit_time=1_700_000_100)
    reply = stub.ListJobs(pb.ListJobsRequest(api_key=ALICE))
    assert [job.job_id for job in reply.jobs] == [late, early]


def test_listing_filters_by_visibility_user_id_and_status(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit
) -> None:
    a1 = submit(ALICE)
    a2 = submit(ALICE, user_id="team-x")
    b1 = submit(BOB)
    fake.manual.start(a1)

    def ids(**fields: object) -> list[str]:
        reply = stub.ListJobs(pb.ListJobsRequest(**fields))  # type: ignore[arg-type]
        assert reply.response.success
        assert reply.total == len(reply.jobs)
        return [job.job_id for job in reply.jobs]

    assert ids(api_key=ALICE) == [a2, a1]
    assert ids(api_key=BOB) == [b1]
    assert ids(api_key=ADMIN) == [b1, a2, a1]
    assert ids(api_key=ALICE, user_id="team-x") == [a2]
    assert ids(api_key=ALICE, user_id="bob") == []
    assert ids(api_key=ADMIN, user_id="bob") == [b1]
    assert ids(api_key=ALICE, status=pb.RUNNING) == [a1]
    assert ids(api_key=ALICE, status=pb.QUEUED) == [a2]
    assert ids(api_key=ALICE, status=pb.UNKNOWN) == [a2, a1]


@pytest.mark.parametrize("fields", [{"limit": -1}, {"offset": -1}])
def test_listing_refuses_negative_paging(stub: pbg.ClientServiceStub, fields: dict[str, Any]) -> None:
    reply = stub.ListJobs(pb.ListJobsRequest(api_key=ALICE, **fields))
    assert reply.response.error_code == "INVALID_ARGUMENT"


def test_batch_query_returns_only_found_visible_jobs(stub: pbg.ClientServiceStub, submit: Submit) -> None:
    mine, theirs = submit(ALICE), submit(BOB)
    reply = stub.BatchQueryJobs(
        pb.BatchQueryJobsRequest(api_key=ALICE, job_ids=["job-missing", mine, theirs, mine])
    )
    assert reply.response.success
    assert [job.job_id for job in reply.jobs] == [mine]
    everything = stub.BatchQueryJobs(pb.BatchQueryJobsRequest(api_key=ADMIN, job_ids=[theirs, mine]))
    assert [job.job_id for job in everything.jobs] == [theirs, mine]


def test_batch_cancel_answers_per_item(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit
) -> None:
    running, finished, foreign = submit(ALICE), submit(ALICE), submit(BOB)
    fake.manual.start(running)
    fake.manual.start(finished)
    fake.manual.succeed(finished)
    reply = stub.BatchCancelJobs(
        pb.BatchCancelJobsRequest(api_key=ALICE, job_ids=[running, finished, "job-missing", foreign])
    )
    assert reply.response.success
    results = {r.job_id: r for r in reply.results}
    assert [r.job_id for r in reply.results] == [running, finished, "job-missing", foreign]
    assert results[running].success
    assert not results[finished].success
    assert "JOB_NOT_CANCELLABLE" in results[finished].message
    assert "SUCCEEDED" in results[finished].message
    assert "JOB_NOT_FOUND" in results["job-missing"].message
    assert "PERMISSION_DENIED" in results[foreign].message
    assert fake.get_job(running).status == pb.CANCELLED
    assert fake.get_job(foreign).status == pb.QUEUED


@pytest.mark.parametrize("start", [False, True])
def test_cancel_an_active_job(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit, start: bool
) -> None:
    job_id = submit()
    if start:
        fake.manual.start(job_id)
    fake.fake_clock.advance(7)
    reply = stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id=job_id))
    assert reply.response.success
    assert reply.job.status == pb.CANCELLED
    assert reply.job.finish_time == 1_700_000_007
    again = stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id=job_id))
    assert again.response.error_code == "JOB_NOT_CANCELLABLE"
    assert again.job.status == pb.CANCELLED
    with pytest.raises(ValueError, match="already ended"):
        fake.manual.succeed(job_id)


def test_cancel_a_finished_job_carries_the_job(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit
) -> None:
    job_id = submit()
    fake.manual.start(job_id)
    fake.manual.fail(job_id, "exit code 3")
    reply = stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id=job_id))
    assert (reply.response.success, reply.response.error_code) == (False, "JOB_NOT_CANCELLABLE")
    assert reply.job.job_id == job_id
    assert reply.job.status == pb.FAILED
    assert reply.job.error_message == "exit code 3"


def test_cancel_errors(stub: pbg.ClientServiceStub, submit: Submit) -> None:
    theirs = submit(BOB)
    assert (
        stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id=theirs)).response.error_code
        == "PERMISSION_DENIED"
    )
    assert (
        stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id="job-x")).response.error_code
        == "JOB_NOT_FOUND"
    )
    assert stub.CancelJob(pb.CancelJobRequest(api_key=ADMIN, job_id=theirs)).response.success


def test_logs_by_line(stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit) -> None:
    job_id = submit()
    fake.manual.start(job_id)
    fake.manual.log(job_id, "line 0", "line 1\nline 2")
    fake.manual.log(job_id, "日志 3", "line 4")

    def logs(**fields: int) -> tuple[str, int]:
        reply = stub.GetJobLogs(pb.GetJobLogsRequest(api_key=ALICE, job_id=job_id, **fields))
        assert reply.response.success
        return reply.log_content, reply.total_lines

    assert logs() == ("line 0\nline 1\nline 2\n日志 3\nline 4\n", 5)
    assert logs(from_line=1, max_lines=2) == ("line 1\nline 2\n", 5)
    assert logs(from_line=3) == ("日志 3\nline 4\n", 5)
    assert logs(from_line=5) == ("", 5)
    assert logs(from_line=99, max_lines=1) == ("", 5)
    fake.manual.log(job_id, "line 5")
    assert logs(from_line=5) == ("line 5\n", 6)


def test_logs_default_to_1000_lines(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    job_id = fake.inject_job(owner="alice", name="n", command="c", logs=[str(i) for i in range(1500)])
    reply = stub.GetJobLogs(pb.GetJobLogsRequest(api_key=ALICE, job_id=job_id))
    assert reply.total_lines == 1500
    assert reply.log_content.splitlines() == [str(i) for i in range(1000)]


def test_logs_errors(stub: pbg.ClientServiceStub, submit: Submit) -> None:
    theirs = submit(BOB)
    for request, code in [
        (pb.GetJobLogsRequest(api_key=ALICE, job_id=theirs), "PERMISSION_DENIED"),
        (pb.GetJobLogsRequest(api_key=ALICE, job_id="job-x"), "JOB_NOT_FOUND"),
        (pb.GetJobLogsRequest(api_key=BOB, job_id=theirs, from_line=-1), "INVALID_ARGUMENT"),
        (pb.GetJobLogsRequest(api_key=BOB, job_id=theirs, max_lines=-1), "INVALID_ARGUMENT"),
        (pb.GetJobLogsRequest(api_key="sk-nobody", job_id=theirs), "INVALID_API_KEY"),
    ]:
        assert stub.GetJobLogs(request).response.error_code == code


ALL_REQUESTS = {
    "SubmitJob": pb.SubmitJobRequest(name="n", command="c"),
    "QueryJob": pb.QueryJobRequest(job_id="job-x"),
    "CancelJob": pb.CancelJobRequest(job_id="job-x"),
    "ListJobs": pb.ListJobsRequest(),
    "GetJobLogs": pb.GetJobLogsRequest(job_id="job-x"),
    "BatchQueryJobs": pb.BatchQueryJobsRequest(job_ids=["job-x"]),
    "BatchCancelJobs": pb.BatchCancelJobsRequest(job_ids=["job-x"]),
    "QueryCacheQuota": pb.QueryCacheQuotaRequest(),
    "VerifyDependencies": pb.VerifyDependenciesRequest(),
    "UploadFile": pb.UploadFileRequest(
        file_hash="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        is_last_chunk=True,
        chunk_id="0",
    ),
    "SubmitJobWithArtifacts": pb.SubmitJobWithArtifactsRequest(name="n", command="c"),
}


def _call(stub: pbg.ClientServiceStub, rpc: str, request: Any) -> Any:
    method = getattr(stub, rpc)
    return method(iter([request])) if rpc == "UploadFile" else method(request)


@pytest.mark.parametrize("rpc", sorted(ALL_REQUESTS))
@pytest.mark.parametrize("api_key", ["", "sk-wrong"])
def test_every_rpc_checks_the_api_key(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, rpc: str, api_key: str
) -> None:
    request: Any = type(ALL_REQUESTS[rpc])()
    request.CopyFrom(ALL_REQUESTS[rpc])
    request.api_key = api_key
    reply = _call(stub, rpc, request)
    assert reply.response.success is False
    assert reply.response.error_code == "INVALID_API_KEY"
    assert "sk-wrong" not in str(reply)
    assert fake.request_count(rpc) == 1
    assert fake.jobs == []
    assert len(fake.blobs) == 0


@pytest.mark.parametrize("rpc", sorted(ALL_REQUESTS))
def test_auth_via_status_answers_unauthenticated(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub], rpc: str
) -> None:
    with FakeScheduler(auth_via_status=True) as fake:
        stub = connect(fake)
        with pytest.raises(grpc.RpcError) as caught:
            _call(stub, rpc, ALL_REQUESTS[rpc])
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert fake.request_count() == 1


def test_submission_id_makes_submit_idempotent(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    request = pb.SubmitJobRequest(
        api_key=ALICE, name="n", command="c", metadata={"desam-submission-id": "s-1"}
    )
    first = stub.SubmitJob(request)
    second = stub.SubmitJob(request)
    assert first.response.success
    assert second.response.success
    assert second.job_id == first.job_id
    assert second.job == first.job
    assert len(fake.jobs) == 1
    # another user with the same submission id is another submission
    request.api_key = BOB
    assert stub.SubmitJob(request).job_id != first.job_id
    # and another id is another submission too
    request.api_key = ALICE
    request.metadata["desam-submission-id"] = "s-2"
    assert stub.SubmitJob(request).job_id != first.job_id
    assert len(fake.jobs) == 3


def test_deduplication_can_be_switched_off(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    assert fake.dedup_submissions
    fake.dedup_submissions = False
    request = pb.SubmitJobRequest(api_key=ALICE, name="n", command="c", metadata={"desam-submission-id": "s"})
    assert stub.SubmitJob(request).job_id != stub.SubmitJob(request).job_id
    assert len(fake.jobs) == 2


def test_unknown_status_numbers_go_over_the_wire(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    job_id = fake.inject_job(owner="alice", name="future", command="c", status=42, submit_time=1_700_000_000)
    reply = stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id=job_id))
    assert reply.job.status == 42
    assert (reply.job.submit_time, reply.job.start_time) == (1_700_000_000, 0)
    assert [j.job_id for j in stub.ListJobs(pb.ListJobsRequest(api_key=ALICE, status=42)).jobs] == [job_id]  # type: ignore[arg-type]
    assert stub.CancelJob(pb.CancelJobRequest(api_key=ALICE, job_id=job_id)).response.error_code == (
        "JOB_NOT_CANCELLABLE"
    )
