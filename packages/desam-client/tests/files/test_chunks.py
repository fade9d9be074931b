"""The UploadFile chunk stream (case C-08) and its helpers."""

from __future__ import annotations

import hashlib
import io
import math
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from desam_client.files import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    FileChangedError,
    chunk_count,
    hash_file,
    iter_upload_requests,
    validate_chunk_size,
)
from desam_proto import client_pb2

Request = client_pb2.UploadFileRequest
CHUNK = 16
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _requests_for(path: Path, chunk_size: int = CHUNK, **kwargs: object) -> list[Request]:
    digest = hash_file(path)
    return list(
        iter_upload_requests(
            path,
            file_hash=digest.sha256,
            file_size=digest.size,
            file_name=path.name,
            api_key="key-1",
            chunk_size=chunk_size,
            **kwargs,  # type: ignore[arg-type]
        )
    )


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])
def test_c08_chunk_semantics(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)

    requests = _requests_for(path)

    assert len(requests) == max(1, math.ceil(size / CHUNK))
    assert [r.is_last_chunk for r in requests] == [False] * (len(requests) - 1) + [True]
    assert [r.chunk_id for r in requests] == [str(i) for i in range(len(requests))]
    expected_hash = hashlib.sha256(data).hexdigest()
    for request in requests:
        assert request.file_hash == expected_hash
        assert request.file_size == size
        assert request.file_name == "blob.bin"
        assert request.api_key == "key-1"
        assert len(request.content) <= CHUNK
    rebuilt = b"".join(r.content for r in requests)
    assert rebuilt == data
    assert hashlib.sha256(rebuilt).hexdigest() == expected_hash
    if size == 0:
        assert expected_hash == EMPTY_SHA256
        assert len(requests) == 1
        assert requests[0].content == b""
        assert requests[0].is_last_chunk


def test_every_chunk_but_the_last_is_full(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * (3 * CHUNK + 5))
    sizes = [len(r.content) for r in _requests_for(path)]
    assert sizes == [CHUNK, CHUNK, CHUNK, 5]


def test_progress_is_reported_after_each_chunk(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"y" * (2 * CHUNK + 1))
    calls: list[tuple[int, int]] = []
    _requests_for(path, progress=lambda sent, total: calls.append((sent, total)))
    assert calls == [(16, 33), (32, 33), (33, 33)]


def test_progress_for_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    calls: list[tuple[int, int]] = []
    _requests_for(path, progress=lambda sent, total: calls.append((sent, total)))
    assert calls == [(0, 0)]


def test_a_reader_can_be_the_source() -> None:
    data = b"abcdefghij" * 5
    source = io.BytesIO(data)
    requests = list(
        iter_upload_requests(
            source,
            file_hash=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
            file_name="mem",
            chunk_size=CHUNK,
        )
    )
    assert b"".join(r.content for r in requests) == data
    assert not source.closed  # the caller owns it


def test_default_and_limits() -> None:
    assert DEFAULT_CHUNK_SIZE == 1024 * 1024
    assert MAX_CHUNK_SIZE == 3 * 1024 * 1024
    assert validate_chunk_size(MAX_CHUNK_SIZE) == MAX_CHUNK_SIZE
    assert chunk_count(0) == 1
    assert chunk_count(DEFAULT_CHUNK_SIZE) == 1
    assert chunk_count(DEFAULT_CHUNK_SIZE + 1) == 2


@pytest.mark.parametrize("bad", [0, -1, MAX_CHUNK_SIZE + 1, 8 * 1024 * 1024])
def test_chunk_size_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match=r"chunk_size must be between 1 and 3145728 bytes"):
        validate_chunk_size(bad)
    with pytest.raises(ValueError, match="chunk_size"):
        iter_upload_requests("x", file_hash=EMPTY_SHA256, file_size=0, file_name="x", chunk_size=bad)


