"""Runs flows: each Step through auth, metadata, observers and the retry loop.

Everything that decides something lives in :class:`PipelineCore` (no I/O).
:class:`SyncRunner` and :class:`AsyncRunner` are twins that differ only in how
they wait: a blocking call and an interruptible sleep, or ``await``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from desam_client._core.error_table import error_from_status, scrub
from desam_client._core.flow import Emit, Sleep, Step
from desam_client._core.rpcs import RetrySafety
from desam_client._pipeline.call import CallInfo
from desam_client._pipeline.retry import NO_RETRY, RetryPolicy
from desam_client._transport.base import RpcFailure
from desam_client.config import ClientConfig
from desam_client.exceptions import (
    ClientClosedError,
    ConfigurationError,
    DeadlineExceededError,
    DeSAMError,
    InvalidArgumentError,
)
from desam_client.plugins.manager import Hooks, is_awaitable

T = TypeVar("T")


@dataclass(frozen=True)
class CallOptions:
    """Per-call settings: the attempt deadline and the retry policy."""

    timeout: float | None
    retry: RetryPolicy


class PipelineCore:
    """The decisions of the call pipeline, shared by both runners."""

    def __init__(self, config: ClientConfig, hooks: Hooks) -> None:
        self.config = config
        self.hooks = hooks
        self.closed = False
        #: Requests larger than this are refused before sending (gRPC would refuse them anyway).
        self.max_request_bytes = int(dict(config.channel_options).get("grpc.max_send_message_length", -1))

    def begin(self, step: Step[Any]) -> CallInfo:
        """A new :class:`CallInfo`, or ``ClientClosedError`` if the client is closed."""
        if self.closed:
            raise ClientClosedError(
                "the client is closed; create a new client to make more calls",
                rpc=step.rpc.name,
                job_id=step.job_id,
            )
        return CallInfo(
            rpc=step.rpc.name,
            method=step.rpc.path,
            target=self.config.target,
            server_address=self.config.server_address,
            server_port=self.config.server_port,
            job_id=step.job_id,
        )

    def attempt_timeout(self, call: CallInfo, step: Step[Any], options: CallOptions) -> float | None:
        """This attempt's deadline: the per-attempt timeout, cut to what is left of the budget."""
        timeout = step.timeout if step.timeout is not None else options.timeout
        budget = options.retry.total_timeout
        if budget is None:
            call.state["desam.remaining"] = None
            return timeout
        remaining = budget - call.elapsed
        call.state["desam.remaining"] = remaining
        if remaining <= 0:
            raise DeadlineExceededError(
                f"the call's time budget of {budget:g} s is spent",
                grpc_code=grpc.StatusCode.DEADLINE_EXCEEDED,
                rpc=call.rpc,
                job_id=call.job_id,
            )
        return remaining if timeout is None else min(timeout, remaining)

    def to_error(self, error: Exception, call: CallInfo, api_key: str) -> DeSAMError:
        """Map what an attempt raised to a :class:`DeSAMError`; anything else is re-raised as is."""
        secrets = (api_key,)
        if isinstance(error, RpcFailure):
            if self.closed and error.code is grpc.StatusCode.CANCELLED:
                return ClientClosedError(
                    "the client was closed while the call was in flight",
                    grpc_code=error.code,
                    rpc=call.rpc,
                    job_id=call.job_id,
                )
            return error_from_status(
                error.code,
                error.details,
                rpc=call.rpc,
                job_id=call.job_id,
                redact=secrets,
                tls=self.config.tls,
            )
        if isinstance(error, DeSAMError):
            if error.job_id is None:
                error.job_id = call.job_id
            if api_key and api_key in error.message:
                error.message = scrub(error.message, secrets)
                error.args = (error.message,)
            return error
        raise error

    def retry_delay(
        self, call: CallInfo, step: Step[Any], error: DeSAMError, options: CallOptions
    ) -> float | None:
        """The pause before another attempt, or None.

        Plugins decide, within limits none can lift: a closed client never retries, a spent
        time budget ends the call, and an RPC that is unsafe to repeat is only repeated
        behind a probe for the earlier attempt's result.
        """
        remaining = call.state.get("desam.remaining")
        if self.closed or (remaining is not None and remaining <= 0):
            return None
        safety = step.rpc.retry_safety
        if safety is RetrySafety.NEVER or (safety is RetrySafety.PROBE_FIRST and step.probe is None):
            return None
        return self.hooks.retry_delay(call, error, options.retry)

    @staticmethod
    def observed_failure(raised: BaseException, call: CallInfo) -> DeSAMError:
        """What the end observers learn about a call that raised ``raised`` (always a DeSAMError)."""
        if isinstance(raised, DeSAMError):
            return raised
        cancelled = isinstance(raised, (asyncio.CancelledError, KeyboardInterrupt))
        wrapped = DeSAMError(
            f"the call ended with {type(raised).__name__}",
            grpc_code=grpc.StatusCode.CANCELLED if cancelled else None,
            rpc=call.rpc,
            job_id=call.job_id,
        )
        wrapped.__cause__ = raised
        return wrapped

    @staticmethod
    def final_error(step: Step[Any], error: DeSAMError) -> DeSAMError:
        """The error the caller sees once retries are over (an unknown submission outcome says so)."""
        if step.probe is not None and step.unknown_outcome is not None and _outcome_unknown(error):
            return step.unknown_outcome(error)
        return error

    def api_key_sync(self, call: CallInfo) -> str:
        """The key from the auth hook; the sync client cannot await one."""
        key = self.hooks.api_key(call)
        if is_awaitable(key):
            if hasattr(key, "close"):
                key.close()  # a coroutine never awaited would warn
            raise ConfigurationError(
                "plugins: desam_api_key returned an awaitable, which only AsyncDeSAMClient can use",
                argument="plugins",
            )
        return _check_key(key)


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise ConfigurationError("api_key: no plugin provided an API key", argument="api_key")
    return key


