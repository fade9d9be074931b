"""The fake scheduler fed random bytes and messages with random field values, on every RPC.

Through a raw gRPC channel, with no client in between: each RPC's method path gets
(a) arbitrary bytes, alone or after a valid ``api_key`` field so that they reach
the handlers, and (b) well-formed messages whose every field is random (valid API
keys, known job ids and blob hashes mixed in). The fake must never crash: every
call ends with a reply of the RPC's type or a gRPC status, never with the INTERNAL
"fake scheduler error" that an exception inside a handler produces, and it keeps
serving normal calls afterwards. The examples are derandomized.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from desam_client import DeSAMClient
from desam_proto import SERVICE_NAME
from desam_proto import client_pb2 as pb
from desam_testing import FakeScheduler

KEYS = {"sk-test": "alice", "sk-other": "bob", "sk-admin": "admin"}
RPCS: dict[str, tuple[type[Message], type[Message], bool]] = {
    "SubmitJob": (pb.SubmitJobRequest, pb.SubmitJobResponse, False),
    "QueryJob": (pb.QueryJobRequest, pb.QueryJobResponse, False),
    "CancelJob": (pb.CancelJobRequest, pb.CancelJobResponse, False),
    "ListJobs": (pb.ListJobsRequest, pb.ListJobsResponse, False),
    "GetJobLogs": (pb.GetJobLogsRequest, pb.GetJobLogsResponse, False),
    "BatchQueryJobs": (pb.BatchQueryJobsRequest, pb.ListJobsResponse, False),
    "BatchCancelJobs": (pb.BatchCancelJobsRequest, pb.BatchCancelJobsResponse, False),
    "QueryCacheQuota": (pb.QueryCacheQuotaRequest, pb.QueryCacheQuotaResponse, False),
    "VerifyDependencies": (pb.VerifyDependenciesRequest, pb.VerifyDependenciesResponse, False),
    "UploadFile": (pb.UploadFileRequest, pb.UploadFileResponse, True),
    "SubmitJobWithArtifacts": (pb.SubmitJobWithArtifactsRequest, pb.SubmitJobWithArtifactsResponse, False),
}
ERROR_CODES = {
    "INVALID_API_KEY",
    "JOB_NOT_FOUND",
    "INVALID_ARGUMENT",
    "INSUFFICIENT_RESOURCES",
    "JOB_NOT_CANCELLABLE",
    "QUOTA_EXCEEDED",
    "HASH_MISMATCH",
    "MISSING_DEPENDENCIES",
    "PERMISSION_DENIED",
}
BYTES_EXAMPLES = 100
MESSAGE_EXAMPLES = 120
BLOB = b"reliability blob\n"


class Target:
    """A fake scheduler with some jobs, logs and a blob, and a raw channel to it."""

    def __init__(self) -> None:
        self.fake = FakeScheduler(api_keys=KEYS, admin_keys=["sk-admin"], quota_bytes=1 << 20).start()
        self.channel = grpc.insecure_channel(self.fake.address)
        with DeSAMClient(
            host=self.fake.host, port=self.fake.port, api_key="sk-test", load_entrypoint_plugins=False
        ) as client:
            self.job_ids = [client.submit_job(name=f"seed-{i}", command="true") for i in range(4)]
        self.blob_hash = self._upload()
        executor = self.fake.executor
        executor.start(self.job_ids[1])
        executor.log(self.job_ids[1], "one", "two", "three")
        executor.start(self.job_ids[2])
        executor.succeed(self.job_ids[2])
        self.job_ids.append(self.fake.inject_job(owner="bob", name="bob's"))
        self.outcomes: dict[str, int] = {}

    def _upload(self) -> str:
        digest = hashlib.sha256(BLOB).hexdigest()
        request = pb.UploadFileRequest(
            api_key="sk-test",
            file_hash=digest,
            file_size=len(BLOB),
            file_name="blob.txt",
            content=BLOB,
            is_last_chunk=True,
            chunk_id="0",
        )
        reply = self.call("UploadFile", [request.SerializeToString()])
        assert isinstance(reply, bytes) and pb.UploadFileResponse.FromString(reply).response.success
        return digest

    def call(self, rpc: str, payload: bytes | list[bytes]) -> bytes | grpc.RpcError:
        path = f"/{SERVICE_NAME}/{rpc}"
        try:
            if RPCS[rpc][2]:
                chunks = payload if isinstance(payload, list) else [payload]
                return self.channel.stream_unary(path)(iter(chunks), timeout=20)  # type: ignore[no-any-return]
            assert isinstance(payload, bytes)
            return self.channel.unary_unary(path)(payload, timeout=20)  # type: ignore[no-any-return]
        except grpc.RpcError as error:
            return error

    def check(self, rpc: str, outcome: bytes | grpc.RpcError) -> None:
        """A reply of the RPC's type, or a status other than a handler crash."""
        if isinstance(outcome, grpc.RpcError):
            code, details = outcome.code(), outcome.details() or ""
            assert "fake scheduler error" not in details, f"{rpc} crashed: {details}"
            assert code in {
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            }, (rpc, code, details)
            key = code.name
        else:
            reply = RPCS[rpc][1].FromString(outcome)
            common = reply.response  # type: ignore[attr-defined]
            assert common.success or common.error_code in ERROR_CODES, (rpc, common)
            key = "ok" if common.success else common.error_code
        self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def close(self) -> None:
        self.channel.close()
        self.fake.stop()


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    made = Target()
    yield made
    made.close()


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )


