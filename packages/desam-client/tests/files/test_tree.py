"""File mappings: validation, the FileTreeNode, and the upload plan."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from desam_client.files import (
    FilePlan,
    HashCache,
    MountPathError,
    PlannedItem,
    UnsupportedEntryError,
    build_file_tree,
    build_plan,
    digest_directory,
    make_file_tree,
    normalize_mappings,
    validate_mount_path,
)


@pytest.mark.parametrize(
    ("mount_path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("../a", "'..'"),
        ("a/..", "'..'"),
        ("a\\b", "'/'"),
        ("a\0b", "NUL"),
        ("caf\udce9", "surrogate"),
    ],
)
def test_invalid_mount_paths(mount_path: str, reason: str) -> None:
    with pytest.raises(MountPathError, match=reason) as caught:
        validate_mount_path(mount_path)
    assert caught.value.mount_path == mount_path
    assert repr(mount_path) in str(caught.value)


@pytest.mark.parametrize("mount_path", ["a", "data/train.csv", "数据/训练.csv", "..a", ".hidden", "a b/c"])
def test_valid_mount_paths(mount_path: str) -> None:
    assert validate_mount_path(mount_path) == mount_path


def test_mount_path_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        validate_mount_path(b"a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mount path must be a string"):
        normalize_mappings([("local", 3)])  # type: ignore[list-item]


def test_both_forms_normalize_alike(tmp_path: Path) -> None:
    listed = normalize_mappings([("x.csv", "data/x.csv"), (tmp_path, "code")])
    mapped = normalize_mappings({"data/x.csv": "x.csv", "code": tmp_path})
    assert listed == mapped == [("data/x.csv", os.path.abspath("x.csv")), ("code", str(tmp_path))]


def test_duplicate_mount_paths() -> None:
    with pytest.raises(MountPathError, match="more than one mapping") as caught:
        normalize_mappings([("a.txt", "x"), ("b.txt", "x")])
    assert caught.value.mount_path == "x"


@pytest.mark.parametrize(
    "mappings", [[("f", "a"), ("g", "a/b")], [("g", "a/b/c"), ("f", "a")], {"a/b": "g", "a": "f"}]
)
def test_a_mount_path_cannot_hold_other_mounts(mappings: object) -> None:
    with pytest.raises(MountPathError, match="inside 'a'"):
        normalize_mappings(mappings)  # type: ignore[arg-type]


@pytest.mark.parametrize("mappings", ["a.txt", [("only-one",)], [["a", "b", "c"]], [("a", "b"), "ab"]])
def test_malformed_mappings(mappings: object) -> None:
    with pytest.raises(TypeError):
        normalize_mappings(mappings)  # type: ignore[arg-type]


def test_missing_local_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=r"'data/nope\.csv' does not exist") as caught:
        build_plan([(missing, "data/nope.csv")])
    assert caught.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        build_file_tree({"x": missing})


def test_special_local_path_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UnsupportedEntryError, match="FIFO"):
        build_plan({"p": tmp_path / "pipe"})


@pytest.fixture
def workspace(tmp_path: Path, tree_writer: Callable[..., None]) -> Path:
    tree_writer(
        tmp_path,
        {
            "train.csv": b"1,2,3\n",
            "copy.csv": b"1,2,3\n",
            "src": {"main.py": b"print('hi')\n", "lib": {"util.py": b"X = 1\n"}},
            "other": {"src": {"main.py": b"print('hi')\n", "lib": {"util.py": b"X = 1\n"}}},
        },
    )
    return tmp_path


def test_plan_tree_and_blobs(workspace: Path) -> None:
    spool = workspace / "spool"
    spool.mkdir()
    mappings: dict[str, Path] = {
        "data/train.csv": workspace / "train.csv",
        "data/again.csv": workspace / "copy.csv",  # same bytes: one blob
        "code": workspace / "src",
        "code2": workspace / "other" / "src",  # same tree: one blob, one archive kept
    }
    with build_plan(mappings, temp_dir=spool) as plan:
        csv_hash = hashlib.sha256(b"1,2,3\n").hexdigest()
        dir_digest = digest_directory(workspace / "src")

        assert plan.tree.path == ""
        assert not plan.tree.is_file
        assert plan.tree.file_hash == ""
        assert [c.path for c in plan.tree.children] == ["code", "code2", "data"]
        code, code2, data = plan.tree.children
        assert (code.is_file, code.file_hash, list(code.children)) == (False, dir_digest.sha256, [])
        assert code2.file_hash == dir_digest.sha256
        assert (data.is_file, data.file_hash) == (False, "")
        assert [(c.path, c.is_file, c.file_hash) for c in data.children] == [
            ("again.csv", True, csv_hash),
            ("train.csv", True, csv_hash),
        ]

        assert plan.file_hashes == [csv_hash, dir_digest.sha256]
        assert plan.total_size == 6 + dir_digest.size
        csv_blob, dir_blob = plan.blobs
        assert csv_blob.file_name == "train.csv"
        assert csv_blob.path == str(workspace / "train.csv")
        assert dir_blob.file_name == "src.zip"
        assert Path(dir_blob.path).parent == spool
        assert len(list(spool.iterdir())) == 1
        assert [item.mount_path for item in plan.items] == list(mappings)
        assert plan.items[2] == PlannedItem(
            "code", str(workspace / "src"), dir_digest.sha256, dir_digest.size, True
        )
        assert build_file_tree(mappings) == plan.tree

        for blob in plan.blobs:
            chunks = list(blob.upload_requests(api_key="k", chunk_size=64))
            with blob.open() as handle:
                assert b"".join(c.content for c in chunks) == handle.read()
            assert chunks[-1].is_last_chunk

    assert plan.closed
    assert list(spool.iterdir()) == []
    plan.close()


def test_plan_cleans_up_when_a_later_mapping_fails(workspace: Path) -> None:
    os.mkfifo(workspace / "other" / "pipe")
    spool = workspace / "spool"
    spool.mkdir()
    with pytest.raises(UnsupportedEntryError, match="FIFO"):
        build_plan({"a": workspace / "src", "b": workspace / "other"}, temp_dir=spool)
    assert list(spool.iterdir()) == []


def test_validation_happens_before_any_reading(workspace: Path) -> None:
    spool = workspace / "spool"
    spool.mkdir()
    with pytest.raises(FileNotFoundError):
        build_plan({"a": workspace / "src", "b": workspace / "missing"}, temp_dir=spool)
    assert list(spool.iterdir()) == []


def test_build_file_tree_writes_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    spool = tmp_path_factory.mktemp("spool")
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    tree = build_file_tree([(workspace / "src", "code")])
    assert tree.children[0].file_hash == digest_directory(workspace / "src").sha256
    assert list(spool.iterdir()) == []


def test_hash_cache_is_used(workspace: Path, aged: Callable[..., None]) -> None:
    aged(workspace / "train.csv")
    cache = HashCache()
    with build_plan({"t": workspace / "train.csv"}, hash_cache=cache):
        pass
    assert len(cache) == 1
    build_file_tree({"t": workspace / "train.csv"}, hash_cache=cache)
    assert len(cache) == 1


def test_a_linked_local_file_is_followed(workspace: Path) -> None:
    (workspace / "link.csv").symlink_to(workspace / "train.csv")
    with build_plan({"x.csv": workspace / "link.csv"}) as plan:
        assert plan.items[0].file_hash == hashlib.sha256(b"1,2,3\n").hexdigest()
        assert plan.blobs[0].file_name == "link.csv"


def test_empty_mappings_give_an_empty_root() -> None:
    with build_plan({}) as plan:
        assert plan.blobs == ()
        assert plan.tree.path == ""
        assert list(plan.tree.children) == []
        assert plan.total_size == 0


def test_make_file_tree_refuses_nested_items() -> None:
    items = [PlannedItem("a", "/x", "0" * 64, 1, False), PlannedItem("a/b", "/y", "1" * 64, 1, False)]
    with pytest.raises(MountPathError, match="lie inside"):
        make_file_tree(items)


def test_plan_repr_and_type(workspace: Path) -> None:
    with build_plan({"t": workspace / "train.csv"}) as plan:
        assert isinstance(plan, FilePlan)
        assert repr(plan) == "<FilePlan items=1 blobs=1 total_size=6>"


def test_a_directory_mounted_twice_is_packed_once(workspace: Path) -> None:
    spool = workspace / "spool"
    spool.mkdir()
    with build_plan([(workspace / "src", "a"), (workspace / "src", "b")], temp_dir=spool) as plan:
        assert len(list(spool.iterdir())) == 1
        assert plan.items[0].file_hash == plan.items[1].file_hash
        assert len(plan.blobs) == 1


def test_a_file_name_that_is_not_utf8_still_uploads(tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.csv")
    with open(raw, "wb") as handle:
        handle.write(b"data")
    with build_plan({"x.csv": os.fsdecode(raw)}) as plan:
        (blob,) = plan.blobs
        assert blob.file_name == "caf\ufffd.csv"
        chunks = list(blob.upload_requests())
        assert chunks[0].SerializeToString()  # encodable on the wire
        assert chunks[0].content == b"data"
