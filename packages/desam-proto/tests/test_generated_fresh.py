"""The committed generated code: fresh, importable, and consistent with the package's metadata.

``test_generated_code_matches_the_proto`` runs ``tools/gen_protos.py --check`` (the same check the
nox ``tests`` session runs explicitly) so that a plain ``pytest`` in a dev environment catches a
``.proto`` edited without regenerating. It needs the pinned generator (grpcio-tools, mypy-protobuf)
and the monorepo checkout, and is skipped without them (the ``compat`` sessions, an sdist).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import desam_proto
from desam_proto import client_pb2, client_pb2_grpc

HERE = Path(__file__).resolve().parent
DIST = "desam-proto"


def repo_root() -> Path | None:
    for parent in HERE.parents:
        if (parent / "tools" / "gen_protos.py").is_file() and (parent / "packages" / "desam-proto").is_dir():
            return parent
    return None


def test_generated_modules_import() -> None:
    assert client_pb2.DESCRIPTOR.name == "desam/client/client.proto"
    for name in ("Job", "SubmitJobRequest", "UploadFileRequest", "JobStatus"):
        assert hasattr(client_pb2, name), name
    for name in ("ClientServiceStub", "ClientServiceServicer", "add_ClientServiceServicer_to_server"):
        assert hasattr(client_pb2_grpc, name), name
    # The gRPC module is wired to the message module of this package, not to a `desam.client` one.
    assert getattr(client_pb2_grpc, "desam_dot_client_dot_client__pb2") is client_pb2  # noqa: B009 (no stub)


def test_typed_stubs_ship_with_the_modules() -> None:
    package = Path(desam_proto.__file__).parent
    for name in ("py.typed", "client_pb2.pyi", "client_pb2_grpc.pyi"):
        assert (package / name).is_file(), f"{name} is missing from {package}"


def test_version_matches_the_distribution() -> None:
    assert desam_proto.__version__ == metadata.version(DIST)


def _floor(dist: str) -> Version:
    """The lower bound desam-proto's metadata declares for a runtime dependency."""
    for text in metadata.requires(DIST) or []:
        req = Requirement(text)
        if req.name == dist:
            floors = [Version(spec.version) for spec in req.specifier if spec.operator == ">="]
            assert len(floors) == 1, f"{text}: expected one >= bound"
            return floors[0]
    raise AssertionError(f"{DIST} does not depend on {dist}")


def test_declared_runtime_floors_are_the_gencode_versions() -> None:
    # protobuf refuses gencode newer than its runtime, and the gRPC module raises on an older grpcio:
    # the lowest versions desam-proto accepts must be the ones its code was generated for.
    source = Path(client_pb2.__file__).read_text(encoding="utf-8")
    stamp = re.search(r"# Protobuf Python Version: (\S+)", source)
    assert stamp, "no gencode version stamp in client_pb2.py"
    assert _floor("protobuf") == Version(stamp[1])
    assert _floor("grpcio") == Version(getattr(client_pb2_grpc, "GRPC_GENERATED_VERSION"))  # noqa: B009


def _gen_protos(root: Path) -> Any:
    """tools/gen_protos.py as a module (it imports the generator only when it runs it)."""
    spec = importlib.util.spec_from_file_location("gen_protos", root / "tools" / "gen_protos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def test_generated_code_matches_the_proto() -> None:
    root = repo_root()
    if root is None:
        pytest.skip("not inside the monorepo checkout (an sdist?): tools/gen_protos.py is not here")
    missing = [mod for mod in ("grpc_tools", "mypy_protobuf") if importlib.util.find_spec(mod) is None]
    if missing:
        pytest.skip(f"no generator here ({', '.join(missing)} missing); `nox -s tests` runs the check")
    pins = _gen_protos(root).PINS
    other = {dist: _installed(dist) for dist in pins if _installed(dist) != pins[dist]}
    if other:
        pytest.skip(f"the generator here is not the pinned one: found {other}, pinned {pins}")
    result = subprocess.run(
        [sys.executable, str(root / "tools" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        "the committed generated code is stale: run `nox -s protos`\n" + result.stdout + result.stderr
    )