def _seed(*parts: str) -> int:
    """A fixed seed per test and RPC: the same examples on every run, different ones per RPC."""
    return zlib.crc32("/".join(parts).encode())


def _still_serves(target: Target) -> None:
    with DeSAMClient(
        host=target.fake.host, port=target.fake.port, api_key="sk-test", load_entrypoint_plugins=False
    ) as client:
        assert client.get_info(target.job_ids[0]).name == "seed-0"
        new = client.submit_job(name="after the storm", command="true")
        assert client.get_status(new) == "QUEUED"


# -- (a) arbitrary bytes -----------------------------------------------------------------------


def _key_prefix(rpc: str) -> bytes:
    return RPCS[rpc][0](api_key="sk-test").SerializeToString()  # type: ignore[call-arg]


@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_random_bytes_on_every_rpc(target: Target, rpc: str, report: Callable[..., None]) -> None:
    before = dict(target.outcomes)

    @seed(_seed("bytes", rpc))
    @_settings(BYTES_EXAMPLES)
    @given(raw=st.binary(max_size=600), keyed=st.booleans(), chunks=st.integers(1, 3))
    def check(raw: bytes, keyed: bool, chunks: int) -> None:
        payload = (_key_prefix(rpc) if keyed else b"") + raw
        sent: bytes | list[bytes] = [payload] * chunks if RPCS[rpc][2] else payload
        target.check(rpc, target.call(rpc, sent))

    check()
    _still_serves(target)
    outcomes = _delta(before, target.outcomes)
    report(rpc=rpc, examples=sum(outcomes.values()), outcomes=outcomes)


# -- (b) well-formed messages, random field values ---------------------------------------------

_INT32 = st.integers(-(2**31), 2**31 - 1)
_INT64 = st.integers(-(2**63), 2**63 - 1)
_TEXT = st.text(max_size=24)


def _string(name: str, target: Target) -> st.SearchStrategy[str]:
    if name == "api_key":
        return st.sampled_from(["sk-test", "sk-test", "sk-test", "sk-other", "sk-admin", "", "sk-unknown"])
    if name in {"job_id", "job_ids"}:
        return st.one_of(st.sampled_from(target.job_ids), _TEXT)
    if name in {"file_hash", "file_hashes"}:
        empty = hashlib.sha256(b"").hexdigest()
        return st.one_of(st.sampled_from([target.blob_hash, empty, "0" * 64, "A" * 64]), _TEXT)
    if name == "chunk_id":
        return st.one_of(st.integers(-2, 5).map(str), _TEXT)
    if name in {"path", "dest_path", "source_path", "working_dir", "file_name"}:
        return st.one_of(
            st.sampled_from(["", ".", "..", "../x", "/etc/passwd", "a/b", "data", "\x00"]), _TEXT
        )
    return _TEXT


