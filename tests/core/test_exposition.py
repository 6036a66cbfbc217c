"""Tests of the cached `/metrics` body: golden output, caching, staleness, grouping."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_latest_openmetrics,
)
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import (
    Exposition,
    RecordView,
    Section,
    health_specs,
)
from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.core.negotiation import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.snapshot import LinkState, TargetRecord


@dataclass(frozen=True, slots=True)
class Rig:
    """A snapshot with one value for each kind of row."""

    temperature: float | None
    errors: tuple[tuple[str, float], ...]
    frames: float
    model: str
    firmware: str


def _temperature(rig: Rig) -> Iterable[Sample]:
    return one(rig.temperature)


def _errors(rig: Rig) -> Iterable[Sample]:
    return [((axis,), value) for axis, value in rig.errors]


def _frames(rig: Rig) -> Iterable[Sample]:
    return one(rig.frames)


def _camera(rig: Rig) -> Iterable[Sample]:
    return [((rig.model, rig.firmware), 1.0)]


RIG_SPECS: list[MetricSpec[Any]] = [
    MetricSpec(
        name="rig_temperature_celsius",
        help="Sensor temperature in degrees Celsius,\nfrom the C:\\temp field.",
        kind=Kind.GAUGE,
        value_fn=_temperature,
    ),
    MetricSpec(
        name="rig_guide_error_pixels",
        help="Guide error per axis in pixels.",
        kind=Kind.GAUGE,
        value_fn=_errors,
        labels=("axis",),
    ),
    MetricSpec(
        name="rig_frames_total",
        help="Frames taken since the rig started.",
        kind=Kind.COUNTER,
        value_fn=_frames,
    ),
    MetricSpec(
        name="rig_camera_info",
        help="The camera model and firmware; always 1.",
        kind=Kind.INFO,
        value_fn=_camera,
        labels=("model", "firmware"),
        keep_when_stale=True,
    ),
]

ALPHA = Rig(
    temperature=21.5,
    errors=(("ra", 0.25), ("dec", -0.5)),
    frames=12.0,
    model='ZWO "ASI"\\120',
    firmware="1.2\nbeta",
)
BETA = Rig(
    temperature=None, errors=(("ra", 1.0),), frames=0.0, model="QHY", firmware="9"
)
IDENTITY_ALPHA = (("host", "alpha"), ("inst", "1"))
IDENTITY_BETA = (("host", "beta"), ("inst", "2"))


def _records(now: float) -> list[TargetRecord[Any]]:
    alpha = TargetRecord(name="a", identity=IDENTITY_ALPHA, max_age=30.0)
    alpha = replace(
        alpha.with_data(ALPHA, now).with_link(LinkState.CONNECTED), reconnects=2
    )
    beta = TargetRecord(name="b", identity=IDENTITY_BETA, max_age=30.0)
    beta = beta.with_data(BETA, now - 5).with_link(LinkState.ERROR)
    return [alpha, beta]


class ReferenceCollector:
    """Yields by hand what the section should render, as prometheus_client families."""

    def __init__(self, section: Section, now: float) -> None:
        self._help = {spec.name: spec.help for spec in section.specs}
        self._now = now

    def collect(self) -> Iterator[Metric]:
        h = self._help
        ident = ["host", "inst"]
        up = GaugeMetricFamily("rig_up", h["rig_up"], labels=ident)
        up.add_metric(["alpha", "1"], 1.0)
        up.add_metric(["beta", "2"], 0.0)
        yield up
        name = "rig_last_success_timestamp_seconds"
        last = GaugeMetricFamily(name, h[name], labels=ident)
        last.add_metric(["alpha", "1"], self._now)
        last.add_metric(["beta", "2"], self._now - 5)
        yield last
        name = "rig_exporter_reconnects_total"
        reconnects = CounterMetricFamily(name, h[name], labels=ident)
        reconnects.add_metric(["alpha", "1"], 2.0)
        reconnects.add_metric(["beta", "2"], 0.0)
        yield reconnects
        name = "rig_exporter_link_state"
        link = GaugeMetricFamily(name, h[name], labels=[*ident, "state"])
        for host, inst, current in (
            ("alpha", "1", "connected"),
            ("beta", "2", "error"),
        ):
            for state in ("connecting", "connected", "disconnected", "error"):
                link.add_metric([host, inst, state], 1.0 if state == current else 0.0)
        yield link
        name = "rig_temperature_celsius"
        temperature = GaugeMetricFamily(name, h[name], labels=ident)
        temperature.add_metric(["alpha", "1"], 21.5)
        yield temperature
        name = "rig_guide_error_pixels"
        errors = GaugeMetricFamily(name, h[name], labels=[*ident, "axis"])
        errors.add_metric(["alpha", "1", "ra"], 0.25)
        errors.add_metric(["alpha", "1", "dec"], -0.5)
        errors.add_metric(["beta", "2", "ra"], 1.0)
        yield errors
        name = "rig_frames_total"
        frames = CounterMetricFamily(name, h[name], labels=ident)
        frames.add_metric(["alpha", "1"], 12.0)
        frames.add_metric(["beta", "2"], 0.0)
        yield frames
        name = "rig_camera_info"
        camera = InfoMetricFamily("rig_camera", h[name], labels=ident)
        camera.add_metric(
            ["alpha", "1"], {"model": 'ZWO "ASI"\\120', "firmware": "1.2\nbeta"}
        )
        camera.add_metric(["beta", "2"], {"model": "QHY", "firmware": "9"})
        yield camera


@pytest.fixture
def exposition(clock):
    """Return an exposition with an empty self registry and the rig section."""
    exposition = Exposition(clock, CollectorRegistry())
    exposition.add_section("rig", "rig", RIG_SPECS)
    return exposition


@pytest.fixture
def golden(exposition, clock):
    """Return the exposition holding two targets and the matching reference registry."""
    section = exposition.section("rig")
    for record in _records(clock.time()):
        section.publish(record)
    reference = CollectorRegistry(auto_describe=False)
    reference.register(ReferenceCollector(section, clock.time()))
    return exposition, reference


def _families(text: str) -> list[str]:
    return [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]


class TestGolden:
    """The renderer writes what prometheus_client writes for the same families."""

    def test_text_format_matches_prometheus_client(self, golden):
        """Parsed text output equals the parse of generate_latest of the reference."""
        exposition, reference = golden
        ours = list(parse_text(exposition.body().decode()))
        theirs = list(parse_text(generate_latest(reference).decode()))
        assert [m.name for m in ours] == [m.name for m in theirs]
        assert ours == theirs

    def test_openmetrics_matches_prometheus_client(self, golden):
        """Parsed OpenMetrics output equals the parse of the OpenMetrics reference."""
        exposition, reference = golden
        ours = list(parse_openmetrics(exposition.body(openmetrics=True).decode()))
        theirs = list(
            parse_openmetrics(generate_latest_openmetrics(reference).decode())
        )
        assert [(m.name, m.type) for m in ours] == [(m.name, m.type) for m in theirs]
        assert ours == theirs

    def test_openmetrics_types(self, golden):
        """OpenMetrics names counters and info families without suffix, typed."""
        exposition, _ = golden
        families = {
            m.name: m.type
            for m in parse_openmetrics(exposition.body(openmetrics=True).decode())
        }
        assert families["rig_frames"] == "counter"
        assert families["rig_camera"] == "info"
        assert families["rig_exporter_reconnects"] == "counter"
        assert families["rig_temperature_celsius"] == "gauge"

    def test_text_escapes_label_values(self, golden):
        """Quotes, backslashes and newlines in label values are escaped on the wire."""
        exposition, _ = golden
        text = exposition.body().decode()
        assert 'model="ZWO \\"ASI\\"\\\\120",firmware="1.2\\nbeta"} 1.0\n' in text
        assert (
            "# HELP rig_temperature_celsius Sensor temperature in degrees Celsius,"
            "\\nfrom the C:\\\\temp field.\n"
        ) in text

    def test_content_types(self):
        """The content types are the two the formats define."""
        assert TEXT_CONTENT_TYPE == "text/plain; version=0.0.4"
        assert OPENMETRICS_CONTENT_TYPE == (
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )


class TestGrouping:
    """All targets' series of a family sit under one HELP/TYPE header."""

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_one_header_per_family_and_contiguous_series(self, golden, openmetrics):
        """Each family has one header and its samples follow it without interruption."""
        exposition, _ = golden
        text = exposition.body(openmetrics=openmetrics).decode()
        families = _families(text)
        assert len(families) == len(set(families)) == 8
        assert text.count("# HELP ") == 8
        current = None
        seen_samples: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                current = line.split()[2]
            elif line and not line.startswith("#"):
                assert current is not None
                assert line.startswith(current), (current, line)
                seen_samples[current] = seen_samples.get(current, 0) + 1
        # Both targets landed in the labelled families.
        assert seen_samples["rig_up"] == 2
        assert seen_samples["rig_exporter_link_state"] == 8

    def test_promtool_accepts_text(self, golden):
        """promtool check metrics finds no problem in the two-target text output."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail("promtool is missing; apt-get install prometheus")
        exposition, _ = golden
        result = subprocess.run(  # noqa: S603 - promtool from PATH, fixed args
            [promtool, "check", "metrics"],
            input=exposition.body(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        findings = (result.stdout + result.stderr).decode()
        assert result.returncode == 0, findings
        assert findings.strip() == ""

    def test_family_without_any_sample_is_omitted(self, exposition, clock):
        """A family no target has a value for gets no header at all."""
        section = exposition.section("rig")
        section.publish(
            TargetRecord(name="b", identity=IDENTITY_BETA).with_data(BETA, clock.time())
        )
        text = exposition.body().decode()
        assert "rig_temperature_celsius" not in text
        assert "# TYPE rig_frames_total counter\n" in text


class TestCaching:
    """The body and its gzip are rebuilt only when something changed."""

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_same_bytes_object_while_unchanged(self, golden, openmetrics):
        """Repeated scrapes return the very same bytes object."""
        exposition, _ = golden
        first = exposition.body(openmetrics)
        assert exposition.body(openmetrics) is first

    def test_new_body_after_publish(self, golden, clock):
        """Publishing a record yields a new body with the new value."""
        exposition, _ = golden
        section = exposition.section("rig")
        first = exposition.body()
        record = section.get("a")
        assert record is not None
        section.publish(record.with_data(replace(ALPHA, frames=13.0), clock.time()))
        second = exposition.body()
        assert second is not first
        assert b'rig_frames_total{host="alpha",inst="1"} 13.0\n' in second
        assert b'rig_frames_total{host="alpha",inst="1"} 12.0\n' in first

    def test_formats_are_cached_separately(self, golden):
        """The text and OpenMetrics bodies are distinct and each cached."""
        exposition, _ = golden
        text = exposition.body(False)
        om = exposition.body(True)
        assert text != om
        assert exposition.body(False) is text
        assert exposition.body(True) is om

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_gzip_body(self, golden, clock, openmetrics):
        """The gzip decompresses to the body, is cached, and follows a publish."""
        exposition, _ = golden
        packed = exposition.gzip_body(openmetrics)
        assert gzip.decompress(packed) == exposition.body(openmetrics)
        assert exposition.gzip_body(openmetrics) is packed
        section = exposition.section("rig")
        section.publish(section.records()[0].with_data(BETA, clock.time()))
        repacked = exposition.gzip_body(openmetrics)
        assert repacked is not packed
        assert gzip.decompress(repacked) == exposition.body(openmetrics)

    def test_unchanged_targets_are_not_rerendered(self, clock):
        """A publish re-renders only the target whose record changed."""
        calls: list[str] = []

        def counting(view: RecordView) -> Iterable[Sample]:
            calls.append(view.record.name)
            return one(1.0)

        spec = MetricSpec(
            name="x_probe",
            help="Probe.",
            kind=Kind.GAUGE,
            value_fn=counting,
            on_record=True,
        )
        exposition = Exposition(clock, CollectorRegistry())
        section = exposition.add_section("x", "x", [spec])
        for name in ("a", "b"):
            section.publish(TargetRecord(name=name, identity=(("t", name),)))
        exposition.body()
        assert sorted(calls) == ["a", "b"]
        calls.clear()
        section.publish(TargetRecord(name="b", identity=(("t", "b"),), reconnects=1))
        exposition.body()
        exposition.body(openmetrics=True)
        assert calls == ["b"]

    def test_self_metrics_refresh_at_most_once_a_second(self, clock):
        """Self metrics are re-read only after the monotonic clock moves a second."""
        registry = CollectorRegistry()
        gauge = Gauge("x_self_thing", "A self metric.", registry=registry)
        gauge.set(1)
        exposition = Exposition(clock, registry)
        assert b"x_self_thing 1.0\n" in exposition.body()
        gauge.set(2)
        assert b"x_self_thing 1.0\n" in exposition.body()
        clock.advance(1.0)
        assert b"x_self_thing 2.0\n" in exposition.body()


class TestStaleness:
    """Past max_age a target keeps its health rows but loses its values."""

    @pytest.fixture
    def published(self, exposition, clock):
        section = exposition.section("rig")
        publisher: TargetPublisher[Any] = TargetPublisher(
            section, "a", IDENTITY_ALPHA, max_age=10.0, clock=clock
        )
        publisher.link(LinkState.CONNECTED, reconnects=1)
        publisher.data(ALPHA)
        return publisher

    def test_fresh_target_has_values(self, exposition, published):
        """Before max_age the value series and up=1 are served."""
        text = exposition.body().decode()
        assert 'rig_up{host="alpha",inst="1"} 1.0\n' in text
        assert 'rig_temperature_celsius{host="alpha",inst="1"} 21.5\n' in text

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_stale_target_drops_values_keeps_health(
        self, exposition, published, clock, openmetrics
    ):
        """After max_age up is 0, health and keep_when_stale rows stay, values go."""
        taken = clock.time()
        fresh = exposition.body(openmetrics)
        clock.advance(10.5)
        stale = exposition.body(openmetrics)
        assert stale is not fresh
        text = stale.decode()
        assert 'rig_up{host="alpha",inst="1"} 0.0\n' in text
        last_success = [
            s.value
            for fam in (parse_openmetrics if openmetrics else parse_text)(text)
            for s in fam.samples
            if s.name == "rig_last_success_timestamp_seconds"
        ]
        assert last_success == [taken]
        assert 'rig_camera_info{host="alpha",inst="1",model=' in text
        assert (
            'rig_exporter_link_state{host="alpha",inst="1",state="connected"} 1.0'
            in (text)
        )
        assert "rig_temperature_celsius" not in text
        assert "rig_guide_error_pixels" not in text
        assert "rig_frames" not in text
        if openmetrics:
            assert text.endswith("# EOF\n")

    def test_goes_stale_within_one_self_refresh_tick(self, exposition, clock):
        """Crossing max_age between two scrapes in one second still drops values."""
        clock.advance(0.2)
        publisher: TargetPublisher[Any] = TargetPublisher(
            exposition.section("rig"), "a", IDENTITY_ALPHA, max_age=0.5, clock=clock
        )
        publisher.data(ALPHA)
        assert b"rig_temperature_celsius" in exposition.body()
        clock.advance(0.6)  # monotonic 0.8: same self-metrics tick, data now stale
        assert b"rig_temperature_celsius" not in exposition.body()

    def test_exactly_at_max_age_is_still_fresh(self, exposition, published, clock):
        """At exactly max_age the values are still served."""
        clock.advance(10.0)
        assert b"rig_temperature_celsius" in exposition.body()

    def test_new_data_makes_target_fresh_again(self, exposition, published, clock):
        """Publishing after staleness brings the values and up=1 back."""
        clock.advance(60)
        assert b"rig_temperature_celsius" not in exposition.body()
        published.data(ALPHA)
        body = exposition.body()
        assert b"rig_temperature_celsius" in body
        assert b'rig_up{host="alpha",inst="1"} 1.0\n' in body

    def test_target_without_data_shows_only_health(self, exposition, clock):
        """A target that never reported shows up=0 and link state, nothing else."""
        TargetPublisher(
            exposition.section("rig"), "n", (("host", "new"),), max_age=5, clock=clock
        )
        families = set(_families(exposition.body().decode()))
        assert families == {
            "rig_up",
            "rig_exporter_reconnects_total",
            "rig_exporter_link_state",
        }


class TestRemoval:
    """A removed target's series vanish from the next scrape."""

    def test_removed_target_vanishes(self, golden):
        """After remove, no series carries the removed target's labels."""
        exposition, _ = golden
        before = exposition.body()
        assert b'host="alpha"' in before
        exposition.section("rig").remove("a")
        after = exposition.body()
        assert after is not before
        assert b'host="alpha"' not in after
        assert b'host="beta"' in after

    def test_removing_every_target_leaves_no_families(self, golden):
        """With no targets left the section renders nothing."""
        exposition, _ = golden
        section = exposition.section("rig")
        for record in section.records():
            section.remove(record.name)
        assert exposition.body() == b""
        assert exposition.body(openmetrics=True) == b"# EOF\n"

    def test_removing_unknown_target_changes_nothing(self, golden):
        """Removing a name that was never published keeps the cached body."""
        exposition, _ = golden
        body = exposition.body()
        generation = exposition.section("rig").generation
        exposition.section("rig").remove("nobody")
        assert exposition.section("rig").generation == generation
        assert exposition.body() is body


