"""Every PromQL expression of a dashboard's JSON, named by where it sits.

Walks panels (rows' nested panels too), template variables and annotations the
way Grafana reads them, and substitutes template variables the way a dashboard
showing every rig, plug or SNP would ("All" is ``.*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"

RATE_INTERVAL = "15s"
INTERVAL = "5s"
RANGE = "6h"
"""The dashboards' default time range."""

_BUILTINS = {
    "$__rate_interval": RATE_INTERVAL,
    "$__interval": INTERVAL,
    "$__range": RANGE,
}
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$([A-Za-z_]\w*)")
"""A template variable; ``$1`` in a label_replace() is a capture group, not one."""
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


@dataclass(frozen=True)
class Expr:
    """One expression: its dashboard, where it sits, and how Grafana runs it."""

    dashboard: str
    where: str
    expr: str
    kind: str
    """``range`` (time series, annotations), ``instant`` (stats, tables) or
    ``label_values`` (a variable: ``expr`` is the selector, ``label`` the label)."""
    label: str = ""

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.where}: {self.expr}"


def substitute(expr: str) -> str:
    """Replace Grafana's built-ins and every template variable ("All" = ``.*``)."""
    for name, value in _BUILTINS.items():
        expr = expr.replace(name, value)
    return _VARIABLE.sub(".*", expr)


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(_panels(panel.get("panels", [])))
    return found


def expressions(name: str, dashboard: dict[str, Any]) -> list[Expr]:
    """Every expression of ``dashboard`` (loaded JSON), variables substituted."""
    found: list[Expr] = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            kind = "instant" if target.get("instant") else "range"
            where = f"panel {panel['title']!r} query {target.get('refId')}"
            found.append(Expr(name, where, substitute(target["expr"]), kind))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] != "query":
            continue
        match = _LABEL_VALUES.match(variable["query"]["query"])
        assert match, f"{name}: variable {variable['name']} is not label_values()"
        found.append(
            Expr(
                name,
                f"variable {variable['name']!r}",
                substitute(match["selector"]),
                "label_values",
                match["label"],
            )
        )
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            where = f"annotation {annotation['name']!r}"
            found.append(Expr(name, where, substitute(annotation["expr"]), "range"))
    return found
