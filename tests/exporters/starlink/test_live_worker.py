"""Tests for the live-mode worker: ``get_location`` once per location interval.

The worker polls the fake dish (:mod:`exporterhub.simulators.starlink`) over real
loopback gRPC with the unmodified ``starlink_grpc`` library and publishes into a
real exposition. Its clock is a :class:`FakeClock`; each pass is one awaited
``one_pass()``, so nothing sleeps. ``conftest.py`` resets the library's schema cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.exposition import Exposition
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.plugin import (
    DISH_TARGET,
    PLUGIN,
    StarlinkTargetSettings,
    Worker,
    max_age,
)
from exporterhub.exporters.starlink.protocol import KNOTS_PER_MPS, distance_m
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.exporters.starlink.telemetry import Telemetry
from exporterhub.simulators.starlink import (
    DishFaults,
    DishSimConfig,
    StarlinkDishSimulator,
    default_telemetry,
)

LAT = "starlink_dish_latitude_degrees"
LON = "starlink_dish_longitude_degrees"
ALT = "starlink_dish_altitude_meters"
SPEED = "starlink_dish_speed_knots"
HEADING = "starlink_dish_heading_degrees"
AVAILABLE = "starlink_dish_location_available"
LATENCY = "starlink_network_latency_ms"
POSITION = (LAT, LON, ALT, SPEED)
M_PER_DEG_LAT = distance_m(0.0, 0.0, 1.0, 0.0)


@dataclass
class Served:
    """The fake dish's provider; tests change the sample between passes."""

    sample: Telemetry = field(default_factory=default_telemetry)

    def __call__(self) -> Telemetry:
        return self.sample

    def set(self, **changes: Any) -> None:
        self.sample = replace(self.sample, **changes)


@dataclass
class Harness:
    """A live worker publishing into its own exposition, driven by a fake clock."""

    worker: Worker
    exposition: Exposition
    clock: FakeClock

    async def pass_at(self, t: float) -> dict[str, float]:
        """Run one good pass at monotonic time ``t``; return the published series."""
        self.clock.advance(t - self.clock.monotonic())
        assert await self.worker.one_pass()
        return self.published()

    def published(self) -> dict[str, float]:
        """Return the label-free series of the current ``/metrics`` body by name."""
        text = self.exposition.body().decode()
        return {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.labels
        }


def live_config(address: str, **live: Any) -> StarlinkConfig:
    """Live mode against ``address``, location every 5 s unless overridden."""
    settings = {
        "dish_address": address,
        "timeout_seconds": 1.0,
        "location_interval_seconds": 5.0,
    }
    return StarlinkConfig.model_validate(
        {"mode": "live", "live": settings | live, "seed": 3}
    )


@contextmanager
def live_worker(config: StarlinkConfig) -> Iterator[Harness]:
    """Build the plugin's worker on a fake clock; close its client afterwards."""
    clock = FakeClock(start=1_800_000_000.0)
    exposition = Exposition(clock, CollectorRegistry())
    section = exposition.add_section(PLUGIN.kind, PLUGIN.prefix, PLUGIN.specs)
    publisher: TargetPublisher[Any] = TargetPublisher(
        section, DISH_TARGET, (), max_age=max_age(config), clock=clock
    )
    worker = Worker(StarlinkTargetSettings(config=config), publisher, clock)
    try:
        yield Harness(worker, exposition, clock)
    finally:
        worker.close()


def location_reads(dish: StarlinkDishSimulator) -> int:
    """Return how many ``get_location`` requests the fake dish has answered."""
    return dish.requests_by_kind["get_location"]


def calling_passes(counts: list[int]) -> list[int]:
    """Return the indexes of the passes after which the request count had grown.

    A refused ``get_location`` on a reused channel is sent twice (``starlink_grpc``
    retries once on a fresh channel), so refusals are counted by pass, not request.
    """
    return [i for i, n in enumerate(counts) if n > (counts[i - 1] if i else 0)]


