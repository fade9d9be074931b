"""TLS: verification, host names (C-06), mutual TLS, and no plaintext key to remote hosts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from desam_client import ConfigurationError, DeSAMClient, DeSAMConnectionError, TLSError
from desam_testing import FakeScheduler, ServerTLS
from desam_testing.tls import generate_test_certificates


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate_test_certificates(
        tmp_path_factory.mktemp("pki"), hostnames=("desam.test",), ip_addresses=()
    )


def _tls(pki: Any, *, client_ca: bool = False) -> ServerTLS:
    return ServerTLS(
        cert_chain=pki.server_cert, private_key=pki.server_key, client_ca=pki.ca_cert if client_ca else None
    )


def test_c06_wrong_host_name_fails_fast_and_says_why(pki: Any, keys: dict[str, str]) -> None:
    with FakeScheduler(api_keys=keys, tls=_tls(pki)) as fake:
        with DeSAMClient(
            host="127.0.0.1", port=fake.port, api_key="sk-test", cert_path=pki.ca_cert_path
        ) as client:
            started = time.monotonic()
            with pytest.raises(DeSAMConnectionError) as info:
                client.list_jobs()
            assert time.monotonic() - started < 5.0  # the deadline is 30 s
            assert isinstance(info.value, TLSError)
            text = str(info.value).lower()
            assert "certificate" in text or "peer name" in text or "host" in text
        with DeSAMClient(
            host="127.0.0.1",
            port=fake.port,
            api_key="sk-test",
            cert_path=pki.ca_cert_path,
            server_name="desam.test",
        ) as client:
            assert client.list_jobs() == []
            assert "security='tls'" in repr(client)


def test_untrusted_certificate_is_a_tls_error(pki: Any, keys: dict[str, str], tmp_path: Path) -> None:
    other = generate_test_certificates(tmp_path, hostnames=("desam.test",), ip_addresses=())
    with (
        FakeScheduler(api_keys=keys, tls=_tls(pki)) as fake,
        DeSAMClient(
            host="127.0.0.1",
            port=fake.port,
            api_key="sk-test",
            cert_path=other.ca_cert_path,
            server_name="desam.test",
        ) as client,
        pytest.raises(TLSError),
    ):
        client.list_jobs()


def test_mutual_tls_with_and_without_a_client_certificate(pki: Any, keys: dict[str, str]) -> None:
    with FakeScheduler(api_keys=keys, tls=_tls(pki, client_ca=True)) as fake:
        common = {
            "host": "127.0.0.1",
            "port": fake.port,
            "api_key": "sk-test",
            "cert_path": pki.ca_cert_path,
            "server_name": "desam.test",
        }
        with DeSAMClient(
            **common, client_cert_path=pki.client_cert_path, client_key_path=pki.client_key_path
        ) as client:
            assert client.list_jobs() == []
            assert "security='mtls'" in repr(client)
        with DeSAMClient(**common, retry=None) as client, pytest.raises(DeSAMConnectionError):
            client.list_jobs()


def test_plaintext_to_a_remote_host_needs_an_opt_in() -> None:
    with pytest.raises(ConfigurationError) as info:
        DeSAMClient(host="192.168.1.100", port=50051, api_key="sk-test")
    assert "allow_insecure" in str(info.value) and "cert_path" in str(info.value)
    DeSAMClient(host="192.168.1.100", port=50051, api_key="sk-test", allow_insecure=True).close()
    for host in ("localhost", "127.0.0.1", "127.8.9.10", "::1"):
        DeSAMClient(host=host, port=50051, api_key="sk-test").close()


def test_missing_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cert_path"):
        DeSAMClient(host="localhost", api_key="k", cert_path=tmp_path / "server.crt")
