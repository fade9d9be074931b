"""What plugins see of a call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallInfo:
    """One logical call: an RPC with all its attempts.

    Plugins read it; they may keep their own per-call data in :attr:`state`
    under a key of their own.
    """

    rpc: str
    """The RPC name, e.g. ``"QueryJob"``."""
    method: str
    """The full gRPC method path, ``/desam.client.ClientService/QueryJob``."""
    target: str
    """The gRPC target the client talks to (``host:port`` or a full target)."""
    server_address: str
    """The host part of the target."""
    server_port: int | None
    """The port part of the target, if known."""
    job_id: str | None = None
    """The job concerned, where there is one."""
    attempt: int = 1
    """The current attempt, starting at 1."""
    started: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` at the start of the call."""
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space for plugins, per call."""

    @property
    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started
