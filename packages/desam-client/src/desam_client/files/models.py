"""What ``client.files`` returns: quota, uploaded files, dependency checks.

All models are immutable. Sizes are in bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from desam_proto import client_pb2

__all__ = ["DependencyCheck", "FileInfo", "QuotaInfo"]


@dataclass(frozen=True, slots=True)
class QuotaInfo:
    """The blob-cache quota of your API key on the scheduler."""

    total_quota: int
    """Bytes your key may keep in the scheduler's cache."""

    used_quota: int
    """Bytes of cached blobs currently counted against your key."""

    available_quota: int
    """Bytes still free under your quota."""

    @classmethod
    def from_proto(cls, reply: client_pb2.QueryCacheQuotaResponse) -> QuotaInfo:
        """Build from a ``QueryCacheQuota`` reply."""
        return cls(
            total_quota=reply.total_quota, used_quota=reply.used_quota, available_quota=reply.available_quota
        )


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A blob known to the scheduler, such as a file you uploaded."""

    file_hash: str
    """SHA-256 of the bytes (lowercase hex); the blob's identity in the cache."""

    file_size: int
    """Size in bytes."""

    file_name: str
    """The name it was uploaded under (a directory's archive is ``<name>.zip``)."""

    upload_time: str
    """When it was uploaded, exactly as the scheduler reported it (may be empty).

    See :attr:`uploaded_at` for the same moment as an aware datetime.
    """

    mount_path: str | None = None
    """Where it appears in a job's data root, when it came from a file mapping."""

    @property
    def uploaded_at(self) -> datetime | None:
        """:attr:`upload_time` as an aware UTC datetime, or None if empty or unreadable.

        Unix seconds (``"1700000000"``) and ISO 8601 (``"2023-11-14T22:13:20Z"``)
        are understood; an ISO time without an offset is taken as UTC.
        """
        text = self.upload_time.strip()
        if not text:
            return None
        try:
            if text.isdigit():
                seconds = int(text)
                return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            moment = datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError):
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)

    @classmethod
    def from_proto(cls, message: client_pb2.FileInfo, *, mount_path: str | None = None) -> FileInfo:
        """Build from a ``FileInfo`` message, optionally recording its mount path."""
        return cls(
            file_hash=message.file_hash,
            file_size=message.file_size,
            file_name=message.file_name,
            upload_time=message.upload_time,
            mount_path=mount_path,
        )


@dataclass(frozen=True, slots=True)
class DependencyCheck:
    """Which blobs the scheduler already holds, and whether the rest fit your quota."""

    missing_hashes: tuple[str, ...]
    """Hashes the scheduler does not have: these must be uploaded."""

    existing_hashes: tuple[str, ...]
    """Hashes the scheduler already has: nothing to upload for these."""

    missing_size: int
    """Bytes to upload for the missing blobs."""

    quota_sufficient: bool
    """Whether your remaining quota covers the blobs that would count against it."""

    @property
    def all_present(self) -> bool:
        """True when nothing needs to be uploaded."""
        return not self.missing_hashes

    @classmethod
    def from_proto(cls, reply: client_pb2.VerifyDependenciesResponse) -> DependencyCheck:
        """Build from a ``VerifyDependencies`` reply."""
        return cls(
            missing_hashes=tuple(reply.missing_hashes),
            existing_hashes=tuple(reply.existing_hashes),
            missing_size=reply.missing_size,
            quota_sufficient=reply.quota_sufficient,
        )
