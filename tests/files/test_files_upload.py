"""``client.files`` uploads against the fake scheduler (C-08 and the failure paths), for both clients."""

from __future__ import annotations

import errno
import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from desam_client import (
    FileChangedError,
    FileTransferError,
    HashMismatchError,
    InvalidArgumentError,
    QuotaExceededError,
)
from desam_client.files import DependencyCheck, FileInfo, QuotaInfo
from desam_client.files import errors as pure_errors
from desam_testing import FakeScheduler

CHUNK = 1024
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def chunks_of(fake: FakeScheduler, file_hash: str) -> list[Any]:
    return [r for r in fake.requests("UploadFile") if r.file_hash == file_hash]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])
def test_c08_chunking_and_dedupe(files: Any, fake: FakeScheduler, tmp_path: Path, size: int) -> None:
    data = bytes((i * 7 + size) % 251 for i in range(size))
    path = tmp_path / f"blob-{size}.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()

    info = files.upload_file(path, chunk_size=CHUNK)

    assert isinstance(info, FileInfo)
    assert (info.file_hash, info.file_size, info.file_name) == (expected, size, path.name)
    assert info.upload_time  # this call sent it
    if size == 0:
        assert info.file_hash == EMPTY_SHA256
    sent = chunks_of(fake, expected)
    assert len(sent) == max(1, math.ceil(size / CHUNK))
    assert [c.chunk_id for c in sent] == [str(i) for i in range(len(sent))]
    assert [c.is_last_chunk for c in sent] == [False] * (len(sent) - 1) + [True]
    assert all((c.file_hash, c.file_size, c.file_name) == (expected, size, path.name) for c in sent)
    assert all(len(c.content) <= CHUNK for c in sent)
    assert b"".join(c.content for c in sent) == data
    assert fake.blobs[expected] == data

    # The same bytes again, from another path: a dedupe hit that sends no content.
    copy = tmp_path / f"copy-{size}.bin"
    copy.write_bytes(data)
    uploads = fake.request_count("UploadFile")
    again = files.upload_file(copy, chunk_size=CHUNK)
    assert again.file_hash == expected
    assert again.upload_time == ""
    assert fake.request_count("UploadFile") == uploads
    assert len(chunks_of(fake, expected)) == len(sent)


