"""Every task of the DeSAM SDK monorepo, one nox session each.

Run ``python3 -m nox -l`` for the list. Each session installs what it needs from
PyPI into its own virtual environment (uv when it is on PATH, virtualenv
otherwise) and forwards extra arguments after ``--`` to the tool it runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PACKAGES = ("desam-proto", "desam-client", "desam-testing")
EDITABLE = [arg for pkg in PACKAGES for arg in ("-e", f"packages/{pkg}")]

# One place for the tool versions every session shares.
TEST_DEPS = (
    "pytest>=8.3",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "opentelemetry-sdk>=1.20",
    "cryptography>=42",
)
LINT_DEPS = ("ruff==0.15.*",)
TYPE_DEPS = (
    "mypy>=1.13",
    "types-protobuf",
    "types-grpcio",
    "pytest>=8.3",
    "hypothesis>=6.100",
    "opentelemetry-sdk>=1.20",
    "cryptography>=42",
)
PROTO_GEN_DEPS = ("grpcio-tools==1.66.2", "mypy-protobuf==3.6.0")
# mkdocs 1.6 for the link and anchor validation settings; mkdocstrings-python 1.16 for glob
# `paths` and griffe extensions given as files (docs/_hooks/griffe_rst.py); ruff formats the
# signatures in the API reference.
DOCS_DEPS = (
    "mkdocs>=1.6",
    "mkdocs-material>=9.5",
    "mkdocstrings[python]>=0.26",
    "mkdocstrings-python>=1.16",
    *LINT_DEPS,
)

# The oldest and newest runtimes the generated code supports (see desam-proto's pyproject).
RUNTIME_OLDEST = ("protobuf==5.27.2", "grpcio==1.66.2")
RUNTIME_NEWEST = ("protobuf<8", "grpcio<2")


def _lint(session: nox.Session) -> None:
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _typecheck(session: nox.Session) -> None:
    session.install(*TYPE_DEPS, *EDITABLE)
    session.run(
        "mypy",
        "packages/desam-proto/src/desam_proto",
        "packages/desam-client/src/desam_client",
        "packages/desam-testing/src/desam_testing",
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: lint, type check, generated-code check, then pytest (args go to pytest)."""
    _lint(session)
    _typecheck(session)
    session.install(*PROTO_GEN_DEPS, *TEST_DEPS)
    session.run("python", "tools/gen_protos.py", "--check")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and format check (``-- --fix`` is not forwarded; run ruff yourself to fix)."""
    _lint(session)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy --strict over the three packages."""
    _typecheck(session)


@nox.session
def protos(session: nox.Session) -> None:
    """Regenerate desam-proto's code from its .proto; ``-- --check`` only reports drift."""
    session.install(*PROTO_GEN_DEPS)
    session.run("python", "tools/gen_protos.py", *session.posargs)


@nox.session
@nox.parametrize("runtime", ["oldest", "newest"])
def compat(session: nox.Session, runtime: str) -> None:
    """The contract tests, and the client's when it has some, on the oldest and newest protobuf/grpcio."""
    pins = RUNTIME_OLDEST if runtime == "oldest" else RUNTIME_NEWEST
    packages = ["-e", "packages/desam-proto"]
    paths = ["packages/desam-proto/tests"]
    if (ROOT / "packages" / "desam-client" / "tests").is_dir():
        packages, paths = EDITABLE, [*paths, "packages/desam-client/tests"]
    # One resolution with the pins in it, so nothing else can drag protobuf or grpcio elsewhere;
    # --upgrade so that a reused "newest" environment really moves to the newest release.
    session.install("--upgrade", *packages, *TEST_DEPS, *pins)
    session.run("python", "-c", _CHECK_PINS, *pins)
    session.run("pytest", "-q", *paths, *session.posargs)


# Prints the runtime versions and fails when an exact ("==") pin is not what got installed.
_CHECK_PINS = """
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, _, wanted = pin.partition("==")
    name = name.split("<")[0].split(">")[0]
    found = version(name)
    print(f"{name} {found} (asked for {pin})")
    if wanted and found != wanted:
        sys.exit(f"{name} {found} is installed, not the pinned {wanted}")
"""

