"""The local executor really runs commands: output, environment, directories, timeouts, retries, cancel."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import Capacity, FakeScheduler, LocalExecutor

KEY = "sk-test"
Submit = Callable[..., str]


def wait_for_gate(name: str) -> str:
    """A shell loop that holds a job until the test creates the file ``name`` in the job's directory."""
    return f'while [ ! -e "{name}" ]; do sleep 0.01; done'


@pytest.fixture
def local(tmp_path: Path) -> Iterator[FakeScheduler]:
    executor = LocalExecutor(kill_grace=0.5)
    with FakeScheduler(executor=executor, data_dir=tmp_path / "data", capacity=Capacity(cpu=4)) as fake:
        yield fake


@pytest.fixture
def stub(
    local: FakeScheduler, connect: Callable[[FakeScheduler], pbg.ClientServiceStub]
) -> pbg.ClientServiceStub:
    return connect(local)


@pytest.fixture
def run(stub: pbg.ClientServiceStub) -> Submit:
    def _run(command: str, **fields: object) -> str:
        reply = stub.SubmitJob(pb.SubmitJobRequest(api_key=KEY, name="job", command=command, **fields))  # type: ignore[arg-type]
        assert reply.response.success, reply.response
        return reply.job_id

    return _run


def logs(stub: pbg.ClientServiceStub, job_id: str, **fields: int) -> str:
    return stub.GetJobLogs(pb.GetJobLogsRequest(api_key=KEY, job_id=job_id, **fields)).log_content


def job_dir(local: FakeScheduler, job_id: str) -> Path:
    return local.data_dir / "jobs" / job_id


def test_output_is_readable_while_the_job_runs(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit
) -> None:
    job_id = run(f"echo one; echo 二; {wait_for_gate('go')}; echo three")
    local.wait_for_log_lines(job_id, 2)
    assert local.get_job(job_id).status == pb.RUNNING
    assert logs(stub, job_id) == "one\n二\n"
    (job_dir(local, job_id) / "go").touch()
    job = local.wait_for_status(job_id)
    assert job.status == pb.SUCCEEDED
    assert job.error_message == ""
    assert job.executor_id.startswith("local-")
    assert job.start_time >= job.submit_time > 0
    assert job.finish_time >= job.start_time
    assert logs(stub, job_id, from_line=2) == "three\n"


def test_stderr_is_captured_and_exit_codes_fail(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit
) -> None:
    job_id = run("echo oops >&2; printf 'no newline'; exit 3")
    job = local.wait_for_status(job_id)
    assert (job.status, job.error_message) == (pb.FAILED, "exit code 3")
    assert sorted(logs(stub, job_id).splitlines()) == ["no newline", "oops"]


