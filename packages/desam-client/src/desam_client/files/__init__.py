"""Local work for data dependencies: hashing, directory archives, upload chunks, plans.

Nothing here talks to the scheduler; the clients use these pieces behind
``client.files``. Every function is blocking local I/O that is safe to run in a
worker thread, so the synchronous and the asyncio client share it unchanged.

* :mod:`.hashing`: streaming SHA-256 of files and a :class:`HashCache`.
* :mod:`.archive`: deterministic zip archives of directories.
* :mod:`.chunks`: the ``UploadFileRequest`` stream of one blob.
* :mod:`.mappings`: validating file mappings and mount paths.
* :mod:`.tree`: file mappings to a :class:`FilePlan` and a ``FileTreeNode``.
* :mod:`.models`: :class:`QuotaInfo`, :class:`FileInfo`, :class:`DependencyCheck`.
* :mod:`.errors`: :class:`FileChangedError`, :class:`MountPathError`,
  :class:`UnsupportedEntryError`.
"""

from .archive import PackedArchive, digest_directory, iter_archive, pack_directory, write_archive
from .chunks import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    CapturingIterator,
    aiter_in_thread,
    chunk_count,
    iter_upload_requests,
    validate_chunk_size,
)
from .errors import FileChangedError, MountPathError, UnsupportedEntryError
from .hashing import FileDigest, HashCache, hash_file, sha256_file
from .mappings import FileMappings, normalize_mappings, validate_mount_path
from .models import DependencyCheck, FileInfo, QuotaInfo
from .tree import Blob, FilePlan, PlannedItem, build_file_tree, build_plan, make_file_tree

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "Blob",
    "CapturingIterator",
    "DependencyCheck",
    "FileChangedError",
    "FileDigest",
    "FileInfo",
    "FileMappings",
    "FilePlan",
    "HashCache",
    "MountPathError",
    "PackedArchive",
    "PlannedItem",
    "QuotaInfo",
    "UnsupportedEntryError",
    "aiter_in_thread",
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
