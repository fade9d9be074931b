"""The job RPCs: submit, query, cancel, list, logs, and their batch forms."""

from __future__ import annotations

from collections.abc import Callable

from desam_proto import client_pb2 as pb

from ._auth import Authenticator, Caller
from ._capacity import Capacity
from ._errors import ErrorCode, ReplyError
from ._executor import Executor
from ._store import ACTIVE, SUBMISSION_ID_KEY, JobRecord, JobStore, status_name

__all__ = ["DEFAULT_LIST_LIMIT", "DEFAULT_LOG_LINES", "JobService"]

#: ListJobs' page size when the request says 0.
DEFAULT_LIST_LIMIT = 100
#: GetJobLogs' line count when the request says 0.
DEFAULT_LOG_LINES = 1000
#: GetJobLogs stops adding lines past this many bytes, so a reply stays under gRPC's 4 MiB limit.
_LOG_REPLY_BYTES = 3 * 1024 * 1024
_INT32_MAX = 2**31 - 1


#: The requests that submit a job; they share these fields.
Submission = pb.SubmitJobRequest | pb.SubmitJobWithArtifactsRequest


def ok(message: str = "") -> pb.CommonResponse:
    """Return a ``success=true`` CommonResponse."""
    return pb.CommonResponse(success=True, message=message)


