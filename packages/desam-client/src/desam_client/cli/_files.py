"""The data commands of ``desam``: quota and upload, through ``client.files``."""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable

from desam_client.cli._output import Output
from desam_client.cli._progress import Progress, human_bytes
from desam_client.client import DeSAMClient

__all__ = ["COMMANDS"]


def quota(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Print the API key's blob cache quota."""
    info = client.files.check_quota()
    if out.json:
        out.data(
            {
                "total_quota": info.total_quota,
                "used_quota": info.used_quota,
                "available_quota": info.available_quota,
            }
        )
        return 0
    out.pairs(
        [
            (label, f"{human_bytes(value)} ({value} bytes)")
            for label, value in (
                ("total", info.total_quota),
                ("used", info.used_quota),
                ("available", info.available_quota),
            )
        ]
    )
    return 0


def upload(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Upload each path (a directory as its deterministic archive) and print what the scheduler holds."""
    progress = Progress()
    uploaded = []
    for path in args.paths:
        label = os.path.basename(os.path.normpath(path)) or path
        callback: Callable[[int, int], None] = functools.partial(progress.bytes, label)
        info = client.files.upload_file(path, progress_callback=callback)
        progress.done()
        uploaded.append(info)
        if not out.json:
            out.line(f"{info.file_hash}  {info.file_size:>12}  {info.file_name}")
    if out.json:
        out.data(
            [
                {
                    "path": path,
                    "file_hash": info.file_hash,
                    "file_size": info.file_size,
                    "file_name": info.file_name,
                    "upload_time": info.upload_time,
                }
                for path, info in zip(args.paths, uploaded, strict=True)
            ]
        )
    return 0


COMMANDS: dict[str, Callable[[DeSAMClient, argparse.Namespace, Output], int]] = {
    "quota": quota,
    "upload": upload,
}
