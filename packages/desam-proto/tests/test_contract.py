"""The generated descriptor against the wire contract's tables, field by field.

The expected values are parsed from ``spec_tables.md`` beside this file: a verbatim copy of the
"Service", "Enum `JobStatus`" and "Messages" sections of the contract, ``shared/spec/wire-protocol.md``
(``shared/`` lies next to the repository). ``test_embedded_tables_match_the_contract`` keeps that copy
equal to the contract wherever the contract is present (a checkout with ``shared/`` beside it, CI); from
an sdist it is skipped and the copy alone is the reference.

What is compared: the proto package and syntax; the set of messages (no missing one, no extra one but
map entry types); every field's name, number, type and cardinality (singular, ``repeated``,
``map<K,V>``); the ``JobStatus`` names and numbers; the service's full name and every RPC's request
type, response type and streaming flags.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

import desam_proto
from desam_proto import client_pb2

HERE = Path(__file__).resolve().parent
EMBEDDED = HERE / "spec_tables.md"

PACKAGE = "desam.client"
SERVICE = "ClientService"
SYNTAX = "proto3"
SERVICE_SECTION = "Service"
ENUM_SECTION = "Enum `JobStatus`"
MESSAGES_SECTION = "Messages (field: type = number)"
SECTIONS = (SERVICE_SECTION, ENUM_SECTION, MESSAGES_SECTION)
#: Lines of the contract's preamble (before its first section) that name what the tables rely on.
PREAMBLE_LINES = (
    "- proto package: `desam.client`",
    "- service: `ClientService` (so the gRPC method paths are `/desam.client.ClientService/<Method>`)",
    "- syntax: proto3",
)

SCALARS = {
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_FIXED64: "fixed64",
    FieldDescriptor.TYPE_FIXED32: "fixed32",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_SFIXED32: "sfixed32",
    FieldDescriptor.TYPE_SFIXED64: "sfixed64",
    FieldDescriptor.TYPE_SINT32: "sint32",
    FieldDescriptor.TYPE_SINT64: "sint64",
}
SCALAR_NAMES = frozenset(SCALARS.values())


# --------------------------------------------------------------------------- the contract's text


def sections(markdown: str) -> dict[str, str]:
    """Every ``## `` section of a markdown text by its title: heading line and body.

    The body runs up to the next ``## `` heading; trailing blank lines are dropped.
    """
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
            current.append(line)
        elif current is not None:
            current.append(line)
    return {title: "\n".join(lines).rstrip("\n") for title, lines in found.items()}


def wanted_sections(markdown: str, source: str) -> dict[str, str]:
    """The three sections the tables come from; a clear failure when one is missing."""
    found = sections(markdown)
    missing = [title for title in SECTIONS if title not in found]
    assert not missing, f"{source} has no section(s) {missing}; it has {sorted(found)}"
    return {title: found[title] for title in SECTIONS}


# --------------------------------------------------------------------------- parsing the tables


@dataclass(frozen=True)
class Field:
    """One field as the contract states it, in a form the descriptor can be rendered to as well."""

    number: int
    cardinality: str  # "singular", "repeated" or "map"
    type: str  # "int32", "enum JobStatus", "message Job", "map<string,string>"

    def __str__(self) -> str:
        return f"number {self.number}, {self.cardinality} {self.type}"


@dataclass(frozen=True)
class Rpc:
    """One RPC as the contract states it."""

    request: str
    response: str
    client_streaming: bool
    server_streaming: bool


@dataclass(frozen=True)
class Contract:
    """Everything the three tables say."""

    rpcs: dict[str, Rpc]
    enum_values: dict[str, int]
    messages: dict[str, dict[str, Field]]


def table_rows(section: str) -> list[list[str]]:
    """The body rows of the one pipe table in a section (header and ``|---|`` rule dropped)."""
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) >= 2, f"no table in section:\n{section}"
    assert set(rows[1].replace("|", "").strip()) <= {"-", ":", " "}, f"not a table rule: {rows[1]!r}"
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows[2:]]


KINDS = {
    "unary": (False, False),
    "client streaming": (True, False),
    "server streaming": (False, True),
    "bidirectional streaming": (True, True),
}


def parse_service(section: str) -> dict[str, Rpc]:
    """``| RPC | request | response | kind |`` rows; ``stream X`` marks a streamed side."""
    rpcs: dict[str, Rpc] = {}
    for row in table_rows(section):
        assert len(row) == 4, f"service row needs 4 cells: {row}"
        name, request, response, kind = row
        client_streaming = request.startswith("stream ")
        server_streaming = response.startswith("stream ")
        assert kind in KINDS, f"{name}: unknown kind {kind!r}"
        assert KINDS[kind] == (client_streaming, server_streaming), (
            f"{name}: kind {kind!r} disagrees with its request/response columns"
        )
        assert name not in rpcs, f"RPC {name} listed twice"
        rpcs[name] = Rpc(
            request=request.removeprefix("stream "),
            response=response.removeprefix("stream "),
            client_streaming=client_streaming,
            server_streaming=server_streaming,
        )
    return rpcs


def parse_enum(section: str) -> dict[str, int]:
    """``| name | number | meaning |`` rows."""
    values: dict[str, int] = {}
    for row in table_rows(section):
        assert len(row) == 3, f"enum row needs 3 cells: {row}"
        name, number, _meaning = row
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"bad enum value name {name!r}"
        assert name not in values, f"enum value {name} listed twice"
        values[name] = int(number)
    assert len(set(values.values())) == len(values), f"enum numbers are not unique: {values}"
    return values


MESSAGE_HEAD = re.compile(r"\*\*(?P<name>[A-Za-z_]\w*)\*\*:\s*(?P<fields>.*)")
FIELD = re.compile(r"(?P<name>[a-z_][a-z0-9_]*): (?P<type>.+?) = (?P<number>\d+)")
MAP = re.compile(r"map<(?P<key>\w+),\s*(?P<value>[\w.]+)>")


def message_paragraphs(section: str) -> dict[str, str]:
    """``**Name**: field · field ·`` paragraphs (possibly wrapped over lines) by message name."""
    paragraphs: dict[str, str] = {}
    current: str | None = None
    for line in section.splitlines()[1:]:  # the heading is not a paragraph
        if not line.strip():
            current = None
            continue
        head = MESSAGE_HEAD.fullmatch(line.strip())
        if head:
            current = head["name"]
            assert current not in paragraphs, f"message {current} listed twice"
            paragraphs[current] = head["fields"]
        else:
            assert current is not None, f"line outside any message paragraph: {line!r}"
            paragraphs[current] += " " + line.strip()
    return paragraphs


def resolve(type_text: str, messages: set[str], enums: set[str], where: str) -> str:
    """A scalar's name, ``enum X`` or ``message X``; unknown names fail."""
    if type_text in SCALAR_NAMES:
        return type_text
    if type_text in enums:
        return f"enum {type_text}"
    if type_text in messages:
        return f"message {type_text}"
    raise AssertionError(f"{where}: unknown type {type_text!r}")


