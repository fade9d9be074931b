"""A mkdocs hook: the Changelog page shows the repository's ``CHANGELOG.md``.

``docs/changelog.md`` holds a marker line; this hook replaces it with the text
of ``CHANGELOG.md`` at the repository root, so the changelog is written once.
While that file does not exist yet the page says so instead of failing the build.
The included file's own top-level title, if any, is dropped: the page has one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MARKER = "<!-- include: CHANGELOG.md -->"
CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"

_MISSING = (
    '!!! note "No changelog yet"\n'
    "    The repository has no `CHANGELOG.md` yet. Once it exists, this page shows it.\n"
)


def on_page_markdown(markdown: str, *, page: Any, **kwargs: Any) -> str:
    """Put the changelog in place of the marker."""
    if MARKER not in markdown:
        return markdown
    if CHANGELOG.is_file():
        text = CHANGELOG.read_text(encoding="utf-8")
        text = re.sub(r"\A\s*# [^\n]*\n", "", text)  # the page has its own title
    else:
        text = _MISSING
    return markdown.replace(MARKER, text)


def on_serve(server: Any, *, config: Any, builder: Any, **kwargs: Any) -> Any:
    """Rebuild when the changelog changes during ``mkdocs serve``."""
    if CHANGELOG.exists():
        server.watch(str(CHANGELOG))
    return server
