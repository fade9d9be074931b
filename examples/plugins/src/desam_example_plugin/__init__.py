"""Example DeSAM client plugins.

* :class:`CallCounter` counts calls, failures and retries per RPC. This
  package's entry point (group ``desam.plugins``, name ``counter``) makes every
  client in the environment load one instance of it.
* :class:`KeyFile` answers the ``desam_api_key`` hook with a key kept in a file
  that some other process rotates. Pass it explicitly:
  ``DeSAMClient(..., plugins=[KeyFile("/run/secrets/desam-key")])``.

Both are plain classes with methods marked ``@hookimpl``; see
:mod:`desam_client.plugins.hookspecs` for every hook.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

from desam_client import CallInfo, DeSAMError, hookimpl

__all__ = ["CallCounter", "KeyFile"]
__version__ = "0.1.0"


class CallCounter:
    """Counts what a client does, per RPC name. Safe to share across threads.

    Find a client's instance with ``client.plugin_manager.get_plugin("counter")``
    when it was loaded from the entry point.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        """Logical calls that ended, by RPC (retries not counted twice)."""
        self.failures: Counter[str] = Counter()
        """Calls that ended with an error, by RPC."""
        self.retries: Counter[str] = Counter()
        """Retries, by RPC."""

    @hookimpl
    def desam_call_retry(self, call: CallInfo) -> None:
        """Count a retry."""
        with self._lock:
            self.retries[call.rpc] += 1

    @hookimpl
    def desam_call_end(self, call: CallInfo, error: DeSAMError | None) -> None:
        """Count a finished call, and whether it failed."""
        with self._lock:
            self.calls[call.rpc] += 1
            if error is not None:
                self.failures[call.rpc] += 1

    def __repr__(self) -> str:
        with self._lock:
            return f"CallCounter(calls={dict(self.calls)}, failures={dict(self.failures)})"


class KeyFile:
    """Supplies the API key from a file, read again whenever the file is replaced.

    Rotate the key by writing the new one to a temporary file and renaming it
    over the old one (``os.replace``), which is also how secret mounts change.
    While the file is missing or empty the plugin passes, and the key the
    client was created with is used. The key is never shown in a repr.

    Args:
        path: The file holding the key (surrounding whitespace is ignored).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._key: str | None = None

    @hookimpl
    def desam_api_key(self) -> str | None:
        """The file's key, or None while there is none."""
        try:
            info = self._path.stat()
        except FileNotFoundError:
            return None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._key = self._path.read_text(encoding="utf-8").strip() or None
                self._stamp = stamp
            return self._key

    def __repr__(self) -> str:
        return f"KeyFile({str(self._path)!r})"
