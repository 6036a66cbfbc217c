"""The Starlink service's own REST routes: ``/api/status`` and ``/api/config``.

``GET /api/config`` returns exactly the shape ``POST``/``PUT`` accept; both merge
the body into the current configuration (mappings key by key, lists and scalars
replace), so every key of the body is optional. Updates are serialised: each one
is merged into the configuration the previous one left, so concurrent partial
updates to different keys all survive.

Every error uses the core's one shape (``exporterhub.core.api``): an invalid
configuration is 400 ``invalid_body`` naming each bad field by dotted path,
malformed JSON 400 ``malformed_json``, a body over ``MAX_BODY_BYTES`` 413
``body_too_large`` (refused unread), no dish 503 ``unavailable``; a refused
update changes nothing. The body is read and checked here, not by FastAPI, so
a bad body is never FastAPI's 422 and the size limit holds for chunked bodies.

The OpenAPI document describes all of it with the real models
(``StatusDocument``, ``StarlinkConfig``, ``ErrorBody``), so every ``$ref`` in
it resolves. Handlers read memory only; they never wait on the dish.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from exporterhub.core.api import (
    ERROR_RESPONSES,
    ErrorBody,
    FieldProblem,
    error_response,
    validation_problems,
)
from exporterhub.core.snapshot import is_fresh
from exporterhub.exporters.starlink.legacy import translate
from exporterhub.exporters.starlink.settings import (
    StarlinkConfig,
    changed_keys,
    merge_update,
)
from exporterhub.exporters.starlink.status import StatusDocument, status_document

if TYPE_CHECKING:
    from exporterhub.core.app import HubState
    from exporterhub.exporters.starlink.plugin import StarlinkPlugin

__all__ = ["MAX_BODY_BYTES", "build_router", "health_fields"]

_log = structlog.get_logger(__name__)
_NO_STORE: Final = {"Cache-Control": "no-store"}
MAX_BODY_BYTES: Final = 1024 * 1024
"""A configuration is a few kilobytes; a larger body is refused unread."""

_CONFIG_REF: Final = {"$ref": "#/components/schemas/StarlinkConfig"}
_UPDATE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "A whole or partial configuration, merged into the current "
        "one: mappings key by key, lists and scalars replace, so every key is "
        "optional. The ordering rules (min <= typical <= max, spike max >= max, "
        "cruise >= route altitude), two waypoints for the waypoints pattern, no "
        "nearly antipodal leg and an alert event naming its alert apply to the "
        "merged result.",
        "content": {"application/json": {"schema": _CONFIG_REF}},
    }
}


def _described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


_UNAVAILABLE: Final[dict[int | str, dict[str, Any]]] = {
    503: _described("No dish is configured.")
}
_WRITE_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **ERROR_RESPONSES,
    400: _described(
        "Malformed JSON (malformed_json) or an invalid configuration "
        "(invalid_body, each bad field by dotted path); nothing changed."
    ),
    413: _described(f"The body is larger than {MAX_BODY_BYTES} bytes; not read."),
    **_UNAVAILABLE,
}


def health_fields(plugin: StarlinkPlugin, hub: HubState) -> dict[str, Any]:
    """Return the Starlink fields of ``/health``: mode and, live, dish reachability.

    Also the original backend's names: ``uptime_seconds`` (the core's
    ``uptime``) and ``timestamp`` (ISO 8601 UTC, with its offset), so checks
    written for it keep working.
    """
    now = hub.clock.time()
    fields: dict[str, Any] = {
        "uptime_seconds": round(now - hub.started_at, 3),
        "timestamp": datetime.fromtimestamp(now, tz=UTC).isoformat(),
    }
    worker = plugin.worker()
    if worker is None:
        return {**fields, "mode": None}
    fields["mode"] = worker.config.mode
    if worker.config.mode == "live":
        record = worker.publisher.record
        fields["dish_connected"] = record.healthy
        fields["last_poll_age_seconds"] = (
            None
            if record.last_success is None
            else round(worker.clock.time() - record.last_success, 3)
        )
    return fields


def _unavailable() -> JSONResponse:
    return error_response(503, "unavailable", "No dish is configured.")


def _too_large() -> JSONResponse:
    return error_response(
        413, "body_too_large", f"The body is larger than {MAX_BODY_BYTES} bytes."
    )


def _invalid(detail: str, problems: list[FieldProblem]) -> JSONResponse:
    return error_response(400, "invalid_body", detail, problems)


async def _read_body(request: Request) -> bytes | None:
    """Return the body, or None once it passes ``MAX_BODY_BYTES`` (rest unread)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return None
    return bytes(raw)