def test_progress_callback_reaches_size(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    path = tmp_path / "p.bin"
    path.write_bytes(b"x" * 3000)
    seen: list[tuple[int, int]] = []
    files.upload_file(path, lambda sent, total: seen.append((sent, total)), chunk_size=CHUNK)
    assert seen == [(1024, 3000), (2048, 3000), (3000, 3000)]
    # Nothing to send: called once, complete.
    seen.clear()
    files.upload_file(path, progress_callback=lambda sent, total: seen.append((sent, total)))
    assert seen == [(3000, 3000)]


def test_default_chunk_size_is_one_mib_and_configurable(
    files: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    assert files.chunk_size == 1 << 20
    path = tmp_path / "big.bin"
    path.write_bytes(b"\1" * ((1 << 20) + 5))
    files.upload_file(path)
    assert [len(c.content) for c in fake.requests("UploadFile")] == [1 << 20, 5]

    files.chunk_size = 4096
    other = tmp_path / "other.bin"
    other.write_bytes(b"\2" * 10000)
    info = files.upload_file(other)
    assert [len(c.content) for c in chunks_of(fake, info.file_hash)] == [4096, 4096, 1808]


@pytest.mark.parametrize("bad", [0, -1, (3 << 20) + 1, 1.5, True, "1024"])
def test_chunk_size_is_validated(files: Any, fake: FakeScheduler, tmp_path: Path, bad: Any) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    with pytest.raises(InvalidArgumentError) as info:
        files.upload_file(path, chunk_size=bad)
    assert info.value.argument == "chunk_size"
    with pytest.raises(InvalidArgumentError):
        files.chunk_size = bad
    assert fake.request_count() == 0
    files.upload_file(path, chunk_size=3 << 20)  # the largest allowed


def test_missing_local_file_raises_file_not_found_before_sending(
    files: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(FileNotFoundError) as info:
        files.upload_file(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(FileNotFoundError):
        files.upload_files([missing])
    assert fake.request_count() == 0


def test_quota_short_raises_before_any_byte(
    make_client: Callable[..., Any], files_for: Callable[[Any], Any], keys: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "large.bin"
    path.write_bytes(b"q" * 5000)
    with FakeScheduler(api_keys=keys, quota_bytes=4096) as small:
        files = files_for(make_client(host=small.host, port=small.port))
        quota = files.check_quota()
        assert quota == QuotaInfo(total_quota=4096, used_quota=0, available_quota=4096)
        with pytest.raises(QuotaExceededError) as info:
            files.upload_file(path)
        assert "nothing was sent" in str(info.value)
        with pytest.raises(QuotaExceededError):
            files.upload_files([path])
        assert small.request_count("UploadFile") == 0
        assert len(small.blobs) == 0


def test_verify_dependencies_and_upload_files(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    paths = []
    for index, content in enumerate([b"one", b"two", b"one"]):
        path = tmp_path / f"f{index}.txt"
        path.write_bytes(content)
        paths.append(path)
    one, two = hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two").hexdigest()
    check = files.verify_dependencies([one, two], 6)
    assert isinstance(check, DependencyCheck)
    assert set(check.missing_hashes) == {one, two}
    assert check.quota_sufficient

    infos = files.upload_files(paths)
    assert [i.file_hash for i in infos] == [one, two, one]
    assert [i.file_name for i in infos] == ["f0.txt", "f1.txt", "f2.txt"]
    assert fake.request_count("UploadFile") == 2  # identical contents go once
    assert fake.request_count("VerifyDependencies") == 2  # one check for the whole list
    assert files.verify_dependencies([one, two], 6).all_present
    assert files.upload_files([]) == []


def test_invalid_hashes_are_refused_before_sending(files: Any, fake: FakeScheduler) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        files.verify_dependencies(["ABC"], 1)
    assert info.value.argument == "file_hashes[0]"
    with pytest.raises(InvalidArgumentError):
        files.verify_dependencies([EMPTY_SHA256], -1)
    assert fake.request_count() == 0


def test_file_changed_during_upload(
    files: Any, fake: FakeScheduler, tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    path = tmp_path / "moving.bin"
    path.write_bytes(b"a" * 4096)

    def change_after_first_chunk(sent: int, total: int) -> None:
        if sent == CHUNK:
            with open(path, "r+b") as handle:  # same size, other bytes where not yet sent
                handle.seek(4000)
                handle.write(b"b")

    with pytest.raises(FileChangedError) as info:
        files.upload_file(path, change_after_first_chunk, chunk_size=CHUNK)
    assert isinstance(info.value, FileTransferError)
    assert isinstance(info.value.__cause__, pure_errors.FileChangedError)
    assert str(path) in str(info.value)
    assert not any(c.is_last_chunk for c in fake.requests("UploadFile"))  # the final chunk never left
    assert len(fake.blobs) == 0
    assert eventually(lambda: not any((fake.data_dir / "uploads").iterdir()))


def test_transient_failure_retries_the_stream_from_the_start(
    files: Any, fake: FakeScheduler, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 12  # 3072 bytes: 3 chunks
    path = tmp_path / "flaky.bin"
    path.write_bytes(data)
    fake.faults.add("UploadFile", status=grpc.StatusCode.UNAVAILABLE, times=1)

    info = files.upload_file(path, chunk_size=CHUNK)

    assert fake.request_count("UploadFile") == 2
    ids = [c.chunk_id for c in fake.requests("UploadFile")]
    assert ids[-3:] == ["0", "1", "2"]  # the stream that succeeded started at chunk 0
    assert fake.blobs[info.file_hash] == data


def test_hash_mismatch_reply(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"xyz")
    fake.faults.add("UploadFile", error_code="HASH_MISMATCH", times=1)
    with pytest.raises(HashMismatchError) as info:
        files.upload_file(path)
    assert info.value.error_code == "HASH_MISMATCH"
    assert fake.request_count("UploadFile") == 1  # not retried: the same bytes would fail again


def test_quota_exceeded_reply_on_upload(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"xyz")
    fake.faults.add("UploadFile", error_code="QUOTA_EXCEEDED", times=1)
    with pytest.raises(QuotaExceededError):
        files.upload_file(path)


def test_read_error_mid_stream_is_a_file_transfer_error(
    files: Any, fake: FakeScheduler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desam_client.files import chunks

    path = tmp_path / "disk.bin"
    path.write_bytes(b"d" * 4096)
    real = chunks.read_block
    reads = []

    def failing(reader: Any, size: int) -> bytes:
        reads.append(size)
        if len(reads) == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real(reader, size)

    monkeypatch.setattr(chunks, "read_block", failing)
    with pytest.raises(FileTransferError) as info:
        files.upload_file(path, chunk_size=CHUNK)
    assert type(info.value) is FileTransferError
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.EIO
    assert len(fake.blobs) == 0


def test_upload_deadline_scales_with_size() -> None:
    from desam_client._core.transfer import upload_limits

    assert upload_limits(0, None, 30.0, 120.0) == (30.0, 120.0)
    attempt, budget = upload_limits(1 << 30, None, 30.0, 120.0)
    assert attempt == pytest.approx(1024 + 30)
    assert budget == pytest.approx(2 * (1024 + 30))
    assert upload_limits(1 << 30, 5.0, 30.0, 120.0) == (5.0, 5.0)  # the caller's deadline rules
    assert upload_limits(1 << 30, None, None, None) == (None, None)


def test_a_directory_is_uploaded_as_its_archive(files: Any, fake: FakeScheduler, tmp_path: Path) -> None:
    from desam_client.files import digest_directory

    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.txt").write_bytes(b"a")
    info = files.upload_file(tmp_path / "d")
    assert info.file_name == "d.zip"
    assert info.file_hash == digest_directory(tmp_path / "d").sha256
    assert hashlib.sha256(fake.blobs[info.file_hash]).hexdigest() == info.file_hash
