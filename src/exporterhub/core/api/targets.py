"""REST routes of the control plane: kinds, targets, export and import.

``/api/kinds`` describes every kind with the JSON Schema of its settings (the UI
builds its forms from it); ``/api/targets`` lists every target with its source,
state and last error, and changes stored ones (``POST``, ``PUT`` with the
revision the caller read, ``PATCH``, ``DELETE``); ``/api/export`` and
``/api/import`` move stored targets between stores. Secrets are write-only: an
answer says only whether each is set, and an export holds them only when an
authenticated caller asks. Every error is the core's JSON shape. Handlers read
memory and the store; none awaits a device.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from exporterhub.core.api.errors import ErrorBody, error_response, validation_problems
from exporterhub.core.api.schemas import REVISION_MAX, KindSchemas
from exporterhub.core.catalog import (
    NAME_PATTERN,
    CatalogError,
    Entry,
    InvalidTargetError,
    UnknownTargetError,
    redacted,
)
from exporterhub.core.control import ControlPlane
from exporterhub.core.fields import WholeNumber, whole_number
from exporterhub.core.frontdoor import USER_SCOPE_KEY
from exporterhub.core.plugin import ExporterPlugin

__all__ = [
    "all_answers",
    "build_router",
    "export_answer",
    "find_answer",
    "import_answer",
    "read_body",
    "read_json",
    "secrets_refused",
    "state_of",
    "target_answer",
]


_ATTACHMENT = 'attachment; filename="exporterhub-targets.json"'


class KindAnswer(BaseModel):
    """One exporter kind and how its targets are configured."""

    kind: str
    title: str
    summary: str
    prefix: str = Field(description="Prefix of its metric names.")
    storable: bool = Field(description="Targets of this kind can be added here.")
    key_metrics: list[str] = Field(description="Families its target page charts.")
    settings_schema: dict[str, Any] = Field(
        description="JSON Schema of the settings; secret fields are writeOnly."
    )


class NoticeAnswer(BaseModel):
    """Something to know about a target's settings (the UI shows a badge)."""

    badge: str = Field(description="One or two words.")
    detail: str = Field(description="What it means and how to change it.")


class TargetAnswer(BaseModel):
    """One target: where it comes from, its settings (secrets hidden) and state."""

    kind: str
    name: str
    source: Literal["file", "store", "discovery"] = Field(
        description="file: from YAML or flags (read-only); store: added here; "
        "discovery: found by a discovery source."
    )
    enabled: bool
    shadowed: bool = Field(
        description="A file target of the same kind and name hides this stored one."
    )
    invalid: str | None = Field(
        description="Why stored settings no longer validate (the target is not run)."
    )
    revision: int | None = Field(description="Send it back with PUT; null for files.")
    settings: dict[str, Any] = Field(description="Secret fields are null here.")
    secrets: dict[str, bool] = Field(description="Each secret field: set or not.")
    notices: list[NoticeAnswer] = Field(
        description="What the kind flags in these settings (legacy TLS …)."
    )
    created_at: datetime | None
    updated_at: datetime | None
    labels: dict[str, str] = Field(description="The identity labels of its series.")
    link: str | None = Field(description="connecting, connected, disconnected, error.")
    up: bool = Field(description="Last poll or read succeeded and is fresh.")
    last_success: float | None = Field(description="Unix time of the last success.")
    last_error_kind: str | None
    last_error: str | None
    changed_at: float | None = Field(description="Unix time of the last link change.")
    reconnects: int
    shard: int | None = Field(
        default=None,
        description="The replica (--shard INDEX, from 0) that runs it; null "
        "when this process is not one of several shards.",
    )


class NewTarget(BaseModel):
    """``POST /api/targets``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)


class ReplacedTarget(BaseModel):
    """``PUT /api/targets/{kind}/{name}``: settings whole, the revision read."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = True
    settings: dict[str, Any]
    revision: WholeNumber = Field(
        ge=1, le=REVISION_MAX, description="The revision the caller last read."
    )

    _whole = field_validator("revision", mode="before")(whole_number)


