"""``desam``'s entry point: parse, resolve settings, run one command, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from desam_client.cli import _files, _jobs
from desam_client.cli._config import ConfigError, Settings, resolve_settings
from desam_client.cli._output import Output
from desam_client.cli._parser import UsageError, parse
from desam_client.client import DeSAMClient
from desam_client.config import DEFAULT_TIMEOUT
from desam_client.exceptions import ConfigurationError, DeSAMError, InvalidArgumentError

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMANDS = {**_jobs.COMMANDS, **_files.COMMANDS}


class Secrets:
    """Every API key this run may know of, to blank out of anything printed."""

    def __init__(self, argv: Sequence[str], environ: Mapping[str, str]) -> None:
        self._values: set[str] = set()
        self.add(environ.get("DESAM_API_KEY", "").strip())
        for index, token in enumerate(argv):
            name, sep, value = token.partition("=")
            if len(name) >= 4 and "--api-key".startswith(name):
                self.add(value if sep else (argv[index + 1] if index + 1 < len(argv) else ""))

    def add(self, value: str | None) -> None:
        """Remember a secret (very short strings are ignored: blanking them would garble text)."""
        if value and len(value) >= 3:
            self._values.add(value)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "host": args.host,
        "port": args.port,
        "api_key": args.api_key,
        "cert_path": args.cert_path,
        "server_name": args.server_name,
        "timeout": args.call_timeout,
        "allow_insecure": args.allow_insecure,
        "profile": args.profile,
        "config": args.config,
    }


def _require(settings: Settings) -> None:
    where = (
        f"the [{'default' if settings.profile == 'default' else 'profile ' + settings.profile}] section of "
    )
    where += settings.config_path or "~/.config/desam/config.ini"
    if not settings.host:
        raise ConfigError(f"no scheduler host: pass --host, set DESAM_HOST, or set host in {where}")
    if not settings.api_key:
        raise ConfigError(f"no API key: set DESAM_API_KEY, or set api_key in {where} (or pass --api-key)")


def _client(settings: Settings) -> DeSAMClient:
    _require(settings)
    try:
        return DeSAMClient(
            host=settings.host,
            port=settings.port,
            api_key=settings.api_key,
            cert_path=settings.cert_path,
            timeout=settings.timeout if settings.timeout is not None else DEFAULT_TIMEOUT,
            server_name=settings.server_name,
            allow_insecure=settings.allow_insecure,
        )
    except ConfigurationError as error:
        if error.argument != "allow_insecure":
            raise
        # The library's message names Python arguments; say it in the command line's terms.
        raise ConfigurationError(
            f"refusing to send the API key in plaintext to {settings.host!r}: pass --cert-path "
            "(or DESAM_CERT_PATH) for TLS, or --allow-insecure if the network is trusted",
            argument="allow_insecure",
        ) from None


def _debug_events(secrets: Secrets) -> None:
    """Show the client's call events on stderr (an application may configure structlog; a library never)."""
    import structlog

    def scrub(logger: Any, name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {k: secrets.scrub(v) if isinstance(v, str) else v for k, v in event.items()}

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            scrub,
            structlog.processors.KeyValueRenderer(key_order=["level", "event"], sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _say(secrets: Secrets, kind: str, message: str) -> None:
    text = " ".join(secrets.scrub(message).split()) or "(no message)"
    print(f"desam: {kind}: {text}", file=sys.stderr, flush=True)


def _traceback(secrets: Secrets, error: BaseException) -> None:
    lines: Iterable[str] = traceback.format_exception(type(error), error, error.__traceback__)
    sys.stderr.write(secrets.scrub("".join(lines)))
    sys.stderr.flush()


def _is_usage(error: DeSAMError) -> bool:
    if isinstance(error, ConfigurationError):
        return True
    return isinstance(error, InvalidArgumentError) and error.error_code is None and error.grpc_code is None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``desam`` with ``argv`` (default ``sys.argv[1:]``) and return its exit status.

    Args:
        argv: The arguments after the program name.

    Returns:
        0 on success; 1 for a DeSAM error or a job that did not succeed; 2 for a usage
        or configuration error; 130 when interrupted.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = Secrets(arguments, os.environ)
    debug = "--debug" in arguments
    try:
        args = parse(arguments)
        debug = args.debug
        settings, warnings = resolve_settings(_flags(args), os.environ)
        secrets.add(settings.api_key)
        for warning in warnings:
            _say(secrets, "warning", warning)
        if debug:
            _say(secrets, "debug", settings.describe())
            _debug_events(secrets)
        with _client(settings) as client:
            return COMMANDS[args.command](client, args, Output(args.output))
    except (UsageError, ConfigError) as error:
        _say(secrets, "error", str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        _say(secrets, "error", "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error worth a message
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except DeSAMError as error:
        if debug:
            _traceback(secrets, error)
        _say(secrets, "error", str(error))
        return EXIT_USAGE if _is_usage(error) else EXIT_ERROR
    except OSError as error:
        if debug:
            _traceback(secrets, error)
        _say(secrets, "error", str(error))
        return EXIT_ERROR
    except Exception as error:  # a bug: still one line, unless --debug
        if debug:
            _traceback(secrets, error)
        _say(secrets, "error", f"unexpected {type(error).__name__}: {error} (run with --debug for details)")
        return EXIT_ERROR
