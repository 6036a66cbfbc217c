"""Grafana dashboards for exporterhub, built in code with grafana-foundation-sdk.

One module per exporter (``phd2``, ``starlink``, ``tapo``, ``chaos``, ``snp``) plus
``overview``, each with ``UID`` and ``build()``; ``_common`` holds the data source,
variables and panel helpers. :func:`render` turns a dashboard into the JSON that
Grafana's file provisioning loads; ``python -m exporterhub.dashboards DIR`` (``make
dashboards``) writes every one into ``DIR/<name>.json``. Needs the ``dev`` extra
(the SDK); nothing an exporter runs imports this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from . import chaos, overview, phd2, snp, starlink, tapo

__all__ = ["DASHBOARDS", "built", "render", "write_all"]

DASHBOARDS: dict[str, Callable[[], Builder[dm.Dashboard]]] = {
    "overview": overview.build,
    "phd2": phd2.build,
    "starlink": starlink.build,
    "tapo": tapo.build,
    "chaos": chaos.build,
    "snp": snp.build,
}
"""File name (without ``.json``) → the module building that dashboard."""


def built(name: str) -> dm.Dashboard:
    """Dashboard ``name`` with its panels numbered 1, 2, … in order (stable ids)."""
    dashboard = DASHBOARDS[name]().build()
    for number, panel in enumerate(dashboard.panels or [], start=1):
        panel.id_val = number
    return dashboard


def render(name: str) -> str:
    """The JSON text of dashboard ``name``: stable key order, two-space indent."""
    return json.dumps(built(name), cls=JSONEncoder, indent=2) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory`` (made if missing); return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = directory / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written
