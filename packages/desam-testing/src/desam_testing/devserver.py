"""``desam-dev-server``: a local DeSAM scheduler that really runs jobs, for trying a client.

It serves the DeSAM wire protocol on ``--host:--port`` with the local executor
(commands run through ``/bin/sh`` on this machine) until SIGINT or SIGTERM,
then stops its jobs and exits 0. Its first line on stdout is
``desam-dev-server listening on HOST:PORT``, so a parent process can read the
port when it asked for ``--port 0``; the rest goes to stderr. API keys are never
printed in full.

Example:
    $ desam-dev-server --api-key sk-mine=me --port 50051
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ._capacity import Capacity
from ._executor import Executor
from ._local import LocalExecutor
from ._manual import ManualExecutor
from ._server import FakeScheduler
from ._server_tls import ServerTLS

__all__ = ["build_parser", "main", "mask_key"]

_DEFAULT_KEY, _DEFAULT_USER, _ADMIN_USER = "sk-dev", "dev", "admin"


def mask_key(key: str) -> str:
    """Return a key with all but its first few characters hidden (``"sk-dev"`` -> ``"sk-d…"``).

    At most four characters are shown, and always at least two are hidden.
    """
    return key[: min(4, max(0, len(key) - 2))] + "…"


def _key_and_user(value: str, default_user: str) -> tuple[str, str]:
    key, sep, user = value.partition("=")
    if not key or (sep and not user):
        raise argparse.ArgumentTypeError("expected KEY or KEY=USER with a non-empty KEY and USER")
    return key, user or default_user


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser of ``desam-dev-server``."""
    parser = argparse.ArgumentParser(
        prog="desam-dev-server", description="Run a local DeSAM scheduler that really runs jobs."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=50051, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY[=USER]",
        type=lambda v: _key_and_user(v, _DEFAULT_USER),
        help=f"an accepted API key and its user (repeatable; default {_DEFAULT_KEY}, user {_DEFAULT_USER})",
    )
    parser.add_argument(
        "--admin-key",
        action="append",
        default=[],
        metavar="KEY[=USER]",
        type=lambda v: _key_and_user(v, _ADMIN_USER),
        help=f"an API key that sees every user's jobs (repeatable; user default {_ADMIN_USER})",
    )
    parser.add_argument("--executor", choices=("local", "manual"), default="local", help="default local")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve TLS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    parser.add_argument("--tls-client-ca", type=Path, help="PEM CA: require client certificates it signed")
    default = Capacity()
    parser.add_argument(
        "--cpu", type=int, default=os.cpu_count() or 1, help="CPU cores (default: this machine's)"
    )
    parser.add_argument("--memory-mb", type=int, default=default.memory_mb, help="memory in MiB")
    parser.add_argument("--gpu", type=int, default=0, help="GPUs (default 0)")
    parser.add_argument(
        "--quota-bytes", type=int, default=1024**3, help="blob cache quota per key (default 1 GiB)"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where blobs and job directories go (default: a temp dir)"
    )
    return parser


def _tls(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ServerTLS | None:
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_client_ca is not None:
            parser.error("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        parser.error("--tls-cert and --tls-key go together")
    try:
        return ServerTLS(
            cert_chain=args.tls_cert.read_bytes(),
            private_key=args.tls_key.read_bytes(),
            client_ca=args.tls_client_ca.read_bytes() if args.tls_client_ca else None,
        )
    except OSError as exc:
        parser.error(f"cannot read TLS file: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dev server until SIGINT or SIGTERM.

    Args:
        argv: Command line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 after a signal, 1 if the server could not start.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    keys = dict(args.api_key or [(_DEFAULT_KEY, _DEFAULT_USER)])
    keys.update(args.admin_key)
    tls = _tls(args, parser)
    executor: Executor = LocalExecutor() if args.executor == "local" else ManualExecutor()
    try:
        capacity = Capacity(cpu=args.cpu, memory_mb=args.memory_mb, gpu=args.gpu)
        fake = FakeScheduler(
            host=args.host,
            port=args.port,
            api_keys=keys,
            admin_keys=[key for key, _ in args.admin_key],
            executor=executor,
            capacity=capacity,
            quota_bytes=args.quota_bytes,
            data_dir=args.data_dir,
            tls=tls,
            record_requests=False,
        )
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            fake.start()
        except OSError as exc:
            fake.stop()
            print(f"desam-dev-server: {exc}", file=sys.stderr)
            return 1
        print(f"desam-dev-server listening on {fake.address}", flush=True)
        admins = {key for key, _ in args.admin_key}
        for key, user in keys.items():
            role = " (admin: sees every job)" if key in admins else ""
            print(f"  API key {mask_key(key)} -> user {user}{role}", file=sys.stderr)
        print(
            f"  executor {args.executor}, {'TLS' if tls else 'plaintext'}, data in {fake.data_dir}; "
            "stop with Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
        print("desam-dev-server: stopping", file=sys.stderr, flush=True)
        fake.stop()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
