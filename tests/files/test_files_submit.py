"""Jobs with files against the fake scheduler (C-09, quota, missing blobs, errors), for both clients."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desam_client import (
    DeSAMError,
    InvalidArgumentError,
    LocalFileNotFoundError,
    MissingDependenciesError,
    QuotaExceededError,
    hookimpl,
)
from desam_client.files import build_plan, write_archive
from desam_proto import client_pb2 as pb
from desam_testing import FakeScheduler

TREE = {"a.txt": b"alpha\n", "b": {"c.txt": b"gamma\n"}}


def _touch_all(root: Path, when: float) -> None:
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            os.utime(Path(folder) / name, (when, when))
    os.utime(root, (when, when))


def test_c09_same_tree_after_mtime_order_and_tz_changes_uploads_nothing(
    client: Any,
    files: Any,
    fake: FakeScheduler,
    tmp_path: Path,
    make_tree: Callable[..., None],
    other_tz: Callable[[str], None],
) -> None:
    src = tmp_path / "project"
    make_tree(src, TREE)
    first_bytes = io.BytesIO()
    first_digest = write_archive(src, first_bytes)

    job1 = files.submit_job_with_files("c09", "true", {"code": src, "data/a.txt": src / "a.txt"})
    assert fake.request_count("UploadFile") == 2  # the archive and the single file
    first = fake.requests("SubmitJobWithArtifacts")[-1]
    assert first_digest.sha256 in first.file_hashes
    assert fake.blobs[first_digest.sha256] == first_bytes.getvalue()

    shutil.rmtree(src)
    make_tree(src, TREE, reverse=True)  # created in another order
    _touch_all(src, time.time() - 10 * 86400)  # every mtime changed
    other_tz("Pacific/Chatham")
    again_bytes = io.BytesIO()
    assert write_archive(src, again_bytes) == first_digest
    assert again_bytes.getvalue() == first_bytes.getvalue()

    job2 = client.submit_job("c09-again", "true", files={"code": src, "data/a.txt": src / "a.txt"})
    assert job2 != job1
    assert fake.request_count("UploadFile") == 2  # nothing uploaded the second time
    second = fake.requests("SubmitJobWithArtifacts")[-1]
    assert list(second.file_hashes) == list(first.file_hashes)
    assert second.file_tree == first.file_tree


def test_submit_sends_the_plan_and_the_job_fields(
    files: Any, fake: FakeScheduler, tmp_path: Path, make_tree: Callable[..., None]
) -> None:
    make_tree(tmp_path / "src", TREE)
    (tmp_path / "w.bin").write_bytes(b"weights")
    mappings = [(tmp_path / "src", "code"), (tmp_path / "w.bin", "models/w.bin")]  # 0.1.x form
    job_id = files.submit_job_with_files(
        "训练任务",
        "python code/a.txt",
        mappings,
        cpu=2,
        memory_mb=512,
        gpu=0,
        disk_mb=10,
        env={"LR": "0.1"},
        labels={"team": "ml"},
        description="描述",
        retries=1,
        timeout=60,
        metadata={"k": "v"},
        working_dir="code",
    )
    request = fake.requests("SubmitJobWithArtifacts")[-1]
    with build_plan({"code": tmp_path / "src", "models/w.bin": tmp_path / "w.bin"}) as plan:
        assert list(request.file_hashes) == plan.file_hashes
        assert request.file_tree == plan.tree
    assert files.build_file_tree(mappings) == request.file_tree
    job = fake.get_job(job_id)
    assert (job.name, job.command, job.description) == ("训练任务", "python code/a.txt", "描述")
    assert (job.resources.cpu_cores, job.resources.memory_mb, job.resources.disk_mb) == (2, 512, 10)
    assert dict(job.env) == {"LR": "0.1"}
    assert dict(job.labels) == {"team": "ml"}
    assert (job.retries, job.timeout, job.working_dir) == (1, 60, "code")
    assert job.metadata["k"] == "v"
    assert job.metadata["desam-submission-id"]


def test_quota_short_refuses_the_submission_before_any_byte(
    make_client: Callable[..., Any], files_for: Callable[[Any], Any], keys: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(b"z" * 10_000)
    with FakeScheduler(api_keys=keys, quota_bytes=1000) as small:
        client = make_client(host=small.host, port=small.port)
        with pytest.raises(QuotaExceededError):
            files_for(client).submit_job_with_files("q", "true", {"big.bin": tmp_path / "big.bin"})
        with pytest.raises(QuotaExceededError):
            client.submit_job("q", "true", files={"big.bin": tmp_path / "big.bin"})
        assert small.request_count("UploadFile") == 0
        assert small.request_count("SubmitJobWithArtifacts") == 0
        assert small.jobs == []


def test_missing_dependencies_reply_leads_to_one_more_round(
    files: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    fake.faults.add("SubmitJobWithArtifacts", error_code="MISSING_DEPENDENCIES", times=1)
    job_id = files.submit_job_with_files("m", "true", {"f.txt": tmp_path / "f.txt"})
    assert fake.request_count("SubmitJobWithArtifacts") == 2
    # The reply named no hash: the client asked again which ones are missing (none).
    assert fake.request_count("VerifyDependencies") == 2
    assert [job.job_id for job in fake.jobs] == [job_id]


class EvictBeforeFirstSubmit:
    """A plugin that evicts every cached blob when the first SubmitJobWithArtifacts starts."""

    def __init__(self, fake: FakeScheduler, evict: Callable[[FakeScheduler, str], None]) -> None:
        self.fake, self.evict, self.done = fake, evict, False

    @hookimpl
    def desam_call_start(self, call: Any) -> None:
        if call.rpc == "SubmitJobWithArtifacts" and not self.done:
            self.done = True
            for file_hash in list(self.fake.blobs):
                self.evict(self.fake, file_hash)


def test_evicted_blob_is_uploaded_again_and_the_job_submitted(
    make_client: Callable[..., Any],
    files_for: Callable[[Any], Any],
    fake: FakeScheduler,
    tmp_path: Path,
    evict: Callable[[FakeScheduler, str], None],
    make_tree: Callable[..., None],
) -> None:
    make_tree(tmp_path / "src", TREE)
    (tmp_path / "one.bin").write_bytes(b"1")
    client = make_client(plugins=[EvictBeforeFirstSubmit(fake, evict)])
    job_id = files_for(client).submit_job_with_files(
        "evicted", "true", {"code": tmp_path / "src", "one.bin": tmp_path / "one.bin"}
    )
    assert fake.request_count("UploadFile") == 4  # two blobs, twice
    assert fake.request_count("SubmitJobWithArtifacts") == 2
    assert len(fake.blobs) == 2
    assert [job.job_id for job in fake.jobs] == [job_id]


def test_blobs_still_missing_after_the_second_round(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    fake.faults.add("SubmitJobWithArtifacts", error_code="MISSING_DEPENDENCIES", times=2)
    with pytest.raises(MissingDependenciesError) as info:
        files.submit_job_with_files("m", "true", {"f.txt": tmp_path / "f.txt"})
    assert info.value.error_code == "MISSING_DEPENDENCIES"
    assert fake.request_count("SubmitJobWithArtifacts") == 2
    assert fake.jobs == []


def test_lost_submit_reply_creates_one_job(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    fake.faults.add("SubmitJobWithArtifacts", lose_reply=True, times=1)
    job_id = files.submit_job_with_files("lost", "true", {"f.txt": tmp_path / "f.txt"})
    assert [job.job_id for job in fake.jobs] == [job_id]


@pytest.mark.parametrize("mount", ["/abs", "a/../b", "a//b", "", "a\\b", "trailing/"])
def test_invalid_mount_path_names_it(
    files: Any, client: Any, fake: FakeScheduler, tmp_path: Path, mount: str
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    with pytest.raises(InvalidArgumentError) as info:
        files.submit_job_with_files("bad", "true", {mount: tmp_path / "f.txt"})
    assert repr(mount) in str(info.value)
    assert info.value.argument == f"file_mappings[{mount!r}]"
    with pytest.raises(InvalidArgumentError):
        client.submit_job("bad", "true", files={mount: tmp_path / "f.txt"})
    with pytest.raises(InvalidArgumentError):
        files.build_file_tree({mount: tmp_path / "f.txt"})
    assert fake.request_count() == 0


def test_nested_and_duplicate_mounts_are_refused(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    with pytest.raises(InvalidArgumentError, match="'a/b'"):
        files.submit_job_with_files("bad", "true", {"a": tmp_path, "a/b": tmp_path / "f.txt"})
    with pytest.raises(InvalidArgumentError, match="more than one"):
        files.submit_job_with_files("bad", "true", [(tmp_path / "f.txt", "x"), (tmp_path / "f.txt", "x")])
    assert fake.request_count() == 0


def test_missing_local_path_is_file_not_found(
    files: Any, client: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(FileNotFoundError) as info:
        files.submit_job_with_files("nf", "true", {"data/missing.csv": missing})
    assert str(missing) in str(info.value)
    assert "data/missing.csv" in str(info.value)
    assert isinstance(info.value, LocalFileNotFoundError)  # also in the DeSAMError tree
    assert isinstance(info.value, DeSAMError) and info.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        client.submit_job("nf", "true", files={"data/missing.csv": missing})
    assert fake.request_count() == 0


def test_arguments_are_checked_before_anything_is_read(
    files: Any, client: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    with pytest.raises(InvalidArgumentError) as info:
        files.submit_job_with_files("x", "true", {"f": tmp_path / "f.txt"}, bogus=1)
    assert info.value.argument == "bogus"
    with pytest.raises(InvalidArgumentError) as info:
        files.submit_job_with_files("x", "true", {"f": tmp_path / "f.txt"}, cpu=-1)
    assert info.value.argument == "cpu"
    with pytest.raises(InvalidArgumentError) as info:
        client.submit_job("x", "true", artifacts=["a.zip"], files={"f": tmp_path / "f.txt"})
    assert info.value.argument == "artifacts"
    with pytest.raises(InvalidArgumentError) as info:
        files.submit_job_with_files("x", "true", "not-a-mapping")
    assert info.value.argument == "file_mappings"
    assert fake.request_count() == 0


def test_an_empty_artifacts_list_goes_with_files(client: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    # Nothing would be lost, so an empty list (code that always passes one) is accepted.
    (tmp_path / "f.txt").write_bytes(b"f")
    job_id = client.submit_job("x", "true", artifacts=[], files={"f": tmp_path / "f.txt"})
    assert fake.request_count("SubmitJobWithArtifacts") == 1
    assert list(fake.get_job(job_id).artifacts) == [hashlib.sha256(b"f").hexdigest()]  # the shipped blob


def test_submit_job_without_files_is_a_plain_submit(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job("plain", "true", artifacts=["dataset.zip"])
    assert fake.request_count("SubmitJob") == 1
    assert fake.request_count("SubmitJobWithArtifacts") == 0
    assert list(fake.get_job(job_id).artifacts) == ["dataset.zip"]


def test_files_without_blobs_submit_an_empty_tree(files: Any, fake: FakeScheduler) -> None:
    job_id = files.submit_job_with_files("empty", "true", {})
    request = fake.requests("SubmitJobWithArtifacts")[-1]
    assert list(request.file_hashes) == []
    assert request.file_tree == pb.FileTreeNode()
    assert fake.request_count("VerifyDependencies") == 0
    assert fake.get_job(job_id).name == "empty"
