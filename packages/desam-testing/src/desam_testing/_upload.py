"""UploadFile: receive one blob as a stream of chunks, check it, keep it or keep nothing."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from desam_proto import client_pb2 as pb

from ._blobs import BlobCache, check_hash
from ._errors import ErrorCode, ReplyError

__all__ = ["receive_upload"]


def receive_upload(
    cache: BlobCache, key: str, first: pb.UploadFileRequest, rest: Iterator[pb.UploadFileRequest]
) -> pb.UploadFileResponse:
    """Receive a blob whose first chunk is ``first`` and whose other chunks come from ``rest``.

    Every chunk must repeat ``file_hash``, ``file_size`` and ``file_name``, carry
    its 0-based index as ``chunk_id``, and exactly the final chunk must have
    ``is_last_chunk``. A blob the cache already has is answered at once with
    ``already_exists=true`` without reading further chunks.

    Args:
        cache: Where the blob goes.
        key: The uploading API key; it is charged for the blob.
        first: The first chunk.
        rest: The remaining chunks.

    Returns:
        The success reply.

    Raises:
        ReplyError: INVALID_ARGUMENT (a malformed stream), QUOTA_EXCEEDED or
            HASH_MISMATCH. Nothing is kept then, nor when the stream breaks.
    """
    file_hash = check_hash(first.file_hash, "file_hash")
    size = first.file_size
    if size < 0:
        raise ReplyError(ErrorCode.INVALID_ARGUMENT, f"file_size must be >= 0, got {size}")
    if cache.has(file_hash):
        return pb.UploadFileResponse(
            response=pb.CommonResponse(success=True, message="already cached"),
            file_hash=file_hash,
            already_exists=True,
        )
    cache.reserve(key, size)
    fd, name = tempfile.mkstemp(dir=cache.uploads_dir, prefix=file_hash[:12] + "-", suffix=".part")
    partial = Path(name)
    kept = False
    try:
        with os.fdopen(fd, "wb") as out:
            received, digest = _write_chunks(first, itertools.chain([first], rest), out)
        if received != size:
            raise ReplyError(ErrorCode.HASH_MISMATCH, f"received {received} bytes but file_size is {size}")
        if digest != file_hash:
            raise ReplyError(
                ErrorCode.HASH_MISMATCH, f"the received bytes hash to {digest}, not to file_hash {file_hash}"
            )
        cache.commit(key, file_hash, size, partial)
        kept = True
    finally:
        if not kept:
            cache.unreserve(key, size)
            partial.unlink(missing_ok=True)
    return pb.UploadFileResponse(
        response=pb.CommonResponse(success=True, message=f"stored {size} bytes"),
        file_hash=file_hash,
        already_exists=False,
    )


def _write_chunks(
    first: pb.UploadFileRequest, chunks: Iterator[pb.UploadFileRequest], out: BinaryIO
) -> tuple[int, str]:
    """Check each chunk against the stream rules, write its bytes; return (size, sha256 hex)."""
    identity = (first.file_hash, first.file_size, first.file_name)
    digest = hashlib.sha256()
    received = 0
    last_seen = False
    for index, chunk in enumerate(chunks):
        if last_seen:
            raise ReplyError(
                ErrorCode.INVALID_ARGUMENT, f"chunk {index} came after the chunk marked is_last_chunk"
            )
        if chunk.chunk_id != str(index):
            raise ReplyError(
                ErrorCode.INVALID_ARGUMENT,
                f"chunk {index} has chunk_id {chunk.chunk_id[:20]!r}, expected '{index}'",
            )
        if (chunk.file_hash, chunk.file_size, chunk.file_name) != identity:
            raise ReplyError(
                ErrorCode.INVALID_ARGUMENT, f"chunk {index} changes file_hash, file_size or file_name"
            )
        received += len(chunk.content)
        if received > first.file_size:
            raise ReplyError(ErrorCode.HASH_MISMATCH, f"received more than file_size={first.file_size} bytes")
        digest.update(chunk.content)
        out.write(chunk.content)
        last_seen = chunk.is_last_chunk
    if not last_seen:
        raise ReplyError(ErrorCode.INVALID_ARGUMENT, "the stream ended without a chunk marked is_last_chunk")
    return received, digest.hexdigest()
