"""The flows behind the job methods of both clients: validate, build, parse. No I/O.

Each function here validates its arguments (raising before anything is sent)
and returns a flow (see :mod:`desam_client._core.flow`). The public clients
only run these flows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from desam_client._core import convert, rpcs
from desam_client._core import validate as v
from desam_client._core.error_table import error_from_reply
from desam_client._core.flow import Flow, Step, checked
from desam_client.exceptions import DeSAMError, JobNotCancellableError, SubmissionUnknownError
from desam_client.models import BatchCancelResult, Job, JobList, JobStatus
from desam_proto import client_pb2 as pb

#: The metadata key that carries a submission's id, so a retried submission never
#: creates a second job (see the "Retries and idempotency" docs).
SUBMISSION_ID_KEY = "desam-submission-id"

#: How many ids one batch request carries at most; longer lists are split.
BATCH_CHUNK_IDS = 500
#: And how many bytes of ids, well under gRPC's 4 MiB default message limit.
BATCH_CHUNK_BYTES = 512 * 1024

#: How many of the newest jobs a submission probe looks through, in one ListJobs call (a
#: scheduler may cap the page lower). Under faults, a key that submits from many threads
#: can add a few hundred jobs between a lost reply and the probe; 100 was too few.
PROBE_PAGE = 1000


def chunked(
    ids: Sequence[str],
    max_items: int = BATCH_CHUNK_IDS,
    max_bytes: int = BATCH_CHUNK_BYTES,
) -> Iterator[list[str]]:
    """Split ``ids`` into lists small enough for one request each."""
    chunk: list[str] = []
    size = 0
    for job_id in ids:
        cost = len(job_id.encode()) + 8
        if chunk and (len(chunk) >= max_items or size + cost > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(job_id)
        size += cost
    if chunk:
        yield chunk


def job_fields(
    *,
    name: Any,
    command: Any,
    cpu: Any,
    memory_mb: Any,
    gpu: Any,
    disk_mb: Any,
    working_dir: Any,
    env: Any,
    timeout: Any,
    retries: Any,
    labels: Any,
    description: Any,
    metadata: Any,
    user_id: Any,
) -> dict[str, Any]:
    """Validated fields shared by SubmitJob and SubmitJobWithArtifacts requests."""
    return {
        "name": v.text("name", name),
        "command": v.text("command", command),
        "resources": pb.ResourceRequirement(
            cpu_cores=v.integer("cpu", cpu),
            memory_mb=v.integer("memory_mb", memory_mb, maximum=v.INT64_MAX),
            gpu_count=v.integer("gpu", gpu),
            disk_mb=v.integer("disk_mb", disk_mb, maximum=v.INT64_MAX),
        ),
        "working_dir": v.optional_text("working_dir", working_dir),
        "env": v.str_map("env", env),
        "timeout": 0 if timeout is None else v.integer("timeout", timeout),
        "retries": v.integer("retries", retries),
        "labels": v.str_map("labels", labels),
        "description": v.optional_text("description", description),
        "metadata": v.str_map("metadata", metadata),
        "user_id": v.optional_text("user_id", user_id),
    }


def with_submission_id(fields: dict[str, Any], submission_id: str | None) -> str:
    """Put a submission id into ``fields["metadata"]`` (keeping one the caller set) and return it."""
    metadata: dict[str, str] = fields["metadata"]
    if submission_id is not None:
        metadata[SUBMISSION_ID_KEY] = v.text("submission_id", submission_id)
    metadata.setdefault(SUBMISSION_ID_KEY, os.urandom(16).hex())
    return metadata[SUBMISSION_ID_KEY]


def submission_probe(submission_id: str, user_id: str) -> Step[str | None]:
    """A read that finds the job an earlier attempt of a submission created, if any."""
    request = pb.ListJobsRequest(user_id=user_id, limit=PROBE_PAGE)

    def parse(reply: Any, retried: bool) -> str | None:
        checked(reply, rpcs.LIST_JOBS)
        for job in reply.jobs:
            if job.metadata.get(SUBMISSION_ID_KEY) == submission_id:
                return str(job.job_id)
        return None

    return Step(rpcs.LIST_JOBS, request, parse)


def submit_job(artifacts: Any = None, submission_id: str | None = None, **fields: Any) -> Step[str]:
    """Flow of ``submit_job``; see ``DeSAMClient.submit_job``."""
    values = job_fields(**fields)
    request_artifacts = v.str_list("artifacts", artifacts)
    sid = with_submission_id(values, submission_id)
    request = pb.SubmitJobRequest(artifacts=request_artifacts, **values)

    def parse(reply: Any, retried: bool) -> str:
        checked(reply, rpcs.SUBMIT_JOB)
        return str(reply.job_id or reply.job.job_id)

    return Step(
        rpcs.SUBMIT_JOB,
        request,
        parse,
        probe=lambda: submission_probe(sid, values["user_id"]),
        unknown_outcome=lambda error: unknown_submission(error, sid),
    )


def unknown_submission(error: DeSAMError, submission_id: str) -> SubmissionUnknownError:
    """The error for a submission whose every attempt ended without a reply."""
    return SubmissionUnknownError(
        f"the submission may or may not have created a job ({error.message}); "
        f"look it up with client.find_submission({submission_id!r})",
        submission_id=submission_id,
        grpc_code=error.grpc_code,
        rpc=error.rpc,
    )


def find_submission(submission_id: Any, user_id: Any = None) -> Step[str | None]:
    """Flow of ``find_submission``: the id of the job a submission created, or None."""
    return submission_probe(v.text("submission_id", submission_id), v.optional_text("user_id", user_id))


def _query(job_id: str) -> Step[Job]:
    def parse(reply: Any, retried: bool) -> Job:
        return convert.job_from_proto(checked(reply, rpcs.QUERY_JOB, job_id).job)

    return Step(rpcs.QUERY_JOB, pb.QueryJobRequest(job_id=job_id), parse, job_id=job_id)


def get_info(job_id: Any) -> Step[Job]:
    """Flow of ``get_info``."""
    return _query(v.job_id(job_id))


def get_status(job_id: Any) -> Step[JobStatus]:
    """Flow of ``get_status``: reads the status alone, without converting the whole job."""
    jid = v.job_id(job_id)

    def parse(reply: Any, retried: bool) -> JobStatus:
        return JobStatus.from_number(checked(reply, rpcs.QUERY_JOB, jid).job.status)

    return Step(rpcs.QUERY_JOB, pb.QueryJobRequest(job_id=jid), parse, job_id=jid)


def list_jobs(user_id: Any, status: Any, limit: Any, offset: Any) -> Step[list[Job]]:
    """Flow of ``list_jobs``."""
    request = pb.ListJobsRequest(
        user_id=v.optional_text("user_id", user_id),
        status=v.status_filter(status),  # type: ignore[arg-type]
        limit=v.integer("limit", limit),
        offset=v.integer("offset", offset),
    )

    def parse(reply: Any, retried: bool) -> list[Job]:
        return [convert.job_from_proto(job) for job in checked(reply, rpcs.LIST_JOBS).jobs]

    return Step(rpcs.LIST_JOBS, request, parse)


def list_page(user_id: Any, status: Any, limit: Any, offset: Any) -> Step[tuple[list[Job], int]]:
    """One ListJobs page with the ``total`` count (for the paging helpers)."""
    request = pb.ListJobsRequest(
        user_id=v.optional_text("user_id", user_id),
        status=v.status_filter(status),  # type: ignore[arg-type]
        limit=v.integer("limit", limit),
        offset=v.integer("offset", offset),
    )

    def parse(reply: Any, retried: bool) -> tuple[list[Job], int]:
        checked(reply, rpcs.LIST_JOBS)
        return [convert.job_from_proto(job) for job in reply.jobs], int(reply.total)

    return Step(rpcs.LIST_JOBS, request, parse)


def cancel(job_id: Any) -> Step[bool]:
    """Flow of ``cancel``: True when this call cancelled the job, False when it had already ended."""
    jid = v.job_id(job_id)

    def parse(reply: Any, retried: bool) -> bool:
        common = reply.response
        if common.success:
            return True
        error = error_from_reply(common, rpc=rpcs.CANCEL_JOB.name, job_id=jid)
        if isinstance(error, JobNotCancellableError):
            # A retried cancel finds the job cancelled by the attempt whose reply was lost.
            return retried and reply.job.status == pb.CANCELLED
        raise error

    return Step(rpcs.CANCEL_JOB, pb.CancelJobRequest(job_id=jid), parse, job_id=jid)


def batch_get_info(job_ids: Any) -> Flow[JobList]:
    """Flow of ``batch_get_info``: found jobs in request order; ``.missing`` lists the others."""
    ids = v.job_ids(job_ids)
    found: dict[str, Job] = {}
    for chunk in chunked(ids):
        jobs: list[Job] = yield Step(
            rpcs.BATCH_QUERY_JOBS,
            pb.BatchQueryJobsRequest(job_ids=chunk),
            lambda reply, retried: [
                convert.job_from_proto(j) for j in checked(reply, rpcs.BATCH_QUERY_JOBS).jobs
            ],
        )
        found.update((job.job_id, job) for job in jobs)
    ordered = dict.fromkeys(ids)
    return JobList(
        (found[i] for i in ordered if i in found),
        missing=(i for i in ordered if i not in found),
    )


def batch_cancel(job_ids: Any) -> Flow[BatchCancelResult]:
    """Flow of ``batch_cancel``: an entry for every requested id, reasons in ``.messages``."""
    ids = v.job_ids(job_ids)
    results: dict[str, bool] = {}
    messages: dict[str, str] = {}
    for chunk in chunked(ids):
        reply, retried = yield Step(
            rpcs.BATCH_CANCEL_JOBS,
            pb.BatchCancelJobsRequest(job_ids=chunk),
            lambda reply, retried: (checked(reply, rpcs.BATCH_CANCEL_JOBS), retried),
        )
        for item in reply.results:
            results[item.job_id] = bool(item.success)
            if item.message:
                messages[item.job_id] = item.message
        for job_id in chunk:
            if job_id not in results:
                results[job_id] = False
                messages[job_id] = "the scheduler returned no result for this id"
        refused = [job_id for job_id in dict.fromkeys(chunk) if not results[job_id]]
        if retried and refused:
            # An attempt whose reply was lost may have cancelled these jobs, so the retry found
            # them ended. As with cancel(), a job that is now CANCELLED counts as cancelled by this call.
            try:
                jobs: list[Job] = yield Step(
                    rpcs.BATCH_QUERY_JOBS,
                    pb.BatchQueryJobsRequest(job_ids=refused),
                    lambda reply, retried: [
                        convert.job_from_proto(j) for j in checked(reply, rpcs.BATCH_QUERY_JOBS).jobs
                    ],
                )
            except DeSAMError:
                jobs = []  # keep the scheduler's answer
            for job in jobs:
                if job.status is JobStatus.CANCELLED and job.job_id in results:
                    results[job.job_id] = True
                    messages.pop(job.job_id, None)
    return BatchCancelResult({i: results[i] for i in dict.fromkeys(ids)}, messages)


def logs_page(job_id: Any, from_line: Any, max_lines: Any) -> Step[tuple[str, int]]:
    """One GetJobLogs call: the text and the job's total line count so far."""
    jid = v.job_id(job_id)
    request = pb.GetJobLogsRequest(
        job_id=jid,
        from_line=v.integer("from_line", from_line, maximum=v.INT64_MAX),
        max_lines=v.integer("max_lines", max_lines, maximum=v.INT64_MAX),
    )

    def parse(reply: Any, retried: bool) -> tuple[str, int]:
        checked(reply, rpcs.GET_JOB_LOGS, jid)
        return str(reply.log_content), int(reply.total_lines)

    return Step(rpcs.GET_JOB_LOGS, request, parse, job_id=jid)


def get_logs(job_id: Any, from_line: Any, max_lines: Any) -> Step[str]:
    """Flow of ``get_logs``: the text of one GetJobLogs page."""
    page = logs_page(job_id, from_line, max_lines)
    parse_page = page.parse

    def parse(reply: Any, retried: bool) -> str:
        return parse_page(reply, retried)[0]

    return Step(page.rpc, page.request, parse, job_id=page.job_id)
