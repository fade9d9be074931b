"""Cutting a blob into the chunks of an ``UploadFile`` stream.

:func:`iter_upload_requests` yields the :class:`~desam_proto.client_pb2.UploadFileRequest`
messages for one blob with the exact semantics the scheduler expects:

* every chunk repeats ``file_hash``, ``file_size`` and ``file_name``;
* ``chunk_id`` is the chunk's 0-based index as a decimal string;
* there are ``max(1, ceil(file_size / chunk_size))`` chunks, and exactly the final
  one has ``is_last_chunk=True``, also when the size is a multiple of the chunk size;
* an empty blob is a single chunk with empty content and ``is_last_chunk=True``.

The bytes are hashed again as they are read. If they no longer match the expected
size and SHA-256 (the file was modified after it was hashed), the iterator raises
:class:`~desam_client.files.errors.FileChangedError` *instead of* producing the final
chunk, so the scheduler never receives a complete blob under the wrong hash.

Reading is blocking local I/O. The transports take care of it: the asyncio one reads
each chunk in a worker thread, and both re-raise what the iterator raised instead of
the generic error gRPC turns it into.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from typing import TypeVar

from desam_proto import client_pb2

from .errors import FileChangedError
from .hashing import BinaryReader, StrPath, open_regular_file, read_block

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ProgressCallback",
    "chunk_count",
    "iter_upload_requests",
    "validate_chunk_size",
]

DEFAULT_CHUNK_SIZE = 1 << 20
"""Default chunk size: 1 MiB."""

MAX_CHUNK_SIZE = 3 << 20
"""Largest chunk size accepted: 3 MiB, well under the 4 MiB message limit of gRPC servers."""

ProgressCallback = Callable[[int, int], object]
"""Called as ``progress(sent_bytes, total_bytes)`` after each chunk is handed over."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")


def validate_chunk_size(chunk_size: int) -> int:
    """Check that a chunk size can be sent to a scheduler.

    Args:
        chunk_size: Bytes per chunk.

    Returns:
        ``chunk_size``, unchanged.

    Raises:
        TypeError: ``chunk_size`` is not an integer.
        ValueError: ``chunk_size`` is not between 1 and :data:`MAX_CHUNK_SIZE` (3 MiB).
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError(f"chunk_size must be an integer number of bytes, got {chunk_size!r}")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes (3 MiB; gRPC servers refuse "
            f"messages over 4 MiB), got {chunk_size}"
        )
    return chunk_size


def chunk_count(file_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Return how many chunks a blob of ``file_size`` bytes is sent in.

    Args:
        file_size: The blob's size in bytes.
        chunk_size: Bytes per chunk.

    Returns:
        ``max(1, ceil(file_size / chunk_size))``: an empty blob is still one chunk.

    Raises:
        ValueError: ``file_size`` is negative or ``chunk_size`` is out of range.
    """
    validate_chunk_size(chunk_size)
    if file_size < 0:
        raise ValueError(f"file_size must be >= 0, got {file_size}")
    return max(1, -(-file_size // chunk_size))


def _check_blob(file_hash: str, file_size: int) -> None:
    if not isinstance(file_hash, str) or not _SHA256_HEX.fullmatch(file_hash):
        raise ValueError(f"file_hash must be a lowercase hex SHA-256 (64 characters), got {file_hash!r}")
    if isinstance(file_size, bool) or not isinstance(file_size, int) or file_size < 0:
        raise ValueError(f"file_size must be an integer >= 0, got {file_size!r}")


@contextlib.contextmanager
def _reader(source: StrPath | BinaryReader, label: str, file_size: int) -> Iterator[BinaryReader]:
    if not isinstance(source, (str, os.PathLike)):
        yield source  # the caller owns it: read from where it is, do not close
        return
    with open_regular_file(source) as handle:
        actual = os.fstat(handle.fileno()).st_size
        if actual != file_size:
            raise FileChangedError(label, f"its size is now {actual} bytes, expected {file_size}")
        yield handle


def _requests(
    source: StrPath | BinaryReader,
    label: str,
    template: client_pb2.UploadFileRequest,
    chunk_size: int,
    progress: ProgressCallback | None,
) -> Iterator[client_pb2.UploadFileRequest]:
    file_size = template.file_size
    total = chunk_count(file_size, chunk_size)
    digest = hashlib.sha256()
    sent = 0
    with _reader(source, label, file_size) as reader:
        for index in range(total):
            wanted = min(chunk_size, file_size - sent)
            content = read_block(reader, wanted)
            if len(content) < wanted:
                ended = sent + len(content)
                raise FileChangedError(label, f"it ended after {ended} bytes, expected {file_size}")
            digest.update(content)
            last = index == total - 1
            if last:
                if read_block(reader, 1):
                    raise FileChangedError(label, f"it is now longer than the expected {file_size} bytes")
                if digest.hexdigest() != template.file_hash:
                    raise FileChangedError(
                        label, f"its SHA-256 is now {digest.hexdigest()}, expected {template.file_hash}"
                    )
            request = client_pb2.UploadFileRequest()
            request.CopyFrom(template)
            request.content = content
            request.is_last_chunk = last
            request.chunk_id = str(index)
            yield request
            sent += len(content)
            if progress is not None:
                progress(sent, file_size)


def iter_upload_requests(
    source: StrPath | BinaryReader,
    *,
    file_hash: str,
    file_size: int,
    file_name: str,
    api_key: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> Iterator[client_pb2.UploadFileRequest]:
    """Yield the ``UploadFile`` chunks of one blob.

    Arguments are checked at once; the file is opened and read lazily, one chunk
    per step, holding one chunk in memory. Closing the iterator closes the file.

    Args:
        source: The bytes to send: a path (a file, or a packed archive), or an open
            binary reader, read from its current position and not closed.
        file_hash: The SHA-256 (lowercase hex) computed earlier, sent in every chunk.
        file_size: The size in bytes computed earlier, sent in every chunk.
        file_name: The display name sent in every chunk (usually the base name).
        api_key: The API key sent in every chunk.
        chunk_size: Bytes per chunk, 1 to :data:`MAX_CHUNK_SIZE`.
        progress: Called as ``progress(sent_bytes, total_bytes)`` after each chunk
            has been taken by the consumer. An exception it raises stops the upload
            and propagates.

    Returns:
        An iterator of ``UploadFileRequest``; see the module description for the
        exact chunk semantics.

    Raises:
        TypeError: ``chunk_size`` is not an integer.
        ValueError: ``chunk_size``, ``file_hash`` or ``file_size`` is invalid.
        FileNotFoundError: While iterating, the file no longer exists.
        FileChangedError: While iterating, the bytes read differ in size or
            SHA-256 from ``file_size``/``file_hash``; raised before the final chunk.
        OSError: While iterating, reading failed.
    """
    validate_chunk_size(chunk_size)
    _check_blob(file_hash, file_size)
    if isinstance(source, (str, os.PathLike)):
        label = os.fspath(source)
    else:
        label = str(getattr(source, "name", file_name))
    template = client_pb2.UploadFileRequest(
        api_key=api_key, file_hash=file_hash, file_size=file_size, file_name=file_name
    )
    return _requests(source, label, template, chunk_size, progress)
