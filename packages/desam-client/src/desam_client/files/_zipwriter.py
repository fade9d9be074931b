"""The byte layout and writer of a deterministic, uncompressed ("stored") zip archive.

Written by hand from the PKWARE APPNOTE rather than with :mod:`zipfile`, so that the
bytes depend on nothing but the entries: not on the Python version, the zlib build,
the clock, the time zone, or whether the output can seek. Every header uses:

* method 0 (stored), general-purpose flags ``0x0800`` (names are UTF-8);
* modification time 1980-01-01 00:00:00 (DOS date ``0x0021``, time ``0``);
* "version made by" Unix (3), so the external attributes carry the permissions;
* no extra fields, no comments; except that entries, offsets or counts too big for
  the classic 32/16-bit fields use the standard Zip64 extra field and end records,
  chosen purely from the sizes, so the output stays a function of the input.
"""

from __future__ import annotations

import stat
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import FileChangedError
from .hashing import BUFFER_SIZE, BinaryReader, open_regular_file, read_block

ZIP64_LIMIT = 0xFFFFFFFF
"""Sizes and offsets at or above this value need Zip64 fields."""

ZIP64_COUNT_LIMIT = 0xFFFF
"""Entry counts at or above this value need a Zip64 end record."""

_MAX32 = 0xFFFFFFFF  # "look in the Zip64 field" marker
_MAX16 = 0xFFFF
_UTF8_FLAG = 0x0800
_STORED = 0
_DOS_TIME = 0  # 00:00:00
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_UNIX = 3
_VERSION = 20  # 2.0: directories; the baseline every reader accepts
_VERSION_ZIP64 = 45  # 4.5: Zip64 extensions
_MSDOS_DIRECTORY = 0x10

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_EXTRA_HEADER = struct.Struct("<HH")


@dataclass(frozen=True, slots=True)
class CentralRecord:
    """What the central directory needs to know about one written entry."""

    name: bytes
    crc: int
    size: int
    offset: int
    mode: int
    is_dir: bool


def external_attributes(mode: int, *, is_dir: bool) -> int:
    """Return the external attribute field for Unix permissions ``mode``."""
    kind = stat.S_IFDIR if is_dir else stat.S_IFREG
    return ((kind | mode) << 16) | (_MSDOS_DIRECTORY if is_dir else 0)


def local_header(name: bytes, crc: int, size: int) -> bytes:
    """Return the local file header that precedes an entry's ``size`` bytes."""
    extra = b""
    field = size
    version = _VERSION
    if size >= ZIP64_LIMIT:
        extra = _EXTRA_HEADER.pack(0x0001, 16) + struct.pack("<QQ", size, size)
        field = _MAX32
        version = _VERSION_ZIP64
    header = _LOCAL.pack(
        0x04034B50,
        version,
        _UTF8_FLAG,
        _STORED,
        _DOS_TIME,
        _DOS_DATE,
        crc,
        field,
        field,
        len(name),
        len(extra),
    )
    return header + name + extra


def central_header(record: CentralRecord) -> bytes:
    """Return the central directory header for one entry."""
    values: list[int] = []
    size_field = record.size
    offset_field = record.offset
    if record.size >= ZIP64_LIMIT:
        values += [record.size, record.size]  # uncompressed, then compressed
        size_field = _MAX32
    if record.offset >= ZIP64_LIMIT:
        values.append(record.offset)
        offset_field = _MAX32
    extra = b""
    version = _VERSION
    if values:
        extra = _EXTRA_HEADER.pack(0x0001, 8 * len(values)) + struct.pack(f"<{len(values)}Q", *values)
        version = _VERSION_ZIP64
    header = _CENTRAL.pack(
        0x02014B50,
        (_UNIX << 8) | version,
        version,
        _UTF8_FLAG,
        _STORED,
        _DOS_TIME,
        _DOS_DATE,
        record.crc,
        size_field,
        size_field,
        len(record.name),
        len(extra),
        0,  # comment length
        0,  # disk number start
        0,  # internal attributes
        external_attributes(record.mode, is_dir=record.is_dir),
        offset_field,
    )
    return header + record.name + extra


