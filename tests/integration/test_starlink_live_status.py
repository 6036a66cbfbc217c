"""Live mode: ``/api/status`` and ``/metrics`` agree about freshness.

The exporter reads the project's simulated dish over real gRPC on loopback and
runs on a fake clock, so "older than the max age" is reached by moving the clock,
not by waiting.
"""

from __future__ import annotations

from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.plugin import PLUGIN
from exporterhub.simulators.starlink import DishSimConfig, StarlinkDishSimulator

from .conftest import Scrape, running_exporter
from .test_starlink_exporter import dish_target, has_live

MAX_AGE = 15.0
"""max(3 x the 5 s update interval, 2 x the 0.5 s call timeout)."""


def _stale(scrape: Scrape) -> bool:
    return (
        scrape.value("starlink_up") == 0.0
        and scrape.value("starlink_network_latency_ms") is None
    )


class TestStatusFreshness:
    async def test_dish_that_stopped_answering_is_not_available(self):
        """Past the max age /api/status says available false with the age, no values."""
        clock = FakeClock()
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as dish:
            live = {"dish_address": dish.address, "timeout_seconds": 0.5}
            target = dish_target(mode="live", live=live, update_interval_seconds=5.0)
            async with running_exporter(PLUGIN, [target], clock) as exporter:
                await exporter.scrape_until(
                    lambda s: has_live(s) and s.value("starlink_up") == 1.0
                )
                good = (await exporter.client.get("/api/status")).json()
                taken = clock.time()
                await dish.stop()  # the port is closed now: every poll fails
                s = await exporter.scrape_advancing(clock, _stale, step=1.0)
                status = (await exporter.client.get("/api/status")).json()
        assert good["available"] is True
        assert good["dish"]["state"] == "CONNECTED"
        assert good["age_seconds"] == 0.0
        assert s.series("starlink_dish_info")  # kept when stale, as documented
        assert status["available"] is False
        assert "dish" not in status
        assert "network" not in status
        assert status["timestamp"] == good["timestamp"]
        assert status["age_seconds"] >= MAX_AGE
        assert status["age_seconds"] == clock.time() - taken
        assert status["error"] == "unreachable"
