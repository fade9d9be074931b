"""Shared pieces of the waiting tests: an in-memory scheduler that answers flow Steps by hand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import pytest

from desam_client._core import waiting
from desam_client._core.flow import Emit, Sleep, Step
from desam_proto import client_pb2 as pb


class World:
    """Jobs and logs in memory; answers the Steps a flow yields, with a fake monotonic clock.

    ``on_sleep`` callbacks run at each ``Sleep`` (after the clock moved), so a test can
    change the world between poll rounds.
    """

    def __init__(self) -> None:
        self.jobs: dict[str, pb.Job] = {}
        self.order: list[str] = []
        self.logs: dict[str, list[str]] = {}
        self.now = 1000.0
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, Any]] = []
        self.sleeps: list[float] = []
        self.on_sleep: list[Callable[[World], None]] = []
        self.log_terminator = "\n"

    # -- the world ---------------------------------------------------------------------------------

    def add(self, job_id: str, status: int = pb.QUEUED, labels: dict[str, str] | None = None) -> None:
        self.jobs[job_id] = pb.Job(job_id=job_id, status=status, labels=labels or {})  # type: ignore[arg-type]
        self.order.append(job_id)
        self.logs.setdefault(job_id, [])

    def set(self, job_id: str, status: int) -> None:
        self.jobs[job_id].status = status  # type: ignore[assignment]

    # -- answering ---------------------------------------------------------------------------------

    def reply(self, step: Step[Any]) -> Any:
        name = step.rpc.name
        request = step.request
        self.calls[name] += 1
        self.requests.append((name, request))
        ok = pb.CommonResponse(success=True)
        if name == "BatchQueryJobs":
            jobs = [self.jobs[i] for i in request.job_ids if i in self.jobs]  # type: ignore[union-attr]
            return pb.ListJobsResponse(response=ok, jobs=jobs, total=len(jobs))
        if name == "QueryJob":
            job_id = request.job_id  # type: ignore[union-attr]
            if job_id not in self.jobs:
                return pb.QueryJobResponse(
                    response=pb.CommonResponse(success=False, error_code="JOB_NOT_FOUND", message="no job")
                )
            return pb.QueryJobResponse(response=ok, job=self.jobs[job_id])
        if name == "GetJobLogs":
            lines = self.logs[request.job_id]  # type: ignore[union-attr]
            start, count = request.from_line, request.max_lines  # type: ignore[union-attr]
            chunk = lines[start : start + count]
            if self.log_terminator:
                text = "".join(line + self.log_terminator for line in chunk)
            else:
                text = "\n".join(chunk)
            return pb.GetJobLogsResponse(response=ok, log_content=text, total_lines=len(lines))
        if name == "ListJobs":
            newest_first = [self.jobs[i] for i in reversed(self.order)]
            start, limit = request.offset, request.limit  # type: ignore[union-attr]
            return pb.ListJobsResponse(
                response=ok, jobs=newest_first[start : start + limit], total=len(newest_first)
            )
        raise AssertionError(f"unexpected RPC {name}")

    def drive(self, flow: Generator[Any, Any, Any], max_steps: int = 10_000) -> tuple[list[Any], Any]:
        """Run ``flow`` to its end; return (emitted values, returned value)."""
        emitted: list[Any] = []
        value: Any = None
        error: Exception | None = None
        for _ in range(max_steps):
            try:
                instruction = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return emitted, stop.value
            value, error = None, None
            if isinstance(instruction, Emit):
                emitted.append(instruction.value)
            elif isinstance(instruction, Sleep):
                self.sleeps.append(instruction.seconds)
                self.now += instruction.seconds
                for hook in list(self.on_sleep):
                    hook(self)
            else:
                try:
                    value = instruction.parse(self.reply(instruction), False)
                except Exception as raised:
                    error = raised
        raise AssertionError("the flow did not end")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    """A fresh in-memory world whose clock drives ``waiting.monotonic``."""
    made = World()
    monkeypatch.setattr(waiting, "monotonic", lambda: made.now)
    return made
