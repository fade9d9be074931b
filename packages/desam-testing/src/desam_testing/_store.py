"""The job table: every job the fake scheduler knows, its owner, its log lines."""

from __future__ import annotations

import bisect
import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from desam_proto import client_pb2 as pb

from ._clock import Clock

__all__ = ["ACTIVE", "SUBMISSION_ID_KEY", "TERMINAL", "JobRecord", "JobStore", "status_name"]

#: States a job can still leave.
ACTIVE = frozenset({pb.QUEUED, pb.PREPARING, pb.RUNNING})
#: States a job never leaves (except by a test forcing a raw status).
TERMINAL = frozenset({pb.SUCCEEDED, pb.FAILED, pb.CANCELLED, pb.TIMEOUT, pb.DATA_DEPENDENCY_ERROR})
#: The metadata key whose value makes a submission idempotent.
SUBMISSION_ID_KEY = "desam-submission-id"


def _listing_key(record: JobRecord) -> tuple[int, int]:
    return record.job.submit_time, record.seq


def status_name(status: int) -> str:
    """Return the enum name of a status number, or ``"status <n>"`` for a number the enum lacks."""
    try:
        return pb.JobStatus.Name(status)  # type: ignore[arg-type]
    except ValueError:
        return f"status {status}"


@dataclass
class JobRecord:
    """What the scheduler keeps about one job.

    Attributes:
        job: The job as stored (the master copy; hand out copies).
        owner: The user of the API key that submitted it; decides who may see it.
        seq: Submission order, for a stable newest-first listing.
        logs: Log lines so far, without line ends.
        file_tree: Where its artifacts go, for SubmitJobWithArtifacts jobs.
    """

    job: pb.Job
    owner: str
    seq: int
    logs: list[str] = field(default_factory=list)
    file_tree: pb.FileTreeNode | None = None


