"""Freshness at scrape time: record max ages and data that ages in parts.

Time only moves when a test advances the fake clock, and no test publishes after
the first record: whatever disappears, disappears because the clock crossed an
instant, not because a worker said so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import Exposition, RecordView
from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.snapshot import LinkState

from .helpers import running, settle

QUICK_AGE = 5.0
SLOW_AGE = 20.0
MAX_AGE = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Parts:
    """A snapshot with a required part (``quick``) and an optional one (``slow``).

    Each part is valid up to and including its ``*_until`` instant.
    """

    quick: float | None
    quick_until: float
    slow: float | None
    slow_until: float
    name: str = "rig"

    def expiries(self) -> Iterable[float]:
        return (self.quick_until, self.slow_until)

    def at(self, now: float) -> Parts:
        return replace(
            self,
            quick=self.quick if now <= self.quick_until else None,
            slow=self.slow if now <= self.slow_until else None,
        )

    def current(self, now: float) -> bool:
        return now <= self.quick_until


PARTS_SPECS: list[MetricSpec[Any]] = [
    MetricSpec(
        name="x_quick",
        help="A value that ages fast.",
        kind=Kind.GAUGE,
        value_fn=lambda p: one(p.quick),
    ),
    MetricSpec(
        name="x_slow",
        help="A value that ages slowly.",
        kind=Kind.GAUGE,
        value_fn=lambda p: one(p.slow),
    ),
    MetricSpec(
        name="x_thing_info",
        help="The thing's name; always 1.",
        kind=Kind.INFO,
        labels=("name",),
        value_fn=lambda p: [((p.name,), 1.0)],
        keep_when_stale=True,
    ),
]


def parts(now: float) -> Parts:
    return Parts(
        quick=1.5, quick_until=now + QUICK_AGE, slow=2.5, slow_until=now + SLOW_AGE
    )


@pytest.fixture
def exposition(clock) -> Exposition:
    exposition = Exposition(clock, CollectorRegistry())
    exposition.add_section("x", "x", PARTS_SPECS)
    return exposition


@pytest.fixture
def publisher(exposition, clock) -> TargetPublisher[Any]:
    """A healthy target whose data was taken now: record max age 60 s."""
    publisher: TargetPublisher[Any] = TargetPublisher(
        exposition.section("x"), "a", (("target", "a"),), max_age=MAX_AGE, clock=clock
    )
    publisher.link(LinkState.CONNECTED)
    publisher.data(parts(clock.time()))
    return publisher


def text(body: bytes | None) -> str:
    assert body is not None
    return body.decode()


def value(body: str, name: str) -> float | None:
    """Return the value of the one sample called ``name`` in ``body``, if any."""
    found = [s.value for f in parse_text(body) for s in f.samples if s.name == name]
    assert len(found) <= 1
    return found[0] if found else None


class TestPartsAgeAtRenderTime:
    """Without any publish, each part leaves the body at its own instant."""

    def test_everything_shown_while_fresh(self, exposition, publisher, clock):
        """Before any deadline both values and up=1 are served."""
        clock.advance(QUICK_AGE)  # exactly at the quick part's age: still valid
        body = text(exposition.body())
        assert 'x_quick{target="a"} 1.5\n' in body
        assert 'x_slow{target="a"} 2.5\n' in body
        assert 'x_up{target="a"} 1.0\n' in body

    def test_required_part_past_its_age(self, exposition, publisher, clock):
        """Past the quick age: quick value gone, up 0, slow value and info stay."""
        taken = clock.time()
        exposition.body()
        clock.advance(QUICK_AGE + 0.01)
        body = text(exposition.body())
        assert "x_quick{" not in body
        assert 'x_slow{target="a"} 2.5\n' in body
        assert 'x_up{target="a"} 0.0\n' in body
        assert value(body, "x_last_success_timestamp_seconds") == taken
        assert 'x_thing_info{target="a",name="rig"} 1.0\n' in body

    def test_later_part_then_record(self, exposition, publisher, clock):
        """Past the slow age both values are gone; past max age only health stays."""
        clock.advance(SLOW_AGE + 0.01)
        body = text(exposition.body())
        assert "x_quick{" not in body
        assert "x_slow{" not in body
        assert 'x_thing_info{target="a",name="rig"} 1.0\n' in body
        clock.advance(MAX_AGE)
        body = text(exposition.body())
        assert 'x_up{target="a"} 0.0\n' in body
        assert 'x_thing_info{target="a",name="rig"} 1.0\n' in body

    def test_republish_brings_values_back(self, exposition, publisher, clock):
        """New data after the deadlines shows both values and up=1 again."""
        clock.advance(SLOW_AGE + 1)
        assert "x_quick{" not in text(exposition.body())
        publisher.data(parts(clock.time()))
        body = text(exposition.body())
        assert 'x_quick{target="a"} 1.5\n' in body
        assert 'x_up{target="a"} 1.0\n' in body

    def test_health_row_reads_required_parts(self, exposition, publisher, clock):
        """The up row sees fresh=False once the required part expired."""
        seen: list[bool] = []

        def probe(view: RecordView) -> Iterable[Sample]:
            seen.append(view.fresh)
            return ()

        section = exposition.add_section(
            "y",
            "y",
            [
                MetricSpec(
                    name="y_probe",
                    help="Probe.",
                    kind=Kind.GAUGE,
                    value_fn=probe,
                    on_record=True,
                )
            ],
        )
        section.publish(replace(publisher.record, name="b"))
        exposition.body()
        clock.advance(QUICK_AGE + 1)
        exposition.body()
        assert seen == [True, False]


class TestCachedUntilTheNextInstant:
    """Blocks and bodies are kept exactly until something they show expires."""

    def test_body_kept_between_instants(self, exposition, publisher, clock):
        """Moving the clock without crossing an instant keeps the same body."""
        first = exposition.body()
        clock.advance(QUICK_AGE - 1)
        assert exposition.body() is first
        clock.advance(2)
        assert exposition.body() is not first

    def test_only_the_expiring_target_is_rendered_again(self, exposition, clock):
        """Crossing one target's deadline re-renders that target only."""
        calls: list[str] = []

        def counting(p: Parts) -> Iterable[Sample]:
            calls.append(p.name)
            return one(p.quick)

        section = exposition.add_section(
            "z",
            "z",
            [MetricSpec(name="z_v", help="V.", kind=Kind.GAUGE, value_fn=counting)],
        )
        now = clock.time()
        for name, age in (("early", 1.0), ("late", 100.0)):
            publisher: TargetPublisher[Any] = TargetPublisher(
                section, name, (("t", name),), max_age=MAX_AGE, clock=clock
            )
            publisher.data(
                Parts(
                    quick=1.0,
                    quick_until=now + age,
                    slow=None,
                    slow_until=now + age,
                    name=name,
                )
            )
        exposition.body()
        assert sorted(calls) == ["early", "late"]
        calls.clear()
        clock.advance(2)
        exposition.body()
        assert calls == ["early"]


