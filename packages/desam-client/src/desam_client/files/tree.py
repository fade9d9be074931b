"""From the user's file mappings to an upload plan and a ``FileTreeNode``.

A job's data dependencies are given as *file mappings*: which local file or
directory appears where inside the job's data root. Two forms are accepted:

* the 0.1.x form, a list of ``(local_path, mount_path)`` pairs::

      [("./train.csv", "data/train.csv"), ("./src", "code")]

* a dict ``{mount_path: local_path}``::

      {"data/train.csv": "./train.csv", "code": "./src"}

Mount paths are relative POSIX paths (see
:func:`~desam_client.files.mappings.validate_mount_path`). A local
file is shipped as it is; a local directory is packed into one deterministic zip
archive (:mod:`desam_client.files.archive`) that the scheduler unpacks at its mount
path.

:func:`build_plan` does the local work for a submission: validate, hash, pack each
directory once into a private temporary file, and list the distinct blobs to make
sure of on the scheduler. Close the plan when done to delete the temporary files.
It is blocking local I/O; asyncio code runs it with :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

from desam_proto import client_pb2

from .archive import PackedArchive, digest_directory, pack_directory
from .chunks import DEFAULT_CHUNK_SIZE, ProgressCallback, iter_upload_requests
from .errors import MountPathError, UnsupportedEntryError
from .hashing import (
    FileDigest,
    HashCache,
    StrPath,
    _describe_mode,
    display_name,
    hash_file,
    open_regular_file,
)
from .mappings import FileMappings, normalize_mappings

__all__ = ["Blob", "FilePlan", "PlannedItem", "build_file_tree", "build_plan", "make_file_tree"]


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One mapping, resolved: what lands where, and its blob."""

    mount_path: str
    """Where it appears inside the job's data root."""

    local_path: str
    """The local file or directory, as an absolute path."""

    file_hash: str
    """SHA-256 of the file, or of the directory's archive."""

    file_size: int
    """Size in bytes of the file, or of the directory's archive."""

    is_directory: bool
    """True if a directory is shipped as an archive to unpack at ``mount_path``."""


@dataclass(frozen=True, slots=True)
class Blob:
    """Some bytes the scheduler must hold for the job, found by their SHA-256."""

    file_hash: str
    """SHA-256 of the bytes (lowercase hex)."""

    file_size: int
    """Size in bytes."""

    file_name: str
    """Display name sent with the upload: the file's name, or the directory's plus ``.zip``."""

    path: str
    """Where the bytes are read from: the local file, or the temporary archive."""

    def open(self) -> io.FileIO:
        """Open the bytes for reading (a context manager; close it when done)."""
        return open_regular_file(self.path)

    def upload_requests(
        self,
        *,
        api_key: str = "",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress: ProgressCallback | None = None,
    ) -> Iterator[client_pb2.UploadFileRequest]:
        """Yield this blob's ``UploadFile`` chunks; see :func:`.chunks.iter_upload_requests`."""
        return iter_upload_requests(
            self.path,
            file_hash=self.file_hash,
            file_size=self.file_size,
            file_name=self.file_name,
            api_key=api_key,
            chunk_size=chunk_size,
            progress=progress,
        )


def _tree_children(group: list[tuple[list[str], PlannedItem]]) -> list[client_pb2.FileTreeNode]:
    by_name: dict[str, list[tuple[list[str], PlannedItem]]] = {}
    for segments, item in group:
        by_name.setdefault(segments[0], []).append((segments[1:], item))
    nodes = []
    for name in sorted(by_name, key=lambda segment: segment.encode("utf-8")):
        members = by_name[name]
        leaves = [item for rest, item in members if not rest]
        if leaves and len(members) > 1:
            raise MountPathError(leaves[0].mount_path, "other mount paths lie inside it")
        if leaves:
            leaf = leaves[0]
            nodes.append(
                client_pb2.FileTreeNode(path=name, file_hash=leaf.file_hash, is_file=not leaf.is_directory)
            )
        else:
            nodes.append(client_pb2.FileTreeNode(path=name, is_file=False, children=_tree_children(members)))
    return nodes


def make_file_tree(items: Iterable[PlannedItem]) -> client_pb2.FileTreeNode:
    """Build the ``FileTreeNode`` that places resolved items in the job's data root.

    The root has an empty path; each node's path is one segment; children are sorted
    by name. A file is ``is_file=True`` with its hash, a directory archive is
    ``is_file=False`` with the archive's hash, and a directory that only holds other
    mounts is ``is_file=False`` with no hash.

    Args:
        items: Resolved mappings, for example :attr:`FilePlan.items`.

    Returns:
        The root node.

    Raises:
        MountPathError: One item's mount path lies inside another's.
    """
    group = [(item.mount_path.split("/"), item) for item in items]
    return client_pb2.FileTreeNode(path="", is_file=False, children=_tree_children(group))


