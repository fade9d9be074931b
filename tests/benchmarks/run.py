"""Runs the benchmark sections and prints one table (see ``python -m benchmarks --help``)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from benchmarks.harness import Row, table

#: Section name -> (full-size settings, --quick settings).
SECTIONS: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "imports": ({"rounds": 15}, {"rounds": 5}),
    "latency": ({"calls": 200, "rounds": 15}, {"calls": 100, "rounds": 5}),
    "throughput": ({"submissions": 10_000, "rounds": 5}, {"submissions": 2_000, "rounds": 2}),
    "waiting": ({"jobs": 1_000, "rounds": 5}, {"jobs": 1_000, "rounds": 2}),
    "fake": ({"calls": 4_000, "rounds": 5, "jobs": 100_000}, {"calls": 1_000, "rounds": 3, "jobs": 20_000}),
    "uploads": ({"size": 1 << 30, "rounds": 4}, {"size": 1 << 28, "rounds": 1}),
}

MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"


def _section(name: str) -> Callable[..., list[Row]]:
    from benchmarks import fake, imports, latency, throughput, uploads, waiting

    return {
        "imports": imports.run,
        "latency": latency.run,
        "throughput": throughput.run,
        "waiting": waiting.run,
        "fake": fake.run,
        "uploads": uploads.run,
    }[name]


def environment() -> str:
    cpus = os.cpu_count()
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"grpcio {version('grpcio')}, protobuf {version('protobuf')}, "
        f"{platform.system()} {platform.machine()}, {cpus} CPUs"
    )


def load() -> str:
    """The 1-minute load average, where the system tells it (other work on the machine skews figures)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="DeSAM SDK benchmarks: figures and ratios against references measured in the same run.",
    )
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--quick", action="store_true", help="smaller counts (for trying the benchmarks out)")
    parser.add_argument(
        "--update-doc",
        type=Path,
        metavar="PATH",
        help=f"also write the table into PATH between {MARK_START} and {MARK_END}",
    )
    parser.add_argument("--strict", action="store_true", help="exit with 1 when a goal is not met")
    args = parser.parse_args(argv)
    names = args.only or list(SECTIONS)
    rows: list[Row] = []
    load_before = load()
    started = time.perf_counter()
    for name in names:
        settings = SECTIONS[name][1 if args.quick else 0]
        began = time.perf_counter()
        print(f"[bench] {name} {settings} ...", file=sys.stderr, flush=True)
        rows += _section(name)(**settings)
        print(f"[bench] {name} done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--update-doc" in shown:  # where the table went is not part of how it was made
        at = shown.index("--update-doc")
        del shown[at : at + 2]
    command = "nox -s bench" + (" -- " + " ".join(shown) if shown else "")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    missed = [row for row in rows if row.met is False]
    report = "\n".join(
        [
            f"Measured {when} with `{command}` ({elapsed:.0f} s).",
            f"Environment: {environment()}; load average {load_before} at the start, {load()} at the end.",
            "",
            table(rows),
            "",
            f"Goals: {sum(row.met is True for row in rows)} met, {len(missed)} not met.",
        ]
    )
    print(report)
    if args.update_doc is not None:
        _update_doc(args.update_doc, report)
    return 1 if args.strict and missed else 0


def _update_doc(path: Path, report: str) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no {MARK_START} ... {MARK_END} region to write the table into")
    path.write_text(text[: start + len(MARK_START)] + "\n" + report + "\n" + text[end:], encoding="utf-8")
