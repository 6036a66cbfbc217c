"""What every section of the Starlink configuration model shares.

``FROZEN`` is the model config of every section (immutable, unknown keys
rejected, no infinity or NaN), ``Number``, ``WholeNumber`` and ``Flag`` the
scalar types of every numeric and boolean field, and ``not_below`` the ordering
rule behind the cross-field validators (``min <= typical <= max``).

The model config and the scalar types are the core's strict ones
(``core.fields``, re-exported here), so validation takes JSON's types as the
served schema states them. The section
models live in ``route_settings``, ``link_settings``, ``scenario_settings`` and
``settings``.

This module must not define models, read files or know any key of the
configuration; it holds only what those modules have in common.
"""

from __future__ import annotations

from pydantic import ValidationInfo

from exporterhub.core.fields import FROZEN, Flag, Number, WholeNumber, whole_number

__all__ = ["FROZEN", "Flag", "Number", "WholeNumber", "not_below", "whole_number"]


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