@pytest.mark.parametrize("bad", [True, 1.5, "16", None])
def test_chunk_size_wrong_type(bad: object) -> None:
    with pytest.raises(TypeError, match="chunk_size"):
        validate_chunk_size(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("file_hash", "file_size", "match"),
    [
        (EMPTY_SHA256.upper(), 0, "file_hash"),
        ("abc", 0, "file_hash"),
        (EMPTY_SHA256, -1, "file_size"),
        (EMPTY_SHA256, True, "file_size"),
    ],
)
def test_blob_identity_is_checked_at_once(file_hash: str, file_size: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        iter_upload_requests("never-opened", file_hash=file_hash, file_size=file_size, file_name="x")


def _start(path: Path, data: bytes) -> Iterator[Request]:
    return iter_upload_requests(
        path,
        file_hash=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        file_name=path.name,
        chunk_size=CHUNK,
    )


def _drain(requests: Iterator[Request], sent: list[Request]) -> None:
    sent.extend(requests)


def test_content_changed_mid_send_never_yields_a_final_chunk(tmp_path: Path) -> None:
    data = b"a" * (3 * CHUNK)
    path = tmp_path / "changing.bin"
    path.write_bytes(data)
    requests = _start(path, data)
    sent = [next(requests)]
    with path.open("r+b") as handle:  # same size, different bytes, same inode
        handle.seek(2 * CHUNK)
        handle.write(b"b" * CHUNK)
    with pytest.raises(FileChangedError, match="SHA-256") as caught:
        _drain(requests, sent)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    assert not any(r.is_last_chunk for r in sent)
    assert len(sent) == 2


def test_file_grew_before_sending(tmp_path: Path) -> None:
    data = b"abc" * 10
    path = tmp_path / "grows.bin"
    path.write_bytes(data)
    requests = _start(path, data)
    with path.open("ab") as handle:
        handle.write(b"more")
    sent: list[Request] = []
    with pytest.raises(FileChangedError, match="34 bytes, expected 30"):
        _drain(requests, sent)
    assert sent == []


def test_file_grew_mid_send(tmp_path: Path) -> None:
    data = b"abc" * 10
    path = tmp_path / "grows.bin"
    path.write_bytes(data)
    requests = _start(path, data)
    sent = [next(requests)]
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(FileChangedError, match="longer than the expected 30 bytes"):
        _drain(requests, sent)
    assert not any(r.is_last_chunk for r in sent)


def test_file_shrank_mid_send(tmp_path: Path) -> None:
    data = b"abc" * 20
    path = tmp_path / "shrinks.bin"
    path.write_bytes(data)
    requests = _start(path, data)
    sent = [next(requests)]
    os.truncate(path, 20)
    with pytest.raises(FileChangedError, match="ended after 20 bytes, expected 60"):
        _drain(requests, sent)
    assert not any(r.is_last_chunk for r in sent)


def test_wrong_expected_hash_is_caught_before_the_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"z" * (2 * CHUNK))
    requests = iter_upload_requests(
        path, file_hash="0" * 64, file_size=2 * CHUNK, file_name="f", chunk_size=CHUNK
    )
    first = next(requests)
    assert not first.is_last_chunk
    with pytest.raises(FileChangedError):
        next(requests)


def test_missing_file_raises_when_iterated(tmp_path: Path) -> None:
    requests = iter_upload_requests(tmp_path / "gone", file_hash=EMPTY_SHA256, file_size=0, file_name="gone")
    with pytest.raises(FileNotFoundError):
        next(requests)


def test_closing_the_iterator_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = b"q" * (4 * CHUNK)
    path.write_bytes(data)
    requests = _start(path, data)
    next(requests)
    requests.close()  # with warnings as errors, a leaked file would fail the test
    with pytest.raises(StopIteration):
        next(requests)


def test_memory_stays_near_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    size = 64 * 1024 * 1024
    with path.open("wb") as handle:
        handle.truncate(size)
    digest = hash_file(path)
    tracemalloc.start()
    try:
        count = 0
        for request in iter_upload_requests(
            path, file_hash=digest.sha256, file_size=size, file_name="sparse"
        ):
            count += 1
            del request
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 64
    assert peak < 8 * DEFAULT_CHUNK_SIZE
