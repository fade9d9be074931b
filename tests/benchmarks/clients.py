"""The clients under test, each next to the raw generated stub it is compared with.

Variants of a DeSAM client:

* ``default``: as a user gets it (``load_entrypoint_plugins=False`` so that no
  plugin installed elsewhere in the environment takes part), with the built-in
  plugins on and no OpenTelemetry SDK configured.
* ``otel``: the same, given an SDK ``TracerProvider`` (``tracer_provider=``) whose
  spans go to an in-memory exporter through a ``SimpleSpanProcessor`` (cleared between
  rounds), so every call records a span and sends a ``traceparent``.
* ``bare``: the core alone: the tracing and logging built-ins are unregistered
  through ``client.plugin_manager.unregister``. API-key auth stays; the retry and
  transport built-ins stay too but do nothing on a call that succeeds.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import grpc
import grpc.aio

from benchmarks.serve import API_KEY
from desam_client import AsyncDeSAMClient, DeSAMClient
from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pb_grpc

VARIANTS = ("default", "otel", "bare")
TRACING = "desam.builtin.OpenTelemetryTracing"
LOGGING = "desam.builtin.StructlogEvents"
TIMEOUT = 30.0  # the clients' default per-call deadline; the raw stubs get the same

_EXPORTER: Any = None


def span_exporter() -> Any:
    """The in-memory exporter every ``otel`` client's provider writes to (created once)."""
    global _EXPORTER
    if _EXPORTER is None:
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        _EXPORTER = InMemorySpanExporter()
    return _EXPORTER


def _provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter()))
    return provider


def _make(cls: Any, address: str, variant: str) -> Any:
    if variant not in VARIANTS:
        raise ValueError(variant)
    kwargs: dict[str, Any] = {"target": address, "api_key": API_KEY, "load_entrypoint_plugins": False}
    if variant == "otel" and "tracer_provider" in inspect.signature(cls).parameters:
        kwargs["tracer_provider"] = _provider()
    client = cls(**kwargs)
    pm = client.plugin_manager
    if variant == "otel" and "tracer_provider" not in kwargs:  # a client without the argument
        from desam_client.plugins.tracing import OpenTelemetryTracing

        pm.unregister(name=TRACING)
        pm.register(OpenTelemetryTracing(tracer_provider=_provider()), name=TRACING)
    elif variant == "bare":
        pm.unregister(name=TRACING)
        pm.unregister(name=LOGGING)
    return client


def sync_client(address: str, variant: str = "default") -> DeSAMClient:
    return _make(DeSAMClient, address, variant)  # type: ignore[no-any-return]


def async_client(address: str, variant: str = "default") -> AsyncDeSAMClient:
    return _make(AsyncDeSAMClient, address, variant)  # type: ignore[no-any-return]


def sync_stub(address: str) -> tuple[grpc.Channel, pb_grpc.ClientServiceStub]:
    channel = grpc.insecure_channel(address)
    return channel, pb_grpc.ClientServiceStub(channel)


def async_stub(address: str) -> tuple[grpc.aio.Channel, pb_grpc.ClientServiceStub]:
    channel = grpc.aio.insecure_channel(address)
    return channel, pb_grpc.ClientServiceStub(channel)


def submit_request(name: str = "bench") -> pb.SubmitJobRequest:
    """The request ``client.submit_job(name, "true")`` sends, built by hand (with a fresh submission id)."""
    return pb.SubmitJobRequest(
        api_key=API_KEY,
        name=name,
        command="true",
        resources=pb.ResourceRequirement(cpu_cores=1, memory_mb=1024),
        metadata={"desam-submission-id": uuid.uuid4().hex},
    )


def checked(reply: Any) -> Any:
    if not reply.response.success:
        raise RuntimeError(f"{reply.response.error_code}: {reply.response.message}")
    return reply
