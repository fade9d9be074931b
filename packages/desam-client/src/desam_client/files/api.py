"""``client.files``: the data-dependency API of both clients (kept from 0.1.x).

:class:`FilesAPI` belongs to :class:`~desam_client.DeSAMClient`,
:class:`AsyncFilesAPI` to :class:`~desam_client.AsyncDeSAMClient`. Their methods are
thin shells over the shared flows in :mod:`desam_client._core.transfer`.

How data reaches a job: every local file is hashed (SHA-256) and every local
directory packed into one deterministic zip archive; the scheduler is asked which of
these blobs it lacks and whether the API key's cache quota can hold them; only the
missing blobs are uploaded, in chunks (1 MiB by default); the job names the blobs and
where each lands in its data root. Bytes the scheduler already has are never sent
again, so resubmitting the same data costs one small request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from desam_client._base import DEFAULT, RetryArg, TimeoutArg, _Default
from desam_client._core import transfer as tr
from desam_client._pipeline.runner import CallOptions
from desam_client.exceptions import InvalidArgumentError
from desam_client.files._boundary import chunk_size_arg
from desam_client.files._driver import run_async, run_sync
from desam_client.files.chunks import DEFAULT_CHUNK_SIZE, ProgressCallback
from desam_client.files.hashing import HashCache, StrPath
from desam_client.files.mappings import FileMappings
from desam_client.files.models import DependencyCheck, FileInfo, QuotaInfo
from desam_proto import client_pb2 as pb

if TYPE_CHECKING:
    from desam_client.aio import AsyncDeSAMClient
    from desam_client.client import DeSAMClient

__all__ = ["AsyncFilesAPI", "FilesAPI"]

T = TypeVar("T")
HashCacheArg = HashCache | None | _Default


class _FilesSettings:
    """The settings both files APIs share: chunk size, upload concurrency, hash cache."""

    def __init__(
        self,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency: int = tr.DEFAULT_CONCURRENCY,
        hash_cache: HashCacheArg = DEFAULT,
    ) -> None:
        cache = HashCache() if hash_cache is DEFAULT else hash_cache
        if cache is not None and not isinstance(cache, HashCache):
            raise InvalidArgumentError(
                f"hash_cache: must be a HashCache or None, got {cache!r}", argument="hash_cache"
            )
        self._settings = tr.TransferSettings(chunk_size_arg(chunk_size), _concurrency(max_concurrency), cache)

    @property
    def chunk_size(self) -> int:
        """Bytes per upload chunk (1 to 3 MiB; default 1 MiB). Settable."""
        return self._settings.chunk_size

    @chunk_size.setter
    def chunk_size(self, value: int) -> None:
        self._settings = dataclasses.replace(self._settings, chunk_size=chunk_size_arg(value))

    @property
    def max_concurrency(self) -> int:
        """How many uploads :class:`AsyncFilesAPI` runs at once (the sync API uploads one by one)."""
        return self._settings.max_concurrency

    @property
    def hash_cache(self) -> HashCache | None:
        """The cache that spares re-reading unchanged files, or None."""
        return self._settings.hash_cache

    @property
    def settings(self) -> tr.TransferSettings:
        """The current settings, as the transfer flows take them."""
        return self._settings


def _concurrency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise InvalidArgumentError(
            f"max_concurrency: must be an int in [1, 64], got {value!r}", argument="max_concurrency"
        )
    return value


class FilesAPI(_FilesSettings):
    """Data dependencies for :class:`~desam_client.DeSAMClient`, as ``client.files``.

    Args:
        client: The client whose connection, retries and plugins are used.
        chunk_size: Bytes per upload chunk, 1 to 3 MiB (gRPC servers refuse messages
            over 4 MiB). Each method also takes ``chunk_size`` per call.
        max_concurrency: Uploads at once (used by :class:`AsyncFilesAPI`; this one
            uploads one blob after the other).
        hash_cache: A :class:`~desam_client.files.HashCache` remembering the hashes of
            unchanged files, None for none; by default a new one per API object.

    Every method also takes keyword-only ``call_timeout`` and ``retry`` like the
    client's methods. An upload's deadline grows with its size (at least
    ``size / 1 MiB/s + 30 s``) unless ``upload_file(timeout=...)`` sets it; a stream
    that fails with a transient error is sent again from its first chunk.

    Raises:
        InvalidArgumentError: A setting is out of range.
    """

    def __init__(
        self,
        client: DeSAMClient,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency: int = tr.DEFAULT_CONCURRENCY,
        hash_cache: HashCacheArg = DEFAULT,
    ) -> None:
        super().__init__(chunk_size=chunk_size, max_concurrency=max_concurrency, hash_cache=hash_cache)
        self._client = client

    def _run(self, flow: tr.TransferFlow[T], call_timeout: TimeoutArg, retry: RetryArg) -> T:
        return run_sync(self._client._runner, flow, self._client._options(call_timeout, retry))

    def _submit_job(self, files: Any, options: CallOptions, fields: dict[str, Any]) -> str:
        """The ``files=`` path of ``DeSAMClient.submit_job``."""
        return run_sync(self._client._runner, tr.submit_job(files, self.settings, **fields), options)

    def check_quota(self, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT) -> QuotaInfo:
        """The blob-cache quota of this API key, in bytes (total, used, available)."""
        return self._run(tr.check_quota(), call_timeout, retry)

    def verify_dependencies(
        self,
        file_hashes: Sequence[str],
        total_size: int,
        *,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> DependencyCheck:
        """Ask which of these blobs the scheduler lacks, and whether the quota can hold them.

        Args:
            file_hashes: SHA-256 hashes (lowercase hex) of the blobs.
            total_size: The size in bytes of all those blobs together.
            call_timeout: The per-attempt deadline of the call.
            retry: The retry policy of the call.

        Returns:
            The missing and existing hashes, the bytes to upload, and ``quota_sufficient``.

        Raises:
            InvalidArgumentError: A hash is not 64 lowercase hex digits, or the size is negative.
        """
        return self._run(tr.verify_dependencies(file_hashes, total_size), call_timeout, retry)

    def upload_file(
        self,
        file_path: StrPath,
        progress_callback: ProgressCallback | None = None,
        timeout: float | None = None,
        *,
        chunk_size: int | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> FileInfo:
        """Upload one file (a directory is packed into a zip archive first) unless the scheduler has it.

        The file is hashed, then the scheduler is asked for that hash: bytes it already
        has are not sent again. If the key's quota cannot hold the file, nothing is sent.

        Args:
            file_path: The local file or directory.
            progress_callback: Called as ``progress_callback(sent_bytes, total_bytes)``
                after each chunk, possibly from another thread; a retried stream starts
                again from 0. When nothing needs sending it is called once with
                ``(size, size)``. An exception it raises stops the upload.
            timeout: This upload's deadline in seconds, all attempts included (default:
                scaled to the size).
            chunk_size: Bytes per chunk for this call (default: :attr:`chunk_size`).
            call_timeout: The per-attempt deadline of the other calls.
            retry: The retry policy.

        Returns:
            The blob's hash, size and name; ``upload_time`` (ISO 8601, UTC) is when this
            call finished sending it, empty if the scheduler already had it.

        Raises:
            FileNotFoundError: ``file_path`` does not exist (nothing was sent).
            QuotaExceededError: The quota is too small (nothing was sent).
            FileChangedError: The file changed while it was sent; the scheduler kept nothing.
            HashMismatchError: The scheduler received other bytes than announced.
            FileTransferError: Reading the file failed; the cause is chained.
        """
        flow = tr.upload_file(file_path, progress_callback, timeout, chunk_size, self.settings)
        return self._run(flow, call_timeout, retry)

    def upload_files(
        self,
        file_paths: Sequence[StrPath],
        *,
        chunk_size: int | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> list[FileInfo]:
        """Upload several files or directories; one check for all, then each missing blob once.

        Returns:
            One :class:`FileInfo` per path, in order.

        Raises:
            FileNotFoundError: A path does not exist (nothing was sent).
            QuotaExceededError: The quota cannot hold them all (nothing was sent).
            FileTransferError: An upload failed (see :meth:`upload_file`).
        """
        return self._run(tr.upload_files(file_paths, chunk_size, self.settings), call_timeout, retry)

    def build_file_tree(self, file_mappings: FileMappings) -> pb.FileTreeNode:
        """The ``FileTreeNode`` that places the mapped files in a job's data root (nothing is sent).

        Args:
            file_mappings: ``{mount_path: local_path}``, or ``[(local_path, mount_path), ...]``
                as in 0.1.x. Mount paths are relative POSIX paths such as ``"data/x.csv"``.

        Raises:
            InvalidArgumentError: A mount path is invalid (the error names it).
            FileNotFoundError: A local path does not exist.
        """
        return self._run(tr.file_tree(file_mappings, self.settings), DEFAULT, DEFAULT)

    def submit_job_with_files(
        self,
        name: str,
        command: str,
        file_mappings: FileMappings,
        cpu: int = 1,
        memory_mb: int = 1024,
        gpu: int = 0,
        disk_mb: int = 0,
        *,
        submission_id: str | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
        **kwargs: Any,
    ) -> str:
        """Ship local files and directories and submit a job that finds them in its data root.

        Hashes every file and packs every directory, asks the scheduler which blobs it
        lacks, uploads only those, and submits with SubmitJobWithArtifacts. A blob the
        scheduler reports missing at submission is uploaded once more and the job
        submitted once more. Like ``submit_job``, a retried submission never makes a
        second job.

        Args:
            name: The job's name.
            command: The shell command; it runs in the job's directory, where each
                mount path appears.
            file_mappings: ``{mount_path: local_path}``, or ``[(local_path, mount_path), ...]``.
            cpu: CPU cores.
            memory_mb: Memory in MiB.
            gpu: GPUs.
            disk_mb: Disk in MiB.
            submission_id: The idempotency id (default: a new one).
            call_timeout: The per-attempt deadline of each call.
            retry: The retry policy.
            **kwargs: ``user_id``, ``working_dir``, ``metadata``, ``env``, ``timeout``,
                ``retries``, ``labels``, ``description`` as in ``submit_job``.

        Returns:
            The job id.

        Raises:
            InvalidArgumentError: An argument or a mount path is invalid (nothing was sent).
            FileNotFoundError: A local path does not exist (nothing was sent).
            QuotaExceededError: The quota cannot hold the data (nothing was sent).
            MissingDependenciesError: The scheduler still lacked blobs after a second upload.
            FileTransferError: An upload failed; the cause is chained.
        """
        flow = tr.submit_with_files(
            file_mappings,
            self.settings,
            submission_id=submission_id,
            **_job_kwargs(name, command, cpu, memory_mb, gpu, disk_mb, kwargs),
        )
        return self._run(flow, call_timeout, retry)


class AsyncFilesAPI(_FilesSettings):
    """Data dependencies for :class:`~desam_client.AsyncDeSAMClient`, as ``client.files``.

    The same methods as :class:`FilesAPI`, as coroutines. Hashing, packing and reading
    run in worker threads, so the event loop never blocks on the disk; missing blobs
    are uploaded ``max_concurrency`` at a time (default 4). A progress callback is
    called from a worker thread.

    Args:
        client: The client whose connection, retries and plugins are used.
        chunk_size: Bytes per upload chunk, 1 to 3 MiB.
        max_concurrency: Uploads at once.
        hash_cache: A :class:`~desam_client.files.HashCache`, None for none; by default
            a new one per API object.

    Raises:
        InvalidArgumentError: A setting is out of range.
    """

    def __init__(
        self,
        client: AsyncDeSAMClient,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency: int = tr.DEFAULT_CONCURRENCY,
        hash_cache: HashCacheArg = DEFAULT,
    ) -> None:
        super().__init__(chunk_size=chunk_size, max_concurrency=max_concurrency, hash_cache=hash_cache)
        self._client = client

    async def _run(self, flow: tr.TransferFlow[T], call_timeout: TimeoutArg, retry: RetryArg) -> T:
        return await run_async(self._client._runner, flow, self._client._options(call_timeout, retry))

    async def _submit_job(self, files: Any, options: CallOptions, fields: dict[str, Any]) -> str:
        """The ``files=`` path of ``AsyncDeSAMClient.submit_job``."""
        return await run_async(self._client._runner, tr.submit_job(files, self.settings, **fields), options)

    async def check_quota(
        self, *, call_timeout: TimeoutArg = DEFAULT, retry: RetryArg = DEFAULT
    ) -> QuotaInfo:
        """The blob-cache quota of this API key; see :meth:`FilesAPI.check_quota`."""
        return await self._run(tr.check_quota(), call_timeout, retry)

    async def verify_dependencies(
        self,
        file_hashes: Sequence[str],
        total_size: int,
        *,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> DependencyCheck:
        """Which blobs the scheduler lacks; see :meth:`FilesAPI.verify_dependencies`."""
        return await self._run(tr.verify_dependencies(file_hashes, total_size), call_timeout, retry)

    async def upload_file(
        self,
        file_path: StrPath,
        progress_callback: ProgressCallback | None = None,
        timeout: float | None = None,
        *,
        chunk_size: int | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> FileInfo:
        """Upload one file or directory unless the scheduler has it; see :meth:`FilesAPI.upload_file`."""
        flow = tr.upload_file(file_path, progress_callback, timeout, chunk_size, self.settings)
        return await self._run(flow, call_timeout, retry)

    async def upload_files(
        self,
        file_paths: Sequence[StrPath],
        *,
        chunk_size: int | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
    ) -> list[FileInfo]:
        """Upload several paths, ``max_concurrency`` at a time; see :meth:`FilesAPI.upload_files`."""
        return await self._run(tr.upload_files(file_paths, chunk_size, self.settings), call_timeout, retry)

    async def build_file_tree(self, file_mappings: FileMappings) -> pb.FileTreeNode:
        """The ``FileTreeNode`` for file mappings; see :meth:`FilesAPI.build_file_tree`."""
        return await self._run(tr.file_tree(file_mappings, self.settings), DEFAULT, DEFAULT)

    async def submit_job_with_files(
        self,
        name: str,
        command: str,
        file_mappings: FileMappings,
        cpu: int = 1,
        memory_mb: int = 1024,
        gpu: int = 0,
        disk_mb: int = 0,
        *,
        submission_id: str | None = None,
        call_timeout: TimeoutArg = DEFAULT,
        retry: RetryArg = DEFAULT,
        **kwargs: Any,
    ) -> str:
        """Ship files and submit a job; see :meth:`FilesAPI.submit_job_with_files`."""
        flow = tr.submit_with_files(
            file_mappings,
            self.settings,
            submission_id=submission_id,
            **_job_kwargs(name, command, cpu, memory_mb, gpu, disk_mb, kwargs),
        )
        return await self._run(flow, call_timeout, retry)


def _job_kwargs(
    name: Any, command: Any, cpu: Any, memory_mb: Any, gpu: Any, disk_mb: Any, extra: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(extra) - set(tr.SUBMIT_KWARGS))
    if unknown:
        allowed = ", ".join(tr.SUBMIT_KWARGS)
        raise InvalidArgumentError(
            f"{unknown[0]}: unexpected keyword argument; accepted: {allowed}", argument=unknown[0]
        )
    return {
        "name": name,
        "command": command,
        "cpu": cpu,
        "memory_mb": memory_mb,
        "gpu": gpu,
        "disk_mb": disk_mb,
        **tr.SUBMIT_KWARGS,
        **extra,
    }
