"""Streaming SHA-256 of local files, and a cache of file hashes.

The scheduler addresses every blob by the lowercase hex SHA-256 of its bytes. Files
are read in 1 MiB pieces into one reused buffer, never whole, so hashing a 100 GiB
file needs about 1 MiB of memory. On Python 3.11+ the work is done by
:func:`hashlib.file_digest`; on 3.10 by an equivalent ``readinto`` loop.

Everything here is blocking local I/O and safe to call from any thread; an asyncio
program runs it with :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import io
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from .errors import UnsupportedEntryError

__all__ = [
    "BUFFER_SIZE",
    "BinaryReader",
    "FileDigest",
    "HashCache",
    "StrPath",
    "display_name",
    "hash_file",
    "hash_stream",
    "open_regular_file",
    "read_block",
    "sha256_file",
]

BUFFER_SIZE = 1 << 20
"""Bytes read from disk at a time (1 MiB)."""

StrPath: TypeAlias = str | os.PathLike[str]
"""A local path: a ``str`` or a :class:`os.PathLike` such as :class:`pathlib.Path`."""

_FILE_DIGEST: Callable[..., Any] | None = getattr(hashlib, "file_digest", None)


def _file_digest_options() -> dict[str, int]:
    # hashlib.file_digest reads 256 KiB at a time unless told otherwise through its
    # (underscored) _bufsize keyword; pass it only where the running Python has it.
    if _FILE_DIGEST is None:
        return {}
    try:
        parameters = inspect.signature(_FILE_DIGEST).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return {}
    return {"_bufsize": BUFFER_SIZE} if "_bufsize" in parameters else {}


_FILE_DIGEST_OPTIONS = _file_digest_options()


@dataclass(frozen=True, slots=True)
class FileDigest:
    """The identity of some bytes in the scheduler's cache."""

    sha256: str
    """Lowercase hex SHA-256 of the bytes (64 characters)."""

    size: int
    """Number of bytes."""


