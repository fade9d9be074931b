"""Streaming SHA-256 and the hash cache."""

from __future__ import annotations

import hashlib
import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desam_client.files import FileDigest, HashCache, UnsupportedEntryError, hash_file, hashing, sha256_file

MIB = 1024 * 1024


@pytest.fixture(params=["file_digest", "readinto-loop"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with hashlib.file_digest (3.11+) and with the 3.10 fallback loop."""
    if request.param == "readinto-loop":
        monkeypatch.setattr(hashing, "_FILE_DIGEST", None)
    elif hashing._FILE_DIGEST is None:
        pytest.skip("hashlib.file_digest needs Python 3.11+")
    return str(request.param)


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5])
def test_hash_equals_hashlib(tmp_path: Path, size: int, implementation: str) -> None:
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == FileDigest(hashlib.sha256(data).hexdigest(), size)
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


def test_file_digest_reads_one_mib_at_a_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if hashing._FILE_DIGEST is None:
        pytest.skip("hashlib.file_digest needs Python 3.11+")
    seen: list[dict[str, Any]] = []
    real = hashing._FILE_DIGEST

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashing, "_FILE_DIGEST", spy)
    path = tmp_path / "f"
    path.write_bytes(b"data")
    hash_file(path)
    assert seen == [{"_bufsize": MIB}]


def test_a_big_sparse_file_is_never_read_whole(tmp_path: Path, implementation: str) -> None:
    size = 64 * MIB
    path = tmp_path / "sparse"
    with path.open("wb") as handle:
        handle.truncate(size)
    expected = hashlib.sha256()
    zeros = bytes(MIB)
    for _ in range(64):
        expected.update(zeros)
    del zeros

    tracemalloc.start()
    try:
        digest = hash_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest == FileDigest(expected.hexdigest(), size)
    assert peak < 4 * MIB, f"peak {peak} bytes while hashing a {size}-byte file"


def test_directory_fifo_and_missing(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        hash_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "missing")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedEntryError, match="FIFO") as caught:
        hash_file(fifo)  # must not block waiting for a writer
    assert caught.value.path == str(fifo)


def test_symlink_to_a_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"content")
    (tmp_path / "link").symlink_to("real")
    assert hash_file(tmp_path / "link") == hash_file(tmp_path / "real")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count how many times a file is actually read by the cache."""
    calls: list[int] = []
    real = hashing._hash_open_file

    def spy(handle: Any) -> FileDigest:
        calls.append(1)
        return real(handle)

    monkeypatch.setattr(hashing, "_hash_open_file", spy)
    return calls


def test_cache_hit_for_an_unchanged_file(
    tmp_path: Path, counted: list[int], aged: Callable[..., None]
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    aged(path)
    cache = HashCache()
    first = cache.hash_file(path)
    second = cache.hash_file(str(path))
    assert first == second == FileDigest(hashlib.sha256(b"hello").hexdigest(), 5)
    assert len(counted) == 1
    assert len(cache) == 1


def test_cache_misses_after_a_same_size_rewrite(
    tmp_path: Path, counted: list[int], aged: Callable[..., None]
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"aaaa")
    aged(path, 7200)
    cache = HashCache()
    cache.hash_file(path)
    path.write_bytes(b"bbbb")
    aged(path, 3600)
    assert cache.hash_file(path).sha256 == hashlib.sha256(b"bbbb").hexdigest()
    assert len(counted) == 2


def test_cache_misses_when_the_file_is_replaced_with_the_same_times(
    tmp_path: Path, counted: list[int], aged: Callable[..., None]
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"1111")
    aged(path)
    cache = HashCache()
    cache.hash_file(path)
    before = path.stat()
    replacement = tmp_path / "g"
    replacement.write_bytes(b"2222")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)  # new inode, same size and mtime
    assert cache.hash_file(path).sha256 == hashlib.sha256(b"2222").hexdigest()
    assert len(counted) == 2


def test_recently_modified_files_are_not_cached(tmp_path: Path, counted: list[int]) -> None:
    path = tmp_path / "fresh"
    path.write_bytes(b"just written")
    cache = HashCache(racy_window=60)
    cache.hash_file(path)
    cache.hash_file(path)
    assert len(counted) == 2
    assert len(cache) == 0


def test_cache_is_bounded_lru(tmp_path: Path, counted: list[int], aged: Callable[..., None]) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"f{index}"
        path.write_bytes(bytes([index]))
        aged(path)
        paths.append(path)
    cache = HashCache(maxsize=2)
    cache.hash_file(paths[0])
    cache.hash_file(paths[1])
    cache.hash_file(paths[0])  # now the most recent
    cache.hash_file(paths[2])  # evicts paths[1]
    assert len(cache) == 2
    counted.clear()
    cache.hash_file(paths[0])
    assert counted == []
    cache.hash_file(paths[1])
    assert counted == [1]
    cache.clear()
    assert len(cache) == 0


def test_cache_of_size_zero_caches_nothing(tmp_path: Path, aged: Callable[..., None]) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    aged(path)
    cache = HashCache(maxsize=0)
    cache.hash_file(path)
    assert len(cache) == 0
    assert cache.maxsize == 0


@pytest.mark.parametrize(
    "kwargs", [{"maxsize": -1}, {"maxsize": 1.5}, {"maxsize": True}, {"racy_window": -1}]
)
def test_cache_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        HashCache(**kwargs)


def test_cache_is_thread_safe(tmp_path: Path, aged: Callable[..., None]) -> None:
    files = {}
    for index in range(40):
        data = os.urandom(1000 + index)
        path = tmp_path / f"f{index}"
        path.write_bytes(data)
        aged(path)
        files[path] = hashlib.sha256(data).hexdigest()
    cache = HashCache(maxsize=25)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                for path, expected in files.items():
                    assert cache.hash_file(path).sha256 == expected
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) == 25
