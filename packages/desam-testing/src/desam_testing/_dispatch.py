"""From gRPC to the services and back: counting, recording, faults, error replies, crash safety.

Requests arrive as raw bytes and are parsed here, so that a request that does
not even parse is still counted, and fails with INTERNAL like on a real gRPC
server. Any unexpected exception in a handler becomes an INTERNAL status; the
server keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from desam_proto import SERVICE_NAME
from desam_proto import client_pb2 as pb

from ._errors import ReplyError, RpcAbort
from ._faults import Fault, Faults
from ._rpcs import RPCS, RpcSpec, check_rpc_name

__all__ = ["Dispatcher", "Recorder"]

_log = logging.getLogger("desam_testing")

#: What the dispatcher calls for one RPC: the parsed request (or request iterator) in, the reply out.
Handler = Callable[[Any], Message]


class Recorder:
    """Counts calls and keeps the parsed requests, per RPC. Thread-safe."""

    def __init__(self, *, keep_requests: bool = True) -> None:
        self._keep = keep_requests
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._requests: dict[str, list[Message]] = {name: [] for name in RPCS}

    def count(self, rpc: str) -> None:
        """Count one call."""
        with self._lock:
            self._counts[rpc] += 1

    def record(self, rpc: str, request: Message) -> None:
        """Keep one parsed request message (unless told to keep none)."""
        if not self._keep:
            return
        with self._lock:
            self._requests[rpc].append(request)

    def calls(self, rpc: str | None = None) -> int:
        """Return how many calls of ``rpc`` (or of all RPCs) arrived."""
        with self._lock:
            return self._counts[check_rpc_name(rpc)] if rpc is not None else sum(self._counts.values())

    def requests(self, rpc: str) -> list[Message]:
        """Return the parsed requests of ``rpc``, oldest first."""
        with self._lock:
            return list(self._requests[check_rpc_name(rpc)])


class Dispatcher:
    """Builds the gRPC handlers of the service around plain handler functions.

    Args:
        handlers: One function per RPC name.
        faults: Consulted on every call.
        recorder: Told about every call.
    """

    def __init__(self, handlers: dict[str, Handler], faults: Faults, recorder: Recorder) -> None:
        missing = set(RPCS) - handlers.keys()
        if missing:
            raise ValueError(f"no handler for {sorted(missing)}")
        self._handlers = handlers
        self._faults = faults
        self._recorder = recorder

    def generic_handler(self) -> grpc.GenericRpcHandler:
        """Return the handler to register on a ``grpc.Server``."""
        methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for spec in RPCS.values():
            if spec.client_streaming:
                methods[spec.name] = grpc.stream_unary_rpc_method_handler(
                    self._stream_behavior(spec), response_serializer=_serialize
                )
            else:
                methods[spec.name] = grpc.unary_unary_rpc_method_handler(
                    self._unary_behavior(spec), response_serializer=_serialize
                )
        return grpc.method_handlers_generic_handler(SERVICE_NAME, methods)

    def _unary_behavior(self, spec: RpcSpec) -> Callable[[bytes, grpc.ServicerContext], Message]:
        def behavior(raw: bytes, context: grpc.ServicerContext) -> Message:
            self._recorder.count(spec.name)
            return self._serve(spec, context, lambda: self._handlers[spec.name](self._parse(spec, raw)))

        return behavior

    def _stream_behavior(self, spec: RpcSpec) -> Callable[[Iterator[bytes], grpc.ServicerContext], Message]:
        def behavior(raws: Iterator[bytes], context: grpc.ServicerContext) -> Message:
            self._recorder.count(spec.name)
            messages = (self._parse(spec, raw) for raw in raws)
            return self._serve(spec, context, lambda: self._handlers[spec.name](messages))

        return behavior

    def _parse(self, spec: RpcSpec, raw: bytes) -> Message:
        try:
            request = spec.request_type.FromString(raw)
        except DecodeError as exc:
            raise RpcAbort(
                grpc.StatusCode.INTERNAL, f"could not parse the {spec.name} request: {exc}"
            ) from exc
        self._recorder.record(spec.name, request)
        return request

    def _serve(self, spec: RpcSpec, context: grpc.ServicerContext, act: Callable[[], Message]) -> Message:
        try:
            return self._with_faults(spec, act, context)
        except RpcAbort as exc:
            status, details = exc.status, exc.details
        except grpc.RpcError:  # the client broke its request stream off
            status, details = grpc.StatusCode.CANCELLED, "the request stream broke off"
        except Exception as exc:
            _log.exception("fake scheduler: %s failed", spec.name)
            status, details = grpc.StatusCode.INTERNAL, f"fake scheduler error in {spec.name}: {exc!r}"
        return context.abort(status, details)

    def _with_faults(
        self, spec: RpcSpec, act: Callable[[], Message], context: grpc.ServicerContext
    ) -> Message:
        fault = self._faults.pick(spec.name)
        if fault is None:
            return _reply(spec, act)
        # Only a faulted call may sleep; the end of the call (the client gave up) wakes it.
        wake = threading.Event()
        context.add_callback(wake.set)
        self._sleep(fault.latency, wake)
        if not fault.lose_reply:
            if fault.status is not None:
                raise RpcAbort(fault.status, fault.message)
            if fault.error_code is not None:
                return _reply(spec, lambda: _raise(fault))
        reply = _reply(spec, act)
        self._sleep(fault.reply_delay, wake)
        if fault.lose_reply:
            raise RpcAbort(fault.status or grpc.StatusCode.UNAVAILABLE, fault.message)
        return reply

    def _sleep(self, seconds: float, wake: threading.Event) -> None:
        if seconds > 0 and not self._faults.sleep(seconds, wake):
            if self._faults.stopping:
                raise RpcAbort(grpc.StatusCode.UNAVAILABLE, "the fake scheduler is stopping")
            raise RpcAbort(grpc.StatusCode.CANCELLED, "the call ended while it was delayed")


def _reply(spec: RpcSpec, act: Callable[[], Message]) -> Message:
    """Run a handler; turn a :class:`ReplyError` into a ``success=false`` reply of the RPC's type."""
    try:
        return act()
    except ReplyError as exc:
        build: Callable[..., Message] = spec.response_type
        return build(
            response=pb.CommonResponse(success=False, error_code=exc.code, message=exc.message), **exc.fields
        )


def _raise(fault: Fault) -> Message:
    assert fault.error_code is not None
    raise ReplyError(fault.error_code, fault.message)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
