"""The original snp-exporter's REST API, as a thin layer over the control plane.

``snp-exporter`` serves these on its UI listener, before the core's routes of the
same paths (``HubState.overrides``):

- ``GET /api/connections``: every stored SNP connection, the original's keys plus
  ``legacy_tls``, with ``status`` (``connecting``, ``connected``,
  ``disconnected``, ``error``) and ``last_update``; ``password`` is always null.
- ``GET|PUT|DELETE /api/connections/{id}``, ``POST /api/connections``: the
  original's answers (``{"id", "message": "Connection added"}`` …). ``id`` is the
  store row's id (the migration keeps the original's). ``PUT`` changes only the
  keys it sends; a null or missing password keeps the stored one; the name cannot
  change (409). Unknown id: 404; bad bodies: 400, in the core's error shape with
  each field named.
- ``GET /api/export``: ``{"version": "1.0", "exported_at", "connections"}``,
  passwords only with ``include_secrets=true`` from an authenticated caller (403
  otherwise). ``POST /api/import`` takes that document: connections whose name
  exists are skipped, as are ones missing a required field or invalid; the answer
  counts ``imported`` and ``skipped`` and lists ``errors``. Connections imported
  from the original's files keep its TLS behaviour (``legacy_tls``).
- ``format=targets`` on either gives the core's document instead (the UI's Export
  and Import use it); an import in that format also takes an original's document.

Every change goes through the control plane, so it is validated by the kind's
settings model, stored (passwords encrypted) and applied at once; nothing here
keeps state or touches the store or a device.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, create_model

from exporterhub.core.api.errors import ErrorBody, FieldProblem, error_response
from exporterhub.core.api.targets import (
    ExportDocument,
    ImportAnswer,
    export_answer,
    import_answer,
    read_json,
    secrets_refused,
    target_answer,
)
from exporterhub.core.catalog import (
    CatalogError,
    Entry,
    InvalidTargetError,
    UnknownTargetError,
)
from exporterhub.core.fields import Number
from exporterhub.core.kinds import StoredKind
from exporterhub.exporters.snp.compat_doc import IMPORT_BODY, record_body
from exporterhub.exporters.snp.records import (
    READ_ONLY,
    REQUIRED,
    enabled_of,
    export_record,
    record_answer,
    settings_from_record,
)
from exporterhub.exporters.snp.settings import SnpTargetSettings

if TYPE_CHECKING:
    from exporterhub.core.app import HubState
    from exporterhub.core.control import ControlPlane

__all__ = ["EXPORT_VERSION", "build_router", "install", "with_interval"]

_log = structlog.get_logger(__name__)

KIND: Final = "snp"
EXPORT_VERSION: Final = "1.0"
_RECONNECT_MAX: Final = 60.0
_FORMAT_HELP: Final = (
    "connections: the original snp-exporter's document; targets: the control "
    "plane's (what the UI's Export and Import use)."
)
Format = Literal["connections", "targets"]


class ConnectionObject(BaseModel):
    """One object subscribed to (the wire's spellings)."""

    elementIP: str
    objectType: str
    objectId: str | None = None


class ConnectionAnswer(BaseModel):
    """One connection as the original showed it; the password is never shown."""

    id: int
    name: str
    restapi: str | None
    websocket: str | None
    username: str | None
    password: None = Field(description="Write-only: always null.")
    objects_ids: Any = Field(description="list of {elementIP, objectType, objectId}")
    enabled: bool
    legacy_tls: bool = Field(
        description="Imported or migrated from the original: certificates are "
        "not verified."
    )
    created_at: str | None
    updated_at: str | None
    status: Literal["connecting", "connected", "disconnected", "error"] | None = None
    last_update: str | None = None


class ChangeAnswer(BaseModel):
    """What a change did, as the original said it."""

    id: int | None = None
    message: str


class ConnectionsDocument(BaseModel):
    """The original's export and import document."""

    version: str = EXPORT_VERSION
    exported_at: str | None = None
    connections: list[dict[str, Any]]


class ImportCounts(BaseModel):
    """What an import of the original's document did."""

    message: str
    imported: int
    skipped: int
    errors: list[str]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Malformed JSON or an invalid connection: each field named.",
        403: "Passwords are exported to authenticated callers only.",
        404: "No connection with that id.",
        409: "The name is taken, or a PUT tried to rename a connection.",
        413: "The body is too large.",
        415: "The body is not application/json.",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


def _failure(exc: CatalogError) -> JSONResponse:
    """Answer a refused change; fields named as in the connection's record."""
    if isinstance(exc, InvalidTargetError):
        problems = [
            FieldProblem(
                field=p.field.removeprefix("settings.").removeprefix("settings")
                or "(body)",
                message=p.message,
            )
            for p in exc.problems
        ]
        return error_response(
            400, "invalid_body", "The connection is invalid; nothing changed.", problems
        )
    if isinstance(exc, UnknownTargetError):
        return error_response(404, "not_found", "Connection not found")
    return error_response(409, "conflict", str(exc))


def _object_required() -> JSONResponse:
    return error_response(
        400,
        "invalid_body",
        "The body must be a JSON object.",
        [FieldProblem(field="(body)", message="a JSON object is required")],
    )


def _bad_enabled() -> JSONResponse:
    return error_response(
        400,
        "invalid_body",
        "The request is invalid.",
        [FieldProblem(field="enabled", message="true or false (or 1 or 0)")],
    )


class _Connections:
    """The stored SNP connections of a control plane, by id."""

    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def all(self) -> list[tuple[int, Entry]]:
        found = [
            (e.id, e)
            for e in self.control.catalog.entries()
            if e.kind == KIND and e.source == "store" and e.id is not None
        ]
        return sorted(found, key=lambda pair: pair[0])

    def get(self, conn_id: str) -> Entry | None:
        # ASCII only: str.isdigit takes "²" (int() refuses it) and U+0661 (read as 1).
        wanted = int(conn_id) if conn_id.isascii() and conn_id.isdigit() else None
        return next((e for i, e in self.all() if i == wanted), None)

    def answer(self, conn_id: int, entry: Entry, *, with_status: bool) -> Any:  # noqa: ANN401 - JSON
        return record_answer(
            target_answer(self.control, entry), conn_id, with_status=with_status
        )


def build_router(control: ControlPlane, *, interval: float) -> APIRouter:
    """Return the original's routes over ``control``.

    Args:
        control: the process's control plane (with a store).
        interval: ``INTERVAL``, the base reconnect delay given to connections
            added here that name none.
    """
    router = APIRouter(prefix="/api", tags=["connections (snp-exporter)"])
    connections = _Connections(control)

    @router.get("/connections", response_model=list[ConnectionAnswer])
    async def list_connections() -> JSONResponse:
        """Every stored SNP connection with its status, by id."""
        return JSONResponse(
            [connections.answer(i, e, with_status=True) for i, e in connections.all()]
        )

    @router.get(
        "/connections/{conn_id}",
        response_model=ConnectionAnswer,
        responses=_errors(404),
    )
    async def read_connection(conn_id: str) -> JSONResponse:
        """One connection, as the original answered it (no status)."""
        entry = connections.get(conn_id)
        if entry is None or entry.id is None:
            return error_response(404, "not_found", "Connection not found")
        return JSONResponse(connections.answer(entry.id, entry, with_status=False))

    @router.post(
        "/connections",
        response_model=ChangeAnswer,
        responses=_errors(400, 409, 413, 415),
        openapi_extra=record_body(partial=False),
    )
    async def add_connection(request: Request) -> JSONResponse:
        """Add a connection; it starts at once. 200 with its id, as the original."""
        body = await read_json(request)
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(body, dict):
            return _object_required()
        enabled = enabled_of(body.get("enabled", True))
        if enabled is None:
            return _bad_enabled()
        settings = settings_from_record(body, interval=interval, legacy=False)
        name: Any = body.get("name")  # check_name names a bad one
        try:
            entry = await control.create(KIND, name, settings, enabled=enabled)
        except CatalogError as exc:
            return _failure(exc)
        _log.info("snp_connection_added", id=entry.id, connection=entry.name)
        return JSONResponse({"id": entry.id, "message": "Connection added"})

    @router.put(
        "/connections/{conn_id}",
        response_model=ChangeAnswer,
        responses=_errors(400, 404, 409, 413, 415),
        openapi_extra=record_body(partial=True),
    )
    async def update_connection(conn_id: str, request: Request) -> JSONResponse:
        """Change the keys sent; a null or missing password keeps the stored one."""
        entry = connections.get(conn_id)
        if entry is None:
            return error_response(404, "not_found", "Connection not found")
        body = await read_json(request)
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(body, dict):
            return _object_required()
        if "name" in body and body["name"] != entry.name:
            return error_response(
                409,
                "conflict",
                "A connection's name cannot change: it is the target label of its "
                "series. Add a connection under the new name and delete this one.",
                [FieldProblem(field="name", message="cannot change")],
            )
        enabled = None
        if "enabled" in body:
            enabled = enabled_of(body["enabled"])
            if enabled is None:
                return _bad_enabled()
        skip = {"name", "enabled", *READ_ONLY}
        changes = {k: v for k, v in body.items() if k not in skip}
        if changes or enabled is not None:
            try:
                await control.patch(
                    KIND, entry.name, changes or None, enabled=enabled, revision=None
                )
            except CatalogError as exc:
                return _failure(exc)
            _log.info("snp_connection_updated", id=entry.id, connection=entry.name)
        return JSONResponse({"message": "Connection updated"})

    @router.delete(
        "/connections/{conn_id}",
        response_model=ChangeAnswer,
        responses=_errors(404),
    )
    async def delete_connection(conn_id: str) -> JSONResponse:
        """Delete a connection; its series leave /metrics at the next scrape."""
        entry = connections.get(conn_id)
        if entry is None:
            return error_response(404, "not_found", "Connection not found")
        try:
            await control.delete(KIND, entry.name, revision=None)
        except CatalogError as exc:
            return _failure(exc)
        _log.info("snp_connection_deleted", id=entry.id, connection=entry.name)
        return JSONResponse({"message": "Connection deleted"})

    @router.get(
        "/export",
        response_model=ConnectionsDocument | ExportDocument,
        responses=_errors(403),
        operation_id="export_connections",
    )
    async def export(
        request: Request,
        include_secrets: Annotated[bool, Query()] = False,
        format: Annotated[Format, Query(description=_FORMAT_HELP)] = "connections",
    ) -> Response:
        """Every connection in the original's format; passwords only when asked."""
        if format == "targets":
            return export_answer(control, request, include_secrets=include_secrets)
        refused = secrets_refused(request, include_secrets)
        if refused is not None:
            return refused
        now = datetime.now(UTC)
        document = {
            "version": EXPORT_VERSION,
            "exported_at": now.strftime("%Y-%m-%d %H:%M:%S"),
            "connections": [
                export_record(
                    e.name, e.settings, e.enabled, include_secrets=include_secrets
                )
                for _, e in connections.all()
            ],
        }
        filename = f"snp-connections-{now:%Y-%m-%d}.json"
        return JSONResponse(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    @router.post(
        "/import",
        response_model=ImportCounts | ImportAnswer,
        responses=_errors(400, 409, 413, 415),
        operation_id="import_connections",
        openapi_extra=IMPORT_BODY,
    )
    async def import_(
        request: Request,
        dry_run: Annotated[bool, Query()] = False,
        format: Annotated[Format, Query(description=_FORMAT_HELP)] = "connections",
    ) -> Response:
        """Add the connections of an export whose names are new; count the rest."""
        body = await read_json(request)
        if isinstance(body, JSONResponse):
            return body
        records = body.get("connections") if isinstance(body, dict) else None
        if format == "targets":
            if isinstance(records, list) and "targets" not in body:
                body = {"targets": [_as_target(r, interval) for r in records]}
            return await import_answer(control, body, dry_run=dry_run)
        if not isinstance(records, list):
            return error_response(
                400,
                "invalid_body",
                "Invalid import format: 'connections' key required",
                [FieldProblem(field="connections", message="a list is required")],
            )
        return await _import(control, records, interval=interval, dry_run=dry_run)

    return router


def _as_target(record: object, interval: float) -> object:
    """Return one of the original's records as an entry of the core's import."""
    if not isinstance(record, dict):
        return record  # the core's import reports it
    enabled = enabled_of(record.get("enabled", True))
    return {
        "kind": KIND,
        "name": record.get("name"),
        "enabled": record.get("enabled") if enabled is None else enabled,
        "settings": settings_from_record(record, interval=interval, legacy=True),
    }


async def _import(
    control: ControlPlane, records: Sequence[Any], *, interval: float, dry_run: bool
) -> JSONResponse:
    """Import the original's records as the original counted them."""
    existing = {e.name for e in control.catalog.entries() if e.kind == KIND}
    errors: list[str] = []
    skipped = 0
    items: list[dict[str, Any]] = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            skipped += 1
            errors.append(f"Connection #{number} is not an object, skipped")
            continue
        name: Any = record.get("name")
        label = name if isinstance(name, str) else "unknown"
        if isinstance(name, str) and name in existing:
            skipped += 1
            errors.append(f"Connection '{name}' already exists, skipped")
            continue
        missing = [key for key in REQUIRED if record.get(key) is None]
        enabled = enabled_of(record.get("enabled", True))
        if missing or enabled is None:
            skipped += 1
            reason = (
                f"missing required fields: {', '.join(missing)}"
                if missing
                else "enabled must be true or false"
            )
            errors.append(f"Connection '{label}' {reason}")
            continue
        if not isinstance(name, str):  # a list or object: unhashable, no name
            skipped += 1
            errors.append(f"Connection '{label}' name: a non-empty string is required")
            continue
        existing.add(name)
        items.append(
            {
                "kind": KIND,
                "name": name,
                "enabled": enabled,
                "settings": settings_from_record(
                    record, interval=interval, legacy=True
                ),
            }
        )
    try:
        report = await control.import_targets(items, dry_run=dry_run)
    except CatalogError as exc:
        return _failure(exc)
    for taken in report.skipped:  # stored by another process meanwhile
        skipped += 1
        errors.append(f"Connection '{taken.partition('/')[2]}' already exists, skipped")
    for problem in report.errors:
        skipped += 1
        fields = "; ".join(
            f"{f['field'].removeprefix('settings.')}: {f['message']}"
            for f in problem["fields"]
        )
        errors.append(f"Failed to import '{problem['name']}': {fields}")
    imported = len(report.imported)
    if imported and not dry_run:
        _log.info("snp_connections_imported", imported=imported, skipped=skipped)
    return JSONResponse(
        {
            "message": "Dry run: nothing was imported"
            if dry_run
            else "Import completed",
            "imported": imported,
            "skipped": skipped,
            "errors": errors,
        }
    )


def with_interval(kind: StoredKind, interval: float) -> StoredKind:
    """Return the SNP kind whose connections default to ``interval`` (``INTERVAL``).

    A connection that names no ``interval`` gets this one, however it is added
    (the UI's form shows it as the default); ``reconnect_max`` defaults to at
    least as much, as the model requires.
    """
    model = create_model(
        SnpTargetSettings.__name__,
        __base__=SnpTargetSettings,
        __doc__=SnpTargetSettings.__doc__,
        interval=(Number, Field(default=interval, gt=0, le=3600)),
        reconnect_max=(
            Number,
            Field(default=max(_RECONNECT_MAX, interval), gt=0, le=86400),
        ),
    )
    return dataclasses.replace(kind, model=model)


def install(state: HubState, *, interval: float) -> None:
    """Serve the original's API on ``state``'s app and point the UI at the core's.

    The original's ``/api/export`` and ``/api/import`` keep their meaning; the UI's
    Export and Import buttons use the same paths with ``format=targets``. Every
    SNP connection naming no ``interval`` gets ``INTERVAL``.
    """
    kinds = state.plane.catalog.kinds
    kinds[KIND] = with_interval(kinds[KIND], interval)
    state.overrides.append(build_router(state.plane, interval=interval))
    state.export_url = "/api/export?format=targets"
    state.import_url = "/api/import?format=targets"
