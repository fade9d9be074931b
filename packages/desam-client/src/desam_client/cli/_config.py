"""Where the ``desam`` command's connection settings come from: flags, environment, config file.

For every setting the first of these that has it wins:

1. the command-line flag (``--host``, ``--port``, ...);
2. the environment variable (``DESAM_HOST``, ``DESAM_PORT``, ``DESAM_API_KEY``,
   ``DESAM_CERT_PATH``, ``DESAM_SERVER_NAME``, ``DESAM_TIMEOUT``);
3. the chosen profile of the config file.

The config file is INI: ``--config``, else ``DESAM_CONFIG``, else
``$XDG_CONFIG_HOME/desam/config.ini`` (``~/.config/desam/config.ini``). The profile
is ``--profile``, else ``DESAM_PROFILE``, else ``default``; profile ``default`` is
the section ``[default]``, any other profile NAME the section ``[profile NAME]``.
Keys: ``host``, ``port``, ``api_key``, ``cert_path``, ``server_name``, ``timeout``,
``allow_insecure``. A profile does not inherit from ``[default]``.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Settings", "default_config_path", "resolve_settings"]

#: Keys a profile may set, with the environment variable that overrides each.
ENV_VARS: dict[str, str] = {
    "host": "DESAM_HOST",
    "port": "DESAM_PORT",
    "api_key": "DESAM_API_KEY",
    "cert_path": "DESAM_CERT_PATH",
    "server_name": "DESAM_SERVER_NAME",
    "timeout": "DESAM_TIMEOUT",
    "allow_insecure": "DESAM_ALLOW_INSECURE",
}


class ConfigError(Exception):
    """The settings cannot be used (a bad value, a missing profile or file): a usage error."""


@dataclass(frozen=True)
class Settings:
    """The resolved connection settings. The API key is never part of the repr."""

    host: str | None = None
    port: int | None = None
    api_key: str | None = field(default=None, repr=False)
    cert_path: str | None = None
    server_name: str | None = None
    timeout: float | None = None
    allow_insecure: bool = False
    profile: str = "default"
    config_path: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each setting came from (``"flag"``, ``"env DESAM_HOST"``, ``"config [default]"``)."""

    def describe(self) -> str:
        """One line for ``--debug``: every setting and its source; the key only as set or unset."""
        parts = []
        for name in ENV_VARS:
            value: Any = getattr(self, name)
            if name == "api_key":
                value = "<set>" if value else "<unset>"
            where = self.sources.get(name)
            parts.append(f"{name}={value}" + (f" ({where})" if where else ""))
        return f"profile={self.profile} config={self.config_path or '<none>'} " + " ".join(parts)


def default_config_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/desam/config.ini``, or ``~/.config/desam/config.ini``."""
    base = environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "desam" / "config.ini"


def _section_name(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def _read_profile(path: Path, profile: str, explicit: bool) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, default_section="desam:no-inheritance")
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from error
    except configparser.Error as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid INI: {first_line}") from error
    section = _section_name(profile)
    if not parser.has_section(section):
        if explicit:
            raise ConfigError(f"profile {profile!r} not found in {path} (expected a [{section}] section)")
        return {}
    values = dict(parser.items(section))
    unknown = sorted(set(values) - set(ENV_VARS))
    if unknown:
        raise ConfigError(
            f"{path} [{section}]: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(ENV_VARS)}"
        )
    return values


def warn_if_exposed(path: Path) -> str | None:
    """A warning when a file holding an API key can be read by other users (POSIX only)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"{path} holds an API key and is readable by other users; run: chmod 600 {path}"
    return None


def _port(value: str, where: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{where}: port must be a number in 1..65535, got {value!r}")
    return int(value)


def _timeout(value: str, where: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"{where}: timeout must be a positive number of seconds, got {value!r}")
    return seconds


def _flag(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def resolve_settings(flags: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Merge flags, environment and config file into :class:`Settings`.

    Args:
        flags: Values given on the command line (None or absent: not given); keys as in
            :data:`ENV_VARS`, plus ``profile`` and ``config``.
        environ: The environment (``os.environ``).

    Returns:
        The settings, and warnings to show the user.

    Raises:
        ConfigError: A value is unusable, or an explicitly named profile or file is missing.
    """
    warnings: list[str] = []
    profile = flags.get("profile") or environ.get("DESAM_PROFILE", "").strip() or "default"
    explicit_profile = bool(flags.get("profile") or environ.get("DESAM_PROFILE", "").strip())
    config_arg = flags.get("config") or environ.get("DESAM_CONFIG", "").strip() or None
    path = Path(config_arg).expanduser() if config_arg else default_config_path(environ)
    file_values: dict[str, str] = {}
    if path.is_file():
        file_values = _read_profile(path, profile, explicit_profile)
        if file_values.get("api_key") and (warning := warn_if_exposed(path)):
            warnings.append(warning)
    elif config_arg:
        raise ConfigError(f"config file {path} does not exist")
    elif explicit_profile and profile != "default":
        raise ConfigError(f"profile {profile!r} not found: there is no config file at {path}")

    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    section = _section_name(profile)
    for name, env_name in ENV_VARS.items():
        flag_value = flags.get(name)
        env_value = environ.get(env_name, "").strip()
        if flag_value is not None and flag_value is not False:
            chosen[name], sources[name] = flag_value, "flag"
        elif env_value:
            chosen[name], sources[name] = (
                _typed(name, env_value, f"environment variable {env_name}"),
                f"env {env_name}",
            )
        elif file_values.get(name, "").strip():
            where = f"{path} [{section}] {name}"
            chosen[name], sources[name] = (
                _typed(name, file_values[name].strip(), where),
                f"config [{section}]",
            )
    if isinstance(chosen.get("cert_path"), str):
        chosen["cert_path"] = os.path.expanduser(chosen["cert_path"])
    settings = Settings(
        **chosen, profile=profile, config_path=str(path) if path.is_file() else None, sources=sources
    )
    return settings, warnings


def _typed(name: str, value: str, where: str) -> Any:
    if name == "port":
        return _port(value, where)
    if name == "timeout":
        return _timeout(value, where)
    if name == "allow_insecure":
        return _flag(value, where)
    return value
