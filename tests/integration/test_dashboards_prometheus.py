"""Every PromQL expression of every dashboard returns data from a real Prometheus.

``exporterhub demo`` runs as users start it (a subprocess: every exporter against
its simulator on loopback, PHD2's session ten times faster so that dithers,
settles and lost stars happen within the test), Debian's Prometheus scrapes it
every second, and each panel query, variable query and annotation query of the
committed dashboards (deploy/grafana/dashboards/*.json) is run the way Grafana
runs it, with every template variable on "All": panel time series and
annotations as range queries over the test's window, stats and tables as instant
queries, variables through the label values API. The wait is bounded and ends as
soon as every expression has data; a failure names the dashboard, the panel and
the expression.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exporterhub.core.testing import free_port
from exporterhub.dashboards.overview import PREFIXES, UP
from tests.dashboards.queries import DASHBOARDS, Expr, expressions, substitute

from .spawned import BIN, stop
from .test_prometheus_e2e import prometheus_binary

OVERVIEW_UP = substitute(UP)
WAIT_SECONDS = 180
"""Upper bound for every expression to have data (lost stars are random events)."""

DISH_EVENTS = {
    "scenario": {
        "name": "custom",
        "events": [
            {"at_seconds": 2, "event": "outage", "cause": "SEARCHING",
             "duration_seconds": 5},
            {"at_seconds": 1, "event": "alert", "alert": "roaming",
             "duration_seconds": 10},
        ],
    }
}  # fmt: skip
"""What the demo's dish does not do on its own: an outage and a raised alert,
asked for through the demo's Starlink ``/api/config`` as a user would."""


def all_expressions() -> list[Expr]:
    found: list[Expr] = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        found.extend(expressions(path.stem, json.loads(path.read_text())))
    return found


@contextlib.contextmanager
def demo(tmp_path: Path) -> Iterator[str]:
    """``exporterhub demo`` on a free port; yields host:port of its /metrics."""
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [str(BIN / "exporterhub"), "demo", "--web.listen-address", address,
         "--speed", "10", "--log.level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        yield address
    finally:
        stop(proc)
        log.close()


@contextlib.contextmanager
def prometheus(tmp_path: Path, target: str) -> Iterator[str]:
    """Debian's Prometheus scraping ``target`` every second; yields its URL."""
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: exporterhub\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus binary
        [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


async def has_data(client: httpx.AsyncClient, expr: Expr, start: float) -> bool:
    """Run ``expr`` as Grafana would; True when the answer holds any series."""
    now = time.time()
    if expr.kind == "label_values":
        response = await client.get(
            f"/api/v1/label/{expr.label}/values",
            params={"match[]": expr.expr, "start": start, "end": now},
        )
    elif expr.kind == "instant":
        response = await client.get("/api/v1/query", params={"query": expr.expr})
    else:
        response = await client.get(
            "/api/v1/query_range",
            params={"query": expr.expr, "start": start, "end": now, "step": 1},
        )
    body = response.json()
    assert body.get("status") == "success", f"{expr}\n{body}"
    data = body["data"]
    return bool(data if expr.kind == "label_values" else data["result"])


async def play_dish_events(target: str) -> None:
    """POST ``DISH_EVENTS`` to the demo once it answers (bounded)."""
    async with httpx.AsyncClient(base_url=f"http://{target}", timeout=5) as http:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    reply = await http.post("/api/config", json=DISH_EVENTS)
                    assert reply.status_code == 200, reply.text
                    return
                await asyncio.sleep(0.2)


@pytest.mark.timeout(WAIT_SECONDS + 60)
async def test_every_dashboard_expression_returns_data(tmp_path):
    pending = all_expressions()
    assert len(pending) > 100, "the dashboards lost their queries"
    with demo(tmp_path) as target, prometheus(tmp_path, target) as url:
        start = time.time()
        await play_dish_events(target)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            try:
                async with asyncio.timeout(WAIT_SECONDS):
                    while pending:
                        await asyncio.sleep(1)
                        try:
                            answered = [
                                await has_data(client, e, start) for e in pending
                            ]
                        except httpx.TransportError:
                            continue
                        pending = [
                            e for e, ok in zip(pending, answered, strict=True) if not ok
                        ]
            except TimeoutError:
                pass
            # The overview's health query sees a target of every exporter.
            answer = await client.get(
                "/api/v1/query",
                params={"query": f"count by (exporter) ({OVERVIEW_UP})"},
            )
            exporters = {
                r["metric"]["exporter"] for r in answer.json()["data"]["result"]
            }
    demo_log = (tmp_path / "demo.log").read_text(errors="replace")[-1500:]
    assert not pending, (
        f"{len(pending)} dashboard expressions returned no data within "
        f"{WAIT_SECONDS} s:\n"
        + "\n".join(map(str, pending))
        + f"\n--- demo log tail ---\n{demo_log}"
    )
    assert exporters == set(PREFIXES)