class TestSelfRegistry:
    """The exporter's own registry is appended after the device sections."""

    @pytest.fixture
    def with_self(self, clock):
        registry = CollectorRegistry()
        Gauge("x_self_up", "The exporter itself.", registry=registry).set(1)
        exposition = Exposition(clock, registry)
        section = exposition.add_section("rig", "rig", RIG_SPECS)
        for record in _records(clock.time()):
            section.publish(record)
        return exposition

    def test_text_includes_self_block_last(self, with_self):
        """The self gauge appears after the device families."""
        text = with_self.body().decode()
        assert text.endswith(
            "# HELP x_self_up The exporter itself.\n"
            "# TYPE x_self_up gauge\nx_self_up 1.0\n"
        )
        assert text.index("rig_up") < text.index("x_self_up")

    def test_openmetrics_ends_with_exactly_one_eof(self, with_self):
        """The OpenMetrics body has one ``# EOF``, at its very end, and parses."""
        body = with_self.body(openmetrics=True)
        assert body.endswith(b"x_self_up 1.0\n# EOF\n")
        assert body.count(b"# EOF") == 1
        names = [m.name for m in parse_openmetrics(body.decode())]
        assert names[-1] == "x_self_up"

    def test_only_self_registry(self, clock):
        """Without sections the body is exactly prometheus_client's output."""
        registry = CollectorRegistry()
        Gauge("x_alone", "Alone.", registry=registry).set(3)
        exposition = Exposition(clock, registry)
        assert exposition.body() == generate_latest(registry)
        assert exposition.body(True) == generate_latest_openmetrics(registry)


