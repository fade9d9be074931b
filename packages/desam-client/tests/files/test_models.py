"""The models returned by client.files."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from desam_client.files import DependencyCheck, FileInfo, QuotaInfo
from desam_proto import client_pb2


def test_quota_from_proto() -> None:
    reply = client_pb2.QueryCacheQuotaResponse(total_quota=100, used_quota=30, available_quota=70)
    assert QuotaInfo.from_proto(reply) == QuotaInfo(total_quota=100, used_quota=30, available_quota=70)


def test_dependency_check_from_proto() -> None:
    reply = client_pb2.VerifyDependenciesResponse(
        missing_hashes=["a" * 64], existing_hashes=["b" * 64, "c" * 64], missing_size=5, quota_sufficient=True
    )
    check = DependencyCheck.from_proto(reply)
    assert check == DependencyCheck(("a" * 64,), ("b" * 64, "c" * 64), 5, True)
    assert not check.all_present
    assert DependencyCheck((), ("b" * 64,), 0, True).all_present


def test_file_info_from_proto_and_defaults() -> None:
    message = client_pb2.FileInfo(
        file_hash="d" * 64, file_size=7, file_name="x.csv", upload_time="1700000000"
    )
    info = FileInfo.from_proto(message, mount_path="data/x.csv")
    assert info == FileInfo("d" * 64, 7, "x.csv", "1700000000", mount_path="data/x.csv")
    assert FileInfo("d" * 64, 7, "x.csv", "").mount_path is None


def test_models_are_frozen() -> None:
    quota = QuotaInfo(1, 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quota.used_quota = 2  # type: ignore[misc]


C13 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("upload_time", "expected"),
    [
        ("1700000000", C13),
        ("2023-11-14T22:13:20Z", C13),
        ("2023-11-14T22:13:20+00:00", C13),
        ("2023-11-14T23:13:20+01:00", C13),
        ("2023-11-14T22:13:20", C13),  # no offset: UTC
        ("", None),
        ("0", None),
        ("yesterday", None),
        ("99999999999999999999", None),
    ],
)
def test_uploaded_at_is_aware_utc(upload_time: str, expected: datetime | None) -> None:
    moment = FileInfo("d" * 64, 1, "x", upload_time).uploaded_at
    assert moment == expected
    if moment is not None:
        assert moment.utcoffset() == timedelta(0)
