"""One JSON error shape for every route and status: ``{"error", "detail", "fields"}``.

``error`` is a short fixed snake_case code a script can branch on, ``detail`` one
human sentence, ``fields`` (validation only) each bad field by dotted path. FastAPI's
own answers (404, 405, 422 validation, unexpected exceptions) are routed through the
same shape: never a traceback, never a plain-text 500, and a body that fails
validation is a 400, not FastAPI's 422. A store that fails (full, read-only,
unreachable) is a 507 or 503 with ``Retry-After``, never a 500. No route logic lives
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from exporterhub.core.store.errors import SecretKeyError, StoreError, StoreVersionError

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "FieldProblem",
    "error_response",
    "install_error_handlers",
    "validation_problems",
    "without_422",
]

_log = structlog.get_logger(__name__)

_CODES: Final[Mapping[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    500: "internal_error",
    503: "unavailable",
    507: "store_full",
}


class FieldProblem(BaseModel):
    """One bad field of a request body."""

    field: str = Field(
        description="Dotted path of the field, e.g. network.latency_min_ms."
    )
    message: str = Field(description="What is wrong with its value.")


class ErrorBody(BaseModel):
    """Every error answer of the API, whatever the status."""

    error: str = Field(
        description="Short fixed code: invalid_body, malformed_json, not_found, "
        "method_not_allowed, unsupported_media_type, conflict, unauthorized, "
        "body_too_large, internal_error …"
    )
    detail: str = Field(description="One human sentence saying what went wrong.")
    fields: list[FieldProblem] = Field(
        default_factory=list, description="For invalid bodies: each bad field."
    )


def _described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: _described("Malformed JSON or an invalid body; nothing changed."),
    415: _described("The body is not application/json; nothing changed."),
}
"""OpenAPI ``responses`` of a write route; add 404/409 where a route answers them."""


def error_response(
    status: int,
    error: str | None = None,
    detail: str | None = None,
    fields: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Return the error shape with ``status``; code and sentence default by status.

    >>> error_response(404).body
    b'{"error":"not_found","detail":"Not Found","fields":[]}'
    """
    body = ErrorBody(
        error=error or _CODES.get(status, "error"),
        detail=detail or HTTPStatus(status).phrase,
        fields=list(fields),
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=dict(headers or {})
    )


def _dotted(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


def validation_problems(
    errors: Iterable[Mapping[str, Any]] | ValidationError, skip: int = 0
) -> list[FieldProblem]:
    """Return each validation error as a ``FieldProblem`` named by dotted path.

    Args:
        errors: a pydantic ``ValidationError`` or its ``errors()`` list.
        skip: leading location parts to drop (FastAPI's ``body``).
    """
    if isinstance(errors, ValidationError):
        errors = errors.errors(include_url=False)
    problems = []
    for error in errors:
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(
            FieldProblem(
                field=_dotted(tuple(error.get("loc", ()))[skip:]), message=message
            )
        )
    return problems


def _full_allow(allow: str) -> str:
    """Add what every route answers besides its own methods: HEAD with GET, OPTIONS.

    >>> _full_allow("GET")
    'GET, HEAD, OPTIONS'
    """
    methods = {m.strip() for m in allow.split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return ", ".join(sorted(methods))


def without_422(document: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's documented 422 answers by the 400 the handlers give."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Invalid parameters or body: each field named.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorBody"}
                        }
                    },
                }
    schemas = document.get("components", {}).get("schemas", {})
    if any("ErrorBody" in str(op) for op in document.get("paths", {}).values()):
        schemas.setdefault(
            "ErrorBody",
            ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"),
        )
        schemas.setdefault("FieldProblem", FieldProblem.model_json_schema())
        schemas["ErrorBody"].pop("$defs", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_error_handlers(app: FastAPI) -> None:
    """Route FastAPI's own errors (404, 405, 422, crashes) through the one shape."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and "Allow" in headers:
            headers["Allow"] = _full_allow(headers["Allow"])
        return error_response(exc.status_code, detail=detail, headers=headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return error_response(400, "malformed_json", "The body is not valid JSON.")
        body = [e for e in raw if tuple(e.get("loc", ()))[:1] == ("body",)]
        rest = [e for e in raw if tuple(e.get("loc", ()))[:1] != ("body",)]
        problems = validation_problems(body, skip=1) + validation_problems(rest)
        return error_response(400, "invalid_body", "The request is invalid.", problems)

    async def store_failed(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SecretKeyError | StoreVersionError):
            # Not the database's passing state but this replica's key or code:
            # no retry mends it, so it is logged and answered as the server's fault.
            return await crashed(request, exc)
        return store_error_response(exc)

    async def crashed(request: Request, exc: Exception) -> Response:
        _log.exception("request_failed", path=request.url.path, method=request.method)
        return error_response(500, detail="The server failed; see its log.")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StoreError, store_failed)
    app.add_exception_handler(Exception, crashed)


STORE_RETRY_AFTER: Final = 5
"""Seconds a client is asked to wait before retrying a write the store refused."""


def store_error_response(exc: BaseException) -> JSONResponse:
    """Answer a write or read the target store could not do: never a 500.

    A full disk (or size limit) is 507 ``store_full``, a read-only store 503
    ``store_read_only``, anything else (the database unreachable, restarting)
    503 ``store_unavailable``; all with ``Retry-After``. The detail is the
    store's own one line (its redacted location and the driver's reason).
    """
    name = _sqlite_error_name(exc)
    if name == "SQLITE_FULL":
        status, code, what = 507, "store_full", "The target store is full"
    elif name == "SQLITE_READONLY":
        status, code, what = 503, "store_read_only", "The target store is read-only"
    else:
        status, code, what = 503, "store_unavailable", "The target store is unavailable"
    _log.warning("store_request_failed", error=code, detail=str(exc))
    return error_response(
        status,
        code,
        # A failure after the commit (the reload that follows it) is possible:
        # the change may have been stored, so the answer does not say it was not.
        f"{what}; the request may not have been carried out: read the target "
        f"again before retrying ({exc}).",
        headers={"Retry-After": str(STORE_RETRY_AFTER)},
    )


def _sqlite_error_name(exc: BaseException) -> str | None:
    """Return the SQLite error name behind ``exc`` (``SQLITE_FULL`` …), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = getattr(current, "sqlite_errorname", None)
        if isinstance(name, str):
            return "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED too
        current = getattr(current, "orig", None) or current.__cause__
    return None
