"""Client settings: arguments first, then ``DESAM_*`` environment variables, then defaults.

=====================  ======================================  =====================
setting                argument                                environment variable
=====================  ======================================  =====================
scheduler host         ``host``                                ``DESAM_HOST``
scheduler port         ``port`` (default 50051)                ``DESAM_PORT``
API key                ``api_key``                             ``DESAM_API_KEY``
CA / server cert       ``cert_path``                           ``DESAM_CERT_PATH``
=====================  ======================================  =====================

Transport security: TLS is used when ``cert_path``, a client certificate or
``tls=True`` is given (``tls=True`` alone trusts the system's CA store).
Plaintext is allowed to loopback addresses (``localhost``, ``127.0.0.0/8``,
``::1``) and Unix sockets; sending the API key in plaintext to any other host
needs ``allow_insecure=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desam_client._pipeline.retry import RetryPolicy
from desam_client.exceptions import ConfigurationError

DEFAULT_PORT = 50051
DEFAULT_TIMEOUT = 30.0

#: Channel options applied unless overridden by ``channel_options``.
DEFAULT_CHANNEL_OPTIONS: dict[str, Any] = {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 4 * 1024 * 1024,
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": 0,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 5_000,
    "grpc.enable_retries": 0,
}


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client was configured with. Its repr never shows the API key."""

    target: str
    """The gRPC target (``host:port``, or a full target such as ``dns:///scheduler:50051``)."""
    server_address: str
    """The host part, for spans and messages."""
    server_port: int | None
    """The port part, if known."""
    api_key: str = field(repr=False)
    """The API key (never shown)."""
    timeout: float = DEFAULT_TIMEOUT
    """Deadline of each attempt of a call, in seconds."""
    tls: bool = False
    """Whether the channel uses TLS."""
    root_certificates: bytes | None = field(default=None, repr=False)
    """PEM CA bundle (from ``cert_path``); None with TLS means the system store."""
    cert_path: str | None = None
    """Where the CA bundle came from."""
    client_certificate: bytes | None = field(default=None, repr=False)
    """PEM client certificate chain, for mutual TLS."""
    client_key: bytes | None = field(default=None, repr=False)
    """PEM client private key, for mutual TLS (never shown)."""
    server_name: str | None = None
    """The host name expected in the server's certificate, when it differs from the host."""
    allow_insecure: bool = False
    """Whether plaintext to a non-loopback host was explicitly allowed."""
    channel_options: tuple[tuple[str, Any], ...] = ()
    """gRPC channel options, defaults merged with the caller's."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """The client's default retry policy."""

    @property
    def security(self) -> str:
        """``"mtls"``, ``"tls"`` or ``"plaintext"``."""
        if not self.tls:
            return "plaintext"
        return "mtls" if self.client_certificate else "tls"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _read(path: str | os.PathLike[str], argument: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ConfigurationError(
            f"{argument}: cannot read {os.fspath(path)!r}: {error.strerror or error}", argument=argument
        ) from error


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (IPv4 or IPv6, bracketed or not)."""
    bare = host.strip("[]").lower()
    if bare in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        import ipaddress  # only for hosts that are not "localhost"

        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def _split_target(target: str) -> tuple[str, int | None]:
    """Best-effort host and port of a gRPC target, for checks and telemetry."""
    rest = target
    if rest.startswith("unix:"):
        return "localhost", None
    if rest.startswith("dns:"):
        rest = rest[len("dns:") :]
        if rest.startswith("//"):  # dns://authority/host:port
            rest = rest[2:].partition("/")[2]
    elif rest.startswith(("ipv4:", "ipv6:")):
        rest = rest.partition(":")[2].split(",", 1)[0]
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    elif rest.count(":") == 1:
        host, _, port = rest.partition(":")
    else:
        host, port = rest, ""
    return host, int(port) if port.isdigit() else None


def resolve(
    *,
    host: str | None,
    port: int | None,
    api_key: str | None,
    cert_path: str | os.PathLike[str] | None,
    timeout: float | None,
    target: str | None = None,
    tls: bool | None = None,
    client_cert_path: str | os.PathLike[str] | None = None,
    client_key_path: str | os.PathLike[str] | None = None,
    server_name: str | None = None,
    allow_insecure: bool = False,
    channel_options: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    retry: RetryPolicy | None = None,
    load_balancing: str | None = None,
) -> ClientConfig:
    """Build a :class:`ClientConfig` from arguments and the environment, checking every value."""
    host = host if host is not None else _env("DESAM_HOST")
    if port is None:
        env_port = _env("DESAM_PORT")
        if env_port is not None and not env_port.isdigit():
            raise ConfigurationError(f"DESAM_PORT: must be a port number, got {env_port!r}", argument="port")
        port = int(env_port) if env_port is not None else DEFAULT_PORT
    api_key = api_key if api_key is not None else _env("DESAM_API_KEY")
    cert_path = cert_path if cert_path is not None else _env("DESAM_CERT_PATH")

    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigurationError(f"port: must be an int in [1, 65535], got {port!r}", argument="port")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ConfigurationError(
            "api_key: an API key is required (argument api_key or DESAM_API_KEY)", argument="api_key"
        )
    if any(ch.isspace() for ch in api_key) or not api_key.isprintable():
        raise ConfigurationError(
            "api_key: must not contain whitespace or control characters", argument="api_key"
        )
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigurationError(
            f"timeout: must be a positive number of seconds, got {timeout!r}", argument="timeout"
        )

    if target is not None:
        if not isinstance(target, str) or not target.strip():
            raise ConfigurationError("target: must be a non-empty gRPC target string", argument="target")
        server_address, server_port = _split_target(target)
    else:
        if not isinstance(host, str) or not host.strip():
            raise ConfigurationError(
                "host: the scheduler's host is required (argument host or DESAM_HOST)", argument="host"
            )
        host = host.strip()
        if host.count(":") == 1 and not host.startswith("["):
            raise ConfigurationError(
                f"host: {host!r} looks like HOST:PORT; pass the port as port= (or a full gRPC target as target=)",
                argument="host",
            )
        server_address, server_port = host.strip("[]"), port
        target = f"[{server_address}]:{port}" if ":" in server_address else f"{server_address}:{port}"

    use_tls = bool(tls) or cert_path is not None or client_cert_path is not None
    if tls is False and (cert_path is not None or client_cert_path is not None):
        raise ConfigurationError("tls: tls=False contradicts cert_path/client_cert_path", argument="tls")
    if (client_cert_path is None) != (client_key_path is None):
        raise ConfigurationError(
            "client_cert_path/client_key_path: give both for mutual TLS, or neither",
            argument="client_cert_path",
        )
    local = target.startswith("unix:") or is_loopback(server_address)
    if not use_tls and not local and not allow_insecure:
        raise ConfigurationError(
            f"refusing to send the API key in plaintext to {server_address!r}: pass cert_path= (or tls=True to "
            "use the system's CA store) for TLS, or allow_insecure=True if the network is trusted",
            argument="allow_insecure",
        )

    options = dict(DEFAULT_CHANNEL_OPTIONS)
    if load_balancing is not None:
        options["grpc.lb_policy_name"] = load_balancing
    elif target is not None and target.startswith("dns:"):
        options["grpc.lb_policy_name"] = "round_robin"
    if server_name is not None:
        options["grpc.ssl_target_name_override"] = server_name
        options["grpc.default_authority"] = server_name
    if channel_options:
        items = channel_options.items() if isinstance(channel_options, Mapping) else channel_options
        options.update(dict(items))

    return ClientConfig(
        target=target,
        server_address=server_address,
        server_port=server_port,
        api_key=api_key,
        timeout=float(timeout),
        tls=use_tls,
        root_certificates=_read(cert_path, "cert_path") if cert_path is not None else None,
        cert_path=os.fspath(cert_path) if cert_path is not None else None,
        client_certificate=_read(client_cert_path, "client_cert_path")
        if client_cert_path is not None
        else None,
        client_key=_read(client_key_path, "client_key_path") if client_key_path is not None else None,
        server_name=server_name,
        allow_insecure=allow_insecure,
        channel_options=tuple(options.items()),
        retry=retry if retry is not None else RetryPolicy(),
    )
