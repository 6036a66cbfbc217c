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

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from . import chaos, overview, phd2, snp, starlink, tapo

__all__ = ["DASHBOARDS", "render", "write_all"]

DASHBOARDS: dict[str, Callable[[], dm.Dashboard]] = {
    "overview": lambda: overview.build().build(),
    "phd2": lambda: phd2.build().build(),
    "starlink": lambda: starlink.build().build(),
    "tapo": lambda: tapo.build().build(),
    "chaos": lambda: chaos.build().build(),
    "snp": lambda: snp.build().build(),
}
"""File name (without ``.json``) → the built dashboard."""


def render(name: str) -> str:
    """The JSON text of dashboard ``name``: stable key order, two-space indent."""
    return json.dumps(DASHBOARDS[name](), cls=JSONEncoder, indent=2) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory`` (made if missing); return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = directory / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written
