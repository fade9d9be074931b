"""Throw-away TLS certificates for tests: a CA, a server certificate and a client certificate.

Needs the ``cryptography`` package (``pip install desam-testing[tls]``); it is
imported only when :func:`generate_test_certificates` runs.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._server_tls import ServerTLS

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate, ExtensionType, Name

__all__ = ["CertificateSet", "generate_test_certificates"]


@dataclass(frozen=True)
class CertificateSet:
    """PEM bytes of a test PKI, and the files they were written to.

    Attributes:
        ca_cert: The CA certificate (give it to clients as the trusted root, e.g. ``cert_path``).
        server_cert: The server certificate, signed by the CA.
        server_key: The server's private key.
        client_cert: A client certificate, signed by the CA (for mutual TLS).
        client_key: The client's private key.
        ca_cert_path: Where ``ca_cert`` was written.
        server_cert_path: Where ``server_cert`` was written.
        server_key_path: Where ``server_key`` was written.
        client_cert_path: Where ``client_cert`` was written.
        client_key_path: Where ``client_key`` was written.
    """

    ca_cert: bytes = field(repr=False)
    server_cert: bytes = field(repr=False)
    server_key: bytes = field(repr=False)
    client_cert: bytes = field(repr=False)
    client_key: bytes = field(repr=False)
    ca_cert_path: Path
    server_cert_path: Path
    server_key_path: Path
    client_cert_path: Path
    client_key_path: Path

    def server_tls(self, *, require_client_cert: bool = False) -> ServerTLS:
        """Return the :class:`ServerTLS` for a FakeScheduler serving the server certificate.

        Args:
            require_client_cert: Demand a client certificate signed by the CA (mutual TLS).
        """
        return ServerTLS(
            cert_chain=self.server_cert,
            private_key=self.server_key,
            client_ca=self.ca_cert if require_client_cert else None,
        )


def generate_test_certificates(
    tmp_dir: Path | str,
    *,
    hostnames: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
) -> CertificateSet:
    """Make a CA and a server and a client certificate signed by it, valid for 30 days.

    The server certificate names exactly ``hostnames`` and ``ip_addresses`` in its
    subject alternative names, so a test can make one that does *not* match the
    address a client dials (e.g. ``hostnames=("desam.test",), ip_addresses=()``).

    Args:
        tmp_dir: Directory the PEM files are written to (created if missing).
        hostnames: DNS names the server certificate is valid for.
        ip_addresses: IP addresses the server certificate is valid for.

    Returns:
        The certificates and keys, as bytes and as files.

    Raises:
        ImportError: If ``cryptography`` is not installed.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    directory = Path(tmp_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_name = _new_key(), _name("desam-testing CA")
    ca_cert = _build(
        ca_name,
        ca_key,
        ca_name,
        ca_key,
        [(x509.BasicConstraints(ca=True, path_length=0), True), _key_usage(ca=True)],
    )
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    server_key = _new_key()
    server_extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        _key_usage(ca=False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ]
    if sans:
        server_extensions.append((x509.SubjectAlternativeName(sans), False))
    server_cert = _build(
        _name(hostnames[0] if hostnames else "desam-test-server"),
        server_key,
        ca_name,
        ca_key,
        server_extensions,
    )
    client_key = _new_key()
    client_cert = _build(
        _name("desam-test-client"),
        client_key,
        ca_name,
        ca_key,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            _key_usage(ca=False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        ],
    )
    pems = {
        "ca.pem": _cert_pem(ca_cert),
        "server.pem": _cert_pem(server_cert),
        "server.key": _key_pem(server_key),
        "client.pem": _cert_pem(client_cert),
        "client.key": _key_pem(client_key),
    }
    for name, data in pems.items():
        (directory / name).write_bytes(data)
    return CertificateSet(
        ca_cert=pems["ca.pem"],
        server_cert=pems["server.pem"],
        server_key=pems["server.key"],
        client_cert=pems["client.pem"],
        client_key=pems["client.key"],
        ca_cert_path=directory / "ca.pem",
        server_cert_path=directory / "server.pem",
        server_key_path=directory / "server.key",
        client_cert_path=directory / "client.pem",
        client_key_path=directory / "client.key",
    )


def _new_key() -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, ca: bool) -> tuple[ExtensionType, bool]:
    from cryptography import x509

    return (
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=not ca,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        ),
        True,
    )


def _build(
    subject: Name,
    key: EllipticCurvePrivateKey,
    issuer: Name,
    issuer_key: EllipticCurvePrivateKey,
    extensions: Sequence[tuple[ExtensionType, bool]],
) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _cert_pem(cert: Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM)


def _key_pem(key: EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
