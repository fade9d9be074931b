"""How ``desam`` prints results: aligned plain-text tables, or JSON for machines.

JSON output uses plain types only: statuses as their names (with the raw number
as ``status_code``), datetimes as ISO 8601 in UTC, dataclasses as objects.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from desam_client.models import Job

__all__ = ["Output", "job_row", "jsonable", "text_width"]

JOB_COLUMNS = ("JOB ID", "NAME", "STATUS", "USER", "SUBMITTED")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (datetimes ISO 8601 UTC, enums by value, dataclasses as dicts)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    return value


def text_width(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters take two)."""
    return sum(
        2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
        for ch in text
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


def when(value: datetime | None) -> str:
    """A timestamp for tables: UTC, to the second, or ``-``."""
    return _cell(value)


def job_row(job: Job) -> list[str]:
    """The cells of a job in ``list`` and ``wait`` tables (see :data:`JOB_COLUMNS`)."""
    return [job.job_id, job.name, _status(job), job.user_id, when(job.submit_time)]


def _status(job: Job) -> str:
    if job.status.value == "UNKNOWN" and job.status_code:
        return f"UNKNOWN({job.status_code})"
    return str(job.status)


def status_text(job: Job) -> str:
    """A job's status for people: the name, with the raw number when this client does not know it."""
    return _status(job)


class Output:
    """Writes results to stdout in the chosen format (``table`` or ``json``)."""

    def __init__(self, fmt: str, stream: TextIO | None = None) -> None:
        self.json = fmt == "json"
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        """Standard output (looked up at each use, so tests may swap it)."""
        return self._stream if self._stream is not None else sys.stdout

    def line(self, text: str = "") -> None:
        """Print one line and flush it (for streamed output such as logs)."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def raw(self, text: str) -> None:
        """Print text as it is."""
        self.stream.write(text)
        self.stream.flush()

    def data(self, value: Any) -> None:
        """Print ``value`` as indented JSON."""
        self.line(json.dumps(jsonable(value), indent=2, ensure_ascii=False, sort_keys=False))

    def json_line(self, value: Any) -> None:
        """Print ``value`` as one compact JSON line (JSON Lines, for streams)."""
        self.line(json.dumps(jsonable(value), ensure_ascii=False))

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Print rows under headers, each column padded to its widest cell."""
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [text_width(h) for h in headers]
        for row in cells:
            for index, text in enumerate(row):
                widths[index] = max(widths[index], text_width(text))
        for row in [list(headers), *cells]:
            padded = [text + " " * (widths[i] - text_width(text)) for i, text in enumerate(row)]
            self.line("  ".join(padded).rstrip())

    def pairs(self, items: Iterable[tuple[str, Any]]) -> None:
        """Print ``key  value`` lines with the keys aligned."""
        listed = [(key, _cell(value)) for key, value in items]
        width = max((text_width(key) for key, _ in listed), default=0)
        for key, value in listed:
            self.line(f"{key}{' ' * (width - text_width(key))}  {value}".rstrip())
