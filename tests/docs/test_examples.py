"""Every ```python block of the documentation and the READMEs runs, and succeeds.

What is collected: fenced blocks whose info string starts with ``python`` (or ``py``)
in ``docs/**/*.md``, ``README.md``, ``README.zh-CN.md`` and ``packages/*/README.md``,
including blocks indented inside tabs, admonitions and list items.

How each runs (``run_example.py``): on its own, in a fresh Python process and a
fresh temporary working directory, with a ``FakeScheduler`` whose local executor
really runs the job commands. ``DESAM_HOST``, ``DESAM_PORT`` and ``DESAM_API_KEY``
point at it; the number ``50051`` in the block becomes the fake's port; the fake
accepts ``api_key="sk-dev"`` (the dev server's default key) and ``"sk-your-api-key"``.
A failing block fails its own test, named ``<file>:<line>``, with the traceback
pointing into the Markdown file.

A comment on the line before a fence changes how its block is treated:

* ``<!-- docs-test: skip <reason> -->``: not run (the reason is required);
* ``<!-- docs-test: requires <module> [<module> ...] -->``: run only where those
  modules can be imported, skipped (with that reason) elsewhere;
* ``<!-- docs-test: pytest -->``: the block is a test module; it is run by pytest
  (and must have tests that pass) instead of as a script.

docs/writing-docs.md explains the conventions to authors.

The blocks run in parallel (each in its own process) as soon as the first of them
is requested, so the whole set costs about as much as its slowest few blocks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_example.py")
BLOCK_TIMEOUT = 90.0

SOURCES = ("docs/**/*.md", "README.md", "README.zh-CN.md", "packages/*/README.md")
PYTHON_INFO = {"python", "py", "python3"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a Markdown file."""

    path: str
    """The file, relative to the repository root."""
    line: int
    """1-based line of the block's first code line."""
    code: str
    """The code, dedented to the fence's indentation."""
    skip: str | None = None
    """Why it is not run, from a ``docs-test: skip`` directive."""
    requires: tuple[str, ...] = ()
    """Modules it needs, from a ``docs-test: requires`` directive."""
    mode: str = "script"
    """``"script"``, or ``"pytest"`` for a test module (``docs-test: pytest``)."""

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


class DirectiveError(ValueError):
    """A ``docs-test`` comment that is not understood."""


def _language(info: str) -> str:
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    return word.strip("{}").lstrip(".").lower()


def _directive(lines: list[str], fence_index: int, where: str) -> dict[str, Any]:
    """The directive given on the line just before the fence (blank lines allowed), as Block fields."""
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0 or not (match := _DIRECTIVE.match(lines[i])):
        return {}
    body = match["body"]
    verb, _, rest = body.partition(" ")
    if verb == "skip":
        if not rest.strip():
            raise DirectiveError(f"{where}: <!-- docs-test: skip --> needs a reason")
        return {"skip": rest.strip()}
    if verb == "requires":
        if not rest.split():
            raise DirectiveError(f"{where}: <!-- docs-test: requires --> needs module names")
        return {"requires": tuple(rest.split())}
    if verb == "pytest" and not rest.strip():
        return {"mode": "pytest"}
    raise DirectiveError(
        f"{where}: unknown directive <!-- docs-test: {body} --> "
        "(known: 'skip <reason>', 'requires <module> ...', 'pytest')"
    )


def extract_blocks(text: str, path: str) -> list[Block]:
    """Every Python block of one Markdown text, with its line and skip reason."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = i + 1
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if (
                closing
                and not closing["info"].strip()
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and len(closing["indent"]) <= len(indent)
            ):
                break
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{i + 1}: the code fence is never closed")
        if _language(opening["info"]) in PYTHON_INFO:
            inner = lines[i + 1 : end]
            body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in inner]
            fields = _directive(lines, i, f"{path}:{i + 1}")
            blocks.append(Block(path, i + 2, textwrap.dedent("\n".join(body)) + "\n", **fields))
        i = end + 1
    return blocks


def markdown_files() -> list[Path]:
    found: set[Path] = set()
    for pattern in SOURCES:
        found.update(p for p in ROOT.glob(pattern) if p.is_file())
    return sorted(found)


def collect() -> list[Block]:
    blocks: list[Block] = []
    for file in markdown_files():
        blocks += extract_blocks(file.read_text(encoding="utf-8"), file.relative_to(ROOT).as_posix())
    return blocks


BLOCKS = collect()


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    output: str


def run_block(block: Block) -> Outcome:
    """Run one block in its own process (see run_example.py)."""
    spec = {"path": str(ROOT / block.path), "line": block.line, "code": block.code, "mode": block.mode}
    payload = json.dumps(spec)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for name in ("DESAM_HOST", "DESAM_PORT", "DESAM_API_KEY", "DESAM_CERT_PATH"):
        env.pop(name, None)
    command = [sys.executable, str(RUNNER)]
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(payload, timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return Outcome(None, output)
        return Outcome(process.returncode, output)


@pytest.fixture(scope="session")
def example_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Outcome]]]:
    """Start every selected block at once; each test then waits for its own."""
    wanted = {item.callspec.params["block"].id for item in request.session.items if _is_example(item)}
    chosen = [b for b in BLOCKS if b.id in wanted and b.skip is None and not _missing(b.requires)]
    with ThreadPoolExecutor(max_workers=max(2, min(8, (os.cpu_count() or 2) * 2))) as pool:
        runs = {block.id: pool.submit(run_block, block) for block in chosen}
        yield runs
        for future in runs.values():
            future.cancel()


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [name for name in modules if not _importable(name)]


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _is_example(item: pytest.Item) -> bool:
    return getattr(item, "originalname", None) == "test_example" and hasattr(item, "callspec")


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example(block: Block, example_runs: dict[str, Future[Outcome]]) -> None:
    if block.skip is not None:
        pytest.skip(f"docs-test: skip {block.skip}")
    if missing := _missing(block.requires):
        pytest.skip(f"docs-test: requires {' '.join(missing)}, which is not installed")
    outcome = example_runs[block.id].result()
    if outcome.returncode is None:
        pytest.fail(f"{block.id}: the example did not finish within {BLOCK_TIMEOUT:g} s\n{outcome.output}")
    if outcome.returncode != 0:
        message = f"{block.id}: the example failed (exit {outcome.returncode})\n{outcome.output}"
        pytest.fail(message, pytrace=False)


# -- the collector itself ------------------------------------------------------------------------------


def test_docs_have_examples() -> None:
    """The globs find the pages: an empty collection would pass every run silently."""
    pages = {b.path for b in BLOCKS}
    assert "docs/getting-started.md" in pages
    assert "README.zh-CN.md" in pages
    assert len(BLOCKS) >= 20


def test_skips_are_rare() -> None:
    skipped = [b.id for b in BLOCKS if b.skip is not None]
    assert len(skipped) * 5 <= len(BLOCKS), f"more than a fifth of the examples are skipped: {skipped}"


SAMPLE = """\
# Title

