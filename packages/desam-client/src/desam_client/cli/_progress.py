"""Progress on stderr for long commands (uploads, waits), drawn only on a terminal.

When stderr is not a TTY (a pipe, a log file, CI) nothing is drawn: the
command's normal output on stdout says what happened.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress", "human_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(count: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    size = float(count)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class Progress:
    """One status line on stderr, redrawn in place at most every ``interval`` seconds.

    Args:
        stream: Where to draw (default ``sys.stderr``).
        enabled: Draw at all; default: only when ``stream`` is a terminal.
        interval: Smallest time between two redraws, in seconds.
    """

    def __init__(
        self, stream: TextIO | None = None, *, enabled: bool | None = None, interval: float = 0.1
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self._stream) if enabled is None else enabled
        self._interval = interval
        self._last = 0.0
        self._width = 0
        self._lock = threading.Lock()  # upload callbacks may come from another thread

    def show(self, text: str, *, force: bool = False) -> None:
        """Replace the status line with ``text`` (skipped when drawn too recently, unless ``force``)."""
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self._interval:
                return
            self._last = now
            pad = max(0, self._width - len(text))
            self._stream.write("\r" + text + " " * pad)
            self._stream.flush()
            self._width = len(text)

    def bytes(self, label: str, sent: int, total: int) -> None:
        """A transfer's bar: ``label [#####-----]  50%  1.0 MiB / 2.0 MiB``."""
        fraction = 1.0 if total <= 0 else min(1.0, sent / total)
        filled = int(fraction * 24)
        bar = "#" * filled + "-" * (24 - filled)
        text = f"{label} [{bar}] {fraction:4.0%}  {human_bytes(sent)} / {human_bytes(total)}"
        self.show(text, force=sent >= total)

    def done(self) -> None:
        """Clear the status line."""
        with self._lock:
            if self.enabled and self._width:
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
                self._width = 0


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
