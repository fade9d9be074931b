"""The content-addressed blob cache with a per-API-key quota.

Blobs live under ``<data_dir>/blobs/<sha256>``. A key is *charged* for a blob
once it uploads it or a submission of it references it; what a key is charged
for counts against its quota. Classes, from one key's point of view:

* A: the scheduler does not have the blob (upload it; it costs quota);
* B: the scheduler has it but the key is not charged for it yet (no upload; it costs quota);
* C: the key is already charged for it (free).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ._errors import ErrorCode, ReplyError

__all__ = ["BlobCache", "BlobsView", "Classified", "check_hash"]

_HASH = re.compile(r"[0-9a-f]{64}")


def check_hash(value: str, field: str) -> str:
    """Return ``value`` if it is a lowercase hex SHA-256, else raise INVALID_ARGUMENT naming ``field``."""
    if not _HASH.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ReplyError(
            ErrorCode.INVALID_ARGUMENT,
            f"{field} must be a lowercase hex SHA-256 (64 characters), got {shown!r}",
        )
    return value


@dataclass(frozen=True)
class Classified:
    """Blobs sorted into the quota classes for one key (see the module docs).

    Attributes:
        missing: Class A hashes, in request order.
        uncharged: Class B hashes.
        charged: Class C hashes.
    """

    missing: list[str]
    uncharged: list[str]
    charged: list[str]


class BlobCache:
    """Blobs on disk plus the quota books, thread-safe.

    Args:
        directory: Where blobs and partial uploads are kept (created if needed).
        quota_bytes: Every key's quota.
    """

    def __init__(self, directory: Path, quota_bytes: int) -> None:
        if quota_bytes < 0:
            raise ValueError("quota_bytes must be >= 0")
        self.quota_bytes = quota_bytes
        self._dir = directory / "blobs"
        self.uploads_dir = directory / "uploads"
        self._dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._charged: dict[str, set[str]] = {}
        self._reserved: dict[str, int] = {}

    def has(self, file_hash: str) -> bool:
        """Whether the blob is in the cache."""
        with self._lock:
            return file_hash in self._sizes

    def path(self, file_hash: str) -> Path:
        """Return where a blob's bytes are (:class:`KeyError` if it is not cached)."""
        with self._lock:
            if file_hash not in self._sizes:
                raise KeyError(file_hash)
        return self._dir / file_hash

    def hashes(self) -> list[str]:
        """Return the hashes of all cached blobs, sorted."""
        with self._lock:
            return sorted(self._sizes)

    def usage(self, key: str) -> tuple[int, int, int]:
        """Return ``(total, used, available)`` bytes of a key's quota."""
        with self._lock:
            used = self._used(key)
            return self.quota_bytes, used, max(0, self.quota_bytes - used - self._reserved.get(key, 0))

    def classify(self, key: str, hashes: Iterable[str]) -> Classified:
        """Sort hashes (de-duplicated, order kept) into the classes A, B and C for a key."""
        result = Classified([], [], [])
        with self._lock:
            charged = self._charged.get(key, set())
            for file_hash in dict.fromkeys(hashes):
                if file_hash not in self._sizes:
                    result.missing.append(file_hash)
                elif file_hash in charged:
                    result.charged.append(file_hash)
                else:
                    result.uncharged.append(file_hash)
        return result

    def size_of(self, hashes: Iterable[str]) -> int:
        """Return the total size of cached blobs among ``hashes`` (others count 0)."""
        with self._lock:
            return sum(self._sizes.get(h, 0) for h in set(hashes))

    def charge(self, key: str, hashes: Iterable[str]) -> None:
        """Charge a key for cached blobs it references, all or none.

        Raises:
            ReplyError: QUOTA_EXCEEDED if the blobs not yet charged do not fit the key's quota.
        """
        with self._lock:
            charged = self._charged.setdefault(key, set())
            new = {h for h in hashes if h not in charged}
            cost = sum(self._sizes[h] for h in new)
            self._check_room(key, cost)
            charged |= new

    def reserve(self, key: str, size: int) -> None:
        """Hold quota for an upload in progress (QUOTA_EXCEEDED if it does not fit)."""
        with self._lock:
            self._check_room(key, size)
            self._reserved[key] = self._reserved.get(key, 0) + size

    def unreserve(self, key: str, size: int) -> None:
        """Give back quota held by :meth:`reserve`."""
        with self._lock:
            self._reserved[key] = self._reserved.get(key, 0) - size

    def commit(self, key: str, file_hash: str, size: int, partial: Path) -> None:
        """Turn a verified upload into a cached blob charged to the key, releasing its reservation."""
        os.replace(partial, self._dir / file_hash)
        with self._lock:
            self._reserved[key] = self._reserved.get(key, 0) - size
            self._sizes[file_hash] = size
            self._charged.setdefault(key, set()).add(file_hash)

    def _used(self, key: str) -> int:
        return sum(self._sizes[h] for h in self._charged.get(key, ()))

    def _check_room(self, key: str, cost: int) -> None:
        available = self.quota_bytes - self._used(key) - self._reserved.get(key, 0)
        if cost > available:
            raise ReplyError(
                ErrorCode.QUOTA_EXCEEDED,
                f"needs {cost} bytes of cache quota but only {max(available, 0)} of {self.quota_bytes} "
                "are free",
            )


class BlobsView(Mapping[str, bytes]):
    """A read-only view of the cached blobs: ``hash -> bytes``, read from disk on access."""

    def __init__(self, cache: BlobCache) -> None:
        self._cache = cache

    def __getitem__(self, file_hash: str) -> bytes:
        return self._cache.path(file_hash).read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache.hashes())

    def __len__(self) -> int:
        return len(self._cache.hashes())

    def __contains__(self, file_hash: object) -> bool:
        return isinstance(file_hash, str) and self._cache.has(file_hash)

    def __repr__(self) -> str:
        return f"<BlobsView of {len(self)} blobs>"
