"""The flows behind ``client.files`` and ``submit_job(files=...)``: plan, verify, upload, submit.

Like the job flows of :mod:`desam_client._core.operations`, these never touch the
network. Besides :class:`~desam_client._core.flow.Step` they yield three instructions
of their own, carried out by the drivers in :mod:`desam_client.files._driver`:

* :class:`Local`: blocking local work (hashing, packing a directory). The sync client
  runs it in place, the asyncio client in a worker thread.
* :class:`Upload`: one ``UploadFile`` stream whose deadline grows with its size.
* :class:`Parallel`: sub-flows that the sync client runs one after the other and the
  asyncio client at most ``limit`` at a time.

A submission with files goes: plan (validate, hash, pack directories) →
VerifyDependencies (every hash, the total size) → ``QuotaExceededError`` before any
byte is sent if the quota is short → upload the missing blobs → SubmitJobWithArtifacts
→ on MISSING_DEPENDENCIES upload what is missing once more and submit once more.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, Union

from desam_client import exceptions as exc
from desam_client._core import operations as ops
from desam_client._core import rpcs
from desam_client._core import validate as v
from desam_client._core.error_table import error_from_reply
from desam_client._core.flow import Sleep, Step, checked
from desam_client.files import _boundary as fb
from desam_client.files.chunks import DEFAULT_CHUNK_SIZE, ProgressCallback
from desam_client.files.hashing import HashCache
from desam_client.files.models import DependencyCheck, FileInfo, QuotaInfo
from desam_client.files.tree import Blob, FilePlan, build_file_tree, build_plan
from desam_proto import client_pb2 as pb

T = TypeVar("T")

#: The slowest upload rate a deadline allows for, in bytes per second.
UPLOAD_MIN_RATE = 1 << 20
#: Seconds added to every upload's scaled deadline.
UPLOAD_SLACK = 30.0
#: How many uploads the asyncio client runs at once by default.
DEFAULT_CONCURRENCY = 4
#: The keyword arguments ``submit_job_with_files`` accepts (as in 0.1.x), with their defaults.
SUBMIT_KWARGS: dict[str, Any] = {
    "user_id": None,
    "working_dir": None,
    "metadata": None,
    "env": None,
    "timeout": None,
    "retries": 0,
    "labels": None,
    "description": None,
}


@dataclass(frozen=True)
class Local(Generic[T]):
    """Blocking local work; its result (or exception) is sent back into the flow."""

    run: Callable[[], T]


@dataclass(frozen=True)
class Upload(Generic[T]):
    """One upload stream, with its deadline and time budget scaled to ``size``."""

    step: Step[T]
    size: int
    deadline: float | None
    """The caller's deadline for this upload, all attempts included (None: scale it)."""


@dataclass(frozen=True)
class Parallel:
    """Sub-flows whose results are sent back as a list, in order."""

    flows: tuple[TransferFlow[Any], ...]
    limit: int


TransferInstruction = Union[Step[Any], Sleep, Local[Any], Upload[Any], Parallel]  # noqa: UP007 - runtime alias
#: A flow that may also do local work and run sub-flows; returns one result of type T.
TransferFlow = Generator[TransferInstruction, Any, T]


@dataclass(frozen=True)
class TransferSettings:
    """How a files API cuts and schedules uploads."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_concurrency: int = DEFAULT_CONCURRENCY
    hash_cache: HashCache | None = field(default=None, compare=False)


def upload_limits(
    size: int, deadline: float | None, timeout: float | None, budget: float | None
) -> tuple[float | None, float | None]:
    """The per-attempt deadline and the whole-call budget for uploading ``size`` bytes.

    An explicit ``deadline`` bounds the whole upload. Otherwise both grow with the size
    (at least ``size / UPLOAD_MIN_RATE + UPLOAD_SLACK`` seconds per attempt, room for
    two attempts in the budget) and never shrink below the client's settings.
    """
    if deadline is not None:
        return deadline, deadline
    scaled = size / UPLOAD_MIN_RATE + UPLOAD_SLACK
    return (
        None if timeout is None else max(timeout, scaled),
        None if budget is None else max(budget, 2 * scaled),
    )


# -- steps ------------------------------------------------------------------------------------------


def _verify_step(hashes: list[str], total_size: int) -> Step[DependencyCheck]:
    def parse(reply: Any, retried: bool) -> DependencyCheck:
        return DependencyCheck.from_proto(checked(reply, rpcs.VERIFY_DEPENDENCIES))

    request = pb.VerifyDependenciesRequest(file_hashes=hashes, total_size=total_size)
    return Step(rpcs.VERIFY_DEPENDENCIES, request, parse)


def _quota_error(check: DependencyCheck, total_size: int) -> exc.QuotaExceededError:
    return exc.QuotaExceededError(
        f"the cache quota of this API key cannot hold these data dependencies ({total_size} bytes in all, "
        f"{check.missing_size} of them to upload); nothing was sent. See client.files.check_quota()",
        rpc=rpcs.VERIFY_DEPENDENCIES.name,
    )


def _upload(
    blob: Blob, chunk_size: int, progress: ProgressCallback | None, deadline: float | None
) -> TransferFlow[bool]:
    """Flow of one blob's upload stream (re-read from the start on every attempt)."""

    def requests(api_key: str) -> Iterator[pb.UploadFileRequest]:
        return blob.upload_requests(api_key=api_key, chunk_size=chunk_size, progress=progress)

    def parse(reply: Any, retried: bool) -> bool:
        return bool(checked(reply, rpcs.UPLOAD_FILE).already_exists)

    with fb.mapped_errors("file_path", rpc=rpcs.UPLOAD_FILE.name):
        existed: bool = yield Upload(Step(rpcs.UPLOAD_FILE, requests, parse), blob.file_size, deadline)
    return existed


