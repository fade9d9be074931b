"""The generated gRPC code end to end: a real server on loopback, the generated stub, real calls.

Run by ``nox -s compat`` on the oldest and the newest supported grpcio/protobuf too.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pb_grpc

TIMEOUT = 5.0


class Scheduler(pb_grpc.ClientServiceServicer):
    """Answers QueryJob and UploadFile; every other RPC stays the generated UNIMPLEMENTED one."""

    def QueryJob(self, request: pb.QueryJobRequest, context: grpc.ServicerContext) -> pb.QueryJobResponse:
        if request.api_key != "sk-good":
            return pb.QueryJobResponse(
                response=pb.CommonResponse(success=False, message="bad key", error_code="INVALID_API_KEY")
            )
        job = pb.Job(job_id=request.job_id, status=pb.RUNNING, labels={"via": "smoke"})
        return pb.QueryJobResponse(response=pb.CommonResponse(success=True), job=job)

    def UploadFile(
        self, request_iterator: Iterator[pb.UploadFileRequest], context: grpc.ServicerContext
    ) -> pb.UploadFileResponse:
        chunks = list(request_iterator)
        data = b"".join(chunk.content for chunk in chunks)
        ok = bool(chunks) and chunks[-1].is_last_chunk and len(data) == chunks[0].file_size
        return pb.UploadFileResponse(response=pb.CommonResponse(success=ok), file_hash=chunks[0].file_hash)


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    # The .pyi declares every RPC abstract; at run time the base class answers UNIMPLEMENTED.
    pb_grpc.add_ClientServiceServicer_to_server(Scheduler(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    assert port, "could not bind a loopback port"
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
            grpc.channel_ready_future(chan).result(timeout=TIMEOUT)
            yield chan
    finally:
        server.stop(grace=None).wait(TIMEOUT)


def test_unary_call_through_the_stub(channel: grpc.Channel) -> None:
    stub = pb_grpc.ClientServiceStub(channel)
    reply = stub.QueryJob(pb.QueryJobRequest(api_key="sk-good", job_id="job-7"), timeout=TIMEOUT)
    assert reply.response.success
    assert reply.job.job_id == "job-7"
    assert reply.job.status == pb.RUNNING
    assert dict(reply.job.labels) == {"via": "smoke"}

    refused = stub.QueryJob(pb.QueryJobRequest(api_key="sk-bad", job_id="job-7"), timeout=TIMEOUT)
    assert not refused.response.success
    assert refused.response.error_code == "INVALID_API_KEY"


def test_the_method_path_is_the_contract_s(channel: grpc.Channel) -> None:
    # What a deployed scheduler routes on: /desam.client.ClientService/<Method>, called here by hand.
    call = channel.unary_unary(
        "/desam.client.ClientService/QueryJob",
        request_serializer=pb.QueryJobRequest.SerializeToString,
        response_deserializer=pb.QueryJobResponse.FromString,
    )
    reply = call(pb.QueryJobRequest(api_key="sk-good", job_id="job-8"), timeout=TIMEOUT)
    assert reply.job.job_id == "job-8"


def test_client_streaming_call(channel: grpc.Channel) -> None:
    stub = pb_grpc.ClientServiceStub(channel)
    chunks = [
        pb.UploadFileRequest(file_hash="ab" * 32, file_size=5, file_name="f", content=b"hel", chunk_id="0"),
        pb.UploadFileRequest(
            file_hash="ab" * 32, file_size=5, file_name="f", content=b"lo", chunk_id="1", is_last_chunk=True
        ),
    ]
    reply = stub.UploadFile(iter(chunks), timeout=TIMEOUT)
    assert reply.response.success
    assert reply.file_hash == "ab" * 32


def test_an_rpc_the_servicer_lacks_is_unimplemented(channel: grpc.Channel) -> None:
    stub = pb_grpc.ClientServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListJobs(pb.ListJobsRequest(api_key="sk-good"), timeout=TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