```python
print("top level")
```

=== "Tab"

    ```py title="tab.py"
    x = 1
    if x:
        print(x)
    ```

<!-- docs-test: skip needs a real cluster -->
```python
connect_to_the_real_thing()
```

<!-- docs-test: requires cryptography -->

```python
import cryptography
```

<!-- docs-test: pytest -->
```python
def test_it():
    pass
```

````markdown
```python
not_a_block()
```
````

~~~bash
echo shell
~~~

1. A list item:

    ~~~python
    print("in a list")
    ~~~
"""


def test_extract_blocks_finds_lines_indentation_and_skips() -> None:
    blocks = extract_blocks(SAMPLE, "sample.md")
    assert [(b.line, b.code, b.skip, b.requires, b.mode) for b in blocks] == [
        (4, 'print("top level")\n', None, (), "script"),
        (10, "x = 1\nif x:\n    print(x)\n", None, (), "script"),
        (17, "connect_to_the_real_thing()\n", "needs a real cluster", (), "script"),
        (23, "import cryptography\n", None, ("cryptography",), "script"),
        (28, "def test_it():\n    pass\n", None, (), "pytest"),
        (45, 'print("in a list")\n', None, (), "script"),
    ]


def test_extract_blocks_line_numbers_match_the_file() -> None:
    lines = SAMPLE.splitlines()
    for block in extract_blocks(SAMPLE, "sample.md"):
        assert lines[block.line - 1].strip() == block.code.splitlines()[0].strip()


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("<!-- docs-test: skip -->", "needs a reason"),
        ("<!-- docs-test: requires -->", "needs module names"),
        ("<!-- docs-test: skp typo -->", "unknown directive"),
    ],
)
def test_bad_directives_are_errors(comment: str, message: str) -> None:
    with pytest.raises(DirectiveError, match=message):
        extract_blocks(f"{comment}\n```python\npass\n```\n", "bad.md")


def test_requires_names_what_is_missing() -> None:
    assert _missing(("json", "no_such_module_x", "no_such_package_y.sub")) == [
        "no_such_module_x",
        "no_such_package_y.sub",
    ]


def test_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"bad\.md:1: the code fence is never closed"):
        extract_blocks("```python\npass\n", "bad.md")


def test_a_failing_block_reports_the_markdown_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n```python\nx = 1\nraise RuntimeError('boom')\n```\n", encoding="utf-8")
    [block] = extract_blocks(page.read_text(encoding="utf-8"), str(page))
    outcome = run_block(block)
    assert outcome.returncode != 0
    assert f'File "{page}", line 5' in outcome.output
    assert "RuntimeError: boom" in outcome.output


@pytest.mark.parametrize(("body", "passes"), [("def test_ok():\n    assert 1\n", True), ("x = 1\n", False)])
def test_a_pytest_block_must_have_passing_tests(tmp_path: Path, body: str, passes: bool) -> None:
    outcome = run_block(Block(str(tmp_path / "t.md"), 3, body, mode="pytest"))
    assert (outcome.returncode == 0) is passes, outcome.output


def test_a_block_reaches_the_fake_through_the_documented_conventions(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "from desam_client import DeSAMClient\n"
        "with DeSAMClient(host='localhost', port=50051, api_key='sk-dev') as a, DeSAMClient() as b:\n"
        "    job_id = a.submit_job(name='probe', command='true')\n"
        "    assert b.get_info(job_id).name == 'probe'\n"
        "    assert a.config.server_port == int(os.environ['DESAM_PORT']) != 5 * 10011\n"
    )
    outcome = run_block(Block(str(tmp_path / "probe.md"), 1, code))
    assert outcome.returncode == 0, outcome.output
