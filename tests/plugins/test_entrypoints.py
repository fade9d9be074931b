"""Entry-point plugins (group ``desam.plugins``) and the example plugin package, for both clients.

Installing ``examples/plugins`` for real (pip into a throwaway venv) is slow, so the
tests make what an installation leaves behind: a ``*.dist-info`` directory with
``METADATA`` and ``entry_points.txt`` in a temporary directory put on ``sys.path``,
next to the example's sources. ``importlib.metadata`` then finds the distribution
as it finds an installed one.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from desam_client import ConfigurationError, RetryPolicy
from desam_client.plugins import DISABLE_AUTOLOAD_ENV
from desam_testing import FakeScheduler

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugins"
#: What examples/plugins/pyproject.toml declares (checked by a test below).
ENTRY_POINTS = {"counter": "desam_example_plugin:CallCounter"}


def _install(site: Path, entry_points: dict[str, str]) -> None:
    """Leave in ``site`` what installing desam-example-plugin leaves: its dist-info."""
    dist = site / "desam_example_plugin-0.1.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: desam-example-plugin\nVersion: 0.1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[desam.plugins]\n{lines}")
    # importlib.metadata keeps a per-directory cache of what it found; forget it.
    importlib.invalidate_caches()


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``installed()`` installs the example plugin (its dist-info, and its sources on sys.path)."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    yield lambda entry_points=ENTRY_POINTS: _install(site, entry_points)
    monkeypatch.undo()
    sys.modules.pop("desam_example_plugin", None)
    importlib.invalidate_caches()


def test_the_example_declares_the_entry_point_the_tests_install() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert project["name"] == "desam-example-plugin"
    assert project["entry-points"]["desam.plugins"] == ENTRY_POINTS


def test_an_installed_plugin_is_loaded_and_sees_the_calls(
    make_client: Any, fake: FakeScheduler, installed: Any
) -> None:
    installed()
    client = make_client(load_entrypoint_plugins=True, retry=RetryPolicy(initial_backoff=0.01))
    counter = client.plugin_manager.get_plugin("counter")
    assert type(counter).__name__ == "CallCounter"  # the class was instantiated
    job_id = client.submit_job(name="x", command="true")
    fake.faults.add("QueryJob", status=grpc.StatusCode.UNAVAILABLE, times=1)
    client.get_info(job_id)
    assert counter.calls == {"SubmitJob": 1, "QueryJob": 1}
    assert counter.retries == {"QueryJob": 1}
    assert counter.failures == {}


def test_each_client_gets_its_own_instance(make_client: Any, installed: Any) -> None:
    installed()
    first = make_client(load_entrypoint_plugins=True)
    second = make_client(load_entrypoint_plugins=True)
    first.list_jobs()
    counters = [c.plugin_manager.get_plugin("counter") for c in (first, second)]
    assert counters[0] is not counters[1]
    assert counters[0].calls == {"ListJobs": 1}
    assert counters[1].calls == {}


def test_the_argument_switches_entry_points_off(make_client: Any, installed: Any) -> None:
    installed()
    client = make_client(load_entrypoint_plugins=False)
    assert client.plugin_manager.get_plugin("counter") is None


@pytest.mark.parametrize("value", ["1", "true"])
def test_the_environment_switches_entry_points_off(
    make_client: Any, installed: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    installed()
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, value)
    client = make_client(load_entrypoint_plugins=True)
    assert client.plugin_manager.get_plugin("counter") is None


def test_a_plugin_installed_after_a_client_was_made_is_found_by_the_next(
    make_client: Any, installed: Any
) -> None:
    assert make_client(load_entrypoint_plugins=True).plugin_manager.get_plugin("counter") is None
    installed()
    assert make_client(load_entrypoint_plugins=True).plugin_manager.get_plugin("counter") is not None


def test_a_plugin_that_fails_to_load_names_itself_and_the_way_out(make_client: Any, installed: Any) -> None:
    installed({"broken": "desam_example_plugin:NoSuchThing"})
    with pytest.raises(ConfigurationError) as info:
        make_client(load_entrypoint_plugins=True)
    message = str(info.value)
    assert "'broken'" in message
    assert "desam_example_plugin:NoSuchThing" in message
    assert DISABLE_AUTOLOAD_ENV in message


# -- the example's other plugin: an API key kept in a file that rotates -----------------------------


def _rotate(path: Path, key: str) -> None:
    fresh = path.with_suffix(".new")
    fresh.write_text(key + "\n")
    os.replace(fresh, path)


def test_the_key_file_plugin_follows_rotation(
    make_client: Any, fake: FakeScheduler, installed: Any, tmp_path: Path
) -> None:
    from desam_example_plugin import KeyFile

    key_file = tmp_path / "desam-key"
    plugin = KeyFile(key_file)
    client = make_client(api_key="sk-admin", plugins=[plugin])
    client.list_jobs()  # no file yet: the constructor's key
    _rotate(key_file, "sk-test")
    client.list_jobs()
    client.list_jobs()
    _rotate(key_file, "sk-other")
    client.list_jobs()
    assert [r.api_key for r in fake.requests("ListJobs")] == ["sk-admin", "sk-test", "sk-test", "sk-other"]
    assert "sk-" not in repr(plugin)
