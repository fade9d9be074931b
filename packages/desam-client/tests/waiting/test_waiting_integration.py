"""The waiting helpers of both clients against a FakeScheduler driven by its manual executor.

Every test runs with ``DeSAMClient`` and with ``AsyncDeSAMClient`` (the async one
inside ``asyncio.run``, in the thread that makes the call).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from desam_client import AsyncDeSAMClient, DeSAMClient, JobNotFoundError, JobStatus, WaitTimeoutError
from desam_proto import client_pb2 as pb
from desam_testing import FakeScheduler

POLL = 0.05
#: What a test allows beyond one poll interval for the RPCs and the thread hand-over.
SLACK = 0.6


@pytest.fixture
def fake() -> Iterator[FakeScheduler]:
    with FakeScheduler() as scheduler:
        yield scheduler


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Harness:
    """Calls a client method of either kind and returns plain values (iterators as lists)."""

    def __init__(self, fake: FakeScheduler, kind: str) -> None:
        self.fake = fake
        self.kind = kind

    def _options(self) -> dict[str, Any]:
        return {
            "host": self.fake.host,
            "port": self.fake.port,
            "api_key": "sk-test",
            "load_entrypoint_plugins": False,
        }

    def call(
        self, method: str, *args: Any, on_item: Callable[[Any], None] | None = None, **kwargs: Any
    ) -> Any:
        if self.kind == "sync":
            with DeSAMClient(**self._options()) as client:
                result = getattr(client, method)(*args, **kwargs)
                if isinstance(result, Iterator):
                    return _drain(result, on_item)
                return result
        return asyncio.run(self._acall(method, args, kwargs, on_item))

    async def _acall(self, method: str, args: Any, kwargs: Any, on_item: Callable[[Any], None] | None) -> Any:
        async with AsyncDeSAMClient(**self._options()) as client:
            result = getattr(client, method)(*args, **kwargs)
            if hasattr(result, "__aiter__"):
                items = []
                async for item in result:
                    items.append(item)
                    if on_item is not None:
                        on_item(item)
                return items
            return await result

    def submit(self, name: str = "job") -> str:
        with DeSAMClient(**self._options()) as client:
            return client.submit_job(name=name, command="true")

    def in_thread(self, method: str, *args: Any, **kwargs: Any) -> Background:
        return Background(lambda: self.call(method, *args, **kwargs))


def _drain(iterator: Iterator[Any], on_item: Callable[[Any], None] | None) -> list[Any]:
    items = []
    for item in iterator:
        items.append(item)
        if on_item is not None:
            on_item(item)
    return items


class Background:
    """Runs a call in a thread; ``result()`` joins it and re-raises its error."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self.finished_at: float | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self._thread.start()

    def _run(self, target: Callable[[], Any]) -> None:
        try:
            self._value = target()
        except BaseException as error:  # handed to the test thread
            self._error = error
        finally:
            self.finished_at = time.monotonic()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float = 20.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not return"
        if self._error is not None:
            raise self._error
        return self._value


@pytest.fixture
def harness(fake: FakeScheduler, kind: str) -> Harness:
    return Harness(fake, kind)


def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


# -- wait ------------------------------------------------------------------------------------------


def test_wait_returns_the_finished_job(harness: Harness, fake: FakeScheduler) -> None:
    job_id = harness.submit()
    fake.manual.start(job_id)
    waiting = harness.in_thread("wait", job_id, poll_interval=POLL)
    _until(lambda: fake.request_count("BatchQueryJobs") >= 2)
    assert not waiting.done()
    fake.manual.succeed(job_id)
    job = waiting.result()
    assert job.job_id == job_id
    assert job.status == JobStatus.SUCCEEDED
    assert fake.request_count("QueryJob") == 0


