"""The web UI: pages for people, served by the same app as the API.

``build_router(state)`` returns the UI's routes: ``/`` (every target by kind, live),
``/ui/targets/{kind}/{name}`` (one target: status, chart, values, settings),
``/ui/add``, ``/ui/add/{kind}`` and ``/ui/edit/{kind}/{name}`` (forms the script
builds from the kind's settings schema), ``/ui/static/…`` and two JSON routes the
target page polls (``/ui/api/history/…``, ``/ui/api/values/…``). It also adds the
history sampler to the hub's background tasks. Pages are rendered by the server
with Jinja2 (autoescape on) and changed only through the REST API, by the
script's ``fetch`` calls with JSON bodies; no cookies, no inline script or style.
Pages read the hub's state; they never talk to a device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from exporterhub import __version__
from exporterhub.core.api.targets import all_answers, find_answer, state_of
from exporterhub.core.ui.assets import SECURITY_HEADERS, Assets, compressed
from exporterhub.core.ui.history import History
from exporterhub.core.ui.view import ago, flat_settings, values_of

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from exporterhub.core.app import HubState

__all__ = ["build_router"]

_POLL_MS: Final = 3000
"""How often the pages ask for fresh state, in milliseconds."""
_HTML: Final = "text/html; charset=utf-8"
_ENDPOINTS: Final = (
    ("/metrics", "Metrics"),
    ("/health", "Health"),
    ("/-/ready", "Readiness"),
    ("/api/targets", "Targets (JSON)"),
    ("/api/kinds", "Kinds (JSON)"),
    ("/docs", "API docs"),
    ("/openapi.json", "OpenAPI"),
)
"""The endpoints the footer of every page links."""
_FORM_KEYS: Final = ("kind", "name", "enabled", "revision", "settings", "secrets")
"""What the edit form reads of a target (JSON values only)."""


class _SecuredRoute(APIRoute):
    """A route whose every answer carries the UI's security headers.

    Answers are not cached unless they say so themselves (static files do).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(SECURITY_HEADERS)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return secured


def _segment(value: str) -> str:
    """Quote a name as one URL path segment (as ``encodeURIComponent`` does)."""
    return quote(value, safe="")


def _pill(answer: dict[str, Any]) -> tuple[str, str]:
    """Return (css class, word) of a target's state pill."""
    state = state_of(answer)
    if state == "down" and answer["link"] == "connecting":
        return "pending", "Connecting"
    return state, state.capitalize()


