"""The exceptions every DeSAM call can raise.

Everything the SDK raises on purpose is a :class:`DeSAMError`; a raw
``grpc.RpcError`` or protobuf error never reaches the caller. The tree::

    DeSAMError
    ├── AuthenticationError            bad, missing or expired API key
    │   └── PermissionDeniedError      the key may not see or touch that job
    ├── JobNotFoundError               the scheduler does not know the job
    ├── DeSAMConnectionError           the scheduler could not be reached or answered no reply
    │   ├── DeadlineExceededError      no answer within the deadline
    │   ├── TLSError                   certificate or host-name verification failed
    │   └── ClientClosedError          the client was closed (before or during the call)
    ├── SubmitError                    a submission was refused or its outcome is unknown
    │   ├── InsufficientResourcesError the job can never fit the cluster
    │   └── SubmissionUnknownError     it may have gone through; see ``submission_id``
    ├── InvalidArgumentError           (also a ValueError) bad input, named by argument
    │   └── ConfigurationError         bad client settings
    ├── JobNotCancellableError         the job already ended
    ├── WaitTimeoutError               (also a TimeoutError) a wait helper ran out of time
    └── FileTransferError              data dependencies could not be shipped
        ├── QuotaExceededError         the key's cache quota is too small
        ├── HashMismatchError          the scheduler got other bytes than announced
        ├── FileChangedError           a local file changed while it was uploaded
        ├── LocalFileNotFoundError     (also a FileNotFoundError) a local path does not exist
        └── MissingDependenciesError   the scheduler still lacks blobs a job needs

Each exception keeps what the scheduler said: the gRPC status code
(:attr:`DeSAMError.grpc_code`), the reply's ``error_code``
(:attr:`DeSAMError.error_code`), the RPC (:attr:`DeSAMError.rpc`) and the job id
where there is one. The mapping from both error channels to these classes is a
single table in ``desam_client._core.error_table``.
"""

from __future__ import annotations

import errno
from typing import Any

import grpc

__all__ = [
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "DeSAMConnectionError",
    "DeSAMError",
    "DeadlineExceededError",
    "FileChangedError",
    "FileTransferError",
    "HashMismatchError",
    "InsufficientResourcesError",
    "InvalidArgumentError",
    "JobNotCancellableError",
    "JobNotFoundError",
    "LocalFileNotFoundError",
    "MissingDependenciesError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "SubmissionUnknownError",
    "SubmitError",
    "TLSError",
    "WaitTimeoutError",
]


class DeSAMError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        message: What went wrong, for people. Never contains an API key.
        grpc_code: The gRPC status code when the failure came as a gRPC status, else None.
        error_code: The scheduler's machine-readable ``error_code`` when it answered with
            ``success=false``, else None.
        rpc: The RPC that failed (``"QueryJob"``, ...), when there was one.
        job_id: The job concerned, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        grpc_code: grpc.StatusCode | None = None,
        error_code: str | None = None,
        rpc: str | None = None,
        job_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.grpc_code = grpc_code
        self.error_code = error_code
        self.rpc = rpc
        self.job_id = job_id

    def __str__(self) -> str:
        parts = []
        if self.error_code:
            parts.append(self.error_code)
        elif self.grpc_code is not None:
            parts.append(self.grpc_code.name)
        if self.job_id:
            parts.append(f"job {self.job_id}")
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return prefix + self.message

    def __repr__(self) -> str:
        fields: dict[str, Any] = {
            "grpc_code": self.grpc_code,
            "error_code": self.error_code,
            "rpc": self.rpc,
            "job_id": self.job_id,
        }
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v is not None)
        return f"{type(self).__name__}({self.message!r}{', ' + shown if shown else ''})"


class AuthenticationError(DeSAMError):
    """The API key is missing, wrong or expired (``INVALID_API_KEY`` or UNAUTHENTICATED)."""


class PermissionDeniedError(AuthenticationError):
    """The key is valid but may not see or touch that job (``PERMISSION_DENIED``)."""


class JobNotFoundError(DeSAMError):
    """The scheduler does not know the job id (``JOB_NOT_FOUND``)."""


class DeSAMConnectionError(DeSAMError):
    """The scheduler could not be reached, or the connection failed before a reply."""


class DeadlineExceededError(DeSAMConnectionError):
    """The scheduler did not answer within the deadline (the call's, or the whole retry budget)."""


class TLSError(DeSAMConnectionError):
    """The TLS handshake failed: an untrusted certificate, or one that does not name the host.

    Pass the CA that signed the scheduler's certificate as ``cert_path``; if the
    certificate names another host than the one you connect to, set ``server_name``.
    """


class ClientClosedError(DeSAMConnectionError):
    """The client was closed, before the call or while it was in flight."""


class SubmitError(DeSAMError):
    """A job submission was refused, or it is unknown whether it went through."""


class InsufficientResourcesError(SubmitError):
    """The job asks for more CPU, memory or GPU than the cluster has (``INSUFFICIENT_RESOURCES``)."""


class SubmissionUnknownError(SubmitError):
    """The submission may or may not have created a job: the reply was lost.

    Attributes:
        submission_id: The id sent in the job's metadata (key ``desam-submission-id``).
            ``client.find_submission(submission_id)`` returns the job id if the
            scheduler recorded the job, or None if it did not.
    """

    def __init__(self, message: str, *, submission_id: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.submission_id = submission_id


class InvalidArgumentError(DeSAMError, ValueError):
    """An argument is of the wrong type or out of range, or the scheduler refused a field.

    Raised before anything is sent for bad input, and for ``INVALID_ARGUMENT`` replies.

    Attributes:
        argument: The name of the offending argument, when known (``"timeout"``, ``"env['LR']"``).
    """

    def __init__(self, message: str, *, argument: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.argument = argument


class ConfigurationError(InvalidArgumentError):
    """The client's settings are unusable (missing host or key, unreadable certificate, ...)."""


class JobNotCancellableError(DeSAMError):
    """The job is already in a terminal state (``JOB_NOT_CANCELLABLE``).

    ``cancel()`` answers ``False`` in this case instead of raising, as the 0.1.x client did.
    """


class WaitTimeoutError(DeSAMError, TimeoutError):
    """A waiting helper ran out of time before the job(s) finished.

    Attributes:
        pending: The ids of the jobs that had not finished.
    """

    def __init__(self, message: str, *, pending: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.pending = pending


class FileTransferError(DeSAMError):
    """Data dependencies could not be shipped; the original error is chained as ``__cause__``."""


class QuotaExceededError(FileTransferError):
    """The key's cache quota cannot hold the data (checked before any byte is sent)."""


class HashMismatchError(FileTransferError):
    """The scheduler received other bytes than the hash and size announced (``HASH_MISMATCH``)."""


class FileChangedError(FileTransferError):
    """A local file changed between hashing and sending; nothing wrong was stored."""


class LocalFileNotFoundError(FileTransferError, FileNotFoundError):
    """A local path given for upload does not exist (nothing was sent).

    It is a builtin ``FileNotFoundError`` too, as the 0.1.x client raised, and it
    carries ``filename`` like one.
    """

    def __init__(self, message: str, *, filename: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.filename = filename
        self.errno = errno.ENOENT


class MissingDependenciesError(FileTransferError):
    """The scheduler still lacks blobs the job needs (``MISSING_DEPENDENCIES``).

    Attributes:
        missing_hashes: The SHA-256 hashes the scheduler reported missing.
    """

    def __init__(self, message: str, *, missing_hashes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.missing_hashes = missing_hashes
