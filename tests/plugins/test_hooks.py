"""What each hook does, shown through the fake scheduler, for both clients.

Every test runs with ``DeSAMClient`` and with ``AsyncDeSAMClient`` (``client_kind``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest

from desam_client import (
    CallInfo,
    ConfigurationError,
    DeSAMConnectionError,
    DeSAMError,
    JobNotFoundError,
    RetryPolicy,
    hookimpl,
)
from desam_client.plugins.logging import StructlogEvents
from desam_client.plugins.tracing import OpenTelemetryTracing
from desam_testing import FakeScheduler

FAST = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.02)


# -- desam_api_key -------------------------------------------------------------------------------


class RotatingKey:
    """Hands out the next key of a list on every call (a key that rotates)."""

    def __init__(self, *keys: str) -> None:
        self.keys = keys
        self.asked = 0

    @hookimpl
    def desam_api_key(self, call: CallInfo) -> str:
        key = self.keys[self.asked % len(self.keys)]
        self.asked += 1
        return key


def test_a_plugin_key_wins_over_the_constructor_key_and_may_rotate(
    make_client: Any, fake: FakeScheduler
) -> None:
    rotating = RotatingKey("sk-test", "sk-other")
    client = make_client(api_key="sk-constructor-unknown-to-the-fake", plugins=[rotating])
    client.list_jobs()
    client.list_jobs()
    client.list_jobs()
    assert [r.api_key for r in fake.requests("ListJobs")] == ["sk-test", "sk-other", "sk-test"]


def test_the_key_is_asked_once_per_call_and_kept_for_its_retries(
    make_client: Any, fake: FakeScheduler
) -> None:
    rotating = RotatingKey("sk-test", "sk-other")
    client = make_client(plugins=[rotating], retry=FAST)
    fake.faults.add("ListJobs", lose_reply=True, times=2)  # served (so recorded), then UNAVAILABLE
    client.list_jobs()
    assert rotating.asked == 1
    assert [r.api_key for r in fake.requests("ListJobs")] == ["sk-test"] * 3


def test_a_plugin_that_passes_leaves_the_constructor_key(make_client: Any, fake: FakeScheduler) -> None:
    class Passes:
        @hookimpl
        def desam_api_key(self, call: CallInfo) -> None:
            return None

    make_client(api_key="sk-other", plugins=[Passes()]).list_jobs()
    assert fake.requests("ListJobs")[0].api_key == "sk-other"


class VaultKey:
    """An async plugin: fetches the key with ``await``."""

    def __init__(self) -> None:
        self.fetched = 0

    @hookimpl
    async def desam_api_key(self, call: CallInfo) -> str:
        await asyncio.sleep(0)
        self.fetched += 1
        return "sk-other"


def test_an_awaitable_key_works_on_the_async_client_only(
    make_client: Any, fake: FakeScheduler, client_kind: str
) -> None:
    vault = VaultKey()
    client = make_client(api_key="sk-test", plugins=[vault])
    if client_kind == "async":
        client.list_jobs()
        assert vault.fetched == 1
        assert fake.requests("ListJobs")[0].api_key == "sk-other"
    else:
        with pytest.raises(ConfigurationError, match=r"awaitable.*AsyncDeSAMClient") as info:
            client.list_jobs()
        assert info.value.argument == "plugins"
        assert fake.request_count() == 0  # refused before anything was sent
        assert vault.fetched == 0  # the coroutine was closed, never run (and no "never awaited" warning)


# -- desam_call_metadata -------------------------------------------------------------------------


class Tenant:
    @hookimpl
    def desam_call_metadata(self, call: CallInfo) -> list[tuple[str, str]]:
        return [("x-tenant", "blue"), ("x-rpc", call.rpc)]


class Team:
    @hookimpl
    def desam_call_metadata(self) -> dict[str, str]:
        return {"x-team": "ml"}


def test_metadata_pairs_reach_the_server_on_every_attempt(
    make_client: Any, fake: FakeScheduler, tap: Any
) -> None:
    client = make_client(port=tap.port, plugins=[Tenant(), Team()], retry=FAST)
    job_id = client.submit_job(name="x", command="true")
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    assert client.get_info(job_id).job_id == job_id
    seen = tap.metadata("QueryJob")
    assert len(seen) == 2  # the failed attempt and the retry
    for metadata in seen:
        assert metadata["x-tenant"] == "blue"
        assert metadata["x-rpc"] == "QueryJob"
        assert metadata["x-team"] == "ml"
    assert tap.metadata("SubmitJob")[0]["x-rpc"] == "SubmitJob"


# -- desam_retry_delay ---------------------------------------------------------------------------


class Decides:
    """Answers desam_retry_delay with a fixed answer; records the delays the observers saw."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[tuple[int, str]] = []
        self.delays: list[float] = []

    @hookimpl
    def desam_retry_delay(self, call: CallInfo, error: DeSAMError) -> Any:
        self.asked.append((call.attempt, type(error).__name__))
        return self.answer

    @hookimpl
    def desam_call_retry(self, delay: float) -> None:
        self.delays.append(delay)


