"""The built-in asyncio transport over a ``grpc.aio.Channel``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import Message

from desam_client._core.rpcs import RpcSpec
from desam_client._transport import channel as channel_setup
from desam_client._transport.base import Metadata, RpcFailure
from desam_client._transport.grpc_sync import failure
from desam_client.config import ClientConfig
from desam_client.exceptions import ConfigurationError


class GrpcAioTransport:
    """asyncio gRPC transport.

    The channel is opened on first use, inside the running event loop, and
    belongs to that loop: a client may be created anywhere (even with no loop
    running) but must then be used from one loop. Using it from another loop
    raises a ``ConfigurationError`` that says so.
    """

    is_async = True

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = -1
        self._callables: dict[str, Any] = {}
        self._closed = False

    def _callable(self, rpc: RpcSpec) -> Any:
        if self._closed:
            raise RpcFailure(grpc.StatusCode.CANCELLED, "the client is closed")
        loop = asyncio.get_running_loop()
        if self._channel is None or self._pid != os.getpid():
            creds = channel_setup.credentials(self._config)
            opts = channel_setup.options(self._config)
            self._channel = (
                grpc.aio.insecure_channel(self._config.target, options=opts)
                if creds is None
                else grpc.aio.secure_channel(self._config.target, creds, options=opts)
            )
            self._loop, self._pid, self._callables = loop, os.getpid(), {}
        elif loop is not self._loop:
            raise ConfigurationError(
                "this AsyncDeSAMClient is bound to the event loop it was first used in; "
                "create one client per event loop",
                argument="loop",
            )
        found = self._callables.get(rpc.name)
        if found is None:
            make = self._channel.stream_unary if rpc.client_streaming else self._channel.unary_unary
            found = make(
                rpc.path, request_serializer=_serialize, response_deserializer=rpc.response_type.FromString
            )
            self._callables[rpc.name] = found
        return found

    async def unary(
        self, rpc: RpcSpec, request: Message, *, timeout: float | None, metadata: Metadata
    ) -> Any:
        """Send one request and return the reply."""
        try:
            return await self._callable(rpc)(request, timeout=timeout, metadata=metadata or None)
        except grpc.RpcError as error:
            raise failure(error) from None

    async def stream(
        self,
        rpc: RpcSpec,
        requests: Iterable[Message] | AsyncIterable[Message],
        *,
        timeout: float | None,
        metadata: Metadata,
    ) -> Any:
        """Send a client stream; a blocking iterator is read in a worker thread, chunk by chunk."""
        holder: list[Exception] = []
        source = _async_source(requests, holder)
        try:
            return await self._callable(rpc)(source, timeout=timeout, metadata=metadata or None)
        except grpc.RpcError as error:
            if holder:
                raise holder[0] from None
            raise failure(error) from None
        except asyncio.CancelledError:
            # grpc.aio cancels a call whose request iterator raised; the caller gets what it raised.
            if holder:
                raise holder[0] from None
            raise

    async def close(self) -> None:
        """Close the channel; calls in flight end with CANCELLED."""
        self._closed = True
        channel, self._channel = self._channel, None
        if channel is not None and self._pid == os.getpid():
            await channel.close()


async def _async_source(
    requests: Iterable[Message] | AsyncIterable[Message], holder: list[Exception]
) -> AsyncIterator[Message]:
    try:
        if isinstance(requests, AsyncIterable):
            async for message in requests:
                yield message
            return
        iterator: Iterator[Message] = iter(requests)
        while True:
            item: Message | None = await asyncio.to_thread(_next_or_none, iterator)
            if item is None:
                return
            yield item
    except Exception as error:
        holder.append(error)
        raise


def _next_or_none(iterator: Iterator[Message]) -> Message | None:
    return next(iterator, None)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
