"""Fixtures for the ``client.files`` tests: the files API of either client, called the same way.

``client`` (from the root conftest) is a ``DeSAMClient`` or a ``SyncView`` over an
``AsyncDeSAMClient``; :func:`files_of` gives its ``files`` API with blocking methods
in both cases, so one test body covers both clients.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desam_testing import FakeScheduler


class FilesView:
    """Blocking access to an ``AsyncFilesAPI`` through the SyncView's event loop."""

    def __init__(self, api: Any, call: Callable[[Any], Any]) -> None:
        object.__setattr__(self, "_api", api)
        object.__setattr__(self, "_run", call)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._run(attr(*a, **k))
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._api, name, value)


def files_of(client: Any) -> Any:
    """The files API of ``client`` with blocking methods."""
    api = client.files
    call = getattr(client, "_call", None)
    return FilesView(api, call) if call is not None else api


@pytest.fixture
def files(client: Any) -> Any:
    """``client.files`` of the current client kind, with blocking methods."""
    return files_of(client)


@pytest.fixture
def files_for() -> Callable[[Any], Any]:
    """:func:`files_of`, as a fixture: the blocking files API of any client made in a test."""
    return files_of


@pytest.fixture
def evict() -> Callable[[FakeScheduler, str], None]:
    """Remove a blob from a fake's cache, as a scheduler's eviction would.

    The fake has no public eviction API; this reaches into its blob cache.
    """

    def run(fake: FakeScheduler, file_hash: str) -> None:
        cache = fake._blobs
        with cache._lock:
            cache._sizes.pop(file_hash, None)
            for charged in cache._charged.values():
                charged.discard(file_hash)
        (fake.data_dir / "blobs" / file_hash).unlink(missing_ok=True)

    return run


@pytest.fixture
def other_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Switch the process's time zone (``TZ`` + ``time.tzset``); restored afterwards."""

    def switch(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


def write_tree(root: Path, tree: dict[str, Any], *, reverse: bool = False) -> None:
    """Create ``tree`` (name -> bytes for a file, name -> dict for a directory) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in sorted(tree, reverse=reverse):
        value = tree[name]
        if isinstance(value, bytes):
            (root / name).write_bytes(value)
        else:
            write_tree(root / name, value, reverse=reverse)


@pytest.fixture
def make_tree() -> Callable[..., None]:
    """:func:`write_tree`, as a fixture (test modules cannot import this conftest)."""
    return write_tree


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def eventually() -> Callable[..., bool]:
    """:func:`wait_until`, as a fixture."""
    return wait_until
