"""The built-in structlog plugin: ``desam.call`` per call, ``desam.retry`` per retry, for both clients.

Events are captured with ``structlog.testing.capture_logs()`` (the ``captured_logs``
fixture). What happens when the application never configured structlog can only
be seen in a fresh process (configuring it is process-wide and cannot be undone),
so that test runs a small script in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import grpc
import pytest

from desam_client import JobNotFoundError, RetryPolicy
from desam_testing import FakeScheduler


def test_one_call_event_per_call(
    make_client: Any, fake: FakeScheduler, captured_logs: list[Any], events: Any
) -> None:
    client = make_client()
    job_id = client.submit_job(name="x", command="true")
    captured_logs.clear()
    client.get_info(job_id)
    client.get_status(job_id)
    client.list_jobs()
    calls = events("desam.call")
    assert [e["rpc"] for e in calls] == ["QueryJob", "QueryJob", "ListJobs"]
    first = calls[0]
    assert first["log_level"] == "debug"
    assert first["outcome"] == "ok"
    assert first["attempts"] == 1
    assert first["job_id"] == job_id
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert calls[2]["job_id"] is None
    assert events("desam.retry") == []


def test_one_retry_event_per_retry(
    make_client: Any, fake: FakeScheduler, captured_logs: list[Any], events: Any
) -> None:
    client = make_client(retry=RetryPolicy(initial_backoff=0.01))
    job_id = client.submit_job(name="x", command="true")
    captured_logs.clear()
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=2)
    client.get_info(job_id)
    retries = events("desam.retry")
    assert [(e["rpc"], e["attempt"], e["error_type"], e["grpc_code"]) for e in retries] == [
        ("QueryJob", 1, "DeSAMConnectionError", "UNAVAILABLE"),
        ("QueryJob", 2, "DeSAMConnectionError", "UNAVAILABLE"),
    ]
    assert all(e["log_level"] == "info" and e["delay_s"] >= 0 and e["job_id"] == job_id for e in retries)
    (call,) = events("desam.call")
    assert (call["attempts"], call["outcome"]) == (3, "ok")


def test_a_failed_call_is_logged_at_info_with_the_error(make_client: Any, events: Any) -> None:
    client = make_client()
    with pytest.raises(JobNotFoundError) as info:
        client.get_info("job-missing")
    (call,) = events("desam.call")
    assert call["log_level"] == "info"
    assert call["outcome"] == "error"
    assert call["error_type"] == "JobNotFoundError"
    assert call["error_code"] == "JOB_NOT_FOUND"
    assert call["error"] == str(info.value)
    assert call["job_id"] == "job-missing"


_UNCONFIGURED = textwrap.dedent("""
    import asyncio, sys
    import grpc, structlog
    from desam_client import AsyncDeSAMClient, DeSAMClient, JobNotFoundError, RetryPolicy
    from desam_client.plugins.logging import StructlogEvents
    from desam_testing import FakeScheduler

    kind = sys.argv[1]

    async def calls_async(**kwargs):
        async with AsyncDeSAMClient(**kwargs) as client:
            await client.list_jobs()
            try:
                await client.get_info("job-missing")
            except JobNotFoundError:
                pass

    def calls(**kwargs):
        if kind == "async":
            asyncio.run(calls_async(**kwargs))
            return
        with DeSAMClient(**kwargs) as client:
            client.list_jobs()
            try:
                client.get_info("job-missing")
            except JobNotFoundError:
                pass

    with FakeScheduler() as fake:
        common = dict(host=fake.host, port=fake.port, api_key="sk-test", load_entrypoint_plugins=False,
                      retry=RetryPolicy(initial_backoff=0.01))
        fake.faults.add("ListJobs", status=grpc.StatusCode.UNAVAILABLE, times=1)
        calls(**common)
        assert fake.request_count("ListJobs") == 2  # the retry happened, silently
        assert not structlog.is_configured()
        print("---", flush=True)
        calls(**common, plugins=[StructlogEvents(always=True)])
""")


def test_nothing_is_emitted_while_structlog_is_not_configured(client_kind: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNCONFIGURED, client_kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    unconfigured, _, always = done.stdout.partition("---")
    assert unconfigured.strip() == ""
    assert "desam" not in done.stderr
    # The control: the same calls with always=True do print through structlog's defaults.
    assert always.count("desam.call") == 2
    assert always.count("desam.retry") == 0
