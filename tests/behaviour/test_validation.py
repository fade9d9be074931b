"""Bad input raises InvalidArgumentError naming the argument, and nothing is sent (C-02, C-03)."""

from __future__ import annotations

from typing import Any

import pytest

from desam_client import DeSAMError, InvalidArgumentError, SubmitError
from desam_testing import FakeScheduler

BAD_SUBMIT = [
    ({"timeout": 2_147_483_648}, "timeout", "[0, 2147483647]"),
    ({"retries": -1}, "retries", "[0, 2147483647]"),
    ({"cpu": -2}, "cpu", "[0, 2147483647]"),
    ({"memory_mb": 2**63}, "memory_mb", "[0, 9223372036854775807]"),
    ({"gpu": 1.5}, "gpu", "int"),
    ({"disk_mb": True}, "disk_mb", "int"),
    ({"name": ""}, "name", "empty"),
    ({"name": "   "}, "name", "empty"),
    ({"command": None}, "command", "str"),
    ({"env": {"LR": 1e-05, "N": 3, "DEBUG": True}}, "env['LR']", "float"),
    ({"env": {"N": 3}}, "env['N']", "int"),
    ({"env": {"DEBUG": True}}, "env['DEBUG']", "bool"),
    ({"labels": {1: "x"}}, "labels", "int key"),
    ({"metadata": {"k": None}}, "metadata['k']", "NoneType"),
    ({"env": ["A=1"]}, "env", "dict"),
    ({"artifacts": "dataset.zip"}, "artifacts", "list"),
    ({"artifacts": ["ok", 3]}, "artifacts[1]", "str"),
    ({"working_dir": 5}, "working_dir", "str"),
    ({"user_id": 7}, "user_id", "str"),
]


@pytest.mark.parametrize(("kwargs", "argument", "says"), BAD_SUBMIT)
def test_c02_c03_bad_submission_is_refused_before_sending(
    client: Any, fake: FakeScheduler, kwargs: dict[str, Any], argument: str, says: str
) -> None:
    args = {"name": "job", "command": "true", **kwargs}
    with pytest.raises(InvalidArgumentError) as info:
        client.submit_job(**args)
    error = info.value
    assert isinstance(error, DeSAMError) and isinstance(error, ValueError)
    assert error.argument == argument
    assert argument in str(error) and says in str(error)
    assert fake.request_count() == 0


def test_c02_limits_are_inclusive(client: Any, fake: FakeScheduler) -> None:
    job_id = client.submit_job(name="edge", command="true", timeout=2_147_483_647, cpu=0, memory_mb=0)
    assert client.get_info(job_id).timeout == 2_147_483_647


def test_c02_validation_error_is_catchable_as_the_seed_classes() -> None:
    # C-02 accepts "a SubmitError subclass, or a ValueError subclass that is also a DeSAMError".
    assert issubclass(InvalidArgumentError, ValueError) and issubclass(InvalidArgumentError, DeSAMError)
    assert not issubclass(InvalidArgumentError, SubmitError)


BAD_CALLS = [
    ("get_info", ("",), {}, "job_id"),
    ("get_info", (None,), {}, "job_id"),
    ("get_status", (123,), {}, "job_id"),
    ("cancel", ("  ",), {}, "job_id"),
    ("list_jobs", (), {"status": "RUNNNING"}, "status"),
    ("list_jobs", (), {"status": "running"}, "status"),
    ("list_jobs", (), {"limit": -1}, "limit"),
    ("list_jobs", (), {"offset": 2**31}, "offset"),
    ("list_jobs", (), {"user_id": 3}, "user_id"),
    ("batch_get_info", ("job-1",), {}, "job_ids"),
    ("batch_get_info", (None,), {}, "job_ids"),
    ("batch_cancel", (None,), {}, "job_ids"),
    ("submit_job", ("n", "true"), {"files": {"../up": "x"}}, "files['../up']"),
    ("batch_get_info", (["ok", ""],), {}, "job_ids[1]"),
    ("batch_cancel", ([None],), {}, "job_ids[0]"),
    ("get_logs", ("job-1",), {"from_line": -1}, "from_line"),
    ("get_logs", ("job-1",), {"max_lines": "10"}, "max_lines"),
    ("get_info", ("job-1",), {"call_timeout": -1}, "call_timeout"),
    ("get_info", ("job-1",), {"retry": 3}, "retry"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "argument"), BAD_CALLS)
def test_bad_arguments_name_the_argument_and_send_nothing(
    client: Any,
    fake: FakeScheduler,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    argument: str,
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        getattr(client, method)(*args, **kwargs)
    assert info.value.argument == argument
    assert argument in str(info.value)
    assert fake.request_count() == 0


def test_misspelt_status_lists_the_allowed_names(client: Any) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        client.list_jobs(status="RUNNNING")
    assert "DATA_DEPENDENCY_ERROR" in str(info.value) and "'RUNNNING'" in str(info.value)


def test_oversized_request_names_its_largest_field_and_sends_nothing(
    client: Any, fake: FakeScheduler
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        client.submit_job(name="n", command="echo " + "y" * 5_000_000)
    assert info.value.argument == "command"
    assert "4194304" in str(info.value) and "files=" in str(info.value)
    assert fake.request_count() == 0


def test_a_port_inside_host_is_refused_with_a_hint() -> None:
    from desam_client import ConfigurationError, DeSAMClient

    with pytest.raises(ConfigurationError, match="port=") as info:
        DeSAMClient(host="127.0.0.1:33519", api_key="sk-test")
    assert info.value.argument == "host"
    DeSAMClient(host="::1", api_key="sk-test").close()  # an IPv6 literal is a host, not HOST:PORT