class TestSections:
    """Sections are per exporter kind and keep records in publication order."""

    def test_add_section_returns_existing(self, exposition):
        """Adding a kind twice returns the first section unchanged."""
        first = exposition.section("rig")
        again = exposition.add_section("rig", "other", [])
        assert again is first
        assert again.prefix == "rig"

    def test_unknown_section_raises_key_error(self, exposition):
        """Looking up an absent kind raises KeyError."""
        with pytest.raises(KeyError):
            exposition.section("nope")

    def test_sections_in_registration_order(self, exposition):
        """sections() lists kinds in the order they were added."""
        exposition.add_section("zzz", "zzz", [])
        exposition.add_section("aaa", "aaa", [])
        assert [s.kind for s in exposition.sections()] == ["rig", "zzz", "aaa"]

    def test_section_prepends_health_rows(self):
        """A section's table is the four health rows, then the exporter's rows."""
        section = Section("rig", "rig", RIG_SPECS)
        assert [s.name for s in section.specs[:4]] == [
            s.name for s in health_specs("rig")
        ]
        assert section.specs[4:] == RIG_SPECS

    def test_section_rejects_clash_with_health_rows(self):
        """An exporter row named like a health row is a duplicate family."""
        clash = MetricSpec(name="rig_up", help="Mine.", kind=Kind.GAUGE, value_fn=one)
        with pytest.raises(ValueError, match="duplicate metric family rig_up"):
            Section("rig", "rig", [clash])

    def test_records_get_and_freshness(self, clock):
        """records() keeps publication order; republishing keeps a target's place."""
        section = Section("rig", "rig", RIG_SPECS)
        alpha, beta = _records(clock.time())
        section.publish(alpha)
        section.publish(beta)
        section.publish(replace(alpha, reconnects=9))
        assert [r.name for r in section.records()] == ["a", "b"]
        alpha_now = section.get("a")
        assert alpha_now is not None
        assert alpha_now.reconnects == 9
        assert section.get("zzz") is None
        assert section.freshness(clock.time()) == (True, True)
        assert section.freshness(clock.time() + 26) == (True, False)
        assert section.generation == 3


