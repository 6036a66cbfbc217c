"""Scalar field types that validate JSON's types exactly as a JSON Schema states them.

pydantic's lax mode turns ``true`` into ``1`` and ``"1"`` into ``1``, which the
served schema does not allow; these types are strict, so validation and schema
agree: a boolean is never a number, ``"1"`` is not a number and ``1`` or ``"yes"``
is not a flag (YAML's ``yes`` loads as ``true`` before validation). An integer is
a number (``1`` for a float field) and a float with no fraction is an integer
(``5.0``), as JSON Schema counts them: give integer fields ``whole_number`` as a
``mode="before"`` field validator. No models here, no I/O.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict

__all__ = ["Flag", "Number", "WholeNumber", "whole_number"]


def whole_number(value: object) -> object:
    """Return a float without fraction as an int; anything else unchanged.

    The ``mode="before"`` field validator of every ``WholeNumber`` field: JSON
    Schema counts ``5.0`` as an integer, strict int validation would refuse it.
    (As a ``BeforeValidator`` inside the type, pydantic would drop the bounds
    of a nullable field from its JSON schema.)

    >>> whole_number(5.0), whole_number(5.5), whole_number(True)
    (5, 5.5, True)
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Number = Annotated[float, Strict()]
"""A float field: an int or a float, never a boolean or a string."""
WholeNumber = Annotated[int, Strict()]
"""An integer field: an int (or, through ``whole_number``, a float without
fraction), never a boolean or a string."""
Flag = Annotated[bool, Strict()]
"""A boolean field: ``true`` or ``false`` only (YAML's ``yes``/``no`` load as such)."""
