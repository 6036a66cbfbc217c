"""Tolerant, typed reads of one field of a PHD2 event's ``fields`` mapping.

PHD2 omits fields, and a damaged or foreign line can carry any JSON type where a
number belongs. These readers turn a field into the value the fold wants or None,
so a handler never has to check types itself: ``number`` (finite float; ``to_number``
for a value already read), ``integer`` (whole number) and ``pulse`` (a guide pulse
in seconds plus a bounded direction label).

Pure functions over a ``dict``: they must not raise on wire input, keep state, read
a clock, log or know what an event means (that is ``events``).
"""

from __future__ import annotations

import math
from typing import Any, Final

from exporterhub.exporters.phd2.snapshot import OTHER

__all__ = ["Pulse", "integer", "number", "pulse", "to_number"]

_isfinite: Final = math.isfinite


def to_number(value: object) -> float | None:
    """Return a finite number as float, None for anything else (bools included).

    >>> to_number(12), to_number(1.5), to_number(float("inf")), to_number(True)
    (12.0, 1.5, None, None)
    """
    if type(value) is float:
        return value if _isfinite(value) else None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def number(fields: dict[str, Any], key: str) -> float | None:
    """Return a finite number field as float, None when absent or not a number.

    >>> number({"SNR": 12, "HFD": float("nan"), "Mount": "On Camera"}, "SNR")
    12.0
    >>> number({"HFD": float("nan")}, "HFD") is None, number({}, "HFD") is None
    (True, True)
    """
    return to_number(fields.get(key))


def integer(fields: dict[str, Any], key: str) -> int | None:
    """Return a whole-number field as int, None when absent, a bool or fractional.

    >>> integer({"Frame": 7.0}, "Frame"), integer({"Frame": 7.5}, "Frame")
    (7, None)
    >>> integer({"Frame": True}, "Frame") is None
    True
    """
    value = fields.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


Pulse = tuple[float, str | None]
"""A guide pulse: seconds (0 when none was sent) and direction (None when none)."""


def pulse(
    fields: dict[str, Any], duration: str, direction: str, allowed: tuple[str, ...]
) -> Pulse:
    """Read a pulse from a milliseconds field and a direction field.

    A direction outside ``allowed`` reads as ``OTHER``.

    >>> pulse({"RADuration": 250, "RADirection": "East"}, "RADuration",
    ...       "RADirection", ("East", "West"))
    (0.25, 'East')
    >>> pulse({"RADuration": 0}, "RADuration", "RADirection", ("East", "West"))
    (0.0, None)
    """
    milliseconds = number(fields, duration)
    if milliseconds is None or milliseconds <= 0:
        return 0.0, None
    name = fields.get(direction)
    return milliseconds / 1000.0, name if name in allowed else OTHER