class TestHealthRows:
    """The health rows read the record and its freshness."""

    @pytest.mark.parametrize(
        ("healthy", "fresh", "expected"),
        [
            pytest.param(True, True, 1.0, id="healthy-fresh"),
            pytest.param(True, False, 0.0, id="healthy-stale"),
            pytest.param(False, True, 0.0, id="unhealthy-fresh"),
        ],
    )
    def test_up(self, healthy, fresh, expected):
        """up is 1 only when healthy and fresh."""
        up = health_specs("x")[0]
        record = TargetRecord(name="a", identity=(), healthy=healthy)
        assert list(up.value_fn(RecordView(record, fresh))) == [((), expected)]

    def test_link_state_one_hot(self):
        """Exactly the current link state is 1."""
        link = health_specs("x")[3]
        record = TargetRecord(name="a", identity=(), link=LinkState.DISCONNECTED)
        samples = dict(link.value_fn(RecordView(record, True)))
        assert samples == {
            ("connecting",): 0.0,
            ("connected",): 0.0,
            ("disconnected",): 1.0,
            ("error",): 0.0,
        }

    def test_no_last_success_no_sample(self):
        """A target that never succeeded has no last-success sample."""
        last = health_specs("x")[1]
        record = TargetRecord(name="a", identity=())
        assert list(last.value_fn(RecordView(record, False))) == []


