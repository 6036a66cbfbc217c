"""Tests of the target data and the publisher workers publish through."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry

from exporterhub.core.exposition import Exposition, Section
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.snapshot import LinkState

from .helpers import DEMO_SPECS, DemoSettings, DemoSnapshot, demo_target


@pytest.fixture
def section() -> Section:
    return Section("demo", "demo", DEMO_SPECS)


@pytest.fixture
def publisher(section, clock) -> TargetPublisher[DemoSnapshot]:
    return TargetPublisher(
        section, "rig", (("target", "rig"),), max_age=9.0, clock=clock
    )


class TestTarget:
    """Targets are plain frozen data compared by value."""

    def test_equal_when_settings_equal(self):
        """Two targets built from equal settings compare equal."""
        assert demo_target("a", value=2.0) == demo_target("a", value=2.0)

    @pytest.mark.parametrize(
        "other",
        [
            pytest.param(demo_target("a", value=3.0), id="settings"),
            pytest.param(demo_target("b", value=2.0), id="name"),
            pytest.param(
                Target(kind="x", name="a", settings=DemoSettings(name="a", value=2.0)),
                id="kind",
            ),
        ],
    )
    def test_differ_when_anything_differs(self, other):
        """A different kind, name or setting makes a different target."""
        assert demo_target("a", value=2.0) != other

    def test_frozen(self):
        """A target cannot be modified."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            demo_target("a").name = "b"  # type: ignore[misc]


class TestTargetPublisher:
    """The publisher swaps whole records into the section."""

    def test_initial_record_published(self, publisher, section):
        """Creating a publisher publishes an empty, unhealthy, connecting record."""
        record = section.get("rig")
        assert record is publisher.record
        assert record.identity == (("target", "rig"),)
        assert record.max_age == 9.0
        assert record.data is None
        assert record.healthy is False
        assert record.link is LinkState.CONNECTING

    def test_data_is_a_success(self, publisher, section, clock):
        """data() publishes the snapshot at the clock's wall time, healthy."""
        clock.advance(3.0)
        publisher.data(DemoSnapshot(4.0))
        record = section.get("rig")
        assert record.data == DemoSnapshot(4.0)
        assert record.taken_at == clock.time()
        assert record.last_success == clock.time()
        assert record.healthy is True

    def test_data_with_learned_identity(self, publisher, section):
        """An identity given with data replaces the initial one."""
        publisher.data(DemoSnapshot(1.0), identity=(("host", "real"), ("inst", "2")))
        assert section.get("rig").identity == (("host", "real"), ("inst", "2"))

    def test_data_with_same_identity_keeps_it(self, publisher, section):
        """Passing the current identity keeps it unchanged."""
        publisher.data(DemoSnapshot(1.0), identity=(("target", "rig"),))
        assert section.get("rig").identity == (("target", "rig"),)

    def test_every_publish_bumps_generation(self, publisher, section):
        """Each data or link update is one new publication."""
        before = section.generation
        publisher.data(DemoSnapshot(1.0))
        publisher.link(LinkState.CONNECTED)
        assert section.generation == before + 2

    def test_update_is_not_a_success(self, publisher, section, clock):
        """update() swaps the data but keeps health, taken_at and last_success."""
        publisher.data(DemoSnapshot(1.0))
        publisher.failed()
        before = section.get("rig")
        clock.advance(4.0)
        publisher.update(DemoSnapshot(2.0))
        record = section.get("rig")
        assert record.data == DemoSnapshot(2.0)
        assert record.healthy is False
        assert record.taken_at == before.taken_at
        assert record.last_success == before.last_success

    def test_update_with_learned_identity(self, publisher, section):
        """update() applies a new identity, and keeps an unchanged one."""
        publisher.update(DemoSnapshot(1.0), identity=(("target", "rig"),))
        assert section.get("rig").identity == (("target", "rig"),)
        publisher.update(DemoSnapshot(1.0), identity=(("host", "h"),))
        assert section.get("rig").identity == (("host", "h"),)

    def test_update_keeps_stale_values_hidden(self, section, clock):
        """Data published by update() on a stale target stays out of the scrape."""
        exposition = Exposition(clock, CollectorRegistry())
        section = exposition.add_section("demo", "demo", DEMO_SPECS)
        publisher = TargetPublisher(
            section, "rig", (("target", "rig"),), max_age=9.0, clock=clock
        )
        publisher.data(DemoSnapshot(1.0))
        clock.advance(10.0)
        publisher.update(DemoSnapshot(2.0))
        body = exposition.body()
        assert b"demo_value" not in body
        assert b'demo_up{target="rig"} 0.0\n' in body
        publisher.data(DemoSnapshot(3.0))
        assert b'demo_value{target="rig"} 3.0\n' in exposition.body()

    def test_update_before_any_success_is_not_served(self, section, clock):
        """update() before the first success leaves the value rows hidden."""
        exposition = Exposition(clock, CollectorRegistry())
        section = exposition.add_section("demo", "demo", DEMO_SPECS)
        publisher = TargetPublisher(
            section, "rig", (("target", "rig"),), max_age=9.0, clock=clock
        )
        publisher.update(DemoSnapshot(2.0))
        assert section.get("rig").data == DemoSnapshot(2.0)
        assert b"demo_value" not in exposition.body()

    def test_link_with_reconnects(self, publisher, section):
        """link() sets the state and, when given, the reconnect count."""
        publisher.link(LinkState.DISCONNECTED, reconnects=3)
        assert section.get("rig").link is LinkState.DISCONNECTED
        assert section.get("rig").reconnects == 3
        publisher.link(LinkState.CONNECTED)
        assert section.get("rig").reconnects == 3

    def test_link_loss_drops_health(self, publisher, section):
        """Leaving CONNECTED makes a healthy target unhealthy."""
        publisher.link(LinkState.CONNECTED)
        publisher.data(DemoSnapshot(1.0))
        assert section.get("rig").healthy is True
        publisher.link(LinkState.DISCONNECTED)
        assert section.get("rig").healthy is False
        assert section.get("rig").data == DemoSnapshot(1.0)

    def test_failed_marks_unhealthy_keeps_data(self, publisher, section):
        """failed() drops health without touching the data."""
        publisher.data(DemoSnapshot(1.0))
        publisher.failed()
        record = section.get("rig")
        assert record.healthy is False
        assert record.data == DemoSnapshot(1.0)

    def test_failed_when_already_unhealthy_publishes_nothing(self, publisher, section):
        """failed() marks a first attempt once, then does not publish again."""
        publisher.failed()
        assert publisher.record.attempted is True
        before = section.generation
        record = publisher.record
        publisher.failed()
        assert section.generation == before
        assert publisher.record is record

    def test_withdraw(self, publisher, section):
        """withdraw() removes the target from the section."""
        publisher.withdraw()
        assert section.get("rig") is None
        assert section.records() == []
