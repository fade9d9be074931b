"""The blob cache: quota, VerifyDependencies, and UploadFile's stream checks."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler

ALICE, BOB = "sk-alice", "sk-bob"
GiB = 1024**3


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks(
    data: bytes, *, key: str = ALICE, chunk: int = 4, name: str = "f.bin"
) -> list[pb.UploadFileRequest]:
    """The chunks a correct client sends for ``data``."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    return [
        pb.UploadFileRequest(
            api_key=key,
            file_hash=sha(data),
            file_size=len(data),
            file_name=name,
            content=piece,
            chunk_id=str(i),
            is_last_chunk=i == len(pieces) - 1,
        )
        for i, piece in enumerate(pieces)
    ]


def upload(stub: pbg.ClientServiceStub, data: bytes, **kwargs: object) -> pb.UploadFileResponse:
    return stub.UploadFile(iter(chunks(data, **kwargs)))  # type: ignore[arg-type]


def quota(stub: pbg.ClientServiceStub, key: str = ALICE) -> tuple[int, int, int]:
    reply = stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=key))
    assert reply.response.success
    return reply.total_quota, reply.used_quota, reply.available_quota


def assert_nothing_kept(fake: FakeScheduler, stub: pbg.ClientServiceStub) -> None:
    assert len(fake.blobs) == 0
    assert list((fake.data_dir / "uploads").iterdir()) == []
    assert list((fake.data_dir / "blobs").iterdir()) == []
    assert quota(stub) == (GiB, 0, GiB)


def test_a_new_key_has_its_whole_quota(stub: pbg.ClientServiceStub) -> None:
    assert quota(stub) == (GiB, 0, GiB)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 8])
