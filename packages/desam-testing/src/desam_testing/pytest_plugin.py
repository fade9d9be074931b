"""The ``desam`` pytest plugin, active whenever desam-testing is installed (entry point ``pytest11``).

Fixtures:

* ``desam_scheduler``: a fresh :class:`~desam_testing.FakeScheduler` (manual
  executor) per test; ``desam_scheduler_session``: one for the whole session.
* ``desam_client`` / ``desam_async_client``: a connected
  :class:`~desam_client.DeSAMClient` / :class:`~desam_client.AsyncDeSAMClient`,
  closed after the test. The async one is created without a running loop and
  opens its channel in the loop of the test that first uses it.
* ``desam_faults``: the fake's fault handle (``desam_faults.add("QueryJob", ...)``).

Options ``--desam-target HOST:PORT`` and ``--desam-api-key KEY`` (or the
environment variables ``DESAM_TEST_TARGET`` and ``DESAM_TEST_API_KEY``) point
the client fixtures at a real scheduler instead, so one behavioural suite runs
against both; fixtures that need the fake (``desam_scheduler``,
``desam_faults``) then skip with a reason saying so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from desam_testing._server import FakeScheduler

#: The API key the fixtures' fake accepts, and the user it maps to.
TEST_API_KEY = "sk-test"
TEST_USER = "alice"


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    api_key: str


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--desam-target`` and ``--desam-api-key``."""
    group = parser.getgroup("desam", "DeSAM scheduler fixtures")
    group.addoption(
        "--desam-target",
        default=os.environ.get("DESAM_TEST_TARGET"),
        help="HOST:PORT of a real scheduler for the desam_* client fixtures (env DESAM_TEST_TARGET)",
    )
    group.addoption(
        "--desam-api-key",
        default=os.environ.get("DESAM_TEST_API_KEY"),
        help="API key for --desam-target (env DESAM_TEST_API_KEY)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check ``--desam-target``/``--desam-api-key`` once, before any test runs."""
    _real_target(config)


def _real_target(config: pytest.Config) -> _Target | None:
    target = config.getoption("--desam-target")
    if not target:
        return None
    host, sep, port = str(target).rpartition(":")
    if not sep or not port.isdigit():
        raise pytest.UsageError(f"--desam-target must be HOST:PORT, got {target!r}")
    key = config.getoption("--desam-api-key")
    if not key:
        raise pytest.UsageError("--desam-target needs --desam-api-key (or DESAM_TEST_API_KEY)")
    return _Target(host.strip("[]"), int(port), str(key))


def _fake_only(config: pytest.Config) -> None:
    if _real_target(config) is not None:
        pytest.skip("this test needs the fake scheduler; --desam-target points at a real one")


@pytest.fixture
def desam_scheduler(request: pytest.FixtureRequest) -> Iterator[FakeScheduler]:
    """A fake scheduler for this test (manual executor, key ``sk-test`` for user ``alice``)."""
    _fake_only(request.config)
    with FakeScheduler(api_keys={TEST_API_KEY: TEST_USER}) as scheduler:
        yield scheduler


@pytest.fixture(scope="session")
def desam_scheduler_session(request: pytest.FixtureRequest) -> Iterator[FakeScheduler]:
    """One fake scheduler shared by the whole session."""
    _fake_only(request.config)
    with FakeScheduler(api_keys={TEST_API_KEY: TEST_USER}) as scheduler:
        yield scheduler


@pytest.fixture
def desam_faults(desam_scheduler: FakeScheduler) -> Any:
    """The fault handle of ``desam_scheduler``; faults are cleared after the test."""
    yield desam_scheduler.faults
    desam_scheduler.faults.clear()


def _target(request: pytest.FixtureRequest) -> _Target:
    real = _real_target(request.config)
    if real is not None:
        return real
    fake: FakeScheduler = request.getfixturevalue("desam_scheduler")
    return _Target(fake.host, fake.port, TEST_API_KEY)


@pytest.fixture
def desam_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A ``DeSAMClient`` connected to ``desam_scheduler`` (or to ``--desam-target``)."""
    from desam_client import DeSAMClient

    target = _target(request)
    with DeSAMClient(
        host=target.host, port=target.port, api_key=target.api_key, load_entrypoint_plugins=False
    ) as client:
        yield client


@pytest.fixture
def desam_async_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An ``AsyncDeSAMClient`` connected like ``desam_client``; use it from one event loop.

    It is closed after the test in a loop of its own if the test did not close it.
    """
    import asyncio

    from desam_client import AsyncDeSAMClient

    target = _target(request)
    client = AsyncDeSAMClient(
        host=target.host, port=target.port, api_key=target.api_key, load_entrypoint_plugins=False
    )
    yield client
    if not client.closed:
        asyncio.run(client.close())
