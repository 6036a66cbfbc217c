"""The web UI: pages for people, served by the same app as the API.

``build_router(state)`` returns the UI's routes. Pages read the hub's state and
the control plane's API; they never talk to a device.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from exporterhub import __version__

if TYPE_CHECKING:
    from exporterhub.core.app import HubState

__all__ = ["build_router"]


def build_router(state: HubState) -> APIRouter:
    """Return the UI's routes for ``state``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def landing() -> str:
        links = [
            ("/metrics", "Metrics"),
            ("/health", "Health"),
            ("/-/ready", "Readiness"),
            ("/api/targets", "Targets (JSON)"),
            ("/docs", "API docs"),
            *state.extra_links,
        ]
        items = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>'
            for href, text in links
        )
        title = html.escape(state.title)
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{title}</title></head><body><h1>{title}</h1>"
            f"<p>exporterhub {html.escape(__version__)}</p><ul>{items}</ul>"
            "</body></html>"
        )

    return router
