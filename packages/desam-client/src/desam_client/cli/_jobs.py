"""The job commands of ``desam``: submit, status, info, list, cancel, logs, wait."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Sequence

from desam_client.cli._output import JOB_COLUMNS, Output, job_row, status_text, when
from desam_client.cli._parser import UsageError
from desam_client.cli._progress import Progress
from desam_client.client import DeSAMClient
from desam_client.exceptions import WaitTimeoutError
from desam_client.models import Job, JobStatus

__all__ = ["COMMANDS"]

Command = Callable[[DeSAMClient, argparse.Namespace, Output], int]


def _shell_command(argv: Sequence[str]) -> str:
    if not argv:
        raise UsageError("submit: give the command after '--', e.g. desam submit -- echo hello")
    return argv[0] if len(argv) == 1 else shlex.join(argv)


def _default_name(argv: Sequence[str]) -> str:
    words = argv[0].split() if len(argv) == 1 else list(argv)
    first = words[0] if words else "job"
    return first.rsplit("/", 1)[-1][:64] or "job"


def submit(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Submit a job and print its id (``--wait``: then wait and print how it ended)."""
    command = _shell_command(args.argv)
    job_id = client.submit_job(
        name=args.name or _default_name(args.argv),
        command=command,
        cpu=args.cpu,
        memory_mb=args.memory_mb,
        gpu=args.gpu,
        disk_mb=args.disk_mb,
        working_dir=args.working_dir,
        env=dict(args.env),
        timeout=args.job_timeout,
        retries=args.retries,
        artifacts=args.artifact or None,
        labels=dict(args.label),
        description=args.description,
        metadata=dict(args.metadata),
        user_id=args.user_id,
    )
    if not args.wait:
        if out.json:
            out.data({"job_id": job_id})
        else:
            out.line(job_id)
        return 0
    if not out.json:
        out.line(job_id)
    return _wait_and_report(client, [job_id], out, timeout=None, poll_interval=None, show_ids=out.json)


