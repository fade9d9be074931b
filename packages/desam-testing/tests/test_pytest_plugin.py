"""The pytest plugin, tested the way downstream projects use it: through pytester."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import asyncio

def test_sync(desam_client, desam_scheduler):
    job_id = desam_client.submit_job(name="from a downstream test", command="true")
    desam_scheduler.manual.start(job_id)
    desam_scheduler.manual.succeed(job_id)
    assert desam_client.get_status(job_id) == "SUCCEEDED"
    assert desam_scheduler.request_count("SubmitJob") == 1

def test_async(desam_async_client):
    async def main():
        job_id = await desam_async_client.submit_job(name="async", command="true")
        return await desam_async_client.get_status(job_id)
    assert asyncio.run(main()) == "QUEUED"

def test_faults(desam_client, desam_faults):
    import grpc
    from desam_client import DeSAMConnectionError
    desam_faults.add("ListJobs", status=grpc.StatusCode.UNAVAILABLE)
    try:
        desam_client.list_jobs(retry=None)
    except DeSAMConnectionError:
        pass
    else:
        raise AssertionError("the fault did not fire")

def test_session_scheduler(desam_scheduler_session):
    assert desam_scheduler_session.port > 0
"""


def test_fixtures_work_in_a_downstream_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_options_point_the_client_fixtures_at_a_real_scheduler(pytester: pytest.Pytester) -> None:
    from desam_testing import FakeScheduler

    with FakeScheduler(api_keys={"sk-real": "real-user"}) as real:
        pytester.makepyfile(test_downstream=SUITE)
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--desam-target={real.address}", "--desam-api-key=sk-real"
        )
        # The client tests reach the "real" scheduler; tests that need the fake skip with a reason.
        result.assert_outcomes(passed=1, skipped=3)
        assert real.request_count("SubmitJob") == 1
        result.stdout.no_fnmatch_line("*sk-real*")


def test_target_without_a_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--desam-target=127.0.0.1:1")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--desam-target needs --desam-api-key*"])
