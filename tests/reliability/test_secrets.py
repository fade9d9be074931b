"""C-14 end to end: the API key appears nowhere, whatever path a call takes.

One sweep per client over a workflow that meets every kind of failure (an
INVALID_API_KEY reply, UNAVAILABLE that is retried, a lost reply that sends the
submission through the probe, gRPC statuses and error replies whose message
echoes the key, a deadline, a wait timeout, a closed client), with structlog
captured, OpenTelemetry spans recorded in memory, stdlib logging captured at
DEBUG and a plugin that sees every hook. Then the ``desam`` command line, as a
subprocess with ``DESAM_API_KEY`` set and ``--debug`` on, under the same faults.
The focused checks of logs, spans and the CLI live in tests/plugins/ and tests/cli/.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs

from desam_client import (
    AuthenticationError,
    ClientClosedError,
    DeadlineExceededError,
    DeSAMConnectionError,
    DeSAMError,
    PermissionDeniedError,
    RetryPolicy,
    SubmissionUnknownError,
    WaitTimeoutError,
    hookimpl,
)
from desam_testing import FakeScheduler

CANARY = "sk-canary-Sup3rS3cret"
SECRET = "Sup3rS3cret"
POLICY = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, total_timeout=30)


@pytest.fixture
def fake() -> Iterator[FakeScheduler]:
    """A scheduler that knows the canary key (so that calls also succeed with it)."""
    with FakeScheduler(api_keys={CANARY: "alice", "sk-other": "bob"}) as scheduler:
        yield scheduler


class HookSpy:
    """Keeps the repr of everything a plugin is handed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def desam_call_start(self, call: Any) -> None:
        self.seen.append(repr(call))

    @hookimpl
    def desam_call_retry(self, call: Any, error: Any, delay: float) -> None:
        self.seen += [repr(call), repr(error), str(error)]

    @hookimpl
    def desam_call_end(self, call: Any, error: Any) -> None:
        self.seen += [repr(call), repr(error), str(error)]


