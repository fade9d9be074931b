"""The built-in behaviour, itself written as plugins: API-key auth, retries, transports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desam_client._core.rpcs import ALL_RPCS
from desam_client._pipeline.call import CallInfo
from desam_client._pipeline.retry import RetryPolicy, retry_delay
from desam_client.exceptions import DeSAMError
from desam_client.plugins import hookimpl


class ApiKeyAuth:
    """Answers ``desam_api_key`` with the key the client was created with (after all others)."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=***)"

    @hookimpl(trylast=True)
    def desam_api_key(self, call: CallInfo) -> str:
        """The configured key."""
        return self._api_key


class BackoffRetry:
    """Answers ``desam_retry_delay`` last: exponential backoff with full jitter (see ``RetryPolicy``)."""

    @hookimpl(trylast=True)
    def desam_retry_delay(self, call: CallInfo, error: DeSAMError, policy: RetryPolicy) -> float | bool:
        """A pause, or False when the error cannot heal, the RPC is unsafe or the budget is spent."""
        remaining = call.state.get("desam.remaining")
        delay = retry_delay(policy, ALL_RPCS[call.rpc], call.attempt, error, remaining)
        return False if delay is None else delay


class GrpcTransports:
    """Registers the built-in transports: ``grpc`` (sync) and ``grpc-asyncio``."""

    @hookimpl
    def desam_transports(self) -> Mapping[str, Callable[..., Any]]:
        """The two gRPC transports."""
        from desam_client._transport.grpc_aio import GrpcAioTransport
        from desam_client._transport.grpc_sync import GrpcTransport

        return {"grpc": GrpcTransport, "grpc-asyncio": GrpcAioTransport}
