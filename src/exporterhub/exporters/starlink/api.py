"""The Starlink service's own REST routes: ``/api/status`` and ``/api/config``.

``GET /api/config`` returns exactly the shape ``POST``/``PUT`` accept (both merge the
body into the current configuration); an invalid body or malformed JSON is answered
with 400 and a JSON message naming every bad field, and changes nothing. Updates are
serialised: each one is merged into the configuration the previous one left, so
concurrent partial updates to different keys all survive. Handlers read memory only;
they never wait on the dish.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from exporterhub.exporters.starlink.settings import (
    StarlinkConfig,
    changed_keys,
    field_errors,
    merge_update,
)
from exporterhub.exporters.starlink.telemetry import Telemetry

if TYPE_CHECKING:
    from exporterhub.exporters.starlink.plugin import StarlinkPlugin

__all__ = ["build_router", "health_fields", "status_document"]

_log = structlog.get_logger(__name__)
_NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY_BYTES: Final = 1024 * 1024
"""A configuration is a few kilobytes; a larger body is refused unread."""


def status_document(telemetry: Telemetry | None, mode: str) -> dict[str, Any]:
    """Return the human-readable status JSON for one sample (units in the names)."""
    if telemetry is None:
        return {"timestamp": None, "mode": mode, "available": False}
    t = telemetry
    return {
        "timestamp": datetime.fromtimestamp(t.timestamp, tz=UTC).isoformat(),
        "mode": t.mode,
        "available": True,
        "position": {
            "latitude_degrees": t.latitude_degrees,
            "longitude_degrees": t.longitude_degrees,
            "altitude_meters": t.altitude_meters,
            "speed_knots": t.speed_knots,
            "heading_degrees": t.heading_degrees,
            "location_available": t.location_available,
        },
        "network": {
            "latency_ms": t.latency_ms,
            "throughput_down_mbps": t.throughput_down_mbps,
            "throughput_up_mbps": t.throughput_up_mbps,
            "packet_loss_percent": t.packet_loss_percent,
        },
        "obstruction": {
            "obstruction_percent": t.obstruction_percent,
            "currently_obstructed": t.currently_obstructed,
        },
        "dish": {
            "state": t.state,
            "uptime_seconds": t.uptime_seconds,
            "signal_quality_percent": t.signal_quality_percent,
            "snr_above_noise_floor": t.snr_above_noise_floor,
            "alerts": list(t.alerts),
            "gps_valid": t.gps_valid,
            "gps_satellites": t.gps_satellites,
            "power_watts": t.power_watts,
            "id": t.dish_id,
            "hardware_version": t.hardware_version,
            "software_version": t.software_version,
        },
    }


def health_fields(plugin: StarlinkPlugin) -> dict[str, Any]:
    """Return the Starlink fields of ``/health``: mode and, live, dish reachability."""
    worker = plugin.worker()
    if worker is None:
        return {"mode": None}
    fields: dict[str, Any] = {"mode": worker.config.mode}
    if worker.config.mode == "live":
        record = worker.publisher.record
        fields["dish_connected"] = record.healthy
        fields["last_poll_age_seconds"] = (
            None
            if record.last_success is None
            else round(worker.clock.time() - record.last_success, 3)
        )
    return fields


def _bad_request(detail: list[dict[str, str]], error: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=400)


def build_router(plugin: StarlinkPlugin) -> APIRouter:
    """Return the routes, bound to the plugin's running worker."""
    router = APIRouter(prefix="/api", tags=["starlink"])
    config_lock = asyncio.Lock()

    @router.get("/status")
    async def status() -> JSONResponse:
        """Current telemetry with readable field names and an ISO 8601 timestamp."""
        worker = plugin.worker()
        if worker is None:
            return JSONResponse({"error": "no dish configured"}, status_code=503)
        return JSONResponse(
            status_document(worker.telemetry, worker.config.mode), headers=_NO_STORE
        )

    @router.get("/config")
    async def get_config() -> JSONResponse:
        """The current configuration, in the shape POST and PUT accept."""
        worker = plugin.worker()
        if worker is None:
            return JSONResponse({"error": "no dish configured"}, status_code=503)
        return JSONResponse(worker.config.model_dump(mode="json"), headers=_NO_STORE)

    async def update(request: Request) -> JSONResponse:
        worker = plugin.worker()
        if worker is None:
            return JSONResponse({"error": "no dish configured"}, status_code=503)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _bad_request(
                [{"field": "(body)", "message": f"larger than {MAX_BODY_BYTES} bytes"}],
                "body too large",
            )
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return _bad_request(
                    [
                        {
                            "field": "(body)",
                            "message": f"larger than {MAX_BODY_BYTES} bytes",
                        }
                    ],
                    "body too large",
                )
        try:
            body = orjson.loads(bytes(raw))
        except orjson.JSONDecodeError as exc:
            return _bad_request(
                [{"field": "(body)", "message": f"malformed JSON: {exc}"}],
                "malformed JSON",
            )
        if not isinstance(body, dict):
            return _bad_request(
                [{"field": "(body)", "message": "expected a JSON object"}],
                "invalid configuration",
            )
        # Read, merge and apply under one lock: two updates that both read the
        # old config while the merge runs in a thread would lose one of them.
        async with config_lock:
            worker = plugin.worker()
            if worker is None:
                return JSONResponse({"error": "no dish configured"}, status_code=503)
            current = worker.config
            try:
                # Validating a large route is CPU work: keep it off the event loop.
                new = await asyncio.to_thread(merge_update, current, body)
            except ValidationError as exc:
                return _bad_request(field_errors(exc), "invalid configuration")
            worker.update_config(new)
        keys = changed_keys(current, new)
        if keys:
            _log.info("starlink_config_changed", keys=keys)
        return JSONResponse(new.model_dump(mode="json"))

    body_schema = {
        "requestBody": {
            "content": {
                "application/json": {"schema": StarlinkConfig.model_json_schema()}
            },
            "required": True,
        }
    }
    responses: dict[int | str, dict[str, Any]] = {
        400: {
            "description": "Invalid configuration or malformed JSON; nothing changed. "
            'Body: {"error": ..., "detail": [{"field": ..., "message": ...}]}'
        }
    }
    router.add_api_route(
        "/config",
        update,
        methods=["POST"],
        summary="Update the configuration (partial bodies are merged)",
        openapi_extra=body_schema,
        responses=responses,
    )
    router.add_api_route(
        "/config",
        update,
        methods=["PUT"],
        summary="Replace or update the configuration (merged like POST)",
        openapi_extra=body_schema,
        responses=responses,
    )
    return router