class TestLocationInterval:
    async def test_location_every_interval_status_every_pass(self):
        """Passes at 0..6 s read location at 0 and 5 only, status on every pass."""
        served = Served()
        reads, seen = [], []
        async with StarlinkDishSimulator(DishSimConfig(port=0), served) as dish:
            with live_worker(live_config(dish.address)) as h:
                for t in range(7):
                    served.set(
                        latitude_degrees=50.0 + t / 1000,
                        altitude_meters=10.0 + t,
                        speed_knots=6.0 + t,
                        latency_ms=30.0 + t,
                    )
                    seen.append(await h.pass_at(t))
                    reads.append(location_reads(dish))
        assert reads == [1, 1, 1, 1, 1, 2, 2]
        assert dish.requests_by_kind["get_status"] == 7
        assert [s[LATENCY] for s in seen] == [30.0 + t for t in range(7)]
        for s, read_at in zip(seen, [0, 0, 0, 0, 0, 5, 5], strict=True):
            assert set(POSITION) <= s.keys()  # present on every pass, no flapping
            assert s[LAT] == pytest.approx(50.0 + read_at / 1000)
            assert s[LON] == pytest.approx(-5.05)
            assert s[ALT] == pytest.approx(10.0 + read_at)
            assert s[SPEED] == pytest.approx(6.0 + read_at, rel=1e-6)
            assert s[AVAILABLE] == 1.0
        # The first fix gives no bearing; the 5 s read moved ~556 m north.
        assert [HEADING in s for s in seen] == [False] * 5 + [True] * 2
        assert seen[5][HEADING] == pytest.approx(0.0, abs=1e-6)
        assert seen[6][HEADING] == seen[5][HEADING]

    async def test_refusal_holds_until_next_read(self):
        """A refused read keeps the position absent until the next read finds it."""
        config = DishSimConfig(port=0, faults=DishFaults(refuse_location=True))
        async with StarlinkDishSimulator(config) as dish:
            with live_worker(live_config(dish.address)) as h:
                seen, reads = [await h.pass_at(0)], [location_reads(dish)]
                dish.faults.refuse_location = False
                for t in range(1, 6):
                    seen.append(await h.pass_at(t))
                    reads.append(location_reads(dish))
        assert calling_passes(reads) == [0, 5]
        for s in seen[:5]:
            assert not set(POSITION) & s.keys()
            assert s[AVAILABLE] == 0.0
            assert LATENCY in s
        assert seen[5][LAT] == pytest.approx(50.15)
        assert seen[5][AVAILABLE] == 1.0

    async def test_refusal_seen_at_next_read(self):
        """A position read before a refusal is held until the next read refuses it."""
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as dish:
            with live_worker(live_config(dish.address)) as h:
                seen, reads = [await h.pass_at(0)], [location_reads(dish)]
                dish.faults.refuse_location = True
                for t in range(1, 7):
                    seen.append(await h.pass_at(t))
                    reads.append(location_reads(dish))
        assert calling_passes(reads) == [0, 5]
        for s in seen[:5]:
            assert s[LAT] == pytest.approx(50.15)
            assert s[AVAILABLE] == 1.0
        for s in seen[5:]:
            assert not set(POSITION) & s.keys()
            assert s[AVAILABLE] == 0.0

    async def test_nothing_derived_from_an_unread_fix(self):
        """A pass without a read leaves the motion anchor: speed spans the two reads."""
        served = Served()
        config = DishSimConfig(port=0, faults=DishFaults(missing_fields=True))
        async with StarlinkDishSimulator(config, served) as dish:
            with live_worker(
                live_config(dish.address, location_interval_seconds=60.0)
            ) as h:
                first = await h.pass_at(0)
                between = await h.pass_at(40)
                served.set(latitude_degrees=50.15 + 1000.0 / M_PER_DEG_LAT)
                moved = await h.pass_at(60)
        assert location_reads(dish) == 2
        # The dish sends no speed here: the first fix has none, and it is held.
        assert SPEED not in first
        assert SPEED not in between
        assert between[LAT] == pytest.approx(50.15)
        # Measured from the 0 s fix (1000 m in 60 s), not re-anchored at 40 s.
        assert moved[SPEED] == pytest.approx(1000.0 / 60.0 * KNOTS_PER_MPS, rel=1e-3)
        assert moved[HEADING] == pytest.approx(0.0, abs=1e-6)


class TestFreshClientReadsLocation:
    async def test_config_change_reads_on_first_pass(self):
        """A changed live section builds a new client, which reads location at once."""
        served = Served()
        reads, seen = [], []
        async with StarlinkDishSimulator(DishSimConfig(port=0), served) as dish:
            with live_worker(live_config(dish.address)) as h:
                for t in (0, 1):
                    seen.append(await h.pass_at(t))
                    reads.append(location_reads(dish))
                h.worker.update_config(live_config(dish.address, timeout_seconds=1.5))
                served.set(latitude_degrees=51.0)
                for t in (2, 3):
                    seen.append(await h.pass_at(t))
                    reads.append(location_reads(dish))
        assert reads == [1, 1, 2, 2]
        assert [s[LAT] for s in seen] == pytest.approx([50.15, 50.15, 51.0, 51.0])

    async def test_reconnect_after_failure_reads_on_first_good_pass(self):
        """After a failed pass the next good one reads location, inside the interval."""
        config = DishSimConfig(port=0)
        dish = StarlinkDishSimulator(config)
        await dish.start()
        config.port = dish.port
        try:
            with live_worker(live_config(dish.address)) as h:
                await h.pass_at(0)
                await h.pass_at(1)
                await dish.stop()
                h.clock.advance(1)
                assert not await h.worker.one_pass()
                assert location_reads(dish) == 1
                await dish.start()
                back = await h.pass_at(3)
                assert location_reads(dish) == 2
                await h.pass_at(4)
        finally:
            await dish.stop()
        assert location_reads(dish) == 2
        assert back[LAT] == pytest.approx(50.15)
        assert back[AVAILABLE] == 1.0
