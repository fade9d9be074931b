"""Argument checks run before anything is sent.

Every failure is an :class:`~desam_client.exceptions.InvalidArgumentError`
that names the argument (``argument`` attribute and message) and says what was
expected. Maps are strict: keys and values must be ``str`` (no silent
coercion of ``1e-05`` to ``"1e-05"``; the caller decides how a number is
spelled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from desam_client.exceptions import InvalidArgumentError
from desam_client.models import JobStatus

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _fail(argument: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{argument}: {message}", argument=argument)


def _type_name(value: object) -> str:
    return type(value).__name__


def _encodable(argument: str, value: str, what: str = "") -> None:
    """Refuse a ``str`` that cannot go on the wire: protobuf strings are UTF-8, lone surrogates are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _fail(
            argument,
            f"{what}must be valid Unicode text, got a lone surrogate "
            f"{value[error.start]!r} at index {error.start}",
        ) from None


def text(argument: str, value: Any, *, allow_empty: bool = False) -> str:
    """A ``str`` of valid Unicode (no lone surrogates); non-empty (after stripping) unless ``allow_empty``."""
    if not isinstance(value, str):
        raise _fail(argument, f"must be a str, got {_type_name(value)}")
    if not allow_empty and not value.strip():
        raise _fail(argument, "must not be empty")
    _encodable(argument, value)
    return value


def optional_text(argument: str, value: Any) -> str:
    """None or a ``str`` (empty allowed); None becomes ``""``, the wire's "not set"."""
    if value is None:
        return ""
    return text(argument, value, allow_empty=True)


def integer(argument: str, value: Any, *, minimum: int = 0, maximum: int = INT32_MAX) -> int:
    """An ``int`` (``bool`` refused) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(argument, f"must be an int in [{minimum}, {maximum}], got {_type_name(value)}")
    if not minimum <= value <= maximum:
        raise _fail(argument, f"must be in [{minimum}, {maximum}], got {value}")
    return value


def seconds(argument: str, value: Any, *, allow_none: bool = True) -> float | None:
    """A positive number of seconds (int or float), or None where allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _fail(argument, f"must be a positive number of seconds, got {value!r}")
    return float(value)


def str_map(argument: str, value: Any) -> dict[str, str]:
    """None or a mapping of ``str`` to ``str``; the error names the offending key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(argument, f"must be a dict of str to str, got {_type_name(value)}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _fail(argument, f"keys must be str, got {_type_name(key)} key {key!r}")
        _encodable(argument, key, "keys ")
        if not isinstance(item, str):
            raise _fail(
                f"{argument}[{key!r}]",
                f"values must be str, got {_type_name(item)} {item!r} (convert it with str() if intended)",
            )
        _encodable(f"{argument}[{key!r}]", item, "values ")
        out[key] = item
    return out


def str_list(argument: str, value: Any, *, allow_empty_items: bool = False) -> list[str]:
    """None or an iterable of ``str`` (a bare ``str`` is refused: it is not a list of names)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _fail(argument, f"must be a list of str, got {_type_name(value)}")
    items = list(value)
    for index, item in enumerate(items):
        text(f"{argument}[{index}]", item, allow_empty=allow_empty_items)
    return items


def job_id(value: Any, argument: str = "job_id") -> str:
    """A non-empty job id."""
    return text(argument, value)


def job_ids(value: Any, argument: str = "job_ids") -> list[str]:
    """A list of non-empty job ids (None is refused: it is not a list)."""
    if value is None:
        raise _fail(argument, "must be a list of job ids, got None")
    return str_list(argument, value)


def status_filter(value: Any, argument: str = "status") -> int:
    """None or a status (``JobStatus`` or its exact name) as its wire number; None is "any"."""
    if value is None:
        return 0
    if isinstance(value, JobStatus):
        return value.number
    if isinstance(value, str) and value in JobStatus.__members__:
        return JobStatus[value].number
    allowed = ", ".join(JobStatus.__members__)
    raise _fail(argument, f"must be one of {allowed} or None, got {value!r}")