def _upload_all(
    blobs: Mapping[str, Blob],
    hashes: Iterable[str],
    settings: TransferSettings,
) -> TransferFlow[None]:
    todo = [blobs[h] for h in dict.fromkeys(hashes) if h in blobs]
    if todo:
        flows = tuple(_upload(blob, settings.chunk_size, None, None) for blob in todo)
        yield Parallel(flows, settings.max_concurrency)


@dataclass(frozen=True)
class _Submitted:
    job_id: str
    missing: tuple[str, ...] | None = None
    """The hashes of a MISSING_DEPENDENCIES reply (None when the job was accepted)."""


def _submit_step(
    request: pb.SubmitJobWithArtifactsRequest, submission_id: str, user_id: str
) -> Step[_Submitted]:
    rpc = rpcs.SUBMIT_JOB_WITH_ARTIFACTS

    def parse(reply: Any, retried: bool) -> _Submitted:
        if not reply.response.success:
            error = error_from_reply(reply.response, rpc=rpc.name)
            if isinstance(error, exc.MissingDependenciesError):
                return _Submitted("", tuple(reply.missing_hashes))
            raise error
        return _Submitted(str(reply.job_id or reply.job.job_id))

    def probe() -> Step[_Submitted | None]:
        found = ops.submission_probe(submission_id, user_id)

        def parse_found(reply: Any, retried: bool) -> _Submitted | None:
            job_id = found.parse(reply, retried)
            return None if job_id is None else _Submitted(job_id)

        return Step(found.rpc, found.request, parse_found)

    return Step(
        rpc,
        request,
        parse,
        probe=probe,
        unknown_outcome=lambda error: ops.unknown_submission(error, submission_id),
    )


# -- flows --------------------------------------------------------------------------------------------


def _local(run: Callable[[], T], argument: str) -> TransferFlow[T]:
    with fb.mapped_errors(argument):
        result: T = yield Local(run)
    return result


def _single(step: Step[T]) -> TransferFlow[T]:
    """One RPC as a transfer flow (a generator, as the transfer drivers ``send`` to it)."""
    return (yield from step)


def check_quota() -> TransferFlow[QuotaInfo]:
    """Flow of ``files.check_quota``."""

    def parse(reply: Any, retried: bool) -> QuotaInfo:
        return QuotaInfo.from_proto(checked(reply, rpcs.QUERY_CACHE_QUOTA))

    return _single(Step(rpcs.QUERY_CACHE_QUOTA, pb.QueryCacheQuotaRequest(), parse))


def verify_dependencies(file_hashes: Any, total_size: Any) -> TransferFlow[DependencyCheck]:
    """Flow of ``files.verify_dependencies``."""
    return _single(
        _verify_step(fb.hashes_arg(file_hashes), v.integer("total_size", total_size, maximum=v.INT64_MAX))
    )


def file_tree(file_mappings: Any, settings: TransferSettings) -> TransferFlow[pb.FileTreeNode]:
    """Flow of ``files.build_file_tree``: local work only."""
    mappings = fb.mappings_arg(file_mappings)
    return _local(lambda: build_file_tree(mappings, hash_cache=settings.hash_cache), "file_mappings")


def upload_file(
    file_path: Any, progress_callback: Any, timeout: Any, chunk_size: Any, settings: TransferSettings
) -> TransferFlow[FileInfo]:
    """Flow of ``files.upload_file``: hash, check, and upload unless the scheduler has the bytes."""
    path = fb.local_path_arg("file_path", file_path)
    progress = fb.callback_arg(progress_callback)
    deadline = v.seconds("timeout", timeout)
    size = settings.chunk_size if chunk_size is None else fb.chunk_size_arg(chunk_size)
    return _upload_file(path, progress, deadline, size, settings.hash_cache)


def _upload_file(
    path: str,
    progress: ProgressCallback | None,
    deadline: float | None,
    chunk_size: int,
    hash_cache: HashCache | None,
) -> TransferFlow[FileInfo]:
    prepared = yield from _local(lambda: fb.prepare(path, hash_cache), "file_path")
    try:
        blob = prepared.blob
        check: DependencyCheck = yield _verify_step([blob.file_hash], blob.file_size)
        if not check.quota_sufficient:
            raise _quota_error(check, blob.file_size)
        uploaded = ""
        if blob.file_hash in check.missing_hashes:
            yield from _upload(blob, chunk_size, progress, deadline)
            uploaded = fb.utc_now()
        elif progress is not None:
            progress(blob.file_size, blob.file_size)  # nothing to send: already complete
        return FileInfo(blob.file_hash, blob.file_size, blob.file_name, uploaded)
    finally:
        prepared.close()


