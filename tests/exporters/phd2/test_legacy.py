"""Tests for the original phd2-exporter's families served with legacy_metrics."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from exporterhub.core.exposition import Section
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.phd2.collector import ALL_SPECS, PREFIX, identity
from exporterhub.exporters.phd2.legacy import LEGACY_EVENTS, LEGACY_SPECS
from exporterhub.exporters.phd2.protocol import KNOWN_EVENTS
from exporterhub.exporters.phd2.state import Phd2Snapshot, Phd2State
from tests.exporters.phd2.test_collector import CATCH_UP, NOW, ev, step, values

LEGACY_NAMES = {spec.name for spec in LEGACY_SPECS}

CATCH_UP_WITH_LOCK = [
    CATCH_UP[0],
    ev("LockPositionSet", X=640.125, Y=480.5),
    *CATCH_UP[1:],
]


def render_all(snapshot: Phd2Snapshot) -> str:
    section = Section("phd2", PREFIX, ALL_SPECS)
    section.publish(
        TargetRecord(
            name="pier",
            identity=identity(snapshot, "127.0.0.1", 1),
            data=snapshot,
            taken_at=NOW,
            max_age=60,
            link=LinkState.CONNECTED,
            healthy=True,
            last_success=NOW,
            reconnects=0,
        )
    )
    return b"".join(section.render(NOW, openmetrics=False)).decode()


def legacy_value(text: str, name: str, **labels: str) -> float | None:
    key = frozenset({"host": "observatory", "inst": "1", **labels}.items())
    return values(text).get((name, key))


def session(legacy: bool = True) -> Phd2State:
    """Catch-up, a calibration, a dither with its settle, a star loss, steps."""
    state = Phd2State(5, legacy=legacy)
    events = [
        *CATCH_UP_WITH_LOCK,
        ev("StartCalibration", Mount="On-camera"),
        ev("Calibrating", Mount="On-camera", dir="West", dist=4.5, dx=4.0, dy=2.0,
           pos=[1.0, 2.0], step=1),
        ev("Calibrating", Mount="On-camera", dir="West", dist=9.8, dx=9.0, dy=3.9,
           pos=[1.0, 2.0], step=2),
        ev("Calibrating", Mount="On-camera", dir="North", dist=7.25, dx=-1.0, dy=7.0,
           pos=[1.0, 2.0], step=1),
        ev("CalibrationComplete", Mount="On-camera"),
        ev("StartGuiding"),
        step(1, 0.3, -0.4, RADuration=112, RADirection="West", RALimited=True,
             ErrorCode=1, HFD=2.5),
        ev("GuidingDithered", dx=1.5, dy=-2.25),
        ev("SettleBegin"),
        ev("Settling", Distance=1.87, Time=3.0, SettleTime=10.0, StarLocked=True),
        ev("SettleDone", Status=1, Error="timed-out", TotalFrames=21, DroppedFrames=2),
        ev("StarLost", Frame=2, Time=4.0, StarMass=120, SNR=3.1, HFD=2.0,
           AvgDist=0.55, ErrorCode=2, Status="low SNR"),
        step(3, 0.1, 0.2, DECDuration=250, DECDirection="North", dx=0.25, dy=-0.5),
    ]  # fmt: skip
    for event in events:
        state.apply(event, NOW)
    state.count_received(40)
    return state


class TestLegacySwitch:
    def test_off_serves_no_legacy_family(self):
        """Without legacy_metrics none of the original's event families appear."""
        text = render_all(session(legacy=False).snapshot())
        names = {name for name, _ in values(text)}
        assert names & LEGACY_NAMES == set()
        assert "phd2_guide_step_ra_distance_pixels" in names

    def test_on_serves_the_original_names(self):
        """With legacy_metrics the families carry the original's names and labels."""
        text = render_all(session().snapshot())
        assert legacy_value(text, "phd2_GuideStep_RADistanceRaw") == 0.1
        assert legacy_value(text, "phd2_GuideStep_DECDistanceRaw") == 0.2
        assert legacy_value(text, "phd2_GuideStep_dx") == 0.25
        assert legacy_value(text, "phd2_GuideStep_dy") == -0.5
        assert legacy_value(text, "phd2_GuideStep_SNR") == 31.08
        assert legacy_value(text, "phd2_LockPositionSet_X") == 640.125
        assert legacy_value(text, "phd2_StarSelected_Y") == 2.0
        assert legacy_value(text, "phd2_Calibrating_dist", dir="West") == 9.8
        assert legacy_value(text, "phd2_Calibrating_step", dir="West") == 2.0
        assert legacy_value(text, "phd2_Calibrating_dy", dir="North") == 7.0
        assert legacy_value(text, "phd2_Settling_Distance") == 1.87
        assert legacy_value(text, "phd2_Settling_StarLocked") == 1.0
        assert legacy_value(text, "phd2_SettleDone_Status") == 1.0
        assert legacy_value(text, "phd2_SettleDone_TotalFrames") == 21.0
        assert legacy_value(text, "phd2_StarLost_SNR") == 3.1
        assert legacy_value(text, "phd2_StarLost_ErrorCode") == 2.0
        assert legacy_value(text, "phd2_GuidingDithered_dx") == 1.5
        assert legacy_value(text, "phd2_GuidingDithered_dy") == -2.25
        assert legacy_value(text, "phd2_total") == 40.0

    def test_pulses_in_milliseconds_on_their_direction(self):
        """RADuration/DECDuration are ms on the direction taken, the other at 0."""
        text = render_all(session().snapshot())
        name = "phd2_GuideStep_DECDuration"
        assert legacy_value(text, name, DECDirection="North", DecLimited="0") == 250
        assert legacy_value(text, name, DECDirection="South", DecLimited="0") == 0
        ra = "phd2_GuideStep_RADuration"
        assert legacy_value(text, ra, RADirection="East", RALimited="0") == 0
        assert legacy_value(text, ra, RADirection="West", RALimited="0") == 0

    def test_clipped_pulse_label(self):
        """A clipped pulse is labelled RALimited="True", as the original did."""
        state = Phd2State(5, legacy=True)
        for event in [*CATCH_UP, step(1, 0.3, 0.1, RADuration=900,
                                      RADirection="East", RALimited=True)]:  # fmt: skip
            state.apply(event, NOW)
        text = render_all(state.snapshot())
        name = "phd2_GuideStep_RADuration"
        assert legacy_value(text, name, RADirection="East", RALimited="True") == 900

    def test_ao_and_unknown_directions(self):
        """An AO step uses Left/Right; a direction PHD2 never sends reads as other."""
        state = Phd2State(5, legacy=True)
        for event in [
            *CATCH_UP,
            step(1, 0.3, 0.1, RADuration=20, RADirection="Left", Pos=[1, 2]),
        ]:
            state.apply(event, NOW)
        text = render_all(state.snapshot())
        ra = "phd2_GuideStep_RADuration"
        assert legacy_value(text, ra, RADirection="Left", RALimited="0") == 20
        assert legacy_value(text, ra, RADirection="Right", RALimited="0") == 0
        assert legacy_value(text, ra, RADirection="East", RALimited="0") is None
        state.apply(step(2, 0.3, 0.1, RADuration=30, RADirection="Sideways"), NOW)
        text = render_all(state.snapshot())
        assert legacy_value(text, ra, RADirection="other", RALimited="0") == 30
        assert legacy_value(text, ra, RADirection="East", RALimited="0") == 0

    def test_values_are_the_last_events_not_left_overs(self):
        """ErrorCode and HFD follow the last step: 0 and absent, not the older ones."""
        text = render_all(session().snapshot())
        assert legacy_value(text, "phd2_GuideStep_ErrorCode") == 0.0
        assert legacy_value(text, "phd2_GuideStep_HFD") is None

    def test_lost_lock_position_is_absent(self):
        """After LockPositionLost the lock position families are gone."""
        state = session()
        state.apply(ev("LockPositionLost"), NOW)
        text = render_all(state.snapshot())
        assert legacy_value(text, "phd2_LockPositionSet_X") is None
        assert legacy_value(text, "phd2_StarSelected_X") is None


