"""The main job: a dev scheduler on this machine, real jobs submitted, watched, logged, cancelled.

Run it with ``python3 -m nox -s demo`` (or ``python examples/demo.py`` where the
packages are installed). It starts ``desam-dev-server`` on a free port, drives it
with ``DeSAMClient``, prints what happens, checks every outcome, stops the
server, and exits non-zero if anything went wrong.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desam_client import DeSAMClient, DeSAMError, JobStatus
from desam_testing import run_dev_server

API_KEY = "sk-demo-" + os.urandom(6).hex()
failures: list[str] = []


def check(what: str, ok: bool) -> None:
    """Record one expectation and print it."""
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        failures.append(what)


@contextmanager
def dev_server(data_dir: Path) -> Iterator[tuple[str, int]]:
    """Start ``desam-dev-server`` on a free port; yield (host, port); stop it with SIGTERM."""
    args = [
        "--port",
        "0",
        "--executor",
        "local",
        "--api-key",
        f"{API_KEY}=demo",
        "--data-dir",
        str(data_dir),
        "--cpu",
        "4",
    ]
    try:
        with run_dev_server(*args) as server:
            print(f"dev scheduler started: listening on {server.address}")
            yield server.host, server.port
    except RuntimeError as error:
        check(f"the dev server starts and stops cleanly ({error})", False)
        raise
    print("dev scheduler stopped cleanly (exit code 0)")


def wait(client: DeSAMClient, job_id: str) -> JobStatus:
    """The job's final status (``client.wait`` polls with an adaptive interval)."""
    return client.wait(job_id, timeout=60).status


def main() -> int:
    """Run the demo; 0 when every expectation held."""
    with (  # noqa: SIM117 - the client is closed before the server stops, in its own block
        tempfile.TemporaryDirectory(prefix="desam-demo-") as tmp,
        dev_server(Path(tmp) / "data") as (host, port),
    ):
        with DeSAMClient(host=host, port=port, api_key=API_KEY) as client:
            print(f"client: {client!r}")

            print("\n1. a job that succeeds, with env and a Chinese name")
            hello = client.submit_job(
                name="训练任务",
                command='echo "hello from $GREETING"; echo 第二行',
                env={"GREETING": "DeSAM"},
                labels={"demo": "yes"},
                cpu=1,
                memory_mb=64,
            )
            status = wait(client, hello)
            logs = client.get_logs(hello)
            print(f"  job {hello}: {status}; logs: {logs!r}")
            check("hello job SUCCEEDED", status == "SUCCEEDED")
            check("its output came back through GetJobLogs", "hello from DeSAM" in logs and "第二行" in logs)
            info = client.get_info(hello)
            check("name round-trips", info.name == "训练任务")
            check(
                "timestamps are aware UTC",
                info.submit_time is not None and info.submit_time.utcoffset() is not None,
            )

            print("\n2. a failing job and a timed-out job")
            failing = client.submit_job(name="fails", command="echo about to fail >&2; exit 3", memory_mb=64)
            slow = client.submit_job(name="too slow", command="sleep 30", timeout=1, memory_mb=64)
            failing_status, slow_status = wait(client, failing), wait(client, slow)
            print(
                f"  {failing}: {failing_status} ({client.get_info(failing).error_message});"
                f" {slow}: {slow_status}"
            )
            check("failing job FAILED", failing_status == "FAILED")
            check("stderr is captured", "about to fail" in client.get_logs(failing))
            check("slow job TIMEOUT", slow_status == "TIMEOUT")

            print("\n3. cancel a running job, then batch operations")
            long_job = client.submit_job(name="long", command="sleep 60", memory_mb=64)
            streamed = client.submit_job(
                name="streams", command="for i in 1 2 3; do echo tick $i; sleep 0.2; done", memory_mb=64
            )
            lines = list(client.follow_logs(streamed))
            print(f"  follow_logs: {lines}")
            check(
                "follow_logs streams every line until the job ends", lines == ["tick 1", "tick 2", "tick 3"]
            )
            check("cancel() of a running job is True", client.cancel(long_job) is True)
            check("it ends CANCELLED", wait(client, long_job) == "CANCELLED")
            check("cancel() of an ended job is False", client.cancel(hello) is False)
            batch = [
                client.submit_job(name=f"批量作业-{i + 1}", command="sleep 30", memory_mb=64)
                for i in range(3)
            ]
            jobs = client.batch_get_info([*batch, "job-does-not-exist"])
            check("batch_get_info finds the 3 jobs", sorted(j.job_id for j in jobs) == sorted(batch))
            check("and reports the missing id", jobs.missing == ("job-does-not-exist",))
            results = client.batch_cancel([*batch, hello])
            print(f"  batch_cancel: {dict(results)} reasons: {results.messages}")
            check("batch_cancel has one entry per id", set(results) == {*batch, hello})
            check(
                "the queued/running ones were cancelled, the finished one was not",
                all(results[j] for j in batch) and results[hello] is False and hello in results.messages,
            )

            print("\n4. listing")
            listed = client.list_jobs(limit=100)
            print(f"  {len(listed)} jobs, newest first: {[j.name for j in listed[:3]]}")
            check(
                "list_jobs shows every job",
                {hello, failing, slow, long_job, *batch} <= {j.job_id for j in listed},
            )
            try:
                client.list_jobs(status="RUNNNING")
                check("a misspelt status is refused", False)
            except DeSAMError as error:
                check(f"a misspelt status is refused ({error})", True)

            print("\n5. data: a file shipped to the job")
            data = Path(tmp) / "dataset.csv"
            data.write_bytes(b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(10000)))
            expected = hashlib.sha256(data.read_bytes()).hexdigest()
            job = client.files.submit_job_with_files(
                name="uses data",
                command="sha256sum data/dataset.csv",
                file_mappings=[(str(data), "data/dataset.csv")],
                memory_mb=64,
            )
            status = wait(client, job)
            out = client.get_logs(job)
            print(f"  {job}: {status}; {out.strip()}")
            check("the job read byte-identical data", status == "SUCCEEDED" and expected in out)

            print("\n6. data: a directory shipped as a deterministic archive, then re-used")
            folder = Path(tmp) / "configs"
            (folder / "nested").mkdir(parents=True)
            (folder / "train.yaml").write_text("lr: 0.01\n")
            (folder / "nested" / "模型.txt").write_text("resnet50\n")
            before = client.files.check_quota()
            first = client.submit_job(
                name="dir 1",
                command="cat cfg/train.yaml cfg/nested/模型.txt",
                files={"cfg": str(folder)},
                memory_mb=64,
            )
            second = client.submit_job(
                name="dir 2", command="ls -R cfg", files={"cfg": str(folder)}, memory_mb=64
            )
            done = {job.job_id: job for job in client.as_completed([first, second], timeout=60)}
            after = client.files.check_quota()
            print(
                f"  quota used: {before.used_quota} -> {after.used_quota} bytes; outputs: "
                f"{client.get_logs(first).split()}"
            )
            check("both directory jobs succeeded", all(job.status == "SUCCEEDED" for job in done.values()))
            check(
                "the job sees the directory's files",
                client.get_logs(first).split() == ["lr:", "0.01", "resnet50"],
            )

    print()
    if failures:
        print(f"demo FAILED: {len(failures)} expectation(s) did not hold: {failures}")
        return 1
    print("demo passed: every expectation held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
