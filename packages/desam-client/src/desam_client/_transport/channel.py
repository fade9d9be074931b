"""Channel credentials and options from a :class:`~desam_client.config.ClientConfig`.

Shared by the sync and the asyncio transport, so both connect the same way.
"""

from __future__ import annotations

import os

import grpc

from desam_client.config import ClientConfig


def _system_roots() -> bytes | None:
    """The system's CA bundle, when the platform names one; else None (gRPC's own roots)."""
    import ssl  # only TLS clients without cert_path pay for it

    cafile = ssl.get_default_verify_paths().cafile
    for candidate in (cafile, "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.isfile(candidate):
            with open(candidate, "rb") as handle:
                return handle.read()
    return None


def credentials(config: ClientConfig) -> grpc.ChannelCredentials | None:
    """TLS credentials for the channel, or None for plaintext."""
    if not config.tls:
        return None
    roots = config.root_certificates if config.root_certificates is not None else _system_roots()
    return grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=config.client_key,
        certificate_chain=config.client_certificate,
    )


def options(config: ClientConfig) -> list[tuple[str, object]]:
    """GRPC channel options as a list."""
    return list(config.channel_options)