class TestServedIsExact:
    """Prepared bytes are handed out only while nothing in them has expired."""

    async def test_part_deadline_between_renders(self, exposition, publisher, clock):
        """A deadline crossed after a render: served() is None, the body omits it."""
        assert exposition.served(False, False) is None  # a scraper asks once
        assert await exposition.refresh() is True
        prepared = exposition.served(False, False)
        assert 'x_quick{target="a"} 1.5\n' in text(prepared)
        clock.advance(QUICK_AGE)
        assert exposition.served(False, False) is prepared  # still exact
        clock.advance(0.01)
        assert exposition.served(False, False) is None
        body = text(exposition.body())
        assert "x_quick{" not in body
        assert 'x_up{target="a"} 0.0\n' in body
        assert await exposition.refresh() is True
        assert text(exposition.served(False, False)) == body

    async def test_record_max_age_between_renders(self, exposition, clock):
        """A plain record's max age ends the prepared bytes too, gzip included."""
        publisher: TargetPublisher[Any] = TargetPublisher(
            exposition.section("x"), "p", (("target", "p"),), max_age=3.0, clock=clock
        )
        publisher.data(Parts(quick=1.0, quick_until=1e12, slow=2.0, slow_until=1e12))
        exposition.served(False, True)  # ask for the gzip variant
        await exposition.refresh()
        assert exposition.served(False, True) is not None
        clock.advance(3.01)
        assert exposition.served(False, True) is None
        assert exposition.served(False, False) is None
        assert "x_quick{" not in text(exposition.body())

    async def test_unchanged_when_nothing_expires(self, exposition, publisher, clock):
        """Without a crossed instant refresh keeps the bytes it prepared."""
        exposition.served(False, False)  # a scraper asks once
        await exposition.refresh()
        first = exposition.served(False, False)
        clock.advance(QUICK_AGE / 2)
        assert await exposition.refresh() is False
        assert exposition.served(False, False) is first


class TestRendererWakesAtTheDeadline:
    """The background renderer prepares new bytes when the clock crosses an instant."""

    async def test_renderer_drops_values_without_a_publish(
        self, exposition, publisher, clock
    ):
        """Advancing past a part's age makes the renderer re-render on its own."""
        async with running(lambda: exposition.run_renderer(0.1)):
            await settle(lambda: exposition.served(False, False) is not None)
            assert "x_quick{" in text(exposition.served(False, False))
            await settle(lambda: clock.sleeping >= 1)  # waiting for the deadline
            clock.advance(QUICK_AGE + 0.01)

            def rendered_again() -> bool:
                body = exposition.served(False, False)
                return body is not None and b"x_quick{" not in body

            await settle(rendered_again)
            assert 'x_up{target="a"} 0.0\n' in text(exposition.served(False, False))
