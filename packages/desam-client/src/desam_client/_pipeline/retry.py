"""Retry policy and the pure decision behind every retry (no sleeping here)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from desam_client._core.error_table import is_transient
from desam_client._core.rpcs import RetrySafety, RpcSpec
from desam_client.exceptions import ClientClosedError, DeSAMError, InvalidArgumentError


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries a call that failed with a transient error.

    Only faults that can heal are retried (UNAVAILABLE, DEADLINE_EXCEEDED,
    RESOURCE_EXHAUSTED, ABORTED, and a CANCELLED the client did not ask for, as a
    stopping scheduler sends), never a bad key, a missing job, an invalid argument
    or a failed TLS handshake. Reads, cancels and uploads are safe to repeat; a submission is
    repeated only after a look-up shows the earlier attempt created no job.
    """

    max_attempts: int = 6
    """Attempts in all, the first included (1 = no retries)."""
    initial_backoff: float = 0.2
    """Upper bound of the first pause, in seconds."""
    max_backoff: float = 5.0
    """Upper bound of any pause, in seconds."""
    multiplier: float = 2.0
    """Growth of the pause's upper bound per attempt."""
    total_timeout: float | None = 120.0
    """Budget in seconds for the whole call, all attempts and pauses together (None: no budget).
    Each attempt's deadline is the smaller of the client's ``timeout`` and what is left."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise InvalidArgumentError("max_attempts: must be an int >= 1", argument="max_attempts")
        for name in ("initial_backoff", "max_backoff", "multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise InvalidArgumentError(
                    f"{name}: must be a finite number >= 0, got {value!r}", argument=name
                )
        total = self.total_timeout
        if total is not None and (
            isinstance(total, bool) or not isinstance(total, (int, float)) or not total > 0
        ):
            raise InvalidArgumentError(
                f"total_timeout: must be a number > 0 or None, got {total!r}", argument="total_timeout"
            )

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The pause after failed attempt number ``attempt`` (1-based): full jitter."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return (rng or _RNG).uniform(0.0, ceiling)


#: A policy that never retries.
NO_RETRY = RetryPolicy(max_attempts=1)

_RNG = random.Random()  # noqa: S311 - jitter, not security


def retry_delay(
    policy: RetryPolicy,
    rpc: RpcSpec,
    attempt: int,
    error: DeSAMError,
    remaining: float | None,
) -> float | None:
    """The pause before the next attempt, or None when the call must not be retried."""
    if attempt >= policy.max_attempts or isinstance(error, ClientClosedError):
        return None
    if rpc.retry_safety is RetrySafety.NEVER or not is_transient(error):
        return None
    delay = policy.backoff(attempt)
    if remaining is not None and delay >= remaining:
        return None
    return delay
