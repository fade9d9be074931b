"""The seam between the fake scheduler and whatever moves its jobs through their states.

The scheduler owns the job table and answers the RPCs; an :class:`Executor`
decides when a job leaves QUEUED and how it ends. The scheduler calls the
executor on three occasions (a job was submitted, a job was cancelled, the
scheduler stops); the executor changes jobs only through the
:class:`ExecutorHost` it was attached to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from desam_proto import client_pb2 as pb

from ._capacity import Capacity
from ._clock import Clock, SystemClock

__all__ = ["Executor", "ExecutorHost"]


class ExecutorHost(Protocol):
    """What the scheduler offers its executor. All methods are thread-safe."""

    @property
    def clock(self) -> Clock:
        """The scheduler's clock."""
        ...

    @property
    def capacity(self) -> Capacity:
        """The whole cluster's capacity."""
        ...

    def job(self, job_id: str) -> pb.Job:
        """Return a copy of a job as it is now (:class:`KeyError` if unknown)."""
        ...

    def set_status(
        self,
        job_id: str,
        status: int,
        *,
        error_message: str | None = None,
        executor_id: str | None = None,
        force: bool = False,
    ) -> bool:
        """Move a job to ``status`` and stamp its times.

        A job in a terminal state stays there unless ``force`` is set.

        Returns:
            Whether the job moved (``False`` when it had already ended, e.g. was cancelled).
        """
        ...

    def log(self, job_id: str, lines: Iterable[str]) -> None:
        """Append lines to a job's log."""
        ...

    def prepare_dir(self, job_id: str) -> Path:
        """Create the job's own directory and place its artifacts in it.

        Returns:
            The directory.

        Raises:
            StagingError: The artifacts could not be placed safely.
        """
        ...


class Executor(ABC):
    """Moves jobs through their states; subclass it to write your own.

    A scheduler attaches its executor once, when the scheduler is built, and
    calls :meth:`shutdown` when it stops.
    """

    _host: ExecutorHost | None = None

    def attach(self, host: ExecutorHost) -> None:
        """Connect the executor to its scheduler (called by the scheduler, once).

        Raises:
            RuntimeError: If the executor already serves a scheduler.
        """
        if self._host is not None:
            raise RuntimeError(f"{type(self).__name__} is already attached to a scheduler; make a new one")
        self._host = host

    @property
    def host(self) -> ExecutorHost:
        """The scheduler this executor serves.

        Raises:
            RuntimeError: If it has not been given to a scheduler yet.
        """
        if self._host is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached; pass it to FakeScheduler(executor=...)"
            )
        return self._host

    def default_clock(self) -> Clock:
        """The clock a scheduler uses with this executor when it is given none."""
        return SystemClock()

    @abstractmethod
    def submit(self, job_id: str) -> None:
        """A job was stored in QUEUED; take it into account. Must not block."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """A job was marked CANCELLED; stop its work and free what it held. Must not block long."""

    @abstractmethod
    def shutdown(self) -> None:
        """The scheduler stops: end all work and join every thread the executor started."""
