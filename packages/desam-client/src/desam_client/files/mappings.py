"""Validating file mappings: where each local path lands in the job's data root.

Pure functions: nothing here touches the file system.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias

from .errors import MountPathError
from .hashing import StrPath

__all__ = ["FileMappings", "normalize_mappings", "validate_mount_path"]

FileMappings: TypeAlias = Mapping[str, StrPath] | Sequence[tuple[StrPath, str]]
"""``{mount_path: local_path}``, or a list of ``(local_path, mount_path)`` pairs as in 0.1.x.

Any iterable of pairs is accepted at run time; the annotation says ``Sequence`` so
that type checkers can tell a dict literal from a list of pairs.
"""


def validate_mount_path(mount_path: str) -> str:
    """Check one mount path and return it unchanged.

    A mount path is where a file or directory appears inside the job's data root:
    a relative POSIX path such as ``"data/train.csv"``, made of non-empty segments
    separated by ``/``.

    Args:
        mount_path: The path to check.

    Returns:
        ``mount_path``.

    Raises:
        TypeError: ``mount_path`` is not a string.
        MountPathError: It is empty, absolute, contains a backslash or a NUL character, or
            has an empty, ``.`` or ``..`` segment (``"a//b"``, ``"a/"``, ``"./a"``).
    """
    if not isinstance(mount_path, str):
        raise TypeError(f"a mount path must be a string, got {mount_path!r}")
    if not mount_path:
        raise MountPathError(mount_path, "it is empty; name a file or directory inside the job's data root")
    if mount_path.startswith("/"):
        raise MountPathError(mount_path, "it must be relative to the job's data root (no leading '/')")
    if "\\" in mount_path:
        raise MountPathError(mount_path, "it contains '\\'; separate segments with '/'")
    if "\0" in mount_path:
        raise MountPathError(mount_path, "it contains a NUL character")
    try:
        mount_path.encode("utf-8")
    except UnicodeEncodeError:
        raise MountPathError(mount_path, "it is not valid Unicode (a lone surrogate)") from None
    for segment in mount_path.split("/"):
        if segment == "":
            raise MountPathError(mount_path, "it has an empty segment (a '//' or a trailing '/')")
        if segment in (".", ".."):
            raise MountPathError(mount_path, f"it has a {segment!r} segment; mount paths cannot step around")
    return mount_path


def _pairs(file_mappings: FileMappings) -> Iterator[tuple[object, object]]:
    if isinstance(file_mappings, Mapping):
        yield from file_mappings.items()
        return
    if isinstance(file_mappings, (str, bytes, os.PathLike)):
        raise TypeError("file_mappings must be a dict {mount_path: local_path} or a list of pairs")
    for pair in file_mappings:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"each file mapping must be a (local_path, mount_path) pair, got {pair!r}")
        local, mount = pair
        yield mount, local


def normalize_mappings(file_mappings: FileMappings) -> list[tuple[str, str]]:
    """Validate file mappings without touching the file system.

    Args:
        file_mappings: ``{mount_path: local_path}``, or a list of
            ``(local_path, mount_path)`` pairs as in 0.1.x.

    Returns:
        ``(mount_path, absolute_local_path)`` pairs in the order given.

    Raises:
        TypeError: The mappings, a pair, a mount path or a local path has the wrong
            type.
        MountPathError: A mount path is invalid (see :func:`validate_mount_path`),
            used twice, or lies inside another mount path (``"a"`` and ``"a/b"``).
    """
    result: list[tuple[str, str]] = []
    for mount, local in _pairs(file_mappings):
        if not isinstance(mount, str):
            raise TypeError(f"a mount path must be a string, got {mount!r} (for local path {local!r})")
        validate_mount_path(mount)
        if not isinstance(local, (str, os.PathLike)):
            raise TypeError(f"the local path for mount path {mount!r} must be a str or path, got {local!r}")
        result.append((mount, os.path.abspath(os.fspath(local))))
    mounted = {mount for mount, _ in result}
    seen: set[str] = set()
    for mount, _ in result:
        if mount in seen:
            raise MountPathError(mount, "it is used by more than one mapping")
        seen.add(mount)
        segments = mount.split("/")
        for depth in range(1, len(segments)):
            parent = "/".join(segments[:depth])
            if parent in mounted:
                raise MountPathError(
                    mount, f"it lies inside {parent!r}, which is mounted too; a path cannot be both"
                )
    return result
