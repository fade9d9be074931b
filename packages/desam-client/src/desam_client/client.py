"""The blocking client, :class:`DeSAMClient`."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from desam_client._base import DEFAULT, ClientBase, RetryArg, TimeoutArg
from desam_client._core import operations as ops
from desam_client._core import waiting as wt
from desam_client._pipeline.runner import SyncRunner
from desam_client.models import BatchCancelResult, Job, JobList, JobStatus

if TYPE_CHECKING:
    from desam_client.files.api import FilesAPI
    from desam_client.files.mappings import FileMappings


class DeSAMClient(ClientBase):
    """A blocking client for a DeSAM scheduler. Safe to share across threads.

    Args:
        host: The scheduler's host name or IP (default: ``DESAM_HOST``).
        port: Its client port (default: ``DESAM_PORT``, else 50051).
        api_key: Your API key (default: ``DESAM_API_KEY``). Never logged or shown.
        cert_path: PEM file of the CA (or the server certificate) to verify the scheduler
            with; turns TLS on (default: ``DESAM_CERT_PATH``).
        timeout: Deadline of each attempt of a call, in seconds.
        target: A full gRPC target instead of host and port, e.g.
            ``"dns:///scheduler.example:50051"`` (balanced round-robin over its addresses).
        tls: ``True`` for TLS with the system's CA store when no ``cert_path`` is given.
        client_cert_path: PEM client certificate chain for mutual TLS (with ``client_key_path``).
        client_key_path: PEM private key for mutual TLS.
        server_name: Host name expected in the server certificate, when it differs from ``host``.
        allow_insecure: Allow plaintext to a host that is not a loopback address.
        channel_options: Extra gRPC channel options (keepalive, message sizes, ...).
        load_balancing: A gRPC load-balancing policy name (``"round_robin"``, ``"pick_first"``).
        retry: The default :class:`~desam_client.RetryPolicy`; None turns retries off.
        plugins: Plugin objects (see :mod:`desam_client.plugins`).
        load_entrypoint_plugins: Load plugins from the ``desam.plugins`` entry points.
        transport: Name of a registered transport (default ``"grpc"``).
        tracer_provider: The OpenTelemetry ``TracerProvider`` for the client's spans
            (default: the global one).

    Every method also takes keyword-only ``call_timeout`` (the per-attempt
    deadline for this call; None for none) and ``retry`` (a policy, or None);
    both default to the client's settings.

    Raises:
        ConfigurationError: A setting is missing or unusable (for example a plaintext
            connection to a remote host without ``allow_insecure``).
    """

    _transport_kind = "grpc"
    _runner_class = SyncRunner
    _runner: SyncRunner

    def __enter__(self) -> DeSAMClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection. Calls in flight end with ``ClientClosedError``; safe to call twice."""
        if not self._core.closed:
            self._runner.close()

    @functools.cached_property
    def files(self) -> FilesAPI:
        """Data dependencies, as in 0.1.x: quota, uploads, jobs with files (a :class:`FilesAPI`)."""
        from desam_client.files.api import FilesAPI  # on first use: most programs never ship files

        return FilesAPI(self)

    def submit_job(
        self,
        name: str,
        command: str,
        cpu: int = 1,
        memory_mb: int = 1024,
        gpu: int = 0,
        disk_mb: int = 0,
        working_dir: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: int | None = None,
        retries: int = 0,
        artifacts: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        user_id: str | None = None,
        *,
        files: FileMappings | None = None,
        submission_id: str | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> str:
        """Submit a job and return its id.

        ``timeout`` is the job's run-time limit in seconds (None: none), not the RPC
        deadline (that is ``call_timeout``). ``env``, ``labels`` and ``metadata`` map
        ``str`` to ``str``; anything else is refused before sending. ``user_id`` None
        records the job for the API key's own user.

        A retried submission never creates a second job: each submission carries an
        id in its metadata (``desam-submission-id``; pass ``submission_id`` to choose
        it), and before sending again the client looks for a job with that id.

        ``files`` ships local data with the job: ``{mount_path: local_path}`` (a file, or
        a directory that is packed and unpacked there), as ``client.files.submit_job_with_files``
        does; only bytes the scheduler lacks are uploaded. ``artifacts`` is something else:
        names the scheduler merely records. Non-empty ``artifacts`` cannot be combined with
        ``files`` (they would be lost: SubmitJobWithArtifacts has no such field).

        Raises:
            InvalidArgumentError: An argument is of the wrong type or out of range.
            InsufficientResourcesError: The job can never fit the cluster.
            SubmissionUnknownError: Every attempt ended without a reply; the job may
                exist. ``client.find_submission(error.submission_id)`` tells.
            FileNotFoundError: A path in ``files`` does not exist (nothing was sent).
            FileTransferError: ``files`` could not be shipped (``QuotaExceededError``, ...).
        """
        fields: dict[str, Any] = {
            "name": name,
            "command": command,
            "cpu": cpu,
            "memory_mb": memory_mb,
            "gpu": gpu,
            "disk_mb": disk_mb,
            "working_dir": working_dir,
            "env": env,
            "timeout": timeout,
            "retries": retries,
            "labels": labels,
            "description": description,
            "metadata": metadata,
            "user_id": user_id,
            "artifacts": artifacts,
            "submission_id": submission_id,
        }
        options = self._options(call_timeout, retry)
        if files is not None:
            return self.files._submit_job(files, options, fields)
        return self._runner.run(ops.submit_job(**fields), options)

    def find_submission(
        self,
        submission_id: str,
        *,
        user_id: str | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> str | None:
        """The id of the job created by the submission ``submission_id``, or None if there is none.

        Looks through the newest 1000 jobs visible to the key (of ``user_id`` if given).
        """
        return self._runner.run(
            ops.find_submission(submission_id, user_id), self._options(call_timeout, retry)
        )

    def get_status(
        self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> JobStatus:
        """The job's status; a :class:`JobStatus`, which compares equal to its name (``"RUNNING"``)."""
        return self._runner.run(ops.get_status(job_id), self._options(call_timeout, retry))

    def get_info(self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT) -> Job:
        """Everything the scheduler records about the job.

        Raises:
            JobNotFoundError: No such job.
            PermissionDeniedError: The job belongs to someone else.
        """
        return self._runner.run(ops.get_info(job_id), self._options(call_timeout, retry))

    def list_jobs(
        self,
        user_id: str | None = None,
        status: str | JobStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> list[Job]:
        """One page of jobs, newest first.

        ``status`` is a status name or :class:`JobStatus` (a misspelt name is an error,
        not "any"); ``limit`` 0 asks for the scheduler's default page size.
        """
        return self._runner.run(
            ops.list_jobs(user_id, status, limit, offset), self._options(call_timeout, retry)
        )

    def cancel(self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT) -> bool:
        """Cancel a job: True if this call cancelled it, False if it had already ended.

        Raises:
            JobNotFoundError: No such job.
        """
        return self._runner.run(ops.cancel(job_id), self._options(call_timeout, retry))

    def batch_get_info(
        self, job_ids: Sequence[str], *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> JobList:
        """The jobs found among ``job_ids``, in request order.

        The result is a ``list`` whose ``missing`` attribute names the ids the scheduler
        did not return. Long lists are split over several requests.
        """
        return self._runner.run(ops.batch_get_info(job_ids), self._options(call_timeout, retry))

    def batch_cancel(
        self, job_ids: Sequence[str], *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> BatchCancelResult:
        """Cancel many jobs: ``{job_id: cancelled}`` for every id; reasons in ``result.messages``."""
        return self._runner.run(ops.batch_cancel(job_ids), self._options(call_timeout, retry))

    def get_logs(
        self,
        job_id: str,
        from_line: int = 0,
        max_lines: int = 1000,
        *,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> str:
        """Up to ``max_lines`` lines of the job's output from line ``from_line`` (0-based)."""
        return self._runner.run(
            ops.get_logs(job_id, from_line, max_lines), self._options(call_timeout, retry)
        )

    # -- waiting and following (flows in desam_client._core.waiting) --------------------------------

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> Job:
        """Wait until the job is in a terminal state and return it.

        Polls with an adaptive pause (0.2 s, growing up to 5 s while nothing changes);
        ``poll_interval`` fixes the pause. A status this client does not know (a newer
        scheduler) is not terminal, so waiting goes on.

        Args:
            job_id: The job to wait for.
            timeout: Give up after this many seconds (None: wait as long as it takes).
            poll_interval: A fixed pause between polls, in seconds.
            call_timeout: The per-attempt deadline of each poll.
            retry: The retry policy of each poll.

        Returns:
            The job as it ended (``job.status`` is SUCCEEDED, FAILED, CANCELLED, TIMEOUT
            or DATA_DEPENDENCY_ERROR).

        Raises:
            WaitTimeoutError: It had not finished after ``timeout`` seconds (``.pending``).
            JobNotFoundError: No such job, or not visible to this API key.
        """
        return self._runner.run(wt.wait(job_id, timeout, poll_interval), self._options(call_timeout, retry))

    def as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> Iterator[Job]:
        """Yield each job once, as soon as it reaches a terminal state.

        Each poll round asks for every pending job in one BatchQueryJobs call (one per
        500 ids); finished jobs are left out of later rounds. Duplicate ids count once.

        Args:
            job_ids: The jobs to watch.
            timeout: Give up after this many seconds (None: no limit).
            poll_interval: A fixed pause between rounds, in seconds (default: adaptive).
            call_timeout: The per-attempt deadline of each poll.
            retry: The retry policy of each poll.

        Yields:
            Finished jobs, in the order they were seen to finish.

        Raises:
            WaitTimeoutError: Some jobs had not finished after ``timeout`` seconds; their
                ids are in ``.pending``.
            JobNotFoundError: The scheduler did not return one of the jobs.
        """
        flow = wt.as_completed(job_ids, timeout, poll_interval)
        iterator: Iterator[Job] = self._runner.iterate(flow, self._options(call_timeout, retry))
        return iterator

    def wait_all(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> list[Job]:
        """Wait until every job has ended; return them in request order (duplicates once).

        Polls like :meth:`as_completed`.

        Raises:
            WaitTimeoutError: Some jobs had not finished after ``timeout`` seconds (``.pending``).
            JobNotFoundError: The scheduler did not return one of the jobs.
        """
        flow = wt.wait_all(job_ids, timeout, poll_interval)
        return self._runner.run(flow, self._options(call_timeout, retry))

    def follow_logs(
        self,
        job_id: str,
        *,
        from_line: int = 0,
        poll_interval: float | None = None,
        batch_lines: int = 1000,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> Iterator[str]:
        """Yield the job's log lines as they appear, until the job has ended.

        Once the job is in a terminal state the rest of its log is read and the
        iterator stops; for a finished job with no output it stops at once. At most
        ``batch_lines`` lines are held in memory at a time.

        Args:
            job_id: The job whose output to follow.
            from_line: The first line to yield (0-based).
            poll_interval: A fixed pause between polls, in seconds (default: adaptive).
            batch_lines: How many lines to ask for per call.
            call_timeout: The per-attempt deadline of each call.
            retry: The retry policy of each call.

        Yields:
            Lines without their line end.

        Raises:
            JobNotFoundError: No such job.
        """
        flow = wt.follow_logs(job_id, from_line, poll_interval, batch_lines)
        iterator: Iterator[str] = self._runner.iterate(flow, self._options(call_timeout, retry))
        return iterator

    def iter_jobs(
        self,
        *,
        user_id: str | None = None,
        status: str | JobStatus | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 100,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> Iterator[Job]:
        """Yield every matching job once, newest first, walking all pages of ``list_jobs``.

        Jobs submitted during the walk shift the pages; repeats are dropped by job id,
        so each job comes once, and the walk ends. Jobs submitted after it began may or
        may not be included.

        Args:
            user_id: Only jobs recorded for this user.
            status: Only jobs in this status (a name or :class:`JobStatus`).
            labels: Only jobs carrying all these label pairs. The protocol has no label
                filter: this one is applied by the client, so every page is still fetched.
            page_size: Jobs per ListJobs call.
            call_timeout: The per-attempt deadline of each call.
            retry: The retry policy of each call.

        Yields:
            Jobs, newest first.
        """
        flow = wt.iter_jobs(user_id, status, labels, page_size)
        iterator: Iterator[Job] = self._runner.iterate(flow, self._options(call_timeout, retry))
        return iterator
