"""Uploads: hashing against hashlib, upload throughput against a raw stream, memory of a 1 GiB upload.

The file is sparse (its bytes are zeros read from no disk, and a distinct 32-byte
tail per upload so that the scheduler never has it cached yet): the figures are the
client's CPU and memory, not the disk's speed. Every upload runs in a fresh client
process against a fresh fake scheduler, and reports its own time and peak RSS.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Row, fmt_mib, fmt_rate, interleaved, median, paired_ratio
from benchmarks.serve import Server

THROUGHPUT_GOAL = 0.8
RSS_GOAL = 64 << 20


def run(*, size: int, rounds: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="desam-bench-upload-") as tmp:
        path = Path(tmp) / "blob.bin"
        with path.open("wb") as handle:
            handle.truncate(size)
        rows = _hashing(path, rounds)
        rows += _uploads(path, size, rounds)
    return rows


def _hashing(path: Path, rounds: int) -> list[Row]:
    from desam_client.files import hash_file

    size = path.stat().st_size

    def ours() -> float:
        start = time.perf_counter()
        hash_file(path)
        return size / (time.perf_counter() - start)

    def reference() -> float:
        start = time.perf_counter()
        with path.open("rb") as handle:
            hashlib.file_digest(handle, "sha256")
        return size / (time.perf_counter() - start)

    if not hasattr(hashlib, "file_digest"):  # Python 3.10
        return [
            Row(
                "uploads",
                "SHA-256 of a file vs hashlib.file_digest",
                "not measured",
                "",
                None,
                "needs Python 3.11+",
                None,
            )
        ]
    values = interleaved({"ours": ours, "reference": reference}, rounds)
    return [
        Row(
            "uploads",
            f"SHA-256 of a {fmt_mib(size)} file: files.hash_file vs hashlib.file_digest",
            fmt_rate(median(values["ours"]) / 2**20, " MiB/s"),
            fmt_rate(median(values["reference"]) / 2**20, " MiB/s"),
            paired_ratio(values["ours"], values["reference"]),
        ),
    ]


def _upload_once(mode: str, path: Path, tail: int) -> dict[str, float]:
    with path.open("r+b") as handle:  # a new tail: new bytes, a new hash, nothing cached
        handle.seek(-32, os.SEEK_END)
        handle.write(tail.to_bytes(32, "big"))
    with Server("fake", quota=4 * path.stat().st_size) as server:
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH", "")]),
        )
        command = [sys.executable, "-m", "benchmarks.upload_child", mode, server.address, str(path)]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _uploads(path: Path, size: int, rounds: int) -> list[Row]:
    from desam_client import AsyncDeSAMClient, DeSAMClient

    if not hasattr(DeSAMClient, "files"):
        return [
            Row(
                "uploads",
                "upload throughput and memory",
                "not measured",
                "",
                None,
                "client.files is not there yet",
                None,
            )
        ]
    counter = iter(range(1, 1 << 30))
    results: dict[str, list[dict[str, float]]] = {}

    def block(mode: str) -> Callable[[], float]:
        def upload() -> float:
            result = _upload_once(mode, path, next(counter))
            results.setdefault(mode, []).append(result)
            return result["size"] / result["seconds"]

        return upload

    modes = ["ours", "raw"] + (["ours-async", "raw-async"] if hasattr(AsyncDeSAMClient, "files") else [])
    values = interleaved({mode: block(mode) for mode in modes}, rounds, warmup=False)
    rows: list[Row] = []
    for ours, raw, label in (("ours", "raw", "DeSAMClient"), ("ours-async", "raw-async", "AsyncDeSAMClient")):
        if ours not in values:
            continue
        ratio = paired_ratio(values[ours], values[raw])
        rows.append(
            Row(
                "uploads",
                f"upload of {fmt_mib(size)} (hash + stream): {label}.files.upload_file vs raw stream",
                fmt_rate(median(values[ours]) / 2**20, " MiB/s"),
                fmt_rate(median(values[raw]) / 2**20, " MiB/s"),
                ratio,
                f"≥ {THROUGHPUT_GOAL}×",
                ratio >= THROUGHPUT_GOAL,
            )
        )
        growth = max(result["growth"] for result in results[ours])
        rows.append(
            Row(
                "uploads",
                f"peak RSS growth, upload of {fmt_mib(size)}: {label} vs raw stream (worst run)",
                fmt_mib(growth),
                fmt_mib(max(result["growth"] for result in results[raw])),
                None,
                f"≤ {fmt_mib(RSS_GOAL)}",
                growth <= RSS_GOAL,
            )
        )
    return rows