class _ReadInto(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


class BinaryReader(Protocol):
    """Anything bytes can be read from, such as a file opened with ``"rb"``."""

    def read(self, size: int, /) -> bytes | None:
        """Read and return at most ``size`` bytes; ``b""`` at the end."""


def read_block(reader: BinaryReader, size: int) -> bytes:
    """Read exactly ``size`` bytes, or fewer only when the end is reached first.

    Args:
        reader: Where to read from.
        size: How many bytes to read.

    Returns:
        The bytes read; shorter than ``size`` only at the end of the data.

    Raises:
        OSError: Reading failed.
    """
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = reader.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _describe_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def display_name(path: StrPath) -> str:
    """Return a path's last component as text that can always be sent on the wire.

    A name that is not valid UTF-8 (possible on POSIX file systems) has its bad
    bytes replaced with U+FFFD.

    Args:
        path: A local path.

    Returns:
        The base name, such as ``"train.csv"`` for ``"data/train.csv"``.
    """
    name = os.path.basename(os.path.normpath(os.fspath(path)))
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def open_regular_file(path: StrPath, *, follow_symlinks: bool = True) -> io.FileIO:
    """Open a regular file for unbuffered binary reading.

    Unlike :func:`open`, this never blocks on a FIFO and refuses anything that is
    not a regular file, so a stray named pipe or device cannot hang or flood an
    upload.

    Args:
        path: The file to open.
        follow_symlinks: If false and the last component of ``path`` is a symbolic
            link, refuse to open it (on platforms that support this).

    Returns:
        The open file, positioned at its start. Close it when done (it is a context
        manager).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        UnsupportedEntryError: ``path`` is a FIFO, socket or device file, or a
            symbolic link while ``follow_symlinks`` is false.
        OSError: Any other failure to open it, such as missing permissions.
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise UnsupportedEntryError(name, "it is a symbolic link where a file was expected") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", name)
        if not stat.S_ISREG(mode):
            raise UnsupportedEntryError(name, f"it is {_describe_mode(mode)}, not a regular file")
        # O_NONBLOCK only mattered for opening; it has no effect on regular files.
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def hash_stream(reader: _ReadInto) -> FileDigest:
    """Hash everything a binary reader yields, from its current position to its end.

    Args:
        reader: Any object with a ``readinto`` method, such as a file opened with
            ``open(path, "rb")``.

    Returns:
        The SHA-256 and the number of bytes read.

    Raises:
        OSError: Reading failed.
    """
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(BUFFER_SIZE)
    with memoryview(buffer) as view:
        while True:
            count = reader.readinto(buffer)
            if count is None:
                raise BlockingIOError(errno.EAGAIN, "the reader has no data available now")
            if count == 0:
                break
            digest.update(view[:count])
            size += count
    return FileDigest(digest.hexdigest(), size)


def _hash_open_file(handle: io.FileIO) -> FileDigest:
    if _FILE_DIGEST is None:
        return hash_stream(handle)
    start = handle.tell()
    hexdigest: str = _FILE_DIGEST(handle, "sha256", **_FILE_DIGEST_OPTIONS).hexdigest()
    return FileDigest(hexdigest, handle.tell() - start)


def hash_file(path: StrPath) -> FileDigest:
    """Compute the SHA-256 and size of a file, reading it in 1 MiB pieces.

    The size is the number of bytes actually hashed, so the two always agree even
    if the file is being written to at the same time.

    Args:
        path: A regular file; a symbolic link to one is followed.

    Returns:
        The file's SHA-256 (lowercase hex) and size in bytes.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory (pack it first, see
            :mod:`desam_client.files.archive`).
        UnsupportedEntryError: ``path`` is a FIFO, socket or device file.
        OSError: Reading failed.
    """
    with open_regular_file(path) as handle:
        return _hash_open_file(handle)


def sha256_file(path: StrPath) -> str:
    """Compute the lowercase hex SHA-256 of a file, reading it in 1 MiB pieces.

    Args:
        path: A regular file; a symbolic link to one is followed.

    Returns:
        The 64-character hex digest.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        UnsupportedEntryError: ``path`` is a FIFO, socket or device file.
        OSError: Reading failed.
    """
    return hash_file(path).sha256


_CacheKey = tuple[str, int, int, int, int, int]


def _cache_key(path: str, info: os.stat_result) -> _CacheKey:
    return (path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class HashCache:
    """Remembers file hashes so unchanged files are not read again.

    An entry is keyed by the file's absolute path, size, modification time and
    status-change time (both in nanoseconds), inode and device: any write, rename
    over, or ``touch`` gives a new key and the file is hashed again. To avoid the
    classic race where a file is rewritten within the file system's timestamp
    granularity, a file modified less than ``racy_window`` seconds before it was
    hashed is not cached, and a file whose metadata changed while it was being hashed
    is not cached either.

    The cache is bounded (least recently used entries are dropped first) and safe to
    share between threads; concurrent misses on the same file may hash it twice.

    Example:
        >>> cache = HashCache()
        >>> digest = cache.hash_file("data/train.csv")  # doctest: +SKIP
    """

    def __init__(self, maxsize: int = 4096, *, racy_window: float = 2.0) -> None:
        """Create an empty cache.

        Args:
            maxsize: The most entries kept; 0 disables caching.
            racy_window: Files modified less than this many seconds before hashing
                are not cached.

        Raises:
            ValueError: ``maxsize`` or ``racy_window`` is negative.
        """
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise ValueError(f"maxsize must be an integer >= 0, got {maxsize!r}")
        if racy_window < 0:
            raise ValueError(f"racy_window must be >= 0 seconds, got {racy_window!r}")
        self._maxsize = maxsize
        self._racy_window_ns = int(racy_window * 1_000_000_000)
        self._entries: OrderedDict[_CacheKey, FileDigest] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        """The most entries the cache keeps."""
        return self._maxsize

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget every cached hash."""
        with self._lock:
            self._entries.clear()

    def hash_file(self, path: StrPath) -> FileDigest:
        """Return a file's SHA-256 and size, from the cache when the file is unchanged.

        Args:
            path: A regular file; a symbolic link to one is followed.

        Returns:
            The file's SHA-256 (lowercase hex) and size in bytes.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            IsADirectoryError: ``path`` is a directory.
            UnsupportedEntryError: ``path`` is a FIFO, socket or device file.
            OSError: Reading failed.
        """
        absolute = os.path.abspath(os.fspath(path))
        with open_regular_file(absolute) as handle:
            before = os.fstat(handle.fileno())
            key = _cache_key(absolute, before)
            with self._lock:
                cached = self._entries.get(key)
                if cached is not None:
                    self._entries.move_to_end(key)
                    return cached
            digest = _hash_open_file(handle)
            after = os.fstat(handle.fileno())
        stable = _cache_key(absolute, after) == key and digest.size == before.st_size
        settled = time.time_ns() - before.st_mtime_ns >= self._racy_window_ns
        if stable and settled and self._maxsize > 0:
            with self._lock:
                self._entries[key] = digest
                self._entries.move_to_end(key)
                while len(self._entries) > self._maxsize:
                    self._entries.popitem(last=False)
        return digest
