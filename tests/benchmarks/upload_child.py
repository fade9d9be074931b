"""One upload in a process of its own, which reports its time and how much its memory grew.

``python -m benchmarks.upload_child MODE ADDRESS PATH`` with MODE one of ``ours``
(``DeSAMClient.files.upload_file``), ``ours-async`` (the same on
``AsyncDeSAMClient``), ``raw`` or ``raw-async`` (``hashlib.file_digest``, then the
file's 1 MiB chunks streamed through the generated stub). Prints one JSON line:
``seconds``, ``size``, ``rss_before`` (the RSS once connected, before the upload),
``peak`` (the process's peak RSS afterwards, ``ru_maxrss``) and ``growth`` (peak - rss_before).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

CHUNK = 1 << 20


def _rss() -> int:
    try:
        import psutil
    except ImportError:  # Linux without psutil: the resident set from /proc
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


def _peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        while block := handle.read(CHUNK):
            digest.update(block)
        return digest.hexdigest()


def _chunks(path: str, file_hash: str, api_key: str) -> Iterator[Any]:
    """The UploadFile stream of a file, written the plain way."""
    from desam_proto import client_pb2 as pb

    size = os.path.getsize(path)
    name = os.path.basename(path)
    total = max(1, -(-size // CHUNK))
    with open(path, "rb") as handle:
        for index in range(total):
            yield pb.UploadFileRequest(
                api_key=api_key,
                file_hash=file_hash,
                file_size=size,
                file_name=name,
                chunk_id=str(index),
                content=handle.read(CHUNK),
                is_last_chunk=index == total - 1,
            )


def main() -> int:
    mode, address, path = sys.argv[1:4]
    from benchmarks import clients
    from benchmarks.serve import API_KEY
    from desam_proto import client_pb2 as pb

    if mode.endswith("async"):
        return asyncio.run(_main_async(mode, address, path))
    if mode == "ours":
        client = clients.sync_client(address)
        client.files.check_quota()  # connected, every module loaded

        def upload() -> Any:
            return client.files.upload_file(path)
    else:
        _channel, stub = clients.sync_stub(address)
        clients.checked(stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=API_KEY)))

        def upload() -> Any:
            reply = stub.UploadFile(_chunks(path, _digest(path), API_KEY), timeout=600)
            return clients.checked(reply)

    _report(upload)
    return 0


async def _main_async(mode: str, address: str, path: str) -> int:
    from benchmarks import clients
    from benchmarks.serve import API_KEY
    from desam_proto import client_pb2 as pb

    if mode == "ours-async":
        client = clients.async_client(address)
        await client.files.check_quota()
        before, start = _rss(), time.perf_counter()
        await client.files.upload_file(path)
    else:
        _channel, stub = clients.async_stub(address)
        clients.checked(await stub.QueryCacheQuota(pb.QueryCacheQuotaRequest(api_key=API_KEY)))
        before, start = _rss(), time.perf_counter()
        file_hash = await asyncio.to_thread(_digest, path)
        chunks = _chunks(path, file_hash, API_KEY)

        async def stream() -> Any:  # each read in a worker thread, as the client does
            while (item := await asyncio.to_thread(next, chunks, None)) is not None:
                yield item

        clients.checked(await stub.UploadFile(stream(), timeout=600))
    _print(time.perf_counter() - start, path, before)
    return 0


def _report(upload: Any) -> None:
    before, start = _rss(), time.perf_counter()
    upload()
    _print(time.perf_counter() - start, sys.argv[3], before)


def _print(seconds: float, path: str, before: int) -> None:
    peak = _peak()
    result = {
        "seconds": seconds,
        "size": os.path.getsize(path),
        "rss_before": before,
        "peak": peak,
        "growth": peak - before,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
