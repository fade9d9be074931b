"""A griffe extension: render the reStructuredText bits of our docstrings as Markdown.

The packages' docstrings follow the Google style but use a few reST idioms that
Python tooling understands (Sphinx roles such as ``:class:`Job```, ``::`` before
a literal block, simple ``=====`` tables). mkdocstrings renders docstrings as
Markdown, where those would show up verbatim. This extension rewrites them when
the packages are loaded, before mkdocstrings parses the docstrings:

* a role becomes an optional cross-reference: a link when the target is in the
  API reference, plain code otherwise (so an outside name never breaks the build);
* ``text::`` before an indented block becomes ``text:`` (the block stays code);
* a simple reST table becomes a Markdown table.

Only the rendered site changes; the source docstrings stay as they are.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|mod|func|meth|attr|data|exc|obj|const):`(?P<target>[^`]+)`")
_LITERAL_MARK = re.compile(r"(?m)^(?P<text>.*\S)::[ \t]*$")
_BARE_LITERAL_MARK = re.compile(r"(?m)^[ \t]*::[ \t]*$")
_BORDER = re.compile(r"^ *=+( +=+)+ *$")


class RstToMarkdown(griffe.Extension):
    """Rewrite reST roles, literal-block markers and simple tables in every docstring."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the loaded package and fix each docstring in place."""
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value, obj)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def convert(text: str, obj: griffe.Object | None = None) -> str:
    """Return ``text`` with roles, ``::`` markers and simple tables turned into Markdown."""
    text = _tables(text)
    text = _BARE_LITERAL_MARK.sub("", text)
    text = _LITERAL_MARK.sub(lambda m: m["text"] + ":", text)
    return _ROLE.sub(lambda m: _reference(m["target"], obj), text)


def _reference(target: str, obj: griffe.Object | None) -> str:
    short = target.startswith("~")
    target = target.lstrip("~").rstrip("()")
    title = target.rsplit(".", 1)[-1] if short else target.lstrip(".")
    identifier = _resolve(target, obj)
    code = f"<code>{html.escape(title)}</code>"
    return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'


def _resolve(target: str, obj: griffe.Object | None) -> str:
    """Best guess of the full path of a role's target (the reference is optional anyway)."""
    if obj is None:
        return target
    module = obj if obj.is_module else obj.module
    if target.startswith("."):
        base = module if module.is_package else module.parent
        return f"{base.path}{target}" if base is not None else target.lstrip(".")
    head = target.split(".", 1)[0]
    scope: griffe.Object | None = obj
    while scope is not None:  # the object's own members, its class, its module, the package
        if head in scope.members:
            return f"{scope.path}.{target}"
        scope = scope.parent
    return target


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _BORDER.match(lines[i]) and (table := _table_at(lines, i)) is not None:
            rows, end = table
            out.extend(_markdown_table(rows))
            i = end
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _table_at(lines: list[str], start: int) -> tuple[list[list[str]], int] | None:
    """Parse a simple table (border, header, border, rows, border) starting at ``start``."""
    border = lines[start]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]  # the columns
    borders = [i for i in range(start, len(lines)) if lines[i].strip() and lines[i].strip(" =") == ""]
    borders = [i for i in borders if lines[i].rstrip() == border.rstrip()]
    if len(borders) < 3 or borders[1] != start + 2:
        return None
    end = borders[2]
    if any(not lines[i].strip() for i in range(start, end)):
        return None
    rows = []
    for i in [start + 1, *range(start + 3, end)]:
        line = lines[i]
        starts = [lo for lo, _ in spans]
        stops: list[int | None] = [*starts[1:], None]
        rows.append([line[lo:hi].strip() for lo, hi in zip(starts, stops, strict=True)])
    return rows, end + 1


def _markdown_table(rows: list[list[str]]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
    return ["", *lines, ""]
