"""Built-in plugin: one OpenTelemetry span per call, following the RPC client conventions.

Uses ``opentelemetry-api`` only. With no SDK configured the API hands out
non-recording spans: the plugin then sets no attributes, adds no events, and
sends no ``traceparent`` (unless the caller's context carries a valid remote
span context, which is passed on unchanged, as OpenTelemetry prescribes), so
it costs next to nothing.

Give the client a provider with ``DeSAMClient(..., tracer_provider=provider)``;
by default the global one (``opentelemetry.trace.set_tracer_provider``) is used.
Other plugins can reach the call's span with :func:`span_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from desam_client._pipeline.call import CallInfo
from desam_client.exceptions import DeSAMError
from desam_client.plugins import hookimpl
from desam_proto import SERVICE_NAME

_SPAN = "desam.otel.span"


def span_for(call: CallInfo) -> trace.Span | None:
    """The OpenTelemetry span of a call in progress (between start and end), or None.

    For plugins that add their own attributes or events to the call's span.
    """
    span = call.state.get(_SPAN)
    return span if isinstance(span, trace.Span) else None


class OpenTelemetryTracing:
    """Opens a CLIENT span at call start, injects W3C trace context, closes it at call end.

    Span name ``desam.client.ClientService/<Method>``; attributes ``rpc.system``,
    ``rpc.service``, ``rpc.method``, ``server.address``, ``server.port``,
    ``rpc.grpc.status_code`` and ``desam.job_id``; each retry is a span event
    ``desam.retry``; a failure sets ERROR status, ``error.type`` (the scheduler's
    error code, else the gRPC status name, else the exception class) and records
    the exception. The span's parent is the caller's current span.

    Args:
        tracer_provider: The provider to take the tracer from; None: the global one.
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        from desam_client import __version__

        self._tracer = trace.get_tracer("desam_client", __version__, tracer_provider=tracer_provider)
        self._own_provider = tracer_provider is not None

    @hookimpl(tryfirst=True)
    def desam_call_start(self, call: CallInfo) -> None:
        """Open the span (a child of the caller's current span)."""
        if not self._own_provider and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return  # no SDK installed yet: a span would record nothing, so none is made
        span = self._tracer.start_span(f"{SERVICE_NAME}/{call.rpc}", kind=SpanKind.CLIENT)
        call.state[_SPAN] = span
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {
            "rpc.system": "grpc",
            "rpc.service": SERVICE_NAME,
            "rpc.method": call.rpc,
            "server.address": call.server_address,
        }
        if call.server_port is not None:
            attributes["server.port"] = call.server_port
        if call.job_id:
            attributes["desam.job_id"] = call.job_id
        span.set_attributes(attributes)

    @hookimpl
    def desam_call_metadata(self, call: CallInfo) -> Iterable[tuple[str, str]] | None:
        """W3C ``traceparent`` (and ``tracestate``) of the call's span."""
        span = span_for(call)
        if span is None or not span.get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        return list(carrier.items())

    @hookimpl
    def desam_call_retry(self, call: CallInfo, error: DeSAMError, delay: float) -> None:
        """A span event per retry."""
        span = span_for(call)
        if span is not None and span.is_recording():
            span.add_event(
                "desam.retry",
                {
                    "desam.attempt": call.attempt,
                    "desam.retry_delay_s": delay,
                    "error.type": _error_type(error),
                },
            )

    @hookimpl(trylast=True)
    def desam_call_end(self, call: CallInfo, error: DeSAMError | None) -> None:
        """Status, exception and end time."""
        span = span_for(call)
        call.state.pop(_SPAN, None)
        if span is None:
            return
        if span.is_recording():
            code = _status_code(error)
            if code is not None:
                span.set_attribute("rpc.grpc.status_code", code)
            if call.attempt > 1:
                span.set_attribute("desam.attempts", call.attempt)
            if error is not None:
                span.set_attribute("error.type", _error_type(error))
                if error.error_code:
                    span.set_attribute("desam.error_code", error.error_code)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()


def _status_code(error: DeSAMError | None) -> int | None:
    """The gRPC status the call ended with: OK for any reply (an error reply too), None if there was none."""
    if error is None or (error.grpc_code is None and error.error_code):
        return 0
    if error.grpc_code is not None:
        return int(error.grpc_code.value[0])
    return None


def _error_type(error: DeSAMError) -> str:
    if error.error_code:
        return error.error_code
    if error.grpc_code is not None:
        return error.grpc_code.name
    return type(error).__name__
