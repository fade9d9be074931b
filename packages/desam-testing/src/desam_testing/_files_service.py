"""The data-dependency RPCs: quota, verify, upload, submit with artifacts."""

from __future__ import annotations

from collections.abc import Iterator

from desam_proto import client_pb2 as pb

from ._auth import Authenticator
from ._blobs import BlobCache, check_hash
from ._errors import ErrorCode, ReplyError
from ._jobs_service import JobService, ok
from ._staging import validate_tree
from ._upload import receive_upload

__all__ = ["FileService"]


class FileService:
    """Answers the blob-cache RPCs.

    Args:
        blobs: The blob cache.
        auth: The API keys.
        jobs: Stores the jobs SubmitJobWithArtifacts creates.
    """

    def __init__(self, blobs: BlobCache, auth: Authenticator, jobs: JobService) -> None:
        self._blobs = blobs
        self._auth = auth
        self._jobs = jobs

    def query_cache_quota(self, request: pb.QueryCacheQuotaRequest) -> pb.QueryCacheQuotaResponse:
        """QueryCacheQuota: the key's quota in bytes."""
        caller = self._auth.authenticate(request.api_key)
        total, used, available = self._blobs.usage(caller.key)
        return pb.QueryCacheQuotaResponse(
            response=ok(), total_quota=total, used_quota=used, available_quota=available
        )

    def verify_dependencies(self, request: pb.VerifyDependenciesRequest) -> pb.VerifyDependenciesResponse:
        """VerifyDependencies.

        ``total_size`` is taken as the size of all the listed blobs together; the
        missing ones are assumed to make up what the cached ones do not. Blobs of
        class A (missing) and B (cached, not yet charged to this key) cost quota.
        """
        caller = self._auth.authenticate(request.api_key)
        hashes = [check_hash(h, f"file_hashes[{i}]") for i, h in enumerate(request.file_hashes)]
        if request.total_size < 0:
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, f"total_size must be >= 0, got {request.total_size}")
        classes = self._blobs.classify(caller.key, hashes)
        existing = [h for h in dict.fromkeys(hashes) if h not in classes.missing]
        missing_size = max(0, request.total_size - self._blobs.size_of(existing)) if classes.missing else 0
        cost = missing_size + self._blobs.size_of(classes.uncharged)
        _, _, available = self._blobs.usage(caller.key)
        return pb.VerifyDependenciesResponse(
            response=ok(),
            missing_hashes=classes.missing,
            existing_hashes=existing,
            missing_size=missing_size,
            quota_sufficient=cost <= available,
        )

    def upload_file(self, chunks: Iterator[pb.UploadFileRequest]) -> pb.UploadFileResponse:
        """UploadFile: the key comes from the first chunk."""
        first = next(chunks, None)
        if first is None:
            raise ReplyError(ErrorCode.INVALID_ARGUMENT, "the upload stream had no chunk")
        caller = self._auth.authenticate(first.api_key)
        return receive_upload(self._blobs, caller.key, first, chunks)

    def submit_job_with_artifacts(
        self, request: pb.SubmitJobWithArtifactsRequest
    ) -> pb.SubmitJobWithArtifactsResponse:
        """SubmitJobWithArtifacts: every named blob must be cached; the job is charged for them."""
        caller = self._auth.authenticate(request.api_key)
        job = self._jobs.new_job(request, caller)
        hashes = list(
            dict.fromkeys(check_hash(h, f"file_hashes[{i}]") for i, h in enumerate(request.file_hashes))
        )
        tree = request.file_tree if request.HasField("file_tree") else None
        if tree is not None:
            validate_tree(tree, set(hashes))
        job.artifacts.extend(hashes)

        def reserve() -> None:
            missing = self._blobs.classify(caller.key, hashes).missing
            if missing:
                raise ReplyError(
                    ErrorCode.MISSING_DEPENDENCIES,
                    f"{len(missing)} of the job's blobs are not on the scheduler; upload them first",
                    missing_hashes=missing,
                )
            self._blobs.charge(caller.key, hashes)

        stored, created = self._jobs.create(caller, job, file_tree=tree, before_store=reserve)
        message = "submitted" if created else f"already submitted as {stored.job_id}"
        return pb.SubmitJobWithArtifactsResponse(response=ok(message), job_id=stored.job_id, job=stored)