class TestLegacyCounters:
    def test_every_known_event_has_a_counter(self):
        """phd2_<Event>_total exists for every event PHD2 defines, from 0."""
        assert set(LEGACY_EVENTS) == set(KNOWN_EVENTS)
        state = Phd2State(5, legacy=True)
        for event in CATCH_UP:
            state.apply(event, NOW)
        text = render_all(state.snapshot())
        for event in KNOWN_EVENTS:
            assert legacy_value(text, f"phd2_{event}_total") == 0.0, event

    def test_replayed_events_are_not_counted(self):
        """Catch-up replays (on connect and on every reconnect) never count."""
        state = session()
        state.begin_connection()
        for event in CATCH_UP_WITH_LOCK:
            state.apply(event, NOW)
        text = render_all(state.snapshot())
        for event in ("Version", "LockPositionSet", "StarSelected", "AppState"):
            assert legacy_value(text, f"phd2_{event}_total") == 0.0, event
        # StartGuiding and CalibrationComplete counted once: the live ones.
        assert legacy_value(text, "phd2_StartGuiding_total") == 1.0
        assert legacy_value(text, "phd2_CalibrationComplete_total") == 1.0
        assert legacy_value(text, "phd2_GuideStep_total") == 2.0
        assert legacy_value(text, "phd2_StarLost_total") == 1.0
        assert legacy_value(text, "phd2_GuidingDithered_total") == 1.0
        assert legacy_value(text, "phd2_Calibrating_total") == 3.0

    def test_liveness_counter_only_rises(self):
        """phd2_total adds every line received; a negative count is refused."""
        state = Phd2State(5, legacy=True)
        state.apply(CATCH_UP[0], NOW)
        state.count_received(3)
        state.count_received(0)
        state.count_received(2)
        assert legacy_value(render_all(state.snapshot()), "phd2_total") == 5.0
        with pytest.raises(ValueError, match="never decrease"):
            state.count_received(-1)