def _outcome_unknown(error: DeSAMError) -> bool:
    return error.grpc_code in {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }


def _with_key(step: Step[Any], api_key: str, limit: int) -> Any:
    if callable(step.request):
        return step.request(api_key)
    request = step.request
    request.api_key = api_key  # type: ignore[attr-defined]
    if limit > 0 and request.ByteSize() > limit:
        raise _too_large(request, limit)
    return request


def _too_large(request: Any, limit: int) -> InvalidArgumentError:
    """The error for a request over the message size limit, naming its largest field."""
    names = [field.name for field, _ in request.ListFields()]
    sizes: dict[str, int] = {}
    for name in names:
        alone = type(request)()
        alone.CopyFrom(request)
        for other in names:
            if other != name:
                alone.ClearField(other)
        sizes[name] = alone.ByteSize()
    largest = max(sizes, key=sizes.__getitem__, default="request")
    return InvalidArgumentError(
        f"{largest}: the request is {request.ByteSize()} bytes, over the {limit}-byte message limit, "
        f"and {largest!r} is its largest field; ship large data with files= or client.files instead",
        argument=largest,
    )


def _advance(flow: Generator[Any, Any, Any], value: Any, error: Exception | None) -> tuple[bool, Any]:
    """Resume a flow; (True, result) when it returned, else (False, next instruction)."""
    try:
        return False, (flow.throw(error) if error is not None else flow.send(value))
    except StopIteration as stop:
        return True, stop.value


class SyncRunner:
    """Runs flows with blocking calls on a sync transport."""

    def __init__(self, core: PipelineCore, transport: Any) -> None:
        self.core = core
        self.transport = transport
        self._closing = threading.Event()

    def close(self) -> None:
        """Mark closed, wake sleeping retries, close the transport (cuts calls in flight)."""
        self.core.closed = True
        self._closing.set()
        self.transport.close()

    def run(
        self,
        flow: Generator[Any, Any, T] | Step[T],
        options: CallOptions,
        *,
        execute: Callable[[Any, CallOptions], Any] | None = None,
    ) -> T:
        """Run a flow that returns one result (a bare Step is the flow of one RPC).

        ``execute`` runs each instruction instead of :meth:`execute`, for flows that
        yield instructions of their own (the transfer flows behind ``client.files``).
        """
        if isinstance(flow, Step):
            return self.step(flow, options)
        run_one = execute or self.execute
        # The loop of _Iteration.__next__, without an iterator object around it: this is the
        # path of every plain call.
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                done, instruction = _advance(flow, value, error)
                if done:
                    return instruction  # type: ignore[no-any-return]
                if isinstance(instruction, Emit):
                    raise TypeError("this flow emits values; iterate it instead")
                try:
                    value, error = run_one(instruction, options), None
                except Exception as raised:  # handed back to the flow
                    value, error = None, raised
        finally:
            flow.close()  # its cleanup runs even when a KeyboardInterrupt ends the call

    def iterate(self, flow: Generator[Any, Any, Any], options: CallOptions) -> _Iteration:
        """Run a flow that emits values, as an iterator."""
        return _Iteration(self, flow, options)

    def execute(self, instruction: Step[Any] | Sleep, options: CallOptions) -> Any:
        """Run one instruction."""
        if isinstance(instruction, Sleep):
            self._sleep(instruction.seconds)
            return None
        return self.step(instruction, options)

    def _sleep(self, seconds: float) -> None:
        if self._closing.wait(seconds):
            raise ClientClosedError("the client was closed")

    def step(self, step: Step[T], options: CallOptions) -> T:
        """One logical call: hooks, auth and the retry loop."""
        core = self.core
        call = core.begin(step)
        core.hooks.start(call)
        failure: DeSAMError | None = None
        try:
            api_key = core.api_key_sync(call)
            metadata = core.hooks.metadata(call)
            while True:
                try:
                    timeout = core.attempt_timeout(call, step, options)
                    if call.attempt > 1 and step.probe is not None:
                        found = self.step(step.probe(), CallOptions(timeout, NO_RETRY))
                        if found is not None:
                            return found
                    request = _with_key(step, api_key, core.max_request_bytes)
                    if step.rpc.client_streaming:
                        reply = self.transport.stream(step.rpc, request, timeout=timeout, metadata=metadata)
                    else:
                        reply = self.transport.unary(step.rpc, request, timeout=timeout, metadata=metadata)
                    return step.parse(reply, call.attempt > 1)
                except Exception as raised:
                    error = core.to_error(raised, call, api_key)
                # Decided and raised outside the except clause, so the error does not carry the
                # raw transport failure (which may echo the key) as its __context__.
                delay = core.retry_delay(call, step, error, options)
                if delay is None:
                    raise core.final_error(step, error)
                core.hooks.retry(call, error, delay)
                self._sleep(delay)
                call.attempt += 1
        except BaseException as raised:
            failure = core.observed_failure(raised, call)
            raise
        finally:
            core.hooks.end(call, failure)