def upload_files(
    file_paths: Any, chunk_size: Any, settings: TransferSettings
) -> TransferFlow[list[FileInfo]]:
    """Flow of ``files.upload_files``: one check for all, then the missing blobs, ``limit`` at a time."""
    if isinstance(file_paths, (str, bytes, os.PathLike)) or not isinstance(file_paths, Iterable):
        raise exc.InvalidArgumentError(
            f"file_paths: must be a list of paths, got {type(file_paths).__name__}", argument="file_paths"
        )
    paths = [fb.local_path_arg(f"file_paths[{i}]", item) for i, item in enumerate(file_paths)]
    if chunk_size is not None:
        settings = TransferSettings(
            fb.chunk_size_arg(chunk_size), settings.max_concurrency, settings.hash_cache
        )
    return _upload_files(paths, settings)


def _upload_files(paths: list[str], settings: TransferSettings) -> TransferFlow[list[FileInfo]]:
    if not paths:
        return []
    prepared = yield from _local(lambda: fb.prepare_all(paths, settings.hash_cache), "file_paths")
    try:
        blobs = {item.blob.file_hash: item.blob for item in prepared}
        total = sum(blob.file_size for blob in blobs.values())
        check: DependencyCheck = yield _verify_step(list(blobs), total)
        if not check.quota_sufficient:
            raise _quota_error(check, total)
        yield from _upload_all(blobs, check.missing_hashes, settings)
        now, missing = fb.utc_now(), set(check.missing_hashes)
        return [
            FileInfo(blob.file_hash, blob.file_size, blob.file_name, now if blob.file_hash in missing else "")
            for blob in (item.blob for item in prepared)
        ]
    finally:
        for item in prepared:
            item.close()


def submit_job(
    files: Any,
    settings: TransferSettings,
    *,
    artifacts: Any = None,
    submission_id: str | None = None,
    **fields: Any,
) -> TransferFlow[str]:
    """Flow of ``submit_job``: a plain SubmitJob, or with ``files`` the flow of ``submit_job_with_files``."""
    if files is None:
        return _single(ops.submit_job(artifacts=artifacts, submission_id=submission_id, **fields))
    if artifacts:
        raise exc.InvalidArgumentError(
            "artifacts: cannot be combined with files; artifacts are names the scheduler records, files are "
            "shipped with SubmitJobWithArtifacts, which has no artifacts field",
            argument="artifacts",
        )
    return submit_with_files(files, settings, submission_id=submission_id, argument="files", **fields)


def submit_with_files(
    file_mappings: Any,
    settings: TransferSettings,
    *,
    submission_id: str | None = None,
    argument: str = "file_mappings",
    **fields: Any,
) -> TransferFlow[str]:
    """Flow of ``submit_job_with_files``; ``fields`` are those of :func:`~.operations.job_fields`.

    ``argument`` is the name errors give the mappings (``files`` from ``submit_job``).
    """
    values = ops.job_fields(**fields)
    sid = ops.with_submission_id(values, submission_id)
    return _submit(fb.mappings_arg(file_mappings, argument), values, sid, settings)


def _submit(
    mappings: dict[str, str], values: dict[str, Any], sid: str, settings: TransferSettings
) -> TransferFlow[str]:
    plan: FilePlan = yield from _local(
        lambda: build_plan(mappings, hash_cache=settings.hash_cache), "file_mappings"
    )
    with plan:
        blobs = {blob.file_hash: blob for blob in plan.blobs}
        if blobs:
            check: DependencyCheck = yield _verify_step(plan.file_hashes, plan.total_size)
            if not check.quota_sufficient:
                raise _quota_error(check, plan.total_size)
            yield from _upload_all(blobs, check.missing_hashes, settings)
        request = pb.SubmitJobWithArtifactsRequest(
            file_hashes=plan.file_hashes, file_tree=plan.tree, **values
        )
        step = _submit_step(request, sid, values["user_id"])
        outcome: _Submitted = yield step
        if outcome.missing is not None:
            missing = [h for h in outcome.missing if h in blobs]
            if not missing:  # the reply named none of ours: ask which ones
                again: DependencyCheck = yield _verify_step(plan.file_hashes, plan.total_size)
                missing = list(again.missing_hashes)
            yield from _upload_all(blobs, missing, settings)
            outcome = yield step
        if outcome.missing is not None:
            raise exc.MissingDependenciesError(
                f"the scheduler still lacks {len(outcome.missing) or 'some'} of the job's blobs after they "
                "were uploaded again (were they evicted from its cache?)",
                missing_hashes=outcome.missing,
                error_code="MISSING_DEPENDENCIES",
                rpc=rpcs.SUBMIT_JOB_WITH_ARTIFACTS.name,
            )
        return outcome.job_id
