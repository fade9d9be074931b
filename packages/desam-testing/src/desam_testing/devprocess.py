"""Run ``desam-dev-server`` as a child process, for demos and end-to-end tests.

>>> with run_dev_server("--port", "0", "--api-key", "sk-me=me") as server:   # doctest: +SKIP
...     client = DeSAMClient(host=server.host, port=server.port, api_key="sk-me")
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_LISTENING = re.compile(r"desam-dev-server listening on (.+):(\d+)\s*")


@dataclass(frozen=True)
class DevServerProcess:
    """A running dev server child process."""

    host: str
    """The host it listens on."""
    port: int
    """The port it listens on (the real one, also with ``--port 0``)."""
    process: subprocess.Popen[str]
    """The child process."""

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        found.append(process.stdout.readline())

    reader = threading.Thread(target=read, name="dev-server-stdout", daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else ""


@contextlib.contextmanager
def run_dev_server(
    *args: str,
    env: Mapping[str, str] | None = None,
    stderr: Path | None = None,
    start_timeout: float = 30.0,
    stop_timeout: float = 20.0,
) -> Iterator[DevServerProcess]:
    """Start ``desam-dev-server *args`` and yield it once it listens; stop it with SIGTERM.

    Args:
        *args: The dev server's command-line options (``"--port", "0"`` for a free port).
        env: The child's environment (default: this process's).
        stderr: A file for the server's standard error (default: discarded).
        start_timeout: Seconds to wait for the ``listening on`` line.
        stop_timeout: Seconds to wait for a clean exit after SIGTERM before killing it.

    Raises:
        RuntimeError: The server did not start, did not stop on SIGTERM, or exited non-zero.
    """
    cmd = [sys.executable, "-m", "desam_testing.devserver", *args]
    with contextlib.ExitStack() as stack:
        err: IO[str] | int = stack.enter_context(stderr.open("w")) if stderr else subprocess.DEVNULL
        process = stack.enter_context(
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        )
        line = _first_line(process, start_timeout)
        match = _LISTENING.fullmatch(line)
        if match is None:
            process.kill()
            process.wait()
            detail = stderr.read_text()[-2000:] if stderr else ""
            raise RuntimeError(f"desam-dev-server did not start (it printed {line!r}) {detail}")
        try:
            yield DevServerProcess(match.group(1).strip("[]"), int(match.group(2)), process)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise RuntimeError("desam-dev-server did not stop on SIGTERM") from None
        if code != 0:
            raise RuntimeError(f"desam-dev-server exited with code {code}")
