"""One shell command in its own process group, its output read line by line as it comes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

__all__ = ["ProcessGroup", "describe_exit"]

#: How long to wait for output readers once the command and its group are gone.
_READER_JOIN_SECONDS = 5.0


def describe_exit(returncode: int) -> str:
    """Say how a command ended, for ``error_message`` (``"exit code 3"``, ``"killed by signal 9"``)."""
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class ProcessGroup:
    """Runs ``/bin/sh -c command`` as the leader of a new session (so its own process group).

    Two reader threads pass each line of stdout and stderr to ``on_line`` as it
    arrives; a waiter thread reaps the shell, kills whatever it left behind in
    its group, waits for the readers, then sets :attr:`exited` and calls
    ``on_exit``.

    Args:
        command: The shell command.
        env: The whole environment of the command.
        cwd: Its working directory.
        on_line: Called with each output line, without its line end.
        on_exit: Called once, in the waiter thread, after :attr:`exited` is set.

    Raises:
        OSError: If the shell cannot be started.
    """

    def __init__(
        self,
        command: str,
        *,
        env: Mapping[str, str],
        cwd: Path,
        on_line: Callable[[str], None],
        on_exit: Callable[[], None],
    ) -> None:
        self._on_line = on_line
        self._on_exit = on_exit
        self.exited = threading.Event()
        self.returncode: int | None = None
        self._proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self._proc.pid
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(stream,), name=f"desam-output-{self.pid}", daemon=True)
            for stream in (self._proc.stdout, self._proc.stderr)
        ]
        for reader in self._readers:
            reader.start()
        self._waiter = threading.Thread(target=self._wait, name=f"desam-wait-{self.pid}", daemon=True)
        self._waiter.start()

    def signal_group(self, signum: int) -> None:
        """Send a signal to every process of the group; a group that is gone is ignored."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the waiter thread (it ends right after :attr:`exited` is set)."""
        self._waiter.join(timeout)

    def _pump(self, stream: IO[bytes]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                self._on_line(line.removesuffix("\n").removesuffix("\r"))
        finally:
            stream.close()

    def _wait(self) -> None:
        try:
            self.returncode = self._proc.wait()
            self.signal_group(signal.SIGKILL)  # leftovers (background children) die with their job
            for reader in self._readers:
                reader.join(_READER_JOIN_SECONDS)
        finally:
            self.exited.set()
            self._on_exit()
