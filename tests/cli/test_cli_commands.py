"""``desam`` end to end: subprocesses against a dev server that really runs the commands."""

from __future__ import annotations

import hashlib
import json
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.devserver

API_KEY = "sk-cli-Sup3rS3cret"
SECRET_PART = "Sup3rS3cret"


def test_submit_follow_and_wait(desam: Any) -> None:
    job_id = desam.ok("submit", "--name", "hello", "--", "echo", "hello").strip()
    assert job_id
    assert len(job_id.split()) == 1
    assert desam.ok("logs", "-f", job_id) == "hello\n"
    done = desam("wait", job_id)
    assert done.returncode == 0, done.stderr
    assert job_id in done.stdout
    assert "SUCCEEDED" in done.stdout
    assert desam.ok("status", job_id).strip() == "SUCCEEDED"
    assert desam.ok("logs", job_id) == "hello\n"


def test_a_failing_command_makes_wait_exit_1(desam: Any) -> None:
    failing = desam.ok("submit", "--", "exit 3").strip()
    succeeding = desam.ok("submit", "--", "true").strip()
    done = desam("wait", failing, succeeding)
    assert done.returncode == 1
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()[1:]}
    assert rows == {failing: "FAILED", succeeding: "SUCCEEDED"}
    assert done.stderr == ""


def test_submit_wait_option_reports_the_outcome(desam: Any) -> None:
    done = desam("submit", "--wait", "--", "sh", "-c", "echo out; exit 4")
    assert done.returncode == 1
    _job_id, outcome = done.stdout.splitlines()
    assert outcome.startswith("FAILED")
    assert desam("submit", "--wait", "--", "true").returncode == 0


def test_submit_passes_every_option(desam: Any) -> None:
    job_id = desam.ok(
        "submit",
        "--name",
        "训练任务",
        "--cpu",
        "1",
        "--memory-mb",
        "64",
        "--gpu",
        "0",
        "--disk-mb",
        "5",
        "--working-dir",
        "/tmp",
        "--env",
        "GREETING=hi there",
        "--env",
        "N=3",
        "--timeout",
        "60",
        "--retries",
        "1",
        "--label",
        "team=x",
        "--description",
        "批量作业",
        "--metadata",
        "k=v",
        "--user-id",
        "someone",
        "--",
        'echo "$GREETING $N"',
    ).strip()
    info = json.loads(desam.ok("-o", "json", "info", job_id))
    assert info["name"] == "训练任务"
    assert info["description"] == "批量作业"
    assert info["resources"] == {"cpu": 1, "memory_mb": 64, "gpu": 0, "disk_mb": 5}
    assert info["env"] == {"GREETING": "hi there", "N": "3"}
    assert (info["timeout"], info["retries"], info["user_id"]) == (60, 1, "someone")
    assert info["labels"] == {"team": "x"}
    assert info["metadata"]["k"] == "v"
    desam.ok("wait", job_id)
    assert desam.ok("logs", job_id) == "hi there 3\n"


def test_json_output_parses(desam: Any) -> None:
    job_id = json.loads(desam.ok("--output", "json", "submit", "--", "echo", "json"))["job_id"]
    waited = json.loads(desam.ok("wait", job_id, "-o", "json"))
    assert waited[0]["job_id"] == job_id
    assert waited[0]["status"] == "SUCCEEDED"
    assert waited[0]["status_code"] == 4
    info = json.loads(desam.ok("info", job_id, "--output", "json"))
    submitted = datetime.fromisoformat(info["submit_time"])
    assert submitted.utcoffset() is not None
    assert submitted.utcoffset().total_seconds() == 0
    listed = json.loads(desam.ok("-o", "json", "list", "--limit", "5"))
    assert isinstance(listed, list)
    assert any(job["job_id"] == job_id for job in listed)
    status = json.loads(desam.ok("-o", "json", "status", job_id))
    assert status == {"job_id": job_id, "status": "SUCCEEDED", "status_code": 4}
    logs = json.loads(desam.ok("-o", "json", "logs", job_id))
    assert logs["lines"] == ["json"]
    followed = [json.loads(line) for line in desam.ok("-o", "json", "logs", "-f", job_id).splitlines()]
    assert followed == [{"job_id": job_id, "line": "json"}]


def test_list_all_walks_every_page_and_filters_labels(desam: Any) -> None:
    ids = [desam.ok("submit", "--label", f"batch={i % 2}", "--", "true").strip() for i in range(5)]
    everything = json.loads(desam.ok("-o", "json", "list", "--all", "--limit", "2"))
    listed = [job["job_id"] for job in everything]
    assert len(listed) == len(set(listed))
    assert set(ids) <= set(listed)
    odd = json.loads(desam.ok("-o", "json", "list", "--all", "--limit", "2", "--label", "batch=1"))
    assert {job["job_id"] for job in odd} == {ids[1], ids[3]}
    table = desam.ok("list", "--limit", "3").splitlines()
    assert table[0].split() == ["JOB", "ID", "NAME", "STATUS", "USER", "SUBMITTED"]
    assert len(table) == 4


