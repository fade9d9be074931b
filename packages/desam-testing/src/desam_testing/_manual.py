"""The manual executor: the test decides when each job starts and how it ends."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from desam_proto import client_pb2 as pb

from ._capacity import CapacityQueue
from ._clock import Clock, FakeClock
from ._errors import StagingError
from ._executor import Executor, ExecutorHost
from ._store import ACTIVE, TERMINAL, status_name

__all__ = ["ManualExecutor"]


class ManualExecutor(Executor):
    """Jobs stay QUEUED until the test moves them; every move is stamped by the scheduler's clock.

    With ``auto_start=True`` queued jobs start on their own, first in first
    out, while the cluster's capacity allows; the test still decides how they
    end. When the scheduler's clock is a :class:`FakeClock`, advancing it past a
    running job's ``timeout`` moves that job to TIMEOUT.

    ``fail`` is final: the manual executor does not re-run failed jobs
    (``retries`` is only recorded). Methods raise :class:`KeyError` for an
    unknown job id and :class:`ValueError` for a move its state does not allow.

    Args:
        auto_start: Start queued jobs as soon as capacity allows.
        executor_id: What running jobs report as ``executor_id``.

    Example:
        >>> fake = FakeScheduler().start()             # doctest: +SKIP
        >>> fake.manual.start(job_id)                  # doctest: +SKIP
        >>> fake.manual.log(job_id, "epoch 1", "epoch 2")  # doctest: +SKIP
        >>> fake.fake_clock.advance(60)                # doctest: +SKIP
        >>> fake.manual.succeed(job_id)                # doctest: +SKIP
    """

    def __init__(self, *, auto_start: bool = False, executor_id: str = "manual-executor") -> None:
        self.auto_start = auto_start
        self.executor_id = executor_id
        self._lock = threading.RLock()
        self._queue: CapacityQueue | None = None
        self._started: set[str] = set()
        self._unlisten: Callable[[], None] | None = None

    def attach(self, host: ExecutorHost) -> None:
        """Connect to the scheduler and, with a fake clock, watch it for timeouts."""
        super().attach(host)
        self._queue = CapacityQueue(host.capacity)
        if isinstance(host.clock, FakeClock):
            self._unlisten = host.clock.add_listener(self._on_tick)

    def default_clock(self) -> Clock:
        """A :class:`FakeClock`: manual tests control time too."""
        return FakeClock()

    # -- called by the scheduler -------------------------------------------------------------------

    def submit(self, job_id: str) -> None:
        """Queue the job; start it at once if ``auto_start`` and it fits."""
        self._capacity().enqueue(job_id, self.host.job(job_id).resources)
        self._admit()

    def cancel(self, job_id: str) -> None:
        """Forget the cancelled job and free what it held."""
        self._release(job_id)

    def shutdown(self) -> None:
        """Stop watching the clock."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None

    # -- called by tests ---------------------------------------------------------------------------

    def prepare(self, job_id: str) -> Path | None:
        """Move a QUEUED job to PREPARING and place its artifacts in its directory.

        Returns:
            The job's directory, or ``None`` if its artifacts could not be placed; the
            job is then DATA_DEPENDENCY_ERROR with the reason in ``error_message``.
        """
        self._expect(job_id, {pb.QUEUED}, "prepare")
        self.host.set_status(job_id, pb.PREPARING, executor_id=self.executor_id)
        try:
            return self.host.prepare_dir(job_id)
        except StagingError as exc:
            self._finish(job_id, pb.DATA_DEPENDENCY_ERROR, str(exc))
            return None

    def start(self, job_id: str) -> None:
        """Move a QUEUED or PREPARING job to RUNNING (preparing it first if needed).

        The job takes its share of capacity even if that over-commits the cluster.
        If its artifacts cannot be placed it ends as DATA_DEPENDENCY_ERROR instead.
        """
        status = self._expect(job_id, {pb.QUEUED, pb.PREPARING}, "start")
        self._capacity().take(job_id, self.host.job(job_id).resources)
        self._run(job_id, prepared=status == pb.PREPARING)

    def log(self, job_id: str, *lines: str) -> None:
        """Append lines to the job's log (a string with line breaks counts as several lines)."""
        self.host.log(job_id, lines)

    def succeed(self, job_id: str) -> None:
        """End the job as SUCCEEDED."""
        self._finish(job_id, pb.SUCCEEDED, None)

    def fail(self, job_id: str, message: str = "exit code 1") -> None:
        """End the job as FAILED with ``message`` as its ``error_message``."""
        self._finish(job_id, pb.FAILED, message)

    def time_out(self, job_id: str) -> None:
        """End the job as TIMEOUT."""
        timeout = self.host.job(job_id).timeout
        self._finish(job_id, pb.TIMEOUT, f"ran past its timeout of {timeout} s")

    def data_dependency_error(
        self, job_id: str, message: str = "data dependencies could not be staged"
    ) -> None:
        """End the job as DATA_DEPENDENCY_ERROR with ``message`` as its ``error_message``."""
        self._finish(job_id, pb.DATA_DEPENDENCY_ERROR, message)

    def set_status(self, job_id: str, status: int) -> None:
        """Force any status number, even one the protocol does not define (e.g. 42); nothing else changes."""
        self.host.set_status(job_id, status, force=True)
        if status not in ACTIVE:
            self._release(job_id)

    # -- inside ------------------------------------------------------------------------------------

    def _capacity(self) -> CapacityQueue:
        if self._queue is None:
            raise RuntimeError("ManualExecutor is not attached; pass it to FakeScheduler(executor=...)")
        return self._queue

    def _expect(self, job_id: str, allowed: set[int], action: str) -> int:
        status = self.host.job(job_id).status
        if status not in allowed:
            raise ValueError(f"cannot {action} job {job_id}: it is {status_name(status)}")
        return status

    def _run(self, job_id: str, *, prepared: bool) -> None:
        if not prepared and self.prepare(job_id) is None:
            return
        if self.host.set_status(job_id, pb.RUNNING, executor_id=self.executor_id):
            with self._lock:
                self._started.add(job_id)
        else:
            self._release(job_id)

    def _finish(self, job_id: str, status: int, message: str | None) -> None:
        current = self.host.job(job_id).status
        if current in TERMINAL:
            raise ValueError(f"job {job_id} has already ended as {status_name(current)}")
        self.host.set_status(job_id, status, error_message=message)
        self._release(job_id)

    def _release(self, job_id: str) -> None:
        with self._lock:
            self._started.discard(job_id)
        self._capacity().release(job_id)
        self._admit()

    def _admit(self) -> None:
        if not self.auto_start:
            return
        while admitted := self._capacity().admit():
            for job_id in admitted:
                if self.host.job(job_id).status == pb.QUEUED:
                    self._run(job_id, prepared=False)
                else:
                    self._capacity().release(job_id)

    def _on_tick(self, now: float) -> None:
        with self._lock:
            started = list(self._started)
        for job_id in started:
            job = self.host.job(job_id)
            if job.status == pb.RUNNING and job.timeout > 0 and now - job.start_time >= job.timeout:
                with contextlib.suppress(ValueError):  # it ended meanwhile
                    self.time_out(job_id)
