"""The Starlink ``/api/config`` writes over real HTTP: atomic merges and error shape."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pytest

from exporterhub.core.plugin import Target
from exporterhub.exporters.starlink.plugin import PLUGIN

from .conftest import running_exporter
from .test_starlink_exporter import dish_target

JSON = {"content-type": "application/json"}

# One partial update per key; no two touch the same key and none breaks a
# cross-field rule whatever the others do.
KEYS: tuple[tuple[str, str, float], ...] = (
    ("network", "spike_probability", 0.01),
    ("network", "handover_interval_seconds", 10.0),
    ("network", "latency_spike_max_ms", 300.0),
    ("network", "throughput_down_max_mbps", 250.0),
    ("network", "throughput_up_max_mbps", 60.0),
    ("network", "packet_loss_max_percent", 6.0),
    ("obstruction", "sway_period_seconds", 30.0),
    ("obstruction", "sway_amplitude_percent", 1.0),
    ("obstruction", "wind_level", 0.1),
    ("obstruction", "event_rate_per_second", 0.01),
    ("route", "speed_knots", 20.0),
    ("route", "altitude_meters", 100.0),
    ("weather", "rain_extra_latency_ms", 1.0),
    ("live", "timeout_seconds", 1.0),
    ("live", "location_interval_seconds", 10.0),
)


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


class TestConcurrentUpdates:
    async def test_concurrent_partial_updates_all_survive(self, exporter_for):
        """Partial updates sent at once to different keys are all merged, none lost."""
        async with exporter_for([dish_target()]) as exporter:
            for round_ in range(1, 6):
                wanted = {
                    (section, key): base * (1 + round_ / 10)
                    for section, key, base in KEYS
                }
                replies = await asyncio.gather(
                    *(
                        exporter.client.post(
                            "/api/config", json={section: {key: value}}
                        )
                        for (section, key), value in wanted.items()
                    )
                )
                assert [r.status_code for r in replies] == [200] * len(replies)
                config = (await exporter.client.get("/api/config")).json()
                got = {
                    (section, key): (config[section] or {}).get(key)
                    for section, key in wanted
                }
                lost = {
                    f"{section}.{key}": (got[section, key], value)
                    for (section, key), value in wanted.items()
                    if got[section, key] != value
                }
                assert lost == {}, f"round {round_}: lost updates {lost}"
