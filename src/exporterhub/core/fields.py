"""Scalar field types that validate JSON's types exactly as a JSON Schema states them.

pydantic's lax mode turns ``true`` into ``1`` and ``"1"`` into ``1``, which the
served schema does not allow; these types are strict, so validation and schema
agree: a boolean is never a number, ``"1"`` is not a number and ``1`` or ``"yes"``
is not a flag (YAML's ``yes`` loads as ``true`` before validation). An integer is
a number (``1`` for a float field) and a float with no fraction is an integer
(``5.0``), as JSON Schema counts them: give integer fields ``whole_number`` as a
``mode="before"`` field validator.

``FROZEN`` is the model config of settings models that the API validates
(immutable, unknown keys refused, no infinity or NaN), and ``on_mismatch`` turns
a pattern mismatch into a sentence (a pattern is the rule, and in the schema, but
quoting it is no help). No models here, no I/O.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import (
    ConfigDict,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

__all__ = ["FROZEN", "Flag", "Number", "WholeNumber", "on_mismatch", "whole_number"]

FROZEN: Final = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
"""Model config of every API-facing settings model: frozen, unknown keys are
errors, and infinity and NaN are refused (YAML can spell them; JSON cannot, so
the schema could not say they are allowed)."""


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


def on_mismatch(message: str) -> WrapValidator:
    """Return a wrap validator that reports a pattern mismatch as ``message``.

    Put it after the ``StringConstraints`` in an ``Annotated`` string type; the
    JSON schema keeps the pattern, only the error's text changes; an empty
    string is reported as too short, as pydantic words ``min_length=1``. Other
    errors (too long, not a string) pass unchanged.

    >>> from pydantic import StringConstraints, TypeAdapter
    >>> Lower = Annotated[
    ...     str, StringConstraints(pattern="^[a-z]+$"), on_mismatch("lower case only")
    ... ]
    >>> TypeAdapter(Lower).validate_python("Abc")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ...
      lower case only [type=string_pattern_mismatch, input_value='Abc', input_type=str]
    """

    def check(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError as exc:
            if any(e["type"] == "string_pattern_mismatch" for e in exc.errors()):
                if value == "":  # empty is said as pydantic says it for min_length
                    raise PydanticCustomError(
                        "string_too_short",
                        "String should have at least 1 character",
                        {"min_length": 1},
                    ) from None
                raise PydanticCustomError("string_pattern_mismatch", message) from None
            raise

    return WrapValidator(check)
