"""The built-in OpenTelemetry plugin: one CLIENT span per logical call, for both clients.

Spans go to a private SDK ``TracerProvider`` given to the client
(``tracer_provider=``); the global provider is never set by these tests.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from desam_client import CallInfo, DeSAMConnectionError, DeSAMError, JobNotFoundError, RetryPolicy, hookimpl
from desam_client.plugins.tracing import span_for
from desam_testing import FakeScheduler

FAST = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.02)


def _traceparent(span: Any) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def test_one_client_span_per_call_with_the_rpc_conventions(
    make_client: Any, fake: FakeScheduler, tracing: Any
) -> None:
    client = make_client(tracer_provider=tracing.provider)
    job_id = client.submit_job(name="x", command="true")
    tracing.exporter.clear()
    client.get_info(job_id)
    (span,) = tracing.spans()
    assert span.name == "desam.client.ClientService/QueryJob"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes) == {
        "rpc.system": "grpc",
        "rpc.service": "desam.client.ClientService",
        "rpc.method": "QueryJob",
        "server.address": fake.host,
        "server.port": fake.port,
        "desam.job_id": job_id,
        "rpc.grpc.status_code": 0,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None
    assert span.instrumentation_scope.name == "desam_client"


def test_a_refused_call_is_an_error_span_with_the_exception(make_client: Any, tracing: Any) -> None:
    client = make_client(tracer_provider=tracing.provider)
    with pytest.raises(JobNotFoundError) as info:
        client.get_info("job-missing")
    (span,) = tracing.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == str(info.value)
    assert span.attributes["error.type"] == "JOB_NOT_FOUND"
    assert span.attributes["desam.error_code"] == "JOB_NOT_FOUND"
    assert span.attributes["rpc.grpc.status_code"] == 0  # the scheduler answered; the reply says no
    (exception,) = [e for e in span.events if e.name == "exception"]
    assert exception.attributes["exception.type"].endswith("JobNotFoundError")
    assert exception.attributes["exception.message"] == str(info.value)


def test_a_transport_failure_carries_its_grpc_status(
    make_client: Any, fake: FakeScheduler, tracing: Any
) -> None:
    client = make_client(tracer_provider=tracing.provider, retry=None)
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    with pytest.raises(DeSAMConnectionError):
        client.get_info("job-1")
    (span,) = tracing.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert span.attributes["error.type"] == "UNAVAILABLE"


def test_retries_are_events_of_the_one_span(make_client: Any, fake: FakeScheduler, tracing: Any) -> None:
    client = make_client(tracer_provider=tracing.provider, retry=FAST)
    job_id = client.submit_job(name="x", command="true")
    tracing.exporter.clear()
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=2)
    client.get_info(job_id)
    (span,) = tracing.spans()
    retries = [e for e in span.events if e.name == "desam.retry"]
    assert [e.attributes["desam.attempt"] for e in retries] == [1, 2]
    assert all(e.attributes["error.type"] == "UNAVAILABLE" for e in retries)
    assert all(e.attributes["desam.retry_delay_s"] >= 0 for e in retries)
    assert span.attributes["desam.attempts"] == 3
    assert span.status.status_code is StatusCode.UNSET


def test_the_traceparent_reaching_the_server_is_the_span(make_client: Any, tap: Any, tracing: Any) -> None:
    client = make_client(port=tap.port, tracer_provider=tracing.provider)
    client.list_jobs()
    (span,) = tracing.spans()
    (metadata,) = tap.metadata("ListJobs")
    assert metadata["traceparent"] == _traceparent(span)
    assert span.get_span_context().trace_flags.sampled


def test_the_callers_active_span_is_the_parent(make_client: Any, tap: Any, tracing: Any) -> None:
    client = make_client(port=tap.port, tracer_provider=tracing.provider)
    tracer = tracing.provider.get_tracer("the-application")
    with tracer.start_as_current_span("handle-request") as outer:
        client.list_jobs()
    (span,) = tracing.spans()
    assert span.parent is not None
    assert span.parent.span_id == outer.get_span_context().span_id
    assert span.context.trace_id == outer.get_span_context().trace_id
    assert tap.metadata("ListJobs")[0]["traceparent"] == _traceparent(span)


class SpanPeek:
    """Keeps the span the tracing plugin opened for each call (read before it ends)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    @hookimpl
    def desam_call_end(self, call: CallInfo, error: DeSAMError | None) -> None:
        self.spans.append(span_for(call))


def _assert_does_next_to_nothing(make_client: Any, tap: Any, **kwargs: Any) -> None:
    peek = SpanPeek()
    client = make_client(port=tap.port, plugins=[peek], **kwargs)
    client.list_jobs()
    with pytest.raises(JobNotFoundError):
        client.get_info("job-missing")
    assert len(peek.spans) == 2
    for span in peek.spans:
        # With no SDK installed at all the plugin makes no span; with a no-op provider it
        # gets a non-recording one. Either way nothing is recorded.
        if span is not None:
            assert not span.is_recording()
            assert not span.get_span_context().is_valid
    for metadata in tap.metadata("ListJobs") + tap.metadata("QueryJob"):
        assert "traceparent" not in metadata
        assert "tracestate" not in metadata


def test_without_an_sdk_spans_are_non_recording_and_nothing_is_sent(make_client: Any, tap: Any) -> None:
    _assert_does_next_to_nothing(make_client, tap, tracer_provider=trace.NoOpTracerProvider())


def test_with_the_unset_global_provider_nothing_is_recorded_or_sent(make_client: Any, tap: Any) -> None:
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.skip("something in this process set the global tracer provider")
    peek = SpanPeek()
    _assert_does_next_to_nothing(make_client, tap)
    client = make_client(port=tap.port, plugins=[peek])
    client.list_jobs()
    assert peek.spans == [None]  # not even a non-recording span is made while no SDK is installed


def test_span_for_is_none_outside_a_call() -> None:
    call = CallInfo(rpc="QueryJob", method="/x/QueryJob", target="t", server_address="h", server_port=1)
    assert span_for(call) is None
