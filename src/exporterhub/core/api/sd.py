"""Prometheus HTTP service discovery: every running target, scraped through /probe.

``GET /api/sd`` answers the ``http_sd_configs`` format: one target group per
running target, all pointing at this exporter's own address, with
``__metrics_path__`` ``/probe``, ``__param_target`` ``kind/name`` and the meta labels
``__meta_exporterhub_kind`` and ``__meta_exporterhub_target`` to relabel from. So
Prometheus scrapes each target on its own (its own ``up``, scrape duration and
``hashmod`` sharding across Prometheus servers). The address is
``web.external_address`` when set, else the ``Host`` the request was sent to (what
Prometheus reached). A replica started with ``--shard`` runs, and so lists, only
its own share of the targets. Reads memory only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from exporterhub.core.control import ControlPlane

__all__ = ["build_router"]


class TargetGroup(BaseModel):
    """One entry of Prometheus' HTTP service discovery."""

    targets: list[str] = Field(description="host:port of this exporter.")
    labels: dict[str, str]


def build_router(control: ControlPlane, external_address: str | None) -> APIRouter:
    """Return ``/api/sd`` bound to the process's running targets."""
    router = APIRouter(prefix="/api", tags=["prometheus"])

    @router.get("/sd", response_model=list[TargetGroup])
    async def service_discovery(request: Request) -> list[dict[str, Any]]:
        """Every running target as a target group Prometheus scrapes via /probe."""
        address = external_address or request.headers.get("host") or "localhost"
        return [
            {
                "targets": [address],
                "labels": {
                    "__metrics_path__": "/probe",
                    "__param_target": f"{target.kind}/{target.name}",
                    "__meta_exporterhub_kind": target.kind,
                    "__meta_exporterhub_target": target.name,
                },
            }
            for target in sorted(control.runner.targets, key=lambda t: (t.kind, t.name))
        ]

    return router