def parse_messages(section: str, enums: set[str]) -> dict[str, dict[str, Field]]:
    """Every message's fields: ``name: type = number``, ``repeated X``, ``map<K,V>``."""
    paragraphs = message_paragraphs(section)
    names = set(paragraphs)
    messages: dict[str, dict[str, Field]] = {}
    for message, text in paragraphs.items():
        fields: dict[str, Field] = {}
        for item in (part.strip() for part in text.split("·")):
            if not item:  # a trailing "·" before a line break
                continue
            match = FIELD.fullmatch(item)
            assert match, f"{message}: cannot read field {item!r}"
            where = f"{message}.{match['name']}"
            type_text = match["type"].strip()
            if type_text.startswith("repeated "):
                cardinality = "repeated"
                type_ = resolve(type_text.removeprefix("repeated "), names, enums, where)
            elif map_match := MAP.fullmatch(type_text):
                cardinality = "map"
                key = resolve(map_match["key"], names, enums, where)
                value = resolve(map_match["value"], names, enums, where)
                type_ = f"map<{key},{value}>"
            else:
                cardinality = "singular"
                type_ = resolve(type_text, names, enums, where)
            assert match["name"] not in fields, f"{where} listed twice"
            fields[match["name"]] = Field(int(match["number"]), cardinality, type_)
        numbers = [field.number for field in fields.values()]
        assert len(set(numbers)) == len(numbers), f"{message}: field numbers are not unique: {numbers}"
        messages[message] = fields
    return messages