class FilePlan:
    """The local side of a submission with data dependencies, ready to upload.

    Holds the packed archives of directory mappings in private temporary files until
    :meth:`close` (or the end of a ``with`` block).

    Attributes:
        items: Each mapping, resolved, in the order given.
        blobs: The distinct blobs to make sure of on the scheduler (identical
            contents appear once), in the order first needed.
        tree: The ``FileTreeNode`` for ``SubmitJobWithArtifacts`` (root path ``""``).
    """

    def __init__(
        self, items: Iterable[PlannedItem], blobs: Iterable[Blob], archives: Iterable[PackedArchive]
    ):
        """Assemble a plan; use :func:`build_plan` rather than calling this."""
        self.items = tuple(items)
        self.blobs = tuple(blobs)
        self._archives = list(archives)
        self.tree = make_file_tree(self.items)

    @property
    def file_hashes(self) -> list[str]:
        """The distinct blob hashes, as ``VerifyDependencies`` and the submit expect."""
        return [blob.file_hash for blob in self.blobs]

    @property
    def total_size(self) -> int:
        """The total size in bytes of the distinct blobs."""
        return sum(blob.file_size for blob in self.blobs)

    @property
    def closed(self) -> bool:
        """Whether the temporary archives have been deleted."""
        return all(archive.closed for archive in self._archives)

    def close(self) -> None:
        """Delete the temporary archives. Calling it again does nothing."""
        for archive in self._archives:
            archive.close()

    def __enter__(self) -> FilePlan:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FilePlan items={len(self.items)} blobs={len(self.blobs)} total_size={self.total_size}>"


def _local_kinds(mounts: list[tuple[str, str]]) -> list[bool]:
    kinds = []
    for mount, local in mounts:
        try:
            mode = os.stat(local).st_mode
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                errno.ENOENT, f"the local path for mount path {mount!r} does not exist", local
            ) from exc
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            raise UnsupportedEntryError(local, f"it is {_describe_mode(mode)}; map a file or a directory")
        kinds.append(stat.S_ISDIR(mode))
    return kinds


def _hash(local: str, hash_cache: HashCache | None) -> FileDigest:
    return hash_cache.hash_file(local) if hash_cache is not None else hash_file(local)


def build_plan(
    file_mappings: FileMappings, *, hash_cache: HashCache | None = None, temp_dir: StrPath | None = None
) -> FilePlan:
    """Validate, hash and pack file mappings into an upload plan.

    Every mount path is validated and every local path checked before anything is
    read. Files are hashed (through ``hash_cache`` if given); each directory is packed
    once into a temporary file unique to this call. On any error, the temporary
    files made so far are deleted.

    Args:
        file_mappings: ``{mount_path: local_path}``, or a list of
            ``(local_path, mount_path)`` pairs as in 0.1.x.
        hash_cache: Reuse hashes of unchanged files across calls.
        temp_dir: Where to write directory archives; the system default if None.

    Returns:
        The plan; close it (or use it in a ``with`` block) when done.

    Raises:
        TypeError: A mapping has the wrong shape or type.
        MountPathError: A mount path is invalid, duplicated or nested in another.
        FileNotFoundError: A local path does not exist (the message names it).
        UnsupportedEntryError: A local path, or something inside a directory, cannot
            be shipped (a FIFO, a link leading outside the directory, ...).
        FileChangedError: A file changed while a directory was being packed.
        OSError: Reading or writing failed.
    """
    mounts = normalize_mappings(file_mappings)
    kinds = _local_kinds(mounts)
    items: list[PlannedItem] = []
    blobs: dict[str, Blob] = {}
    archives: list[PackedArchive] = []
    packed: dict[str, FileDigest] = {}  # a directory mounted twice is packed once
    try:
        for (mount, local), is_directory in zip(mounts, kinds, strict=True):
            if is_directory and local in packed:
                digest = packed[local]
            elif is_directory:
                archive = pack_directory(local, temp_dir=temp_dir)
                digest = packed[local] = FileDigest(archive.sha256, archive.size)
                if digest.sha256 in blobs:
                    archive.close()  # same content as an earlier directory
                else:
                    archives.append(archive)
                    blobs[digest.sha256] = Blob(digest.sha256, digest.size, archive.name, archive.path)
            else:
                digest = _hash(local, hash_cache)
                blobs.setdefault(digest.sha256, Blob(digest.sha256, digest.size, display_name(local), local))
            items.append(PlannedItem(mount, local, digest.sha256, digest.size, is_directory))
        return FilePlan(items, blobs.values(), archives)
    except BaseException:
        for archive in archives:
            archive.close()
        raise


def build_file_tree(
    file_mappings: FileMappings, *, hash_cache: HashCache | None = None
) -> client_pb2.FileTreeNode:
    """Compute the ``FileTreeNode`` for file mappings without keeping any archive.

    Directories are packed only to hash them; nothing is written to disk. Use
    :func:`build_plan` when the blobs are to be uploaded too.

    Args:
        file_mappings: ``{mount_path: local_path}``, or a list of
            ``(local_path, mount_path)`` pairs as in 0.1.x.
        hash_cache: Reuse hashes of unchanged files across calls.

    Returns:
        The root node (see :func:`make_file_tree`).

    Raises:
        TypeError: A mapping has the wrong shape or type.
        MountPathError: A mount path is invalid, duplicated or nested in another.
        FileNotFoundError: A local path does not exist (the message names it).
        UnsupportedEntryError: A local path, or something inside a directory, cannot
            be shipped.
        FileChangedError: A file changed while a directory was being packed.
        OSError: Reading failed.
    """
    mounts = normalize_mappings(file_mappings)
    kinds = _local_kinds(mounts)
    items = []
    for (mount, local), is_directory in zip(mounts, kinds, strict=True):
        digest = digest_directory(local) if is_directory else _hash(local, hash_cache)
        items.append(PlannedItem(mount, local, digest.sha256, digest.size, is_directory))
    return make_file_tree(items)
