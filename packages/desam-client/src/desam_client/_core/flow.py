"""Operations as sans-I/O generators, so the sync and the async client share every decision.

A public method builds a *flow*: a generator that yields instructions and gets
their results sent back. :class:`Step` asks for one RPC (with retries),
:class:`Sleep` for a pause, :class:`Emit` hands a value to the caller of an
iterator. The sync client drives a flow with plain calls, the async client with
``await``; the flow itself never does I/O, so it is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from desam_client._core.error_table import error_from_reply
from desam_client._core.rpcs import RpcSpec
from desam_client.exceptions import DeSAMError

T = TypeVar("T")

#: Builds the chunks of a client stream, given the API key; called again for every attempt.
StreamFactory = Callable[[str], Iterable[Message]]


@dataclass(frozen=True)
class Step(Generic[T]):
    """One RPC to run through the call pipeline (auth, hooks, retries)."""

    rpc: RpcSpec
    request: Message | StreamFactory
    """The request (its ``api_key`` is filled in by the pipeline) or, for a stream, a factory."""
    parse: Callable[[Any, bool], T]
    """Turns the reply into the result, raising for a failure reply; the flag says whether
    this reply answers a retried attempt."""
    job_id: str | None = None
    """The job concerned, for errors, spans and log events."""
    probe: Callable[[], Step[T | None]] | None = None
    """For RPCs that are unsafe to repeat: a read that finds an earlier attempt's result
    (None when there is none), run before any retry."""
    timeout: float | None = None
    """A per-attempt deadline that overrides the client's (uploads scale it with the size)."""
    unknown_outcome: Callable[[DeSAMError], DeSAMError] | None = None
    """For probed steps: the error to raise when retries end and it is unknown whether the
    request took effect."""

    def __iter__(self) -> Generator[Step[T], Any, T]:
        """A Step is also the flow of that one RPC, so ``yield from step`` gives its result."""
        result: T = yield self
        return result


@dataclass(frozen=True)
class Sleep:
    """Pause for ``seconds`` (the sync client's pause ends early when the client closes)."""

    seconds: float


@dataclass(frozen=True)
class Emit(Generic[T]):
    """Hand ``value`` to whoever iterates the flow (for iterator-style helpers)."""

    value: T


Instruction = Step[Any] | Sleep | Emit[Any]
#: A flow that returns one result of type R.
Flow = Generator[Step[Any] | Sleep, Any, T]
#: A flow that emits values of type T (its return value is ignored).
StreamFlow = Generator[Instruction, Any, None]


def checked(reply: Any, rpc: RpcSpec, job_id: str | None = None) -> Any:
    """Return ``reply``, or raise the mapped error when its ``response.success`` is false."""
    common = reply.response
    if not common.success:
        raise error_from_reply(common, rpc=rpc.name, job_id=job_id)
    return reply
