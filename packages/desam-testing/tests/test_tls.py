"""TLS: test certificates, a TLS fake scheduler, host name checks, and mutual TLS."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler, ServerTLS
from desam_testing.tls import generate_test_certificates


def list_jobs(channel: grpc.Channel, timeout: float = 5.0) -> pb.ListJobsResponse:
    return pbg.ClientServiceStub(channel).ListJobs(pb.ListJobsRequest(api_key="sk-test"), timeout=timeout)


def test_the_certificate_files(tmp_path: Path) -> None:
    from cryptography import x509

    certs = generate_test_certificates(
        tmp_path / "pki", hostnames=("a.test", "b.test"), ip_addresses=("127.0.0.1",)
    )
    assert certs.ca_cert_path.read_bytes() == certs.ca_cert
    assert certs.server_key_path.read_bytes() == certs.server_key
    assert certs.client_cert_path.read_bytes() == certs.client_cert
    server = x509.load_pem_x509_certificate(certs.server_cert)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["a.test", "b.test"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert server.issuer == x509.load_pem_x509_certificate(certs.ca_cert).subject
    assert "BEGIN" not in repr(certs)


def test_a_tls_scheduler_serves_a_client_that_trusts_its_ca(tmp_path: Path) -> None:
    certs = generate_test_certificates(tmp_path)
    with FakeScheduler(tls=certs.server_tls()) as fake:
        credentials = grpc.ssl_channel_credentials(root_certificates=certs.ca_cert)
        with grpc.secure_channel(fake.address, credentials) as channel:
            assert list_jobs(channel).response.success
        with grpc.insecure_channel(fake.address) as plain, pytest.raises(grpc.RpcError):
            list_jobs(plain, timeout=2)


def test_a_certificate_for_another_name_fails_fast_unless_overridden(tmp_path: Path) -> None:
    """C-06: the certificate names only desam.test; the client dials 127.0.0.1."""
    certs = generate_test_certificates(tmp_path, hostnames=("desam.test",), ip_addresses=())
    with FakeScheduler(tls=certs.server_tls()) as fake:
        credentials = grpc.ssl_channel_credentials(root_certificates=certs.ca_cert)
        with grpc.secure_channel(fake.address, credentials) as channel:
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as caught:
                list_jobs(channel, timeout=10)
            assert time.monotonic() - started < 5
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        options = [("grpc.ssl_target_name_override", "desam.test")]
        with grpc.secure_channel(fake.address, credentials, options=options) as channel:
            assert list_jobs(channel).response.success
        assert fake.request_count() == 1


def test_mutual_tls_requires_a_client_certificate(tmp_path: Path) -> None:
    certs = generate_test_certificates(tmp_path)
    tls = certs.server_tls(require_client_cert=True)
    assert tls.client_ca == certs.ca_cert
    with FakeScheduler(tls=tls) as fake:
        anonymous = grpc.ssl_channel_credentials(root_certificates=certs.ca_cert)
        with grpc.secure_channel(fake.address, anonymous) as channel, pytest.raises(grpc.RpcError):
            list_jobs(channel, timeout=5)
        identified = grpc.ssl_channel_credentials(
            root_certificates=certs.ca_cert, private_key=certs.client_key, certificate_chain=certs.client_cert
        )
        with grpc.secure_channel(fake.address, identified) as channel:
            assert list_jobs(channel).response.success


def test_server_tls_keeps_keys_out_of_its_repr() -> None:
    assert "secret" not in repr(ServerTLS(cert_chain=b"cert", private_key=b"secret"))
