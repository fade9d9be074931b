"""Hypothesis-generated arguments for every public job method of both clients.

* Every invalid argument raises ``InvalidArgumentError`` (a ``DeSAMError`` and a
  ``ValueError``) whose ``argument`` names it, and nothing reaches the scheduler:
  its request counter does not move.
* Valid input round-trips: what ``submit_job`` sent is what ``get_info`` gives
  back, with arbitrary Unicode text, maps and the int32/int64 bounds.

One argument is made invalid per example, the others stay valid, so the error
must name exactly that one. The examples are derandomized: the same on every run.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desam_client import DeSAMClient, DeSAMError, InvalidArgumentError, RetryPolicy
from desam_testing import SUBMISSION_ID_KEY, Capacity, FakeScheduler

INT32 = 2**31 - 1
INT64 = 2**63 - 1
KEYS = {"sk-test": "alice"}


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
def fake() -> Iterator[FakeScheduler]:
    """Room for any int32/int64 resource request, so that only the client can refuse input."""
    capacity = Capacity(cpu=INT32, memory_mb=INT64, gpu=INT32)
    with FakeScheduler(api_keys=KEYS, capacity=capacity) as scheduler:
        yield scheduler


# -- invalid values ----------------------------------------------------------------------------

_junk = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.integers()),
    st.sets(st.integers(), max_size=2),
    st.complex_numbers(),
    st.builds(object),
)
_surrogate = st.integers(0xD800, 0xDFFF).map(chr)
#: A str that cannot be sent: a lone surrogate somewhere in otherwise fine text.
_unsendable = st.tuples(st.text(max_size=8), _surrogate, st.text(max_size=8)).map("".join)
_blank = st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u3000", max_size=6)


def bad_int(low: int, high: int, *, none_ok: bool = False) -> st.SearchStrategy[Any]:
    """Out of range, or not an int (bool is not an int here)."""
    wrong = [st.integers(max_value=low - 1), st.integers(min_value=high + 1), _junk, st.text(max_size=5)]
    if not none_ok:
        wrong.append(st.none())
    return st.one_of(*wrong)


def bad_text(*, required: bool = True) -> st.SearchStrategy[Any]:
    """Not a str, a lone surrogate, or (when required) blank."""
    wrong = [st.integers(), _junk, _unsendable]
    if required:
        wrong += [st.none(), _blank]
    return st.one_of(*wrong)


def bad_map() -> st.SearchStrategy[Any]:
    """Not a mapping, a key or a value that is not a str, or an unsendable str."""
    text = st.text(max_size=5)
    return st.one_of(
        st.lists(st.tuples(text, text), min_size=1, max_size=2),
        st.text(min_size=1, max_size=5),
        st.integers(),
        st.dictionaries(
            st.one_of(st.integers(), st.none(), st.booleans(), st.floats()), text, min_size=1, max_size=2
        ),
        st.dictionaries(
            text,
            st.one_of(st.integers(), st.none(), st.booleans(), st.floats(), st.binary()),
            min_size=1,
            max_size=2,
        ),
        st.dictionaries(_unsendable, text, min_size=1, max_size=1),
        st.dictionaries(text, _unsendable, min_size=1, max_size=1),
    )


def bad_list() -> st.SearchStrategy[Any]:
    """A bare str or bytes, not iterable, or holding a bad item."""
    good = st.text(min_size=1, max_size=8).filter(str.strip)
    bad_item = st.one_of(st.integers(), st.none(), st.floats(), st.binary(max_size=3), _blank, _unsendable)
    return st.one_of(
        st.text(max_size=8),
        st.binary(max_size=8),
        st.integers(),
        st.floats(),
        st.tuples(st.lists(good, max_size=2), bad_item, st.lists(good, max_size=2)).map(
            lambda t: [*t[0], t[1], *t[2]]
        ),
    )


def bad_seconds(*, zero_ok: bool) -> st.SearchStrategy[Any]:
    """Negative (or zero), NaN, or not a number."""
    limit = -1e-9 if zero_ok else 0.0
    return st.one_of(
        st.floats(max_value=limit),
        st.integers(max_value=-1 if zero_ok else 0),
        st.just(math.nan),
        st.booleans(),
        st.text(max_size=4),
        st.lists(st.integers(), max_size=1),
    )


_STATUS_NAMES = {
    "UNKNOWN",
    "QUEUED",
    "PREPARING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "DATA_DEPENDENCY_ERROR",
}
_bad_status = st.one_of(
    st.text(max_size=12).filter(lambda s: s not in _STATUS_NAMES),
    st.sampled_from(["running", "Queued", "RUNNNING", " RUNNING", "RUNNING "]),
    st.integers(),
    _junk,
)
_bad_retry = st.one_of(
    st.integers(), st.text(max_size=4), st.floats(), st.dictionaries(st.text(), st.integers())
)
_CALL_OPTIONS = {"call_timeout": bad_seconds(zero_ok=False), "retry": _bad_retry}
_WAITING = {"timeout": bad_seconds(zero_ok=True), "poll_interval": bad_seconds(zero_ok=False)}

#: method -> (valid base arguments, {argument: invalid values})
METHODS: dict[str, tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]] = {
    "submit_job": (
        {"name": "n", "command": "true"},
        {
            "name": bad_text(),
            "command": bad_text(),
            "cpu": bad_int(0, INT32),
            "memory_mb": bad_int(0, INT64),
            "gpu": bad_int(0, INT32),
            "disk_mb": bad_int(0, INT64),
            "timeout": bad_int(0, INT32, none_ok=True),
            "retries": bad_int(0, INT32),
            "working_dir": bad_text(required=False),
            "description": bad_text(required=False),
            "user_id": bad_text(required=False),
            "submission_id": bad_text(required=False),
            "env": bad_map(),
            "labels": bad_map(),
            "metadata": bad_map(),
            "artifacts": bad_list(),
            **_CALL_OPTIONS,
        },
    ),
    "find_submission": (
        {"submission_id": "s"},
        {"submission_id": bad_text(), "user_id": bad_text(required=False), **_CALL_OPTIONS},
    ),
    "get_status": ({"job_id": "job-1"}, {"job_id": bad_text(), **_CALL_OPTIONS}),
    "get_info": ({"job_id": "job-1"}, {"job_id": bad_text(), **_CALL_OPTIONS}),
    "cancel": ({"job_id": "job-1"}, {"job_id": bad_text(), **_CALL_OPTIONS}),
    "list_jobs": (
        {},
        {
            "user_id": bad_text(required=False),
            "status": _bad_status,
            "limit": bad_int(0, INT32),
            "offset": bad_int(0, INT32),
            **_CALL_OPTIONS,
        },
    ),
    "batch_get_info": ({"job_ids": ["job-1"]}, {"job_ids": bad_list(), **_CALL_OPTIONS}),
    "batch_cancel": ({"job_ids": ["job-1"]}, {"job_ids": bad_list(), **_CALL_OPTIONS}),
    "get_logs": (
        {"job_id": "job-1"},
        {
            "job_id": bad_text(),
            "from_line": bad_int(0, INT64),
            "max_lines": bad_int(0, INT64),
            **_CALL_OPTIONS,
        },
    ),
    "wait": ({"job_id": "job-1"}, {"job_id": bad_text(), **_WAITING, **_CALL_OPTIONS}),
    "wait_all": ({"job_ids": ["job-1"]}, {"job_ids": bad_list(), **_WAITING, **_CALL_OPTIONS}),
    "as_completed": ({"job_ids": ["job-1"]}, {"job_ids": bad_list(), **_WAITING, **_CALL_OPTIONS}),
    "follow_logs": (
        {"job_id": "job-1"},
        {
            "job_id": bad_text(),
            "from_line": bad_int(0, INT64),
            "batch_lines": bad_int(1, INT64),
            "poll_interval": bad_seconds(zero_ok=False),
            **_CALL_OPTIONS,
        },
    ),
    "iter_jobs": (
        {},
        {
            "user_id": bad_text(required=False),
            "status": _bad_status,
            "labels": bad_map(),
            "page_size": bad_int(1, INT32),
            **_CALL_OPTIONS,
        },
    ),
}
#: Examples per method and client kind.
INVALID_EXAMPLES = 120


def _one_bad_argument(method: str) -> st.SearchStrategy[tuple[str, Any]]:
    bad = METHODS[method][1]
    return st.sampled_from(sorted(bad)).flatmap(lambda name: st.tuples(st.just(name), bad[name]))


def _call(client: Any, method: str, kwargs: dict[str, Any]) -> Any:
    result = getattr(client, method)(**kwargs)
    if inspect.isgenerator(result) or isinstance(result, Iterator):
        return list(result)
    return result


def test_every_public_job_method_is_covered() -> None:
    public = {
        name for name, _ in inspect.getmembers(DeSAMClient, inspect.isfunction) if not name.startswith("_")
    }
    assert public - {"close"} == set(METHODS)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_invalid_arguments_are_refused_before_sending(
    client: Any, fake: FakeScheduler, method: str, report: Callable[..., None]
) -> None:
    tried: dict[str, int] = {}

    @_settings(INVALID_EXAMPLES)
    @given(case=_one_bad_argument(method))
    def check(case: tuple[str, Any]) -> None:
        name, value = case
        kwargs = {**METHODS[method][0], name: value}
        before = fake.request_count()
        with pytest.raises(InvalidArgumentError) as info:
            _call(client, method, kwargs)
        error = info.value
        assert isinstance(error, DeSAMError) and isinstance(error, ValueError)
        assert error.argument is not None
        assert error.argument == name or error.argument.startswith(f"{name}["), (name, value, error.argument)
        assert name in str(error)
        assert fake.request_count() == before, f"{method}({name}={value!r}) sent a request"
        tried[name] = tried.get(name, 0) + 1

    check()
    assert fake.request_count() == 0
    report(method=method, examples=sum(tried.values()), arguments=len(tried))


# -- client.files -----------------------------------------------------------------------------

_HEX = "0123456789abcdef"
_bad_hash = st.one_of(
    st.text(alphabet=_HEX, max_size=63),
    st.text(alphabet=_HEX, min_size=65, max_size=70),
    st.text(alphabet="ABCDEF0123456789", min_size=64, max_size=64).filter(lambda h: h != h.lower()),
    st.text(min_size=64, max_size=64).filter(lambda h: not set(h) <= set(_HEX)),
    _unsendable,
)
_bad_path = st.one_of(
    st.integers(),
    st.none(),
    st.floats(),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.just(""),
)
_bad_mount = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "/",
            "/abs",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a/",
            "./a",
            "a\\b",
            "C:\\x",
            "\x00",
            "a\x00b",
        ]
    ),
    _unsendable,
)
_CHUNK_MAX = 3 * 1024 * 1024


def files_methods(path: str) -> dict[str, tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]]:
    """client.files methods -> (valid base arguments, {argument: invalid values}); ``path`` is a real file."""
    good = {"data/in.txt": path}
    bad_mappings = st.one_of(
        _bad_mount.map(lambda mount: {mount: path}),
        _bad_mount.map(lambda mount: [(path, mount)]),
        _bad_path.filter(lambda value: value != "").map(lambda value: {"data/x": value}),
        st.one_of(st.integers(), st.none(), st.floats()).map(lambda key: {key: path}),
        st.one_of(st.integers(), st.text(min_size=1, max_size=5), st.floats(), st.none()),
    )
    chunk = bad_int(1, _CHUNK_MAX, none_ok=True)
    return {
        "check_quota": ({}, dict(_CALL_OPTIONS)),
        "verify_dependencies": (
            {"file_hashes": ["0" * 64], "total_size": 0},
            {
                "file_hashes": st.one_of(bad_list(), st.lists(_bad_hash, min_size=1, max_size=3)),
                "total_size": bad_int(0, INT64),
                **_CALL_OPTIONS,
            },
        ),
        "upload_file": (
            {"file_path": path},
            {
                "file_path": _bad_path,
                "progress_callback": st.one_of(st.integers(), st.text(max_size=3)),
                "timeout": bad_seconds(zero_ok=False),
                "chunk_size": chunk,
                **_CALL_OPTIONS,
            },
        ),
        "upload_files": (
            {"file_paths": [path]},
            {
                "file_paths": st.one_of(
                    st.text(max_size=5),
                    st.binary(max_size=5),
                    st.integers(),
                    st.lists(_bad_path, min_size=1, max_size=2),
                ),
                "chunk_size": chunk,
                **_CALL_OPTIONS,
            },
        ),
        "build_file_tree": ({"file_mappings": good}, {"file_mappings": bad_mappings}),
        "submit_job_with_files": (
            {"name": "n", "command": "true", "file_mappings": good},
            {
                "name": bad_text(),
                "command": bad_text(),
                "file_mappings": bad_mappings,
                "cpu": bad_int(0, INT32),
                "memory_mb": bad_int(0, INT64),
                "gpu": bad_int(0, INT32),
                "disk_mb": bad_int(0, INT64),
                "timeout": bad_int(0, INT32, none_ok=True),
                "retries": bad_int(0, INT32),
                "env": bad_map(),
                "labels": bad_map(),
                "metadata": bad_map(),
                "user_id": bad_text(required=False),
                "working_dir": bad_text(required=False),
                "description": bad_text(required=False),
                "submission_id": bad_text(required=False),
                **_CALL_OPTIONS,
            },
        ),
    }


def _call_files(client: Any, method: str, kwargs: dict[str, Any]) -> Any:
    result = getattr(client.files, method)(**kwargs)
    if inspect.iscoroutine(result):  # the async client's files API, driven on its loop
        return client._call(result)
    return result


def test_every_public_files_method_is_covered() -> None:
    from desam_client.files.api import FilesAPI

    public = {
        name for name, _ in inspect.getmembers(FilesAPI, inspect.isfunction) if not name.startswith("_")
    }
    assert public == set(files_methods("x"))


@pytest.mark.parametrize("method", sorted(files_methods("x")))
def test_invalid_files_arguments_are_refused_before_sending(
    client: Any, fake: FakeScheduler, method: str, tmp_path: Path, report: Callable[..., None]
) -> None:
    path = tmp_path / "in.txt"
    path.write_text("input\n")
    base, bad = files_methods(str(path))[method]
    tried: dict[str, int] = {}

    @_settings(INVALID_EXAMPLES)
    @given(case=st.sampled_from(sorted(bad)).flatmap(lambda name: st.tuples(st.just(name), bad[name])))
    def check(case: tuple[str, Any]) -> None:
        name, value = case
        before = fake.request_count()
        with pytest.raises(InvalidArgumentError) as info:
            _call_files(client, method, {**base, name: value})
        error = info.value
        assert error.argument is not None
        assert error.argument == name or error.argument.startswith(f"{name}["), (name, value, error.argument)
        assert name in str(error)
        assert fake.request_count() == before, f"files.{method}({name}={value!r}) sent a request"
        tried[name] = tried.get(name, 0) + 1

    check()
    assert fake.request_count() == 0
    report(method=f"files.{method}", examples=sum(tried.values()), arguments=len(tried))


# -- valid input round-trips -------------------------------------------------------------------

_some_text = st.text(max_size=40)
_name = st.text(min_size=1, max_size=40).filter(str.strip)
_map = st.one_of(st.none(), st.dictionaries(st.text(max_size=12), st.text(max_size=24), max_size=4))
_metadata = st.one_of(
    st.none(),
    st.dictionaries(
        st.text(max_size=12).filter(lambda k: k != SUBMISSION_ID_KEY), st.text(max_size=24), max_size=4
    ),
)
SUBMISSIONS = st.fixed_dictionaries(
    {"name": _name, "command": _name},
    optional={
        "cpu": st.integers(0, INT32),
        "memory_mb": st.integers(0, INT64),
        "gpu": st.integers(0, INT32),
        "disk_mb": st.integers(0, INT64),
        "timeout": st.one_of(st.none(), st.integers(0, INT32)),
        "retries": st.integers(0, INT32),
        "working_dir": st.one_of(st.none(), _some_text),
        "description": st.one_of(st.none(), _some_text),
        "user_id": st.one_of(st.none(), _some_text),
        "env": _map,
        "labels": _map,
        "metadata": _metadata,
        "artifacts": st.one_of(st.none(), st.lists(_name, max_size=4)),
    },
)
BOUNDS = st.fixed_dictionaries(
    {
        "name": _name,
        "command": _name,
        "cpu": st.sampled_from([0, 1, INT32]),
        "memory_mb": st.sampled_from([0, INT32, INT32 + 1, INT64]),
        "gpu": st.sampled_from([0, INT32]),
        "disk_mb": st.sampled_from([0, INT64]),
        "timeout": st.sampled_from([None, 0, 1, INT32]),
        "retries": st.sampled_from([0, INT32]),
    }
)
ROUND_TRIP_EXAMPLES = 150


@pytest.mark.parametrize("values", [SUBMISSIONS, BOUNDS], ids=["arbitrary", "bounds"])
def test_valid_submissions_round_trip(
    client: Any, fake: FakeScheduler, values: st.SearchStrategy[dict[str, Any]], report: Callable[..., None]
) -> None:
    count = {"n": 0}

    @_settings(ROUND_TRIP_EXAMPLES)
    @given(sent=values)
    def check(sent: dict[str, Any]) -> None:
        job_id = client.submit_job(**sent)
        job = client.get_info(job_id)
        assert (job.job_id, job.name, job.command) == (job_id, sent["name"], sent["command"])
        resources = (job.resources.cpu, job.resources.memory_mb, job.resources.gpu, job.resources.disk_mb)
        assert resources == (
            sent.get("cpu", 1),
            sent.get("memory_mb", 1024),
            sent.get("gpu", 0),
            sent.get("disk_mb", 0),
        )
        assert job.timeout == (sent.get("timeout") or None)
        assert job.retries == sent.get("retries", 0)
        assert job.working_dir == (sent.get("working_dir") or None)
        assert job.description == (sent.get("description") or None)
        assert job.user_id == (sent.get("user_id") or "alice")
        assert job.env == (sent.get("env") or None)
        assert job.labels == (sent.get("labels") or None)
        assert job.artifacts == (sent.get("artifacts") or None)
        metadata = dict(job.metadata or {})
        assert metadata.pop(SUBMISSION_ID_KEY)
        assert metadata == (sent.get("metadata") or {})
        assert job.status == "QUEUED"
        count["n"] += 1

    check()
    assert len(fake.jobs) == count["n"]
    report(examples=count["n"], jobs_stored=len(fake.jobs))


# -- settings objects --------------------------------------------------------------------------

_RETRY_FIELDS = {
    "max_attempts": st.one_of(st.integers(max_value=0), _junk, st.text(max_size=3), st.none()),
    "initial_backoff": bad_seconds(zero_ok=True) | st.just(math.inf),
    "max_backoff": bad_seconds(zero_ok=True) | st.just(math.inf),
    "multiplier": bad_seconds(zero_ok=True) | st.just(math.inf),
    "total_timeout": bad_seconds(zero_ok=False),
}
_CLIENT_FIELDS = {
    "host": st.one_of(st.integers(), _blank, st.binary(max_size=3)),
    "port": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=65536),
        st.booleans(),
        st.text(max_size=4),
        st.floats(),
    ),
    "api_key": st.one_of(
        _blank, st.integers(), st.text(max_size=8).map(lambda s: f"sk {s}"), st.just("sk-\x00")
    ),
    "timeout": bad_seconds(zero_ok=False),
}


@_settings(300)
@given(case=st.sampled_from(sorted(_RETRY_FIELDS)).flatmap(lambda n: st.tuples(st.just(n), _RETRY_FIELDS[n])))
def test_bad_retry_policies_are_refused(case: tuple[str, Any]) -> None:
    name, value = case
    with pytest.raises(InvalidArgumentError) as info:
        RetryPolicy(**{name: value})
    assert info.value.argument == name


@_settings(300)
@given(
    case=st.sampled_from(sorted(_CLIENT_FIELDS)).flatmap(lambda n: st.tuples(st.just(n), _CLIENT_FIELDS[n]))
)
def test_bad_client_settings_are_refused(case: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    name, value = case
    for variable in ("DESAM_HOST", "DESAM_PORT", "DESAM_API_KEY", "DESAM_CERT_PATH"):
        monkeypatch.delenv(variable, raising=False)
    kwargs = {
        "host": "127.0.0.1",
        "port": 50051,
        "api_key": "sk-test",
        "load_entrypoint_plugins": False,
        name: value,
    }
    with pytest.raises(InvalidArgumentError) as info:
        DeSAMClient(**kwargs).close()
    assert info.value.argument == name
