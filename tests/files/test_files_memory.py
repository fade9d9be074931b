"""Uploading streams: memory stays flat whatever the file size (both clients).

The scheduler runs in a child process so that only the client's allocations are
traced (the fake keeps every chunk it receives).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SIZE = 64 << 20
PEAK_LIMIT = 16 << 20

_SERVER = """
import sys
from desam_testing import FakeScheduler
with FakeScheduler(api_keys={"sk-test": "alice"}) as fake:
    print(fake.port, flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def remote_port() -> Iterator[int]:
    """A fake scheduler in a child process; its port."""
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            yield int(child.stdout.readline())
        finally:
            child.stdin.close()
            child.wait(timeout=30)


@pytest.mark.slow
def test_uploading_64_mib_keeps_the_python_heap_small(
    make_client: Callable[..., Any], files_for: Callable[[Any], Any], remote_port: int, tmp_path: Path
) -> None:
    sparse = tmp_path / "sparse.bin"
    with open(sparse, "wb") as handle:
        handle.truncate(SIZE)
    files = files_for(make_client(host="127.0.0.1", port=remote_port))
    files.check_quota()  # connect first: channel set-up is not what is measured
    seen: list[tuple[int, int]] = []

    gc.collect()
    tracemalloc.start()
    try:
        info = files.upload_file(sparse, lambda sent, total: seen.append((sent, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.file_size == SIZE
    assert seen[-1] == (SIZE, SIZE)
    assert len(seen) == SIZE // (1 << 20)
    print(f"upload of {SIZE >> 20} MiB: Python heap peak {peak / (1 << 20):.1f} MiB")
    assert peak < PEAK_LIMIT, f"peak {peak / (1 << 20):.1f} MiB"
    assert files.verify_dependencies([info.file_hash], SIZE).all_present
