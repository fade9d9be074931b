"""Artifact file trees: check them at submit, place them in a job's directory at run time.

A tree's root has an empty ``path``; every other node's ``path`` is one path
segment. ``is_file`` with a hash places that blob as a file; a directory with a
hash is a zip archive unpacked there; a directory without a hash just holds its
children. Archives are unpacked defensively: an entry with an absolute path, a
``..`` segment, or a symbolic link is refused before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath

from desam_proto import client_pb2 as pb

from ._blobs import check_hash
from ._errors import ErrorCode, ReplyError, StagingError

__all__ = ["stage_tree", "validate_tree"]

_DRIVE = re.compile(r"[A-Za-z]:")


def validate_tree(root: pb.FileTreeNode, declared: Collection[str]) -> None:
    """Check a file tree's shape before a job is accepted.

    Args:
        root: The tree's root node.
        declared: The request's ``file_hashes``; every hash in the tree must be among them.

    Raises:
        ReplyError: INVALID_ARGUMENT naming the node at fault.
    """
    if root.path:
        _bad(f"file_tree: the root node's path must be empty, got {root.path[:40]!r}")
    if root.is_file:
        _bad("file_tree: the root node must be a directory (is_file=false)")
    _validate_node(root, "file_tree", declared)


def _validate_node(node: pb.FileTreeNode, where: str, declared: Collection[str]) -> None:
    if node.file_hash:
        check_hash(node.file_hash, f"{where}.file_hash")
        if node.file_hash not in declared:
            _bad(f"{where}: file_hash {node.file_hash} is not listed in file_hashes")
    if node.is_file:
        if not node.file_hash:
            _bad(f"{where}: a file node needs a file_hash")
        if node.children:
            _bad(f"{where}: a file node cannot have children")
    seen: set[str] = set()
    for child in node.children:
        segment = child.path
        shown = f"{where}/{segment[:40]!r}"
        if segment in ("", ".", "..") or any(ch in segment for ch in "/\\\0"):
            _bad(f"{shown}: path must be one non-empty segment, without '/', and not '.' or '..'")
        if segment in seen:
            _bad(f"{shown}: the name appears twice in one directory")
        seen.add(segment)
        _validate_node(child, f"{where}/{segment}", declared)


def _bad(message: str) -> None:
    raise ReplyError(ErrorCode.INVALID_ARGUMENT, message)


def stage_tree(root: pb.FileTreeNode, blob_path: Callable[[str], Path], dest: Path) -> None:
    """Place a (validated) file tree under ``dest``.

    Args:
        root: The tree's root node.
        blob_path: Where a blob's bytes are, by hash.
        dest: The job's directory; created if missing.

    Raises:
        StagingError: A blob is gone, an archive is broken or unsafe, or names collide.
    """
    dest.mkdir(parents=True, exist_ok=True)
    _stage_node(root, blob_path, dest, dest)


def _stage_node(node: pb.FileTreeNode, blob_path: Callable[[str], Path], here: Path, top: Path) -> None:
    if node.file_hash:
        unpack_zip(_blob(blob_path, node.file_hash), here)
    for child in node.children:
        target = here / child.path
        if child.is_file:
            if target.is_dir():
                raise StagingError(f"{_rel(target, top)}: a file and a directory have the same path")
            shutil.copyfile(_blob(blob_path, child.file_hash), target)
        else:
            if target.exists() and not target.is_dir():
                raise StagingError(f"{_rel(target, top)}: a file and a directory have the same path")
            target.mkdir(exist_ok=True)
            _stage_node(child, blob_path, target, top)


def _blob(blob_path: Callable[[str], Path], file_hash: str) -> Path:
    try:
        return blob_path(file_hash)
    except KeyError:
        raise StagingError(f"blob {file_hash} is no longer in the cache") from None


def _rel(path: Path, top: Path) -> str:
    return str(path.relative_to(top)) or "."


def unpack_zip(archive: Path, dest: Path) -> None:
    """Unpack a zip archive into ``dest``, refusing any entry that could land outside it.

    Every entry is checked before anything is written: absolute paths, drive
    letters, ``..`` segments and symbolic links are refused. Executable bits are
    kept; other permissions and times are not.

    Raises:
        StagingError: The archive is not a zip, or an entry is unsafe.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            plan = [(info, _entry_target(info, dest)) for info in zf.infolist()]
            top = os.path.realpath(dest)
            for info, target in plan:
                if target is None:
                    continue
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if os.path.commonpath([top, os.path.realpath(target.parent)]) != top:
                    raise StagingError(f"archive entry {info.filename!r} would land outside its directory")
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                if (info.external_attr >> 16) & 0o111:
                    target.chmod(0o755)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise StagingError(f"{archive.name} is not a readable zip archive: {exc}") from exc


def _entry_target(info: zipfile.ZipInfo, dest: Path) -> Path | None:
    """Return where an entry goes under ``dest`` (``None`` for the archive's root), or refuse it."""
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        raise StagingError(f"archive entry {name!r} is a symbolic link; links are refused")
    posix = name.replace("\\", "/")
    if "\0" in posix or posix.startswith("/") or _DRIVE.match(posix):
        raise StagingError(f"archive entry {name!r} has an absolute path")
    parts = [part for part in PurePosixPath(posix).parts if part != "."]
    if ".." in parts:
        raise StagingError(f"archive entry {name!r} climbs out with '..'")
    return dest.joinpath(*parts) if parts else None