@pytest.mark.parametrize("end", ["cancel", "time_out", "data_dependency_error", "fail"])
def test_wait_returns_within_one_poll_interval_for_every_terminal_status(
    harness: Harness, fake: FakeScheduler, end: str
) -> None:
    """C-11: CANCELLED, TIMEOUT, DATA_DEPENDENCY_ERROR (and FAILED), no log lines."""
    job_id = harness.submit()
    if end != "cancel":
        fake.manual.start(job_id)
    waiting = harness.in_thread("wait", job_id, poll_interval=POLL)
    _until(lambda: fake.request_count("BatchQueryJobs") >= 2)
    if end == "cancel":
        assert harness.call("cancel", job_id) is True
    else:
        getattr(fake.manual, end)(job_id)
    ended = time.monotonic()
    job = waiting.result()
    assert waiting.finished_at is not None
    assert waiting.finished_at - ended < POLL + SLACK
    expected = {
        "cancel": "CANCELLED",
        "time_out": "TIMEOUT",
        "fail": "FAILED",
        "data_dependency_error": "DATA_DEPENDENCY_ERROR",
    }[end]
    assert job.status == expected
    assert job.status.is_terminal
    assert fake.logs(job_id) == []


def test_status_42_is_not_finished(harness: Harness, fake: FakeScheduler) -> None:
    """C-10: no exception, UNKNOWN with the raw number kept, and waiting goes on."""
    job_id = fake.inject_job(status=42)
    info = harness.call("get_info", job_id)
    assert info.status == JobStatus.UNKNOWN
    assert info.status_code == 42
    with pytest.raises(WaitTimeoutError) as caught:
        harness.call("wait", job_id, timeout=0.3, poll_interval=POLL)
    assert caught.value.pending == (job_id,)
    with pytest.raises(WaitTimeoutError):
        harness.call("as_completed", [job_id], timeout=0.2, poll_interval=POLL)
    waiting = harness.in_thread("wait", job_id, poll_interval=POLL)
    _until(lambda: fake.request_count("BatchQueryJobs") >= 10)
    assert not waiting.done()
    fake.manual.set_status(job_id, pb.SUCCEEDED)
    assert waiting.result().status == JobStatus.SUCCEEDED


def test_wait_for_an_unknown_job_raises_not_found(harness: Harness) -> None:
    with pytest.raises(JobNotFoundError) as caught:
        harness.call("wait", "job-does-not-exist", timeout=5)
    assert caught.value.job_id == "job-does-not-exist"


def test_wait_timeout_names_the_pending_job(harness: Harness, fake: FakeScheduler) -> None:
    job_id = harness.submit()
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        harness.call("wait", job_id, timeout=0.4)
    assert 0.4 <= time.monotonic() - started < 0.4 + SLACK + 1
    assert caught.value.pending == (job_id,)
    assert isinstance(caught.value, TimeoutError)


# -- as_completed / wait_all -----------------------------------------------------------------------


def test_as_completed_one_batch_call_per_round(harness: Harness, fake: FakeScheduler) -> None:
    ids = [harness.submit(f"j{i}") for i in range(3)]
    for job_id in ids:
        fake.manual.start(job_id)
    seen: list[str] = []
    watching = harness.in_thread("as_completed", ids, poll_interval=POLL)
    for job_id in (ids[1], ids[2], ids[0]):
        before = fake.request_count("BatchQueryJobs")
        _until(lambda before=before: fake.request_count("BatchQueryJobs") >= before + 2)
        fake.manual.succeed(job_id)
        seen.append(job_id)
    jobs = watching.result()
    assert [job.job_id for job in jobs] == seen
    asked = [list(request.job_ids) for request in fake.requests("BatchQueryJobs")]
    assert asked[0] == ids
    for earlier, later in itertools.pairwise(asked):
        assert set(later) <= set(earlier), "finished jobs are never asked for again"
    assert asked[-1] == [ids[0]]
    assert fake.request_count("QueryJob") == 0


def test_a_round_over_many_jobs_uses_one_call_per_500(harness: Harness, fake: FakeScheduler) -> None:
    ids = [fake.inject_job(status=pb.RUNNING) for _ in range(1001)]
    with pytest.raises(WaitTimeoutError) as caught:
        harness.call("wait_all", ids, timeout=0)
    assert len(caught.value.pending) == 1001
    assert fake.request_count("BatchQueryJobs") == math.ceil(1001 / 500)


def test_wait_all_returns_jobs_in_request_order(harness: Harness, fake: FakeScheduler) -> None:
    ids = [harness.submit(f"j{i}") for i in range(4)]
    fake.manual.start(ids[0])
    fake.manual.succeed(ids[0])
    waiting = harness.in_thread("wait_all", [*ids, ids[0]], poll_interval=POLL)
    fake.manual.start(ids[3])
    fake.manual.fail(ids[3])
    harness.call("batch_cancel", [ids[1], ids[2]])
    jobs = waiting.result()
    assert [job.job_id for job in jobs] == ids
    assert [str(job.status) for job in jobs] == ["SUCCEEDED", "CANCELLED", "CANCELLED", "FAILED"]


