"""Where the files layer meets the client: argument checks, error mapping, local preparation.

The pure modules of :mod:`desam_client.files` raise plain exceptions; the client raises
its own (:mod:`desam_client.exceptions`). The transfer flows wrap every piece of local
work and every upload in :func:`mapped_errors`, which translates and chains them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from desam_client import exceptions as exc
from desam_client._core import validate as v

from . import errors as pure
from .archive import PackedArchive, pack_directory
from .chunks import ProgressCallback, validate_chunk_size
from .hashing import HashCache, display_name, hash_file
from .mappings import normalize_mappings
from .tree import Blob

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def chunk_size_arg(value: Any) -> int:
    """A valid chunk size, or ``InvalidArgumentError`` naming ``chunk_size``."""
    try:
        return validate_chunk_size(value)
    except (TypeError, ValueError) as error:
        raise exc.InvalidArgumentError(f"chunk_size: {error}", argument="chunk_size") from error


def local_path_arg(argument: str, value: Any) -> str:
    """``value`` as an absolute path, or ``InvalidArgumentError`` naming ``argument``."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return os.path.abspath(path)
    raise exc.InvalidArgumentError(
        f"{argument}: must be a non-empty str or os.PathLike path, got {value!r}", argument=argument
    )


def callback_arg(value: Any) -> ProgressCallback | None:
    """A progress callback (callable or None), or ``InvalidArgumentError``."""
    if value is None or callable(value):
        return value  # type: ignore[no-any-return]
    raise exc.InvalidArgumentError(
        f"progress_callback: must be callable or None, got {value!r}", argument="progress_callback"
    )


def mappings_arg(file_mappings: Any, argument: str = "file_mappings") -> dict[str, str]:
    """Validated ``{mount_path: absolute local path}``; an invalid mount path is named in the error."""
    try:
        return dict(normalize_mappings(file_mappings))
    except pure.MountPathError as error:
        raise exc.InvalidArgumentError(
            f"{argument}[{error.mount_path!r}]: {error}",
            argument=f"{argument}[{error.mount_path!r}]",
        ) from error
    except TypeError as error:
        raise exc.InvalidArgumentError(f"{argument}: {error}", argument=argument) from error


def hashes_arg(file_hashes: Any) -> list[str]:
    """A list of lowercase hex SHA-256 hashes; the error names the first bad item."""
    hashes = v.str_list("file_hashes", file_hashes)
    for index, item in enumerate(hashes):
        if not _SHA256_HEX.fullmatch(item):
            raise exc.InvalidArgumentError(
                f"file_hashes[{index}]: must be a lowercase hex SHA-256 (64 characters), got {item!r}",
                argument=f"file_hashes[{index}]",
            )
    return hashes


@contextlib.contextmanager
def mapped_errors(argument: str, rpc: str | None = None) -> Iterator[None]:
    """Turn the files layer's errors into the client's, chained; ``rpc`` is set once bytes flow."""
    try:
        yield
    except exc.DeSAMError:
        raise
    except pure.FileChangedError as error:
        raise exc.FileChangedError(f"{error}; the scheduler kept nothing, try again", rpc=rpc) from error
    except pure.MountPathError as error:
        raise exc.InvalidArgumentError(
            f"{argument}[{error.mount_path!r}]: {error}",
            argument=f"{argument}[{error.mount_path!r}]",
        ) from error
    except pure.UnsupportedEntryError as error:
        raise exc.InvalidArgumentError(f"{argument}: {error}", argument=argument) from error
    except FileNotFoundError as error:
        if rpc is None:  # before anything is sent
            raise exc.LocalFileNotFoundError(
                f"{argument}: {error.strerror or error}: {error.filename!r}", filename=error.filename
            ) from error
        raise exc.FileTransferError(
            f"a file disappeared while it was being uploaded: {error}",
            rpc=rpc,
        ) from error
    except OSError as error:
        raise exc.FileTransferError(f"reading local data failed: {error}", rpc=rpc) from error


# -- local preparation --------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A local path ready to upload: its blob, and the temporary archive of a directory."""

    blob: Blob
    archive: PackedArchive | None = None

    def close(self) -> None:
        """Delete the temporary archive, if any."""
        if self.archive is not None:
            self.archive.close()


def prepare(path: str, hash_cache: HashCache | None) -> Prepared:
    """Hash a file, or pack and hash a directory (blocking local work)."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "the local path to upload does not exist", path)
    if os.path.isdir(path):
        archive = pack_directory(path)
        return Prepared(Blob(archive.sha256, archive.size, archive.name, archive.path), archive)
    digest = hash_cache.hash_file(path) if hash_cache is not None else hash_file(path)
    return Prepared(Blob(digest.sha256, digest.size, display_name(path), path))


def prepare_all(paths: list[str], hash_cache: HashCache | None) -> list[Prepared]:
    """:func:`prepare` each path; on failure the archives made so far are deleted."""
    done: list[Prepared] = []
    try:
        for path in paths:
            done.append(prepare(path, hash_cache))
    except BaseException:
        for item in done:
            item.close()
        raise
    return done


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, to the second (``2024-01-02T03:04:05Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
