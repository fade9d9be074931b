"""Fault injection: make chosen RPCs slow, failing, or "done but the reply was lost"."""

from __future__ import annotations

import random
import threading

import grpc

from ._rpcs import check_rpc_name

__all__ = ["Fault", "Faults"]


class Fault:
    """One injected fault, as returned by :meth:`Faults.add`; see there for the fields.

    Attributes:
        rpc: The RPC it applies to, or ``None`` for every RPC.
        status: gRPC status to answer with.
        error_code: ``error_code`` of a ``success=false`` reply to answer with.
        message: Status details or reply message.
        latency: Seconds to wait before the scheduler acts.
        reply_delay: Seconds to wait after acting, before answering.
        lose_reply: Whether the scheduler acts and the client then gets a status instead of the reply.
    """

    def __init__(
        self,
        owner: Faults,
        rpc: str | None,
        *,
        status: grpc.StatusCode | None,
        error_code: str | None,
        message: str,
        latency: float,
        reply_delay: float,
        lose_reply: bool,
        times: int | None,
        ratio: float | None,
        seed: int,
    ) -> None:
        self._owner = owner
        self.rpc = rpc
        self.status = status
        self.error_code = error_code
        self.message = message
        self.latency = latency
        self.reply_delay = reply_delay
        self.lose_reply = lose_reply
        self._left = times
        self._ratio = ratio
        self._random = random.Random(seed)  # noqa: S311 - reproducible test faults, not security
        self._hits = 0

    @property
    def hits(self) -> int:
        """How many calls this fault has hit so far."""
        with self._owner.lock:
            return self._hits

    def remove(self) -> None:
        """Stop injecting this fault (calls it is already acting on go on)."""
        self._owner.discard(self)

    def _take(self, rpc: str) -> bool:
        """Decide whether this call is hit (caller holds the lock); count the hit."""
        if self.rpc is not None and self.rpc != rpc:
            return False
        if self._ratio is not None and self._random.random() >= self._ratio:
            return False
        self._hits += 1
        if self._left is not None:
            self._left -= 1
        return True

    def _spent(self) -> bool:
        return self._left is not None and self._left <= 0

    def __repr__(self) -> str:
        what = (
            self.status.name
            if self.status
            else self.error_code or ("lost reply" if self.lose_reply else "delay")
        )
        return f"<Fault {self.rpc or '*'} {what} hits={self._hits}>"


class Faults:
    """The faults of one fake scheduler (``fake.faults``). Thread-safe.

    The first fault (in the order they were added) that matches a call applies
    to it; a call gets at most one fault.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._faults: list[Fault] = []
        self._stopping = threading.Event()
        self._sleepers: set[threading.Event] = set()

    def add(
        self,
        rpc: str | None = None,
        *,
        status: grpc.StatusCode | None = None,
        error_code: str | None = None,
        message: str = "injected fault",
        latency: float = 0.0,
        reply_delay: float = 0.0,
        lose_reply: bool = False,
        times: int | None = None,
        ratio: float | None = None,
        seed: int = 0,
    ) -> Fault:
        """Inject a fault into matching calls.

        What a hit call does, in order: wait ``latency`` seconds; answer
        ``status`` (a gRPC error) or a ``success=false`` reply with
        ``error_code`` *without acting*; otherwise act, wait ``reply_delay``
        seconds, and answer, unless ``lose_reply``: then the client gets
        ``status`` (default UNAVAILABLE) although the scheduler acted. The waits
        end at once when the scheduler stops (the call then fails with
        UNAVAILABLE) or the client goes away.

        Args:
            rpc: The RPC name (``"QueryJob"``, ...), or ``None`` for all.
            status: A gRPC status code to answer with.
            error_code: An ``error_code`` to answer with (e.g. ``"JOB_NOT_FOUND"``).
            message: The status details or the reply's message.
            latency: Seconds to wait before acting.
            reply_delay: Seconds to wait after acting, before answering.
            lose_reply: Act, then answer with a status instead of the reply.
            times: Hit only the next this-many matching calls (``None``: all).
            ratio: Hit this fraction of matching calls, drawn from a random generator seeded with ``seed``.
            seed: Seed for ``ratio``.

        Returns:
            A handle with ``.hits`` and ``.remove()``.

        Raises:
            ValueError: For an unknown RPC name or a combination that makes no sense.
        """
        if rpc is not None:
            check_rpc_name(rpc)
        if status is not None and status == grpc.StatusCode.OK:
            raise ValueError("status=OK is not a fault")
        if error_code is not None and (status is not None or lose_reply):
            raise ValueError("error_code cannot be combined with status or lose_reply")
        if latency < 0 or reply_delay < 0:
            raise ValueError("latency and reply_delay must be >= 0")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every call)")
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise ValueError("ratio must be between 0 and 1")
        fault = Fault(
            self,
            rpc,
            status=status,
            error_code=error_code,
            message=message,
            latency=latency,
            reply_delay=reply_delay,
            lose_reply=lose_reply,
            times=times,
            ratio=ratio,
            seed=seed,
        )
        with self.lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self.lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """Return the faults still in force, in the order they apply."""
        with self.lock:
            return list(self._faults)

    def discard(self, fault: Fault) -> None:
        """Remove one fault (no error if it is already gone)."""
        with self.lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def pick(self, rpc: str) -> Fault | None:
        """Return the fault that hits this call of ``rpc``, if any (used by the server)."""
        with self.lock:
            for fault in self._faults:
                if fault._take(rpc):
                    if fault._spent():
                        self._faults.remove(fault)
                    return fault
        return None

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        """Wait ``seconds`` unless ``wake`` is set or the scheduler stops; return whether it slept fully."""
        with self.lock:
            if self._stopping.is_set():
                return False
            self._sleepers.add(wake)
        try:
            return not wake.wait(seconds)
        finally:
            with self.lock:
                self._sleepers.discard(wake)

    @property
    def stopping(self) -> bool:
        """Whether the scheduler is stopping (sleeps no longer wait)."""
        return self._stopping.is_set()

    def interrupt(self) -> None:
        """Wake every sleeping call now and let no new one sleep (the scheduler is stopping)."""
        with self.lock:
            self._stopping.set()
            for wake in self._sleepers:
                wake.set()