class TestServedVariants:
    async def test_renderer_prepares_only_requested_variants(self, golden, clock):
        """Nothing is prepared until a scraper asks; then only what it asked for."""
        exposition, _ = golden
        assert await exposition.refresh() is False  # nobody scrapes: no work
        assert exposition.served(False, False) is None  # the first scrape asks
        assert await exposition.refresh() is True
        assert exposition.served(False, False) == exposition.body(False)
        assert exposition.served(True, True) is None  # not asked for before
        assert await exposition.refresh() is True  # now it is wanted
        packed = exposition.served(True, True)
        assert packed is not None
        assert gzip.decompress(packed) == exposition.body(True)
        assert await exposition.refresh() is False  # nothing changed since

    async def test_variants_nobody_asks_for_are_dropped(self, golden, clock):
        """A variant not scraped for five minutes is no longer prepared."""
        exposition, _ = golden
        exposition.served(True, True)
        assert await exposition.refresh() is True
        assert exposition.served(True, True) is not None
        clock.advance(301)
        assert await exposition.refresh() is False
        assert exposition.served(False, False) is None

    async def test_unchanged_self_metrics_keep_the_body(self, golden, clock):
        """A new second with the same self-metrics does not rebuild the body."""
        exposition, _ = golden
        exposition.served(False, False)  # a scraper asks once
        await exposition.refresh()
        first = exposition.served(False, False)
        clock.advance(1.5)
        assert await exposition.refresh() is False
        assert exposition.served(False, False) is first


