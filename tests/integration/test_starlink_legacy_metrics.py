"""The original backend's metric names, served with ``legacy_metrics: true``."""

from __future__ import annotations

import pytest

from exporterhub.exporters.starlink.collector import LEGACY_NAMES
from exporterhub.exporters.starlink.plugin import PLUGIN

from .conftest import Scrape, running_exporter
from .test_starlink_exporter import dish_target, has_fixed


def _has_legacy(scrape: Scrape) -> bool:
    return scrape.value("starlink_network_latency_ms_current") is not None


async def test_legacy_names_carry_the_same_values():
    """Each original name its dashboards query has the value of today's name."""
    async with running_exporter(PLUGIN, [dish_target(legacy_metrics=True)]) as exporter:
        s = await exporter.scrape_until(lambda s: has_fixed(s) and _has_legacy(s))
    pairs = {
        "starlink_network_latency_ms_current": "starlink_network_latency_ms",
        "starlink_network_throughput_down_mbps_current":
            "starlink_network_throughput_down_mbps",
        "starlink_network_throughput_up_mbps_current":
            "starlink_network_throughput_up_mbps",
        "starlink_dish_thermal_throttle": "starlink_dish_alert_thermal_throttle",
    }  # fmt: skip
    for old, new in pairs.items():
        assert s.value(old) == s.value(new), old
    altitude = s.value("starlink_dish_altitude_meters")
    assert altitude is not None
    assert s.value("starlink_dish_altitude_feet") == pytest.approx(altitude / 0.3048)
    connected = s.value("starlink_dish_state", state="CONNECTED")
    assert s.value("starlink_dish_outage_active") == 1.0 - (connected or 0.0)
    assert s.value("starlink_mode_info", mode="simulation") == 1.0
    assert s.value("starlink_mode_info", mode="live") == 0.0


async def test_legacy_names_off_by_default_and_switchable():
    """Without legacy_metrics the names are absent; the API switches them on."""
    async with running_exporter(PLUGIN, [dish_target()]) as exporter:
        s = await exporter.scrape_until(has_fixed)
        for name in LEGACY_NAMES:
            assert name not in s.text, name
        reply = await exporter.client.post("/api/config", json={"legacy_metrics": True})
        assert reply.status_code == 200
        s = await exporter.scrape_until(_has_legacy)
    assert s.value("starlink_mode_info", mode="simulation") == 1.0
