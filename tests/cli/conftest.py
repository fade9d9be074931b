"""Fixtures of the ``desam`` CLI tests: a dev server subprocess that really runs commands.

The server is started once per module on port 0 with the local executor; its
first stdout line tells the port. Every ``desam`` run is a subprocess
(``python -m desam_client.cli``) with a clean environment: no ``DESAM_*``
variables from the developer's shell and a private ``HOME``/``XDG_CONFIG_HOME``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desam_testing import DevServerProcess, run_dev_server

#: The key the dev server accepts; its middle part must never appear in any output.
API_KEY = "sk-cli-Sup3rS3cret"
SECRET_PART = "Sup3rS3cret"
USER = "carol"


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    """``desam-dev-server --port 0 --executor local`` in a subprocess, stopped at the end."""
    data = tmp_path_factory.mktemp("devserver")
    args = [
        "--port",
        "0",
        "--executor",
        "local",
        "--api-key",
        f"{API_KEY}={USER}",
        "--data-dir",
        str(data / "data"),
    ]
    with run_dev_server(*args, env=_clean_env(data), stderr=data / "server.err") as server:
        yield server


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESAM_")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PYTHONUNBUFFERED"] = "1"
    env["DESAM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


class Desam:
    """Runs ``desam`` as a subprocess against the dev server."""

    def __init__(self, server: DevServerProcess, home: Path) -> None:
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
def desam(dev_server: DevServerProcess, tmp_path: Path) -> Desam:
    return Desam(dev_server, tmp_path)