def parse_contract(markdown: str, source: str) -> Contract:
    """The three tables of a markdown text that holds them."""
    found = wanted_sections(markdown, source)
    enum_values = parse_enum(found[ENUM_SECTION])
    return Contract(
        rpcs=parse_service(found[SERVICE_SECTION]),
        enum_values=enum_values,
        messages=parse_messages(found[MESSAGES_SECTION], enums={"JobStatus"}),
    )


CONTRACT = parse_contract(EMBEDDED.read_text(encoding="utf-8"), str(EMBEDDED))


# --------------------------------------------------------------------------- the generated side


def is_repeated(field: FieldDescriptor) -> bool:
    """``FieldDescriptor.label`` is deprecated in protobuf 6 and gone in 7; ``is_repeated`` is newer."""
    flag: Any = getattr(field, "is_repeated", None)
    if flag is None:
        flag = getattr(field, "label") == FieldDescriptor.LABEL_REPEATED  # noqa: B009 (not in the stubs)
    return bool(flag() if callable(flag) else flag)


def local_name(full_name: str) -> str:
    """``desam.client.Job`` -> ``Job``; a type of another package keeps its full name."""
    prefix = PACKAGE + "."
    return full_name[len(prefix) :] if full_name.startswith(prefix) else full_name


def map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry type of a ``map<K,V>`` field, None for any other field."""
    if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type is None:
        return None
    return field.message_type if field.message_type.GetOptions().map_entry else None


def type_of(field: FieldDescriptor) -> str:
    """The field's type rendered as the contract's tables write it (after ``resolve``)."""
    if field.type in SCALARS:
        return SCALARS[field.type]
    if field.type == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        return f"enum {local_name(field.enum_type.full_name)}"
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
        return f"message {local_name(field.message_type.full_name)}"
    return f"<type {field.type}>"  # groups: proto2 only


def generated_field(field: FieldDescriptor) -> Field:
    entry = map_entry(field)
    if entry is not None:
        key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return Field(field.number, "map", f"map<{type_of(key)},{type_of(value)}>")
    return Field(field.number, "repeated" if is_repeated(field) else "singular", type_of(field))


def file_proto() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    client_pb2.DESCRIPTOR.CopyToProto(proto)
    return proto


# --------------------------------------------------------------------------- the tests


def test_the_tables_were_read() -> None:
    # Guards the parser: the contract has 11 RPCs, 9 JobStatus values and 28 messages.
    assert len(CONTRACT.rpcs) == 11
    assert len(CONTRACT.enum_values) == 9
    assert len(CONTRACT.messages) == 28
    assert CONTRACT.messages["Job"]["status"] == Field(12, "singular", "enum JobStatus")
    assert CONTRACT.messages["Job"]["labels"] == Field(19, "map", "map<string,string>")
    assert CONTRACT.messages["FileTreeNode"]["children"] == Field(4, "repeated", "message FileTreeNode")
    assert CONTRACT.rpcs["UploadFile"] == Rpc("UploadFileRequest", "UploadFileResponse", True, False)


def test_package_and_syntax() -> None:
    assert client_pb2.DESCRIPTOR.package == PACKAGE
    assert file_proto().syntax == SYNTAX
    assert client_pb2.DESCRIPTOR.name == "desam/client/client.proto"


def test_no_missing_and_no_extra_messages() -> None:
    generated = set(client_pb2.DESCRIPTOR.message_types_by_name)
    assert sorted(set(CONTRACT.messages) - generated) == [], "messages of the contract not generated"
    assert sorted(generated - set(CONTRACT.messages)) == [], "generated messages the contract lacks"


@pytest.mark.parametrize("message", sorted(CONTRACT.messages))
def test_message_fields(message: str) -> None:
    descriptor = client_pb2.DESCRIPTOR.message_types_by_name.get(message)
    assert descriptor is not None, f"{message} is not generated"
    expected = CONTRACT.messages[message]
    actual = {field.name: generated_field(field) for field in descriptor.fields}
    problems = [
        f"{message}.{name}: in the contract ({field}), not generated"
        for name, field in expected.items()
        if name not in actual
    ]
    problems += [
        f"{message}.{name}: generated ({field}), not in the contract"
        for name, field in actual.items()
        if name not in expected
    ]
    problems += [
        f"{message}.{name}: the contract says {expected[name]}, the generated code has {field}"
        for name, field in actual.items()
        if name in expected and expected[name] != field
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("message", sorted(CONTRACT.messages))
def test_only_map_entries_are_nested_and_no_oneofs(message: str) -> None:
    descriptor = client_pb2.DESCRIPTOR.message_types_by_name[message]
    map_entries = {entry.name for entry in map(map_entry, descriptor.fields) if entry is not None}
    nested = {nested.name for nested in descriptor.nested_types}
    assert nested == map_entries, (
        f"{message}: nested types other than map entries: {sorted(nested - map_entries)}"
    )
    assert not descriptor.enum_types, f"{message}: nested enums the contract lacks"
    # A oneof (or a proto3 `optional`, which is a synthetic oneof) is not in the contract.
    assert [oneof.name for oneof in descriptor.oneofs] == []


def test_enum_job_status() -> None:
    assert sorted(client_pb2.DESCRIPTOR.enum_types_by_name) == ["JobStatus"]
    enum = client_pb2.DESCRIPTOR.enum_types_by_name["JobStatus"]
    assert enum.full_name == f"{PACKAGE}.JobStatus"
    assert {value.name: value.number for value in enum.values} == CONTRACT.enum_values
    # The Python-level enum wrapper agrees with its descriptor.
    assert {name: client_pb2.JobStatus.Value(name) for name in CONTRACT.enum_values} == CONTRACT.enum_values


def test_service() -> None:
    assert sorted(client_pb2.DESCRIPTOR.services_by_name) == [SERVICE]
    service = client_pb2.DESCRIPTOR.services_by_name[SERVICE]
    assert service.full_name == "desam.client.ClientService"
    assert service.full_name == desam_proto.SERVICE_NAME
    actual = {
        method.name: Rpc(
            request=local_name(method.input_type.full_name),
            response=local_name(method.output_type.full_name),
            client_streaming=bool(method.client_streaming),
            server_streaming=bool(method.server_streaming),
        )
        for method in service.methods
    }
    assert sorted(actual) == sorted(CONTRACT.rpcs), "RPC names differ from the contract"
    for name, rpc in CONTRACT.rpcs.items():
        assert actual[name] == rpc, f"{name}: the contract says {rpc}, the generated code has {actual[name]}"


def test_parser_rejects_what_it_cannot_read() -> None:
    heading = f"## {MESSAGES_SECTION}\n\n"
    with pytest.raises(AssertionError, match="cannot read field"):
        parse_messages(heading + "**A**: x int32 = 1\n", enums=set())
    with pytest.raises(AssertionError, match="unknown type"):
        parse_messages(heading + "**A**: x: Nope = 1\n", enums=set())
    with pytest.raises(AssertionError, match="not unique"):
        parse_messages(heading + "**A**: x: int32 = 1 ·\ny: string = 1\n", enums=set())
    wrapped = parse_messages(heading + "**A**: x: int32 = 1 ·\ny: map<string,A> = 2\n", enums=set())
    assert wrapped == {
        "A": {"x": Field(1, "singular", "int32"), "y": Field(2, "map", "map<string,message A>")}
    }


# --------------------------------------------------------------------------- the copy against the contract


def repo_root() -> Path | None:
    """The monorepo checkout holding this file, or None (e.g. when run from an unpacked sdist)."""
    for parent in HERE.parents:
        if (parent / "packages" / "desam-proto" / "proto").is_dir() and (parent / "noxfile.py").is_file():
            return parent
    return None


def test_embedded_tables_match_the_contract() -> None:
    root = repo_root()
    if root is None:
        pytest.skip("not inside the monorepo checkout (an sdist?): spec_tables.md is the only reference here")
    contract = root.parent / "shared" / "spec" / "wire-protocol.md"
    if not contract.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the contract {contract} is missing: the copy cannot be checked")
        pytest.skip(f"the contract {contract} is absent: only the embedded copy was checked")
    text = contract.read_text(encoding="utf-8")
    ours = wanted_sections(EMBEDDED.read_text(encoding="utf-8"), str(EMBEDDED))
    theirs = wanted_sections(text, str(contract))
    for title in SECTIONS:
        assert ours[title] == theirs[title], (
            f"section {title!r} of {EMBEDDED.name} is not a verbatim copy of {contract}: copy it again"
        )
    preamble = text.split("\n## ", 1)[0].splitlines()
    for line in PREAMBLE_LINES:
        assert line in preamble, f"the contract's preamble no longer says {line!r}"