class TestServedAfterChanges:
    """How old prepared bytes may be served once something changed since."""

    async def _prepared(self, exposition) -> bytes:
        exposition.served(False, False)  # a scraper asks once
        assert await exposition.refresh() is True
        first = exposition.served(False, False)
        assert first is not None
        return first

    async def test_new_values_wait_at_most_max_lag(self, golden, clock):
        """While the renderer runs, a change may wait for it up to max_lag."""
        exposition, _ = golden
        first = await self._prepared(exposition)
        section = exposition.section("rig")
        renderer = asyncio.create_task(exposition.run_renderer(60.0))
        await asyncio.sleep(0)  # it starts (and finds nothing new to render)
        section.publish(section.records()[0].with_data(BETA, clock.time()))
        assert exposition.served(False, False) is first  # just made: still served
        clock.advance(exposition.max_lag() + 0.001)
        assert exposition.served(False, False) is None  # too old for the change
        renderer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renderer
        body = await exposition.prepare(False, False)
        assert body == exposition.body(False)
        assert body != first
        assert exposition.served(False, False) is body

    async def test_without_a_renderer_a_change_is_rendered_at_once(self, golden, clock):
        exposition, _ = golden
        first = await self._prepared(exposition)
        section = exposition.section("rig")
        section.publish(section.records()[0].with_data(BETA, clock.time()))
        assert exposition.served(False, False) is None
        assert await exposition.prepare(False, False) != first

    async def test_a_large_render_under_way_is_waited_for(self, golden, clock):
        """A scrape arriving mid-render of a large body takes that render's bytes."""
        exposition, _ = golden
        await self._prepared(exposition)
        section = exposition.section("rig")
        section.publish(section.records()[0].with_data(BETA, clock.time()))
        gate = asyncio.Event()

        async def render() -> None:
            async with exposition._rendering:  # the renderer, mid-render
                await gate.wait()
                await exposition._refresh()

        renderer = asyncio.create_task(render())
        await asyncio.sleep(0)
        exposition._render_wall = 0.5  # a large body: worth waiting for
        scrape = asyncio.create_task(exposition.prepare(False, False))
        await asyncio.sleep(0)
        assert not scrape.done()
        gate.set()
        body = await scrape
        await renderer
        assert body is exposition.served(False, False)
        assert body == exposition.body(False)

    async def test_unchanged_bytes_are_served_however_old(self, golden, clock):
        exposition, _ = golden
        first = await self._prepared(exposition)
        clock.advance(exposition.max_lag() * 10)
        assert exposition.served(False, False) is first

    async def test_a_removed_target_is_never_served_late(self, golden, clock):
        exposition, _ = golden
        await self._prepared(exposition)
        exposition.section("rig").remove("a")
        assert exposition.served(False, False) is None
        assert b'host="alpha"' not in await exposition.prepare(False, False)

    async def test_a_scrape_made_body_serves_the_next_scrapes(self, golden, clock):
        exposition, _ = golden
        await self._prepared(exposition)
        section = exposition.section("rig")
        section.publish(section.records()[0].with_data(BETA, clock.time()))
        clock.advance(exposition.max_lag() + 0.001)
        first = await exposition.current(False, True)
        assert await exposition.current(False, True) is first
        assert gzip.decompress(first) == exposition.body(False)


