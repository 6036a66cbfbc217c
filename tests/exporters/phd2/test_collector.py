"""Tests for the PHD2 metric table rendered through the core exposition."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import Section
from exporterhub.core.metrics import Kind
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.phd2.collector import PHD2_SPECS, PREFIX, STATUSES, identity
from exporterhub.exporters.phd2.protocol import KNOWN_EVENTS, Event, parse_line
from exporterhub.exporters.phd2.state import ErrorType, Phd2Snapshot, Phd2State
from tests.reference import golden, normalise

NOW = 1_735_690_000.0
HOST = "observatory"


def ev(name: str, **fields: Any) -> Event:
    data = {"Event": name, "Timestamp": 1735690000.5, "Host": "OBSERVATORY", "Inst": 1}
    data.update(fields)
    event = parse_line(orjson.dumps(data))
    assert isinstance(event, Event)
    return event


def step(frame: int, ra: float, dec: float, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "Frame": frame,
        "Time": 2.0 * frame,
        "Mount": "On-camera",
        "dx": 0.4,
        "dy": 0.3,
        "RADistanceRaw": ra,
        "DECDistanceRaw": dec,
        "RADistanceGuide": ra / 2,
        "DECDistanceGuide": 0.0,
        "StarMass": 15873,
        "SNR": 31.08,
        "AvgDist": 0.47,
    }
    values.update(fields)
    return ev("GuideStep", **values)


CATCH_UP = [
    ev("Version", PHDVersion="2.6.14", PHDSubver="", OverlapSupport=True, MsgVersion=1),
    ev("StarSelected", X=1.0, Y=2.0),
    ev("CalibrationComplete", Mount="On-camera"),
    ev("StartGuiding"),
    ev("AppState", State="Guiding"),
]


def guiding_state(scale: float | None = 2.0) -> Phd2State:
    """A state with a bit of everything: steps, settle, dither, loss, polls."""
    state = Phd2State(3)
    events = [
        *CATCH_UP,
        step(1, 0.3, -0.4, RADuration=112, RADirection="East"),
        step(2, -0.6, 0.8, DECDuration=250, DECDirection="North", RALimited=True),
        ev("GuidingDithered", dx=1.0, dy=-1.0),
        ev("SettleBegin"),
        step(3, 3.0, 3.0),
        ev("SettleDone", Status=1, Error="x", TotalFrames=21, DroppedFrames=2),
        ev("StarLost", Frame=4, ErrorCode=2),
        ev("Alert", Msg="m", Type="warning"),
        ev("MultiStarReport"),
        step(5, 0.0, 0.5, HFD=2.46, RADuration=40, RADirection="West", ErrorCode=1),
    ]
    for event in events:
        state.apply(event, NOW)
    state.set_pixel_scale(scale)
    state.set_connected(True)
    state.set_equipment({"camera": True, "mount": False, "AO": True})
    state.count_error("parse", 2)
    return state


def publish(
    snapshot: Phd2Snapshot | None, *, taken_at: float = NOW, healthy: bool = True
) -> tuple[Section, TargetRecord[Phd2Snapshot]]:
    section = Section("phd2", PREFIX, PHD2_SPECS)
    record = TargetRecord(
        name="pier",
        identity=identity(snapshot, "127.0.0.1", 1),
        data=snapshot,
        taken_at=taken_at,
        max_age=60,
        link=LinkState.CONNECTED,
        healthy=healthy,
        last_success=taken_at,
        reconnects=2,
    )
    section.publish(record)
    return section, record


def render(section: Section, openmetrics: bool = False, now: float = NOW) -> str:
    body = b"".join(section.render(now, openmetrics=openmetrics))
    if openmetrics:
        body += b"# EOF\n"
    return body.decode()


def values(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a text exposition keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parse_text(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float],
    name: str,
    **labels: str,
) -> float | None:
    key = frozenset({"host": HOST, "inst": "1", **labels}.items())
    return samples.get((name, key))


def series(samples: dict, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (sample, labels) in samples if sample == name]


class TestCompatFamilies:
    def test_connected_and_equipment(self):
        """phd2_connected and phd2_current_equipment report the polled values."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        assert value(samples, "phd2_connected") == 1.0
        assert value(samples, "phd2_current_equipment", device="camera") == 1.0
        assert value(samples, "phd2_current_equipment", device="mount") == 0.0
        assert value(samples, "phd2_current_equipment", device="AO") == 1.0
        devices = {s["device"] for s in series(samples, "phd2_current_equipment")}
        assert devices == {"camera", "mount", "AO"}

    def test_unknown_poll_values_are_absent(self):
        """Unpolled connection, equipment and scale produce no series."""
        state = Phd2State(3)
        for event in CATCH_UP:
            state.apply(event, NOW)
        section, _ = publish(state.snapshot())
        samples = values(render(section))
        for name in ("phd2_connected", "phd2_current_equipment", "phd2_pixel_scale"):
            assert series(samples, name) == [], name
        assert series(samples, "phd2_rms") == []

    def test_status_has_all_states(self):
        """phd2_status lists all 8 states with Guiding and Settling both 1."""
        state = guiding_state()
        state.apply(ev("SettleBegin"), NOW)
        section, _ = publish(state.snapshot())
        samples = values(render(section))
        statuses = {s["status"] for s in series(samples, "phd2_status")}
        assert statuses == set(STATUSES)
        assert len(STATUSES) == 8
        current = {s: value(samples, "phd2_status", status=s) for s in STATUSES}
        assert current == {
            "Stopped": 0.0,
            "Selected": 0.0,
            "Calibrating": 0.0,
            "Guiding": 1.0,
            "LostLock": 0.0,
            "Paused": 0.0,
            "Looping": 0.0,
            "Settling": 1.0,
        }
        assert value(samples, "phd2_settling") == 1.0

    def test_status_unknown_is_all_zero(self):
        """Before PHD2 said its state every status series is 0."""
        state = Phd2State(3)
        state.apply(CATCH_UP[0], NOW)
        section, _ = publish(state.snapshot())
        samples = values(render(section))
        assert {value(samples, "phd2_status", status=s) for s in STATUSES} == {0.0}

    def test_pixel_scale(self):
        """phd2_pixel_scale carries arcsec per pixel and vanishes when unknown."""
        section, _ = publish(guiding_state(scale=1.93).snapshot())
        assert value(values(render(section)), "phd2_pixel_scale") == 1.93
        section, _ = publish(guiding_state(scale=None).snapshot())
        assert series(values(render(section)), "phd2_pixel_scale") == []

    def test_rms_rows(self):
        """phd2_rms has six px and six arcsec rows over the measured window."""
        section, _ = publish(guiding_state(scale=2.0).snapshot())
        samples = values(render(section))
        rows = series(samples, "phd2_rms")
        assert len(rows) == 12
        # Window of 3: steps 1, 2 and 5 (3 was settling and after a dither).
        ra = ((0.3**2 + 0.6**2 + 0.0**2) / 3) ** 0.5
        dec = ((0.4**2 + 0.8**2 + 0.5**2) / 3) ** 0.5
        got = value(samples, "phd2_rms", scale="px", source="RADistanceRaw")
        assert got == pytest.approx(ra)
        got = value(samples, "phd2_rms", scale="arcsec", source="DECDistanceRaw")
        assert got == pytest.approx(2 * dec)
        got = value(samples, "phd2_rms", scale="px", source="TotalDistanceRaw")
        assert got == pytest.approx((ra**2 + dec**2) ** 0.5)
        got = value(samples, "phd2_rms", scale="px", source="DECDistanceGuide")
        assert got == 0.0
        assert value(samples, "phd2_rms_window_samples") == 3.0

    def test_rms_without_scale_has_only_pixels(self):
        """With the scale unknown, phd2_rms keeps only its px rows."""
        section, _ = publish(guiding_state(scale=None).snapshot())
        rows = series(values(render(section)), "phd2_rms")
        assert {r["scale"] for r in rows} == {"px"}
        assert len(rows) == 6

    def test_error_total_lists_every_type(self):
        """phd2_error_total has every error type, counted ones non-zero."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        types = {s["type"] for s in series(samples, "phd2_error_total")}
        assert types == {e.value for e in ErrorType}
        assert value(samples, "phd2_error_total", type="parse") == 2.0
        assert value(samples, "phd2_error_total", type="rpc") == 0.0


class TestEventFamilies:
    def test_last_guide_step(self):
        """The last GuideStep's values appear in base units, arcsec with a scale."""
        section, _ = publish(guiding_state(scale=2.0).snapshot())
        samples = values(render(section))
        assert value(samples, "phd2_guide_step_ra_distance_pixels") == 0.0
        assert value(samples, "phd2_guide_step_dec_distance_pixels") == 0.5
        assert value(samples, "phd2_guide_step_dec_distance_arcseconds") == 1.0
        assert value(samples, "phd2_guide_step_ra_correction_pixels") == 0.0
        assert value(samples, "phd2_guide_step_dec_correction_pixels") == 0.0
        assert value(samples, "phd2_guide_step_snr") == 31.08
        assert value(samples, "phd2_guide_step_star_mass") == 15873.0
        assert value(samples, "phd2_guide_step_hfd_pixels") == 2.46
        assert value(samples, "phd2_guide_step_avg_distance_pixels") == 0.47
        assert value(samples, "phd2_guide_step_frame") == 5.0
        assert value(samples, "phd2_guide_step_error_code") == 1.0
        assert value(samples, "phd2_last_guide_step_timestamp_seconds") == NOW
        assert value(samples, "phd2_last_event_timestamp_seconds") == NOW

    def test_last_pulse_by_direction(self):
        """The last pulse sits on its direction's series, the others read 0."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        ra = {
            s["direction"]: value(samples, "phd2_guide_step_ra_pulse_seconds", **s)
            for s in ({"direction": d} for d in ("East", "West", "Left", "Right"))
        }
        assert ra == {"East": 0.0, "West": 0.04, "Left": 0.0, "Right": 0.0}
        dec = series(samples, "phd2_guide_step_dec_pulse_seconds")
        assert {d["direction"] for d in dec} == {"North", "South", "Up", "Down"}
        assert (
            value(samples, "phd2_guide_step_dec_pulse_seconds", direction="North")
            == 0.0
        )

    def test_unknown_pulse_direction_gets_other_series(self):
        """A pulse in an unknown direction appears on an extra other series."""
        state = guiding_state()
        state.apply(step(6, 0.1, 0.1, RADuration=20, RADirection="Sideways"), NOW)
        section, _ = publish(state.snapshot())
        samples = values(render(section))
        assert (
            value(samples, "phd2_guide_step_ra_pulse_seconds", direction="other")
            == 0.02
        )
        assert value(samples, "phd2_guide_pulse_seconds_total", direction="other") == (
            0.02
        )

    def test_hfd_and_arcsec_absent_when_unknown(self):
        """No HFD without the field and no arcsec step values without a scale."""
        state = guiding_state(scale=None)
        state.apply(step(6, 0.1, 0.1), NOW)
        section, _ = publish(state.snapshot())
        samples = values(render(section))
        assert series(samples, "phd2_guide_step_hfd_pixels") == []
        assert series(samples, "phd2_guide_step_ra_distance_arcseconds") == []
        assert value(samples, "phd2_guide_step_ra_distance_pixels") == 0.1

    def test_no_guide_step_yet(self):
        """Before any GuideStep no step or pulse series exist."""
        section, _ = publish(Phd2State(3).snapshot())
        samples = values(render(section))
        names = {name for name, _ in samples}
        assert not {n for n in names if n.startswith("phd2_guide_step_")}

    def test_counters(self):
        """Event counters report what happened after the catch-up."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        assert value(samples, "phd2_guide_steps_total") == 4.0
        assert value(samples, "phd2_events_total", event="GuideStep") == 4.0
        assert value(samples, "phd2_events_total", event="other") == 1.0
        assert value(samples, "phd2_events_total", event="StartGuiding") is None
        assert value(samples, "phd2_star_lost_total", code="2") == 1.0
        assert value(samples, "phd2_dithers_total") == 1.0
        assert value(samples, "phd2_settles_started_total") == 1.0
        assert value(samples, "phd2_settles_total") == 1.0
        assert value(samples, "phd2_settle_failures_total") == 1.0
        assert value(samples, "phd2_calibrations_started_total") == 0.0
        assert value(samples, "phd2_calibrations_completed_total") == 0.0
        assert value(samples, "phd2_calibrations_failed_total") == 0.0
        assert value(samples, "phd2_alerts_total", level="warning") == 1.0
        assert value(samples, "phd2_alerts_total", level="info") == 0.0
        assert value(samples, "phd2_guide_pulse_seconds_total", direction="East") == (
            0.112
        )
        assert value(samples, "phd2_guide_pulse_seconds_total", direction="North") == (
            0.25
        )
        assert value(samples, "phd2_guide_pulses_limited_total", axis="ra") == 1.0
        assert value(samples, "phd2_guide_pulses_limited_total", axis="dec") == 0.0

    def test_last_settle(self):
        """The last SettleDone's outcome and frame counts are exported."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        assert value(samples, "phd2_last_settle_succeeded") == 0.0
        assert value(samples, "phd2_last_settle_frames") == 21.0
        assert value(samples, "phd2_last_settle_dropped_frames") == 2.0

    def test_info(self):
        """phd2_info carries the PHD2 version with value 1."""
        section, _ = publish(guiding_state().snapshot())
        assert value(values(render(section)), "phd2_info", version="2.6.14") == 1.0


class TestTableRules:
    def test_names_follow_style(self):
        """Names are phd2_ snake case; counters end _total, info _info, no _count."""
        for spec in PHD2_SPECS:
            assert re.fullmatch(r"phd2_[a-z0-9_]+", spec.name), spec.name
            assert not spec.name.endswith(("_count", "_sum", "_bucket", "_created"))
            assert spec.name.endswith("_total") == (spec.kind is Kind.COUNTER)
            assert spec.name.endswith("_info") == (spec.kind is Kind.INFO)
            for label in spec.labels:
                assert re.fullmatch(r"[a-z][a-z0-9_]*", label), label
                assert label not in {
                    "job",
                    "instance",
                    "le",
                    "quantile",
                    "host",
                    "inst",
                }

    def test_help_is_one_sentence(self):
        """Every HELP is one line ending in a full stop."""
        for spec in PHD2_SPECS:
            assert spec.help.endswith("."), spec.name
            assert "\n" not in spec.help
            assert len(spec.help) > 20

    def test_only_info_and_errors_survive_staleness(self):
        """phd2_info and the exporter's error counter are the PHD2 rows kept stale."""
        kept = [spec.name for spec in PHD2_SPECS if spec.keep_when_stale]
        assert kept == ["phd2_info", "phd2_error_total"]

    def test_series_budget(self):
        """Every family stays within 10 series; events within the known names."""
        state = guiding_state()
        for name in [*sorted(KNOWN_EVENTS), "X", "Y"]:
            state.apply(ev(name), NOW)
        for code in range(12):
            state.apply(ev("StarLost", Frame=1, ErrorCode=code), NOW)
        state.apply(ev("Alert", Type="fatal"), NOW)
        state.apply(step(1, 0.1, 0.1, RADuration=5, RADirection="Up"), NOW)
        # StartGuiding above began a new run; settle, then measure two steps.
        state.apply(ev("SettleDone", Status=0, TotalFrames=1, DroppedFrames=0), NOW)
        state.apply(step(2, 0.2, 0.2), NOW)
        state.apply(step(3, 0.2, 0.2), NOW)
        section, _ = publish(state.snapshot())
        counts: dict[str, int] = {}
        for name, _labels in values(render(section)):
            counts[name] = counts.get(name, 0) + 1
        events = counts.pop("phd2_events_total")
        assert events == len(KNOWN_EVENTS) + 1
        assert counts.pop("phd2_rms") == 12  # six sources x two scales, fixed by COMPAT
        assert max(counts.values()) <= 10
        assert counts["phd2_star_lost_total"] == 10

    def test_promtool_accepts_render(self, tmp_path):
        """promtool check metrics finds nothing to lint in a full render."""
        import shutil
        import subprocess

        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail(
                "promtool is missing; install Debian's package: "
                "apt-get install prometheus"
            )
        section, _ = publish(guiding_state().snapshot())
        result = subprocess.run(  # noqa: S603 - fixed binary, our own text
            [promtool, "check", "metrics"],
            input=render(section).encode(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr.decode()


class TestIdentity:
    def test_from_snapshot(self):
        """PHD2's own host (lower-cased) and instance win over the fallback."""
        state = Phd2State(3)
        state.apply(ev("Version", Host="Pier-2", Inst=2), NOW)
        assert identity(state.snapshot(), "10.0.0.5", 1) == (
            ("host", "pier-2"),
            ("inst", "2"),
        )

    def test_fallback(self):
        """Without PHD2's identity the configured host (lower-cased) stands in."""
        assert identity(None, "Pier.LAN", 3) == (("host", "pier.lan"), ("inst", "3"))
        assert identity(Phd2State(3).snapshot(), "h", 1) == (
            ("host", "h"),
            ("inst", "1"),
        )

    def test_odd_host_is_escaped(self):
        """A host with quotes, backslashes and tabs renders as a valid label."""
        state = guiding_state()
        raw = b'{"Event":"Resumed","Host":"a\\"b\\\\c\td\\ne","Inst":1}'
        event = parse_line(raw)
        assert isinstance(event, Event)
        state.apply(event, NOW)
        section, _ = publish(state.snapshot())
        hosts = {dict(labels)["host"] for _, labels in values(render(section))}
        assert hosts == {'a"b\\c\td\ne'}


class TestStale:
    def test_stale_record_keeps_info_and_health_only(self):
        """Past max_age only info, errors and the health rows remain; phd2_up is 0."""
        section, _ = publish(guiding_state().snapshot(), taken_at=NOW - 120)
        samples = values(render(section, now=NOW))
        names = {name for name, _ in samples}
        assert names == {
            "phd2_info",
            "phd2_error_total",
            "phd2_up",
            "phd2_last_success_timestamp_seconds",
            "phd2_exporter_reconnects_total",
            "phd2_exporter_link_state",
        }
        assert value(samples, "phd2_up") == 0.0
        assert value(samples, "phd2_info", version="2.6.14") == 1.0

    def test_fresh_record_is_up(self):
        """A fresh healthy record has phd2_up 1 and all value rows."""
        section, _ = publish(guiding_state().snapshot())
        samples = values(render(section))
        assert value(samples, "phd2_up") == 1.0
        assert value(samples, "phd2_guide_steps_total") == 4.0


@pytest.mark.parametrize(
    ("scale", "taken_at"),
    [
        pytest.param(2.0, NOW, id="fresh"),
        pytest.param(None, NOW, id="no-scale"),
        pytest.param(2.0, NOW - 600, id="stale"),
    ],
)
class TestGolden:
    def test_text_format_matches_prometheus_client(self, scale, taken_at):
        """The cached text render parses identically to prometheus_client's."""
        section, record = publish(guiding_state(scale).snapshot(), taken_at=taken_at)
        fresh = taken_at == NOW
        ours = normalise(list(parse_text(render(section))))
        theirs = normalise(list(parse_text(golden(section, record, fresh, om=False))))
        assert ours == theirs
        assert len(ours) > (40 if fresh else 4)

    def test_openmetrics_matches_prometheus_client(self, scale, taken_at):
        """The OpenMetrics render parses identically to prometheus_client's."""
        section, record = publish(guiding_state(scale).snapshot(), taken_at=taken_at)
        fresh = taken_at == NOW
        ours = normalise(list(parse_openmetrics(render(section, openmetrics=True))))
        theirs = normalise(
            list(parse_openmetrics(golden(section, record, fresh, om=True)))
        )
        assert ours == theirs
        names = {name for name, *_ in ours}
        assert "phd2" in names
        assert "phd2_error" in names
        assert ("phd2_guide_steps" in names) == fresh