def test_cancel_several_and_exit_1_if_any_failed(desam: Any) -> None:
    first = desam.ok("submit", "--", "sleep 30").strip()
    second = desam.ok("submit", "--", "sleep 30").strip()
    out = desam.ok("cancel", first, second)
    assert f"{first}: cancelled" in out
    assert f"{second}: cancelled" in out
    again = desam("cancel", first, "job-unknown")
    assert again.returncode == 1
    assert f"{first}: not cancelled" in again.stdout
    assert "job-unknown: not cancelled" in again.stdout
    done = desam("wait", first)
    assert done.returncode == 1
    assert "CANCELLED" in done.stdout


@pytest.mark.parametrize("where", ["env", "flag"])
def test_a_bad_key_is_one_line_exit_1_and_never_printed(desam: Any, where: str) -> None:
    bad = "sk-bad-Wr0ngS3cret"
    if where == "env":
        done = desam("status", "job-x", env=desam.env(DESAM_API_KEY=bad))
    else:
        done = desam("--api-key", bad, "status", "job-x")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("desam: error: ")
    assert "INVALID_API_KEY" in lines[0]
    assert "Traceback" not in done.stderr
    assert "Wr0ngS3cret" not in done.stderr


def test_debug_shows_a_traceback_but_never_the_key(desam: Any) -> None:
    done = desam("--debug", "status", "job-does-not-exist")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "JobNotFoundError" in done.stderr
    assert "api_key=<set>" in done.stderr
    assert SECRET_PART not in done.stderr + done.stdout


def test_usage_errors_exit_2_with_one_line(desam: Any) -> None:
    for args in (["bogus"], ["submit", "--env", "NOEQUALS", "--", "true"], ["list", "--status", "RUNNNING"]):
        done = desam(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith("desam: error: ")
    done = desam("list", env=desam.env(connect=False))
    assert done.returncode == 2
    assert "DESAM_HOST" in done.stderr


def test_a_config_profile_is_used(desam: Any, tmp_path: Path) -> None:
    config = tmp_path / "desam.ini"
    config.write_text(
        "[default]\nhost = 127.0.0.1\nport = 1\napi_key = sk-default-unused\n\n"
        f"[profile dev]\nhost = {desam.server.host}\nport = {desam.server.port}\napi_key = {API_KEY}\n"
    )
    config.chmod(0o600)
    plain = desam.env(connect=False)
    job_id = desam.ok("--config", str(config), "--profile", "dev", "submit", "--", "true", env=plain).strip()
    assert desam.ok("wait", job_id, "--profile", "dev", "--config", str(config), env=plain)
    # the same through DESAM_CONFIG and DESAM_PROFILE
    via_env = desam.env(connect=False, DESAM_CONFIG=str(config), DESAM_PROFILE="dev")
    assert desam.ok("status", job_id, env=via_env).strip() == "SUCCEEDED"
    # environment beats the file, flags beat the environment
    wrong_key = desam.env(
        connect=False, DESAM_CONFIG=str(config), DESAM_PROFILE="dev", DESAM_API_KEY="sk-nope"
    )
    assert desam("status", job_id, env=wrong_key).returncode == 1
    assert desam.ok("--api-key", API_KEY, "status", job_id, env=wrong_key).strip() == "SUCCEEDED"
    # an unknown profile is a usage error
    done = desam("--config", str(config), "--profile", "nope", "list", env=plain)
    assert done.returncode == 2
    assert "nope" in done.stderr


def test_the_default_config_location_follows_xdg(desam: Any) -> None:
    folder = desam.home / ".config" / "desam"
    folder.mkdir(parents=True)
    (folder / "config.ini").write_text(
        f"[default]\nhost = {desam.server.host}\nport = {desam.server.port}\napi_key = {API_KEY}\n"
    )
    (folder / "config.ini").chmod(0o644)
    done = desam("list", "--limit", "1", env=desam.env(connect=False))
    assert done.returncode == 0, done.stderr
    assert "readable by other users" in done.stderr
    assert SECRET_PART not in done.stderr + done.stdout


def test_ctrl_c_exits_130(desam: Any) -> None:
    job_id = desam.ok("submit", "--", "sleep 30").strip()
    process = desam.popen("--debug", "wait", job_id)
    assert process.stderr is not None
    # --debug prints one event per call: once the first poll is done, main() is surely running
    while "desam.call" not in process.stderr.readline():
        assert process.poll() is None, "desam wait ended early"
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.strip().endswith("desam: error: interrupted")
    assert SECRET_PART not in err
    desam.ok("cancel", job_id)


def test_quota(desam: Any) -> None:
    quota = json.loads(desam.ok("-o", "json", "quota"))
    assert quota["total_quota"] == quota["used_quota"] + quota["available_quota"] > 0
    assert "available" in desam.ok("quota")


def test_upload_prints_hashes(desam: Any, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"hello upload\n" * 1000)
    out = desam.ok("upload", str(data))
    assert out.split()[0] == hashlib.sha256(data.read_bytes()).hexdigest()
    uploaded = json.loads(desam.ok("-o", "json", "upload", str(data)))
    assert uploaded[0]["file_size"] == data.stat().st_size


def test_upload_of_a_missing_path_is_one_line_exit_1(desam: Any, tmp_path: Path) -> None:
    done = desam("upload", str(tmp_path / "nope.bin"))
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("desam: error: ")
    assert "nope.bin" in done.stderr
