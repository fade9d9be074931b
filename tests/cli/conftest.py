"""Fixtures of the ``desam`` CLI tests: a dev server subprocess that really runs commands.

The server is started once per module on port 0 with the local executor; its
first stdout line tells the port. Every ``desam`` run is a subprocess
(``python -m desam_client.cli``) with a clean environment: no ``DESAM_*``
variables from the developer's shell and a private ``HOME``/``XDG_CONFIG_HOME``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The key the dev server accepts; its middle part must never appear in any output.
API_KEY = "sk-cli-Sup3rS3cret"
SECRET_PART = "Sup3rS3cret"
USER = "carol"


@dataclass
class DevServer:
    host: str
    port: int
    process: subprocess.Popen[str]


def _read_listening_line(process: subprocess.Popen[str], timeout: float) -> str:
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        found.append(process.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        raise RuntimeError(f"desam-dev-server printed nothing within {timeout} s")
    return found[0]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """``desam-dev-server --port 0 --executor local`` in a subprocess, stopped at the end."""
    data = tmp_path_factory.mktemp("devserver")
    log = (data / "server.err").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desam_testing.devserver",
            "--port",
            "0",
            "--executor",
            "local",
            "--api-key",
            f"{API_KEY}={USER}",
            "--data-dir",
            str(data / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=_clean_env(data),
    )
    try:
        line = _read_listening_line(process, timeout=30)
        match = re.fullmatch(r"desam-dev-server listening on (.+):(\d+)\s*", line)
        assert match, f"unexpected first line {line!r}"
        yield DevServer(match.group(1).strip("[]"), int(match.group(2)), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESAM_")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PYTHONUNBUFFERED"] = "1"
    env["DESAM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


class Desam:
    """Runs ``desam`` as a subprocess against the dev server."""

    def __init__(self, server: DevServer, home: Path) -> None:
        self.server = server
        self.home = home

    def env(self, *, connect: bool = True, **extra: str) -> dict[str, str]:
        env = _clean_env(self.home)
        if connect:
            env.update(DESAM_HOST=self.server.host, DESAM_PORT=str(self.server.port), DESAM_API_KEY=API_KEY)
        env.update(extra)
        return env

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "desam_client.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or self.env(),
        )

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "desam_client.cli", *args],
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = self(*args, env=env)
        assert done.returncode == 0, f"desam {' '.join(args)} failed: {done.stderr}"
        assert SECRET_PART not in done.stdout + done.stderr
        return done.stdout


@pytest.fixture
def desam(dev_server: DevServer, tmp_path: Path) -> Desam:
    return Desam(dev_server, tmp_path)
