"""The ASGI app every exporter is served by.

Routes: ``/`` landing page, ``/metrics`` (answered by ``frontdoor`` from the
prepared bytes: text 0.0.4, OpenMetrics when asked, gzip when accepted), ``/health``
and ``/-/healthy`` (alive), ``/-/ready`` (targets applied), ``/-/reload`` (POST:
re-read the config, restart only the targets that changed) and ``/api/targets``
(link state per target, no settings). Every route has response models, so the
OpenAPI document at ``/openapi.json`` describes what it answers; every error uses
``core.api``'s JSON shape. Handlers read memory only; none awaits a device.
``create_metrics_app`` builds a second, metrics-only listener over the same state,
for a command whose original served its metrics and its UI on two ports.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from exporterhub import __version__
from exporterhub.core.api import ErrorBody, error_response, install_error_handlers
from exporterhub.core.api.schemas import KindSchemas, install_document
from exporterhub.core.api.sd import build_router as sd_router
from exporterhub.core.api.targets import build_router as targets_router
from exporterhub.core.catalog import Catalog
from exporterhub.core.clock import Clock
from exporterhub.core.control import ControlPlane, storable_kinds
from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Exposition
from exporterhub.core.frontdoor import FrontDoor
from exporterhub.core.plugin import Target
from exporterhub.core.snapshot import is_fresh
from exporterhub.core.targets import TargetRunner
from exporterhub.core.ui import build_router as ui_router
from exporterhub.core.webconfig import BasicAuthCheck

__all__ = [
    "HealthAnswer",
    "HubState",
    "ReloadResult",
    "create_app",
    "create_metrics_app",
]

_log = structlog.get_logger(__name__)


class HealthAnswer(BaseModel):
    """``GET /health``: the process is alive; exporters may add fields (``mode``)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="Always ok while the process answers.")
    uptime: float = Field(description="Seconds since the exporter started.")
    version: str = Field(description="exporterhub version.")
    targets: int = Field(description="Targets watched.")
    targets_up: int = Field(
        description="Targets whose last read succeeded and is fresh."
    )


class ReloadResult(BaseModel):
    """``POST /-/reload``: the targets by what the reload did to them (kind/name)."""

    started: list[str]
    stopped: list[str]
    restarted: list[str]
    unchanged: list[str]


@dataclass(slots=True, kw_only=True)
class HubState:
    """What the app serves from.

    Attributes:
        title: shown on the landing page.
        exposition: the cached metrics.
        runner: the target workers.
        clock: wall clock for uptime and freshness.
        load_targets: re-reads the configuration and returns the wanted targets;
            called at start-up and on every reload.
        render_interval: seconds between the background renderer's checks for
            changes; 0 renders inside the scrape instead (tests of the cache).
        routers: exporter-specific routes (an exporter's own REST API).
        overrides: routes matched before the core's own, so a standalone command
            can keep an original's meaning of a path the core also serves
            (``snp-exporter``'s ``/api/export``).
        export_url: where the UI's Export buttons download from (the core's
            ``/api/export`` document).
        import_url: where the UI's Import dialog posts (the core's
            ``/api/import`` document; ``dry_run=true`` is added for the check).
        health_fields: add fields to the ``/health`` answer (an exporter's mode).
        count_dropped_connection: counts connections the server closed itself.
        control: the control plane (file and stored targets); one over the
            files alone when not given.
        auth: checks basic-auth credentials (``--web.config.file``); None = open.
        protect_metrics: ``/metrics`` and ``/probe`` need credentials too.
        response_headers: headers every answer carries (the web config's).
        external_address: ``host:port`` Prometheus reaches this exporter at, for
            ``/api/sd``; the request's ``Host`` when None.
        exposed: the listener accepts changes from other machines without
            credentials: logged at start, a banner in the UI.
        background: coroutines run for the app's lifetime once the targets are
            started, cancelled at exit (the UI's history sampler).
    """

    title: str
    exposition: Exposition
    runner: TargetRunner
    clock: Clock
    load_targets: Callable[[], Awaitable[Sequence[Target]]]
    render_interval: float = 0.1
    routers: list[APIRouter] = field(default_factory=list)
    overrides: list[APIRouter] = field(default_factory=list)
    export_url: str = "/api/export"
    import_url: str = "/api/import"
    health_fields: list[Callable[[], dict[str, Any]]] = field(default_factory=list)
    started_at: float = 0.0
    ready: bool = False
    settled: bool = False
    reloads: int = 0
    extra_links: list[tuple[str, str]] = field(default_factory=list)
    count_dropped_connection: Callable[[str], None] | None = None
    """Counts a connection the server dropped, by reason (the hub's metric)."""
    control: ControlPlane | None = None
    auth: BasicAuthCheck | None = None
    protect_metrics: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    external_address: str | None = None
    exposed: bool = False
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        if self.control is None:
            self.control = ControlPlane(
                self.runner,
                Catalog(storable_kinds(self.runner.plugins), None),
                self.load_targets,
                self.clock,
            )

    @property
    def plane(self) -> ControlPlane:
        """The control plane (always set after construction)."""
        assert self.control is not None  # noqa: S101 - set in __post_init__
        return self.control