def status(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Print a job's status."""
    job = client.get_info(args.job_id)
    if out.json:
        out.data({"job_id": job.job_id, "status": job.status, "status_code": job.status_code})
    else:
        out.line(status_text(job))
    return 0


def info(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Print every field of a job."""
    job = client.get_info(args.job_id)
    if out.json:
        out.data(job)
        return 0
    res = job.resources
    out.pairs(
        [
            ("job_id", job.job_id),
            ("name", job.name),
            ("status", status_text(job)),
            ("user_id", job.user_id),
            ("command", job.command),
            ("working_dir", job.working_dir),
            ("resources", f"cpu={res.cpu} memory_mb={res.memory_mb} gpu={res.gpu} disk_mb={res.disk_mb}"),
            ("timeout", job.timeout),
            ("retries", job.retries),
            ("submit_time", when(job.submit_time)),
            ("start_time", when(job.start_time)),
            ("finish_time", when(job.finish_time)),
            ("executor_id", job.executor_id),
            ("error_message", job.error_message),
            ("description", job.description),
            ("labels", _mapping(job.labels)),
            ("env", _mapping(job.env)),
            ("metadata", _mapping(job.metadata)),
            ("artifacts", ", ".join(job.artifacts) if job.artifacts else None),
        ]
    )
    return 0


def _mapping(values: dict[str, str] | None) -> str | None:
    return " ".join(f"{k}={v}" for k, v in sorted(values.items())) if values else None


def list_jobs(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Print one page of jobs, or every page with ``--all``."""
    labels = dict(args.label)
    status_filter = args.status.upper() if args.status else None
    jobs: list[Job]
    if args.all:
        jobs = list(
            client.iter_jobs(
                user_id=args.user_id,
                status=status_filter,
                labels=labels or None,
                page_size=args.limit if args.limit > 0 else 100,
            )
        )
    else:
        page = client.list_jobs(
            user_id=args.user_id, status=status_filter, limit=args.limit, offset=args.offset
        )
        jobs = [job for job in page if all((job.labels or {}).get(k) == v for k, v in labels.items())]
    if out.json:
        out.data(jobs)
    else:
        out.table(JOB_COLUMNS, (job_row(job) for job in jobs))
    return 0


def cancel(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Cancel jobs; exit 1 when any could not be cancelled."""
    results = client.batch_cancel(args.job_ids)
    if out.json:
        out.data(
            [
                {"job_id": job_id, "cancelled": ok, "message": results.messages.get(job_id)}
                for job_id, ok in results.items()
            ]
        )
    else:
        for job_id, ok in results.items():
            reason = results.messages.get(job_id)
            out.line(
                f"{job_id}: cancelled"
                if ok
                else f"{job_id}: not cancelled" + (f" ({reason})" if reason else "")
            )
    return 0 if all(results.values()) else 1


def logs(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Print a job's log; ``-f`` keeps printing until the job ends."""
    if args.max_lines < 1:
        raise UsageError("logs: --max-lines must be at least 1")
    if args.follow:
        for line in client.follow_logs(
            args.job_id,
            from_line=args.from_line,
            poll_interval=args.poll_interval,
            batch_lines=args.max_lines,
        ):
            if out.json:
                out.json_line({"job_id": args.job_id, "line": line})
            else:
                out.line(line)
        return 0
    text = client.get_logs(args.job_id, from_line=args.from_line, max_lines=args.max_lines)
    if out.json:
        out.data({"job_id": args.job_id, "from_line": args.from_line, "lines": text.splitlines()})
    elif text:
        out.raw(text if text.endswith("\n") else text + "\n")
    return 0


def wait(client: DeSAMClient, args: argparse.Namespace, out: Output) -> int:
    """Wait for jobs; print how each ended; exit 0 only if every one succeeded."""
    return _wait_and_report(
        client, args.job_ids, out, timeout=args.wait_timeout, poll_interval=args.poll_interval, show_ids=True
    )


def _wait_and_report(
    client: DeSAMClient,
    job_ids: Sequence[str],
    out: Output,
    *,
    timeout: float | None,
    poll_interval: float | None,
    show_ids: bool,
) -> int:
    wanted = list(dict.fromkeys(job_ids))
    progress = Progress()
    done: dict[str, Job] = {}
    progress.show(f"waiting for {len(wanted)} job(s)...", force=True)
    try:
        for job in client.as_completed(wanted, timeout=timeout, poll_interval=poll_interval):
            done[job.job_id] = job
            progress.show(
                f"{len(done)}/{len(wanted)} done; last: {job.job_id} {status_text(job)}", force=True
            )
    except WaitTimeoutError:
        progress.done()
        finished = [done[i] for i in wanted if i in done]
        if finished:  # what did finish is still worth showing; an empty table is not
            _report(finished, out, show_ids)
        raise
    progress.done()
    jobs = [done[i] for i in wanted]
    _report(jobs, out, show_ids)
    return 0 if all(job.status == JobStatus.SUCCEEDED for job in jobs) else 1


def _report(jobs: list[Job], out: Output, show_ids: bool) -> None:
    if out.json:
        out.data(
            [
                {
                    "job_id": job.job_id,
                    "status": job.status,
                    "status_code": job.status_code,
                    "error_message": job.error_message,
                    "finish_time": job.finish_time,
                }
                for job in jobs
            ]
        )
        return
    if not show_ids:
        for job in jobs:
            out.line(status_text(job) + (f": {job.error_message}" if job.error_message else ""))
        return
    out.table(
        ("JOB ID", "STATUS", "FINISHED", "ERROR"),
        ([job.job_id, status_text(job), when(job.finish_time), job.error_message] for job in jobs),
    )


COMMANDS: dict[str, Command] = {
    "submit": submit,
    "status": status,
    "info": info,
    "list": list_jobs,
    "cancel": cancel,
    "logs": logs,
    "wait": wait,
}
