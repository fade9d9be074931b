"""The asyncio client, :class:`AsyncDeSAMClient`: the same methods as :class:`DeSAMClient`, as coroutines."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from desam_client._base import DEFAULT, ClientBase, RetryArg, TimeoutArg
from desam_client._core import operations as ops
from desam_client._core import waiting as wt
from desam_client._pipeline.runner import AsyncRunner
from desam_client.models import BatchCancelResult, Job, JobList, JobStatus

if TYPE_CHECKING:
    from desam_client.files.api import AsyncFilesAPI
    from desam_client.files.mappings import FileMappings


class AsyncDeSAMClient(ClientBase):
    """An asyncio client for a DeSAM scheduler. Safe for many concurrent calls.

    Create it anywhere (no event loop needs to run yet); its channel opens on the
    first call and belongs to that event loop, so use one client per loop.
    ``async with AsyncDeSAMClient(...) as client:`` closes it; ``close()`` waits
    for the channel to shut down.

    It takes the same arguments as :class:`~desam_client.DeSAMClient`; its default
    transport is ``"grpc-asyncio"``.

    Every method also takes keyword-only ``call_timeout`` (the per-attempt
    deadline for this call; None for none) and ``retry`` (a policy, or None);
    both default to the client's settings.

    Raises:
        ConfigurationError: A setting is missing or unusable (for example a plaintext
            connection to a remote host without ``allow_insecure``).
    """

    _transport_kind = "grpc-asyncio"
    _runner_class = AsyncRunner
    _runner: AsyncRunner

    async def __aenter__(self) -> AsyncDeSAMClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection and wait for it; safe to call twice.

        Calls in flight end with ``ClientClosedError``.
        """
        if not self._core.closed:
            await self._runner.close()

    @functools.cached_property
    def files(self) -> AsyncFilesAPI:
        """Data dependencies, as in 0.1.x: quota, uploads, jobs with files (an :class:`AsyncFilesAPI`)."""
        from desam_client.files.api import AsyncFilesAPI  # on first use: most programs never ship files

        return AsyncFilesAPI(self)

    async def submit_job(
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

        The coroutine form of :meth:`DeSAMClient.submit_job`, which documents its arguments,
        result and errors.
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
            return await self.files._submit_job(files, options, fields)
        return await self._runner.run(ops.submit_job(**fields), options)

    async def find_submission(
        self,
        submission_id: str,
        *,
        user_id: str | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> str | None:
        """The id of the job created by the submission ``submission_id``, or None if there is none.

        The coroutine form of :meth:`DeSAMClient.find_submission`, which documents its arguments,
        result and errors.
        """
        return await self._runner.run(
            ops.find_submission(submission_id, user_id), self._options(call_timeout, retry)
        )

    async def get_status(
        self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> JobStatus:
        """The job's status; a :class:`JobStatus`, which compares equal to its name (``"RUNNING"``)."""
        return await self._runner.run(ops.get_status(job_id), self._options(call_timeout, retry))

    async def get_info(
        self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> Job:
        """Everything the scheduler records about the job.

        The coroutine form of :meth:`DeSAMClient.get_info`, which documents its arguments,
        result and errors.
        """
        return await self._runner.run(ops.get_info(job_id), self._options(call_timeout, retry))

    async def list_jobs(
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

        The coroutine form of :meth:`DeSAMClient.list_jobs`, which documents its arguments,
        result and errors.
        """
        return await self._runner.run(
            ops.list_jobs(user_id, status, limit, offset), self._options(call_timeout, retry)
        )

    async def cancel(
        self, job_id: str, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> bool:
        """Cancel a job: True if this call cancelled it, False if it had already ended.

        The coroutine form of :meth:`DeSAMClient.cancel`, which documents its arguments,
        result and errors.
        """
        return await self._runner.run(ops.cancel(job_id), self._options(call_timeout, retry))

    async def batch_get_info(
        self, job_ids: Sequence[str], *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> JobList:
        """The jobs found among ``job_ids``, in request order.

        The coroutine form of :meth:`DeSAMClient.batch_get_info`, which documents its arguments,
        result and errors.
        """
        return await self._runner.run(ops.batch_get_info(job_ids), self._options(call_timeout, retry))

    async def batch_cancel(
        self, job_ids: Sequence[str], *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> BatchCancelResult:
        """Cancel many jobs: ``{job_id: cancelled}`` for every id; reasons in ``result.messages``."""
        return await self._runner.run(ops.batch_cancel(job_ids), self._options(call_timeout, retry))

    async def get_logs(
        self,
        job_id: str,
        from_line: int = 0,
        max_lines: int = 1000,
        *,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> str:
        """Up to ``max_lines`` lines of the job's output from line ``from_line`` (0-based)."""
        return await self._runner.run(
            ops.get_logs(job_id, from_line, max_lines), self._options(call_timeout, retry)
        )

    # -- waiting and following (flows in desam_client._core.waiting) --------------------------------

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> Job:
        """Wait until the job is in a terminal state and return it.

        The coroutine form of :meth:`DeSAMClient.wait`, which documents its arguments,
        result and errors.
        """
        flow = wt.wait(job_id, timeout, poll_interval)
        return await self._runner.run(flow, self._options(call_timeout, retry))

    async def as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> AsyncIterator[Job]:
        """Yield each job once, as soon as it reaches a terminal state (``async for``).

        The async-iterator form of :meth:`DeSAMClient.as_completed`, which documents its
        arguments, what it yields and its errors; the arguments are checked when iteration starts.
        """
        flow = wt.as_completed(job_ids, timeout, poll_interval)
        async for job in self._runner.iterate(flow, self._options(call_timeout, retry)):
            yield job

    async def wait_all(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> list[Job]:
        """Wait until every job has ended; return them in request order (duplicates once).

        The coroutine form of :meth:`DeSAMClient.wait_all`, which documents its arguments,
        result and errors.
        """
        flow = wt.wait_all(job_ids, timeout, poll_interval)
        return await self._runner.run(flow, self._options(call_timeout, retry))

    async def follow_logs(
        self,
        job_id: str,
        *,
        from_line: int = 0,
        poll_interval: float | None = None,
        batch_lines: int = 1000,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> AsyncIterator[str]:
        """Yield the job's log lines as they appear, until the job has ended (``async for``).

        The async-iterator form of :meth:`DeSAMClient.follow_logs`, which documents its
        arguments, what it yields and its errors; the arguments are checked when iteration starts.
        """
        flow = wt.follow_logs(job_id, from_line, poll_interval, batch_lines)
        async for line in self._runner.iterate(flow, self._options(call_timeout, retry)):
            yield line

    async def iter_jobs(
        self,
        *,
        user_id: str | None = None,
        status: str | JobStatus | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 100,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> AsyncIterator[Job]:
        """Yield every matching job once, newest first, walking all pages of ``list_jobs`` (``async for``).

        The async-iterator form of :meth:`DeSAMClient.iter_jobs`, which documents its
        arguments, what it yields and its errors; the arguments are checked when iteration starts.
        """
        flow = wt.iter_jobs(user_id, status, labels, page_size)
        async for job in self._runner.iterate(flow, self._options(call_timeout, retry)):
            yield job
