"""The transport interface, and the one error type every transport raises."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import grpc
from google.protobuf.message import Message

from desam_client._core.rpcs import RpcSpec

Metadata = Sequence[tuple[str, str]]


class RpcFailure(Exception):
    """A call ended with a gRPC status instead of a reply (raised by transports only)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


@runtime_checkable
class SyncTransport(Protocol):
    """A blocking transport. Raises :class:`RpcFailure` for any gRPC status but OK."""

    is_async: bool

    def unary(self, rpc: RpcSpec, request: Message, *, timeout: float | None, metadata: Metadata) -> Any:
        """Send one request and return the reply."""

    def stream(
        self, rpc: RpcSpec, requests: Iterable[Message], *, timeout: float | None, metadata: Metadata
    ) -> Any:
        """Send a client stream and return the reply."""

    def close(self) -> None:
        """Release the connection and cut calls in flight short (idempotent)."""


@runtime_checkable
class AsyncTransport(Protocol):
    """An asyncio transport. Raises :class:`RpcFailure` for any gRPC status but OK."""

    is_async: bool

    async def unary(
        self, rpc: RpcSpec, request: Message, *, timeout: float | None, metadata: Metadata
    ) -> Any:
        """Send one request and return the reply."""

    async def stream(
        self,
        rpc: RpcSpec,
        requests: Iterable[Message] | AsyncIterable[Message],
        *,
        timeout: float | None,
        metadata: Metadata,
    ) -> Any:
        """Send a client stream and return the reply."""

    async def close(self) -> None:
        """Release the connection and cut calls in flight short (idempotent)."""
