"""SubmitJobWithArtifacts: missing blobs, quota charging, tree checks, and safe placement of the files."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler

ALICE, BOB = "sk-alice", "sk-bob"
Node = pb.FileTreeNode


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, content, unix mode) entries; mode with S_IFLNK makes a symbolic link."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def request(
    hashes: list[str], tree: Node | None = None, key: str = ALICE, **fields: Any
) -> pb.SubmitJobWithArtifactsRequest:
    message = pb.SubmitJobWithArtifactsRequest(
        api_key=key, name="n", command="c", file_hashes=hashes, **fields
    )
    if tree is not None:
        message.file_tree.CopyFrom(tree)
    return message


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[FakeScheduler]:
    """A scheduler whose data lives in tmp_path/data, so escapes into tmp_path can be seen."""
    keys = {ALICE: "alice", BOB: "bob"}
    with FakeScheduler(api_keys=keys, data_dir=tmp_path / "data", quota_bytes=1000) as fake:
        yield fake


@pytest.fixture
def stub(
    scheduler: FakeScheduler, connect: Callable[[FakeScheduler], pbg.ClientServiceStub]
) -> pbg.ClientServiceStub:
    return connect(scheduler)


Put = Callable[..., str]


@pytest.fixture
def put(stub: pbg.ClientServiceStub, put_blob: Put) -> Put:
    """Upload bytes (as alice unless ``key=`` says otherwise) and return their hash."""
    return lambda data, key=ALICE: put_blob(stub, data, key)


def test_missing_blobs_are_listed_and_no_job_is_made(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put
) -> None:
    have = put(b"have")
    absent = sha(b"absent")
    tree = Node(
        children=[
            Node(path="a", is_file=True, file_hash=have),
            Node(path="b", is_file=True, file_hash=absent),
        ]
    )
    reply = stub.SubmitJobWithArtifacts(request([have, absent], tree))
    assert (reply.response.success, reply.response.error_code) == (False, "MISSING_DEPENDENCIES")
    assert list(reply.missing_hashes) == [absent]
    assert reply.job_id == ""
    assert scheduler.jobs == []


def test_a_submission_charges_the_key_for_the_blobs_it_references(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put
) -> None:
    blob = put(b"x" * 600)  # alice's; class B for bob
    reply = stub.SubmitJobWithArtifacts(request([blob], key=BOB, metadata={"k": "v"}))
    assert reply.response.success
    assert reply.job.status == pb.QUEUED
    assert list(reply.job.artifacts) == [blob]
    assert reply.job.user_id == "bob"
    assert dict(reply.job.metadata) == {"k": "v"}
    bob = stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=BOB))
    assert (bob.used_quota, bob.available_quota) == (600, 400)
    verify = stub.VerifyDependencies(
        pb.VerifyDependenciesRequest(api_key=BOB, file_hashes=[blob], total_size=600)
    )
    assert verify.quota_sufficient  # class C now: free
    # a second reference costs nothing
    assert stub.SubmitJobWithArtifacts(request([blob], key=BOB)).response.success
    assert stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=BOB)).used_quota == 600


def test_class_b_blobs_beyond_the_quota_are_refused(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put
) -> None:
    big = put(b"x" * 750)  # alice's
    own = put(b"y" * 300, key=BOB)
    assert stub.SubmitJobWithArtifacts(request([own], key=BOB)).response.success
    refused = stub.SubmitJobWithArtifacts(request([big, own], key=BOB))
    assert refused.response.error_code == "QUOTA_EXCEEDED"
    assert len(scheduler.jobs) == 1
    assert stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=BOB)).used_quota == 300


def test_submission_id_makes_it_idempotent(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put
) -> None:
    blob = put(b"data")
    message = request([blob], metadata={"desam-submission-id": "abc"})
    first, second = stub.SubmitJobWithArtifacts(message), stub.SubmitJobWithArtifacts(message)
    assert first.response.success
    assert second.response.success
    assert first.job_id == second.job_id
    assert len(scheduler.jobs) == 1


def test_the_common_fields_are_validated(stub: pbg.ClientServiceStub) -> None:
    reply = stub.SubmitJobWithArtifacts(request([], retries=-1))
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert "retries" in reply.response.message


H = sha(b"blob")


@pytest.mark.parametrize(
    ("tree", "hashes", "words"),
    [
        (Node(path="root"), [], "root"),
        (Node(is_file=True, file_hash=H), [H], "root"),
        (Node(children=[Node(path="", is_file=True, file_hash=H)]), [H], "segment"),
        (Node(children=[Node(path=".", is_file=True, file_hash=H)]), [H], "segment"),
        (Node(children=[Node(path="..", is_file=True, file_hash=H)]), [H], "segment"),
        (Node(children=[Node(path="a/b", is_file=True, file_hash=H)]), [H], "segment"),
        (Node(children=[Node(path="a\\b", is_file=True, file_hash=H)]), [H], "segment"),
        (Node(children=[Node(path="d", children=[Node(path="..", file_hash=H)])]), [H], "segment"),
        (Node(children=[Node(path="f", is_file=True)]), [], "needs a file_hash"),
        (
            Node(children=[Node(path="f", is_file=True, file_hash=H, children=[Node(path="x")])]),
            [H],
            "children",
        ),
        (Node(children=[Node(path="f", is_file=True, file_hash=H)]), [], "not listed"),
        (Node(children=[Node(path="f", is_file=True, file_hash="nothex")]), ["nothex"], "SHA-256"),
        (Node(children=[Node(path="f", is_file=True, file_hash=H), Node(path="f")]), [H], "twice"),
    ],
)
def test_bad_trees_are_refused(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, tree: Node, hashes: list[str], words: str, put: Put
) -> None:
    put(b"blob")
    reply = stub.SubmitJobWithArtifacts(request(hashes, tree))
    assert reply.response.error_code == "INVALID_ARGUMENT"
    assert words in reply.response.message
    assert scheduler.jobs == []


def _submit_and_prepare(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put, tree: Node, *blobs: bytes
) -> str:
    hashes = [put(blob) for blob in blobs]
    reply = stub.SubmitJobWithArtifacts(request(hashes, tree))
    assert reply.response.success, reply.response
    return reply.job_id


def test_files_archives_and_plain_directories_are_placed(
    stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put
) -> None:
    config = b"lr: 0.1\n"
    archive = make_zip(
        [
            ("train.py", b"print('hi')\n", stat.S_IFREG | 0o644),
            ("bin/", b"", stat.S_IFDIR | 0o755),
            ("bin/run.sh", b"#!/bin/sh\n", stat.S_IFREG | 0o755),
            ("./nested/deep.txt", b"deep", stat.S_IFREG | 0o644),
        ]
    )
    tree = Node(
        children=[
            Node(path="config.yaml", is_file=True, file_hash=sha(config)),
            Node(path="code", file_hash=sha(archive)),
            Node(
                path="inputs",
                children=[
                    Node(path="raw", children=[Node(path="c.yaml", is_file=True, file_hash=sha(config))])
                ],
            ),
        ]
    )
    job_id = _submit_and_prepare(stub, scheduler, put, tree, config, archive)
    directory = scheduler.manual.prepare(job_id)
    assert directory == scheduler.data_dir / "jobs" / job_id
    files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    assert files == [
        "code/bin/run.sh",
        "code/nested/deep.txt",
        "code/train.py",
        "config.yaml",
        "inputs/raw/c.yaml",
    ]
    assert (directory / "config.yaml").read_bytes() == config
    assert (directory / "code" / "train.py").read_bytes() == b"print('hi')\n"
    assert (directory / "code" / "bin" / "run.sh").stat().st_mode & 0o111
    assert not (directory / "code" / "train.py").stat().st_mode & 0o111
    assert scheduler.get_job(job_id).status == pb.PREPARING


def test_an_archive_at_the_root(stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put) -> None:
    archive = make_zip([("a.txt", b"a", stat.S_IFREG | 0o644)])
    job_id = _submit_and_prepare(stub, scheduler, put, Node(file_hash=sha(archive)), archive)
    directory = scheduler.manual.prepare(job_id)
    assert directory is not None
    assert (directory / "a.txt").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("name", "mode", "content", "words"),
    [
        ("../evil", stat.S_IFREG | 0o644, b"x", ".."),
        ("ok/../../evil", stat.S_IFREG | 0o644, b"x", ".."),
        ("..\\evil", stat.S_IFREG | 0o644, b"x", ".."),
        ("/tmp/evil", stat.S_IFREG | 0o644, b"x", "absolute"),
        ("C:/evil", stat.S_IFREG | 0o644, b"x", "absolute"),
        ("link", stat.S_IFLNK | 0o777, b"../../..", "symbolic link"),
        ("inner", stat.S_IFLNK | 0o777, b"sub", "symbolic link"),
    ],
)
def test_unsafe_archives_are_refused_before_anything_is_written(
    stub: pbg.ClientServiceStub,
    scheduler: FakeScheduler,
    tmp_path: Path,
    name: str,
    mode: int,
    content: bytes,
    words: str,
    put: Put,
) -> None:
    archive = make_zip(
        [
            ("first.txt", b"1", stat.S_IFREG | 0o644),
            (name, content, mode),
            ("evil/x", b"x", stat.S_IFREG | 0o644),
        ]
    )
    tree = Node(children=[Node(path="d", children=[Node(path="e", file_hash=sha(archive))])])
    job_id = _submit_and_prepare(stub, scheduler, put, tree, archive)
    assert scheduler.manual.prepare(job_id) is None
    job = scheduler.get_job(job_id)
    assert job.status == pb.DATA_DEPENDENCY_ERROR
    assert words in job.error_message
    assert repr(name) in job.error_message
    assert not any("evil" in path.name for path in tmp_path.rglob("*"))
    assert not list((scheduler.data_dir / "jobs" / job_id).rglob("*.txt"))


def test_a_blob_that_is_not_a_zip(stub: pbg.ClientServiceStub, scheduler: FakeScheduler, put: Put) -> None:
    tree = Node(children=[Node(path="d", file_hash=sha(b"plain"))])
    job_id = _submit_and_prepare(stub, scheduler, put, tree, b"plain")
    scheduler.manual.start(job_id)  # start prepares first; staging fails
    job = scheduler.get_job(job_id)
    assert job.status == pb.DATA_DEPENDENCY_ERROR
    assert "zip" in job.error_message
