"""End to end with the local executor: a job sees its files byte for byte (both clients)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desam_proto import client_pb2 as pb
from desam_testing import FakeScheduler, LocalExecutor

TERMINAL = (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED, pb.TIMEOUT, pb.DATA_DEPENDENCY_ERROR)


@pytest.fixture
def fake(keys: dict[str, str]) -> Iterator[FakeScheduler]:
    """This module's scheduler really runs the jobs."""
    with FakeScheduler(api_keys=keys, executor=LocalExecutor(kill_grace=0.2)) as scheduler:
        yield scheduler


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _expected_lines(tree: dict[str, bytes], prefix: str) -> list[str]:
    return [f"{_sha(tree[name])}  {prefix}/{name}" for name in sorted(tree)]


def _run(fake: FakeScheduler, job_id: str) -> list[str]:
    job = fake.wait_for_status(job_id, *TERMINAL, timeout=30)
    assert job.status == pb.SUCCEEDED, (job.error_message, fake.logs(job_id))
    return fake.logs(job_id)


def test_job_sees_mounted_files_and_directories_byte_for_byte(
    client: Any, files: Any, fake: FakeScheduler, tmp_path: Path, make_tree: Callable[..., None]
) -> None:
    single = os.urandom((2 << 20) + 12345)  # several default-size chunks
    (tmp_path / "model.bin").write_bytes(single)
    (tmp_path / "empty.dat").write_bytes(b"")
    tree = {
        "README.md": b"# hello\n",
        "数据.csv": "列,值\n1,2\n".encode(),
        "empty.txt": b"",
        "run.sh": b"#!/bin/sh\necho ran\n",
        "nested/deeper/blob.bin": os.urandom(70_000),
    }
    layout: dict[str, Any] = {"nested": {"deeper": {"blob.bin": tree["nested/deeper/blob.bin"]}}}
    layout.update({k: v for k, v in tree.items() if "/" not in k})
    make_tree(tmp_path / "project", layout)
    os.chmod(tmp_path / "project" / "run.sh", 0o755)

    command = (
        "sha256sum data/in/model.bin data/empty.dat"
        " && cd code && find . -type f | LC_ALL=C sort | sed 's|^\\./||' | xargs -d '\\n' sha256sum"
        " | sed 's|  |  code/|' && ./run.sh"
    )
    job_id = client.submit_job(
        "checksums",
        command,
        files={
            "data/in/model.bin": tmp_path / "model.bin",
            "data/empty.dat": tmp_path / "empty.dat",
            "code": tmp_path / "project",
        },
    )
    lines = _run(fake, job_id)
    expected = [f"{_sha(single)}  data/in/model.bin", f"{_sha(b'')}  data/empty.dat"]
    expected += sorted(_expected_lines(tree, "code"), key=lambda line: line.split("  ", 1)[1].encode())
    expected += ["ran"]  # the executable bit survived the archive
    assert lines == expected

    # The same data again, through files.submit_job_with_files: nothing is uploaded.
    uploads = fake.request_count("UploadFile")
    again = files.submit_job_with_files("again", "sha256sum code/README.md", [(tmp_path / "project", "code")])
    assert _run(fake, again) == [f"{_sha(tree['README.md'])}  code/README.md"]
    assert fake.request_count("UploadFile") == uploads
