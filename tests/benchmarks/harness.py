"""Timing helpers and the result table.

Figures are medians over rounds. In each round every variant runs one block, in a
shuffled order, so that drift (other processes, CPU frequency, a growing job table)
hits the client and its reference alike. A ratio is the median, over rounds, of
``ours / reference`` measured in the same round.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass
class Row:
    """One line of the table."""

    section: str
    what: str
    ours: str
    reference: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None  # None: no goal (information only)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "info" if not self.goal else "n/a"
        return "MET" if self.met else "NOT MET"


def interleaved(
    blocks: dict[str, Callable[[], float]],
    rounds: int,
    *,
    warmup: bool = True,
    after: Callable[[str], object] | None = None,
    seed: int = 7,
) -> dict[str, list[float]]:
    """Run each block once per round, in a shuffled order; return the per-round figures by name.

    A block is a callable that runs some work and returns its figure (for example
    seconds per call). Each block runs once first unmeasured when ``warmup`` is set.
    The garbage collector is collected before and paused during each block, as
    ``timeit`` does; ``after(name)`` runs after each block, outside the measurement.
    """
    if warmup:
        for name, block in blocks.items():
            block()
            if after is not None:
                after(name)
    rng = random.Random(seed)
    names = list(blocks)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            gc.collect()
            gc.disable()
            try:
                values[name].append(blocks[name]())
            finally:
                gc.enable()
            if after is not None:
                after(name)
    return values


async def ainterleaved(
    blocks: dict[str, Callable[[], Awaitable[float]]],
    rounds: int,
    *,
    warmup: bool = True,
    after: Callable[[str], object] | None = None,
    seed: int = 7,
) -> dict[str, list[float]]:
    """:func:`interleaved` for blocks that are coroutines, run on the current event loop."""
    if warmup:
        for name, block in blocks.items():
            await block()
            if after is not None:
                after(name)
    rng = random.Random(seed)
    names = list(blocks)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            gc.collect()
            gc.disable()
            try:
                values[name].append(await blocks[name]())
            finally:
                gc.enable()
            if after is not None:
                after(name)
    return values


@dataclass
class Timings:
    """Per-round medians of single calls, by variant: elapsed time, and CPU time of the calling thread."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def add(self, wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
        for name, samples in wall.items():
            self.wall[name].append(statistics.median(samples))
            self.cpu[name].append(statistics.median(cpu[name]))


def call_by_call(
    fns: dict[str, Callable[[], object]],
    calls: int,
    rounds: int,
    *,
    after_round: Callable[[], object] | None = None,
    seed: int = 7,
) -> Timings:
    """Time single calls, the variants taking turns call by call; return each round's medians per variant.

    Each round makes ``calls`` calls of every variant: call *i* of each, in a shuffled
    order, then call *i + 1*... So a burst of load elsewhere on the machine hits every
    variant alike, and the median of a round ignores the calls it slowed down. One
    unmeasured round warms everything up first. Both the elapsed time and the CPU time
    of the calling thread are taken.
    """
    rng = random.Random(seed)
    names = list(fns)
    timings = Timings({name: [] for name in names}, {name: [] for name in names})
    wall, cpu = time.perf_counter, time.thread_time
    for index in range(rounds + 1):
        samples: dict[str, list[float]] = {name: [] for name in names}
        cpu_samples: dict[str, list[float]] = {name: [] for name in names}
        gc.collect()
        gc.disable()
        try:
            for _ in range(calls):
                rng.shuffle(names)
                for name in names:
                    fn = fns[name]
                    start, start_cpu = wall(), cpu()
                    fn()
                    samples[name].append(wall() - start)
                    cpu_samples[name].append(cpu() - start_cpu)
        finally:
            gc.enable()
        if after_round is not None:
            after_round()
        if index:  # round 0 is the warm-up
            timings.add(samples, cpu_samples)
    return timings


async def acall_by_call(
    fns: dict[str, Callable[[], Awaitable[object]]],
    calls: int,
    rounds: int,
    *,
    after_round: Callable[[], object] | None = None,
    seed: int = 7,
) -> Timings:
    """:func:`call_by_call` for coroutine functions, awaited one at a time on the current loop."""
    rng = random.Random(seed)
    names = list(fns)
    timings = Timings({name: [] for name in names}, {name: [] for name in names})
    wall, cpu = time.perf_counter, time.thread_time
    for index in range(rounds + 1):
        samples: dict[str, list[float]] = {name: [] for name in names}
        cpu_samples: dict[str, list[float]] = {name: [] for name in names}
        gc.collect()
        gc.disable()
        try:
            for _ in range(calls):
                rng.shuffle(names)
                for name in names:
                    fn = fns[name]
                    start, start_cpu = wall(), cpu()
                    await fn()
                    samples[name].append(wall() - start)
                    cpu_samples[name].append(cpu() - start_cpu)
        finally:
            gc.enable()
        if after_round is not None:
            after_round()
        if index:
            timings.add(samples, cpu_samples)
    return timings


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratio(ours: Sequence[float], reference: Sequence[float]) -> float:
    """The median over rounds of ``ours[i] / reference[i]``."""
    return statistics.median(a / b for a, b in zip(ours, reference, strict=True))


def per_call(fn: Callable[[], object], calls: int) -> Callable[[], float]:
    """A block of ``calls`` sequential calls; its figure is seconds per call."""

    def block() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls

    return block


def aper_call(fn: Callable[[], Awaitable[object]], calls: int) -> Callable[[], Awaitable[float]]:
    """A block of ``calls`` sequential awaited calls; its figure is seconds per call."""

    async def block() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await fn()
        return (time.perf_counter() - start) / calls

    return block


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def fmt_rate(per_second: float, unit: str = "/s") -> str:
    return f"{per_second:,.0f}{unit}"


def fmt_mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"


def fmt_ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.3f}×"


def table(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table."""
    header = ("section", "measurement", "ours", "reference", "ratio", "goal", "result")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 4 + ["---:", "---", "---"]) + "|",
    ]
    for row in rows:
        cells = (row.section, row.what, row.ours, row.reference, fmt_ratio(row.ratio), row.goal, row.verdict)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