def build_router(plugin: StarlinkPlugin) -> APIRouter:
    """Return the routes, bound to the plugin's running worker."""
    router = APIRouter(prefix="/api", tags=["starlink"])
    config_lock = asyncio.Lock()

    @router.get(
        "/status",
        response_model=StatusDocument,
        responses=_UNAVAILABLE,
        summary="Current telemetry",
    )
    async def status() -> Response:
        """Current telemetry with readable field names and an ISO 8601 timestamp."""
        worker = plugin.worker()
        if worker is None:
            return _unavailable()
        # Freshness as /metrics decides it, from the published record at this
        # instant: a dish that stopped answering is not shown as CONNECTED.
        record = worker.publisher.record
        now = worker.clock.time()
        document = status_document(
            worker.telemetry,
            worker.config.mode,
            current=is_fresh(record, now),
            age_seconds=None
            if record.last_success is None
            else max(0.0, now - record.last_success),
            error=None if record.healthy else record.error,
        )
        return JSONResponse(document, headers=_NO_STORE)

    @router.get(
        "/config",
        response_model=StarlinkConfig,
        responses=_UNAVAILABLE,
        summary="The current configuration",
    )
    async def get_config() -> Response:
        """The current configuration, in the shape POST and PUT accept."""
        worker = plugin.worker()
        if worker is None:
            return _unavailable()
        return JSONResponse(worker.config.model_dump(mode="json"), headers=_NO_STORE)

    async def update(request: Request) -> Response:
        """Merge the body into the configuration and apply it on the next pass."""
        if plugin.worker() is None:
            return _unavailable()
        raw = await _read_body(request)
        if raw is None:
            return _too_large()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error_response(
                400, "malformed_json", f"The body is not valid JSON: {exc}."
            )
        if not isinstance(body, dict):
            problem = FieldProblem(field="(body)", message="expected a JSON object")
            return _invalid("The body must be a JSON object.", [problem])
        # Read, merge and apply under one lock: two updates that both read the
        # old config while the merge runs in a thread would lose one of them.
        async with config_lock:
            worker = plugin.worker()
            if worker is None:
                return _unavailable()
            current = worker.config
            try:
                # Validating a large route is CPU work: keep it off the event loop.
                new = await asyncio.to_thread(merge_update, current, body)
            except ValidationError as exc:
                return _invalid(
                    "The configuration is invalid; nothing changed.",
                    validation_problems(exc),
                )
            worker.update_config(new)
        keys = changed_keys(current, new)
        legacy = [note.key for note in translate(body)[1]]
        if legacy:  # the original backend's spellings, read as ours
            _log.info("starlink_config_legacy_keys", keys=legacy)
        if keys:
            _log.info("starlink_config_changed", keys=keys)
        return JSONResponse(new.model_dump(mode="json"))

    for method, summary in (
        ("POST", "Update the configuration (a partial body is merged)"),
        ("PUT", "Update the configuration (merged like POST)"),
    ):
        router.add_api_route(
            "/config",
            update,
            methods=[method],
            summary=summary,
            response_model=StarlinkConfig,
            responses=_WRITE_ERRORS,
            openapi_extra=_UPDATE_BODY,
        )
    return router
