"""Every job method, success and failure, through a real gRPC connection, for both clients."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import grpc
import pytest

from desam_client import (
    AuthenticationError,
    DeSAMError,
    InsufficientResourcesError,
    InvalidArgumentError,
    Job,
    JobNotFoundError,
    JobStatus,
    PermissionDeniedError,
    SubmitError,
)
from desam_testing import FakeScheduler


def test_submit_and_get_info_round_trip_every_field(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(
        name="ResNet50训练",
        command="python train.py --lr 0.01",
        cpu=8,
        memory_mb=32768,
        gpu=2,
        disk_mb=100,
        working_dir="/workspace/training",
        env={"CUDA_VISIBLE_DEVICES": "0,1"},
        timeout=7200,
        retries=2,
        artifacts=["dataset/train.zip", "models/resnet50.pth"],
        labels={"project": "cv", "优先级": "高"},
        description="使用ResNet50在ImageNet数据集上训练基线模型",
        metadata={"owner": "alice@example.com"},
        user_id="alice-explicit",
    )
    assert isinstance(job_id, str) and job_id
    job = client.get_info(job_id)
    assert isinstance(job, Job)
    assert (job.job_id, job.name, job.command) == (job_id, "ResNet50训练", "python train.py --lr 0.01")
    assert (job.resources.cpu, job.resources.memory_mb, job.resources.gpu, job.resources.disk_mb) == (
        8,
        32768,
        2,
        100,
    )
    assert job.working_dir == "/workspace/training"
    assert job.env == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert (job.timeout, job.retries) == (7200, 2)
    assert job.artifacts == ["dataset/train.zip", "models/resnet50.pth"]
    assert job.labels == {"project": "cv", "优先级": "高"}
    assert job.description == "使用ResNet50在ImageNet数据集上训练基线模型"
    assert job.metadata is not None and job.metadata["owner"] == "alice@example.com"
    assert job.user_id == "alice-explicit"
    assert job.status == "QUEUED" and job.status is JobStatus.QUEUED
    assert job.submit_time is not None and job.submit_time.tzinfo is not None
    assert job.start_time is None and job.finish_time is None


def test_defaults_match_the_seed_and_user_id_is_not_invented(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="测试作业", command="echo 'Hello World'")
    sent = fake.requests("SubmitJob")[-1]
    assert sent.user_id == ""  # the 0.1.x client sent a made-up "default_user"
    assert (
        sent.resources.cpu_cores,
        sent.resources.memory_mb,
        sent.resources.gpu_count,
        sent.resources.disk_mb,
    ) == (1, 1024, 0, 0)
    assert (sent.timeout, sent.retries) == (0, 0)
    job = client.get_info(job_id)
    assert job.user_id == "alice"
    assert job.env is None and job.labels is None and job.timeout is None and job.description is None


def test_c16_chinese_names_round_trip_byte_for_byte(client: Any) -> None:
    names = ["训练任务", "批量作业-1"]
    ids = [client.submit_job(name=n, command="true", description=f"描述：{n}") for n in names]
    for job_id, name in zip(ids, names, strict=False):
        job = client.get_info(job_id)
        assert job.name.encode() == name.encode()
        assert job.description == f"描述：{name}"
    listed = {j.job_id: j for j in client.list_jobs()}
    assert [listed[i].name for i in ids] == names


def test_get_status_is_a_str_equal_to_the_name(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="s", command="true")
    status = client.get_status(job_id)
    assert status == "QUEUED" and isinstance(status, str) and f"{status}" == "QUEUED"
    fake.executor.start(job_id)
    assert client.get_status(job_id) == "RUNNING"
    fake.executor.succeed(job_id)
    assert client.get_status(job_id) in ["SUCCEEDED", "FAILED", "CANCELLED"]


@pytest.mark.parametrize("method", ["get_info", "get_status", "cancel", "get_logs"])
def test_unknown_job_is_job_not_found(client: Any, method: str) -> None:
    with pytest.raises(JobNotFoundError) as info:
        getattr(client, method)("job-nope")
    assert info.value.error_code == "JOB_NOT_FOUND"
    assert info.value.job_id == "job-nope"


def test_another_users_job_is_permission_denied(make_client: Any) -> None:
    bob = make_client(api_key="sk-other")
    job_id = bob.submit_job(name="bob's", command="true")
    alice = make_client(api_key="sk-test")
    with pytest.raises(PermissionDeniedError) as info:
        alice.get_info(job_id)
    assert isinstance(info.value, AuthenticationError)
    assert info.value.error_code == "PERMISSION_DENIED"
    assert job_id not in {j.job_id for j in alice.list_jobs()}
    admin = make_client(api_key="sk-admin")
    assert admin.get_info(job_id).user_id == "bob"


def test_bad_key_is_authentication_error_on_every_method(make_client: Any) -> None:
    client = make_client(api_key="sk-wrong")
    calls = [
        lambda: client.submit_job(name="x", command="true"),
        lambda: client.get_info("j"),
        lambda: client.get_status("j"),
        lambda: client.list_jobs(),
        lambda: client.cancel("j"),
        lambda: client.batch_get_info(["j"]),
        lambda: client.batch_cancel(["j"]),
        lambda: client.get_logs("j"),
    ]
    for call in calls:
        with pytest.raises(AuthenticationError) as info:
            call()
        assert info.value.error_code == "INVALID_API_KEY"


def test_unauthenticated_status_is_authentication_error(client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAUTHENTICATED, message="expired", times=1)
    with pytest.raises(AuthenticationError) as info:
        client.get_info("job-1")
    assert info.value.grpc_code is grpc.StatusCode.UNAUTHENTICATED


def test_unknown_error_code_keeps_code_and_message(client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("QueryJob", error_code="SOMETHING_NEW", message="a newer scheduler says no", times=1)
    with pytest.raises(DeSAMError) as info:
        client.get_info("job-1")
    assert type(info.value) is DeSAMError
    assert info.value.error_code == "SOMETHING_NEW"
    assert "a newer scheduler says no" in str(info.value)


def test_insufficient_resources_is_a_submit_error(client: Any) -> None:
    with pytest.raises(InsufficientResourcesError) as info:
        client.submit_job(name="huge", command="true", cpu=100_000)
    assert isinstance(info.value, SubmitError)
    assert info.value.error_code == "INSUFFICIENT_RESOURCES"


def test_server_side_invalid_argument_maps(client: Any, fake: FakeScheduler) -> None:
    fake.faults.add("SubmitJob", error_code="INVALID_ARGUMENT", message="name: too long", times=1)
    with pytest.raises(InvalidArgumentError) as info:
        client.submit_job(name="n", command="true")
    assert isinstance(info.value, ValueError)


def test_list_jobs_pages_newest_first_and_filters(client: Any, fake: FakeScheduler) -> None:
    ids = [client.submit_job(name=f"job-{i}", command="true") for i in range(7)]
    assert [j.job_id for j in client.list_jobs()] == ids[::-1]
    page1 = client.list_jobs(limit=3, offset=0)
    page2 = client.list_jobs(limit=3, offset=3)
    assert [j.job_id for j in page1 + page2] == ids[::-1][:6]
    fake.executor.start(ids[2])
    running = client.list_jobs(status="RUNNING")
    assert [j.job_id for j in running] == [ids[2]]
    assert client.list_jobs(status=JobStatus.RUNNING) == running
    assert {j.job_id for j in client.list_jobs(user_id="alice")} == set(ids)
    assert client.list_jobs(user_id="nobody") == []


def test_cancel_running_true_finished_false(client: Any, fake: FakeScheduler) -> None:
    running = client.submit_job(name="r", command="sleep 100")
    fake.executor.start(running)
    assert client.cancel(running) is True
    assert client.get_status(running) == "CANCELLED"
    assert client.cancel(running) is False
    done = client.submit_job(name="d", command="true")
    fake.executor.start(done)
    fake.executor.succeed(done)
    assert client.cancel(done) is False


def test_c15_batch_calls_report_per_item(client: Any, fake: FakeScheduler) -> None:
    ok = client.submit_job(name="ok", command="true")
    jobs = client.batch_get_info([ok, "job-missing"])
    assert isinstance(jobs, list)
    assert [j.job_id for j in jobs] == [ok]
    assert jobs.missing == ("job-missing",)

    running = client.submit_job(name="running", command="sleep 9")
    fake.executor.start(running)
    finished = client.submit_job(name="finished", command="true")
    fake.executor.start(finished)
    fake.executor.succeed(finished)
    results = client.batch_cancel([running, finished, "job-unknown"])
    assert isinstance(results, dict)
    assert dict(results) == {running: True, finished: False, "job-unknown": False}
    assert results.messages[finished]  # the reason is available
    assert "job-unknown" in results.messages


def test_batch_calls_split_long_id_lists(client: Any, fake: FakeScheduler) -> None:
    ids = [client.submit_job(name=f"b{i}", command="true") for i in range(3)]
    wanted = ids + [f"job-missing-{i}" for i in range(1200)]
    before = fake.request_count("BatchQueryJobs")
    jobs = client.batch_get_info(wanted)
    assert fake.request_count("BatchQueryJobs") - before == 3  # 1203 ids in chunks of 500
    assert [j.job_id for j in jobs] == ids
    assert len(jobs.missing) == 1200


def test_empty_batches_send_nothing(client: Any, fake: FakeScheduler) -> None:
    assert client.batch_get_info([]) == []
    assert client.batch_cancel([]) == {}
    assert fake.request_count() == 0


def test_logs_by_line(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="logs", command="true")
    fake.executor.start(job_id)
    fake.executor.log(job_id, *[f"line {i}" for i in range(10)])
    assert client.get_logs(job_id).splitlines() == [f"line {i}" for i in range(10)]
    assert client.get_logs(job_id, from_line=7, max_lines=2).splitlines() == ["line 7", "line 8"]
    assert client.get_logs(job_id, from_line=10) == ""


def test_c10_unknown_status_number_is_kept(client: Any, fake: FakeScheduler) -> None:
    job_id = fake.inject_job(owner="alice", status=42)
    job = client.get_info(job_id)
    assert job.status == "UNKNOWN" and job.status_code == 42
    assert not job.is_finished
    assert client.get_status(job_id) == JobStatus.UNKNOWN


def test_c10_data_dependency_error_is_not_unknown(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="dd", command="true")
    fake.executor.data_dependency_error(job_id, "blob vanished")
    job = client.get_info(job_id)
    assert job.status == "DATA_DEPENDENCY_ERROR" and job.status_code == 8 and job.is_finished


def test_c13_timestamps_are_aware_utc(
    client: Any, fake: FakeScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        job_id = fake.inject_job(owner="alice", submit_time=1700000000, start_time=0)
        job = client.get_info(job_id)
        assert job.submit_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
        assert job.submit_time.utcoffset().total_seconds() == 0
        assert job.start_time is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
