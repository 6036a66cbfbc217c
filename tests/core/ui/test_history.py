"""Tests of the UI's in-memory history of key metrics (fake clock, no sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from exporterhub.core.exposition import Exposition
from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.core.testing import FakeClock
from exporterhub.core.ui.history import History

from ..helpers import settle, until_sleeping


@dataclass(frozen=True)
class Reading:
    """What the test exporter's snapshot holds."""

    power: float | None
    channels: tuple[float, ...] = ()


def _channels(reading: Reading) -> Iterable[Sample]:
    return (((str(i),), v) for i, v in enumerate(reading.channels))


SPECS: list[MetricSpec[Reading]] = [
    MetricSpec(
        name="test_power_watts",
        help="Power.",
        kind=Kind.GAUGE,
        value_fn=lambda r: one(r.power),
    ),
    MetricSpec(
        name="test_channel_volts",
        help="Each channel's voltage.",
        kind=Kind.GAUGE,
        labels=("channel",),
        value_fn=_channels,
    ),
    MetricSpec(
        name="test_other",
        help="Not a key metric.",
        kind=Kind.GAUGE,
        value_fn=lambda r: one(7.0),
    ),
]
KEYS = {"test": ("test_power_watts", "test_channel_volts")}


class Fixture:
    """An exposition with one section, a fake clock and a history over it."""

    def __init__(self, **options: int) -> None:
        self.clock = FakeClock(start=1_000.0)
        self.exposition = Exposition(self.clock, CollectorRegistry())
        self.section = self.exposition.add_section("test", "test", SPECS)
        self.history = History(
            self.exposition, KEYS, self.clock, interval=1.0, **options
        )

    def publish(self, name: str, reading: Reading, max_age: float = 60.0) -> None:
        self.section.publish(
            TargetRecord(
                name=name,
                identity=(("target", name),),
                data=reading,
                taken_at=self.clock.time(),
                max_age=max_age,
                link=LinkState.CONNECTED,
                healthy=True,
            )
        )

    async def step(self) -> None:
        await self.history.sample()
        self.clock.advance(1.0)


def _values(found: dict, family: str) -> list[list[float | None]]:
    metric = next(m for m in found["metrics"] if m["family"] == family)
    return [s["values"] for s in metric["series"]]


class TestSampling:
    """Each sample reads the key families of every target, nothing else."""

    async def test_records_key_values_oldest_first(self):
        """Values of the key families are kept in order, with their sample times."""
        fx = Fixture(points=5)
        for watts in (1.0, 2.0, 3.0):
            fx.publish("a", Reading(watts, (230.0,)))
            await fx.step()
        found = fx.history.get("test", "a")
        assert found is not None
        assert found["times"] == [1000.0, 1001.0, 1002.0]
        assert _values(found, "test_power_watts") == [[1.0, 2.0, 3.0]]
        volts = next(m for m in found["metrics"] if m["family"] == "test_channel_volts")
        assert volts["unit"] == "V"
        assert volts["series"] == [
            {"labels": {"channel": "0"}, "values": [230.0, 230.0, 230.0]}
        ]
        assert "test_other" not in {m["family"] for m in found["metrics"]}

    async def test_ring_keeps_only_the_last_points(self):
        """Past ``points`` samples the oldest values are overwritten."""
        fx = Fixture(points=3)
        for watts in range(7):
            fx.publish("a", Reading(float(watts)))
            await fx.step()
        found = fx.history.get("test", "a")
        assert found["times"] == [1004.0, 1005.0, 1006.0]
        assert _values(found, "test_power_watts") == [[4.0, 5.0, 6.0]]

    async def test_stale_values_are_gaps(self):
        """A value past its max age is not sampled: the chart shows a gap (null)."""
        fx = Fixture(points=4)
        fx.publish("a", Reading(5.0), max_age=1.5)
        await fx.step()
        await fx.step()
        await fx.step()
        assert _values(fx.history.get("test", "a"), "test_power_watts") == [
            [5.0, 5.0, None]
        ]

    async def test_family_without_series_is_listed_empty(self):
        """A key family the target never reported is listed with no series."""
        fx = Fixture()
        fx.publish("a", Reading(None))
        await fx.step()
        found = fx.history.get("test", "a")
        assert [m["series"] for m in found["metrics"]] == [[], []]