def test_as_completed_raises_for_an_id_the_scheduler_does_not_return(harness: Harness) -> None:
    job_id = harness.submit()
    with pytest.raises(JobNotFoundError) as caught:
        harness.call("as_completed", [job_id, "job-ghost"], timeout=5)
    assert caught.value.job_id == "job-ghost"


# -- follow_logs -----------------------------------------------------------------------------------


def test_follow_logs_streams_lines_and_ends_with_the_job(harness: Harness, fake: FakeScheduler) -> None:
    job_id = harness.submit()
    fake.manual.start(job_id)
    fake.manual.log(job_id, "first", "second")
    got: list[str] = []
    following = Background(
        lambda: harness.call("follow_logs", job_id, poll_interval=POLL, on_item=got.append)
    )
    _until(lambda: got == ["first", "second"])
    fake.manual.log(job_id, "third", "", "fifth")
    _until(lambda: len(got) == 5)
    assert not following.done()
    fake.manual.log(job_id, "last words")
    fake.manual.succeed(job_id)
    ended = time.monotonic()
    assert following.result() == ["first", "second", "third", "", "fifth", "last words"]
    assert following.finished_at is not None
    assert following.finished_at - ended < 2 * POLL + SLACK


def test_follow_logs_in_small_batches_from_a_line(harness: Harness, fake: FakeScheduler) -> None:
    lines = [f"line {i}" for i in range(57)]
    job_id = fake.inject_job(status=pb.SUCCEEDED, logs=lines)
    assert harness.call("follow_logs", job_id, from_line=5, batch_lines=10) == lines[5:]
    assert all(request.max_lines == 10 for request in fake.requests("GetJobLogs"))


@pytest.mark.parametrize("status", [pb.CANCELLED, pb.TIMEOUT, pb.DATA_DEPENDENCY_ERROR])
def test_follow_logs_of_a_finished_job_without_output_returns_at_once(
    harness: Harness, fake: FakeScheduler, status: int
) -> None:
    """C-11: at once, empty."""
    job_id = fake.inject_job(status=status)
    started = time.monotonic()
    assert harness.call("follow_logs", job_id) == []
    assert time.monotonic() - started < SLACK
    assert fake.request_count("GetJobLogs") == 1


def test_follow_logs_of_an_unknown_job_raises(harness: Harness) -> None:
    with pytest.raises(JobNotFoundError):
        harness.call("follow_logs", "job-ghost")


# -- iter_jobs -------------------------------------------------------------------------------------


def test_iter_jobs_under_offset_drift(harness: Harness, fake: FakeScheduler) -> None:
    """C-12: 25 jobs, page size 10, two new jobs after page 1: each original once, and it ends."""
    originals = [harness.submit(f"orig-{i}") for i in range(25)]
    added: list[str] = []

    def after_item(job: Any) -> None:
        if len(added) == 0 and fake.request_count("ListJobs") == 1 and job.job_id == originals[15]:
            added.extend(fake.inject_job(name=f"new-{i}") for i in range(2))

    jobs = harness.call("iter_jobs", page_size=10, on_item=after_item)
    assert len(added) == 2, "the new jobs were submitted after page 1"
    ids = [job.job_id for job in jobs]
    assert len(ids) == len(set(ids))
    assert sorted(i for i in ids if i in originals) == sorted(originals)
    assert fake.request_count("ListJobs") <= 4


def test_iter_jobs_filters_by_status_user_and_labels(harness: Harness, fake: FakeScheduler) -> None:
    a = fake.inject_job(status=pb.RUNNING, labels={"team": "x", "run": "1"})
    b = fake.inject_job(status=pb.RUNNING, labels={"team": "y"})
    c = fake.inject_job(status=pb.SUCCEEDED, labels={"team": "x"})
    assert [job.job_id for job in harness.call("iter_jobs", page_size=1)] == [c, b, a]
    assert [job.job_id for job in harness.call("iter_jobs", status="RUNNING")] == [b, a]
    assert [job.job_id for job in harness.call("iter_jobs", labels={"team": "x"})] == [c, a]
    assert [job.job_id for job in harness.call("iter_jobs", user_id="nobody")] == []
