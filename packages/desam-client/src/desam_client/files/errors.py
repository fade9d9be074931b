"""Errors raised while preparing local files for upload.

These are plain exceptions with no dependency on the rest of the client, so the
pure file helpers can be used (and tested) on their own. The client maps them into
its own exception tree at the boundary, chaining the original with ``from``::

    Exception
    ├── FileChangedError          a file changed between hashing and sending
    └── ValueError
        ├── MountPathError        a mount path (where a file lands in the job) is invalid
        └── UnsupportedEntryError a local path cannot be shipped (link outside, FIFO, ...)

A local path that does not exist raises the builtin :class:`FileNotFoundError`.
Read failures (permissions, a disk error) propagate as :class:`OSError`.
"""

from __future__ import annotations

__all__ = ["FileChangedError", "MountPathError", "UnsupportedEntryError"]


class FileChangedError(Exception):
    """A file's bytes changed while they were being read.

    Raised by the upload chunker when the bytes it sends do not match the size and
    hash computed earlier (before it produces the final chunk, so the scheduler never
    receives a complete blob under the wrong hash), and by the directory packer when
    a file changes between its two reads. Hash the file again (or rebuild the upload
    plan) and retry.

    Attributes:
        path: The local file that changed.
        detail: What changed, in words (size or content).
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path!r} changed while it was being read: {detail}")
        self.path = path
        self.detail = detail


class MountPathError(ValueError):
    """A mount path in a file mapping is not acceptable.

    Mount paths say where a local file or directory appears inside the job's data
    root. They must be relative POSIX paths such as ``"data/train.csv"``: no leading
    ``/``, no ``..`` or ``.`` segment, no empty segment (``"a//b"``, a trailing
    ``/``), no backslash; no two mappings may use the same path, and no mount path
    may lie inside another one.

    Attributes:
        mount_path: The offending mount path, as given.
        reason: Why it was refused.
    """

    def __init__(self, mount_path: str, reason: str) -> None:
        super().__init__(f"invalid mount path {mount_path!r}: {reason}")
        self.mount_path = mount_path
        self.reason = reason


class UnsupportedEntryError(ValueError):
    """A local path cannot be shipped to the scheduler.

    Raised for symbolic links that point outside the directory being packed (or
    nowhere), for FIFOs, sockets and device files, for link cycles, and for file
    names that are not valid UTF-8 or contain a backslash. Nothing from outside the
    chosen directory is ever packed.

    Attributes:
        path: The offending local path.
        reason: Why it was refused.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot ship {path!r}: {reason}")
        self.path = path
        self.reason = reason
