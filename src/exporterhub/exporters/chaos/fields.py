"""Tolerant, typed reads of CHAOS v2 JSON values. Pure, no I/O.

A&A may add or drop fields, send a number as a JSON string or a number, use ``""``
for missing, send one object where a list is expected, spell keys with ``-`` or
``_`` and in any case. These readers absorb all of that so ``answers`` and
``payloads`` never check types themselves: ``norm`` (key spelling), ``items`` (a
repeatable child as a list of objects), ``options`` (the ``options[]`` envelope),
``as_text``, ``as_int`` and ``as_float`` (scalars), ``parse_uk_timestamp``
(Europe/London wall time to Unix seconds).

Every function returns None (or an empty list) for what it cannot read: none may
raise on wire input, log, read the network or a clock, or know what a command or
field means (that is ``answers`` and ``payloads``).

>>> as_int(" 80000000 "), as_int("1.5e3"), as_int(""), as_int(True)
(80000000, 1500, None, None)
>>> items({"ID": "40211"})
[{'id': '40211'}]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

__all__ = [
    "MAX_DIGITS",
    "UK",
    "as_float",
    "as_int",
    "as_text",
    "items",
    "norm",
    "options",
    "parse_uk_timestamp",
]

UK: Final = ZoneInfo("Europe/London")

MAX_DIGITS: Final = 30
"""Longest integer text accepted; bytes and bit/s never need more, and a longer
string (hostile or broken) would raise in float()."""
_TIMESTAMP: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d*)?"
)
_INTEGER: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def norm(obj: Mapping[Any, Any]) -> dict[str, Any]:
    """Return the mapping with keys lower-cased and ``-`` read as ``_``."""
    return {str(k).lower().replace("-", "_"): v for k, v in obj.items()}


def items(value: object) -> list[dict[str, Any]]:
    """Return a repeatable child as a list of normalised objects."""
    if isinstance(value, Mapping):
        return [norm(value)]
    if isinstance(value, list):
        return [norm(v) for v in value if isinstance(v, Mapping)]
    return []


def options(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return every ``option`` of every ``options[]`` group, normalised."""
    found: list[dict[str, Any]] = []
    for group in items(payload.get("options")):
        found.extend(items(group.get("option")))
    return found


def as_text(value: object) -> str | None:
    """Return a non-empty stripped string for a string or integral number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, str):
        return value.strip() or None
    return None


def as_int(value: object) -> int | None:
    """Parse a signed integer from a string or number; None when not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**MAX_DIGITS else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_DIGITS:
            return None
        if _INTEGER.fullmatch(text):
            return int(text)
        number = as_float(text)
        return None if number is None else int(number)
    return None


def as_float(value: object) -> float | None:
    """Parse a finite float from a string or number; None when not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        number = value
    elif isinstance(value, int):
        if abs(value) > 2**1000:  # float() would overflow
            return None
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            return None
        number = float(text)
    else:
        return None
    return number if math.isfinite(number) else None


def parse_uk_timestamp(text: str) -> float | None:
    """Convert a Europe/London ``YYYY-MM-DD HH:MM:SS`` to Unix seconds.

    At the October change-over the repeated hour is read as its first (BST)
    occurrence (``fold=0``). A wall time inside the March gap (01:00-01:59, which
    never happens) is read with the offset in force before the jump, GMT, so
    ``01:30`` is the same instant as ``02:30`` BST. Returns None for anything else.

    >>> gmt = parse_uk_timestamp("2025-10-26 01:00:00")
    >>> gmt - parse_uk_timestamp("2025-10-26 00:00:00")
    3600.0
    """
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    second = int(match.group(6) or 0)
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=UK, fold=0)
        return wall.timestamp()
    except (ValueError, OverflowError):
        return None
