"""Shared fixtures: a fake scheduler with three users, and a raw gRPC stub connected to it."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler

ALICE, BOB, ADMIN = "sk-alice", "sk-bob", "sk-admin"
KEYS = {ALICE: "alice", BOB: "bob", ADMIN: "root"}


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Every thread the package starts is named desam-*; none may outlive its test."""
    yield
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("desam-")]
    assert leftovers == []


@pytest.fixture
def fake() -> Iterator[FakeScheduler]:
    with FakeScheduler(api_keys=KEYS, admin_keys=[ADMIN]) as scheduler:
        yield scheduler


@pytest.fixture
def stub(fake: FakeScheduler) -> Iterator[pbg.ClientServiceStub]:
    with grpc.insecure_channel(fake.address) as channel:
        yield pbg.ClientServiceStub(channel)


@pytest.fixture
def connect() -> Iterator[Callable[[FakeScheduler], pbg.ClientServiceStub]]:
    """Open a stub to any scheduler; channels are closed at teardown."""
    channels: list[grpc.Channel] = []

    def _connect(scheduler: FakeScheduler) -> pbg.ClientServiceStub:
        channel = grpc.insecure_channel(scheduler.address)
        channels.append(channel)
        return pbg.ClientServiceStub(channel)

    yield _connect
    for channel in channels:
        channel.close()


@pytest.fixture
def submit(stub: pbg.ClientServiceStub) -> Callable[..., str]:
    """Submit a job through SubmitJob and return its id (the reply must succeed)."""

    def _submit(api_key: str = ALICE, **fields: Any) -> str:
        fields.setdefault("name", "job")
        fields.setdefault("command", "true")
        reply = stub.SubmitJob(pb.SubmitJobRequest(api_key=api_key, **fields))
        assert reply.response.success, reply.response
        return reply.job_id

    return _submit


@pytest.fixture
def put_blob() -> Callable[..., str]:
    """Upload bytes as one chunk through UploadFile and return their hash (the reply must succeed)."""

    def _put(stub: pbg.ClientServiceStub, data: bytes, key: str = "sk-test", name: str = "blob") -> str:
        digest = hashlib.sha256(data).hexdigest()
        chunk = pb.UploadFileRequest(
            api_key=key,
            file_hash=digest,
            file_size=len(data),
            file_name=name,
            content=data,
            chunk_id="0",
            is_last_chunk=True,
        )
        reply = stub.UploadFile(iter([chunk]))
        assert reply.response.success, reply.response
        return digest

    return _put


def _eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def eventually() -> Callable[..., None]:
    """Wait until ``predicate()`` holds, for facts in another process or thread that no event announces."""
    return _eventually


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while we read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def alive() -> Callable[[int], bool]:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    return _alive