def test_retry_delay_false_forbids_a_retry_the_policy_would_make(
    make_client: Any, fake: FakeScheduler
) -> None:
    never = Decides(False)
    client = make_client(plugins=[never], retry=FAST)
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    with pytest.raises(DeSAMConnectionError):
        client.get_info("job-1")
    assert fake.request_count("QueryJob") == 1
    assert never.asked == [(1, "DeSAMConnectionError")]
    assert never.delays == []


def test_retry_delay_forces_a_retry_after_the_given_delay(make_client: Any, fake: FakeScheduler) -> None:
    forced = Decides(0.2)
    client = make_client(plugins=[forced], retry=FAST)
    job_id = client.submit_job(name="x", command="true")
    # INTERNAL is permanent: the built-in policy would give up at once.
    fake.faults.add("QueryJob", status=grpc.StatusCode.INTERNAL, times=1)
    started = time.monotonic()
    assert client.get_info(job_id).job_id == job_id
    assert time.monotonic() - started >= 0.2
    assert fake.request_count("QueryJob") == 2
    assert forced.delays == [0.2]


def test_retry_delay_true_retries_at_once(make_client: Any, fake: FakeScheduler) -> None:
    forced = Decides(True)
    client = make_client(plugins=[forced], retry=None)  # no retries by policy; the plugin overrides
    fake.faults.add("ListJobs", error_code="INVALID_ARGUMENT", times=1)
    client.list_jobs()
    assert fake.request_count("ListJobs") == 2
    assert forced.delays == [0.0]


def test_a_plugin_that_always_retries_still_stops_when_the_budget_is_spent(
    make_client: Any, fake: FakeScheduler
) -> None:
    always = Decides(0.02)
    client = make_client(plugins=[always], retry=RetryPolicy(total_timeout=0.5))
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE)
    started = time.monotonic()
    with pytest.raises(DeSAMConnectionError):
        client.get_info("job-1")
    assert time.monotonic() - started < 3
    assert fake.request_count("QueryJob") >= 2


def test_a_forced_retry_of_a_submission_never_duplicates_the_job(
    make_client: Any, fake: FakeScheduler
) -> None:
    fake.dedup_submissions = False
    fake.faults.add("SubmitJob", lose_reply=True, times=1)
    client = make_client(plugins=[Decides(0.0)])
    job_id = client.submit_job(name="once", command="true")
    assert [j.job_id for j in fake.jobs if j.name == "once"] == [job_id]
    assert fake.request_count("SubmitJob") == 1  # the probe found the job; it was not sent again


@pytest.mark.parametrize("answer", [-1, float("nan"), "soon"])
def test_a_nonsense_retry_answer_is_a_configuration_error(
    make_client: Any, fake: FakeScheduler, answer: Any
) -> None:
    client = make_client(plugins=[Decides(answer)])
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    with pytest.raises(ConfigurationError, match="desam_retry_delay"):
        client.get_info("job-1")


# -- observers -----------------------------------------------------------------------------------


