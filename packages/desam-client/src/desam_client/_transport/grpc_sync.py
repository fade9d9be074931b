"""The built-in blocking transport over a ``grpc.Channel``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf.message import Message

from desam_client._core.rpcs import RpcSpec
from desam_client._transport import channel as channel_setup
from desam_client._transport.base import Metadata, RpcFailure
from desam_client.config import ClientConfig


class GrpcTransport:
    """Blocking gRPC transport. Safe to share across threads.

    After ``os.fork()`` the child does not touch the parent's channel (gRPC's
    channel cannot cross a fork); it opens a channel of its own on first use.
    """

    is_async = False

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._pid = -1
        self._callables: dict[str, Any] = {}
        self._closed = False

    def _open(self) -> grpc.Channel:
        creds = channel_setup.credentials(self._config)
        opts = channel_setup.options(self._config)
        if creds is None:
            return grpc.insecure_channel(self._config.target, options=opts)
        return grpc.secure_channel(self._config.target, creds, options=opts)

    def _callable(self, rpc: RpcSpec) -> Any:
        pid = os.getpid()
        if self._pid == pid:
            found = self._callables.get(rpc.name)
            if found is not None:
                return found
        with self._lock:
            if self._closed:
                raise RpcFailure(grpc.StatusCode.CANCELLED, "the client is closed")
            if self._pid != pid or self._channel is None:
                # A fresh process (first use, or the child of a fork): a channel of its own.
                self._channel = self._open()
                self._pid = pid
                self._callables = {}
            found = self._callables.get(rpc.name)
            if found is None:
                make = self._channel.stream_unary if rpc.client_streaming else self._channel.unary_unary
                found = make(
                    rpc.path,
                    request_serializer=_serialize,
                    response_deserializer=rpc.response_type.FromString,
                )
                self._callables[rpc.name] = found
            return found

    def unary(self, rpc: RpcSpec, request: Message, *, timeout: float | None, metadata: Metadata) -> Any:
        """Send one request and return the reply."""
        try:
            return self._callable(rpc)(request, timeout=timeout, metadata=metadata or None)
        except grpc.RpcError as error:
            raise failure(error) from None

    def stream(
        self, rpc: RpcSpec, requests: Iterable[Message], *, timeout: float | None, metadata: Metadata
    ) -> Any:
        """Send a client stream and return the reply."""
        source = RecordingIterator(requests)
        try:
            return self._callable(rpc)(source, timeout=timeout, metadata=metadata or None)
        except grpc.RpcError as error:
            if source.error is not None:
                raise source.error from None
            raise failure(error) from None

    def close(self) -> None:
        """Close the channel; calls in flight end with CANCELLED."""
        with self._lock:
            self._closed = True
            channel, self._channel = self._channel, None
            self._callables = {}
        if channel is not None and self._pid == os.getpid():
            channel.close()


class RecordingIterator:
    """Wraps a request iterator and keeps the exception it raised.

    gRPC turns an exception raised while it pulls requests into a bare
    CANCELLED status; the transport re-raises the original instead.
    """

    def __init__(self, requests: Iterable[Message]) -> None:
        self._it = iter(requests)
        self.error: BaseException | None = None

    def __iter__(self) -> RecordingIterator:
        return self

    def __next__(self) -> Message:
        try:
            return next(self._it)
        except StopIteration:
            raise
        except BaseException as error:
            self.error = error
            raise


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def failure(error: grpc.RpcError) -> RpcFailure:
    code: Any = getattr(error, "code", None)
    details: Any = getattr(error, "details", None)
    status = code() if callable(code) else None
    text = details() if callable(details) else str(error)
    return RpcFailure(status if isinstance(status, grpc.StatusCode) else grpc.StatusCode.UNKNOWN, text or "")