# What each wheel needs from this repository (the rest comes from PyPI), and what to import from it.
_LOCAL_DEPS = {
    "desam-proto": [],
    "desam-client": ["desam-proto"],
    "desam-testing": ["desam-proto", "desam-client"],
}
_EXTRA_IMPORTS = {"desam-proto": ["desam_proto.client_pb2", "desam_proto.client_pb2_grpc"]}
_IMPORT_CHECK = """
import importlib, sys
from importlib.metadata import version
from pathlib import Path
dist, module, *extra = sys.argv[1:]
mod = importlib.import_module(module)
for name in extra:
    importlib.import_module(name)
where = Path(mod.__file__).resolve()
if Path(sys.prefix).resolve() not in where.parents:
    sys.exit(f"{module} was imported from {where}, not from the fresh environment {sys.prefix}")
print(mod.__name__, version(dist), "from", where.parent)
"""


def _check_wheel(session: nox.Session, pkg: str, wheel: Path, license_text: bytes) -> None:
    """py.typed, the license text and its metadata are in the wheel, and nothing of the tests."""
    module = pkg.replace("-", "_")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        problems = [f"no {module}/py.typed"] if f"{module}/py.typed" not in names else []
        licenses = [n for n in names if ".dist-info/licenses/" in n]
        if [n.rsplit("/", 1)[-1] for n in licenses] != ["LICENSE"]:
            problems.append(f"license files {licenses}, expected one LICENSE")
        elif zf.read(licenses[0]) != license_text:
            problems.append("its LICENSE differs from the repository's LICENSE")
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    if "License-Expression: Apache-2.0" not in metadata.splitlines():
        problems.append("no License-Expression: Apache-2.0 in METADATA")
    problems += [f"unexpected file {n}" for n in names if not n.startswith((f"{module}/", f"{module}-"))]
    if problems:
        session.error(f"{wheel.name}: " + "; ".join(problems))
    session.log(f"{wheel.name}: {len(names)} files, py.typed and LICENSE present")


def _check_sdist(session: nox.Session, pkg: str, sdist: Path, license_text: bytes) -> None:
    """The sdist has the license, the readme, the sources (and, for desam-proto, the .proto and tests)."""
    top = sdist.name.removesuffix(".tar.gz")
    wanted = ["LICENSE", "README.md", "pyproject.toml", f"src/{pkg.replace('-', '_')}/py.typed"]
    if pkg == "desam-proto":
        wanted += ["proto/desam/client/client.proto", "tests/test_contract.py", "tests/spec_tables.md"]
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
        missing = [name for name in wanted if f"{top}/{name}" not in names]
        member = tf.extractfile(f"{top}/LICENSE") if f"{top}/LICENSE" in names else None
        if member is not None and member.read() != license_text:
            missing.append("LICENSE (it differs from the repository's)")
    if missing:
        session.error(f"{sdist.name}: missing {missing}")
    session.log(f"{sdist.name}: {len(names)} entries, {', '.join(wanted)} present")


@nox.session
def build(session: nox.Session) -> None:
    """Build sdists and wheels of the three packages into dist/, check them, install each wheel alone."""
    session.install("build", "twine")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for pkg in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{pkg}")
    session.run("twine", "check", "--strict", *[str(p) for p in sorted(dist.iterdir())])
    license_text = (ROOT / "LICENSE").read_bytes()
    wheels = {}
    for pkg in PACKAGES:
        stem = pkg.replace("-", "_")
        [wheels[pkg]] = dist.glob(f"{stem}-*.whl")
        [sdist] = dist.glob(f"{stem}-*.tar.gz")
        _check_wheel(session, pkg, wheels[pkg], license_text)
        _check_sdist(session, pkg, sdist, license_text)
    for pkg, wheel in wheels.items():
        with tempfile.TemporaryDirectory() as tmp:
            venv = Path(tmp) / "venv"
            session.run(sys.executable, "-m", "venv", str(venv), external=True)
            py = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
            local = [str(wheels[dep]) for dep in _LOCAL_DEPS[pkg]]
            session.run(py, "-m", "pip", "install", "-q", *local, str(wheel), external=True)
            session.run(py, "-m", "pip", "check", external=True)
            module = pkg.replace("-", "_")
            with session.chdir(tmp):  # not the repository: the import must come from the wheel
                session.run(py, "-c", _IMPORT_CHECK, pkg, module, *_EXTRA_IMPORTS.get(pkg, []), external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: start a dev scheduler here, submit real jobs, watch, read logs, cancel, upload data."""
    session.install(*EDITABLE)
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with warnings as errors (args go to mkdocs build).

    The site's Python examples are not run here: tests/docs/test_examples.py runs them in `tests`.
    """
    session.install(*DOCS_DEPS, *EDITABLE)
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: figures and ratios against references measured in the same run."""
    session.install(*EDITABLE, "opentelemetry-sdk>=1.20", "psutil>=5.9")
    session.run("python", "-m", "benchmarks", *session.posargs, env={"PYTHONPATH": str(ROOT / "tests")})