def _error_texts(error: BaseException) -> list[str]:
    """Everything a person or an error tracker could see of an exception, chained ones included."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        texts += [str(item), repr(item), repr(item.args), repr(vars(item))]
        texts.append("".join(traceback.format_exception(type(item), item, item.__traceback__)))
        todo += [item.__cause__, item.__context__]
    return texts


def _expect(errors: list[DeSAMError], kind: type[DeSAMError], call: Callable[[], Any]) -> DeSAMError:
    with pytest.raises(kind) as info:
        call()
    errors.append(info.value)
    return info.value


def test_c14_the_key_appears_nowhere(
    make_client: Any, fake: FakeScheduler, caplog: pytest.LogCaptureFixture, report: Callable[..., None]
) -> None:
    caplog.set_level(logging.DEBUG)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spy = HookSpy()
    client = make_client(api_key=CANARY, retry=POLICY, plugins=[spy], tracer_provider=provider)
    errors: list[DeSAMError] = []
    echo = f"the scheduler echoes api_key={CANARY}"

    with capture_logs() as events:
        # Retried UNAVAILABLE, then a lost reply: the probe finds the job.
        fake.faults.add("SubmitJob", status=grpc.StatusCode.UNAVAILABLE, message=echo, times=1)
        fake.faults.add("SubmitJob", lose_reply=True, message=echo, times=1)
        job_id = client.submit_job(name="canary", command="echo hi", env={"TOKEN": "not the key"})
        assert len(fake.jobs) == 1

        fake.faults.add("QueryJob", error_code="INVALID_API_KEY", message=echo, times=1)
        _expect(errors, AuthenticationError, lambda: client.get_info(job_id))
        fake.faults.add("QueryJob", status=grpc.StatusCode.INTERNAL, message=echo, times=1)
        _expect(errors, DeSAMError, lambda: client.get_status(job_id))
        fake.faults.add("ListJobs", status=grpc.StatusCode.UNAUTHENTICATED, message=echo, times=1)
        _expect(errors, AuthenticationError, lambda: client.list_jobs())
        fake.faults.add("CancelJob", error_code="PERMISSION_DENIED", message=echo, times=1)
        _expect(errors, PermissionDeniedError, lambda: client.cancel(job_id))
        unavailable = fake.faults.add("GetJobLogs", status=grpc.StatusCode.UNAVAILABLE, message=echo)
        _expect(errors, DeSAMConnectionError, lambda: client.get_logs(job_id))
        unavailable.remove()
        lost = fake.faults.add("SubmitJob", lose_reply=True, message=echo)
        unknown = _expect(
            errors, SubmissionUnknownError, lambda: client.submit_job(name="x", command="y", retry=None)
        )
        lost.remove()
        assert client.find_submission(unknown.submission_id) is not None  # type: ignore[attr-defined]
        fake.faults.add("QueryJob", latency=2.0, times=1)
        _expect(errors, DeadlineExceededError, lambda: client.get_info(job_id, call_timeout=0.2, retry=None))
        _expect(errors, WaitTimeoutError, lambda: client.wait(job_id, timeout=0.05, poll_interval=0.01))
        fake.faults.add("BatchCancelJobs", status=grpc.StatusCode.ABORTED, message=echo, times=1)
        assert client.batch_cancel([job_id, "job-unknown"])[job_id] is True
        assert [job.job_id for job in client.batch_get_info([job_id])] == [job_id]
        texts = [repr(client), str(client), repr(client.config), repr(client.config.retry)]
        texts += [repr(plugin) for plugin in client.plugin_manager.get_plugins()]
        client.close()
        _expect(errors, ClientClosedError, lambda: client.get_info(job_id))

    spans = exporter.get_finished_spans()
    for error in errors:
        texts += _error_texts(error)
    texts += [repr(event) for event in events]
    texts += [span.to_json() for span in spans]
    texts += spy.seen
    texts.append(caplog.text)
    leaks = [text for text in texts if SECRET in text]
    assert leaks == [], leaks[0]

    # The sweep saw what it set out to see.
    assert any(event["event"] == "desam.retry" for event in events)
    assert any(event.get("outcome") == "error" for event in events)
    assert any(e.name == "desam.retry" for span in spans for e in span.events)
    assert any(e.name == "exception" for span in spans for e in span.events)
    assert any("echoes api_key=***" in str(error) for error in errors)
    report(
        errors=len(errors),
        error_types=sorted({type(e).__name__ for e in errors}),
        log_events=len(events),
        spans=len(spans),
        hook_reprs=len(spy.seen),
        texts_checked=len(texts),
    )


# -- the desam command line --------------------------------------------------------------------

_HAS_CLI = importlib.util.find_spec("desam_client.cli") is not None


@pytest.mark.slow
@pytest.mark.skipif(not _HAS_CLI, reason="desam_client.cli is not there")
def test_c14_the_cli_never_prints_the_key(
    fake: FakeScheduler, tmp_path: Path, report: Callable[..., None]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESAM_")}
    env.update(
        DESAM_HOST=fake.host,
        DESAM_PORT=str(fake.port),
        DESAM_API_KEY=CANARY,
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / ".config"),
        DESAM_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONUNBUFFERED="1",
    )
    echo = f"the scheduler echoes {CANARY}"
    outputs: list[str] = []

    def desam(*args: str, code: int) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "desam_client.cli", "--debug", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == code, (args, done.returncode, done.stderr[-2000:])
        return done.stdout

    fake.faults.add("SubmitJob", status=grpc.StatusCode.UNAVAILABLE, message=echo, times=1)
    fake.faults.add("SubmitJob", lose_reply=True, message=echo, times=1)
    job_id = desam("submit", "--name", "cli-canary", "--", "echo", "hi", code=0).strip()
    assert [job.job_id for job in fake.jobs] == [job_id]

    fake.faults.add("QueryJob", status=grpc.StatusCode.INTERNAL, message=echo, times=1)
    desam("status", job_id, code=1)
    fake.faults.add("QueryJob", error_code="INVALID_API_KEY", message=echo, times=1)
    desam("info", job_id, code=1)
    desam("-o", "json", "info", job_id, code=0)
    fake.faults.add("ListJobs", status=grpc.StatusCode.UNAUTHENTICATED, message=echo, times=1)
    desam("list", code=1)
    fake.faults.add("GetJobLogs", status=grpc.StatusCode.UNAVAILABLE, message=echo, times=1)
    desam("logs", job_id, code=0)
    desam("wait", job_id, "--timeout", "0.2", "--poll-interval", "0.05", code=1)
    desam("cancel", job_id, code=0)

    text = "\n".join(outputs)
    assert "desam.call" in text and "desam.retry" in text  # --debug showed the call events
    leaks = [output for output in outputs if SECRET in output]
    assert leaks == [], leaks[0][-2000:]
    report(cli_runs=len(outputs), output_chars=len(text))