def end_records(count: int, directory_offset: int, directory_size: int) -> bytes:
    """Return the end-of-central-directory record(s) for a finished archive.

    Args:
        count: Number of entries.
        directory_offset: Where the central directory starts.
        directory_size: Length of the central directory in bytes.
    """
    prefix = b""
    big_count = count >= ZIP64_COUNT_LIMIT
    big_offset = directory_offset >= ZIP64_LIMIT
    big_size = directory_size >= ZIP64_LIMIT
    if big_count or big_offset or big_size:
        end64_offset = directory_offset + directory_size
        prefix = _END64.pack(
            0x06064B50,
            _END64.size - 12,
            (_UNIX << 8) | _VERSION_ZIP64,
            _VERSION_ZIP64,
            0,
            0,
            count,
            count,
            directory_size,
            directory_offset,
        ) + _LOCATOR64.pack(0x07064B50, 0, end64_offset, 1)
    end = _END.pack(
        0x06054B50,
        0,
        0,
        _MAX16 if big_count else count,
        _MAX16 if big_count else count,
        _MAX32 if big_size else directory_size,
        _MAX32 if big_offset else directory_offset,
        0,
    )
    return prefix + end


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry to write."""

    name: str
    """Relative POSIX path (NFC), with a trailing ``/`` for a directory."""

    source: str | None
    """The regular file whose bytes are stored; None for a directory."""

    mode: int
    """Unix permission bits stored in the external attributes."""

    origin: str
    """The local path as found while walking, for messages."""


def _crc_to_end(handle: BinaryReader) -> tuple[int, int]:
    crc = 0
    size = 0
    while block := handle.read(BUFFER_SIZE):
        crc = zlib.crc32(block, crc)
        size += len(block)
    return crc, size


def _file_pieces(entry: Entry, name: bytes, offset: int, records: list[CentralRecord]) -> Iterator[bytes]:
    assert entry.source is not None
    with open_regular_file(entry.source, follow_symlinks=False) as handle:
        first = read_block(handle, BUFFER_SIZE + 1)
        if len(first) <= BUFFER_SIZE:
            crc, size = zlib.crc32(first), len(first)
            records.append(CentralRecord(name, crc, size, offset, entry.mode, False))
            yield local_header(name, crc, size)
            yield first
            return
        handle.seek(0)
        crc, size = _crc_to_end(handle)
        handle.seek(0)
        records.append(CentralRecord(name, crc, size, offset, entry.mode, False))
        yield local_header(name, crc, size)
        copied_crc, copied = 0, 0
        while block := handle.read(BUFFER_SIZE):
            copied += len(block)
            if copied > size:
                break
            copied_crc = zlib.crc32(block, copied_crc)
            yield block
    if copied > size:
        raise FileChangedError(entry.origin, f"it grew beyond {size} bytes while packing")
    if copied < size:
        raise FileChangedError(entry.origin, f"it shrank from {size} to {copied} bytes while packing")
    if copied_crc != crc:
        raise FileChangedError(entry.origin, "its content changed while packing")


def stream_archive(entries: list[Entry]) -> Iterator[bytes]:
    """Yield the archive of ``entries`` (already sorted) as byte pieces."""
    records: list[CentralRecord] = []
    offset = 0
    for entry in entries:
        name = entry.name.encode("utf-8")
        if entry.source is None:
            records.append(CentralRecord(name, 0, 0, offset, entry.mode, True))
            pieces: Iterator[bytes] = iter((local_header(name, 0, 0),))
        else:
            pieces = _file_pieces(entry, name, offset, records)
        for piece in pieces:
            offset += len(piece)
            yield piece
    directory_offset = offset
    for record in records:
        piece = central_header(record)
        offset += len(piece)
        yield piece
    yield end_records(len(records), directory_offset, offset - directory_offset)