class _Iteration(Iterator[Any]):
    """A running flow as an iterator of the values it emits; ``result`` once exhausted."""

    def __init__(self, runner: SyncRunner, flow: Generator[Any, Any, Any], options: CallOptions) -> None:
        self._runner, self._flow, self._options = runner, flow, options
        self._value: Any = None
        self._error: Exception | None = None
        self.result: Any = None

    def __next__(self) -> Any:
        while True:
            done, instruction = _advance(self._flow, self._value, self._error)
            self._value, self._error = None, None
            if done:
                self.result = instruction
                raise StopIteration
            if isinstance(instruction, Emit):
                return instruction.value
            try:
                self._value = self._runner.execute(instruction, self._options)
            except Exception as error:
                self._error = error

    def close(self) -> None:
        """Stop the flow early."""
        self._flow.close()


class AsyncRunner:
    """Runs flows with ``await`` on an asyncio transport."""

    def __init__(self, core: PipelineCore, transport: Any) -> None:
        self.core = core
        self.transport = transport

    async def close(self) -> None:
        """Mark closed and close the transport (cuts calls in flight)."""
        self.core.closed = True
        await self.transport.close()

    async def run(
        self,
        flow: Generator[Any, Any, T] | Step[T],
        options: CallOptions,
        *,
        execute: Callable[[Any, CallOptions], Awaitable[Any]] | None = None,
    ) -> T:
        """Run a flow that returns one result (a bare Step is the flow of one RPC).

        ``execute`` runs each instruction instead of :meth:`execute`, for flows that
        yield instructions of their own (the transfer flows behind ``client.files``).
        """
        if isinstance(flow, Step):
            return await self.step(flow, options)
        run_one = execute or self.execute
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                done, instruction = _advance(flow, value, error)
                if done:
                    return instruction  # type: ignore[no-any-return]
                if isinstance(instruction, Emit):
                    raise TypeError("this flow emits values; iterate it instead")
                try:
                    value, error = await run_one(instruction, options), None
                except Exception as raised:  # handed back to the flow
                    value, error = None, raised
        finally:
            flow.close()

    async def iterate(self, flow: Generator[Any, Any, Any], options: CallOptions) -> AsyncIterator[Any]:
        """Run a flow that emits values, as an async iterator."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                done, instruction = _advance(flow, value, error)
                if done:
                    return
                if isinstance(instruction, Emit):
                    value, error = None, None
                    yield instruction.value
                    continue
                try:
                    value, error = await self.execute(instruction, options), None
                except Exception as raised:  # handed back to the flow
                    value, error = None, raised
        finally:
            flow.close()

    async def execute(self, instruction: Step[Any] | Sleep, options: CallOptions) -> Any:
        """Run one instruction."""
        if isinstance(instruction, Sleep):
            await asyncio.sleep(instruction.seconds)
            return None
        return await self.step(instruction, options)

    async def step(self, step: Step[T], options: CallOptions) -> T:
        """One logical call: hooks, auth and the retry loop."""
        core = self.core
        call = core.begin(step)
        core.hooks.start(call)
        failure: DeSAMError | None = None
        try:
            key = core.hooks.api_key(call)
            api_key = _check_key(await key if is_awaitable(key) else key)
            metadata = core.hooks.metadata(call)
            while True:
                try:
                    timeout = core.attempt_timeout(call, step, options)
                    if call.attempt > 1 and step.probe is not None:
                        found = await self.step(step.probe(), CallOptions(timeout, NO_RETRY))
                        if found is not None:
                            return found
                    request = _with_key(step, api_key, core.max_request_bytes)
                    if step.rpc.client_streaming:
                        reply = await self.transport.stream(
                            step.rpc, request, timeout=timeout, metadata=metadata
                        )
                    else:
                        reply = await self.transport.unary(
                            step.rpc, request, timeout=timeout, metadata=metadata
                        )
                    return step.parse(reply, call.attempt > 1)
                except Exception as raised:
                    error = core.to_error(raised, call, api_key)
                # Decided and raised outside the except clause, so the error does not carry the
                # raw transport failure (which may echo the key) as its __context__.
                delay = core.retry_delay(call, step, error, options)
                if delay is None:
                    raise core.final_error(step, error)
                core.hooks.retry(call, error, delay)
                await asyncio.sleep(delay)
                call.attempt += 1
        except BaseException as raised:
            failure = core.observed_failure(raised, call)
            raise
        finally:
            core.hooks.end(call, failure)