class TestLegacyLint:
    def test_openmetrics_has_no_clashing_family(self):
        """The OpenMetrics render with legacy families parses strictly."""
        from prometheus_client.openmetrics.parser import (
            text_string_to_metric_families as parse_openmetrics,
        )

        snapshot = session().snapshot()
        section = Section("phd2", PREFIX, ALL_SPECS)
        section.publish(
            TargetRecord(
                name="pier",
                identity=identity(snapshot, "127.0.0.1", 1),
                data=snapshot,
                taken_at=NOW,
                max_age=60,
                link=LinkState.CONNECTED,
                healthy=True,
                last_success=NOW,
                reconnects=0,
            )
        )
        text = b"".join(section.render(NOW, openmetrics=True)).decode() + "# EOF\n"
        names = {family.name for family in parse_openmetrics(text)}
        assert {"phd2", "phd2_total", "phd2_GuideStep"} <= names

    def test_promtool_finds_only_the_original_camel_case(self):
        """promtool's only advice on a legacy render is snake_case on legacy names."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail(
                "promtool is missing; install Debian's package: "
                "apt-get install prometheus"
            )
        state = session()
        state.set_pixel_scale(1.93)
        result = subprocess.run(  # noqa: S603 - fixed binary, our own text
            [promtool, "check", "metrics"],
            input=render_all(state.snapshot()).encode(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        findings = (result.stdout + result.stderr).decode().splitlines()
        assert findings  # the legacy names are camelCase: promtool must say so
        pattern = re.compile(
            r"(\S+) (metric|label) names should be written in 'snake_case' "
            r"not 'camelCase'"
        )
        total = 'phd2_total non-counter metrics should not have "_total" suffix'
        for line in findings:
            if line.strip() == total:
                continue  # typed gauge: see test_openmetrics_has_no_clashing_family
            match = pattern.fullmatch(line.strip())
            assert match is not None, line
            assert match.group(1) in LEGACY_NAMES, line
