"""Import time of ``desam_client`` against that of ``grpc`` and ``google.protobuf``, in fresh interpreters.

Each import runs in a new ``python`` process that times the ``import`` statement
itself (interpreter start-up is left out, which only makes the ratio stricter).
All processes share one temporary ``PYTHONPYCACHEPREFIX``, filled by unmeasured
warm-up runs, so every module loads from bytecode as it does after a normal install
(and no ``__pycache__`` is written into the source tree).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from benchmarks.harness import Row, fmt_ms, interleaved, median, paired_ratio

GOAL = 1.5
IMPORTS = {
    "desam_client": "import desam_client",
    "grpc+protobuf": "import grpc, google.protobuf",
    "raw stub": "import grpc, google.protobuf, desam_proto.client_pb2_grpc",
}
_TIMED = "import time; _t = time.perf_counter(); {stmt}; print(time.perf_counter() - _t)"


def run(*, rounds: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="desam-bench-pyc-") as cache:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def block(stmt: str) -> Callable[[], float]:
            def timed() -> float:
                out = subprocess.run(
                    [sys.executable, "-c", _TIMED.format(stmt=stmt)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                return float(out.strip().splitlines()[-1])

            return timed

        blocks = {name: block(stmt) for name, stmt in IMPORTS.items()}
        for timed in blocks.values():  # a second warm-up: the first one wrote the bytecode
            timed()
        values = interleaved(blocks, rounds)
    ours = values["desam_client"]
    ratio = paired_ratio(ours, values["grpc+protobuf"])
    return [
        Row(
            "import",
            "import desam_client vs import grpc, google.protobuf",
            fmt_ms(median(ours)),
            fmt_ms(median(values["grpc+protobuf"])),
            ratio,
            f"≤ {GOAL}×",
            ratio <= GOAL,
        ),
        Row(
            "import",
            "import desam_client vs the raw stub's imports (+ desam_proto.client_pb2_grpc)",
            fmt_ms(median(ours)),
            fmt_ms(median(values["raw stub"])),
            paired_ratio(ours, values["raw stub"]),
        ),
    ]