def test_the_environment_is_clean_and_merged(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESAM_TEST_LEAK", "secret")
    job_id = run("env", env={"MINE": "1", "LANG": "C", "DESAM_JOB_ID": "overridden"})
    local.wait_for_status(job_id)
    env = dict(line.split("=", 1) for line in logs(stub, job_id).splitlines() if "=" in line)
    assert "DESAM_TEST_LEAK" not in env
    assert env["MINE"] == "1"
    assert env["LANG"] == "C"
    assert env["DESAM_JOB_ID"] == "overridden"
    assert env["DESAM_DATA_DIR"] == str(job_dir(local, job_id))
    assert {"PATH", "HOME", "TMPDIR"} <= env.keys()


def test_the_job_directory_is_the_default_cwd(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit
) -> None:
    job_id = run('pwd; echo "$DESAM_JOB_ID"')
    local.wait_for_status(job_id)
    assert logs(stub, job_id) == f"{job_dir(local, job_id)}\n{job_id}\n"


def test_an_absolute_working_dir(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit, tmp_path: Path
) -> None:
    job_id = run("pwd", working_dir=str(tmp_path))
    assert local.wait_for_status(job_id).status == pb.SUCCEEDED
    assert logs(stub, job_id) == f"{tmp_path}\n"


def test_a_missing_working_dir_fails_clearly(local: FakeScheduler, run: Submit) -> None:
    job_id = run("true", working_dir="/workspace/training")
    job = local.wait_for_status(job_id)
    assert job.status == pb.FAILED
    assert "working_dir '/workspace/training' does not exist" in job.error_message


def test_artifacts_are_placed_and_a_relative_working_dir_is_inside(
    local: FakeScheduler, stub: pbg.ClientServiceStub, put_blob: Callable[..., str]
) -> None:
    digest = put_blob(stub, b"hello from a blob\n")
    tree = pb.FileTreeNode(
        children=[
            pb.FileTreeNode(
                path="data", children=[pb.FileTreeNode(path="in.txt", is_file=True, file_hash=digest)]
            )
        ]
    )
    reply = stub.SubmitJobWithArtifacts(
        pb.SubmitJobWithArtifactsRequest(
            api_key=KEY,
            name="n",
            command="pwd; cat in.txt",
            working_dir="data",
            file_hashes=[digest],
            file_tree=tree,
        )
    )
    assert reply.response.success
    assert local.wait_for_status(reply.job_id).status == pb.SUCCEEDED
    assert logs(stub, reply.job_id) == f"{job_dir(local, reply.job_id) / 'data'}\nhello from a blob\n"


def test_timeout_kills_the_whole_group(
    local: FakeScheduler,
    stub: pbg.ClientServiceStub,
    run: Submit,
    eventually: Callable[..., None],
    alive: Callable[[int], bool],
) -> None:
    job_id = run("sleep 1000 & echo $!; wait", timeout=1, retries=3)
    child = int(local.wait_for_log_lines(job_id, 1)[0])
    assert alive(child)
    started = time.monotonic()
    job = local.wait_for_status(job_id)
    assert time.monotonic() - started < 5
    assert job.status == pb.TIMEOUT
    assert "timeout of 1 s" in job.error_message
    eventually(lambda: not alive(child))
    assert logs(stub, job_id) == f"{child}\n"  # no retry after a timeout


def test_retries_rerun_a_failed_command(
    local: FakeScheduler, stub: pbg.ClientServiceStub, run: Submit
) -> None:
    script = 'n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo "attempt $n"; [ "$n" -ge 2 ]'
    job_id = run(script, retries=2)
    assert local.wait_for_status(job_id).status == pb.SUCCEEDED
    assert logs(stub, job_id).splitlines() == [
        "attempt 0",
        "--- retry 1 of 2 after exit code 1 ---",
        "attempt 1",
        "--- retry 2 of 2 after exit code 1 ---",
        "attempt 2",
    ]
    failing = run("echo try; exit 4", retries=1)
    job = local.wait_for_status(failing)
    assert (job.status, job.error_message) == (pb.FAILED, "exit code 4")
    assert logs(stub, failing).splitlines() == ["try", "--- retry 1 of 1 after exit code 4 ---", "try"]


def test_cancel_stops_the_group(
    local: FakeScheduler,
    stub: pbg.ClientServiceStub,
    run: Submit,
    eventually: Callable[..., None],
    alive: Callable[[int], bool],
) -> None:
    job_id = run("echo $$; exec sleep 1000")
    pid = int(local.wait_for_log_lines(job_id, 1)[0])
    reply = stub.CancelJob(pb.CancelJobRequest(api_key=KEY, job_id=job_id))
    assert reply.response.success
    assert reply.job.status == pb.CANCELLED
    eventually(lambda: not alive(pid))
    assert local.get_job(job_id).status == pb.CANCELLED


def test_a_group_that_ignores_sigterm_gets_sigkill(
    local: FakeScheduler,
    stub: pbg.ClientServiceStub,
    run: Submit,
    eventually: Callable[..., None],
    alive: Callable[[int], bool],
) -> None:
    job_id = run("trap '' TERM; sleep 1000 & echo $!; wait")
    child = int(local.wait_for_log_lines(job_id, 1)[0])
    stub.CancelJob(pb.CancelJobRequest(api_key=KEY, job_id=job_id))
    eventually(lambda: not alive(child))


def test_background_leftovers_die_with_their_job(
    local: FakeScheduler, run: Submit, eventually: Callable[..., None], alive: Callable[[int], bool]
) -> None:
    job_id = run("sleep 1000 & echo $!")
    assert local.wait_for_status(job_id).status == pb.SUCCEEDED
    child = int(local.logs(job_id)[0])
    eventually(lambda: not alive(child))


def test_jobs_queue_first_in_first_out_for_capacity(
    tmp_path: Path, connect: Callable[[FakeScheduler], pbg.ClientServiceStub]
) -> None:
    with FakeScheduler(executor=LocalExecutor(), data_dir=tmp_path, capacity=Capacity(cpu=2, gpu=0)) as fake:
        stub = connect(fake)
        gates = tmp_path / "gates"
        gates.mkdir()

        def submit(name: str, cpu: int) -> str:
            request = pb.SubmitJobRequest(
                api_key=KEY,
                name=name,
                command=wait_for_gate(str(gates / name)),
                resources=pb.ResourceRequirement(cpu_cores=cpu),
            )
            return stub.SubmitJob(request).job_id

        a, b, c = submit("a", 1), submit("b", 2), submit("c", 1)
        fake.wait_for_status(a, pb.RUNNING)
        assert [fake.get_job(j).status for j in (b, c)] == [pb.QUEUED, pb.QUEUED]  # c waits behind b
        (gates / "a").touch()
        fake.wait_for_status(b, pb.RUNNING)
        assert fake.get_job(c).status == pb.QUEUED
        (gates / "b").touch()
        fake.wait_for_status(c, pb.RUNNING)
        queued = stub.CancelJob(pb.CancelJobRequest(api_key=KEY, job_id=submit("d", 2)))
        assert queued.job.status == pb.CANCELLED
        (gates / "c").touch()
        assert [fake.wait_for_status(j).status for j in (a, b, c)] == [pb.SUCCEEDED] * 3


def test_stopping_the_scheduler_stops_its_jobs(tmp_path: Path, alive: Callable[[int], bool]) -> None:
    fake = FakeScheduler(executor=LocalExecutor(), data_dir=tmp_path).start()
    job_id = fake.inject_job(name="n", command="c")  # injected jobs are not run
    with grpc.insecure_channel(fake.address) as channel:
        stub = pbg.ClientServiceStub(channel)
        reply = stub.SubmitJob(pb.SubmitJobRequest(api_key=KEY, name="n", command="echo $$; exec sleep 1000"))
    pid = int(fake.wait_for_log_lines(reply.job_id, 1)[0])
    fake.stop()
    assert not alive(pid)
    job = fake.get_job(reply.job_id)
    assert (job.status, job.error_message) == (pb.FAILED, "the scheduler stopped while the job was running")
    assert fake.get_job(job_id).status == pb.QUEUED


def test_unsafe_artifacts_end_the_job_before_it_runs(
    local: FakeScheduler, stub: pbg.ClientServiceStub, put_blob: Callable[..., str]
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escaped.txt", b"x")
    digest = put_blob(stub, buffer.getvalue())
    tree = pb.FileTreeNode(children=[pb.FileTreeNode(path="code", file_hash=digest)])
    reply = stub.SubmitJobWithArtifacts(
        pb.SubmitJobWithArtifactsRequest(
            api_key=KEY, name="n", command="touch ran", file_hashes=[digest], file_tree=tree
        )
    )
    job = local.wait_for_status(reply.job_id)
    assert job.status == pb.DATA_DEPENDENCY_ERROR
    assert "'../escaped.txt'" in job.error_message
    assert not (job_dir(local, reply.job_id) / "ran").exists()
    assert not list(local.data_dir.rglob("escaped.txt"))