def create_app(state: HubState) -> FrontDoor:
    """Build the app; its lifespan starts the targets and stops them on exit."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.started_at = state.clock.time()
        renderer: asyncio.Task[None] | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await state.plane.start()
            if state.render_interval > 0:
                renderer = asyncio.create_task(
                    state.exposition.run_renderer(state.render_interval),
                    name="exposition-renderer",
                )
            tasks = [asyncio.create_task(run()) for run in state.background]
            state.ready = True
            _log.info("exporter_ready", targets=len(state.runner.targets))
            yield
        finally:
            state.ready = state.settled = False
            for task in [*tasks, renderer]:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await state.plane.stop()
            await state.runner.stop_all()
            _log.info("exporter_stopped")

    app = FastAPI(
        title=state.title,
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.hub = state
    install_error_handlers(app)

    @app.get("/health", response_model=HealthAnswer)
    async def health() -> dict[str, Any]:
        """Say the process is alive, with uptime and target counts."""
        now = state.clock.time()
        records = [r for s in state.exposition.sections() for r in s.records()]
        answer: dict[str, Any] = {
            "status": "ok",
            "uptime": round(now - state.started_at, 3),
            "version": __version__,
            "targets": len(records),
            "targets_up": sum(1 for r in records if r.healthy and is_fresh(r, now)),
        }
        for fields in state.health_fields:
            answer.update(fields())
        return answer

    @app.get("/-/healthy", response_class=PlainTextResponse)
    async def healthy() -> str:
        """Answer 200 while the process serves requests."""
        return "Healthy\n"

    @app.get(
        "/-/ready",
        response_class=PlainTextResponse,
        responses={
            503: {
                "description": "Not ready yet",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def ready() -> PlainTextResponse:
        """Answer 200 once the config is loaded and every target tried once.

        Once ready, targets added later (a reload, discovery) do not take the
        process out of rotation while they make their first attempt.
        """
        if state.ready and not state.settled:
            state.settled = all(
                record.attempted
                for section in state.exposition.sections()
                for record in section.records()
            )
        if state.ready and state.settled:
            return PlainTextResponse("Ready\n")
        return PlainTextResponse("Not ready\n", status_code=503)

    _add_reload(app, state, ("POST",))
    schemas = KindSchemas(state.plane.catalog.kinds)
    install_document(app, schemas)
    for router in state.overrides:
        app.include_router(router)
    core = targets_router(state.plane, state.runner.plugins, schemas)
    _hide_overridden(core, state.overrides)
    app.include_router(core)
    app.include_router(sd_router(state.plane, state.external_address))

    for router in state.routers:
        app.include_router(router)

    app.include_router(ui_router(state))

    return FrontDoor(
        app,
        state.exposition,
        auth=state.auth,
        protect_metrics=state.protect_metrics,
        headers=state.response_headers,
    )


def _hide_overridden(router: APIRouter, overrides: Sequence[APIRouter]) -> None:
    """Leave out of the document the routes an override answers instead."""
    taken = {
        (route.path, method)
        for override in overrides
        for route in override.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    for route in router.routes:
        if isinstance(route, APIRoute) and any(
            (route.path, method) in taken for method in route.methods or ()
        ):
            route.include_in_schema = False


def _add_reload(app: FastAPI, state: HubState, methods: Sequence[str]) -> None:
    """Add ``/-/reload`` (re-read the config and the store) for ``methods``."""

    @app.api_route(
        "/-/reload",
        methods=list(methods),
        response_model=ReloadResult,
        responses={400: {"model": ErrorBody, "description": "Invalid configuration"}},
    )
    async def reload() -> JSONResponse:
        """Re-read the config; restart only the targets whose settings changed."""
        try:
            result = await state.plane.reload()
        except ConfigError as exc:
            _log.warning("reload_failed", error=str(exc))
            return error_response(400, "invalid_config", str(exc))
        state.reloads += 1
        return JSONResponse(
            ReloadResult(
                started=result.started,
                stopped=result.stopped,
                restarted=result.restarted,
                unchanged=result.unchanged,
            ).model_dump()
        )


def create_metrics_app(
    state: HubState, *, reload_methods: Sequence[str] = ("POST",)
) -> FrontDoor:
    """Build a second, metrics-only listener's app over the same state.

    For a command whose original served metrics and its UI on two ports
    (``snp-exporter``): ``/metrics`` (and ``/probe``) from the same cached
    bytes, ``/-/healthy``, ``/-/ready`` and ``/-/reload`` for
    ``reload_methods``. It has no lifespan of its own: the main app's starts
    and stops the targets. Same front door rules (basic auth, headers).
    """
    app = FastAPI(
        title=f"{state.title} (metrics)",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    install_error_handlers(app)

    @app.get("/-/healthy", response_class=PlainTextResponse)
    async def healthy() -> str:
        """Answer 200 while the process serves requests."""
        return "Healthy\n"

    @app.get("/-/ready", response_class=PlainTextResponse)
    async def ready() -> PlainTextResponse:
        """Answer 200 once the main app has started the targets."""
        if state.ready:
            return PlainTextResponse("Ready\n")
        return PlainTextResponse("Not ready\n", status_code=503)

    _add_reload(app, state, reload_methods)
    return FrontDoor(
        app,
        state.exposition,
        auth=state.auth,
        protect_metrics=state.protect_metrics,
        headers=state.response_headers,
    )
