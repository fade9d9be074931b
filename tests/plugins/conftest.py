"""Fixtures for the plugin tests: a metadata tap in front of the fake, spans in memory, captured logs.

The fake scheduler does not record gRPC invocation metadata, so :class:`MetadataTap`
(a small gRPC proxy) sits between a client and the fake: it records every call's
method and metadata, forwards the call unchanged, and passes the fake's answer or
status back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from desam_testing import FakeScheduler

#: Metadata gRPC itself adds; not forwarded by the tap.
_TRANSPORT_KEYS = ("user-agent", "grpc-", ":")


class MetadataTap:
    """A gRPC proxy that records each call's method and invocation metadata."""

    def __init__(self, upstream: str) -> None:
        self._channel = grpc.insecure_channel(upstream)
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, str]]] = []
        self._server = grpc.server(
            ThreadPoolExecutor(8, thread_name_prefix="metadata-tap"), handlers=[_TapHandler(self)]
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def record(self, method: str, metadata: Any) -> None:
        with self._lock:
            self._calls.append((method.rsplit("/", 1)[-1], {item.key: item.value for item in metadata}))

    def metadata(self, rpc: str) -> list[dict[str, str]]:
        """The metadata of every call of ``rpc`` that arrived, oldest first."""
        with self._lock:
            return [md for name, md in self._calls if name == rpc]

    def forward(self, method: str, request: Any, context: grpc.ServicerContext, streaming: bool) -> bytes:
        metadata = [(k, v) for k, v in context.invocation_metadata() if not k.startswith(_TRANSPORT_KEYS)]
        make = self._channel.stream_unary if streaming else self._channel.unary_unary
        try:
            reply: bytes = make(method)(request, timeout=context.time_remaining(), metadata=metadata)
        except grpc.RpcError as error:
            context.abort(error.code(), error.details() or "")
        return reply

    def close(self) -> None:
        self._server.stop(None).wait()
        self._channel.close()


class _TapHandler(grpc.GenericRpcHandler):
    def __init__(self, tap: MetadataTap) -> None:
        self._tap = tap

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any]:
        method = str(handler_call_details.method)
        self._tap.record(method, handler_call_details.invocation_metadata)
        if method.endswith("/UploadFile"):
            return grpc.stream_unary_rpc_method_handler(
                lambda requests, context: self._tap.forward(method, requests, context, True)
            )
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self._tap.forward(method, request, context, False)
        )


@pytest.fixture
def tap(fake: FakeScheduler) -> Iterator[MetadataTap]:
    """A metadata-recording proxy in front of ``fake``; point a client at ``port=tap.port``."""
    proxy = MetadataTap(fake.address)
    yield proxy
    proxy.close()


@dataclass
class Tracing:
    """An OpenTelemetry SDK provider whose spans end up in memory."""

    provider: TracerProvider
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)

    def spans(self, name_prefix: str = "desam.client.ClientService/") -> list[ReadableSpan]:
        """The finished spans whose name starts with ``name_prefix``, in the order they ended."""
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(name_prefix)]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    """A private TracerProvider (the global one is never set) with an in-memory exporter."""
    result = Tracing(TracerProvider())
    result.provider.add_span_processor(SimpleSpanProcessor(result.exporter))
    yield result
    result.provider.shutdown()


@pytest.fixture
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """structlog events as dicts, at every level; structlog is left as unconfigured as it was."""
    was_configured = structlog.is_configured()
    with structlog.testing.capture_logs() as logs:
        yield logs
    if not was_configured:
        structlog.reset_defaults()


@pytest.fixture
def events(captured_logs: list[dict[str, Any]]) -> Callable[[str], list[dict[str, Any]]]:
    """``events("desam.call")``: the captured events of that name."""
    return lambda name: [e for e in captured_logs if e.get("event") == name]