class JobStore:
    """Thread-safe job table; every change wakes :meth:`wait_for`.

    Args:
        clock: Stamps ``start_time`` and ``finish_time`` on status changes.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.lock = threading.Condition(threading.RLock())
        self._records: dict[str, JobRecord] = {}
        self._seq = itertools.count(1)
        # Indexes, so that a submission, a duplicate check or a page costs the same with 100,000
        # stored jobs as with 10: the first job per (owner, submission id), and the records in
        # listing order (oldest (submit_time, seq) first), all of them and per owner.
        self._submissions: dict[tuple[str, str], JobRecord] = {}
        self._listing: list[JobRecord] = []
        self._listing_by_owner: dict[str, list[JobRecord]] = {}

    def now(self) -> int:
        """Return the clock's time in whole seconds."""
        return int(self._clock.now())

    def new_job_id(self) -> str:
        """Return a fresh, unused, opaque job id such as ``job-3fa2c81b09de``."""
        with self.lock:
            while True:
                job_id = "job-" + secrets.token_hex(6)
                if job_id not in self._records:
                    return job_id

    def add(self, job: pb.Job, owner: str, *, file_tree: pb.FileTreeNode | None = None) -> JobRecord:
        """Store a new job (its ``job_id`` must be set and unused)."""
        with self.lock:
            if not job.job_id or job.job_id in self._records:
                raise ValueError(f"job id {job.job_id!r} is empty or already used")
            record = JobRecord(job=job, owner=owner, seq=next(self._seq), file_tree=file_tree)
            self._records[job.job_id] = record
            submission_id = job.metadata.get(SUBMISSION_ID_KEY)
            if submission_id:
                self._submissions.setdefault((owner, submission_id), record)
            for listing in (self._listing, self._listing_by_owner.setdefault(owner, [])):
                if not listing or _listing_key(listing[-1]) <= _listing_key(record):
                    listing.append(record)  # the usual case: the newest job so far
                else:
                    bisect.insort(listing, record, key=_listing_key)
            self.lock.notify_all()
            return record

    def get(self, job_id: str) -> JobRecord | None:
        """Return the record of a job, or ``None``."""
        with self.lock:
            return self._records.get(job_id)

    def require(self, job_id: str) -> JobRecord:
        """Return the record of a job, or raise :class:`KeyError` naming the id."""
        record = self.get(job_id)
        if record is None:
            raise KeyError(f"no job {job_id!r}")
        return record

    def snapshot(self, job_id: str) -> pb.Job:
        """Return a copy of a job as it is now (:class:`KeyError` if unknown)."""
        with self.lock:
            copy = pb.Job()
            copy.CopyFrom(self.require(job_id).job)
            return copy

    def records(self) -> list[JobRecord]:
        """Return all records, oldest submission first."""
        with self.lock:
            return sorted(self._records.values(), key=lambda r: r.seq)

    def listing(self, owner: str | None = None) -> list[JobRecord]:
        """Return the records (of ``owner``, or all) oldest ``(submit_time, seq)`` first.

        This is the store's own list: read it while holding :attr:`lock`, do not change it.
        """
        with self.lock:
            if owner is None:
                return self._listing
            return self._listing_by_owner.get(owner, [])

    def find_submission(self, owner: str, submission_id: str) -> JobRecord | None:
        """Return the owner's (first) job whose metadata carries this submission id, if any."""
        with self.lock:
            return self._submissions.get((owner, submission_id))

    def update(
        self,
        job_id: str,
        status: int,
        *,
        error_message: str | None = None,
        executor_id: str | None = None,
        force: bool = False,
    ) -> bool:
        """Move a job to a status, stamping the times.

        Entering RUNNING sets ``start_time`` (once); entering a terminal state sets
        ``finish_time``. A job already in a terminal state does not move unless
        ``force`` is set, so the first terminal state wins (a cancel beats the
        exit of the command it killed).

        Returns:
            Whether the job moved.
        """
        with self.lock:
            job = self.require(job_id).job
            if job.status in TERMINAL and not force:
                return False
            job.status = status  # type: ignore[assignment]
            if status == pb.RUNNING and not job.start_time:
                job.start_time = self.now()
            if status in TERMINAL:
                job.finish_time = self.now()
            if error_message is not None:
                job.error_message = error_message
            if executor_id is not None:
                job.executor_id = executor_id
            self.lock.notify_all()
            return True

    def append_log(self, job_id: str, lines: Iterable[str]) -> None:
        """Add lines to a job's log; a string with line breaks counts as several lines."""
        split = [part for line in lines for part in (line.splitlines() or [""])]
        with self.lock:
            self.require(job_id).logs.extend(split)
            self.lock.notify_all()

    def log_lines(self, job_id: str, start: int, count: int) -> tuple[list[str], int]:
        """Return up to ``count`` lines from line ``start`` (0-based) and the total so far."""
        with self.lock:
            logs = self.require(job_id).logs
            return logs[start : start + count], len(logs)

    def wait_for_logs(self, job_id: str, count: int, timeout: float) -> list[str]:
        """Block until a job has at least ``count`` log lines, then return all its lines.

        Raises:
            TimeoutError: If it does not within ``timeout`` seconds.
        """
        with self.lock:
            record = self.require(job_id)
            if not self.lock.wait_for(lambda: len(record.logs) >= count, timeout):
                raise TimeoutError(
                    f"job {job_id} has {len(record.logs)} log lines after {timeout} s, not {count}"
                )
            return list(record.logs)

    def wait_for(self, job_id: str, predicate: Callable[[pb.Job], bool], timeout: float) -> pb.Job:
        """Block until ``predicate(job)`` holds, then return a copy of the job.

        Raises:
            TimeoutError: If it does not hold within ``timeout`` seconds.
        """
        with self.lock:
            record = self.require(job_id)
            if not self.lock.wait_for(lambda: predicate(record.job), timeout):
                raise TimeoutError(
                    f"job {job_id} did not get there within {timeout} s; "
                    f"it is {status_name(record.job.status)}"
                )
            return self.snapshot(job_id)
