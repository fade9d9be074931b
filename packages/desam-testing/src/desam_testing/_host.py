"""The scheduler side of :class:`~desam_testing.ExecutorHost`: the job table plus the blob cache."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from desam_proto import client_pb2 as pb

from ._blobs import BlobCache
from ._capacity import Capacity
from ._clock import Clock
from ._staging import stage_tree
from ._store import JobStore

__all__ = ["SchedulerHost"]


class SchedulerHost:
    """What an executor may do to the scheduler's jobs (implements ``ExecutorHost``).

    Args:
        store: The job table.
        blobs: The blob cache, for staging artifacts.
        jobs_dir: Where each job gets its own directory.
        capacity: The cluster's capacity.
        clock: The scheduler's clock.
    """

    def __init__(self, store: JobStore, blobs: BlobCache, jobs_dir: Path, capacity: Capacity, clock: Clock):
        self._store = store
        self._blobs = blobs
        self._jobs_dir = jobs_dir
        self._capacity = capacity
        self._clock = clock

    @property
    def clock(self) -> Clock:
        """The scheduler's clock."""
        return self._clock

    @property
    def capacity(self) -> Capacity:
        """The whole cluster's capacity."""
        return self._capacity

    def job(self, job_id: str) -> pb.Job:
        """Return a copy of a job as it is now."""
        return self._store.snapshot(job_id)

    def set_status(
        self,
        job_id: str,
        status: int,
        *,
        error_message: str | None = None,
        executor_id: str | None = None,
        force: bool = False,
    ) -> bool:
        """Move a job to ``status`` (see :meth:`JobStore.update`)."""
        return self._store.update(
            job_id, status, error_message=error_message, executor_id=executor_id, force=force
        )

    def log(self, job_id: str, lines: Iterable[str]) -> None:
        """Append lines to a job's log."""
        self._store.append_log(job_id, lines)

    def prepare_dir(self, job_id: str) -> Path:
        """Create ``<data_dir>/jobs/<job_id>`` and place the job's artifacts in it."""
        record = self._store.require(job_id)
        directory = self._jobs_dir / job_id
        directory.mkdir(parents=True, exist_ok=True)
        if record.file_tree is not None:
            stage_tree(record.file_tree, self._blobs.path, directory)
        return directory
