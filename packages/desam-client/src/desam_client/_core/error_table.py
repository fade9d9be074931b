"""The one table that turns both error channels into exceptions.

A failure reaches the client either as a gRPC status (transport or server
fault) or as a reply with ``response.success == false`` and an ``error_code``.
Both are looked up here; the answer is the exception class and whether the
fault can heal by itself (only those are retried).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from desam_client import exceptions as exc


@dataclass(frozen=True)
class ErrorKind:
    """What a failure code means to the client."""

    error: type[exc.DeSAMError]
    transient: bool = False
    """True when trying again later may succeed (the retry policy decides whether to)."""


#: The reply channel: ``CommonResponse.error_code``.
BY_ERROR_CODE: dict[str, ErrorKind] = {
    "INVALID_API_KEY": ErrorKind(exc.AuthenticationError),
    "PERMISSION_DENIED": ErrorKind(exc.PermissionDeniedError),
    "JOB_NOT_FOUND": ErrorKind(exc.JobNotFoundError),
    "INVALID_ARGUMENT": ErrorKind(exc.InvalidArgumentError),
    "INSUFFICIENT_RESOURCES": ErrorKind(exc.InsufficientResourcesError),
    "JOB_NOT_CANCELLABLE": ErrorKind(exc.JobNotCancellableError),
    "QUOTA_EXCEEDED": ErrorKind(exc.QuotaExceededError),
    "HASH_MISMATCH": ErrorKind(exc.HashMismatchError),
    "MISSING_DEPENDENCIES": ErrorKind(exc.MissingDependenciesError),
}

#: The status channel: gRPC status codes.
BY_STATUS: dict[grpc.StatusCode, ErrorKind] = {
    grpc.StatusCode.UNAUTHENTICATED: ErrorKind(exc.AuthenticationError),
    grpc.StatusCode.PERMISSION_DENIED: ErrorKind(exc.PermissionDeniedError),
    grpc.StatusCode.NOT_FOUND: ErrorKind(exc.JobNotFoundError),
    grpc.StatusCode.INVALID_ARGUMENT: ErrorKind(exc.InvalidArgumentError),
    grpc.StatusCode.OUT_OF_RANGE: ErrorKind(exc.InvalidArgumentError),
    grpc.StatusCode.FAILED_PRECONDITION: ErrorKind(exc.DeSAMError),
    grpc.StatusCode.DEADLINE_EXCEEDED: ErrorKind(exc.DeadlineExceededError, transient=True),
    grpc.StatusCode.UNAVAILABLE: ErrorKind(exc.DeSAMConnectionError, transient=True),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ErrorKind(exc.DeSAMError, transient=True),
    grpc.StatusCode.ABORTED: ErrorKind(exc.DeSAMError, transient=True),
    # A CANCELLED the client did not ask for: the scheduler (or a proxy) cut the call off, as a
    # gRPC server does with the calls in flight when it stops. A closed client never retries.
    grpc.StatusCode.CANCELLED: ErrorKind(exc.DeSAMConnectionError, transient=True),
}

_GENERIC = ErrorKind(exc.DeSAMError)

# Substrings gRPC puts in the details of a failed TLS handshake. Such a failure never
# heals by itself, so it is reported at once instead of being retried.
# Not "handshake" alone: gRPC's "tcp handshaker shutdown" is a connection attempt cut off (under
# load, or while a shared subchannel closes), which heals; TLS handshakes say "Tls handshake".
_TLS_MARKERS = ("ssl", "tls", "certificate", "peer name", "x509", "verification", "hostname")


def kind_for_code(error_code: str) -> ErrorKind:
    """The meaning of a reply's ``error_code``; unknown codes are generic, permanent errors."""
    return BY_ERROR_CODE.get(error_code, _GENERIC)


def kind_for_status(code: grpc.StatusCode, details: str, *, tls: bool = False) -> ErrorKind:
    """The meaning of a gRPC status; on a TLS channel, a failed handshake is a permanent :class:`TLSError`."""
    if tls and code is grpc.StatusCode.UNAVAILABLE and any(m in details.lower() for m in _TLS_MARKERS):
        return ErrorKind(exc.TLSError)
    return BY_STATUS.get(code, _GENERIC)


def error_from_reply(
    response: object, *, rpc: str, job_id: str | None = None, redact: tuple[str, ...] = ()
) -> exc.DeSAMError:
    """The exception for a ``CommonResponse`` with ``success == false``."""
    code = str(getattr(response, "error_code", "") or "")
    message = scrub(
        str(getattr(response, "message", "") or "") or "the scheduler refused the request", redact
    )
    return kind_for_code(code).error(message, error_code=code or None, rpc=rpc, job_id=job_id)


def error_from_status(
    code: grpc.StatusCode,
    details: str,
    *,
    rpc: str,
    job_id: str | None = None,
    redact: tuple[str, ...] = (),
    tls: bool = False,
) -> exc.DeSAMError:
    """The exception for a gRPC status (no reply arrived)."""
    message = scrub(details or code.name.lower().replace("_", " "), redact)
    kind = kind_for_status(code, details, tls=tls)
    if kind.error is exc.TLSError:
        message += " (check cert_path, and set server_name if the certificate names another host)"
    return kind.error(message, grpc_code=code, rpc=rpc, job_id=job_id)


def is_transient(error: exc.DeSAMError) -> bool:
    """Whether trying the same call again later may succeed (a failed TLS handshake never does)."""
    if isinstance(error, exc.TLSError):
        return False
    if error.error_code is not None:
        return kind_for_code(error.error_code).transient
    if error.grpc_code is not None:
        return BY_STATUS.get(error.grpc_code, _GENERIC).transient
    return False


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***`` (a scheduler may echo what it got)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
