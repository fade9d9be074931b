"""Fixtures shared by the cross-package tests: a fake scheduler, and clients of both kinds.

The behavioural suite runs every test against ``DeSAMClient`` and
``AsyncDeSAMClient``: the async client is driven through :class:`SyncView`,
which runs its coroutines on an event loop in a helper thread, so one test body
serves both clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desam_client import AsyncDeSAMClient, DeSAMClient
from desam_testing import FakeScheduler, run_dev_server

KEYS = {"sk-test": "alice", "sk-other": "bob", "sk-admin": "admin"}


class SyncView:
    """Blocking access to an AsyncDeSAMClient whose coroutines run on a loop in another thread."""

    def __init__(self, factory: Callable[[], AsyncDeSAMClient]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="async-client-loop", daemon=True)
        self._thread.start()
        self._client = self._call(_make(factory))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=120)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._call(attr(*a, **k))
        if inspect.isasyncgenfunction(attr):
            return lambda *a, **k: iter(self._call(_collect(attr(*a, **k))))
        return attr

    def __repr__(self) -> str:
        return repr(self._client)

    def shutdown(self) -> None:
        """Close the client and stop the loop thread."""
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


async def _make(factory: Callable[[], AsyncDeSAMClient]) -> AsyncDeSAMClient:
    return factory()


async def _collect(agen: Any) -> list[Any]:
    return [item async for item in agen]


@pytest.fixture
def keys() -> dict[str, str]:
    """The fake's API keys and their users."""
    return dict(KEYS)


@pytest.fixture
def fake() -> Iterator[FakeScheduler]:
    """A fake scheduler (manual executor) with three keys: alice, bob and an admin."""
    with FakeScheduler(api_keys=KEYS, admin_keys=["sk-admin"]) as scheduler:
        yield scheduler


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    """Which client a behavioural test runs with."""
    return str(request.param)


@pytest.fixture
def make_client(fake: FakeScheduler, client_kind: str) -> Iterator[Callable[..., Any]]:
    """Build clients of the current kind connected to ``fake``; all closed at teardown."""
    made: list[Any] = []

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("host", fake.host)
        kwargs.setdefault("port", fake.port)
        kwargs.setdefault("api_key", "sk-test")
        kwargs.setdefault("load_entrypoint_plugins", False)
        if client_kind == "sync":
            made_client: Any = DeSAMClient(**kwargs)
        else:
            made_client = SyncView(lambda: AsyncDeSAMClient(**kwargs))
        made.append(made_client)
        return made_client

    yield factory
    for item in made:
        if isinstance(item, SyncView):
            item.shutdown()
        else:
            item.close()


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    """A client of the current kind, with alice's key."""
    return make_client()


@contextlib.contextmanager
def _dev_server(*args: str, log: Path) -> Iterator[tuple[str, int]]:
    with run_dev_server(*args, stderr=log) as server:
        yield server.host, server.port


@pytest.fixture
def dev_server(tmp_path: Path) -> Callable[..., contextlib.AbstractContextManager[tuple[str, int]]]:
    """Start ``desam-dev-server`` as a subprocess: ``with dev_server("--port", "0") as (host, port):``.

    A data directory under ``tmp_path`` is added unless one is given; the server is stopped
    with SIGTERM at the end of the block and must exit 0.
    """

    started: list[int] = []

    def start(*args: str) -> contextlib.AbstractContextManager[tuple[str, int]]:
        extra = [] if "--data-dir" in args else ["--data-dir", str(tmp_path / "dev-server-data")]
        started.append(1)
        return _dev_server(*args, *extra, log=tmp_path / f"dev-server-{len(started)}.log")

    return start
