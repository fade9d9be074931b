"""desam-dev-server as a user runs it: a real subprocess that really runs jobs."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler
from desam_testing.devserver import main, mask_key

pytestmark = pytest.mark.devserver

SECRET_KEY = "sk-dev-Sup3rS3cret"


def read_line(stream: IO[str] | None, timeout: float = 20.0) -> str:
    assert stream is not None
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "the dev server printed nothing in time"
    return stream.readline()


def start_server(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desam_testing.devserver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = start_server("--port", "0", "--api-key", f"{SECRET_KEY}=dev", "--data-dir", str(tmp_path))
    try:
        line = read_line(proc.stdout)
        prefix = "desam-dev-server listening on "
        assert line.startswith(prefix), line
        yield proc, line[len(prefix) :].strip()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_it_runs_a_job_and_exits_cleanly_on_sigterm(
    server: tuple[subprocess.Popen[str], str], eventually: Callable[..., None], alive: Callable[[int], bool]
) -> None:
    proc, address = server
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1"
    assert int(port) > 0
    with grpc.insecure_channel(address) as channel:
        stub = pbg.ClientServiceStub(channel)
        reply = stub.SubmitJob(
            pb.SubmitJobRequest(api_key=SECRET_KEY, name="hello", command="echo hi"), timeout=10
        )
        assert reply.response.success
        assert reply.job.user_id == "dev"

        def status() -> int:
            return stub.QueryJob(
                pb.QueryJobRequest(api_key=SECRET_KEY, job_id=reply.job_id), timeout=10
            ).job.status

        eventually(lambda: status() == pb.SUCCEEDED, timeout=20)
        logs = stub.GetJobLogs(pb.GetJobLogsRequest(api_key=SECRET_KEY, job_id=reply.job_id), timeout=10)
        assert (logs.log_content, logs.total_lines) == ("hi\n", 1)

        sleeper = stub.SubmitJob(
            pb.SubmitJobRequest(api_key=SECRET_KEY, name="sleeper", command="echo $$; exec sleep 1000"),
            timeout=10,
        )

        def sleeper_logs() -> str:
            request = pb.GetJobLogsRequest(api_key=SECRET_KEY, job_id=sleeper.job_id)
            return stub.GetJobLogs(request, timeout=10).log_content

        eventually(lambda: sleeper_logs() != "", timeout=20)
        pid = int(sleeper_logs())
        assert alive(pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert not alive(pid)
    assert "Sup3rS3cret" not in out + err
    assert "sk-d…" in err
    assert "user dev" in err


def test_a_taken_port_exits_with_1(fake: FakeScheduler) -> None:
    proc = start_server("--port", str(fake.port))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert str(fake.port) in err
    assert out == ""


def test_sigint_stops_the_manual_executor_server_too(tmp_path: Path) -> None:
    proc = start_server("--port", "0", "--executor", "manual", "--admin-key", "sk-root")
    try:
        address = read_line(proc.stdout).rsplit(" ", 1)[1].strip()
        with grpc.insecure_channel(address) as channel:
            stub = pbg.ClientServiceStub(channel)
            submitted = stub.SubmitJob(
                pb.SubmitJobRequest(api_key="sk-dev", name="n", command="c"), timeout=10
            )
            listed = stub.ListJobs(pb.ListJobsRequest(api_key="sk-root"), timeout=10)
            assert [job.job_id for job in listed.jobs] == [submitted.job_id]
            assert (
                stub.QueryJob(pb.QueryJobRequest(api_key="sk-dev", job_id=submitted.job_id)).job.status
                == pb.QUEUED
            )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "admin" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_key_mask() -> None:
    assert mask_key("sk-dev") == "sk-d…"
    assert mask_key(SECRET_KEY) == "sk-d…"
    assert mask_key("abc") == "a…"
    assert mask_key("") == "…"


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-key", "=user"],
        ["--api-key", "key="],
        ["--tls-cert", "/nonexistent.pem"],
        ["--tls-client-ca", "/nonexistent.pem"],
        ["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"],
        ["--executor", "remote"],
        ["--cpu", "-1"],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: desam-dev-server" in capsys.readouterr().err


def test_the_console_script_is_declared() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    assert 'desam-dev-server = "desam_testing.devserver:main"' in pyproject.read_text()
    assert os.access(sys.executable, os.X_OK)
