"""Flows of the waiting helpers: wait for jobs, follow their logs, walk every page. No I/O.

Each public function validates its arguments at once (raising before anything
is sent) and returns a flow (see :mod:`desam_client._core.flow`) that both
clients run unchanged: the flows pause with :class:`Sleep` and measure their
deadlines with :data:`monotonic`, which tests may replace.

Polling is adaptive: the pause between two rounds starts at
:data:`MIN_POLL_INTERVAL`, grows by :data:`POLL_GROWTH` each round in which
nothing changed, up to :data:`MAX_POLL_INTERVAL`, and drops back to the
minimum as soon as something changes. A caller's ``poll_interval`` fixes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar

from desam_client._core import operations as ops
from desam_client._core import rpcs
from desam_client._core import validate as v
from desam_client._core.flow import Emit, Flow, Instruction, Sleep, StreamFlow
from desam_client.exceptions import InvalidArgumentError, JobNotFoundError, WaitTimeoutError
from desam_client.models import Job, JobList

T = TypeVar("T")

#: The clock of every deadline here; tests may replace it (``monkeypatch.setattr``).
monotonic: Callable[[], float] = time.monotonic

#: First pause between two polls, and the pause after any change, in seconds.
MIN_POLL_INTERVAL = 0.2
#: The longest pause between two polls while nothing changes, in seconds.
MAX_POLL_INTERVAL = 5.0
#: How much the pause grows after each round in which nothing changed.
POLL_GROWTH = 1.5

#: Default number of log lines asked for per GetJobLogs call while following.
DEFAULT_BATCH_LINES = 1000


class Pace:
    """The pause before the next poll: adaptive, or fixed when ``fixed`` is given."""

    def __init__(self, fixed: float | None = None) -> None:
        self.fixed = fixed
        self._current = MIN_POLL_INTERVAL

    def next_pause(self, changed: bool) -> float:
        """The pause after a round; ``changed`` says whether that round saw anything new."""
        if self.fixed is not None:
            return self.fixed
        if changed:
            self._current = MIN_POLL_INTERVAL
        pause = self._current
        self._current = min(self._current * POLL_GROWTH, MAX_POLL_INTERVAL)
        return pause


class Deadline:
    """A point in :data:`monotonic` time ``timeout`` seconds after creation (None: never)."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._end = None if timeout is None else monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left (0 or less once passed), or None without a deadline."""
        return None if self._end is None else self._end - monotonic()

    def pause(self, wanted: float) -> float | None:
        """``wanted``, cut to what is left; None when the deadline has passed."""
        left = self.remaining()
        if left is None:
            return wanted
        if left <= 0:
            return None
        return min(wanted, left)