def test_uploads_are_rebuilt_byte_for_byte(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, size: int
) -> None:
    data = bytes(range(size))
    reply = upload(stub, data)
    assert reply.response.success
    assert (reply.file_hash, reply.already_exists) == (sha(data), False)
    assert fake.blobs[sha(data)] == data
    assert sha(data) in fake.blobs
    assert quota(stub) == (GiB, size, GiB - size)
    assert len(fake.requests("UploadFile")) == max(1, -(-size // 4))


def test_the_empty_file_is_one_empty_last_chunk(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    reply = upload(stub, b"")
    assert reply.file_hash == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert fake.blobs[reply.file_hash] == b""


def test_a_known_blob_is_answered_after_one_chunk(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    data = b"0123456789"
    upload(stub, data)
    probe = pb.UploadFileRequest(api_key=BOB, file_hash=sha(data), file_size=10, file_name="f", chunk_id="0")
    reply = stub.UploadFile(iter([probe]))
    assert reply.response.success
    assert reply.already_exists
    assert quota(stub, BOB) == (GiB, 0, GiB)  # bob is charged when a job of his references it
    assert upload(stub, data).already_exists


def _tamper(data: bytes, change: Callable[[list[pb.UploadFileRequest]], None]) -> list[pb.UploadFileRequest]:
    requests = chunks(data)
    change(requests)
    return requests


def _set(index: int, **fields: object) -> Callable[[list[pb.UploadFileRequest]], None]:
    def change(requests: list[pb.UploadFileRequest]) -> None:
        for name, value in fields.items():
            setattr(requests[index], name, value)

    return change


DATA = b"abcdefghij"  # three chunks of 4, 4, 2 bytes


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (_set(1, content=b"EFGH"), "HASH_MISMATCH", "hash"),
        (_set(1, content=b"efgh!"), "HASH_MISMATCH", "more than"),
        (lambda r: r.pop(1), "INVALID_ARGUMENT", "chunk_id"),
        (_set(0, chunk_id="1"), "INVALID_ARGUMENT", "chunk_id"),
        (_set(1, chunk_id="01"), "INVALID_ARGUMENT", "chunk_id"),
        (_set(2, is_last_chunk=False), "INVALID_ARGUMENT", "is_last_chunk"),
        (_set(1, is_last_chunk=True), "INVALID_ARGUMENT", "after"),
        (_set(1, file_name="other"), "INVALID_ARGUMENT", "file_name"),
        (_set(2, file_hash=sha(b"x")), "INVALID_ARGUMENT", "file_hash"),
        (_set(2, file_size=99), "INVALID_ARGUMENT", "file_size"),
        (_set(0, file_hash=sha(b"x")), "INVALID_ARGUMENT", "file_hash"),
    ],
)
def test_bad_streams_are_refused_and_nothing_is_kept(
    stub: pbg.ClientServiceStub,
    fake: FakeScheduler,
    change: Callable[[list[pb.UploadFileRequest]], None],
    code: str,
    words: str,
) -> None:
    reply = stub.UploadFile(iter(_tamper(DATA, change)))
    assert not reply.response.success
    assert reply.response.error_code == code
    assert words in reply.response.message
    assert_nothing_kept(fake, stub)


@pytest.mark.parametrize(
    ("size", "code"),
    [(len(DATA) + 1, "HASH_MISMATCH"), (len(DATA) - 1, "HASH_MISMATCH"), (-1, "INVALID_ARGUMENT")],
)
def test_the_size_is_checked(stub: pbg.ClientServiceStub, fake: FakeScheduler, size: int, code: str) -> None:
    requests = chunks(DATA)
    for request in requests:
        request.file_size = size
    reply = stub.UploadFile(iter(requests))
    assert reply.response.error_code == code
    assert_nothing_kept(fake, stub)


@pytest.mark.parametrize("bad_hash", ["", "abc", sha(b"x").upper(), sha(b"x") + "0", "g" * 64])
def test_the_hash_must_be_lowercase_hex_sha256(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, bad_hash: str
) -> None:
    requests = chunks(DATA)
    for request in requests:
        request.file_hash = bad_hash
    reply = stub.UploadFile(iter(requests))
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert "file_hash" in reply.response.message
    assert_nothing_kept(fake, stub)


def test_an_empty_stream_is_refused(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    reply = stub.UploadFile(iter([]))
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert fake.request_count("UploadFile") == 1


def test_a_broken_off_stream_keeps_nothing(
    stub: pbg.ClientServiceStub, fake: FakeScheduler, eventually: Callable[..., None]
) -> None:
    release = threading.Event()
    requests = chunks(b"x" * 40)

    def stream() -> Iterator[pb.UploadFileRequest]:
        yield requests[0]
        yield requests[1]
        release.wait(10)

    future = stub.UploadFile.future(stream())
    eventually(lambda: len(fake.requests("UploadFile")) == 2)
    future.cancel()
    release.set()
    with pytest.raises(grpc.FutureCancelledError):
        future.result()
    eventually(lambda: not list((fake.data_dir / "uploads").iterdir()))
    assert_nothing_kept(fake, stub)


def test_uploads_beyond_the_quota_are_refused(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub],
) -> None:
    with FakeScheduler(quota_bytes=10) as fake:
        stub = connect(fake)
        refused = upload(stub, b"x" * 11, key="sk-test")
        assert refused.response.error_code == "QUOTA_EXCEEDED"
        assert fake.request_count("UploadFile") == 1
        assert upload(stub, b"y" * 10, key="sk-test").response.success
        assert quota(stub, "sk-test") == (10, 10, 0)
        assert upload(stub, b"z", key="sk-test").response.error_code == "QUOTA_EXCEEDED"
        assert set(fake.blobs) == {sha(b"y" * 10)}


def test_messages_over_the_limit_are_refused_like_a_real_server(
    stub: pbg.ClientServiceStub,
    fake: FakeScheduler,
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub],
) -> None:
    big = b"b" * (4 * 1024 * 1024 + 1)
    with pytest.raises(grpc.RpcError) as caught:
        upload(stub, big, chunk=len(big))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(fake.blobs) == 0
    with FakeScheduler(max_message_bytes=8 * 1024 * 1024) as roomy:
        assert upload(connect(roomy), big, key="sk-test", chunk=len(big)).response.success


def test_verify_sorts_blobs_into_the_three_classes(stub: pbg.ClientServiceStub) -> None:
    known, unknown = b"k" * 100, b"u" * 30
    upload(stub, known)  # charged to alice: class C for her, class B for bob

    def verify(key: str, *hashes: str, total: int) -> pb.VerifyDependenciesResponse:
        reply = stub.VerifyDependencies(
            pb.VerifyDependenciesRequest(api_key=key, file_hashes=hashes, total_size=total)
        )
        assert reply.response.success
        return reply

    bob = verify(BOB, sha(known), sha(unknown), total=130)
    assert (list(bob.missing_hashes), list(bob.existing_hashes)) == ([sha(unknown)], [sha(known)])
    assert (bob.missing_size, bob.quota_sufficient) == (30, True)
    alice = verify(ALICE, sha(known), sha(known), total=100)
    assert (list(alice.missing_hashes), list(alice.existing_hashes), alice.missing_size) == (
        [],
        [sha(known)],
        0,
    )
    assert verify(ALICE, total=0).quota_sufficient


def test_verify_counts_class_b_against_the_quota(
    connect: Callable[[FakeScheduler], pbg.ClientServiceStub],
) -> None:
    keys = {"sk-a": "a", "sk-b": "b"}
    with FakeScheduler(api_keys=keys, quota_bytes=150) as fake:
        stub = connect(fake)
        known = b"k" * 100
        upload(stub, known, key="sk-a")

        def sufficient(key: str, total: int, *hashes: str) -> bool:
            request = pb.VerifyDependenciesRequest(api_key=key, file_hashes=hashes, total_size=total)
            return stub.VerifyDependencies(request).quota_sufficient

        new = sha(b"n" * 50)
        assert sufficient("sk-a", 150, sha(known), new)  # C is free: 50 of 50 left
        assert not sufficient("sk-a", 151, sha(known), new)  # 51 new bytes do not fit
        assert sufficient("sk-b", 150, sha(known), new)  # B costs 100, A costs 50
        assert not sufficient("sk-b", 151, sha(known), new)


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"file_hashes": ["ab"]}, "file_hashes[0]"), ({"total_size": -1}, "total_size")],
)
def test_verify_refuses_bad_input(stub: pbg.ClientServiceStub, fields: dict[str, object], named: str) -> None:
    reply = stub.VerifyDependencies(pb.VerifyDependenciesRequest(api_key=ALICE, **fields))  # type: ignore[arg-type]
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert named in reply.response.message
