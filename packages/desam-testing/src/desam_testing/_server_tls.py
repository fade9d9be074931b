"""TLS settings of the fake scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

__all__ = ["ServerTLS"]


@dataclass(frozen=True)
class ServerTLS:
    """TLS material for the fake scheduler, all PEM bytes.

    Attributes:
        cert_chain: The server's certificate (chain).
        private_key: The server's private key.
        client_ca: If set, clients must present a certificate signed by this CA.
    """

    cert_chain: bytes = field(repr=False)
    private_key: bytes = field(repr=False)
    client_ca: bytes | None = field(default=None, repr=False)

    def credentials(self) -> grpc.ServerCredentials:
        """Return the gRPC server credentials."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )
