"""Deterministic directory archives (case C-09) and the rules for links and special files."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desam_client.files import (
    FileChangedError,
    UnsupportedEntryError,
    _zipwriter,
    digest_directory,
    iter_archive,
    pack_directory,
    write_archive,
)

MIB = 1024 * 1024

# C-09: the archive of {a.txt: "alpha\n", b/c.txt: "charlie\n"} is these bytes on
# every machine, Python version, clock and time zone. If this constant changes,
# every cached directory archive of every user misses once: change it deliberately.
C09_SHA256 = "8406242c356dda5ddb5d5aeb5610b9002410fb1efad560752d50a1b02fa066af"
C09_SIZE = 292


def _make_c09(root: Path, *, reverse: bool) -> None:
    root.mkdir()
    files = [("a.txt", b"alpha\n"), ("b/c.txt", b"charlie\n")]
    for name, data in reversed(files) if reverse else files:
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(data)
        (root / name).chmod(0o644)


def _pack(directory: Path) -> tuple[bytes, str]:
    sink = io.BytesIO()
    digest = write_archive(directory, sink)
    data = sink.getvalue()
    assert digest.size == len(data)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    return data, digest.sha256


def test_c09_same_tree_same_bytes_whatever_the_times_order_and_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_tz: None
) -> None:
    root = tmp_path / "project"
    _make_c09(root, reverse=False)
    first, first_hash = _pack(root)

    for path in [root / "a.txt", root / "b" / "c.txt", root / "b", root]:
        os.utime(path, (123456789, 987654321))
    shutil.rmtree(root)
    _make_c09(root, reverse=True)  # recreated in the other order: new inodes, new times
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    second, second_hash = _pack(root)

    assert second == first
    assert second_hash == first_hash == C09_SHA256
    assert len(first) == C09_SIZE


def test_entries_and_metadata(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "b").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b" / "c.txt").write_bytes(b"charlie")
    (root / "run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "run.sh").chmod(0o700)
    (root / "private").write_bytes(b"p")
    (root / "private").chmod(0o600)
    (root / "B.txt").write_bytes(b"upper case sorts first")

    data, _ = _pack(root)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
        assert [i.filename for i in infos] == [
            "B.txt",
            "a.txt",
            "b/",
            "b/c.txt",
            "empty/",
            "private",
            "run.sh",
        ]
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.create_system == 3
            assert info.flag_bits == 0x800
            assert info.extra == b""
            assert info.comment == b""
        modes = {i.filename: (i.external_attr >> 16) for i in infos}
        assert modes["b/"] == 0o40755
        assert modes["empty/"] == 0o40755
        assert modes["a.txt"] == 0o100644
        assert modes["private"] == 0o100644
        assert modes["run.sh"] == 0o100755
        assert archive.read("b/c.txt") == b"charlie"


def test_the_three_outputs_agree(tmp_path: Path, tree_writer: Callable[..., None]) -> None:
    root = tmp_path / "d"
    tree_writer(root, {"x": b"1" * (MIB + 7), "y": {"z": b"2"}, "w": {}})
    data, sha = _pack(root)
    assert b"".join(iter_archive(root)) == data
    assert digest_directory(root).sha256 == sha
    with pack_directory(root) as packed:
        assert Path(packed.path).read_bytes() == data
        assert packed.sha256 == sha
        assert packed.size == len(data)
        assert packed.name == "d.zip"


def test_large_files_round_trip_and_stay_streamed(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    with (root / "sparse").open("wb") as handle:
        handle.truncate(64 * MIB)
    (root / "small").write_bytes(b"s")
    tracemalloc.start()
    try:
        digest = digest_directory(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.size > 64 * MIB
    assert peak < 8 * MIB, f"peak {peak} bytes while packing 64 MiB"


def test_a_file_changing_between_its_two_reads_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "d"
    root.mkdir()
    target = root / "big"
    target.write_bytes(b"a" * (2 * MIB))
    real = _zipwriter._crc_to_end

    def crc_then_modify(handle: object) -> tuple[int, int]:
        result = real(handle)  # type: ignore[arg-type]
        with target.open("r+b") as out:
            out.write(b"b")
        return result

    monkeypatch.setattr(_zipwriter, "_crc_to_end", crc_then_modify)
    with pytest.raises(FileChangedError, match="content changed") as caught:
        digest_directory(root)
    assert caught.value.path == str(target)


def test_same_basename_in_different_parents_packs_concurrently(tmp_path: Path) -> None:
    sources = []
    for index in range(8):
        directory = tmp_path / f"parent{index}" / "data"
        directory.mkdir(parents=True)
        (directory / "id.txt").write_text(f"directory {index}\n")
        sources.append(directory)

    with ThreadPoolExecutor(max_workers=8) as pool:
        packed = list(pool.map(pack_directory, sources))
    try:
        assert len({p.path for p in packed}) == 8
        assert len({p.sha256 for p in packed}) == 8
        for index, archive in enumerate(packed):
            assert archive.name == "data.zip"
            data = Path(archive.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == archive.sha256
            with zipfile.ZipFile(archive.path) as opened:
                assert opened.read("id.txt") == f"directory {index}\n".encode()
    finally:
        for archive in packed:
            archive.close()
    assert all(archive.closed and not os.path.exists(archive.path) for archive in packed)
    packed[0].close()  # twice is fine


def test_failed_pack_leaves_no_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "ok").write_bytes(b"ok")
    os.mkfifo(root / "pipe")
    spool = tmp_path / "spool"
    spool.mkdir()
    with pytest.raises(UnsupportedEntryError, match="FIFO"):
        pack_directory(root, temp_dir=spool)
    assert list(spool.iterdir()) == []


def test_link_to_a_file_inside_is_stored_as_that_file(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.txt").write_bytes(b"real")
    (root / "alias.txt").symlink_to("sub/real.txt")
    data, _ = _pack(root)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("alias.txt")
        assert info.external_attr >> 16 == 0o100644
        assert archive.read("alias.txt") == b"real"


def test_link_to_a_directory_inside_is_stored_as_a_copy(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "run-5").mkdir(parents=True)
    (root / "run-5" / "out").write_bytes(b"5")
    (root / "latest").symlink_to("run-5")
    data, _ = _pack(root)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["latest/", "latest/out", "run-5/", "run-5/out"]


def test_a_linked_root_packs_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_bytes(b"f")
    (real / "self-ref").symlink_to(real / "f")  # absolute, but inside the resolved root
    (tmp_path / "alias").symlink_to(real)
    assert _pack(tmp_path / "alias") == _pack(real)


@pytest.mark.parametrize("target", ["../outside.txt", "ABSOLUTE"])
def test_link_leading_outside_is_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.txt").write_bytes(b"secret")
    root = tmp_path / "d"
    root.mkdir()
    link = root / "leak"
    link.symlink_to(tmp_path / "outside.txt" if target == "ABSOLUTE" else target)
    with pytest.raises(UnsupportedEntryError, match="outside the directory being packed") as caught:
        digest_directory(root)
    assert caught.value.path == str(link)


def test_link_to_a_sibling_with_a_common_prefix_is_outside(tmp_path: Path) -> None:
    (tmp_path / "data-secret").mkdir()
    root = tmp_path / "data"
    root.mkdir()
    (root / "x").symlink_to("../data-secret")
    with pytest.raises(UnsupportedEntryError, match="outside"):
        digest_directory(root)


def test_broken_link_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "dangling").symlink_to("nowhere")
    with pytest.raises(UnsupportedEntryError, match="broken symbolic link"):
        digest_directory(root)


@pytest.mark.parametrize("target", [".", "..", "../.."])
def test_link_cycle_is_refused(tmp_path: Path, target: str) -> None:
    root = tmp_path / "d"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "loop").symlink_to(target)
    with pytest.raises(UnsupportedEntryError, match="cycle"):
        digest_directory(root)


def test_fifo_and_socket_are_refused(short_tmp: Path) -> None:
    root = short_tmp / "d"
    root.mkdir()
    os.mkfifo(root / "pipe")
    with pytest.raises(UnsupportedEntryError, match="FIFO") as caught:
        digest_directory(root)
    assert caught.value.path == str(root / "pipe")
    (root / "pipe").unlink()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "sock"))
        with pytest.raises(UnsupportedEntryError, match="socket"):
            digest_directory(root)


def test_names_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    bad = os.path.join(os.fsencode(root), b"caf\xe9.txt")
    with open(bad, "wb") as handle:
        handle.write(b"latin-1 name")
    with pytest.raises(UnsupportedEntryError, match="not valid UTF-8"):
        digest_directory(root)


def test_backslash_in_a_name_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "a\\b.txt").write_bytes(b"x")
    with pytest.raises(UnsupportedEntryError, match="backslash"):
        digest_directory(root)


def test_names_are_normalized_to_nfc(tmp_path: Path) -> None:
    decomposed = tmp_path / "nfd"
    composed = tmp_path / "nfc"
    decomposed.mkdir()
    composed.mkdir()
    (decomposed / "cafe\u0301.txt").write_bytes(b"x")
    (composed / "caf\u00e9.txt").write_bytes(b"x")
    data, _ = _pack(decomposed)
    assert data == _pack(composed)[0]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["caf\u00e9.txt"]


def test_names_equal_after_nfc_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "cafe\u0301.txt").write_bytes(b"1")
    (root / "caf\u00e9.txt").write_bytes(b"2")
    with pytest.raises(UnsupportedEntryError, match="NFC"):
        digest_directory(root)


def test_missing_or_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        digest_directory(tmp_path / "missing")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        digest_directory(tmp_path / "file")


def test_empty_directory(tmp_path: Path) -> None:
    data, _ = _pack(tmp_path)
    assert data == b"PK\x05\x06" + bytes(18)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == []


def test_zip64_records_are_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Real Zip64 needs 4 GiB; lowering the thresholds exercises the same code paths.
    monkeypatch.setattr(_zipwriter, "ZIP64_LIMIT", 10)
    monkeypatch.setattr(_zipwriter, "ZIP64_COUNT_LIMIT", 2)
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "long").write_bytes(b"0123456789abcdef")
    (root / "short").write_bytes(b"abc")
    (root / "sub" / "x").write_bytes(b"x" * 50)
    data, _ = _pack(root)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["long", "short", "sub/", "sub/x"]
        assert archive.read("long") == b"0123456789abcdef"
        assert archive.read("sub/x") == b"x" * 50
    if shutil.which("unzip"):
        (tmp_path / "z64.zip").write_bytes(data)
        subprocess.run(["unzip", "-tq", str(tmp_path / "z64.zip")], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed")
def test_info_zip_accepts_the_archive(tmp_path: Path, tree_writer: Callable[..., None]) -> None:
    root = tmp_path / "d"
    tree_writer(root, {"数据": {"训练.csv": b"1,2\n"}, "empty": {}, "big": b"b" * (MIB + 1)})
    with pack_directory(root) as packed:
        out = tmp_path / "out"
        subprocess.run(["unzip", "-q", packed.path, "-d", str(out)], check=True, capture_output=True)
    assert (out / "数据" / "训练.csv").read_bytes() == b"1,2\n"
    assert (out / "empty").is_dir()
    assert (out / "big").read_bytes() == b"b" * (MIB + 1)
