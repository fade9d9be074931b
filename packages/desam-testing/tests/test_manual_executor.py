"""The manual executor and the fake clock: tests decide how jobs move and when time passes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import Capacity, FakeClock, FakeScheduler, LocalExecutor, ManualExecutor, SystemClock

ALICE = "sk-alice"
Submit = Callable[..., str]


def test_fake_clock() -> None:
    clock = FakeClock()
    assert clock.now() == 1_700_000_000.0
    seen: list[float] = []
    remove = clock.add_listener(seen.append)
    clock.advance(1.5)
    remove()
    clock.advance(1)
    assert seen == [1_700_000_001.5]
    assert clock.now() == 1_700_000_002.5
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)


def test_a_job_goes_through_its_states_stamped_by_the_clock(fake: FakeScheduler, submit: Submit) -> None:
    job_id = submit()
    manual, clock = fake.manual, fake.fake_clock
    clock.advance(10)
    directory = manual.prepare(job_id)
    assert directory is not None
    assert directory.is_dir()
    assert fake.get_job(job_id).status == pb.PREPARING
    clock.advance(5)
    manual.start(job_id)
    running = fake.get_job(job_id)
    assert (running.status, running.start_time, running.executor_id) == (
        pb.RUNNING,
        1_700_000_015,
        "manual-executor",
    )
    manual.log(job_id, "hello")
    clock.advance(100)
    manual.succeed(job_id)
    done = fake.get_job(job_id)
    assert (done.status, done.submit_time, done.start_time, done.finish_time) == (
        pb.SUCCEEDED,
        1_700_000_000,
        1_700_000_015,
        1_700_000_115,
    )
    assert fake.logs(job_id) == ["hello"]


@pytest.mark.parametrize(
    ("end", "status", "message"),
    [
        (lambda m, j: m.fail(j, "exit code 2"), pb.FAILED, "exit code 2"),
        (lambda m, j: m.fail(j), pb.FAILED, "exit code 1"),
        (lambda m, j: m.time_out(j), pb.TIMEOUT, "timeout"),
        (
            lambda m, j: m.data_dependency_error(j, "no such bucket"),
            pb.DATA_DEPENDENCY_ERROR,
            "no such bucket",
        ),
    ],
)
def test_ends(
    fake: FakeScheduler,
    submit: Submit,
    end: Callable[[ManualExecutor, str], None],
    status: int,
    message: str,
) -> None:
    job_id = submit()
    fake.manual.start(job_id)
    end(fake.manual, job_id)
    job = fake.get_job(job_id)
    assert job.status == status
    assert message in job.error_message
    assert job.finish_time == 1_700_000_000


def test_a_queued_job_can_end_without_starting(fake: FakeScheduler, submit: Submit) -> None:
    job_id = submit()
    fake.manual.data_dependency_error(job_id, "blob gone")
    job = fake.get_job(job_id)
    assert (job.status, job.start_time, job.finish_time) == (pb.DATA_DEPENDENCY_ERROR, 0, 1_700_000_000)


def test_moves_the_state_does_not_allow_are_refused(fake: FakeScheduler, submit: Submit) -> None:
    job_id = submit()
    fake.manual.start(job_id)
    with pytest.raises(ValueError, match="RUNNING"):
        fake.manual.start(job_id)
    with pytest.raises(ValueError, match="RUNNING"):
        fake.manual.prepare(job_id)
    fake.manual.succeed(job_id)
    with pytest.raises(ValueError, match="SUCCEEDED"):
        fake.manual.fail(job_id)
    with pytest.raises(KeyError):
        fake.manual.start("job-nope")


def test_set_status_forces_any_number(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, submit: Submit
) -> None:
    job_id = submit()
    fake.manual.set_status(job_id, 42)
    assert stub.QueryJob(pb.QueryJobRequest(api_key=ALICE, job_id=job_id)).job.status == 42
    fake.manual.set_status(job_id, pb.SUCCEEDED)
    fake.manual.set_status(job_id, pb.RUNNING)  # forced, even out of a terminal state
    assert fake.get_job(job_id).status == pb.RUNNING


def test_advancing_the_clock_times_out_running_jobs(fake: FakeScheduler, submit: Submit) -> None:
    short, long, endless, queued = submit(timeout=60), submit(timeout=600), submit(), submit(timeout=1)
    for job_id in (short, long, endless):
        fake.manual.start(job_id)
    fake.fake_clock.advance(59)
    assert fake.get_job(short).status == pb.RUNNING
    fake.fake_clock.advance(1)
    assert fake.get_job(short).status == pb.TIMEOUT
    assert fake.get_job(short).finish_time == 1_700_000_060
    assert fake.get_job(long).status == pb.RUNNING
    fake.fake_clock.advance(10_000)
    assert fake.get_job(long).status == pb.TIMEOUT
    assert fake.get_job(endless).status == pb.RUNNING
    assert fake.get_job(queued).status == pb.QUEUED


def test_auto_start_admits_first_in_first_out_within_capacity(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub],
) -> None:
    executor = ManualExecutor(auto_start=True)
    with FakeScheduler(executor=executor, capacity=Capacity(cpu=2, memory_mb=1000, gpu=0)) as fake:
        stub = connect(fake)

        def submit(cpu: int, memory_mb: int = 0) -> str:
            resources = pb.ResourceRequirement(cpu_cores=cpu, memory_mb=memory_mb)
            reply = stub.SubmitJob(
                pb.SubmitJobRequest(api_key="sk-test", name="n", command="c", resources=resources)
            )
            return reply.job_id

        a, b, c = submit(1), submit(2), submit(1)
        assert [fake.get_job(j).status for j in (a, b, c)] == [pb.RUNNING, pb.QUEUED, pb.QUEUED]
        fake.manual.succeed(a)
        assert [fake.get_job(j).status for j in (b, c)] == [pb.RUNNING, pb.QUEUED]
        stub.CancelJob(pb.CancelJobRequest(api_key="sk-test", job_id=b))
        assert fake.get_job(c).status == pb.RUNNING
        d = submit(1, memory_mb=1000)
        assert fake.get_job(d).status == pb.RUNNING
        e = submit(0)  # zero cores counts as one
        assert fake.get_job(e).status == pb.QUEUED


def test_the_default_clocks(connect: Callable[[FakeScheduler], pbg.ClientServiceStub]) -> None:
    with FakeScheduler() as fake:
        assert isinstance(fake.clock, FakeClock)
    with FakeScheduler(executor=LocalExecutor()) as fake:
        assert isinstance(fake.clock, SystemClock)
        with pytest.raises(TypeError, match="LocalExecutor"):
            _ = fake.manual
        with pytest.raises(TypeError, match="SystemClock"):
            _ = fake.fake_clock


def test_an_executor_serves_one_scheduler() -> None:
    executor = ManualExecutor()
    with pytest.raises(RuntimeError, match="not attached"):
        executor.start("job-x")
    with FakeScheduler(executor=executor), pytest.raises(RuntimeError, match="already attached"):
        FakeScheduler(executor=executor)


def test_inject_job_defaults_and_fields(fake: FakeScheduler) -> None:
    job_id = fake.inject_job(owner="bob", name="n", command="c", resources={"cpu_cores": 2}, start_time=0)
    job = fake.get_job(job_id)
    assert (job.user_id, job.status, job.submit_time, job.resources.cpu_cores) == (
        "bob",
        pb.QUEUED,
        1_700_000_000,
        2,
    )
    assert fake.owner_of(job_id) == "bob"
    given = fake.inject_job(job_id="job-custom", user_id="someone", status=pb.SUCCEEDED)
    assert fake.get_job(given).user_id == "someone"
    assert fake.owner_of(given) == "alice"  # the first key's user
    with pytest.raises(ValueError, match="already used"):
        fake.inject_job(job_id="job-custom")


def test_wait_for_status_times_out_clearly(fake: FakeScheduler, submit: Submit) -> None:
    job_id = submit()
    with pytest.raises(TimeoutError, match="QUEUED"):
        fake.wait_for_status(job_id, pb.RUNNING, timeout=0.01)
