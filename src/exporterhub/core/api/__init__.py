"""The REST side of the core: one JSON error shape and the shared routes' models.

Exporters import from here to answer errors the way every route does. Nothing in
this package talks to a device.
"""

from __future__ import annotations

from exporterhub.core.api.errors import (
    ERROR_RESPONSES,
    ErrorBody,
    FieldProblem,
    error_response,
    install_error_handlers,
    validation_problems,
)

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "FieldProblem",
    "error_response",
    "install_error_handlers",
    "validation_problems",
]
