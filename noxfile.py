"""Every task of the DeSAM SDK monorepo, one nox session each.

Run ``python3 -m nox -l`` for the list. Each session installs what it needs from
PyPI into its own virtual environment (uv when it is on PATH, virtualenv
otherwise) and forwards extra arguments after ``--`` to the tool it runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
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
    "pyyaml>=6",
)
LINT_DEPS = ("ruff==0.15.*",)
TYPE_DEPS = ("mypy>=1.13", "types-protobuf", "types-grpcio", "pytest>=8.3", "hypothesis>=6.100",
             "opentelemetry-sdk>=1.20")
PROTO_GEN_DEPS = ("grpcio-tools==1.66.2", "mypy-protobuf==3.6.0")
DOCS_DEPS = ("mkdocs-material>=9.5", "mkdocstrings[python]>=0.26")

# The oldest and newest runtimes the generated code supports (see desam-proto's pyproject).
RUNTIME_OLDEST = ("protobuf==5.27.2", "grpcio==1.66.2")
RUNTIME_NEWEST = ("protobuf<8", "grpcio<2")


def _lint(session: nox.Session) -> None:
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _typecheck(session: nox.Session) -> None:
    session.install(*TYPE_DEPS, *EDITABLE)
    session.run("mypy", "packages/desam-proto/src/desam_proto", "packages/desam-client/src/desam_client",
                "packages/desam-testing/src/desam_testing")


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
    """mypy --strict over the three packages."""
    _typecheck(session)


@nox.session
def protos(session: nox.Session) -> None:
    """Regenerate desam-proto's code from its .proto; ``-- --check`` only reports drift."""
    session.install(*PROTO_GEN_DEPS)
    session.run("python", "tools/gen_protos.py", *session.posargs)


@nox.session
@nox.parametrize("runtime", ["oldest", "newest"])
def compat(session: nox.Session, runtime: str) -> None:
    """The contract and client tests on the oldest and the newest supported protobuf/grpcio."""
    pins = RUNTIME_OLDEST if runtime == "oldest" else RUNTIME_NEWEST
    session.install(*EDITABLE, *TEST_DEPS)
    session.install(*pins)
    session.run("python", "-c", "import google.protobuf, grpc; print('protobuf', google.protobuf.__version__,"
                " 'grpcio', grpc.__version__)")
    session.run("pytest", "-q", "packages/desam-proto/tests", "packages/desam-client/tests", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build sdists and wheels of the three packages into dist/, check metadata, install each alone."""
    session.install("build", "twine")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for pkg in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{pkg}")
    session.run("twine", "check", "--strict", *[str(p) for p in sorted(dist.iterdir())])
    wheels = {pkg: next(dist.glob(pkg.replace("-", "_") + "-*.whl")) for pkg in PACKAGES}
    needs = {"desam-proto": [], "desam-client": ["desam-proto"], "desam-testing": ["desam-proto", "desam-client"]}
    for pkg, wheel in wheels.items():
        with tempfile.TemporaryDirectory() as tmp:
            venv = Path(tmp) / "venv"
            session.run(sys.executable, "-m", "venv", str(venv), external=True)
            py = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
            local = [str(wheels[dep]) for dep in needs[pkg]]
            session.run(str(py), "-m", "pip", "install", "-q", *local, str(wheel), external=True)
            module = pkg.replace("-", "_")
            session.run(str(py), "-c", f"import {module}; print({module}.__name__, {module}.__version__)",
                        external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: start a dev scheduler here, submit real jobs, watch, read logs, cancel, upload data."""
    session.install(*EDITABLE)
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with warnings as errors."""
    session.install(*DOCS_DEPS, *EDITABLE)
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: figures and ratios against references measured in the same run."""
    session.install(*EDITABLE, "opentelemetry-sdk>=1.20", "psutil>=5.9")
    session.run("python", "-m", "benchmarks", *session.posargs, env={"PYTHONPATH": str(ROOT / "tests")})
