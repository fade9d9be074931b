"""``desam`` pieces in-process: settings precedence, output formatting, usage errors, secrets."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from desam_client.cli import main
from desam_client.cli._config import ConfigError, default_config_path, resolve_settings
from desam_client.cli._main import Secrets
from desam_client.cli._output import Output, jsonable, text_width
from desam_client.cli._progress import Progress, human_bytes
from desam_client.models import Job, JobStatus, Resource

NO_FLAGS: dict[str, object] = {}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "DESAM_HOST",
        "DESAM_PORT",
        "DESAM_API_KEY",
        "DESAM_CERT_PATH",
        "DESAM_PROFILE",
        "DESAM_CONFIG",
        "DESAM_SERVER_NAME",
        "DESAM_TIMEOUT",
        "DESAM_ALLOW_INSECURE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


# -- settings --------------------------------------------------------------------------------------


def test_flags_beat_env_beat_config(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "c.ini", "[default]\nhost = file-host\nport = 1111\napi_key = k-file\ntimeout = 7\n"
    )
    env = {"DESAM_CONFIG": str(config), "DESAM_HOST": "env-host", "DESAM_API_KEY": "k-env"}
    settings, warnings = resolve_settings({"host": "flag-host"}, env)
    assert (settings.host, settings.port, settings.api_key, settings.timeout) == (
        "flag-host",
        1111,
        "k-env",
        7.0,
    )
    assert settings.sources == {
        "host": "flag",
        "port": "config [default]",
        "api_key": "env DESAM_API_KEY",
        "timeout": "config [default]",
    }
    assert warnings == []
    assert "k-env" not in repr(settings)
    assert "k-env" not in settings.describe()


def test_named_profiles_and_xdg_default(home: Path) -> None:
    path = default_config_path({"XDG_CONFIG_HOME": str(home / "xdg")})
    assert path == home / "xdg" / "desam" / "config.ini"
    _write(
        path, "[default]\nhost = a\n\n[profile prod]\nhost = b\ncert_path = ~/ca.pem\nserver_name = s.test\n"
    )
    env = {"XDG_CONFIG_HOME": str(home / "xdg"), "HOME": str(home)}
    assert resolve_settings(NO_FLAGS, env)[0].host == "a"
    prod, _ = resolve_settings({"profile": "prod"}, env)
    assert (prod.host, prod.server_name, prod.port) == ("b", "s.test", None)
    assert prod.cert_path == str(home / "ca.pem")
    assert resolve_settings(NO_FLAGS, {**env, "DESAM_PROFILE": "prod"})[0].host == "b"
    assert default_config_path({}) == Path.home() / ".config" / "desam" / "config.ini"


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        ("[default]\nhots = x\n", {}, "unknown key(s) hots"),
        ("[default]\nport = http\n", {}, "port must be a number"),
        ("[default]\ntimeout = -1\n", {}, "timeout must be a positive number"),
        ("[default]\nhost = x\n", {"profile": "nope"}, "profile 'nope' not found"),
        ("no section here\napi_key = sk-Hidden\n", {}, "not valid INI"),
    ],
)
def test_bad_config_is_a_config_error(
    tmp_path: Path, text: str, flags: dict[str, object], message: str
) -> None:
    config = _write(tmp_path / "c.ini", text)
    with pytest.raises(ConfigError) as caught:
        resolve_settings({**flags, "config": str(config)}, {})
    assert message in str(caught.value)
    assert "Hidden" not in str(caught.value)


def test_an_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings({"config": str(tmp_path / "missing.ini")}, {})
    with pytest.raises(ConfigError, match="DESAM_PORT"):
        resolve_settings(NO_FLAGS, {"DESAM_PORT": "eighty", "XDG_CONFIG_HOME": str(tmp_path)})


def test_a_readable_config_with_a_key_is_warned_about(tmp_path: Path) -> None:
    config = _write(tmp_path / "c.ini", "[default]\napi_key = sk-x\n")
    config.chmod(0o644)
    _, warnings = resolve_settings({"config": str(config)}, {})
    assert len(warnings) == 1
    assert "chmod 600" in warnings[0]


# -- output ----------------------------------------------------------------------------------------


def _job(**fields: object) -> Job:
    base: dict[str, object] = {
        "job_id": "job-1",
        "user_id": "u",
        "name": "训练任务",
        "command": "true",
        "status": JobStatus.RUNNING,
        "resources": Resource(),
    }
    base.update(fields)
    return Job(**base)  # type: ignore[arg-type]


def test_json_is_plain_with_utc_iso_times() -> None:
    job = _job(submit_time=datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc), labels={"a": "b"})
    data = jsonable(job)
    assert data["submit_time"] == "2023-11-14T22:13:20+00:00"
    assert data["status"] == "RUNNING"
    assert data["resources"] == {"cpu": 1, "memory_mb": 1024, "gpu": 0, "disk_mb": 0}
    assert json.loads(json.dumps(data))["labels"] == {"a": "b"}


def test_tables_align_wide_characters() -> None:
    stream = io.StringIO()
    Output("table", stream).table(("ID", "NAME", "STATUS"), [["a", "训练任务", "RUNNING"], ["bb", "x", None]])
    lines = stream.getvalue().splitlines()
    assert text_width("训练任务") == 8
    assert [
        text_width(line[: line.index(status)])
        for line, status in zip(lines, ["STATUS", "RUNNING", "-"], strict=True)
    ] == [14, 14, 14]


def test_progress_draws_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    Progress(quiet).bytes("f", 5, 10)
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = Progress(shown, enabled=True)
    bar.bytes("f", 10, 10)
    bar.done()
    assert "100%" in shown.getvalue()
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(12) == "12 B"


# -- main in-process -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bogus"],
        ["submit"],
        ["submit", "--env", "NOEQUALS", "--", "true"],
        ["--port", "x", "list"],
        ["wait"],
        ["logs", "j", "--max-lines", "0"],
        ["--output", "xml", "list"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    # settings that would connect (to nothing), so that only the command line is wrong
    monkeypatch.setenv("DESAM_HOST", "127.0.0.1")
    monkeypatch.setenv("DESAM_PORT", "1")
    monkeypatch.setenv("DESAM_API_KEY", "sk-unused")
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1
    assert err.startswith("desam: error: ")


def test_missing_host_and_key_name_every_way_to_set_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert "--host" in err
    assert "DESAM_HOST" in err
    assert "config.ini" in err
    assert main(["--host", "127.0.0.1", "list"]) == 2
    assert "DESAM_API_KEY" in capsys.readouterr().err


def test_a_local_validation_error_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--host", "127.0.0.1", "--port", "1", "--api-key", "sk-Loc4lS3cret", "list", "--status", "RUNNNING"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "status" in err
    assert "Loc4lS3cret" not in err


def test_secrets_are_scrubbed_from_anything_printed() -> None:
    secrets = Secrets(["--api-key", "sk-one", "--api=sk-two", "list"], {"DESAM_API_KEY": "sk-three"})
    secrets.add("sk-four")
    assert secrets.scrub("sk-one sk-two sk-three sk-four ok") == "*** *** *** *** ok"
    assert Secrets(["--api-key"], {}).scrub("x") == "x"
