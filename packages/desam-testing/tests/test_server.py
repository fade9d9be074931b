"""The server's life cycle, request records, and robustness against bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desam_proto import client_pb2 as pb
from desam_proto import client_pb2_grpc as pbg
from desam_testing import FakeScheduler, __version__
from desam_testing._rpcs import RPCS

Connect = Callable[[FakeScheduler], pbg.ClientServiceStub]


def query_ok(stub: pbg.ClientServiceStub) -> bool:
    """Whether the server answers a well-formed call (with any key it knows)."""
    replies = [stub.ListJobs(pb.ListJobsRequest(api_key=key), timeout=5) for key in ("sk-test", "sk-alice")]
    return any(reply.response.success for reply in replies)


def test_it_listens_on_an_ephemeral_port(connect: Connect) -> None:
    fake = FakeScheduler()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = fake.port
    with fake:
        assert fake.port > 0
        assert fake.address == f"127.0.0.1:{fake.port}"
        assert query_ok(connect(fake))
        assert "127.0.0.1" in repr(fake)
        assert "sk-test" not in repr(fake)


def test_restart_on_the_same_port_with_the_same_channel() -> None:
    """C-04: stop, then a new scheduler on the same port serves the old channel."""
    first = FakeScheduler().start()
    port = first.port
    with grpc.insecure_channel(first.address) as channel:
        stub = pbg.ClientServiceStub(channel)
        assert query_ok(stub)
        first.stop()
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListJobs(pb.ListJobsRequest(api_key="sk-test"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        with FakeScheduler(port=port) as second:
            reply = stub.ListJobs(pb.ListJobsRequest(api_key="sk-test"), timeout=5, wait_for_ready=True)
            assert reply.response.success
            assert second.request_count("ListJobs") == 1


def test_a_taken_port_is_an_error() -> None:
    with FakeScheduler() as first:
        second = FakeScheduler(port=first.port)
        with pytest.raises(OSError, match=str(first.port)):
            second.start()
        second.stop()


def test_start_once_stop_many_times() -> None:
    fake = FakeScheduler().start()
    with pytest.raises(RuntimeError, match="starts once"):
        fake.start()
    fake.stop()
    fake.stop()
    with pytest.raises(RuntimeError, match="starts once"):
        fake.start()
    FakeScheduler().stop()  # never started


def test_the_private_data_dir_is_removed_and_a_given_one_kept(tmp_path: Path) -> None:
    with FakeScheduler() as fake:
        private = fake.data_dir
        assert private.is_dir()
    assert not private.exists()
    with FakeScheduler(data_dir=tmp_path / "d") as fake:
        assert fake.data_dir == tmp_path / "d"
    assert (tmp_path / "d" / "blobs").is_dir()


def test_ipv6_addresses_are_bracketed() -> None:
    try:
        fake = FakeScheduler(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with fake, grpc.insecure_channel(fake.address) as channel:
        assert fake.address == f"[::1]:{fake.port}"
        assert query_ok(pbg.ClientServiceStub(channel))


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="admin key"):
        FakeScheduler(api_keys={"a": "x"}, admin_keys=["b"])
    with pytest.raises(ValueError, match="empty"):
        FakeScheduler(api_keys={"": "x"})


def test_requests_are_counted_and_recorded(stub: pbg.ClientServiceStub, fake: FakeScheduler) -> None:
    assert fake.request_count() == 0
    stub.QueryJob(pb.QueryJobRequest(api_key="sk-alice", job_id="job-1"))
    stub.QueryJob(pb.QueryJobRequest(api_key="wrong", job_id="job-2"))
    stub.ListJobs(pb.ListJobsRequest(api_key="sk-alice"))
    assert fake.request_count("QueryJob") == 2
    assert fake.request_count("SubmitJob") == 0
    assert fake.request_count() == 3
    assert [r.job_id for r in fake.requests("QueryJob")] == ["job-1", "job-2"]
    with pytest.raises(ValueError, match="unknown RPC"):
        fake.request_count("Nope")


def test_requests_can_be_counted_without_being_kept(connect: Connect) -> None:
    with FakeScheduler(record_requests=False) as fake:
        assert query_ok(connect(fake))
        assert fake.request_count("ListJobs") == 2  # query_ok tries two keys
        assert fake.requests("ListJobs") == []


def _raw_call(channel: grpc.Channel, path: str) -> Any:
    return channel.unary_unary(path)


def _raw(channel: grpc.Channel, rpc: str) -> Any:
    path = f"/desam.client.ClientService/{rpc}"
    if RPCS[rpc].client_streaming:
        return channel.stream_unary(path)
    return channel.unary_unary(path)


@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_garbage_bytes_fail_with_internal_and_the_server_carries_on(fake: FakeScheduler, rpc: str) -> None:
    with grpc.insecure_channel(fake.address) as channel:
        call = _raw(channel, rpc)
        garbage = b"\xff\xff\xff\xff"
        with pytest.raises(grpc.RpcError) as caught:
            call(iter([garbage]) if RPCS[rpc].client_streaming else garbage, timeout=5)
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert fake.request_count(rpc) == 1
        assert query_ok(pbg.ClientServiceStub(channel))


def test_an_unknown_method_is_unimplemented(fake: FakeScheduler) -> None:
    with grpc.insecure_channel(fake.address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            _raw_call(channel, "/desam.client.ClientService/Nope")(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_crashing_handler_becomes_internal(
    stub: pbg.ClientServiceStub,
    fake: FakeScheduler,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(job_id: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake.executor, "submit", explode)
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitJob(pb.SubmitJobRequest(api_key="sk-alice", name="n", command="c"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "boom" in str(caught.value.details())
    assert "SubmitJob failed" in caplog.text
    monkeypatch.undo()
    assert stub.SubmitJob(pb.SubmitJobRequest(api_key="sk-alice", name="n", command="c")).response.success


# -- fuzzing -------------------------------------------------------------------------------------------

_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.CPPTYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_BOOL: st.booleans(),
    FieldDescriptor.CPPTYPE_ENUM: st.integers(-3, 50),
    FieldDescriptor.CPPTYPE_STRING: st.text(max_size=12)
    | st.sampled_from(
        ["sk-test", "", "0", "..", "/", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    ),
}


def _fields(descriptor: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Hypothesis strategy for the keyword arguments of a message with this descriptor."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            strategy: st.SearchStrategy[Any] = st.dictionaries(
                st.text(max_size=6), st.text(max_size=6), max_size=3
            )
        elif field.message_type is not None:
            if depth >= 3:
                continue
            strategy = _fields(field.message_type, depth + 1)
        elif field.type == FieldDescriptor.TYPE_BYTES:
            strategy = st.binary(max_size=16)
        else:
            strategy = _SCALARS[field.cpp_type]
        if field.label == FieldDescriptor.LABEL_REPEATED and not is_map:
            strategy = st.lists(strategy, max_size=3)
        optional[field.name] = strategy
    return st.fixed_dictionaries({}, optional=optional)


@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_random_requests_never_break_it(rpc: str) -> None:
    spec = RPCS[rpc]
    with FakeScheduler() as fake, grpc.insecure_channel(fake.address) as channel:
        stub = pbg.ClientServiceStub(channel)
        method = getattr(stub, rpc)

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(st.lists(_fields(spec.request_type.DESCRIPTOR), min_size=1, max_size=3))
        def check(requests: list[dict[str, Any]]) -> None:
            messages = [spec.request_type(**fields) for fields in requests]
            reply = method(iter(messages)) if spec.client_streaming else method(messages[0], timeout=5)
            assert reply.HasField("response")
            if not reply.response.success:
                assert reply.response.error_code

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(st.binary(max_size=64))
        def check_bytes(raw: bytes) -> None:
            call = _raw(channel, rpc)
            future = call.future(iter([raw]) if spec.client_streaming else raw, timeout=5)
            assert future.exception() is None or future.code() == grpc.StatusCode.INTERNAL

        check()
        check_bytes()
        assert query_ok(stub)
        assert fake.request_count(rpc) >= 2


def test_version() -> None:
    assert __version__ == "0.2.0"
