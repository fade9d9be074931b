"""Shared pieces of the reliability suite: figures, a retry recorder, resource counts.

The figures each test prints (``[reliability] ...`` lines, shown with ``pytest -s``)
are the ones quoted in ``docs/reliability.md``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from desam_client import DeSAMError, hookimpl


class RetryRecorder:
    """A plugin that counts the retries a client makes and keeps the type of every error it retried."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_error: Counter[str] = Counter()
        self.by_rpc: Counter[str] = Counter()
        self.not_desam: list[BaseException] = []
        self.most_attempts = 1

    @hookimpl
    def desam_call_retry(self, call: Any, error: Any, delay: float) -> None:
        with self._lock:
            self.by_error[type(error).__name__] += 1
            self.by_rpc[call.rpc] += 1
            self.most_attempts = max(self.most_attempts, call.attempt + 1)
            if not isinstance(error, DeSAMError):
                self.not_desam.append(error)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_rpc.values())


@pytest.fixture
def retry_recorder() -> RetryRecorder:
    """A fresh :class:`RetryRecorder` to pass in ``plugins=[...]``."""
    return RetryRecorder()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Print one line of figures for the docs: ``report(jobs=500, retries=812)``."""

    def emit(**figures: Any) -> None:
        text = " ".join(f"{key}={value}" for key, value in figures.items())
        print(f"\n[reliability] {request.node.name}: {text}")

    return emit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def port_factory() -> Callable[[], int]:
    """Hands out free ports (see :func:`free_port`)."""
    return free_port


@pytest.fixture
def fd_count() -> Callable[[], int]:
    """Counts this process's open file descriptors (Linux ``/proc``)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to count file descriptors")
    return open_fds