class TargetChange(BaseModel):
    """``PATCH /api/targets/{kind}/{name}``: only what changes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool | None = None
    settings: dict[str, Any] | None = Field(
        default=None, description="Merged into the stored settings."
    )
    revision: WholeNumber | None = Field(default=None, ge=1, le=REVISION_MAX)

    _whole = field_validator("revision", mode="before")(whole_number)


class ExportedTarget(BaseModel):
    """One target in an export or import document."""

    kind: str
    name: str
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)


class ExportDocument(BaseModel):
    """``GET /api/export``: every stored target, secrets only when asked."""

    version: int
    exported_at: str
    targets: list[ExportedTarget]


class ImportDocument(BaseModel):
    """``POST /api/import``: an export document (version and date are optional)."""

    model_config = ConfigDict(strict=True)

    version: int | None = None
    exported_at: str | None = None
    targets: list[Any] = Field(max_length=100_000)


class ImportProblem(BaseModel):
    """One entry an import could not take."""

    index: int
    kind: Any = None
    name: Any = None
    fields: list[dict[str, str]]


class ImportAnswer(BaseModel):
    """What an import did (or, with dry_run, would do)."""

    dry_run: bool
    imported: list[str]
    skipped: list[str]
    errors: list[ImportProblem]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Invalid body or settings: each bad field named; nothing changed.",
        403: "Not allowed (secrets are exported to authenticated callers only).",
        404: "No such target.",
        409: "The name is taken, the target comes from a file, or the revision "
        "is stale: nothing changed.",
        413: "The body is too large.",
        415: "The body is not application/json.",
        503: "The target store is unavailable or read-only (Retry-After says when "
        "to try again): nothing changed.",
        507: "The target store is full (Retry-After): nothing changed.",
    }
    every = (*codes, 503)
    return {code: {"model": ErrorBody, "description": text[code]} for code in every}


_BODY_LIMIT = 16 * 1024 * 1024
"""An import of 10,000 targets is a few megabytes; larger is refused unread."""
M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request) -> Any | JSONResponse:  # noqa: ANN401 - any JSON
    """Read a JSON body (at most 16 MiB); the JSON error answer when it is not one.

    Answers are ``JSONResponse`` objects, never JSON values: a caller tells
    them apart with ``isinstance``.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _BODY_LIMIT:
        return error_response(413, detail=f"The body is over {_BODY_LIMIT} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > _BODY_LIMIT:
            return error_response(413, detail=f"The body is over {_BODY_LIMIT} bytes.")
    try:
        return orjson.loads(bytes(raw))
    except orjson.JSONDecodeError:
        return error_response(400, "malformed_json", "The body is not valid JSON.")


async def read_body(request: Request, model: type[M]) -> M | JSONResponse:
    """Parse a JSON body into ``model``; the JSON error answer when it is not one.

    Bodies are read here rather than by FastAPI so the documented request
    schema can be the kind's own settings schema (``core.api.schemas``).
    """
    data = await read_json(request)
    if isinstance(data, JSONResponse):
        return data
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        return error_response(
            400, "invalid_body", "The request is invalid.", validation_problems(exc)
        )


_STATIC: dict[tuple[str, str, str, bool], tuple[Entry, dict[str, Any]]] = {}
"""Each entry's answer fields that change only when the entry does (bounded by
the number of targets; a rebuilt entry replaces its own line)."""


def _static(control: ControlPlane, entry: Entry) -> dict[str, Any]:
    """Return the part of an answer that only a change of the entry changes."""
    key = (entry.kind, entry.name, entry.source, entry.shadowed)
    cached = _STATIC.get(key)
    if cached is not None and cached[0] is entry:
        return cached[1]
    settings, secrets = redacted(entry.settings)
    kind = control.catalog.kinds.get(entry.kind)
    notices = kind.notices_for(entry.settings) if kind is not None else []
    static = {
        "kind": entry.kind,
        "name": entry.name,
        "source": entry.source,
        "enabled": entry.enabled,
        "shadowed": entry.shadowed,
        "invalid": entry.invalid,
        "revision": entry.revision,
        "settings": settings,
        "secrets": secrets,
        "notices": [{"badge": n.badge, "detail": n.detail} for n in notices],
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }
    _STATIC[key] = (entry, static)
    return static


def target_answer(control: ControlPlane, entry: Entry) -> dict[str, Any]:
    """Return one target as ``TargetAnswer`` data (status read from memory)."""
    answer = dict(_static(control, entry))
    answer["shard"] = control.runner.owner(entry.kind, entry.name)
    record = None if entry.shadowed else control.record(entry.kind, entry.name)
    saved = None if entry.shadowed else control.saved.get((entry.kind, entry.name))
    if record is not None:
        answer.update(
            labels=dict(record.identity),
            link=record.link.value,
            up=control.up(record),
            last_success=record.last_success,
            last_error_kind=record.error,
            last_error=record.error_detail,
            changed_at=record.changed_at,
            reconnects=record.reconnects,
        )
        if saved is not None:  # restarted: what it has not reported yet is saved
            if record.last_success is None and saved.last_success is not None:
                answer["last_success"] = saved.last_success.timestamp()
            if record.error is None:
                answer["last_error_kind"] = saved.last_error_kind
                answer["last_error"] = saved.last_error
        return answer
    # Another replica's target (--shard): its owner's last stored status says
    # whether it is up; a target not running anywhere is not.
    runs_elsewhere = (
        saved is not None
        and entry.enabled
        and entry.invalid is None
        and not entry.shadowed
        and not control.runner.owns(entry.kind, entry.name)
    )
    answer.update(
        labels={},
        link=saved.link if saved is not None else None,
        up=saved is not None and runs_elsewhere and saved.up,
        last_success=(
            saved.last_success.timestamp()
            if saved is not None and saved.last_success is not None
            else None
        ),
        last_error_kind=saved.last_error_kind if saved is not None else None,
        last_error=saved.last_error if saved is not None else None,
        changed_at=saved.changed_at.timestamp() if saved is not None else None,
        reconnects=0,
    )
    return answer


def discovered_answers(control: ControlPlane) -> list[dict[str, Any]]:
    """Targets discovery sources run that neither a file nor the store names."""
    known = {(e.kind, e.name) for e in control.catalog.entries()}
    found = []
    for target in control.runner.targets:
        if (target.kind, target.name) in known:
            continue
        kind = control.catalog.kinds.get(target.kind)
        settings = kind.settings(target) if kind is not None else {}
        entry = Entry(
            kind=target.kind,
            name=target.name,
            source="store",
            enabled=True,
            settings=settings,
            target=target,
        )
        answer = target_answer(control, entry)
        answer["source"] = "discovery"
        found.append(answer)
    return found


def all_answers(control: ControlPlane) -> list[dict[str, Any]]:
    """Return every target as ``GET /api/targets`` lists them, discovered ones too."""
    answers = [target_answer(control, e) for e in control.catalog.entries()]
    return answers + discovered_answers(control)


def find_answer(control: ControlPlane, kind: str, name: str) -> dict[str, Any] | None:
    """Return one target's answer from any source, or None when none has it."""
    entry = control.catalog.entry(kind, name)
    if entry is not None:
        return target_answer(control, entry)
    for found in discovered_answers(control):
        if (found["kind"], found["name"]) == (kind, name):
            return found
    return None


def _failure(exc: CatalogError) -> JSONResponse:
    if isinstance(exc, InvalidTargetError):
        return error_response(
            400, "invalid_body", "The target is invalid; nothing changed.", exc.problems
        )
    if isinstance(exc, UnknownTargetError):
        return error_response(404, "not_found", str(exc))
    detail = str(exc)
    return error_response(409, "conflict", detail)


def build_router(
    control: ControlPlane,
    plugins: dict[str, ExporterPlugin],
    schemas: KindSchemas,
) -> APIRouter:
    """Return the control-plane routes bound to ``control``.

    Each storable kind gets its own documented ``/api/targets/<kind>/{name}``
    routes, whose bodies carry that kind's settings schema; one hidden generic
    route serves the rest (file targets of other kinds, discovered ones).

    Args:
        control: the process's control plane.
        plugins: every exporter kind in the process.
        schemas: the storable kinds' settings schemas (for the document).
    """
    router = APIRouter(prefix="/api", tags=["targets"])

    @router.get("/kinds", response_model=list[KindAnswer])
    async def kinds() -> list[dict[str, Any]]:
        """Every exporter kind, with the JSON Schema forms are built from."""
        answers = []
        for kind, plugin in plugins.items():
            stored = control.catalog.kinds.get(kind)
            answers.append(
                {
                    "kind": kind,
                    "title": stored.title if stored else kind,
                    "summary": stored.summary if stored else "",
                    "prefix": plugin.prefix,
                    "storable": stored is not None and control.store is not None,
                    "key_metrics": list(stored.key_metrics) if stored else [],
                    "settings_schema": stored.schema() if stored else {},
                }
            )
        return answers

    @router.get("/targets", response_model=list[TargetAnswer], responses=_errors())
    async def targets(
        kind: Annotated[str | None, Query(max_length=64)] = None,
        state: Annotated[
            Literal["up", "down", "disabled", "invalid", "shadowed"] | None, Query()
        ] = None,
    ) -> Response:
        """Every target (files, store, discovery) with its state; filterable."""
        answers = all_answers(control)
        if kind is not None:
            answers = [a for a in answers if a["kind"] == kind]
        if state is not None:
            answers = [a for a in answers if state_of(a) == state]
        # Built as TargetAnswer data already: skip re-validating 10,000 models.
        return Response(orjson.dumps(answers), media_type="application/json")

    @router.post(
        "/targets",
        status_code=201,
        response_model=TargetAnswer,
        responses=_errors(400, 409, 413, 415, 507),
        openapi_extra=schemas.new_target_body(),
    )
    async def create(request: Request) -> Response:
        """Add a target; it starts at once."""
        body = await read_body(request, NewTarget)
        if isinstance(body, Response):
            return body
        try:
            entry = await control.create(
                body.kind, body.name, body.settings, enabled=body.enabled
            )
        except CatalogError as exc:
            return _failure(exc)
        return JSONResponse(_json(control, entry), status_code=201)

    async def read(kind: str, name: str) -> Response:
        entry = control.catalog.entry(kind, name)
        if entry is None:
            found = find_answer(control, kind, name)
            if found is not None:
                return JSONResponse(TargetAnswer(**found).model_dump(mode="json"))
            return error_response(404, "not_found", f"no target {kind}/{name}")
        return JSONResponse(_json(control, entry))

    async def replace(kind: str, name: str, request: Request) -> Response:
        body = await read_body(request, ReplacedTarget)
        if isinstance(body, Response):
            return body
        try:
            entry = await control.replace(
                kind, name, body.settings, enabled=body.enabled, revision=body.revision
            )
        except CatalogError as exc:
            return _failure(exc)
        return JSONResponse(_json(control, entry))

    async def change(kind: str, name: str, request: Request) -> Response:
        body = await read_body(request, TargetChange)
        if isinstance(body, Response):
            return body
        try:
            entry = await control.patch(
                kind, name, body.settings, enabled=body.enabled, revision=body.revision
            )
        except CatalogError as exc:
            return _failure(exc)
        return JSONResponse(_json(control, entry))

    async def delete(kind: str, name: str, revision: int | None) -> Response:
        try:
            await control.delete(kind, name, revision=revision)
        except CatalogError as exc:
            return _failure(exc)
        return Response(status_code=204)

    for stored in control.catalog.kinds:
        _kind_routes(router, stored, schemas, read, replace, change, delete)

    @router.get("/targets/{kind}/{name:path}", include_in_schema=False)
    async def read_any(kind: str, name: str) -> Response:
        return await read(kind, name)

    @router.api_route(
        "/targets/{kind}/{name:path}",
        methods=["PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def write_any(kind: str, name: str) -> Response:
        return error_response(
            404 if control.catalog.entry(kind, name) is None else 409,
            detail=f"{kind}/{name} cannot be changed here (unknown, from a file, "
            "or of a kind the store does not hold)",
        )

    @router.get("/export", response_model=ExportDocument, responses=_errors(403))
    async def export(
        request: Request,
        include_secrets: Annotated[bool, Query()] = False,
    ) -> Response:
        """Every stored target as an import document; secrets only when asked."""
        return export_answer(control, request, include_secrets=include_secrets)

    @router.post(
        "/import",
        response_model=ImportAnswer,
        responses=_errors(400, 409, 413, 415, 507),
    )
    async def import_(
        body: ImportDocument,
        dry_run: Annotated[bool, Query()] = False,
    ) -> Response:
        """Validate every entry, then add the new valid ones (none with dry_run)."""
        return await _import(control, body, dry_run=dry_run)

    return router


def secrets_refused(request: Request, include_secrets: bool) -> JSONResponse | None:
    """Return the 403 answer when secrets are asked for without credentials.

    Only the front door puts a user into the scope, and only when basic-auth
    users are configured and the caller gave valid credentials.
    """
    if include_secrets and not request.scope.get(USER_SCOPE_KEY):
        return error_response(
            403,
            "forbidden",
            "Secrets are exported only to authenticated callers: configure "
            "basic_auth_users in --web.config.file.",
        )
    return None


def export_answer(
    control: ControlPlane, request: Request, *, include_secrets: bool
) -> Response:
    """Answer ``GET /api/export``: every stored target.

    Secrets only when asked by an authenticated caller (403 otherwise).
    """
    refused = secrets_refused(request, include_secrets)
    if refused is not None:
        return refused
    document = control.catalog.export(include_secrets=include_secrets)
    return JSONResponse(
        document,
        headers={"Content-Disposition": _ATTACHMENT, "Cache-Control": "no-store"},
    )


async def import_answer(
    control: ControlPlane,
    document: Any,  # noqa: ANN401 - JSON, validated here
    *,
    dry_run: bool,
) -> Response:
    """Answer ``POST /api/import`` for an already read JSON ``document``."""
    try:
        body = ImportDocument.model_validate(document, strict=True)
    except ValidationError as exc:
        return error_response(
            400, "invalid_body", "The request is invalid.", validation_problems(exc)
        )
    return await _import(control, body, dry_run=dry_run)


async def _import(
    control: ControlPlane, body: ImportDocument, *, dry_run: bool
) -> Response:
    try:
        report = await control.import_targets(body.targets, dry_run=dry_run)
    except CatalogError as exc:
        return _failure(exc)
    return JSONResponse(
        {
            "dry_run": report.dry_run,
            "imported": report.imported,
            "skipped": report.skipped,
            "errors": report.errors,
        }
    )


def _kind_routes(
    router: APIRouter,
    kind: str,
    schemas: KindSchemas,
    read: Any,  # noqa: ANN401 - the handlers above
    replace: Any,  # noqa: ANN401
    change: Any,  # noqa: ANN401
    delete: Any,  # noqa: ANN401
) -> None:
    """Add one storable kind's documented routes, bodies typed by its settings."""
    path = f"/targets/{kind}/{{name:path}}"
    title = schemas.kinds[kind].title

    async def read_kind(name: str) -> Response:
        return await read(kind, name)  # type: ignore[no-any-return]

    async def replace_kind(name: str, request: Request) -> Response:
        return await replace(kind, name, request)  # type: ignore[no-any-return]

    async def change_kind(name: str, request: Request) -> Response:
        return await change(kind, name, request)  # type: ignore[no-any-return]

    async def delete_kind(
        name: str,
        revision: Annotated[int | None, Query(ge=1, le=REVISION_MAX)] = None,
    ) -> Response:
        return await delete(kind, name, revision)  # type: ignore[no-any-return]

    router.add_api_route(
        path,
        read_kind,
        methods=["GET"],
        response_model=TargetAnswer,
        responses=_errors(404),
        summary=f"One {title} target",
        operation_id=f"read_{kind}_target",
    )
    router.add_api_route(
        path,
        replace_kind,
        methods=["PUT"],
        response_model=TargetAnswer,
        responses=_errors(400, 404, 409, 413, 415, 507),
        summary=f"Replace a stored {title} target (secrets left out are kept)",
        operation_id=f"replace_{kind}_target",
        openapi_extra=schemas.replace_body(kind),
    )
    router.add_api_route(
        path,
        change_kind,
        methods=["PATCH"],
        response_model=TargetAnswer,
        responses=_errors(400, 404, 409, 413, 415, 507),
        summary=f"Enable, disable or edit a stored {title} target",
        operation_id=f"change_{kind}_target",
        openapi_extra=schemas.patch_body(kind),
    )
    router.add_api_route(
        path,
        delete_kind,
        methods=["DELETE"],
        status_code=204,
        responses=_errors(404, 409, 507),
        summary=f"Delete a stored {title} target",
        operation_id=f"delete_{kind}_target",
    )


def state_of(answer: dict[str, Any]) -> str:
    """Return the state ``/api/targets?state=`` filters by.

    >>> state_of({"shadowed": False, "invalid": None, "enabled": True, "up": True})
    'up'
    """
    if answer["shadowed"]:
        return "shadowed"
    if answer["invalid"]:
        return "invalid"
    if not answer["enabled"]:
        return "disabled"
    return "up" if answer["up"] else "down"


def _json(control: ControlPlane, entry: Entry) -> dict[str, Any]:
    answer = target_answer(control, entry)
    for key in ("created_at", "updated_at"):
        if answer[key] is not None:
            answer[key] = answer[key].isoformat()
    return answer
