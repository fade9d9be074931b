"""The one table that maps both error channels to exceptions."""

from __future__ import annotations

import grpc
import pytest

from desam_client import exceptions as exc
from desam_client._core import error_table as table
from desam_proto import client_pb2 as pb


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("INVALID_API_KEY", exc.AuthenticationError),
        ("PERMISSION_DENIED", exc.PermissionDeniedError),
        ("JOB_NOT_FOUND", exc.JobNotFoundError),
        ("INVALID_ARGUMENT", exc.InvalidArgumentError),
        ("INSUFFICIENT_RESOURCES", exc.InsufficientResourcesError),
        ("JOB_NOT_CANCELLABLE", exc.JobNotCancellableError),
        ("QUOTA_EXCEEDED", exc.QuotaExceededError),
        ("HASH_MISMATCH", exc.HashMismatchError),
        ("MISSING_DEPENDENCIES", exc.MissingDependenciesError),
    ],
)
def test_every_error_code_has_its_class(code: str, cls: type[exc.DeSAMError]) -> None:
    error = table.error_from_reply(
        pb.CommonResponse(success=False, error_code=code, message="m"), rpc="QueryJob"
    )
    assert type(error) is cls
    assert error.error_code == code and error.rpc == "QueryJob"
    assert not table.is_transient(error)


def test_unknown_code_is_generic_and_keeps_code_and_message() -> None:
    error = table.error_from_reply(
        pb.CommonResponse(error_code="NEW_THING", message="said so"), rpc="ListJobs"
    )
    assert type(error) is exc.DeSAMError
    assert error.error_code == "NEW_THING" and "said so" in str(error)


@pytest.mark.parametrize(
    ("code", "cls", "transient"),
    [
        (grpc.StatusCode.UNAVAILABLE, exc.DeSAMConnectionError, True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, exc.DeadlineExceededError, True),
        (grpc.StatusCode.UNAUTHENTICATED, exc.AuthenticationError, False),
        (grpc.StatusCode.PERMISSION_DENIED, exc.PermissionDeniedError, False),
        (grpc.StatusCode.NOT_FOUND, exc.JobNotFoundError, False),
        (grpc.StatusCode.INVALID_ARGUMENT, exc.InvalidArgumentError, False),
        (grpc.StatusCode.INTERNAL, exc.DeSAMError, False),
        (grpc.StatusCode.UNKNOWN, exc.DeSAMError, False),
    ],
)
def test_statuses_map_and_only_healing_ones_are_transient(
    code: grpc.StatusCode, cls: type[exc.DeSAMError], transient: bool
) -> None:
    error = table.error_from_status(code, "details", rpc="QueryJob", job_id="j")
    assert type(error) is cls
    assert error.grpc_code is code and error.job_id == "j"
    assert table.is_transient(error) is transient


def test_tls_failures_are_recognised_only_on_tls_channels() -> None:
    details = "failed to connect to all addresses; Ssl handshake failed: CERTIFICATE_VERIFY_FAILED"
    on_tls = table.error_from_status(grpc.StatusCode.UNAVAILABLE, details, rpc="ListJobs", tls=True)
    assert isinstance(on_tls, exc.TLSError) and "server_name" in str(on_tls)
    assert not table.is_transient(on_tls)
    plaintext = table.error_from_status(grpc.StatusCode.UNAVAILABLE, "handshaker shutdown", rpc="ListJobs")
    assert type(plaintext) is exc.DeSAMConnectionError
    assert table.is_transient(plaintext)


def test_secrets_are_scrubbed_from_messages() -> None:
    error = table.error_from_status(
        grpc.StatusCode.INTERNAL, "bad key sk-Sup3r", rpc="QueryJob", redact=("sk-Sup3r",)
    )
    assert "sk-Sup3r" not in str(error) and "***" in str(error)