class TestRenderDue:
    """A steady scraper gets a render just before it comes, not at every change."""

    def test_unknown_until_three_scrapes(self, exposition, clock):
        exposition.served(False, False)
        clock.advance(5)
        exposition.served(False, False)
        assert exposition.render_due_in() == 0.0

    def test_just_before_the_next_scrape(self, exposition, clock):
        for _ in range(3):
            exposition.served(False, False)
            clock.advance(5)
        exposition.served(False, False)
        clock.advance(1)  # one second after the last scrape
        due = exposition.render_due_in()
        assert due == pytest.approx(4 - exposition.lead())

    def test_frequent_scrapers_follow_changes(self, exposition, clock):
        for _ in range(4):
            exposition.served(False, False)
            clock.advance(0.15)
        assert exposition.render_due_in() == 0.0

    def test_a_scraper_that_stopped_is_not_waited_for(self, exposition, clock):
        for _ in range(4):
            exposition.served(False, False)
            clock.advance(5)
        clock.advance(6)  # more than two periods since the last scrape
        assert exposition.render_due_in() == 0.0


class TestRenderFailures:
    def test_a_raising_value_drops_only_that_family(self, clock):
        """A value function that raises loses its own rows; the rest still render."""

        def boom(_: object) -> Iterable[Sample]:
            raise OverflowError("int too large to convert to float")

        exposition = Exposition(clock, CollectorRegistry())
        section = exposition.add_section(
            "rig",
            "rig",
            [
                MetricSpec(
                    name="rig_bad", help="Breaks.", kind=Kind.GAUGE, value_fn=boom
                ),
                MetricSpec(
                    name="rig_good", help="Works.", kind=Kind.GAUGE,
                    value_fn=lambda _: one(2.0),
                ),
            ],
        )  # fmt: skip
        section.publish(
            TargetRecord(
                name="a",
                identity=(("target", "a"),),
                data=object(),
                taken_at=clock.time(),
                healthy=True,
                last_success=clock.time(),
            )
        )
        text = exposition.body().decode()
        assert 'rig_good{target="a"} 2.0' in text
        assert "rig_bad" not in text
        assert 'rig_up{target="a"} 1.0' in text
        assert section.render_errors == 1
