"""The Python SDK for the DeSAM batch-job scheduler.

Submit jobs, watch them, read their logs, cancel them and ship their data::

    from desam_client import DeSAMClient

    with DeSAMClient(host="localhost", port=50051, api_key="sk-...") as client:
        job_id = client.submit_job(name="hello", command="echo hello")
        print(client.get_status(job_id))

:class:`DeSAMClient` blocks; :class:`AsyncDeSAMClient` has the same methods as
coroutines. Errors are :class:`DeSAMError` subclasses (see
:mod:`desam_client.exceptions`).
"""

from __future__ import annotations

from desam_client._base import DEFAULT
from desam_client._pipeline.call import CallInfo
from desam_client._pipeline.retry import NO_RETRY, RetryPolicy
from desam_client.aio import AsyncDeSAMClient
from desam_client.client import DeSAMClient
from desam_client.config import ClientConfig
from desam_client.exceptions import (
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    DeadlineExceededError,
    DeSAMConnectionError,
    DeSAMError,
    FileChangedError,
    FileTransferError,
    HashMismatchError,
    InsufficientResourcesError,
    InvalidArgumentError,
    JobNotCancellableError,
    JobNotFoundError,
    LocalFileNotFoundError,
    MissingDependenciesError,
    PermissionDeniedError,
    QuotaExceededError,
    SubmissionUnknownError,
    SubmitError,
    TLSError,
    WaitTimeoutError,
)
from desam_client.models import TERMINAL_STATUSES, BatchCancelResult, Job, JobList, JobStatus, Resource
from desam_client.plugins import hookimpl

__version__ = "0.2.0"

__all__ = [
    "DEFAULT",
    "NO_RETRY",
    "TERMINAL_STATUSES",
    "AsyncDeSAMClient",
    "AuthenticationError",
    "BatchCancelResult",
    "CallInfo",
    "ClientClosedError",
    "ClientConfig",
    "ConfigurationError",
    "DeSAMClient",
    "DeSAMConnectionError",
    "DeSAMError",
    "DeadlineExceededError",
    "FileChangedError",
    "FileTransferError",
    "HashMismatchError",
    "InsufficientResourcesError",
    "InvalidArgumentError",
    "Job",
    "JobList",
    "JobNotCancellableError",
    "JobNotFoundError",
    "JobStatus",
    "LocalFileNotFoundError",
    "MissingDependenciesError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "Resource",
    "RetryPolicy",
    "SubmissionUnknownError",
    "SubmitError",
    "TLSError",
    "WaitTimeoutError",
    "__version__",
    "hookimpl",
]
