"""Shared helpers for the tests of desam_client.files."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Union

import pytest

Tree = dict[str, Union[bytes, "Tree"]]


def write_tree(root: Path, tree: Tree, *, reverse: bool = False) -> None:
    """Create ``tree`` (name -> bytes for a file, name -> dict for a directory) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in sorted(tree, reverse=reverse):
        value = tree[name]
        path = root / name
        if isinstance(value, bytes):
            path.write_bytes(value)
        else:
            write_tree(path, value, reverse=reverse)


def read_tree(root: Path) -> Tree:
    """The inverse of :func:`write_tree`."""
    return {
        child.name: read_tree(child) if child.is_dir() else child.read_bytes() for child in root.iterdir()
    }


def set_age(path: Path, seconds: float = 3600.0) -> None:
    """Move a file's times into the past, out of HashCache's racy window."""
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def tree_writer() -> Callable[..., None]:
    return write_tree


@pytest.fixture
def tree_reader() -> Callable[[Path], Tree]:
    return read_tree


@pytest.fixture
def aged() -> Callable[..., None]:
    return set_age


@pytest.fixture
def restore_tz() -> Iterator[None]:
    """Re-read TZ after the test (monkeypatch restores the variable itself)."""
    yield
    time.tzset()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path (UNIX socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dsm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
