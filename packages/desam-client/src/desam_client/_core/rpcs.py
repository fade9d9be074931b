"""One description per RPC of ``desam.client.ClientService``.

The single place that says which message types each RPC takes and returns,
whether it streams, and whether a retry is safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from google.protobuf.message import Message

from desam_proto import SERVICE_NAME
from desam_proto import client_pb2 as pb


class RetrySafety(enum.Enum):
    """Whether an RPC may be sent again after a failure whose outcome is unknown."""

    SAFE = "safe"
    """Reads, cancels and content-addressed uploads: repeating them changes nothing."""
    PROBE_FIRST = "probe-first"
    """Submissions: before sending again, look the submission id up; resend only if absent."""
    NEVER = "never"
    """Not repeatable."""


@dataclass(frozen=True)
class RpcSpec:
    """How to call one RPC."""

    name: str
    """The method name, e.g. ``"QueryJob"``."""
    request_type: type[Message]
    response_type: type[Message]
    client_streaming: bool
    retry_safety: RetrySafety

    @property
    def path(self) -> str:
        """The gRPC method path, ``/desam.client.ClientService/<name>``."""
        return f"/{SERVICE_NAME}/{self.name}"


def _spec(
    name: str, req: type[Message], resp: type[Message], safety: RetrySafety, streaming: bool = False
) -> RpcSpec:
    return RpcSpec(name, req, resp, streaming, safety)


SUBMIT_JOB = _spec("SubmitJob", pb.SubmitJobRequest, pb.SubmitJobResponse, RetrySafety.PROBE_FIRST)
QUERY_JOB = _spec("QueryJob", pb.QueryJobRequest, pb.QueryJobResponse, RetrySafety.SAFE)
CANCEL_JOB = _spec("CancelJob", pb.CancelJobRequest, pb.CancelJobResponse, RetrySafety.SAFE)
LIST_JOBS = _spec("ListJobs", pb.ListJobsRequest, pb.ListJobsResponse, RetrySafety.SAFE)
GET_JOB_LOGS = _spec("GetJobLogs", pb.GetJobLogsRequest, pb.GetJobLogsResponse, RetrySafety.SAFE)
BATCH_QUERY_JOBS = _spec("BatchQueryJobs", pb.BatchQueryJobsRequest, pb.ListJobsResponse, RetrySafety.SAFE)
BATCH_CANCEL_JOBS = _spec(
    "BatchCancelJobs", pb.BatchCancelJobsRequest, pb.BatchCancelJobsResponse, RetrySafety.SAFE
)
QUERY_CACHE_QUOTA = _spec(
    "QueryCacheQuota", pb.QueryCacheQuotaRequest, pb.QueryCacheQuotaResponse, RetrySafety.SAFE
)
VERIFY_DEPENDENCIES = _spec(
    "VerifyDependencies", pb.VerifyDependenciesRequest, pb.VerifyDependenciesResponse, RetrySafety.SAFE
)
UPLOAD_FILE = _spec(
    "UploadFile", pb.UploadFileRequest, pb.UploadFileResponse, RetrySafety.SAFE, streaming=True
)
SUBMIT_JOB_WITH_ARTIFACTS = _spec(
    "SubmitJobWithArtifacts",
    pb.SubmitJobWithArtifactsRequest,
    pb.SubmitJobWithArtifactsResponse,
    RetrySafety.PROBE_FIRST,
)

#: Every RPC, by name.
ALL_RPCS: dict[str, RpcSpec] = {
    spec.name: spec
    for spec in (
        SUBMIT_JOB,
        QUERY_JOB,
        CANCEL_JOB,
        LIST_JOBS,
        GET_JOB_LOGS,
        BATCH_QUERY_JOBS,
        BATCH_CANCEL_JOBS,
        QUERY_CACHE_QUOTA,
        VERIFY_DEPENDENCIES,
        UPLOAD_FILE,
        SUBMIT_JOB_WITH_ARTIFACTS,
    )
}