class Recorder:
    """Records what each observer hook saw, as plain values (CallInfo is updated in place)."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.calls: list[CallInfo] = []

    @hookimpl
    def desam_call_start(self, call: CallInfo) -> None:
        self.calls.append(call)
        self.seen.append(("start", call.rpc, call.attempt, call.job_id, None))

    @hookimpl
    def desam_call_retry(self, call: CallInfo, error: DeSAMError, delay: float) -> None:
        assert call is self.calls[-1]
        assert delay >= 0
        self.seen.append(("retry", call.rpc, call.attempt, call.job_id, type(error).__name__))

    @hookimpl
    def desam_call_end(self, call: CallInfo, error: DeSAMError | None) -> None:
        assert call is self.calls[-1]
        self.seen.append(("end", call.rpc, call.attempt, call.job_id, error and type(error).__name__))


def test_observers_see_start_retry_and_end_with_the_call(make_client: Any, fake: FakeScheduler) -> None:
    recorder = Recorder()
    client = make_client(plugins=[recorder], retry=FAST)
    job_id = client.submit_job(name="x", command="true")
    recorder.seen.clear()
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    client.get_info(job_id)
    assert recorder.seen == [
        ("start", "QueryJob", 1, job_id, None),
        ("retry", "QueryJob", 1, job_id, "DeSAMConnectionError"),
        ("end", "QueryJob", 2, job_id, None),
    ]
    call = recorder.calls[-1]
    assert call.method == "/desam.client.ClientService/QueryJob"
    assert (call.server_address, call.server_port) == (fake.host, fake.port)
    assert call.elapsed > 0


def test_observers_see_the_error_a_call_ends_with(make_client: Any) -> None:
    recorder = Recorder()
    client = make_client(plugins=[recorder])
    with pytest.raises(JobNotFoundError):
        client.get_info("job-missing")
    assert recorder.seen == [
        ("start", "QueryJob", 1, "job-missing", None),
        ("end", "QueryJob", 1, "job-missing", "JobNotFoundError"),
    ]


def test_end_observers_hear_of_unexpected_exceptions_too(make_client: Any, fake: FakeScheduler) -> None:
    class Broken:
        @hookimpl
        def desam_call_metadata(self) -> None:
            raise RuntimeError("plugin bug")

    errors: list[DeSAMError | None] = []

    class LastWord:
        @hookimpl
        def desam_call_end(self, error: DeSAMError | None) -> None:
            errors.append(error)

    client = make_client(plugins=[Broken(), LastWord()])
    with pytest.raises(RuntimeError, match="plugin bug"):  # a data hook's failure ends the call
        client.list_jobs()
    assert fake.request_count() == 0
    (error,) = errors
    assert isinstance(error, DeSAMError)
    assert isinstance(error.__cause__, RuntimeError)


class Explodes:
    @hookimpl
    def desam_call_start(self) -> None:
        raise RuntimeError("start went wrong")

    @hookimpl
    def desam_call_retry(self) -> None:
        raise ValueError("retry went wrong")

    @hookimpl
    def desam_call_end(self) -> None:
        raise KeyError("end went wrong")


def test_a_failing_observer_never_breaks_the_call_and_the_others_still_run(
    make_client: Any, fake: FakeScheduler, events: Any
) -> None:
    before, after = Recorder(), Recorder()
    client = make_client(plugins=[before, Explodes(), after], retry=FAST)
    job_id = client.submit_job(name="x", command="true")
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    assert client.get_info(job_id).job_id == job_id
    assert before.seen == after.seen
    assert [s[0] for s in after.seen] == ["start", "end", "start", "retry", "end"]
    reported = {(e["hook"], e["error"]) for e in events("desam.plugin_error")}
    assert ("desam_call_start", "RuntimeError: start went wrong") in reported
    assert ("desam_call_retry", "ValueError: retry went wrong") in reported
    assert ("desam_call_end", "KeyError: 'end went wrong'") in reported


# -- registration --------------------------------------------------------------------------------


class Misspelt:
    @hookimpl
    def desam_call_ned(self, call: CallInfo) -> None:
        pass


class WrongArgument:
    @hookimpl
    def desam_call_end(self, call: CallInfo, outcome: str) -> None:
        pass


@pytest.mark.parametrize(
    "plugins", [[Misspelt()], [WrongArgument()], "twice"], ids=["misspelt", "argument", "twice"]
)
def test_a_plugin_that_does_not_fit_is_a_configuration_error(make_client: Any, plugins: Any) -> None:
    if plugins == "twice":
        recorder = Recorder()
        plugins = [recorder, recorder]
    with pytest.raises(ConfigurationError) as info:
        make_client(plugins=plugins)
    assert info.value.argument == "plugins"


def test_a_plugin_of_a_builtin_class_replaces_the_builtin(make_client: Any, events: Any) -> None:
    client = make_client(plugins=[StructlogEvents(always=True), OpenTelemetryTracing()])
    registered = [type(p).__name__ for p in client.plugin_manager.get_plugins()]
    assert registered.count("StructlogEvents") == 1
    assert registered.count("OpenTelemetryTracing") == 1
    assert client.plugin_manager.get_plugin("desam.builtin.StructlogEvents") is None
    client.list_jobs()
    assert len(events("desam.call")) == 1  # not twice