class TestBounds:
    """Memory stays bounded by targets x series x points."""

    async def test_series_per_family_are_capped(self):
        """Series past ``max_series`` in one family are not kept, and are counted;
        the other families keep theirs."""
        fx = Fixture(max_series=2)
        fx.publish("a", Reading(1.0, (1.0, 2.0, 3.0)))
        await fx.step()
        found = fx.history.get("test", "a")
        assert _values(found, "test_channel_volts") == [[1.0], [2.0]]
        assert _values(found, "test_power_watts") == [[1.0]]
        assert found["dropped_series"] == 1  # channel 2

    async def test_targets_are_capped_and_slots_free_when_one_goes(self):
        """Only ``max_targets`` are tracked; a leaving target frees its slot."""
        fx = Fixture(max_targets=2)
        for name in ("a", "b", "c"):
            fx.publish(name, Reading(1.0))
        await fx.step()
        assert len(fx.history) == 2
        assert fx.history.get("test", "c") is None
        fx.section.remove("a")
        await fx.step()
        await fx.step()
        assert fx.history.get("test", "a") is None
        assert fx.history.get("test", "c") is not None

    async def test_vanished_series_is_dropped_after_a_window(self):
        """A series absent for a whole window goes, freeing its place."""
        fx = Fixture(points=2)
        fx.publish("a", Reading(1.0, (9.0,)))
        await fx.step()
        fx.publish("a", Reading(1.0))
        await fx.step()
        assert len(_values(fx.history.get("test", "a"), "test_channel_volts")) == 1
        await fx.step()
        assert _values(fx.history.get("test", "a"), "test_channel_volts") == []

    def test_bound_is_stated(self):
        """The bound is targets x (1 + families x series) x points x 8 bytes."""
        fx = Fixture(max_targets=10, max_series=3, points=100)
        assert fx.history.bound_bytes == 10 * (1 + 2 * 3) * 100 * 8
        assert fx.history.status()["bound_bytes"] == 56_000

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param({"points": 1}, id="one-point"),
            pytest.param({"max_targets": 0}, id="no-targets"),
            pytest.param({"max_series": 0}, id="no-series"),
        ],
    )
    def test_nonsense_bounds_are_refused(self, options):
        """A history that could hold nothing is a programming error."""
        with pytest.raises(ValueError, match="points"):
            Fixture(**options)


class TestRemoval:
    """A target that leaves the exposition leaves the history."""

    async def test_removed_target_is_forgotten(self):
        """After its record is removed, the next sample forgets the target."""
        fx = Fixture()
        fx.publish("a", Reading(1.0))
        await fx.step()
        assert fx.history.get("test", "a") is not None
        fx.section.remove("a")
        await fx.step()
        assert fx.history.get("test", "a") is None
        assert len(fx.history) == 0


class TestRun:
    """``run`` samples every interval on the injected clock."""

    async def test_samples_on_each_tick_until_cancelled(self):
        """Each advance of the clock by the interval takes one more sample."""
        fx = Fixture()
        fx.publish("a", Reading(1.0))
        task = asyncio.create_task(fx.history.run())
        try:
            for expected in (1, 2, 3):
                await until_sleeping(fx.clock)
                assert len(fx.history.get("test", "a")["times"]) == expected
                fx.clock.advance(1.0)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    async def test_a_failing_sample_does_not_stop_it(self, monkeypatch):
        """An exception in one sample is logged; the next tick samples again."""
        fx = Fixture()
        calls = []

        async def broken() -> None:
            calls.append(1)
            raise RuntimeError("boom")

        monkeypatch.setattr(fx.history, "sample", broken)
        task = asyncio.create_task(fx.history.run())
        try:
            await until_sleeping(fx.clock)
            fx.clock.advance(1.0)
            await settle(lambda: len(calls) == 2)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert len(calls) == 2
