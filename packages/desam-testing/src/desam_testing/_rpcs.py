"""The eleven RPCs of ``desam.client.ClientService``: names and message types, in one table."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from desam_proto import client_pb2 as pb

__all__ = ["RPCS", "RpcSpec", "check_rpc_name"]


@dataclass(frozen=True)
class RpcSpec:
    """One RPC of the service.

    Attributes:
        name: The method name, e.g. ``"QueryJob"``.
        request_type: The request message class.
        response_type: The response message class (every one has a ``response`` CommonResponse).
        client_streaming: Whether the client sends a stream of requests (only UploadFile).
    """

    name: str
    request_type: type[Message]
    response_type: type[Message]
    client_streaming: bool = False


RPCS: dict[str, RpcSpec] = {
    spec.name: spec
    for spec in (
        RpcSpec("SubmitJob", pb.SubmitJobRequest, pb.SubmitJobResponse),
        RpcSpec("QueryJob", pb.QueryJobRequest, pb.QueryJobResponse),
        RpcSpec("CancelJob", pb.CancelJobRequest, pb.CancelJobResponse),
        RpcSpec("ListJobs", pb.ListJobsRequest, pb.ListJobsResponse),
        RpcSpec("GetJobLogs", pb.GetJobLogsRequest, pb.GetJobLogsResponse),
        RpcSpec("BatchQueryJobs", pb.BatchQueryJobsRequest, pb.ListJobsResponse),
        RpcSpec("BatchCancelJobs", pb.BatchCancelJobsRequest, pb.BatchCancelJobsResponse),
        RpcSpec("QueryCacheQuota", pb.QueryCacheQuotaRequest, pb.QueryCacheQuotaResponse),
        RpcSpec("VerifyDependencies", pb.VerifyDependenciesRequest, pb.VerifyDependenciesResponse),
        RpcSpec("UploadFile", pb.UploadFileRequest, pb.UploadFileResponse, client_streaming=True),
        RpcSpec(
            "SubmitJobWithArtifacts", pb.SubmitJobWithArtifactsRequest, pb.SubmitJobWithArtifactsResponse
        ),
    )
}


def check_rpc_name(name: str) -> str:
    """Return ``name`` if it is one of the eleven RPCs, else raise :class:`ValueError`."""
    if name not in RPCS:
        raise ValueError(f"unknown RPC {name!r}; expected one of: {', '.join(RPCS)}")
    return name
