"""Run one documentation example against a fresh fake scheduler (used by test_examples.py).

Reads a JSON object ``{"path": ..., "line": ..., "code": ..., "mode": ...}`` from
stdin, starts a ``FakeScheduler`` whose ``LocalExecutor`` really runs job commands,
points the ``DESAM_*`` environment variables at it, and runs the code in a fresh
temporary directory:

* ``mode == "script"``: executed as ``__main__``, compiled under the Markdown file's
  name and padded so that its line numbers are the Markdown file's (a traceback
  names the exact line of the document). Exits non-zero when it raises.
* ``mode == "pytest"``: written to a test module (padded the same way) and run by
  pytest; exits with pytest's status, so a module without passing tests fails.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import traceback
import warnings
from importlib.metadata import entry_points
from pathlib import Path

# Warnings are errors, as in the rest of the suite (pyproject.toml's filterwarnings).
warnings.simplefilter("error")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"google\.protobuf")

from desam_testing import FakeScheduler, LocalExecutor  # noqa: E402 - after the warning filters

#: The keys the fake accepts. Examples write ``api_key="sk-dev"``, the dev server's default
#: key (user ``dev``); ``sk-your-api-key`` is the placeholder of the 0.1.x README, and the
#: last one is that README's administrator key (it sees every user's jobs).
USER_KEY = "sk-dev"
ADMIN_KEY = "sk-admin-1234567890abcdef"
API_KEYS = {USER_KEY: "dev", "sk-your-api-key": "dev", ADMIN_KEY: "admin"}

#: The documented port; every occurrence in an example becomes the fake's port.
DOC_PORT = re.compile(r"\b50051\b")


def main() -> int:
    spec = json.loads(sys.stdin.read())
    path, line, code = Path(spec["path"]).resolve(), int(spec["line"]), spec["code"]
    executor = LocalExecutor(kill_grace=0.2)
    with (
        tempfile.TemporaryDirectory(prefix="desam-doc-example-") as workdir,
        FakeScheduler(api_keys=API_KEYS, admin_keys=[ADMIN_KEY], executor=executor) as fake,
    ):
        os.environ.update(DESAM_HOST="127.0.0.1", DESAM_PORT=str(fake.port), DESAM_API_KEY=USER_KEY)
        os.chdir(workdir)
        source = "\n" * (line - 1) + DOC_PORT.sub(str(fake.port), code)
        if spec.get("mode") == "pytest":
            return run_pytest(source, path, line)
        namespace = {"__name__": "__main__", "__file__": str(path)}
        try:
            exec(compile(source, str(path), "exec"), namespace)  # running examples is the point
        except BaseException as error:  # reported below, with the example's frames only
            if isinstance(error, SystemExit) and error.code in (None, 0):
                return 0
            frames = error.__traceback__.tb_next if error.__traceback__ else None
            traceback.print_exception(type(error), error, frames)
            return 1
    return 0


def run_pytest(source: str, path: Path, line: int) -> int:
    import pytest

    module = Path(f"test_{path.stem.replace('-', '_')}_line{line}.py")
    module.write_text(source, encoding="utf-8")
    Path("pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not the repository's settings
    print(f"{path}:{line} runs as {module}")
    # Only desam-testing's own pytest plugin: others (hypothesis takes seconds to import) are not
    # what the example is about. desam_testing is imported already (by the fake), so pytest cannot
    # rewrite the asserts of its plugin module; that warning is expected.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = [
        arg
        for ep in entry_points(group="pytest11")
        if ep.value.startswith("desam_testing")
        for arg in ("-p", ep.value)
    ]
    quiet = "ignore::pytest.PytestAssertRewriteWarning"
    return int(pytest.main(["-q", "-p", "no:cacheprovider", *plugins, "-W", quiet, str(module)]))


if __name__ == "__main__":
    sys.exit(main())
