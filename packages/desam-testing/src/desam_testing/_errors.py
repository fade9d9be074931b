"""The error codes the fake scheduler answers with, and how handlers signal them.

A handler raises :class:`ReplyError` for a normal reply with
``response.success = false`` and :class:`RpcAbort` for a gRPC status; the
dispatcher turns each into what goes on the wire.
"""

from __future__ import annotations

from typing import Any

import grpc

__all__ = ["ErrorCode", "ReplyError", "RpcAbort", "StagingError"]


class ErrorCode:
    """The ``error_code`` strings of ``CommonResponse`` (see the wire protocol's table)."""

    INVALID_API_KEY = "INVALID_API_KEY"
    """The request's ``api_key`` is not known."""
    JOB_NOT_FOUND = "JOB_NOT_FOUND"
    """No job has that id."""
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    """A field is missing or out of range; the message names it."""
    INSUFFICIENT_RESOURCES = "INSUFFICIENT_RESOURCES"
    """The job asks for more than the whole cluster has."""
    JOB_NOT_CANCELLABLE = "JOB_NOT_CANCELLABLE"
    """The job is already in a terminal state."""
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    """The upload or the dependencies exceed the key's cache quota."""
    HASH_MISMATCH = "HASH_MISMATCH"
    """Uploaded bytes do not match ``file_hash`` / ``file_size``."""
    MISSING_DEPENDENCIES = "MISSING_DEPENDENCIES"
    """SubmitJobWithArtifacts names blobs the scheduler lacks."""
    PERMISSION_DENIED = "PERMISSION_DENIED"
    """The key may not see or touch that job."""


class ReplyError(Exception):
    """Raised inside a handler to answer ``success=false`` with a code and a message.

    Args:
        code: The ``error_code`` (one of :class:`ErrorCode`, or any string).
        message: The human-readable ``message``; it never contains an API key.
        **fields: Further fields of the reply, e.g. ``job=`` or ``missing_hashes=``.
    """

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields


class RpcAbort(Exception):
    """Raised inside a handler to end the call with a gRPC status instead of a reply.

    Args:
        status: The gRPC status code.
        details: The status details.
    """

    def __init__(self, status: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{status.name}: {details}")
        self.status = status
        self.details = details


class StagingError(Exception):
    """A job's data could not be placed in its directory (the job ends as DATA_DEPENDENCY_ERROR)."""
