"""The Starlink service's log and error surface over real HTTP."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from exporterhub.exporters.starlink.plugin import PLUGIN

from .conftest import running_exporter
from .test_starlink_exporter import dish_target, has_fixed


async def test_failing_component_is_named_in_log_and_targets():
    """A failing simulation component is named in the log and the target's error."""
    async with running_exporter(PLUGIN, [dish_target()]) as exporter:
        await exporter.scrape_until(has_fixed)
        worker = PLUGIN.worker()
        assert worker is not None
        with capture_logs() as logs:
            worker.engine.inject_fault("throughput")
            await exporter.scrape_until(
                lambda s: (
                    (s.value("starlink_exporter_poll_errors_total", error="step") or 0)
                    >= 1
                )
            )
        targets = (await exporter.client.get("/api/targets")).json()
    failed = [e for e in logs if e["event"] == "starlink_pass_failed"]
    assert failed[0]["components"] == ["throughput"]
    component = [e for e in logs if e["event"] == "simulation_component_failed"]
    assert component[0]["component"] == "throughput"
    text = str(targets)
    assert "failed: throughput" in text


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        pytest.param("GET", "/api/nope", 404, "not_found", id="404"),
        pytest.param("DELETE", "/api/config", 405, "method_not_allowed", id="405"),
        pytest.param("POST", "/api/status", 405, "method_not_allowed",
                     id="405-json-body"),
        pytest.param("PUT", "/metrics", 405, "method_not_allowed", id="405-metrics"),
    ],
)  # fmt: skip
async def test_errors_share_one_json_shape(method, path, status, error):
    """404 and 405 on the Starlink surface are the one JSON error shape."""
    async with running_exporter(PLUGIN, [dish_target()]) as exporter:
        reply = await exporter.client.request(method, path, json={})
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"error": error, "detail": reply.json()["detail"],
                            "fields": []}  # fmt: skip
