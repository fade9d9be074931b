"""The plugin API: every hook a DeSAM plugin can implement (pluggy project ``desam``).

Hooks are named for the moment they run. Each gets a :class:`CallInfo` that
describes one logical call (an RPC with all its attempts); a plugin may keep
per-call state in ``call.state`` under its own key. Hooks return data and do
no network I/O of their own, except ``desam_api_key``, which may return an
awaitable when used from the asyncio client.

Observer hooks (``desam_call_start``, ``desam_call_retry``, ``desam_call_end``)
never break a call: an exception raised in one is logged and swallowed, and the
other plugins still run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from desam_client._pipeline.call import CallInfo
    from desam_client._pipeline.retry import RetryPolicy
    from desam_client.exceptions import DeSAMError

PROJECT = "desam"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def desam_api_key(call: CallInfo) -> str | Awaitable[str] | None:
    """Return the API key for this call, or None to let the next plugin answer.

    Runs once per logical call, before the first attempt. The first non-None
    answer wins; the built-in plugin answers last with the key the client was
    created with. Use it for keys that rotate or come from a vault.
    """


@hookspec
def desam_call_metadata(call: CallInfo) -> Iterable[tuple[str, str]] | None:
    """Return gRPC metadata pairs to send with this call (keys lower-case ASCII).

    Runs once per logical call after ``desam_call_start``; all answers are sent.
    The built-in tracing plugin adds the W3C ``traceparent`` here.
    """


@hookspec(firstresult=True)
def desam_retry_delay(call: CallInfo, error: DeSAMError, policy: RetryPolicy) -> float | bool | None:
    """Decide whether to try again after attempt ``call.attempt`` failed with ``error``.

    Return a delay in seconds to retry after it, ``False`` to give up, or None
    to let the next plugin decide. The built-in plugin answers last: exponential
    backoff with full jitter, only for transient errors, only for RPCs that are
    safe to repeat, within the policy's attempts and the call's deadline budget.
    """


@hookspec
def desam_call_start(call: CallInfo) -> None:
    """Observe the start of a logical call (tracing, logging, metrics)."""


@hookspec
def desam_call_retry(call: CallInfo, error: DeSAMError, delay: float) -> None:
    """Observe a retry: attempt ``call.attempt`` failed with ``error``; the next starts after ``delay`` s."""


@hookspec
def desam_call_end(call: CallInfo, error: DeSAMError | None) -> None:
    """Observe the end of a logical call; ``error`` is None on success."""


@hookspec
def desam_transports() -> Mapping[str, Callable[..., Any]] | None:
    """Return transport factories by name (``{"grpc": factory}``); see :mod:`desam_client.transports`.

    A factory is called with the client's ``ChannelConfig`` and returns an object with the
    ``SyncTransport`` or ``AsyncTransport`` interface.
    """
