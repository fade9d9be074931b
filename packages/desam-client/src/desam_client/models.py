"""The values the client hands back: jobs, their resources and their status.

``JobStatus`` is the one table of job states: its members, their wire numbers
and which of them are terminal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["BatchCancelResult", "Job", "JobList", "JobStatus", "Resource"]


class JobStatus(str, enum.Enum):
    """Where a job stands. Members compare equal to their plain names.

    ``status == "RUNNING"`` and ``status in ["SUCCEEDED", "FAILED"]`` work as
    the 0.1.x README shows. A number this client does not know (a newer
    scheduler) reads as ``UNKNOWN``; the job keeps the raw number in
    :attr:`Job.status_code`.
    """

    UNKNOWN = "UNKNOWN"
    QUEUED = "QUEUED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    DATA_DEPENDENCY_ERROR = "DATA_DEPENDENCY_ERROR"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def number(self) -> int:
        """The status's number on the wire."""
        return _NUMBER_BY_STATUS[self]

    @property
    def is_terminal(self) -> bool:
        """True for states a job never leaves (succeeded, failed, cancelled, timed out, data error)."""
        return self in TERMINAL_STATUSES

    @classmethod
    def from_number(cls, number: int) -> JobStatus:
        """The status for a wire number; ``UNKNOWN`` for numbers this client does not know."""
        return _STATUS_BY_NUMBER.get(number, cls.UNKNOWN)


_NUMBER_BY_STATUS: dict[JobStatus, int] = {status: number for number, status in enumerate(JobStatus)}
_STATUS_BY_NUMBER: dict[int, JobStatus] = {number: status for status, number in _NUMBER_BY_STATUS.items()}

#: The states a job never leaves.
TERMINAL_STATUSES: frozenset[JobStatus] = frozenset(
    {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.TIMEOUT,
        JobStatus.DATA_DEPENDENCY_ERROR,
    }
)


@dataclass(frozen=True)
class Resource:
    """What a job asks of the cluster."""

    cpu: int = 1
    """CPU cores."""
    memory_mb: int = 1024
    """Memory in MiB."""
    gpu: int = 0
    """GPUs."""
    disk_mb: int = 0
    """Scratch disk in MiB."""


@dataclass(frozen=True)
class Job:
    """A job as the scheduler records it.

    Optional fields are None when the scheduler sent nothing (an empty string,
    an empty map or list, a zero timeout or timestamp). Timestamps are
    timezone-aware UTC datetimes.
    """

    job_id: str
    """The scheduler's id for the job."""
    user_id: str
    """The user the job was recorded for."""
    name: str
    """The job's name."""
    command: str
    """The shell command it runs."""
    status: JobStatus
    """Its current state (``UNKNOWN`` for a number this client does not know; see ``status_code``)."""
    resources: Resource = field(default_factory=Resource)
    """CPU, memory, GPU and disk it asked for."""
    working_dir: str | None = None
    """The directory the command runs in, if one was given."""
    env: dict[str, str] | None = None
    """Environment variables set for the command."""
    timeout: int | None = None
    """Run-time limit in seconds."""
    retries: int = 0
    """How many times a failed command is re-run."""
    artifacts: list[str] | None = None
    """Data dependency names given at submission."""
    labels: dict[str, str] | None = None
    """Labels given at submission."""
    description: str | None = None
    """Free text given at submission."""
    metadata: dict[str, str] | None = None
    """Metadata given at submission (the SDK adds ``desam-submission-id``)."""
    submit_time: datetime | None = None
    """When it was submitted (UTC)."""
    start_time: datetime | None = None
    """When its command started (UTC), None until then."""
    finish_time: datetime | None = None
    """When it ended (UTC), None until then."""
    error_message: str | None = None
    """Why it failed, when it did."""
    executor_id: str | None = None
    """The executor that ran it."""
    status_code: int = 0
    """The raw status number as sent by the scheduler (kept for numbers newer than this client)."""

    @property
    def is_finished(self) -> bool:
        """True once the job is in a terminal state."""
        return self.status.is_terminal


class JobList(list[Job]):
    """A list of jobs that also says which requested ids were not found.

    Returned by ``batch_get_info``; it is a plain ``list`` in every other way.
    """

    missing: tuple[str, ...]
    """Requested ids the scheduler did not return (unknown, or not visible to this key)."""

    def __init__(self, jobs: Iterable[Job] = (), missing: Iterable[str] = ()) -> None:
        super().__init__(jobs)
        self.missing = tuple(missing)


class BatchCancelResult(dict[str, bool]):
    """``{job_id: cancelled}`` for every requested id, with the scheduler's reason for each failure.

    Returned by ``batch_cancel``; it is a plain ``dict`` in every other way.
    """

    messages: dict[str, str]
    """The scheduler's message per id (why a cancel failed, e.g. the job already ended)."""

    def __init__(self, results: Mapping[str, bool] = {}, messages: Mapping[str, str] = {}) -> None:
        super().__init__(results)
        self.messages = dict(messages)
