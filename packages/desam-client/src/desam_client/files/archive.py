"""Deterministic zip archives of local directories.

A directory dependency is shipped as one zip archive, and the scheduler's cache
finds it by the archive's SHA-256. The same tree must therefore give the same bytes
on every machine, at every time, in every time zone, or the cache never hits. The
archive depends only on the names, contents and executable bits of what is in the
directory:

* **Order**: entries sorted by their relative POSIX path, compared as UTF-8 bytes.
  Names are normalized to Unicode NFC (macOS may store ``é`` decomposed).
* **Directories**: every directory is an entry (``name/``), so empty ones survive.
* **Stored, not deflated**: entries are uncompressed (method 0). Deflate output is
  not guaranteed to be identical across zlib builds and versions, which would make
  the hash machine-dependent; the scheduler's cache, not the wire, is the point.
* **Fixed metadata**: every timestamp is 1980-01-01 00:00:00; permissions are 0o755
  for directories, 0o755 for files whose owner-executable bit is set and 0o644 for
  all other files (so ``./run.sh`` still runs; on Windows every file is 0o644);
  "made by" Unix; names flagged UTF-8; no extra fields, comments or owners. Zip64
  fields appear only where a size, offset or count needs them.
* **Symbolic links** are followed only when their target lies inside the directory:
  a link to a file is stored as a regular file with the target's content, a link
  to a directory as a copy of that directory. A link whose target is outside the
  directory, a broken link, and a link that leads back into one of its own parent
  directories (a cycle) raise :class:`~desam_client.files.errors.UnsupportedEntryError`
  naming the link. Nothing from outside the chosen directory is ever packed.
* **Special files** (FIFOs, sockets, device files), names that are not valid UTF-8,
  and names containing a backslash (which unzip tools treat as a separator) raise
  :class:`~desam_client.files.errors.UnsupportedEntryError` naming the path; they are
  never skipped silently.

Archives are streamed: to any writable binary object (:func:`write_archive`), as
byte pieces (:func:`iter_archive`), or into a private temporary file unique to the
call (:func:`pack_directory`). Files up to 1 MiB are read once; larger files are read
twice (a CRC pass, then the copy, which is checked against the first pass), so
memory stays near 1 MiB whatever the file sizes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import unicodedata
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol

from ._zipwriter import Entry, stream_archive
from .errors import UnsupportedEntryError
from .hashing import FileDigest, StrPath, _describe_mode, display_name

__all__ = ["PackedArchive", "digest_directory", "iter_archive", "pack_directory", "write_archive"]

_DIRECTORY_MODE = 0o755
_FILE_MODE = 0o644
_EXECUTABLE_MODE = 0o755


class BinarySink(Protocol):
    """Anything bytes can be written to, such as a file opened with ``"wb"``."""

    def write(self, data: bytes, /) -> int | None:
        """Write ``data``; return how many bytes were written (or None for all)."""


def _file_mode(st_mode: int) -> int:
    if os.name != "nt" and st_mode & stat.S_IXUSR:
        return _EXECUTABLE_MODE
    return _FILE_MODE


def _is_inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # different drives on Windows
        return False


def _follow_link(link: str, root: str) -> tuple[str, os.stat_result]:
    target = os.path.realpath(link)
    if not _is_inside(target, root):
        raise UnsupportedEntryError(
            link, f"it is a symbolic link to {target!r}, outside the directory being packed"
        )
    try:
        return target, os.stat(target)
    except FileNotFoundError as exc:
        raise UnsupportedEntryError(link, "it is a broken symbolic link") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsupportedEntryError(link, "it is a symbolic link loop") from exc
        raise


def _entry_name(prefix: str, name: str, origin: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnsupportedEntryError(origin, "its name is not valid UTF-8") from exc
    if "\\" in name:
        raise UnsupportedEntryError(origin, "its name contains a backslash, which unzip tools read as '/'")
    return prefix + unicodedata.normalize("NFC", name)


def _add(entries: dict[str, Entry], entry: Entry) -> None:
    other = entries.get(entry.name)
    if other is not None:
        raise UnsupportedEntryError(
            entry.origin, f"its name is the same as {other.origin!r} once both are normalized to Unicode NFC"
        )
    entries[entry.name] = entry


def _scan(directory: StrPath) -> list[Entry]:
    given = os.fspath(directory)
    info = os.stat(given)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", given)
    root = os.path.realpath(given)
    entries: dict[str, Entry] = {}
    pending = [(root, "", frozenset({(info.st_dev, info.st_ino)}))]
    while pending:
        on_disk, prefix, ancestors = pending.pop()
        with os.scandir(on_disk) as listing:
            children = list(listing)
        for child in children:
            name = _entry_name(prefix, child.name, child.path)
            if child.is_symlink():
                source, st = _follow_link(child.path, root)
            else:
                source, st = child.path, child.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                identity = (st.st_dev, st.st_ino)
                if identity in ancestors:
                    raise UnsupportedEntryError(child.path, "it leads back into a parent directory (a cycle)")
                _add(entries, Entry(name + "/", None, _DIRECTORY_MODE, child.path))
                pending.append((source, name + "/", ancestors | {identity}))
            elif stat.S_ISREG(st.st_mode):
                _add(entries, Entry(name, source, _file_mode(st.st_mode), child.path))
            else:
                raise UnsupportedEntryError(
                    child.path,
                    f"it is {_describe_mode(st.st_mode)}; only regular files, directories "
                    "and links to them can be packed",
                )
    return sorted(entries.values(), key=lambda entry: entry.name.encode("utf-8"))


def iter_archive(directory: StrPath) -> Iterator[bytes]:
    """Stream the deterministic zip archive of a directory as byte pieces.

    The directory is walked (and every rule in this module's description checked)
    when this function is called; the returned iterator then reads the files as it
    goes, holding about 1 MiB at a time. Concatenated, the pieces are the archive.

    Links are followed only inside ``directory``: a link to a file there is stored as
    that file's content, a link to a directory there as a copy of it. Links leading
    outside, broken links, cycles, FIFOs, sockets, devices, and names that are not
    UTF-8 or contain a backslash raise
    :class:`~desam_client.files.errors.UnsupportedEntryError`.

    Args:
        directory: The directory to pack. If it is itself a symbolic link, its target
            is packed.

    Returns:
        An iterator of ``bytes`` pieces of varying length.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        NotADirectoryError: ``directory`` is not a directory.
        UnsupportedEntryError: Something inside cannot be shipped (see above).
        FileChangedError: While iterating, a file changed as it was being read.
        OSError: Listing or reading failed.
    """
    return stream_archive(_scan(directory))


def _write_all(sink: BinarySink, data: bytes) -> None:
    while data:
        written = sink.write(data)
        if written is None or written >= len(data):
            return
        data = data[written:]


def write_archive(directory: StrPath, sink: BinarySink) -> FileDigest:
    """Write the deterministic zip archive of a directory to ``sink``.

    The SHA-256 and size are computed from the bytes as they are written. The same
    tree always gives the same bytes; see this module's description for the rules
    (stored entries sorted by UTF-8 name, fixed timestamps and permissions, links
    followed only inside the directory).

    Args:
        directory: The directory to pack.
        sink: Where to write: a file opened with ``"wb"``, an :class:`io.BytesIO`, or
            any object whose ``write(bytes)`` accepts the data (a short count returned
            by ``write`` is honoured by writing the rest again). It is not closed.

    Returns:
        The archive's SHA-256 and size in bytes.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        NotADirectoryError: ``directory`` is not a directory.
        UnsupportedEntryError: Something inside cannot be shipped.
        FileChangedError: A file changed while it was being read; whatever was
            written to ``sink`` is an incomplete archive and must be discarded.
        OSError: Listing, reading or writing failed.
    """
    digest = hashlib.sha256()
    size = 0
    for piece in iter_archive(directory):
        _write_all(sink, piece)
        digest.update(piece)
        size += len(piece)
    return FileDigest(digest.hexdigest(), size)


class _Discard:
    def write(self, data: bytes, /) -> int:
        return len(data)


def digest_directory(directory: StrPath) -> FileDigest:
    """Compute the SHA-256 and size a directory's archive would have, writing nothing.

    Args:
        directory: The directory to pack.

    Returns:
        The archive's SHA-256 and size in bytes.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        NotADirectoryError: ``directory`` is not a directory.
        UnsupportedEntryError: Something inside cannot be shipped.
        FileChangedError: A file changed while it was being read.
        OSError: Listing or reading failed.
    """
    return write_archive(directory, _Discard())


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class PackedArchive:
    """A directory packed into a private temporary zip file.

    The file is deleted by :meth:`close` (or when the object is used as a context
    manager, or at the latest when it is garbage-collected or the interpreter exits).

    Attributes:
        path: The temporary archive file; unique to this call, readable only by you.
        sha256: The archive's SHA-256 (lowercase hex).
        size: The archive's size in bytes.
        name: A display name for the upload: the directory's name plus ``.zip``.
    """

    def __init__(self, path: str, digest: FileDigest, name: str) -> None:
        """Wrap an archive already written to ``path`` (see :func:`pack_directory`)."""
        self.path = path
        self.sha256 = digest.sha256
        self.size = digest.size
        self.name = name
        self._finalizer = weakref.finalize(self, _remove, path)

    @property
    def closed(self) -> bool:
        """Whether the temporary file has been deleted."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Delete the temporary file. Calling it again does nothing."""
        self._finalizer()

    def __enter__(self) -> PackedArchive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.path
        return f"<PackedArchive {self.name!r} sha256={self.sha256[:12]}… size={self.size} {state}>"


def pack_directory(directory: StrPath, *, temp_dir: StrPath | None = None) -> PackedArchive:
    """Pack a directory into a new temporary zip file, unique to this call.

    Two directories with the same name never share a file, and concurrent calls
    never collide. Close the result to delete the file.

    Args:
        directory: The directory to pack (see this module's description for the
            rules on links and special files).
        temp_dir: Where to create the temporary file; the system default if None.

    Returns:
        The packed archive, with its path, SHA-256, size and display name.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        NotADirectoryError: ``directory`` is not a directory.
        UnsupportedEntryError: Something inside cannot be shipped.
        FileChangedError: A file changed while it was being read.
        OSError: Listing, reading or writing failed. No temporary file is left behind.
    """
    display = (display_name(os.path.abspath(os.fspath(directory))) or "directory") + ".zip"
    fd, path = tempfile.mkstemp(prefix="desam-pack-", suffix=".zip", dir=temp_dir)
    try:
        with open(fd, "wb") as out:
            digest = write_archive(directory, out)
    except BaseException:
        _remove(path)
        raise
    return PackedArchive(path, digest, display)
