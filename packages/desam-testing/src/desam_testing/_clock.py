"""Clocks: where the fake scheduler reads the time from.

The scheduler stamps ``submit_time``, ``start_time`` and ``finish_time`` from a
:class:`Clock`. Tests use a :class:`FakeClock` they move by hand; the dev server
uses the :class:`SystemClock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the time as Unix seconds."""

    def now(self) -> float:
        """Return the current time as Unix seconds (UTC)."""
        ...


class SystemClock:
    """The real wall clock (:func:`time.time`)."""

    def now(self) -> float:
        """Return the current wall-clock time as Unix seconds."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when a test moves it.

    Listeners registered with :meth:`add_listener` run after every
    :meth:`advance`; the manual executor uses this to time out running jobs.

    Args:
        start: The time the clock shows at first, in Unix seconds.

    Example:
        >>> clock = FakeClock(start=100.0)
        >>> clock.advance(2.5)
        >>> clock.now()
        102.5
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[float], None]] = []

    def now(self) -> float:
        """Return the time the clock shows."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward and tell the listeners.

        Args:
            seconds: How far to move, zero or more.

        Raises:
            ValueError: If ``seconds`` is negative; a clock never goes back.
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go back (advance({seconds!r}))")
        with self._lock:
            self._now += seconds
            now = self._now
            listeners = list(self._listeners)
        for listener in listeners:
            listener(now)

    def add_listener(self, listener: Callable[[float], None]) -> Callable[[], None]:
        """Call ``listener(now)`` after every :meth:`advance`.

        Args:
            listener: Called with the new time, in the thread that advanced the clock.

        Returns:
            A function that removes the listener again.
        """
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"
