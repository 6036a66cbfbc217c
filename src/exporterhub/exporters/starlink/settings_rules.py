"""What every section of the Starlink configuration model shares.

``FROZEN`` is the model config of every section (immutable, unknown keys
rejected, no infinity or NaN), ``Number``, ``WholeNumber`` and ``Flag`` the
scalar types of every numeric and boolean field, and ``not_below`` the ordering
rule behind the cross-field validators (``min <= typical <= max``).

The scalar types are strict, so validation takes JSON's types as the served
schema states them: a boolean is never a number, ``"1"`` is not a number and
``1`` or ``"yes"`` is not a flag (YAML's ``yes`` loads as ``true`` before
validation). An integer is a number (``1`` for a float field) and a float with
no fraction is an integer (``5.0``), as JSON Schema counts them. The section
models live in ``route_settings``, ``link_settings``, ``scenario_settings`` and
``settings``.

This module must not define models, read files or know any key of the
configuration; it holds only what those modules have in common.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import ConfigDict, Strict, ValidationInfo

__all__ = ["FROZEN", "Flag", "Number", "WholeNumber", "not_below", "whole_number"]

FROZEN: Final = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
"""Model config of every section: frozen, unknown keys are errors, and infinity
and NaN are refused (YAML can spell them; JSON cannot, so the schema could not say
they are allowed)."""


def whole_number(value: object) -> object:
    """Return a float without fraction as an int; anything else unchanged.

    The ``mode="before"`` field validator of every ``WholeNumber`` field: JSON
    Schema counts ``5.0`` as an integer, strict int validation would refuse it.
    (As a ``BeforeValidator`` inside the type, pydantic would drop the bounds
    of a nullable field from its JSON schema.)
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


def not_below(info: ValidationInfo, value: float, *names: str) -> None:
    """Raise when ``value`` is below any already-validated field in ``names``.

    Called from a field validator on the *later* field, so the error's location
    is the key the user has to fix. Fields that failed validation (absent from
    ``info.data``) are skipped.

    Raises:
        ValueError: ``must be >= <name> (<value>)`` for the first field it is
            below.
    """
    for name in names:
        other = info.data.get(name)
        if other is not None and value < other:
            raise ValueError(f"must be >= {name} ({other})")