class JobService:
    """Answers the job RPCs from the job table and tells the executor about changes.

    Args:
        store: The job table.
        auth: The API keys.
        executor: Told about every new and every cancelled job.
        capacity: Jobs asking for more are refused.
    """

    def __init__(self, store: JobStore, auth: Authenticator, executor: Executor, capacity: Capacity) -> None:
        self._store = store
        self._auth = auth
        self._executor = executor
        self._capacity = capacity
        #: Whether a repeated ``desam-submission-id`` returns the existing job (see :meth:`create`).
        self.dedup_submissions = True

    # -- shared with SubmitJobWithArtifacts -------------------------------------------------------

    def new_job(self, request: Submission, caller: Caller) -> pb.Job:
        """Validate the common submission fields and build the job to store (not stored yet)."""
        if not request.name.strip():
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "name is required")
        if not request.command.strip():
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "command is required")
        resources = request.resources
        for field in ("cpu_cores", "memory_mb", "gpu_count", "disk_mb"):
            value = getattr(resources, field)
            if value < 0:
                raise ReplyError(ErrorCode.INVALID_ARGUMENT, f"resources.{field} must be >= 0, got {value}")
        for field in ("timeout", "retries"):
            value = getattr(request, field)
            if value < 0:
                raise ReplyError(ErrorCode.INVALID_ARGUMENT, f"{field} must be >= 0, got {value}")
        job = pb.Job(
            user_id=request.user_id or caller.user,
            name=request.name,
            command=request.command,
            working_dir=request.working_dir,
            metadata=dict(request.metadata),
            env=dict(request.env),
            timeout=request.timeout,
            retries=request.retries,
            labels=dict(request.labels),
            description=request.description,
        )
        if request.HasField("resources"):
            job.resources.CopyFrom(resources)
        return job

    def create(
        self,
        caller: Caller,
        job: pb.Job,
        *,
        file_tree: pb.FileTreeNode | None = None,
        before_store: Callable[[], None] | None = None,
    ) -> tuple[pb.Job, bool]:
        """Store a new job and hand it to the executor, unless it repeats a submission.

        A job whose metadata has ``desam-submission-id`` equal to that of a job the
        same user already submitted is not stored again: the existing job is returned
        (unless :attr:`dedup_submissions` was switched off).

        Args:
            caller: Who submits.
            job: The job built by :meth:`new_job`.
            file_tree: Where its artifacts go.
            before_store: Runs after the duplicate and capacity checks, right before
                storing; it may refuse by raising :class:`ReplyError`.

        Returns:
            The job as stored and whether it is new.
        """
        with self._store.lock:
            submission_id = job.metadata.get(SUBMISSION_ID_KEY)
            if submission_id and self.dedup_submissions:
                existing = self._store.find_submission(caller.user, submission_id)
                if existing is not None:
                    return self._store.snapshot(existing.job.job_id), False
            shortfall = self._capacity.shortfall(job.resources)
            if shortfall:
                raise ReplyError(ErrorCode.INSUFFICIENT_RESOURCES, shortfall)
            if before_store is not None:
                before_store()
            job.job_id = self._store.new_job_id()
            job.submit_time = self._store.now()
            job.status = pb.QUEUED
            self._store.add(job, caller.user, file_tree=file_tree)
        self._executor.submit(job.job_id)
        return self._store.snapshot(job.job_id), True

    # -- the RPCs ----------------------------------------------------------------------------------

    def submit_job(self, request: pb.SubmitJobRequest) -> pb.SubmitJobResponse:
        """SubmitJob."""
        caller = self._auth.authenticate(request.api_key)
        job = self.new_job(request, caller)
        job.dependencies.extend(request.dependencies)
        job.artifacts.extend(request.artifacts)
        stored, created = self.create(caller, job)
        message = "submitted" if created else f"already submitted as {stored.job_id}"
        return pb.SubmitJobResponse(response=ok(message), job_id=stored.job_id, job=stored)

    def query_job(self, request: pb.QueryJobRequest) -> pb.QueryJobResponse:
        """QueryJob."""
        caller = self._auth.authenticate(request.api_key)
        record = self._visible(caller, request.job_id)
        reply = pb.QueryJobResponse(response=ok())
        with self._store.lock:
            reply.job.CopyFrom(record.job)  # one copy, straight into the reply
        return reply

    def cancel_job(self, request: pb.CancelJobRequest) -> pb.CancelJobResponse:
        """CancelJob."""
        caller = self._auth.authenticate(request.api_key)
        job = self._cancel(caller, request.job_id)
        return pb.CancelJobResponse(response=ok("cancelled"), job=job)

    def batch_cancel_jobs(self, request: pb.BatchCancelJobsRequest) -> pb.BatchCancelJobsResponse:
        """BatchCancelJobs: one result per requested id."""
        caller = self._auth.authenticate(request.api_key)
        results = []
        for job_id in request.job_ids:
            try:
                self._cancel(caller, job_id)
            except ReplyError as exc:
                results.append(
                    pb.CancelResult(job_id=job_id, success=False, message=f"{exc.code}: {exc.message}")
                )
            else:
                results.append(pb.CancelResult(job_id=job_id, success=True, message="cancelled"))
        return pb.BatchCancelJobsResponse(response=ok(), results=results)

    def list_jobs(self, request: pb.ListJobsRequest) -> pb.ListJobsResponse:
        """ListJobs: newest first, filtered, one page."""
        caller = self._auth.authenticate(request.api_key)
        if request.limit < 0 or request.offset < 0:
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "limit and offset must be >= 0")
        limit = request.limit or DEFAULT_LIST_LIMIT
        start = request.offset
        with self._store.lock:
            # The store keeps the visible records oldest first; a page is read from the end.
            visible = self._store.listing(None if caller.admin else caller.user)
            if not request.user_id and request.status == pb.UNKNOWN:
                total = len(visible)
                chosen = visible[max(0, total - start - limit) : max(0, total - start)][::-1]
            else:
                matching = [
                    record
                    for record in reversed(visible)
                    if (not request.user_id or record.job.user_id == request.user_id)
                    and (request.status == pb.UNKNOWN or record.job.status == request.status)
                ]
                total = len(matching)
                chosen = matching[start : start + limit]
            page = [self._store.snapshot(r.job.job_id) for r in chosen]
        return pb.ListJobsResponse(response=ok(), jobs=page, total=min(total, _INT32_MAX))

    def batch_query_jobs(self, request: pb.BatchQueryJobsRequest) -> pb.ListJobsResponse:
        """BatchQueryJobs: the visible jobs among the ids, in request order; others are left out."""
        caller = self._auth.authenticate(request.api_key)
        jobs = []
        with self._store.lock:
            for job_id in dict.fromkeys(request.job_ids):
                record = self._store.get(job_id)
                if record is not None and caller.may_see(record):
                    jobs.append(self._store.snapshot(job_id))
        return pb.ListJobsResponse(response=ok(), jobs=jobs, total=len(jobs))

    def get_job_logs(self, request: pb.GetJobLogsRequest) -> pb.GetJobLogsResponse:
        """GetJobLogs: lines ``from_line`` onwards, each ending in a newline."""
        caller = self._auth.authenticate(request.api_key)
        record = self._visible(caller, request.job_id)
        if request.from_line < 0 or request.max_lines < 0:
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "from_line and max_lines must be >= 0")
        count = request.max_lines or DEFAULT_LOG_LINES
        lines, total = self._store.log_lines(record.job.job_id, request.from_line, count)
        content: list[str] = []
        size = 0
        for line in lines:
            size += len(line.encode()) + 1
            if content and size > _LOG_REPLY_BYTES:
                break
            content.append(line + "\n")
        return pb.GetJobLogsResponse(response=ok(), log_content="".join(content), total_lines=total)

    # -- inside ------------------------------------------------------------------------------------

    def _visible(self, caller: Caller, job_id: str) -> JobRecord:
        if not job_id:
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "job_id is required")
        record = self._store.get(job_id)
        if record is None:
            raise ReplyError(ErrorCode.JOB_NOT_FOUND, f"no job {job_id[:100]!r}")
        if not caller.may_see(record):
            raise ReplyError(ErrorCode.PERMISSION_DENIED, f"job {job_id} belongs to another user")
        return record

    def _cancel(self, caller: Caller, job_id: str) -> pb.Job:
        with self._store.lock:
            record = self._visible(caller, job_id)
            status = record.job.status
            if status not in ACTIVE:
                raise ReplyError(
                    ErrorCode.JOB_NOT_CANCELLABLE,
                    f"job {job_id} is {status_name(status)} and can no longer be cancelled",
                    job=self._store.snapshot(job_id),
                )
            self._store.update(job_id, pb.CANCELLED, error_message="cancelled by a user")
        self._executor.cancel(job_id)
        return self._store.snapshot(job_id)
