"""The plugin API: every hook a DeSAM plugin can implement (pluggy project ``desam``).

A plugin is any object (an instance, or a module) with functions marked
:data:`desam_client.hookimpl` and named after the hooks below. It may implement
any subset of the hooks, and any subset of a hook's arguments, by name::

    from desam_client import DeSAMClient, hookimpl

    class CallCounter:
        def __init__(self) -> None:
            self.calls = 0

        @hookimpl
        def desam_call_end(self, call, error):
            self.calls += 1

    client = DeSAMClient(host="localhost", port=50051, api_key="sk-...", plugins=[CallCounter()])

**Where plugins come from.** A client's plugin manager is built once, in its
constructor, in this order:

1. these hook specifications;
2. the built-in plugins (:mod:`desam_client.plugins.builtin`, ``tracing``,
   ``logging``): API-key auth, exponential backoff with full jitter, the gRPC
   transports, OpenTelemetry spans and structlog events. A plugin passed in
   ``plugins=`` whose class is that of a built-in one *replaces* it, e.g.
   ``plugins=[StructlogEvents(always=True)]``;
3. plugins published under the entry-point group ``desam.plugins``. An entry
   point may name a module, an object, or a class; a class is instantiated
   with no arguments, once per client. Switch this off with
   ``load_entrypoint_plugins=False`` or the environment variable
   ``DESAM_DISABLE_PLUGIN_AUTOLOAD=1``. A plugin that fails to load stops the
   constructor with a :class:`~desam_client.ConfigurationError` naming it;
4. the caller's ``plugins=[...]``, in order.

A registration problem (a misspelt hook name, an argument a hook does not
have, the same object twice) is a :class:`~desam_client.ConfigurationError`.
``client.plugin_manager`` is the pluggy ``PluginManager``, to inspect.

**Order and precedence.** pluggy calls the most recently registered
implementation first, so the caller's plugins run before entry-point plugins,
which run before the built-ins. The built-in answers of the ``firstresult`` hooks
(:func:`desam_api_key`, :func:`desam_retry_delay`) are marked ``trylast``:
any plugin that answers wins over them; a plugin returns ``None`` to pass.

**When the hooks run**, for one logical call (an RPC with all its attempts)::

    desam_call_start(call)                    observers; the tracing plugin opens its span
    desam_api_key(call)                       once; first non-None answer wins
    desam_call_metadata(call)                 once; every answer is sent with every attempt
    attempt 1 ... fails with a DeSAMError
    desam_retry_delay(call, error, policy)    first non-None answer wins
    desam_call_retry(call, error, delay)      observers, only when a retry follows
    attempt 2 ...
    desam_call_end(call, error)               observers, always, error None on success

Every hook gets the same :class:`~desam_client.CallInfo` for the whole call:
``rpc``, ``method``, ``target``, ``server_address``, ``server_port``,
``job_id``, ``attempt`` (1-based, the attempt that just ran or runs), ``started``,
``elapsed``, and ``state``, a dict where a plugin keeps its per-call data under
a key of its own. New fields may be added; existing ones stay.

**Rules.**

* Hooks return data and do no network I/O of their own. The exception is
  :func:`desam_api_key`, which may return an awaitable (an ``async def``
  implementation) to fetch a key: :class:`~desam_client.AsyncDeSAMClient`
  awaits it; :class:`~desam_client.DeSAMClient` cannot, and fails the call with
  a :class:`~desam_client.ConfigurationError` before anything is sent.
* Observer hooks (:func:`desam_call_start`, :func:`desam_call_retry`,
  :func:`desam_call_end`) never break a call: each implementation runs on its
  own; one that raises is reported (through structlog when the application
  configured it, else the ``desam_client.plugins`` standard logger) and the
  others still run.
* An exception raised by any other hook ends the call with that exception.
* The API key is handed to no hook; a plugin that supplies one must not log it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from desam_client._pipeline.call import CallInfo
    from desam_client._pipeline.retry import RetryPolicy
    from desam_client.exceptions import DeSAMError

#: The pluggy project name of DeSAM's hooks.
PROJECT = "desam"
#: Marks a function as a DeSAM hook specification (the client's own use).
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def desam_api_key(call: CallInfo) -> str | Awaitable[str] | None:
    """Return the API key for this call, or None to let the next plugin answer.

    Runs once per logical call, before the first attempt; every attempt of the
    call uses that key. The first non-None answer wins; the built-in plugin
    answers last with the key the client was created with. Use it for keys
    that rotate or come from a vault.

    May return an awaitable that resolves to the key (for example from an
    ``async def`` implementation); only the asyncio client can use one. An
    awaitable wins like any other answer, so it must resolve to a key, not None.
    """


@hookspec
def desam_call_metadata(call: CallInfo) -> Iterable[tuple[str, str]] | Mapping[str, str] | None:
    """Return gRPC metadata to send with this call: ``(key, value)`` pairs or a mapping.

    Runs once per logical call, after ``desam_call_start`` and
    ``desam_api_key``; every plugin's answer is sent with every attempt. Keys
    are lower-case ASCII; names starting with ``grpc-`` are reserved by gRPC.
    The built-in tracing plugin adds the W3C ``traceparent`` here.
    """


@hookspec(firstresult=True)
def desam_retry_delay(call: CallInfo, error: DeSAMError, policy: RetryPolicy) -> float | bool | None:
    """Decide whether to try again after attempt ``call.attempt`` failed with ``error``.

    Return a delay in seconds (a number >= 0) to retry after it, ``True`` to
    retry at once, ``False`` to give up, or None to let the next plugin decide.
    The built-in plugin answers last: exponential backoff with full jitter,
    only for transient errors, only for RPCs that are safe to repeat, within
    ``policy.max_attempts`` and the call's deadline budget.

    An answer overrides the policy, with three limits a plugin cannot lift: a
    closed client never retries; a call whose ``total_timeout`` budget is spent
    ends; and a submission is only sent again after a look-up found that the
    earlier attempt created no job. A plugin that retries beyond
    ``policy.max_attempts`` must itself know when to stop.
    """


@hookspec
def desam_call_start(call: CallInfo) -> None:
    """Observe the start of a logical call (tracing, logging, metrics); ``call.attempt`` is 1."""


@hookspec
def desam_call_retry(call: CallInfo, error: DeSAMError, delay: float) -> None:
    """Observe a retry: attempt ``call.attempt`` failed with ``error``; the next starts after ``delay`` s."""


@hookspec
def desam_call_end(call: CallInfo, error: DeSAMError | None) -> None:
    """Observe the end of a logical call; ``error`` is None on success.

    ``call.attempt`` is the number of attempts made. Any failure is reported
    as a :class:`~desam_client.DeSAMError`: an unexpected exception (a bug, a
    plugin's, a cancelled task) arrives wrapped in one, as its ``__cause__``.
    """


@hookspec
def desam_transports() -> Mapping[str, Callable[..., Any]] | None:
    """Return transport factories by name (``{"grpc": factory}``); the client picks one by name.

    A factory is called with the client's ``ClientConfig`` and returns an object
    with the blocking (``is_async = False``) or the asyncio (``is_async = True``)
    transport interface of :mod:`desam_client.transports`.
    """