def _wait_timeout(value: Any) -> float | None:
    """None, or a number of seconds >= 0 (0 checks once)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"timeout: must be a number of seconds >= 0 or None, got {value!r}", argument="timeout"
        )
    return float(value)


def _ids(job_ids: Any) -> list[str]:
    """Validated job ids, duplicates removed, request order kept."""
    return list(dict.fromkeys(v.job_ids(job_ids)))


def _round(pending: Sequence[str]) -> Generator[Instruction, Any, JobList]:
    """One poll round: the pending jobs, in as few BatchQueryJobs calls as the batch limits allow."""
    jobs: JobList = yield from ops.batch_get_info(pending)
    if jobs.missing:
        missing = jobs.missing[0]
        raise JobNotFoundError(
            f"the scheduler returned no job {missing!r} (unknown, or not visible to this API key)",
            rpc=rpcs.BATCH_QUERY_JOBS.name,
            job_id=missing,
        )
    return jobs


def as_completed(job_ids: Any, timeout: Any = None, poll_interval: Any = None) -> StreamFlow:
    """Flow of ``as_completed``: emits each job once, when it reaches a terminal state.

    Every round asks for all pending jobs at once (``⌈N/500⌉`` BatchQueryJobs calls
    for N jobs); finished jobs are left out of later rounds.

    Raises:
        InvalidArgumentError: A bad argument (at once, before any call).
        JobNotFoundError: The scheduler does not return one of the jobs.
        WaitTimeoutError: ``timeout`` seconds passed first; ``.pending`` names the rest.
    """
    ids = _ids(job_ids)
    limit = _wait_timeout(timeout)
    pace = Pace(v.seconds("poll_interval", poll_interval))
    return _as_completed(ids, limit, pace)


def _as_completed(ids: list[str], timeout: float | None, pace: Pace) -> StreamFlow:
    deadline = Deadline(timeout)
    pending = dict.fromkeys(ids)
    seen: dict[str, int] = {}
    while pending:
        jobs = yield from _round(list(pending))
        changed = False
        for job in jobs:
            if seen.get(job.job_id) != job.status_code:
                seen[job.job_id] = job.status_code
                changed = True
            if job.is_finished and job.job_id in pending:
                del pending[job.job_id]
                yield Emit(job)
        if not pending:
            return
        pause = deadline.pause(pace.next_pause(changed))
        if pause is None:
            left = tuple(pending)
            shown = ", ".join(left[:5]) + (", ..." if len(left) > 5 else "")
            raise WaitTimeoutError(
                f"{len(left)} of {len(ids)} job(s) had not finished after {timeout:g} s: {shown}",
                pending=left,
                job_id=left[0] if len(ids) == 1 else None,
            )
        yield Sleep(pause)


def _collect(stream: StreamFlow, stop_after: int | None = None) -> Flow[list[Any]]:
    """Run ``stream`` inside a flow and return what it emits (the first ``stop_after`` values)."""
    out: list[Any] = []
    value: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                instruction = stream.throw(error) if error is not None else stream.send(value)
            except StopIteration:
                return out
            value, error = None, None
            if isinstance(instruction, Emit):
                out.append(instruction.value)
                if stop_after is not None and len(out) >= stop_after:
                    return out
                continue
            try:
                value = yield instruction
            except Exception as raised:  # handed on to the stream
                error = raised
    finally:
        stream.close()


def wait(job_id: Any, timeout: Any = None, poll_interval: Any = None) -> Flow[Job]:
    """Flow of ``wait``: the job once it is in a terminal state.

    Raises:
        JobNotFoundError: No such job (or not visible to this key).
        WaitTimeoutError: It had not finished after ``timeout`` seconds.
    """
    stream = as_completed([v.job_id(job_id)], timeout, poll_interval)
    return _first(stream)


def _first(stream: StreamFlow) -> Flow[Job]:
    jobs: list[Job] = yield from _collect(stream, stop_after=1)
    return jobs[0]


def wait_all(job_ids: Any, timeout: Any = None, poll_interval: Any = None) -> Flow[list[Job]]:
    """Flow of ``wait_all``: every job once all have ended, in request order (duplicates once)."""
    ids = _ids(job_ids)
    return _in_order(ids, as_completed(ids, timeout, poll_interval))


def _in_order(ids: list[str], stream: StreamFlow) -> Flow[list[Job]]:
    jobs: list[Job] = yield from _collect(stream)
    by_id = {job.job_id: job for job in jobs}
    return [by_id[job_id] for job_id in ids]


def split_log_chunk(text: str, first: int, total: int, ended: bool) -> tuple[list[str], int]:
    r"""The complete lines of one GetJobLogs reply and how many lines they advance ``from_line``.

    ``text`` holds the lines from line ``first`` (0-based), each normally ending in
    ``"\n"``; ``total`` is the log's line count so far. A last line without a line end
    may still be growing: it is kept back (and read again next time) unless the job
    has ended or more lines follow it. An empty reply while lines remain (a scheduler
    that joins lines without a final line end, whose last line is empty) counts as
    one empty line under the same rule. Line ends (``\n`` or ``\r\n``) are removed.
    """
    if text.endswith("\n"):
        lines = text[:-1].split("\n")
    else:
        if not text and first >= total:
            return [], 0
        lines = text.split("\n")
        if not (ended or first + len(lines) < total):
            lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines], len(lines)


def follow_logs(
    job_id: Any, from_line: Any = 0, poll_interval: Any = None, batch_lines: Any = DEFAULT_BATCH_LINES
) -> StreamFlow:
    """Flow of ``follow_logs``: emits each log line from ``from_line`` on until the job has ended.

    At most ``batch_lines`` lines are held at a time. When no new line comes, the
    job's status is checked; once it is terminal the rest of the log is read and
    the flow ends (at once for a finished job with no output).
    """
    jid = v.job_id(job_id)
    start = v.integer("from_line", from_line, maximum=v.INT64_MAX)
    batch = v.integer("batch_lines", batch_lines, minimum=1, maximum=v.INT64_MAX)
    pace = Pace(v.seconds("poll_interval", poll_interval))
    return _follow(jid, start, batch, pace)


def _follow(job_id: str, line: int, batch: int, pace: Pace) -> StreamFlow:
    # The status is always read before the log, so that after a terminal status the
    # log is complete. Checked first once (a finished job drains with no pause), then
    # only in rounds that brought no new line.
    job: Job = yield from ops.get_info(job_id)
    ended = job.is_finished
    while True:
        progressed = False
        while True:
            text, total = yield ops.logs_page(job_id, line, batch)
            lines, used = split_log_chunk(text, line, total, ended)
            for item in lines:
                yield Emit(item)
            line += used
            progressed = progressed or used > 0
            if used == 0 or (line >= total and used < batch):
                break
        if ended:
            return
        if not progressed:
            job = yield from ops.get_info(job_id)
            if job.is_finished:
                ended = True
                continue  # read what is left at once
        yield Sleep(pace.next_pause(progressed))


def _has_labels(job: Job, labels: Mapping[str, str]) -> bool:
    have = job.labels or {}
    return all(have.get(key) == value for key, value in labels.items())


def iter_jobs(
    user_id: Any = None, status: Any = None, labels: Any = None, page_size: Any = 100
) -> StreamFlow:
    """Flow of ``iter_jobs``: emits every matching job once, newest first, page after page.

    Offset paging shifts when jobs come or go during the walk. New jobs enter at
    the front (newest first) and push the rest to higher offsets, so pages overlap:
    repeats are dropped by job id. When the match count falls between two pages
    (jobs leaving a ``status`` filter), the walk reads again from that much earlier,
    so that no job is skipped. ``labels`` is applied here, on the client.
    """
    user = v.optional_text("user_id", user_id)
    v.status_filter(status)
    wanted = v.str_map("labels", labels)
    size = v.integer("page_size", page_size, minimum=1)
    return _walk(user, status, wanted, size)


def _walk(user_id: str, status: Any, labels: dict[str, str], page_size: int) -> StreamFlow:
    seen: set[str] = set()
    offset = 0
    last_total: int | None = None
    while True:
        jobs, total = yield ops.list_page(user_id, status, page_size, offset)
        for job in jobs:
            if job.job_id not in seen:
                seen.add(job.job_id)
                if _has_labels(job, labels):
                    yield Emit(job)
        shrunk = 0 if last_total is None else last_total - total
        last_total = total
        if shrunk > 0:
            # Jobs left the listing since the last page: the ones behind them moved to
            # lower offsets, past this page's start. Read again from that much earlier.
            offset = max(0, offset - shrunk)
            continue
        if not jobs:
            return
        offset += len(jobs)
        if (offset >= total) if total > 0 else len(jobs) < page_size:
            return
