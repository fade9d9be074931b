"""Data dependencies: ``client.files``, and the local work behind it.

:class:`FilesAPI` and :class:`AsyncFilesAPI` (in :mod:`.api`) are ``client.files`` of
the two clients. Everything else here is local work that never talks to the
scheduler: blocking I/O that is safe to run in a worker thread, so the synchronous
and the asyncio client share it unchanged.

* :mod:`.api`: :class:`FilesAPI`, :class:`AsyncFilesAPI`.

* :mod:`.hashing`: streaming SHA-256 of files and a :class:`HashCache`.
* :mod:`.archive`: deterministic zip archives of directories.
* :mod:`.chunks`: the ``UploadFileRequest`` stream of one blob.
* :mod:`.mappings`: validating file mappings and mount paths.
* :mod:`.tree`: file mappings to a :class:`FilePlan` and a ``FileTreeNode``.
* :mod:`.models`: :class:`QuotaInfo`, :class:`FileInfo`, :class:`DependencyCheck`.
* :mod:`.errors`: :class:`FileChangedError`, :class:`MountPathError`,
  :class:`UnsupportedEntryError`.
"""

from typing import TYPE_CHECKING

from .archive import PackedArchive, digest_directory, iter_archive, pack_directory, write_archive
from .chunks import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    chunk_count,
    iter_upload_requests,
    validate_chunk_size,
)
from .errors import FileChangedError, MountPathError, UnsupportedEntryError
from .hashing import FileDigest, HashCache, hash_file, sha256_file
from .mappings import FileMappings, normalize_mappings, validate_mount_path
from .models import DependencyCheck, FileInfo, QuotaInfo
from .tree import Blob, FilePlan, PlannedItem, build_file_tree, build_plan, make_file_tree

if TYPE_CHECKING:
    from .api import AsyncFilesAPI, FilesAPI

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "AsyncFilesAPI",
    "Blob",
    "DependencyCheck",
    "FileChangedError",
    "FileDigest",
    "FileInfo",
    "FileMappings",
    "FilePlan",
    "FilesAPI",
    "HashCache",
    "MountPathError",
    "PackedArchive",
    "PlannedItem",
    "QuotaInfo",
    "UnsupportedEntryError",
    "build_file_tree",
    "build_plan",
    "chunk_count",
    "digest_directory",
    "hash_file",
    "iter_archive",
    "iter_upload_requests",
    "make_file_tree",
    "normalize_mappings",
    "pack_directory",
    "sha256_file",
    "validate_chunk_size",
    "validate_mount_path",
    "write_archive",
]


def __getattr__(name: str) -> object:
    # FilesAPI and AsyncFilesAPI import the client core, which imports this package:
    # load them on first use to keep the import graph free of cycles.
    if name in ("FilesAPI", "AsyncFilesAPI"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
