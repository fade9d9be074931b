"""Property tests: archives are deterministic and faithful; chunks keep their invariants."""

from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desam_client.files import hash_file, iter_upload_requests, write_archive

Tree = dict[str, Union[bytes, "Tree"]]

# NFC-stable names (the archive normalizes to NFC), never "." or "..".
names = st.text(alphabet="abcXYZ019_-. é数据", min_size=1, max_size=8).filter(lambda n: n not in {".", ".."})
trees: st.SearchStrategy[Tree] = st.recursive(
    st.dictionaries(names, st.binary(max_size=64), max_size=4),
    lambda children: st.dictionaries(names, st.one_of(st.binary(max_size=64), children), max_size=4),
    max_leaves=20,
)


def _write(root: Path, tree: Tree, *, reverse: bool) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name in sorted(tree, reverse=reverse):
        value = tree[name]
        if isinstance(value, bytes):
            (root / name).write_bytes(value)
            os.utime(root / name, (1_000_000 if reverse else 2_000_000_000,) * 2)
        else:
            _write(root / name, value, reverse=reverse)


def _flatten(tree: Tree, prefix: str = "") -> dict[str, bytes | None]:
    flat: dict[str, bytes | None] = {}
    for name, value in tree.items():
        if isinstance(value, bytes):
            flat[prefix + name] = value
        else:
            flat[prefix + name + "/"] = None
            flat.update(_flatten(value, prefix + name + "/"))
    return flat


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees)
def test_archives_are_deterministic_and_faithful(tree: Tree) -> None:
    work = Path(tempfile.mkdtemp(prefix="desam-prop-"))
    try:
        _write(work / "one" / "data", tree, reverse=False)
        _write(work / "two" / "data", tree, reverse=True)
        first, second = io.BytesIO(), io.BytesIO()
        digest = write_archive(work / "one" / "data", first)
        assert write_archive(work / "two" / "data", second) == digest
        assert first.getvalue() == second.getvalue()
        assert digest.sha256 == hashlib.sha256(first.getvalue()).hexdigest()

        with zipfile.ZipFile(first) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert [n.encode() for n in names] == sorted(n.encode() for n in names)
            unpacked = {n: None if n.endswith("/") else archive.read(n) for n in names}
        assert unpacked == _flatten(tree)
    finally:
        shutil.rmtree(work)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), chunk_size=st.integers(min_value=1, max_value=64))
def test_chunk_invariants(data: bytes, chunk_size: int) -> None:
    requests = list(
        iter_upload_requests(
            io.BytesIO(data),
            file_hash=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
            file_name="blob",
            chunk_size=chunk_size,
        )
    )
    assert len(requests) == max(1, math.ceil(len(data) / chunk_size))
    assert [r.is_last_chunk for r in requests].count(True) == 1
    assert requests[-1].is_last_chunk
    assert [r.chunk_id for r in requests] == [str(i) for i in range(len(requests))]
    assert all(0 < len(r.content) <= chunk_size for r in requests) or data == b""
    assert b"".join(r.content for r in requests) == data
    assert {(r.file_hash, r.file_size, r.file_name) for r in requests} == {
        (hashlib.sha256(data).hexdigest(), len(data), "blob")
    }


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000))
def test_hash_file_equals_hashlib(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(data)
    try:
        digest = hash_file(handle.name)
        assert digest.sha256 == hashlib.sha256(data).hexdigest()
        assert digest.size == len(data)
    finally:
        os.unlink(handle.name)