def _scalar(field: FieldDescriptor, target: Target) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string(field.name, target)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.just(BLOB), st.binary(max_size=64))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), _INT32)
    if kind in {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64}:
        return st.one_of(st.integers(-3, 5), _INT64)
    if kind in {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32}:
        return st.one_of(st.integers(-3, 5), _INT32)
    raise AssertionError(f"no strategy for {field.full_name} (type {kind})")


def messages(descriptor: Descriptor, target: Target, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor`` with random values in a random subset of fields."""
    cls: Any = getattr(pb, descriptor.name)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            fields[field.name] = st.dictionaries(_TEXT, _TEXT, max_size=3)
            continue
        if field.message_type is not None:
            if depth >= 3:
                continue
            one = st.deferred(lambda f=field: messages(f.message_type, target, depth + 1))
        else:
            one = _scalar(field, target)
        is_repeated = field.label == FieldDescriptor.LABEL_REPEATED
        fields[field.name] = st.lists(one, max_size=4 if depth == 0 else 2) if is_repeated else one
    required = {"api_key": fields.pop("api_key")} if depth == 0 and "api_key" in fields else {}
    return st.fixed_dictionaries(required, optional=fields).map(lambda values: cls(**values))


def _upload_streams(target: Target) -> st.SearchStrategy[list[bytes]]:
    """Mostly coherent uploads (right hash, size and order) with one field changed, or random chunks."""

    def coherent(data: bytes, pieces: int, field: str, value: Any) -> list[bytes]:
        size = max(1, -(-len(data) // pieces))
        parts = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        chunks = [
            pb.UploadFileRequest(
                api_key="sk-test",
                file_hash=hashlib.sha256(data).hexdigest(),
                file_size=len(data),
                file_name="f.bin",
                content=part,
                chunk_id=str(n),
                is_last_chunk=n == len(parts) - 1,
            )
            for n, part in enumerate(parts)
        ]
        if field:
            setattr(chunks[value[0] % len(chunks)], field, value[1])
        return [chunk.SerializeToString() for chunk in chunks]

    change = st.one_of(
        st.just(("", (0, None))),
        st.tuples(st.just("file_size"), st.tuples(st.integers(0, 3), _INT64)),
        st.tuples(st.just("chunk_id"), st.tuples(st.integers(0, 3), _string("chunk_id", target))),
        st.tuples(st.just("is_last_chunk"), st.tuples(st.integers(0, 3), st.booleans())),
        st.tuples(st.just("file_hash"), st.tuples(st.integers(0, 3), _string("file_hash", target))),
        st.tuples(st.just("api_key"), st.tuples(st.integers(0, 3), _string("api_key", target))),
        st.tuples(st.just("content"), st.tuples(st.integers(0, 3), st.binary(max_size=16))),
    )
    random_chunks = st.lists(messages(pb.UploadFileRequest.DESCRIPTOR, target), min_size=0, max_size=4).map(
        lambda chunks: [chunk.SerializeToString() for chunk in chunks]
    )
    return st.one_of(
        st.builds(
            lambda d, p, c: coherent(d, p, c[0], c[1]), st.binary(max_size=64), st.integers(1, 4), change
        ),
        random_chunks,
    )


@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_random_field_values_on_every_rpc(target: Target, rpc: str, report: Callable[..., None]) -> None:
    before = dict(target.outcomes)
    request_type, _, streaming = RPCS[rpc]
    payloads: st.SearchStrategy[Any] = (
        _upload_streams(target)
        if streaming
        else messages(request_type.DESCRIPTOR, target).map(lambda message: message.SerializeToString())
    )

    @seed(_seed("messages", rpc))
    @_settings(MESSAGE_EXAMPLES)
    @given(payload=payloads)
    def check(payload: bytes | list[bytes]) -> None:
        target.check(rpc, target.call(rpc, payload))

    check()
    _still_serves(target)
    outcomes = _delta(before, target.outcomes)
    report(rpc=rpc, examples=sum(outcomes.values()), outcomes=outcomes)


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in sorted(after) if after[key] != before.get(key, 0)}
