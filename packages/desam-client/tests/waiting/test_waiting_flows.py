"""Unit tests of the waiting flows, driven by hand against an in-memory world (no network)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from desam_client import InvalidArgumentError, JobNotFoundError, JobStatus, WaitTimeoutError
from desam_client._core import waiting
from desam_client._core.flow import Emit
from desam_client._core.waiting import Deadline, Pace, split_log_chunk
from desam_proto import client_pb2 as pb

# -- pace and deadline -----------------------------------------------------------------------------


def test_pace_grows_by_half_up_to_the_cap_and_resets_on_change() -> None:
    pace = Pace()
    pauses = [pace.next_pause(changed=False) for _ in range(12)]
    assert pauses[0] == pytest.approx(0.2)
    assert pauses[1] == pytest.approx(0.3)
    assert pauses[2] == pytest.approx(0.45)
    assert max(pauses) == waiting.MAX_POLL_INTERVAL
    assert pauses[-1] == waiting.MAX_POLL_INTERVAL
    assert pace.next_pause(changed=True) == pytest.approx(0.2)
    assert pace.next_pause(changed=False) == pytest.approx(0.3)


def test_a_fixed_pace_never_changes() -> None:
    pace = Pace(0.05)
    assert {pace.next_pause(changed=c) for c in (True, False, False, True)} == {0.05}


def test_deadline_cuts_the_pause_and_expires(world: Any) -> None:
    deadline = Deadline(1.0)
    assert deadline.pause(5.0) == pytest.approx(1.0)
    world.now += 0.75
    assert deadline.pause(0.1) == pytest.approx(0.1)
    world.now += 0.25
    assert deadline.pause(0.1) is None
    assert Deadline(None).pause(3.0) == 3.0


# -- as_completed / wait / wait_all ----------------------------------------------------------------


def test_as_completed_yields_each_finished_job_once_and_drops_it(world: Any) -> None:
    for name in ("a", "b", "c"):
        world.add(name, pb.RUNNING)
    script = iter([("b", pb.SUCCEEDED), ("a", pb.FAILED), ("c", pb.CANCELLED)])

    def next_end(w: Any) -> None:
        job_id, status = next(script, (None, None))
        if job_id:
            w.set(job_id, status)

    world.on_sleep.append(next_end)
    emitted, _ = world.drive(waiting.as_completed(["a", "b", "c", "a"], poll_interval=0.01))
    assert [job.job_id for job in emitted] == ["b", "a", "c"]
    asked = [list(req.job_ids) for name, req in world.requests if name == "BatchQueryJobs"]
    assert asked == [["a", "b", "c"], ["a", "b", "c"], ["a", "c"], ["c"]]
    assert world.sleeps == [0.01, 0.01, 0.01]


def test_as_completed_uses_one_call_per_500_ids_each_round(world: Any) -> None:
    ids = [f"job-{i:04d}" for i in range(1234)]
    for job_id in ids:
        world.add(job_id, pb.RUNNING)

    def finish_all(w: Any) -> None:
        for job_id in ids:
            w.set(job_id, pb.SUCCEEDED)

    world.on_sleep.append(finish_all)
    emitted, _ = world.drive(waiting.as_completed(ids, poll_interval=0.01))
    assert len(emitted) == 1234
    rounds = 2
    assert world.calls["BatchQueryJobs"] == rounds * math.ceil(1234 / 500)
    assert world.calls["QueryJob"] == 0


def test_an_unknown_status_number_is_not_finished(world: Any) -> None:
    """C-10: status 42 reads as UNKNOWN and waiting goes on."""
    world.add("j", 42)
    world.on_sleep.append(lambda w: w.set("j", pb.SUCCEEDED) if len(w.sleeps) == 3 else None)
    _, job = world.drive(waiting.wait("j", poll_interval=0.01))
    assert job.status == JobStatus.SUCCEEDED
    assert world.calls["BatchQueryJobs"] == 4


def test_an_unknown_status_times_out_instead_of_returning(world: Any) -> None:
    world.add("j", 42)
    with pytest.raises(WaitTimeoutError) as caught:
        world.drive(waiting.wait("j", timeout=1.0, poll_interval=0.3))
    assert caught.value.pending == ("j",)
    assert caught.value.job_id == "j"
    assert isinstance(caught.value, TimeoutError)
    assert sum(world.sleeps) == pytest.approx(1.0)  # the last pause is cut to the deadline


@pytest.mark.parametrize(
    "status", [pb.SUCCEEDED, pb.FAILED, pb.CANCELLED, pb.TIMEOUT, pb.DATA_DEPENDENCY_ERROR]
)
def test_wait_returns_on_the_first_round_that_sees_any_terminal_status(world: Any, status: int) -> None:
    """C-11: every terminal status ends the wait within one poll interval."""
    world.add("j", pb.RUNNING)
    world.on_sleep.append(lambda w: w.set("j", status))
    _, job = world.drive(waiting.wait("j", poll_interval=0.5))
    assert job.status_code == status
    assert world.sleeps == [0.5]


def test_wait_timeout_zero_checks_once(world: Any) -> None:
    world.add("done", pb.SUCCEEDED)
    world.add("busy", pb.RUNNING)
    _, job = world.drive(waiting.wait("done", timeout=0))
    assert job.job_id == "done"
    with pytest.raises(WaitTimeoutError):
        world.drive(waiting.wait("busy", timeout=0))


def test_wait_all_keeps_request_order_and_reports_pending_on_timeout(world: Any) -> None:
    for name in ("x", "y", "z"):
        world.add(name, pb.RUNNING)
    world.set("z", pb.SUCCEEDED)
    world.on_sleep.append(lambda w: w.set("x", pb.FAILED))
    with pytest.raises(WaitTimeoutError) as caught:
        world.drive(waiting.wait_all(["x", "y", "z"], timeout=2, poll_interval=0.5))
    assert caught.value.pending == ("y",)
    world.set("y", pb.TIMEOUT)
    _, jobs = world.drive(waiting.wait_all(["z", "y", "x", "z"], poll_interval=0.5))
    assert [job.job_id for job in jobs] == ["z", "y", "x"]


def test_a_job_the_scheduler_does_not_return_raises_not_found(world: Any) -> None:
    world.add("known", pb.RUNNING)
    with pytest.raises(JobNotFoundError) as caught:
        world.drive(waiting.as_completed(["known", "ghost"]))
    assert caught.value.job_id == "ghost"
    assert world.calls["BatchQueryJobs"] == 1


def test_adaptive_polling_grows_while_nothing_changes_and_resets_on_change(world: Any) -> None:
    world.add("j", pb.QUEUED)

    def script(w: Any) -> None:
        if len(w.sleeps) == 4:
            w.set("j", pb.RUNNING)
        if len(w.sleeps) == 6:
            w.set("j", pb.SUCCEEDED)

    world.on_sleep.append(script)
    world.drive(waiting.wait("j"))
    assert world.sleeps == pytest.approx([0.2, 0.3, 0.45, 0.675, 0.2, 0.3])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
    ],
)
def test_bad_wait_arguments_fail_before_any_call(world: Any, kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        waiting.as_completed(["a"], **kwargs)
    assert caught.value.argument == argument
    with pytest.raises(InvalidArgumentError):
        waiting.as_completed("a-string-is-not-a-list")
    assert not world.calls


def test_as_completed_of_nothing_ends_without_a_call(world: Any) -> None:
    emitted, _ = world.drive(waiting.as_completed([]))
    assert emitted == []
    assert not world.calls


# -- follow_logs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "total", "ended", "expected"),
    [
        ("", 0, 0, False, ([], 0)),
        ("", 0, 0, True, ([], 0)),
        ("a\nb\n", 0, 2, False, (["a", "b"], 2)),
        ("a\r\nb\r\n", 0, 2, False, (["a", "b"], 2)),
        ("\n\n", 3, 5, False, (["", ""], 2)),
        # no final line end: the last line may still grow, unless more lines follow or the job ended
        ("a\nb", 0, 2, False, (["a"], 1)),
        ("a\nb", 0, 2, True, (["a", "b"], 2)),
        ("a\nb", 0, 7, False, (["a", "b"], 2)),
        ("b", 1, 2, False, ([], 0)),
        # a scheduler that joins lines: an empty last line arrives as an empty reply
        ("", 1, 2, True, ([""], 1)),
        ("", 1, 2, False, ([], 0)),
        ("", 1, 3, False, ([""], 1)),
    ],
)
def test_split_log_chunk(text: str, first: int, total: int, ended: bool, expected: Any) -> None:
    assert split_log_chunk(text, first, total, ended) == expected


def test_follow_logs_yields_lines_as_they_come_then_drains_and_stops(world: Any) -> None:
    world.add("j", pb.RUNNING)
    world.logs["j"] += ["one", "two"]

    def script(w: Any) -> None:
        n = len(w.sleeps)
        if n == 1:
            w.logs["j"].append("three")
        elif n == 3:
            w.logs["j"] += ["four", "", "six"]
            w.set("j", pb.SUCCEEDED)

    world.on_sleep.append(script)
    emitted, _ = world.drive(waiting.follow_logs("j", poll_interval=0.1))
    assert emitted == ["one", "two", "three", "four", "", "six"]


def test_follow_logs_reads_in_bounded_batches(world: Any) -> None:
    world.add("j", pb.SUCCEEDED)
    world.logs["j"] += [f"line {i}" for i in range(25)]
    emitted, _ = world.drive(waiting.follow_logs("j", batch_lines=10))
    assert emitted == [f"line {i}" for i in range(25)]
    asked = [(r.from_line, r.max_lines) for name, r in world.requests if name == "GetJobLogs"]
    assert all(count == 10 for _, count in asked)
    assert [start for start, _ in asked][:3] == [0, 10, 20]
    assert not world.sleeps


def test_follow_logs_from_line_skips_earlier_lines(world: Any) -> None:
    world.add("j", pb.FAILED)
    world.logs["j"] += ["l0", "l1", "l2", "l3"]
    emitted, _ = world.drive(waiting.follow_logs("j", from_line=2))
    assert emitted == ["l2", "l3"]


@pytest.mark.parametrize("status", [pb.CANCELLED, pb.TIMEOUT, pb.DATA_DEPENDENCY_ERROR, pb.SUCCEEDED])
def test_follow_logs_of_a_finished_job_without_output_ends_at_once(world: Any, status: int) -> None:
    """C-11: no pause, nothing yielded."""
    world.add("j", status)
    emitted, _ = world.drive(waiting.follow_logs("j"))
    assert emitted == []
    assert world.sleeps == []


def test_follow_logs_keeps_back_an_unterminated_last_line_until_the_job_ends(world: Any) -> None:
    world.log_terminator = ""  # the scheduler joins lines with "\n" and ends none
    world.add("j", pb.RUNNING)
    world.logs["j"] += ["a", "b"]
    seen_at_sleep: list[int] = []

    def script(w: Any) -> None:
        seen_at_sleep.append(len(w.sleeps))
        if len(w.sleeps) == 2:
            w.logs["j"] += ["c", ""]
            w.set("j", pb.SUCCEEDED)

    world.on_sleep.append(script)
    emitted, _ = world.drive(waiting.follow_logs("j", poll_interval=0.1))
    assert emitted == ["a", "b", "c", ""]


def test_follow_logs_of_a_status_42_job_keeps_following(world: Any) -> None:
    world.add("j", 42)
    world.on_sleep.append(lambda w: w.set("j", pb.SUCCEEDED) if len(w.sleeps) == 2 else None)
    emitted, _ = world.drive(waiting.follow_logs("j", poll_interval=0.1))
    assert emitted == []
    assert len(world.sleeps) == 2


def test_follow_logs_of_an_unknown_job_raises(world: Any) -> None:
    world.jobs.clear()
    world.logs["ghost"] = []
    with pytest.raises(JobNotFoundError):
        world.drive(waiting.follow_logs("ghost"))


@pytest.mark.parametrize(
    ("kwargs", "argument"), [({"batch_lines": 0}, "batch_lines"), ({"from_line": -1}, "from_line")]
)
def test_bad_follow_arguments_fail_at_once(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        waiting.follow_logs("j", **kwargs)
    assert caught.value.argument == argument


# -- iter_jobs -------------------------------------------------------------------------------------


def test_iter_jobs_walks_every_page_once(world: Any) -> None:
    for i in range(23):
        world.add(f"j{i:02d}")
    emitted, _ = world.drive(waiting.iter_jobs(page_size=10))
    assert [job.job_id for job in emitted] == [f"j{i:02d}" for i in reversed(range(23))]
    assert world.calls["ListJobs"] == 3


def test_iter_jobs_under_offset_drift_yields_each_original_once(world: Any) -> None:
    """C-12 as a flow: two jobs submitted after page 1."""
    for i in range(25):
        world.add(f"j{i:02d}")
    flow = waiting.iter_jobs(page_size=10)
    out: list[str] = []
    value: Any = None
    while True:
        try:
            instruction = flow.send(value)
        except StopIteration:
            break
        value = None
        if isinstance(instruction, Emit):
            out.append(instruction.value.job_id)
            continue
        value = instruction.parse(world.reply(instruction), False)
        if world.calls["ListJobs"] == 1:
            world.add("new-1")
            world.add("new-2")
    originals = [o for o in out if o.startswith("j")]
    assert sorted(originals) == [f"j{i:02d}" for i in range(25)]
    assert len(out) == len(set(out))


def test_iter_jobs_steps_back_when_jobs_leave_the_listing(world: Any) -> None:
    for i in range(20):
        world.add(f"j{i:02d}")
    flow = waiting.iter_jobs(page_size=5)
    out: list[str] = []
    value: Any = None
    while True:
        try:
            instruction = flow.send(value)
        except StopIteration:
            break
        value = None
        if isinstance(instruction, Emit):
            out.append(instruction.value.job_id)
            continue
        value = instruction.parse(world.reply(instruction), False)
        if world.calls["ListJobs"] == 1:  # two of the jobs already seen leave the listing
            for gone in ("j19", "j18"):
                world.order.remove(gone)
    assert sorted(out) == [f"j{i:02d}" for i in range(20)]


def test_iter_jobs_filters_labels_on_the_client(world: Any) -> None:
    world.add("a", labels={"team": "x", "run": "1"})
    world.add("b", labels={"team": "y"})
    world.add("c", labels={"team": "x"})
    world.add("d")
    emitted, _ = world.drive(waiting.iter_jobs(labels={"team": "x"}))
    assert [job.job_id for job in emitted] == ["c", "a"]
    emitted, _ = world.drive(waiting.iter_jobs(labels={"team": "x", "run": "1"}))
    assert [job.job_id for job in emitted] == ["a"]


def test_iter_jobs_of_nothing_makes_one_call(world: Any) -> None:
    emitted, _ = world.drive(waiting.iter_jobs())
    assert emitted == []
    assert world.calls["ListJobs"] == 1


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"page_size": 0}, "page_size"),
        ({"status": "RUNNNING"}, "status"),
        ({"labels": {"k": 1}}, "labels['k']"),
    ],
)
def test_bad_iter_arguments_fail_at_once(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        waiting.iter_jobs(**kwargs)
    assert caught.value.argument == argument
