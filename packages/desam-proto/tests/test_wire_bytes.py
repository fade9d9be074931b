"""Byte compatibility: what the generated code puts on the wire, against bytes derived by hand.

A protobuf field goes on the wire as a tag, ``(field number << 3) | wire type`` written as a varint,
then its value: wire type 0 (varint) for int32/int64/bool/enum, wire type 2 (length-delimited: a
varint length, then the bytes) for string/bytes/messages and for each element of a repeated string
or message. A ``map<string,string>`` entry is a length-delimited message with the key as field 1 and
the value as field 2. proto3 leaves fields at their default value (0, "", false) off the wire.

The small encoder below knows only that much and does not use protobuf. Deployed schedulers and the
earlier ``desam-client`` 0.1.x read and write these bytes, so they must not change.
"""

from __future__ import annotations

import pytest
from google.protobuf.message import Message

from desam_proto import client_pb2 as pb

VARINT = 0
LEN = 2


def varint(value: int) -> bytes:
    """Base-128 varint, low group first; negative int32/int64 values take 10 bytes (two's complement)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        group, value = value & 0x7F, value >> 7
        if value:
            out.append(group | 0x80)
        else:
            out.append(group)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def num(number: int, value: int) -> bytes:
    """An int32/int64/bool/enum field (omitted at its default, as proto3 does)."""
    return tag(number, VARINT) + varint(value) if value else b""


def text(number: int, value: str | bytes) -> bytes:
    """A string/bytes field, or an already-encoded embedded message (omitted when empty)."""
    data = value.encode() if isinstance(value, str) else value
    return tag(number, LEN) + varint(len(data)) + data if data else b""


def message(number: int, payload: bytes) -> bytes:
    """An embedded message that is set: on the wire even when all its fields are default."""
    return tag(number, LEN) + varint(len(payload)) + payload


def string_map(number: int, mapping: dict[str, str]) -> bytes:
    """One entry message per key, in key order (what ``deterministic=True`` produces)."""
    return b"".join(message(number, text(1, key) + text(2, value)) for key, value in sorted(mapping.items()))


def serialize(msg: Message) -> bytes:
    return msg.SerializeToString(deterministic=True)


# --------------------------------------------------------------------------- single fields, bytes written out


CASES = [
    # SubmitJobRequest.api_key = 1, string: tag 1<<3|2 = 0x0a, length 7, then UTF-8.
    ("api_key", pb.SubmitJobRequest(api_key="sk-test"), b"\x0a\x07sk-test"),
    # SubmitJobRequest.timeout = 10, int32: tag 10<<3|0 = 0x50; 3600 = 28*128 + 16 -> 0x90 (16|0x80), 0x1c.
    ("timeout", pb.SubmitJobRequest(timeout=3600), b"\x50\x90\x1c"),
    # SubmitJobRequest.labels = 13, map: tag 13<<3|2 = 0x6a, then a 12-byte entry:
    # key (0x0a, 4, "prio"), value (0x12, 4, "high").
    ("labels", pb.SubmitJobRequest(labels={"prio": "high"}), b"\x6a\x0c\x0a\x04prio\x12\x04high"),
    # SubmitJobRequest.artifacts = 12, repeated string: one tag 12<<3|2 = 0x62 per element.
    ("artifacts", pb.SubmitJobRequest(artifacts=["a", "bc"]), b"\x62\x01a\x62\x02bc"),
    # SubmitJobRequest.resources = 6, message: tag 0x32, length 11, then the ResourceRequirement:
    # cpu_cores (1) = 4: 0x08 0x04; memory_mb (2) = 16384 = 2**14: 0x10 0x80 0x80 0x01;
    # gpu_count (3) = 1: 0x18 0x01; disk_mb (4) = 1000 = 7*128 + 104: 0x20 0xe8 0x07.
    (
        "resources",
        pb.SubmitJobRequest(
            resources=pb.ResourceRequirement(cpu_cores=4, memory_mb=16384, gpu_count=1, disk_mb=1000)
        ),
        b"\x32\x0b\x08\x04\x10\x80\x80\x01\x18\x01\x20\xe8\x07",
    ),
    # A negative int32 is sign-extended to 64 bits: ten varint bytes. Tag of retries (11): 0x58.
    ("negative-int32", pb.SubmitJobRequest(retries=-1), b"\x58" + b"\xff" * 9 + b"\x01"),
    # Job.status = 12, enum: tag 12<<3|0 = 0x60; RUNNING = 3.
    ("job-status", pb.Job(status=pb.RUNNING), b"\x60\x03"),
    # Job.submit_time = 9, int64: tag 0x48; 1700000000 = 0x6553f100 in 7-bit groups, low first:
    # 0x00, 0x62, 0x4f, 0x2a, 0x06 -> 0x80 0xe2 0xcf 0xaa 0x06.
    ("submit_time", pb.Job(submit_time=1_700_000_000), b"\x48\x80\xe2\xcf\xaa\x06"),
    # Job.description = 20: tag 20<<3|2 = 162, two varint bytes 0xa2 0x01.
    ("job-description", pb.Job(description="x"), b"\xa2\x01\x01x"),
    # Job.env = 15, map: tag 15<<3|2 = 0x7a. Job.labels = 19: tag 154 = 0x9a 0x01.
    ("job-env", pb.Job(env={"A": "1"}), b"\x7a\x06\x0a\x01A\x12\x011"),
    ("job-labels", pb.Job(labels={"A": "1"}), b"\x9a\x01\x06\x0a\x01A\x12\x011"),
    # UploadFileRequest.content = 5, bytes: tag 0x2a; is_last_chunk = 6, bool: tag 0x30, true = 1.
    (
        "upload-chunk",
        pb.UploadFileRequest(content=b"\x00\xff", is_last_chunk=True),
        b"\x2a\x02\x00\xff\x30\x01",
    ),
    # ListJobsRequest.status = 3, enum: tag 0x18; FAILED = 5.
    ("list-filter", pb.ListJobsRequest(status=pb.FAILED), b"\x18\x05"),
]


@pytest.mark.parametrize(("msg", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_single_field_bytes(msg: Message, expected: bytes) -> None:
    assert serialize(msg).hex(" ") == expected.hex(" ")
    assert type(msg).FromString(expected) == msg


def test_the_hand_encoder_agrees_with_the_written_out_bytes() -> None:
    assert num(10, 3600) == b"\x50\x90\x1c"
    assert num(9, 1_700_000_000) == b"\x48\x80\xe2\xcf\xaa\x06"
    assert text(20, "x") == b"\xa2\x01\x01x"
    assert string_map(13, {"prio": "high"}) == b"\x6a\x0c\x0a\x04prio\x12\x04high"


# --------------------------------------------------------------------------- whole messages

RESOURCES = {"cpu_cores": 4, "memory_mb": 16384, "gpu_count": 1, "disk_mb": 1000}
DEPENDENCIES = [  # source_path, dest_path, is_input
    ("s3://bucket/in", "/data/in", True),
    ("/data/out", "s3://bucket/out", False),
]
METADATA = {"team": "ml", "project": "β-test"}
ENV = {"SEED": "7", "LR": "0.1"}
LABELS = {"prio": "high"}
ARTIFACTS = ["model.pt", "log.txt"]


def resources_bytes() -> bytes:
    r = RESOURCES
    return num(1, r["cpu_cores"]) + num(2, r["memory_mb"]) + num(3, r["gpu_count"]) + num(4, r["disk_mb"])


def dependency_bytes(source: str, dest: str, is_input: bool) -> bytes:
    return text(1, source) + text(2, dest) + num(3, int(is_input))


def dependencies() -> list[pb.DataDependency]:
    return [pb.DataDependency(source_path=s, dest_path=d, is_input=i) for s, d, i in DEPENDENCIES]


def all_fields_set(msg: Message) -> bool:
    return {field.name for field, _ in msg.ListFields()} == set(msg.DESCRIPTOR.fields_by_name)


def test_fully_populated_submit_job_request() -> None:
    request = pb.SubmitJobRequest(
        api_key="sk-test",
        user_id="alice",
        name="train",
        command="python train.py --epochs 3",
        working_dir="/work",
        resources=pb.ResourceRequirement(**RESOURCES),
        dependencies=dependencies(),
        metadata=METADATA,
        env=ENV,
        timeout=3600,
        retries=2,
        artifacts=ARTIFACTS,
        labels=LABELS,
        description="nightly run",
    )
    expected = b"".join(
        [
            text(1, "sk-test"),
            text(2, "alice"),
            text(3, "train"),
            text(4, "python train.py --epochs 3"),
            text(5, "/work"),
            message(6, resources_bytes()),
            *(message(7, dependency_bytes(*dep)) for dep in DEPENDENCIES),
            string_map(8, METADATA),
            string_map(9, ENV),
            num(10, 3600),
            num(11, 2),
            *(text(12, artifact) for artifact in ARTIFACTS),
            string_map(13, LABELS),
            text(14, "nightly run"),
        ]
    )
    assert serialize(request).hex(" ") == expected.hex(" ")
    assert pb.SubmitJobRequest.FromString(expected) == request
    # Every one of the 14 fields is set, so every field number's tag is on the wire.
    assert all_fields_set(request)


def test_fully_populated_job() -> None:
    job = pb.Job(
        job_id="job-42",
        user_id="alice",
        name="train",
        command="python train.py",
        working_dir="/work",
        resources=pb.ResourceRequirement(**RESOURCES),
        dependencies=dependencies(),
        metadata=METADATA,
        submit_time=1_700_000_000,
        start_time=1_700_000_005,
        finish_time=1_700_003_600,
        status=pb.SUCCEEDED,
        error_message="none",
        executor_id="exec-1",
        env=ENV,
        timeout=3600,
        retries=2,
        artifacts=ARTIFACTS,
        labels=LABELS,
        description="nightly run",
    )
    expected = b"".join(
        [
            text(1, "job-42"),
            text(2, "alice"),
            text(3, "train"),
            text(4, "python train.py"),
            text(5, "/work"),
            message(6, resources_bytes()),
            *(message(7, dependency_bytes(*dep)) for dep in DEPENDENCIES),
            string_map(8, METADATA),
            num(9, 1_700_000_000),
            num(10, 1_700_000_005),
            num(11, 1_700_003_600),
            num(12, 4),  # SUCCEEDED
            text(13, "none"),
            text(14, "exec-1"),
            string_map(15, ENV),
            num(16, 3600),
            num(17, 2),
            *(text(18, artifact) for artifact in ARTIFACTS),
            string_map(19, LABELS),
            text(20, "nightly run"),
        ]
    )
    assert serialize(job).hex(" ") == expected.hex(" ")
    assert pb.Job.FromString(expected) == job
    # Every one of the 20 fields is set.
    assert all_fields_set(job)


def test_a_status_number_the_client_does_not_know_survives() -> None:
    # A newer scheduler may send JobStatus 42: proto3 enums are open, the number is kept as is.
    wire = text(1, "job-1") + num(12, 42)
    job = pb.Job.FromString(wire)
    assert job.status == 42
    assert serialize(job) == wire


def test_a_field_the_client_does_not_know_is_kept() -> None:
    # A scheduler (or our fake one) may add fields numbered >= 100: old readers keep them as unknown.
    wire = text(1, "job-1") + text(100, "extra")
    job = pb.Job.FromString(wire)
    assert job.job_id == "job-1"
    assert serialize(job) == wire