def build_router(state: HubState) -> APIRouter:
    """Return the UI's routes for ``state``; register the history sampler."""
    router = APIRouter(include_in_schema=False, route_class=_SecuredRoute)
    plane = state.plane
    assets = Assets()
    history = History(
        state.exposition,
        {kind: stored.key_metrics for kind, stored in plane.catalog.kinds.items()},
        state.clock,
    )
    state.background.append(history.run)
    env = Environment(
        loader=PackageLoader("exporterhub.core.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}  # keep field order
    env.filters["seg"] = _segment
    env.globals.update(asset=assets.url, version=__version__)

    def kinds() -> list[dict[str, Any]]:
        found = []
        for kind in state.runner.plugins:
            stored = plane.catalog.kinds.get(kind)
            found.append(
                {
                    "kind": kind,
                    "title": stored.title if stored else kind,
                    "summary": stored.summary if stored else "",
                    "storable": stored is not None and plane.store is not None,
                }
            )
        return found

    def row(answer: dict[str, Any], now: float) -> dict[str, Any]:
        css, word = _pill(answer)
        return {
            **answer,
            "state": state_of(answer),
            "pill_class": css,
            "pill": word,
            "ago": ago(answer["last_success"], now),
            "editable": answer["source"] == "store" and plane.store is not None,
        }

    def page(
        request: Request, template: str, status: int = 200, **context: object
    ) -> Response:
        html = env.get_template(template).render(
            title=state.title,
            exposed=state.exposed,
            writable=plane.store is not None,
            authenticated=state.auth is not None,
            export_url=state.export_url,
            import_url=state.import_url,
            links=[("/metrics", "Metrics"), ("/docs", "API docs"), *state.extra_links],
            endpoints=_ENDPOINTS,
            poll_ms=_POLL_MS,
            **context,
        )
        response = compressed(request, html.encode(), _HTML)
        response.status_code = status
        return response

    def missing(request: Request, what: str) -> Response:
        return page(request, "missing.html", 404, what=what)

    @router.get("/")
    async def targets_page(request: Request) -> Response:
        now = state.clock.time()
        rows = [row(a, now) for a in all_answers(plane)]
        groups = [
            {**k, "targets": [r for r in rows if r["kind"] == k["kind"]]}
            for k in kinds()
        ]
        return page(request, "index.html", groups=groups, total=len(rows))

    @router.get("/ui/add")
    async def add_choice(request: Request) -> Response:
        return page(request, "choose.html", kinds=[k for k in kinds() if k["storable"]])

    @router.get("/ui/add/{kind}")
    async def add_form(request: Request, kind: str) -> Response:
        stored = plane.catalog.kinds.get(kind)
        if stored is None:
            return missing(request, f"exporter kind named {kind!r}")
        form = {"mode": "add", "kind": kind, "schema": stored.schema(), "target": None}
        return page(
            request, "form.html", kind=_kind(kinds(), kind), form=form, target=None
        )

    @router.get("/ui/edit/{kind}/{name:path}")
    async def edit_form(request: Request, kind: str, name: str) -> Response:
        stored = plane.catalog.kinds.get(kind)
        answer = find_answer(plane, kind, name)
        if answer is None or stored is None:
            return missing(request, f"target {kind}/{name}")
        form = {
            "mode": "edit",
            "kind": kind,
            "schema": stored.schema(),
            "target": {key: answer[key] for key in _FORM_KEYS},
        }
        target = row(answer, state.clock.time())
        return page(
            request, "form.html", kind=_kind(kinds(), kind), form=form, target=target
        )

    @router.get("/ui/targets/{kind}/{name:path}")
    async def target_page(request: Request, kind: str, name: str) -> Response:
        answer = find_answer(plane, kind, name)
        if answer is None:
            return missing(request, f"target {kind}/{name}")
        stored = plane.catalog.kinds.get(kind)
        return page(
            request,
            "target.html",
            kind=_kind(kinds(), kind),
            target=row(answer, state.clock.time()),
            settings=flat_settings(answer["settings"], answer["secrets"]),
            values=values_of(state, kind, name) or [],
            key_metrics=list(stored.key_metrics) if stored else [],
            window_minutes=round(history.interval * history.points / 60),
        )

    @router.get("/ui/static/{name}")
    async def static(request: Request, name: str) -> Response:
        return assets.response(request, name)

    def unknown(kind: str, name: str) -> JSONResponse:
        return JSONResponse(
            {
                "error": "not_found",
                "detail": f"No target {kind}/{name}.",
                "fields": [],
            },
            status_code=404,
        )

    @router.get("/ui/api/history/{kind}/{name:path}")
    async def history_of(kind: str, name: str) -> JSONResponse:
        """A target's recent key values; empty while it is not running."""
        if find_answer(plane, kind, name) is None:
            return unknown(kind, name)
        found = history.get(kind, name) or {
            "interval": history.interval,
            "points": history.points,
            "times": [],
            "dropped_series": 0,
            "metrics": [],
        }
        tracked = len(history) < history.max_targets or bool(found["times"])
        return JSONResponse({**found, "now": state.clock.time(), "tracked": tracked})

    @router.get("/ui/api/values/{kind}/{name:path}")
    async def values(kind: str, name: str) -> JSONResponse:
        """A target's current series; empty while it is not running."""
        if find_answer(plane, kind, name) is None:
            return unknown(kind, name)
        return JSONResponse(values_of(state, kind, name) or [])

    return router


def _kind(kinds: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    for found in kinds:
        if found["kind"] == kind:
            return found
    return {"kind": kind, "title": kind, "summary": "", "storable": False}
