"""The command line of ``desam``: global options and one subcommand per action."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["UsageError", "build_parser"]

EPILOG = """\
settings: flags > DESAM_* environment variables > config file
  (--config, DESAM_CONFIG, or $XDG_CONFIG_HOME/desam/config.ini; sections [default]
  and [profile NAME] with keys host, port, api_key, cert_path, server_name, timeout,
  allow_insecure).
  Prefer DESAM_API_KEY or the config file to --api-key: command lines are visible
  to other users of the machine.
exit status: 0 ok, 1 a DeSAM error or a job that did not succeed, 2 usage error,
  130 interrupted.
"""


class UsageError(Exception):
    """The command line is wrong; reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of exiting, so that ``main`` prints one line."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number in 1..65535, got {text!r}")
    return int(text)


def _add_connection_options(parser: argparse.ArgumentParser, default: Any) -> None:
    group = parser.add_argument_group("connection and output (before or after the command)")
    group.add_argument("--host", default=default, help="scheduler host (env DESAM_HOST)")
    group.add_argument(
        "--port", type=_port, default=default, help="scheduler port (env DESAM_PORT; default 50051)"
    )
    group.add_argument(
        "--api-key",
        default=default,
        metavar="KEY",
        help="API key (prefer env DESAM_API_KEY or the config file: command lines are visible)",
    )
    group.add_argument(
        "--cert-path",
        default=default,
        metavar="PEM",
        help="CA certificate to verify the scheduler with; turns TLS on (env DESAM_CERT_PATH)",
    )
    group.add_argument(
        "--server-name",
        default=default,
        metavar="NAME",
        help="host name expected in the scheduler's certificate (env DESAM_SERVER_NAME)",
    )
    group.add_argument(
        "--allow-insecure",
        action="store_true",
        default=default,
        help="allow plaintext to a host that is not this machine",
    )
    group.add_argument(
        "--profile", default=default, metavar="NAME", help="config file profile (env DESAM_PROFILE)"
    )
    group.add_argument("--config", default=default, metavar="PATH", help="config file (env DESAM_CONFIG)")
    group.add_argument(
        "-o", "--output", choices=("table", "json"), default=default, help="output format (default table)"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show settings, call events and tracebacks on stderr (never the API key)",
    )
    group.add_argument(
        "--call-timeout",
        dest="call_timeout",
        type=_positive_float,
        default=default,
        metavar="SECONDS",
        help="deadline of each call to the scheduler (env DESAM_TIMEOUT)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``desam`` argument parser."""
    parser = Parser(
        prog="desam",
        description="Submit and watch jobs on a DeSAM scheduler.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_connection_options(parser, None)
    parser.add_argument(
        "--timeout",
        dest="call_timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help=(
            "only before the command: deadline of each call to the scheduler, as --call-timeout "
            "(after 'submit' --timeout is the job's run-time limit, after 'wait' the time to wait)"
        ),
    )
    common = Parser(add_help=False)
    _add_connection_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        return sub

    submit = command("submit", "submit a job: desam submit [options] -- COMMAND [ARG...]")
    submit.add_argument(
        "argv",
        nargs="*",
        metavar="COMMAND",
        help="the command after '--'; one argument is a shell command line as it is, "
        "several are quoted word by word",
    )
    submit.add_argument("--name", help="job name (default: the command's first word)")
    submit.add_argument("--cpu", type=int, default=1, help="CPU cores (default 1)")
    submit.add_argument("--memory-mb", type=int, default=1024, help="memory in MiB (default 1024)")
    submit.add_argument("--gpu", type=int, default=0, help="GPUs (default 0)")
    submit.add_argument("--disk-mb", type=int, default=0, help="scratch disk in MiB (default 0)")
    submit.add_argument("--working-dir", help="directory the command runs in")
    submit.add_argument(
        "--env",
        type=_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="environment variable (repeatable)",
    )
    submit.add_argument(
        "--timeout", dest="job_timeout", type=int, metavar="SECONDS", help="the job's run-time limit"
    )
    submit.add_argument("--retries", type=int, default=0, help="re-runs of a failed command (default 0)")
    submit.add_argument(
        "--artifact", action="append", default=[], metavar="NAME", help="artifact (repeatable)"
    )
    submit.add_argument(
        "--label", type=_pair, action="append", default=[], metavar="K=V", help="label (repeatable)"
    )
    submit.add_argument("--description", help="free text")
    submit.add_argument(
        "--metadata",
        type=_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="metadata entry (repeatable)",
    )
    submit.add_argument("--user-id", help="record the job for this user (default: the key's user)")
    submit.add_argument("--wait", action="store_true", help="wait for the job; exit 0 only if it succeeded")

    command("status", "print a job's status").add_argument("job_id", metavar="ID")
    command("info", "print everything about a job").add_argument("job_id", metavar="ID")

    listing = command("list", "list jobs, newest first")
    listing.add_argument("--user-id", help="only this user's jobs")
    listing.add_argument("--status", help="only jobs in this status (e.g. RUNNING)")
    listing.add_argument("--limit", type=int, default=100, help="page size (default 100)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many jobs (default 0)")
    listing.add_argument("--all", action="store_true", help="walk every page (each job once)")
    listing.add_argument(
        "--label",
        type=_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="only jobs with this label (repeatable; filtered by desam)",
    )

    cancel = command("cancel", "cancel jobs; exit 1 if any could not be cancelled")
    cancel.add_argument("job_ids", nargs="+", metavar="ID")

    logs = command("logs", "print a job's output")
    logs.add_argument("job_id", metavar="ID")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until the job ends"
    )
    logs.add_argument("--from-line", type=int, default=0, metavar="N", help="first line, 0-based (default 0)")
    logs.add_argument(
        "--max-lines",
        type=int,
        default=1000,
        metavar="N",
        help="lines to print without --follow; lines per call with it (default 1000)",
    )
    logs.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="SECONDS",
        help="fixed pause between polls with --follow (default adaptive)",
    )

    wait = command("wait", "wait for jobs to end; exit 0 only if every one succeeded")
    wait.add_argument("job_ids", nargs="+", metavar="ID")
    wait.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=_non_negative_float,
        metavar="SECONDS",
        help="give up after this long (exit 1)",
    )
    wait.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="SECONDS",
        help="fixed pause between polls (default adaptive)",
    )

    command("quota", "print the API key's blob cache quota")
    upload = command("upload", "upload files (or directories) to the scheduler's cache")
    upload.add_argument("paths", nargs="+", metavar="PATH")
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; options given nowhere are None (flags False).

    Raises:
        UsageError: The command line is wrong.
    """
    args = build_parser().parse_args(argv)
    for name in (
        "host",
        "port",
        "api_key",
        "cert_path",
        "server_name",
        "profile",
        "config",
        "output",
        "call_timeout",
    ):
        if not hasattr(args, name):
            setattr(args, name, None)
    args.debug = bool(getattr(args, "debug", False))
    args.allow_insecure = bool(getattr(args, "allow_insecure", False))
    args.output = args.output or "table"
    return args
