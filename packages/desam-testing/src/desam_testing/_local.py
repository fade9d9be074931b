"""The local executor: really runs each job's command on this machine."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from desam_proto import client_pb2 as pb

from ._capacity import CapacityQueue
from ._errors import StagingError
from ._executor import Executor, ExecutorHost
from ._process import ProcessGroup, describe_exit

__all__ = ["LocalExecutor"]

_CANCEL, _TIMEOUT, _SHUTDOWN = "cancel", "timeout", "shutdown"


@dataclass
class _Run:
    """One admitted job: why it should stop, and the event that wakes its thread."""

    wake: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None
    thread: threading.Thread | None = None


class LocalExecutor(Executor):
    """Runs each job's ``command`` through ``/bin/sh -c`` in a new process group.

    * **Queue**: jobs wait in QUEUED, first in first out, until their cpu, memory
      and gpu fit in what the running jobs leave free.
    * **Directory**: each job gets ``<data_dir>/jobs/<job_id>`` with its artifacts
      placed in it (PREPARING); a failure there ends the job as DATA_DEPENDENCY_ERROR.
      It is the working directory unless the job names a ``working_dir`` (a relative
      one is taken inside the job's directory); a ``working_dir`` that does not
      exist ends the job as FAILED.
    * **Environment**: ``PATH``, ``HOME``, ``LANG``, ``TMPDIR`` from this process
      (nothing else of it), plus ``DESAM_JOB_ID`` and ``DESAM_DATA_DIR`` (the job's
      directory), with the job's ``env`` merged over them.
    * **Logs**: stdout and stderr lines are appended to the job's log as they come.
    * **End**: exit 0 is SUCCEEDED; otherwise the command is re-run up to
      ``retries`` more times (a separator line in the log marks each retry) and
      then the job is FAILED with ``error_message`` ``"exit code N"``.
    * **Timeout** counts from the job's start over all its attempts; when it passes,
      the whole process group gets SIGTERM, then SIGKILL after ``kill_grace``
      seconds, and the job is TIMEOUT (not retried). Cancel stops the group the
      same way. Whatever a command leaves running in its group when it exits is killed.

    Args:
        kill_grace: Seconds between SIGTERM and SIGKILL when a job is stopped.
        executor_id: What jobs report as ``executor_id``; default ``"local-<hostname>"``.
    """

    def __init__(self, *, kill_grace: float = 1.0, executor_id: str | None = None) -> None:
        self.kill_grace = kill_grace
        self.executor_id = executor_id or f"local-{socket.gethostname()}"
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._queue: CapacityQueue | None = None
        self._closed = False

    def attach(self, host: ExecutorHost) -> None:
        """Connect to the scheduler and size the queue to its capacity."""
        super().attach(host)
        self._queue = CapacityQueue(host.capacity)

    def submit(self, job_id: str) -> None:
        """Queue the job and start whatever fits."""
        self._capacity().enqueue(job_id, self.host.job(job_id).resources)
        self._admit()

    def cancel(self, job_id: str) -> None:
        """Take the job off the queue, or stop its process group (its thread then frees its share)."""
        if self._capacity().dequeue(job_id):
            self._admit()
        else:
            self._stop(job_id, _CANCEL)

    def shutdown(self) -> None:
        """Stop every running job (they end as FAILED) and join all threads."""
        with self._lock:
            self._closed = True
            runs = list(self._runs)
        for job_id in runs:
            self._stop(job_id, _SHUTDOWN)
        with self._lock:
            threads = [run.thread for run in self._runs.values() if run.thread is not None]
        for thread in threads:
            thread.join()

    # -- inside ------------------------------------------------------------------------------------

    def _capacity(self) -> CapacityQueue:
        if self._queue is None:
            raise RuntimeError("LocalExecutor is not attached; pass it to FakeScheduler(executor=...)")
        return self._queue

    def _stop(self, job_id: str, reason: str) -> None:
        with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                return
            if run.stop_reason is None:
                run.stop_reason = reason
        run.wake.set()

    def _admit(self) -> None:
        with self._lock:
            if self._closed:
                return
            for job_id in self._capacity().admit():
                run = _Run()
                run.thread = threading.Thread(target=self._run, args=(job_id, run), name=f"desam-{job_id}")
                self._runs[job_id] = run
                run.thread.start()

    def _run(self, job_id: str, run: _Run) -> None:
        try:
            self._execute(job_id, run)
        except Exception as exc:  # a bug here must not leave the job running forever
            self.host.set_status(job_id, pb.FAILED, error_message=f"the local executor failed: {exc!r}")
        finally:
            self._capacity().release(job_id)
            with self._lock:
                if not self._closed:
                    del self._runs[job_id]
            self._admit()

    def _execute(self, job_id: str, run: _Run) -> None:
        host = self.host
        if run.stop_reason or not host.set_status(job_id, pb.PREPARING, executor_id=self.executor_id):
            return
        try:
            directory = host.prepare_dir(job_id)
        except StagingError as exc:
            host.set_status(job_id, pb.DATA_DEPENDENCY_ERROR, error_message=str(exc))
            return
        job = host.job(job_id)
        cwd = directory / job.working_dir if job.working_dir else directory
        if not cwd.is_dir():
            host.set_status(
                job_id,
                pb.FAILED,
                error_message=f"working_dir {job.working_dir!r} does not exist or is not a directory",
            )
            return
        env = _base_env() | {"DESAM_JOB_ID": job_id, "DESAM_DATA_DIR": str(directory)} | dict(job.env)
        if run.stop_reason or not host.set_status(job_id, pb.RUNNING):
            return
        status, message = self._attempts(job, run, cwd, env)
        host.set_status(job_id, status, error_message=message)

    def _attempts(self, job: pb.Job, run: _Run, cwd: Path, env: Mapping[str, str]) -> tuple[int, str | None]:
        deadline = time.monotonic() + job.timeout if job.timeout > 0 else None
        failure = ""
        for attempt in range(job.retries + 1):
            if attempt:
                self.host.log(job.job_id, [f"--- retry {attempt} of {job.retries} after {failure} ---"])
            reason = run.stop_reason
            if reason is None:
                try:
                    group = ProcessGroup(
                        job.command,
                        env=env,
                        cwd=cwd,
                        on_line=lambda line: self.host.log(job.job_id, [line]),
                        on_exit=run.wake.set,
                    )
                except OSError as exc:
                    return pb.FAILED, f"could not start the command: {exc}"
                reason = self._wait(group, run, deadline)
                group.join()
            if reason == _TIMEOUT:
                return pb.TIMEOUT, f"ran past its timeout of {job.timeout} s"
            if reason == _CANCEL:
                return pb.CANCELLED, None
            if reason == _SHUTDOWN:
                return pb.FAILED, "the scheduler stopped while the job was running"
            assert group.returncode is not None
            if group.returncode == 0:
                return pb.SUCCEEDED, None
            failure = describe_exit(group.returncode)
        return pb.FAILED, failure

    def _wait(self, group: ProcessGroup, run: _Run, deadline: float | None) -> str | None:
        """Wait for the command to exit, or stop it on cancel, shutdown or timeout; return why it stopped."""
        while not group.exited.is_set():
            with self._lock:
                if run.stop_reason is None and deadline is not None and time.monotonic() >= deadline:
                    run.stop_reason = _TIMEOUT
                reason = run.stop_reason
            if reason is not None:
                group.signal_group(signal.SIGTERM)
                if not group.exited.wait(self.kill_grace):
                    group.signal_group(signal.SIGKILL)
                    group.exited.wait()
                return reason
            run.wake.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
            run.wake.clear()
        return run.stop_reason


def _base_env() -> dict[str, str]:
    """The little of this process's environment a job inherits."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": tempfile.gettempdir(),
    }
