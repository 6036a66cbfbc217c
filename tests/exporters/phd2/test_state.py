"""Tests for folding PHD2 events and poll results into a Phd2Snapshot."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest

from exporterhub.exporters.phd2.protocol import (
    KNOWN_EVENTS,
    Event,
    GuiderState,
    parse_line,
)
from exporterhub.exporters.phd2.rms import RollingMeanSquare
from exporterhub.exporters.phd2.state import (
    ALERT_LEVELS,
    PULSE_DIRECTIONS,
    RMS_SOURCES,
    ErrorType,
    Phd2Snapshot,
    Phd2State,
)

NOW = 1_735_690_000.0


def ev(name: str, **fields: Any) -> Event:
    """Build an event the way PHD2 writes it and parse it back."""
    data = {"Event": name, "Timestamp": 1735690000.5, "Host": "OBSERVATORY", "Inst": 1}
    data.update(fields)
    event = parse_line(orjson.dumps(data))
    assert isinstance(event, Event)
    return event


def step(frame: int = 1, ra: float = 0.1, dec: float = -0.2, **fields: Any) -> Event:
    """A GuideStep with raw distances ra/dec and guide distances half of them."""
    values: dict[str, Any] = {
        "Frame": frame,
        "Time": frame * 2.0,
        "Mount": "On-camera",
        "dx": 0.3,
        "dy": -0.1,
        "RADistanceRaw": ra,
        "DECDistanceRaw": dec,
        "RADistanceGuide": ra / 2,
        "DECDistanceGuide": dec / 2,
        "StarMass": 15873,
        "SNR": 31.08,
        "AvgDist": 0.47,
    }
    values.update(fields)
    return ev("GuideStep", **values)


CATCH_UP_GUIDING = [
    ev("Version", PHDVersion="2.6.14", PHDSubver="", OverlapSupport=True, MsgVersion=1),
    ev("LockPositionSet", X=640.125, Y=480.5),
    ev("StarSelected", X=640.31, Y=480.377),
    ev("CalibrationComplete", Mount="On-camera"),
    ev("StartGuiding"),
    ev("AppState", State="Guiding"),
]


def feed(state: Phd2State, *events: Event, now: float = NOW) -> Phd2Snapshot:
    for event in events:
        state.apply(event, now)
    return state.snapshot()


def connected(rms_samples: int = 10, app_state: str = "Stopped") -> Phd2State:
    """A state past a catch-up block that ended in ``app_state``."""
    state = Phd2State(rms_samples)
    feed(state, ev("Version", PHDVersion="2.6.14"), ev("AppState", State=app_state))
    return state


def rms(snapshot: Phd2Snapshot, scale: str = "px") -> dict[str, float]:
    return {source: value for s, source, value in snapshot.rms if s == scale}


def reference_rms(included: list[tuple[float, float]], n: int) -> dict[str, float]:
    """RMS about zero computed plainly from the last n included (ra, dec) pairs."""
    window = included[-n:]
    count = len(window)

    def mean_square(values: list[float]) -> float:
        return sum(v * v for v in values) / count

    ra = mean_square([r for r, _ in window])
    dec = mean_square([d for _, d in window])
    ra_guide = mean_square([r / 2 for r, _ in window])
    dec_guide = mean_square([d / 2 for _, d in window])
    return {
        "RADistanceRaw": math.sqrt(ra),
        "DECDistanceRaw": math.sqrt(dec),
        "RADistanceGuide": math.sqrt(ra_guide),
        "DECDistanceGuide": math.sqrt(dec_guide),
        "TotalDistanceRaw": math.sqrt(ra + dec),
        "TotalDistanceGuide": math.sqrt(ra_guide + dec_guide),
    }


def assert_rms_matches(snapshot: Phd2Snapshot, expected: dict[str, float]) -> None:
    got = rms(snapshot)
    assert set(got) == set(RMS_SOURCES)
    for source, value in expected.items():
        assert math.isclose(got[source], value, rel_tol=1e-12, abs_tol=1e-15), source


class TestCatchUp:
    def test_catch_up_sets_state_without_counting(self):
        """The §3 catch-up block leaves state Guiding and every counter at zero."""
        state = Phd2State(10)
        snap = feed(state, *CATCH_UP_GUIDING)
        assert snap.state is GuiderState.GUIDING
        assert snap.catching_up is False
        assert snap.events == ()
        assert snap.calibrations_completed == 0
        assert snap.guide_steps == 0
        assert snap.version == "2.6.14"
        assert snap.overlap_support is True

    def test_new_object_starts_in_catch_up(self):
        """A fresh state is in catch-up mode until the first AppState."""
        state = Phd2State(10)
        assert state.snapshot().catching_up is True
        assert feed(state, CATCH_UP_GUIDING[0]).catching_up is True

    def test_events_after_catch_up_count(self):
        """A StartGuiding after the catch-up block is counted."""
        state = Phd2State(10)
        feed(state, *CATCH_UP_GUIDING)
        snap = feed(state, ev("GuidingStopped"), ev("StartGuiding"))
        assert dict(snap.events) == {"GuidingStopped": 1, "StartGuiding": 1}
        assert snap.state is GuiderState.GUIDING

    def test_reconnect_keeps_counters_monotonic(self):
        """A reconnect with a fresh catch-up neither resets nor re-counts counters."""
        state = Phd2State(10)
        feed(state, *CATCH_UP_GUIDING)
        first = feed(
            state,
            step(1),
            ev("StartCalibration", Mount="On-camera"),
            ev("CalibrationComplete", Mount="On-camera"),
            ev("StartGuiding"),
            step(2),
        )
        assert first.guide_steps == 2
        assert first.calibrations_completed == 1
        state.begin_connection()
        during = state.snapshot()
        assert during.catching_up is True
        assert during.state is None
        assert during.guide_steps == 2
        second = feed(state, *CATCH_UP_GUIDING)
        assert second.calibrations_completed == 1
        assert second.events == first.events
        third = feed(state, step(3))
        assert third.guide_steps == 3
        assert dict(third.events)["GuideStep"] == 3

    def test_event_never_replayed_ends_catch_up(self):
        """A GuideStep during catch-up (AppState lost) ends catch-up and counts."""
        state = Phd2State(10)
        snap = feed(state, CATCH_UP_GUIDING[0], step(5))
        assert snap.catching_up is False
        assert snap.guide_steps == 1
        assert dict(snap.events) == {"GuideStep": 1}

    def test_catch_up_calibrating(self):
        """A catch-up StartCalibration sets Calibrating without counting it."""
        state = Phd2State(10)
        snap = feed(
            state,
            CATCH_UP_GUIDING[0],
            ev("StartCalibration", Mount="On-camera"),
            ev("AppState", State="Calibrating"),
        )
        assert snap.state is GuiderState.CALIBRATING
        assert snap.calibrations_started == 0

    def test_catch_up_paused_resumes_to_guiding(self):
        """A catch-up Paused with no known previous state resumes to Guiding."""
        state = Phd2State(10)
        snap = feed(
            state,
            CATCH_UP_GUIDING[0],
            ev("StarSelected", X=1.0, Y=2.0),
            ev("Paused"),
            ev("AppState", State="Paused"),
        )
        assert snap.state is GuiderState.PAUSED
        assert snap.paused is True
        assert feed(state, ev("Resumed")).state is GuiderState.GUIDING

    def test_identity_from_events(self):
        """Host is lower-cased and instance taken from the events, None before."""
        state = Phd2State(10)
        assert (state.snapshot().host, state.snapshot().inst) == (None, None)
        snap = feed(state, ev("Version", Host="Obs-Pier.LOCAL", Inst=3))
        assert (snap.host, snap.inst) == ("obs-pier.local", 3)
        snap = feed(state, ev("AppState", State="Stopped", Host="Other", Inst=4))
        assert (snap.host, snap.inst) == ("other", 4)

    def test_identity_kept_when_event_lacks_it(self):
        """An event without Host/Inst does not forget the known identity."""
        state = Phd2State(10)
        feed(state, ev("Version", Host="A", Inst=2))
        raw = parse_line(b'{"Event":"AppState","State":"Looping"}')
        assert isinstance(raw, Event)
        snap = feed(state, raw)
        assert (snap.host, snap.inst) == ("a", 2)

    def test_version_includes_subversion(self):
        """PHDSubver is appended to PHDVersion; a release without OverlapSupport."""
        state = Phd2State(10)
        snap = feed(state, ev("Version", PHDVersion="2.6.13", PHDSubver="dev8"))
        assert snap.version == "2.6.13dev8"
        assert snap.overlap_support is False

    def test_snapshot_is_cached_until_change(self):
        """snapshot() returns the same object until an input changes the state."""
        state = connected()
        first = state.snapshot()
        assert state.snapshot() is first
        state.set_connected(True)
        second = state.snapshot()
        assert second is not first
        assert second.connected is True

    def test_rejects_empty_window(self):
        """An RMS window below one sample is a programming error."""
        with pytest.raises(ValueError, match="rms_samples"):
            Phd2State(0)


class TestStateTable:
    @pytest.mark.parametrize(
        ("before", "events", "after"),
        [
            pytest.param(
                "Stopped", [ev("LoopingExposures", Frame=1)], "Looping", id="loop"
            ),
            pytest.param(
                "Looping", [ev("LoopingExposuresStopped")], "Stopped", id="loop-stop"
            ),
            pytest.param(
                "Selected",
                [ev("StartCalibration", Mount="m")],
                "Calibrating",
                id="start-cal",
            ),
            pytest.param(
                "Selected",
                [ev("Calibrating", Mount="m", dir="West", step=1)],
                "Calibrating",
                id="calibrating",
            ),
            pytest.param(
                "Calibrating",
                [ev("CalibrationComplete", Mount="m")],
                "Calibrating",
                id="cal-complete",
            ),
            pytest.param(
                "Selected", [ev("StartGuiding")], "Guiding", id="start-guiding"
            ),
            pytest.param("LostLock", [step(9)], "Guiding", id="guide-step"),
            pytest.param(
                "Guiding",
                [ev("StarLost", Frame=3, ErrorCode=2)],
                "LostLock",
                id="lost-guiding",
            ),
            pytest.param(
                "LostLock", [ev("StarLost", Frame=3)], "LostLock", id="lost-lostlock"
            ),
            pytest.param(
                "Calibrating",
                [ev("StarLost", Frame=3)],
                "Calibrating",
                id="lost-calibrating",
            ),
            pytest.param(
                "Selected", [ev("StarLost", Frame=3)], "Looping", id="lost-selected"
            ),
            pytest.param(
                "Stopped", [ev("StarLost", Frame=3)], "Stopped", id="lost-stopped"
            ),
            pytest.param("Guiding", [ev("Paused")], "Paused", id="paused"),
            pytest.param(
                "Guiding", [ev("Paused"), ev("Resumed")], "Guiding", id="resumed"
            ),
            pytest.param("Guiding", [ev("GuidingStopped")], "Stopped", id="stopped"),
            pytest.param(
                "Guiding",
                [ev("GuidingStopped"), ev("LoopingExposures", Frame=1)],
                "Selected",
                id="stop-then-loop",
            ),
            pytest.param(
                "Calibrating",
                [ev("CalibrationFailed", Mount="m", Reason="x")],
                "Calibrating",
                id="cal-failed",
            ),
            pytest.param(
                "Guiding", [ev("LockPositionLost")], "Guiding", id="lock-lost"
            ),
            pytest.param(
                "Guiding", [ev("ConfigurationChange")], "Guiding", id="config-change"
            ),
            pytest.param(
                "Guiding", [ev("MultiStarReport")], "Guiding", id="unknown-event"
            ),
            pytest.param(
                "Looping", [ev("StarSelected", X=1, Y=2)], "Selected", id="select"
            ),
            pytest.param("Guiding", [ev("Resumed")], "Guiding", id="resume-unpaused"),
        ],
    )
    def test_row(self, before, events, after):
        """Each event of the §7 table moves the state as the table says."""
        state = connected(app_state=before)
        assert state.snapshot().state == before
        assert feed(state, *events).state == after

    def test_app_state_event_sets_state(self):
        """The catch-up AppState sets its State for every PHD2 state name."""
        for name in GuiderState:
            state = Phd2State(10)
            assert feed(state, ev("AppState", State=name.value)).state is name

    def test_unknown_app_state_is_ignored(self):
        """An AppState or poll with an unknown name leaves the state unchanged."""
        state = connected(app_state="Guiding")
        assert feed(state, ev("AppState", State="Dancing")).state is GuiderState.GUIDING
        state.apply_app_state("Sleeping")
        assert state.snapshot().state is GuiderState.GUIDING
        assert feed(state, ev("AppState", State=7)).state is GuiderState.GUIDING

    def test_looping_with_star_reports_selected(self):
        """LoopingExposures reads Selected while a star is selected, else Looping."""
        state = connected(app_state="Stopped")
        assert feed(state, ev("LoopingExposures", Frame=1)).state is GuiderState.LOOPING
        snap = feed(
            state, ev("StarSelected", X=1, Y=2), ev("LoopingExposures", Frame=2)
        )
        assert snap.state is GuiderState.SELECTED
        assert snap.star_selected is True
        snap = feed(state, ev("LockPositionLost"), ev("LoopingExposures", Frame=3))
        assert snap.state is GuiderState.LOOPING
        assert snap.star_selected is False

    def test_star_lost_while_looping_drops_star(self):
        """A StarLost while Selected clears the star so later frames read Looping."""
        state = connected(app_state="Selected")
        snap = feed(state, ev("StarLost", Frame=4), ev("LoopingExposures", Frame=5))
        assert snap.state is GuiderState.LOOPING
        assert snap.star_selected is False

    def test_loop_stop_clears_star(self):
        """LoopingExposuresStopped forgets the selected star."""
        state = connected(app_state="Selected")
        snap = feed(
            state, ev("LoopingExposuresStopped"), ev("LoopingExposures", Frame=1)
        )
        assert snap.state is GuiderState.LOOPING

    @pytest.mark.parametrize("before", ["Guiding", "Selected", "Looping", "LostLock"])
    def test_pause_resume_restores_previous(self, before):
        """Resumed returns to the state that Paused interrupted."""
        state = connected(app_state=before)
        snap = feed(state, ev("Paused"))
        assert snap.state is GuiderState.PAUSED
        assert snap.paused is True
        assert feed(state, ev("Paused")).state is GuiderState.PAUSED
        snap = feed(state, ev("Resumed"))
        assert snap.state == before
        assert snap.paused is False

    def test_stop_while_paused(self):
        """Resumed, GuidingStopped, LoopingExposuresStopped ends in Stopped."""
        state = connected(app_state="Guiding")
        snap = feed(
            state,
            ev("Paused"),
            ev("Resumed"),
            ev("GuidingStopped"),
            ev("LoopingExposuresStopped"),
        )
        assert snap.state is GuiderState.STOPPED
        assert snap.paused is False
        assert feed(state, ev("Resumed")).state is GuiderState.STOPPED

    def test_guide_step_while_paused_stays_paused(self):
        """A (dead-reckoning) GuideStep during a pause does not end the pause."""
        state = connected(app_state="Guiding")
        snap = feed(state, ev("Paused"), step(7, dx=0.0, dy=0.0))
        assert snap.state is GuiderState.PAUSED
        assert feed(state, ev("Resumed")).state is GuiderState.GUIDING

    def test_dead_reckoning_step_keeps_lost_lock(self):
        """A dead-reckoning step after StarLost keeps LostLock; a real step ends it."""
        state = connected(app_state="Guiding")
        snap = feed(state, ev("StarLost", Frame=8), step(8, dx=0.0, dy=0.0))
        assert snap.state is GuiderState.LOST_LOCK
        assert feed(state, step(9)).state is GuiderState.GUIDING

    def test_poll_wins_over_events(self):
        """get_app_state overrides the event-derived state and its pause memory."""
        state = connected(app_state="Guiding")
        state.apply_app_state("Paused")
        assert state.snapshot().state is GuiderState.PAUSED
        assert feed(state, ev("Resumed")).state is GuiderState.GUIDING
        state.apply_app_state("Selected")
        snap = state.snapshot()
        assert snap.state is GuiderState.SELECTED
        assert snap.star_selected is True
        state.apply_app_state("Looping")
        assert state.snapshot().star_selected is False


class TestSettling:
    def test_settle_success(self):
        """SettleBegin sets the flag; SettleDone status 0 clears it and counts."""
        state = connected(app_state="Guiding")
        snap = feed(state, ev("SettleBegin"))
        assert snap.settling is True
        assert snap.settles_started == 1
        snap = feed(
            state,
            ev("Settling", Distance=1.87, Time=0.0, SettleTime=10.0, StarLocked=True),
        )
        assert snap.settling is True
        snap = feed(state, ev("SettleDone", Status=0, TotalFrames=7, DroppedFrames=0))
        assert snap.settling is False
        assert (snap.settles_succeeded, snap.settles_failed) == (1, 0)
        assert snap.last_settle_succeeded is True
        assert (snap.last_settle_frames, snap.last_settle_dropped_frames) == (7, 0)

    def test_settle_failure(self):
        """SettleDone status 1 counts a failure and records the frame counts."""
        state = connected(app_state="Guiding")
        snap = feed(
            state,
            ev("SettleBegin"),
            ev(
                "SettleDone",
                Status=1,
                Error="timed-out waiting for guider to settle",
                TotalFrames=21,
                DroppedFrames=2,
            ),
        )
        assert (snap.settles_succeeded, snap.settles_failed) == (0, 1)
        assert snap.last_settle_succeeded is False
        assert (snap.last_settle_frames, snap.last_settle_dropped_frames) == (21, 2)

    def test_settle_done_without_status_is_a_failure(self):
        """A SettleDone with no usable Status is not counted as a success."""
        state = connected(app_state="Guiding")
        snap = feed(state, ev("SettleDone", Status="ok"))
        assert (snap.settles_succeeded, snap.settles_failed) == (0, 1)
        assert snap.last_settle_frames is None

    def test_settling_event_alone_sets_flag(self):
        """Connecting mid-settle, a Settling event turns the flag on."""
        state = connected(app_state="Guiding")
        assert state.snapshot().settling is False
        assert feed(state, ev("Settling", Distance=3.0)).settling is True

    def test_reconnect_clears_settling(self):
        """A new connection forgets a settle it cannot see the end of."""
        state = connected(app_state="Guiding")
        feed(state, ev("SettleBegin"))
        state.begin_connection()
        snap = feed(state, *CATCH_UP_GUIDING)
        assert snap.settling is False
        assert snap.settles_started == 1


def random_session(rng: random.Random, n: int) -> tuple[list[Event], list]:
    """Random events with the list of (ra, dec) that must enter the RMS window."""
    events: list[Event] = []
    included: list[tuple[float, float]] = []
    frame = 0
    while len(events) < n:
        frame += 1
        ra = rng.gauss(0.0, 0.8) + rng.choice([0.0, 0.0, 0.3])
        dec = rng.gauss(0.0, 0.5)
        kind = rng.random()
        if kind < 0.06:
            events.append(ev("GuidingDithered", dx=2.0, dy=-1.0))
            events.append(step(frame, ra=-2.0, dec=1.0))  # recenter: excluded
        elif kind < 0.1:
            events.append(ev("SettleBegin"))
            for _ in range(rng.randint(1, 4)):
                frame += 1
                events.append(ev("Settling", Distance=1.0))
                events.append(step(frame, ra=5.0, dec=5.0))  # settling: excluded
            events.append(ev("SettleDone", Status=rng.randint(0, 1)))
            events.append(step(frame + 1, ra=ra, dec=dec))  # ends settle: included
            frame += 1
            included.append((ra, dec))
        elif kind < 0.14:
            events.append(ev("StarLost", Frame=frame, ErrorCode=2))
            events.append(
                step(frame, ra=3.0, dec=3.0, dx=0.0, dy=0.0)
            )  # dead reckoning
        elif kind < 0.17:
            events.append(ev("StarLost", Frame=frame, ErrorCode=3))
            frame += 1
            events.append(step(frame, ra=ra, dec=dec, dx=0.0, dy=0.0))  # new frame
            included.append((ra, dec))
        else:
            events.append(step(frame, ra=ra, dec=dec))
            included.append((ra, dec))
    return events, included


class TestRms:
    def test_no_rms_before_first_sample(self):
        """Without measured GuideSteps there are no RMS rows."""
        snap = connected().snapshot()
        assert snap.rms == ()
        assert snap.rms_count == 0
        assert snap.rms_window == 10

    def test_single_sample(self):
        """One step gives |value| for each axis and the Pythagorean total."""
        state = connected()
        state.set_pixel_scale(2.0)
        snap = feed(state, step(1, ra=-0.3, dec=0.4))
        assert rms(snap) == pytest.approx(
            {
                "RADistanceRaw": 0.3,
                "DECDistanceRaw": 0.4,
                "RADistanceGuide": 0.15,
                "DECDistanceGuide": 0.2,
                "TotalDistanceRaw": 0.5,
                "TotalDistanceGuide": 0.25,
            }
        )
        assert rms(snap, "arcsec") == pytest.approx(
            {k: 2 * v for k, v in rms(snap).items()}
        )

    @pytest.mark.parametrize("window", [1, 3, 10, 100])
    def test_random_sessions_match_reference(self, window):
        """Random sessions with dithers, settles and star loss match a plain RMS."""
        rng = random.Random(window)
        events, included = random_session(rng, 1500)
        state = connected(rms_samples=window)
        checked = 0
        expected_included: list[tuple[float, float]] = []
        included_iter = iter(included)
        for event in events:
            state.apply(event, NOW)
            snap = state.snapshot()
            last = snap.last_step
            if event.name == "GuideStep" and last is not None and last.measured:
                expected_included.append(next(included_iter))
                assert_rms_matches(snap, reference_rms(expected_included, window))
                assert snap.rms_count == min(len(expected_included), window)
                checked += 1
        assert expected_included == included
        assert checked > window * 2

    def test_window_wraps(self):
        """After more steps than the window only the newest ones count."""
        state = connected(rms_samples=3)
        values = [(10.0, 10.0), (1.0, 2.0), (2.0, 1.0), (-1.0, 0.5)]
        snap = feed(state, *(step(i, ra, dec) for i, (ra, dec) in enumerate(values)))
        assert_rms_matches(snap, reference_rms(values, 3))
        assert rms(snap)["RADistanceRaw"] == pytest.approx(math.sqrt(2.0))

    def test_dither_skips_only_first_step(self):
        """The step after GuidingDithered is skipped; the one after it counts."""
        state = connected(rms_samples=10)
        snap = feed(
            state,
            step(1, 1.0, 1.0),
            ev("GuidingDithered", dx=3.0, dy=3.0),
            step(2, -3.0, -3.0),
        )
        assert snap.rms_count == 1
        assert snap.last_step is not None
        assert snap.last_step.measured is False
        snap = feed(state, step(3, 1.0, 1.0))
        assert snap.rms_count == 2
        assert rms(snap)["RADistanceRaw"] == pytest.approx(1.0)

    def test_settling_steps_excluded(self):
        """Steps between SettleBegin and SettleDone stay out of the window."""
        state = connected(rms_samples=10)
        snap = feed(
            state,
            ev("SettleBegin"),
            step(1, 4.0, 4.0),
            ev("SettleDone", Status=0),
            step(2, 0.5, 0.5),
        )
        assert snap.rms_count == 1
        assert rms(snap)["DECDistanceRaw"] == pytest.approx(0.5)

    def test_dead_reckoning_excluded(self):
        """A dx=dy=0 step with the preceding StarLost's frame is not measured."""
        state = connected(rms_samples=10)
        snap = feed(state, ev("StarLost", Frame=4), step(4, 2.0, 2.0, dx=0.0, dy=0.0))
        assert snap.rms_count == 0
        assert snap.guide_steps == 1

    def test_zero_offset_on_other_frame_is_measured(self):
        """A perfect dx=dy=0 step on a new frame is a real measurement."""
        state = connected(rms_samples=10)
        snap = feed(state, ev("StarLost", Frame=4), step(5, 0.0, 0.0, dx=0.0, dy=0.0))
        assert snap.rms_count == 1

    def test_ao_mount_bumps_excluded(self):
        """Once a step carries Pos (AO), steps without Pos stay out of the window."""
        state = connected(rms_samples=10)
        snap = feed(state, step(1, 1.0, 1.0))
        assert snap.rms_count == 1
        snap = feed(state, step(2, 0.5, 0.5, Pos=[3, -2]), step(3, 9.0, 9.0))
        assert snap.rms_count == 2
        assert snap.last_step is not None
        assert snap.last_step.ao is False
        # A new run forgets the AO: its first plain step is measured again (in a
        # fresh window).
        snap = feed(state, ev("StartGuiding"), step(1, 2.0, 2.0))
        assert snap.rms_count == 1

    def test_missing_distance_excluded(self):
        """A step without RADistanceRaw is counted but not measured."""
        state = connected(rms_samples=10)
        snap = feed(state, step(1, RADistanceRaw="x"))
        assert snap.guide_steps == 1
        assert snap.rms_count == 0
        assert snap.last_step is not None
        assert snap.last_step.ra_distance_px is None

    def test_absurd_distance_excluded(self):
        """A distance whose square would overflow stays out of the window."""
        state = connected(rms_samples=2)
        snap = feed(state, step(1, 1.0, 1.0), step(2, 1e200, 1.0), step(3, 1.0, 1e7))
        assert snap.rms_count == 1
        assert snap.guide_steps == 3
        assert rms(snap)["TotalDistanceRaw"] == pytest.approx(math.sqrt(2.0))

    def test_integer_too_big_for_float_is_missing(self):
        """An integer field beyond float range reads as absent, without raising."""
        state = connected(rms_samples=2)
        fields = dict(step(1).fields, RADistanceRaw=10**400)
        event = Event(
            name="GuideStep", timestamp=None, host=None, inst=None, fields=fields
        )
        snap = feed(state, event)
        assert snap.rms_count == 0
        assert snap.last_step is not None
        assert snap.last_step.ra_distance_px is None

    def test_guiding_stopped_cancels_pending_dither(self):
        """A dither pending when guiding stops does not skip the next run's step."""
        state = connected(rms_samples=10)
        snap = feed(
            state, ev("GuidingDithered", dx=1, dy=1), ev("GuidingStopped"), step(1)
        )
        assert snap.rms_count == 1

    def test_arcsec_only_with_known_scale(self):
        """Arcsec rows exist only while the pixel scale is known."""
        state = connected()
        snap = feed(state, step(1, 1.0, 2.0))
        assert {s for s, _, _ in snap.rms} == {"px"}
        state.set_pixel_scale(1.5)
        snap = state.snapshot()
        assert len(snap.rms) == 12
        assert rms(snap, "arcsec")["DECDistanceRaw"] == pytest.approx(3.0)
        state.set_pixel_scale(None)
        snap = state.snapshot()
        assert {s for s, _, _ in snap.rms} == {"px"}
        assert snap.pixel_scale is None

    @pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
    def test_invalid_scale_is_unknown(self, bad):
        """A zero, negative or non-finite scale counts as unknown."""
        state = connected()
        state.set_pixel_scale(bad)
        assert state.snapshot().pixel_scale is None

    def test_integer_scale_accepted(self):
        """An integral pixel scale (PHD2's %g prints 2) is kept as float."""
        state = connected()
        state.set_pixel_scale(2)
        assert state.snapshot().pixel_scale == 2.0


class TestRollingMeanSquare:
    def test_empty(self):
        """An empty window has no mean square."""
        window = RollingMeanSquare(5)
        assert window.mean_square() is None
        assert window.count == 0

    def test_rejects_zero_size(self):
        """A window of zero values is a programming error."""
        with pytest.raises(ValueError, match="size"):
            RollingMeanSquare(0)

    def test_drift_after_a_million_samples(self):
        """After 1e6 samples the running value matches a fresh sum within 1e-9."""
        rng = random.Random(1)
        size = 1000
        window = RollingMeanSquare(size)
        recent: list[float] = []
        for index in range(1_000_000):
            scale = 10.0 ** rng.randint(-3, 3)
            value = rng.gauss(0.0, scale)
            window.push(value)
            recent.append(value)
            if len(recent) > 4 * size:
                del recent[:-size]
            if index % 99_991 == 0 or index == 999_999:
                fresh = math.fsum(v * v for v in recent[-size:]) / min(
                    len(recent), size
                )
                got = window.mean_square()
                assert got is not None
                assert math.isclose(got, fresh, rel_tol=1e-9), index

    def test_collapse_after_huge_values(self):
        """Small values after huge ones are exact: the huge ones leave no residue."""
        window = RollingMeanSquare(10)
        for _ in range(7):
            window.push(1e8)
        for index in range(20):
            window.push(1e-3 * (index + 1))
        fresh = math.fsum((1e-3 * (i + 1)) ** 2 for i in range(10, 20)) / 10
        got = window.mean_square()
        assert got is not None
        assert math.isclose(got, fresh, rel_tol=1e-12)

    def test_all_zero_window(self):
        """A window of zeros after non-zero values gives exactly zero."""
        window = RollingMeanSquare(3)
        for value in (0.3, 0.1, 0.7, 0.0, 0.0, 0.0):
            window.push(value)
        assert window.mean_square() == 0.0


class TestCounters:
    def test_guide_step_values(self):
        """The last GuideStep is kept with pulses in seconds and absent HFD as None."""
        state = connected(app_state="Guiding")
        snap = feed(
            state,
            step(
                57,
                ra=-0.498,
                dec=0.101,
                RADuration=112,
                RADirection="East",
                DECDuration=250,
                DECDirection="North",
                ErrorCode=1,
                RALimited=True,
            ),
            now=NOW + 5,
        )
        last = snap.last_step
        assert last is not None
        assert last.frame == 57
        assert last.ra_distance_px == -0.498
        assert last.dec_correction_px == pytest.approx(0.0505)
        assert (last.ra_pulse_seconds, last.ra_direction) == (0.112, "East")
        assert (last.dec_pulse_seconds, last.dec_direction) == (0.25, "North")
        assert (last.snr, last.star_mass, last.avg_distance_px) == (31.08, 15873, 0.47)
        assert last.hfd_px is None
        assert last.error_code == 1
        assert (last.ra_limited, last.dec_limited) == (True, False)
        assert snap.last_guide_step_at == NOW + 5
        assert snap.last_event_at == NOW + 5

    def test_hfd_present(self):
        """HFD is reported when the GuideStep carries it."""
        state = connected()
        last = feed(state, step(1, HFD=2.46)).last_step
        assert last is not None
        assert last.hfd_px == 2.46
        assert last.error_code == 0
        assert last.ra_direction is None
        assert last.ra_pulse_seconds == 0.0

    def test_pulse_totals_in_seconds(self):
        """Pulse durations add up per direction in seconds, unknown under other."""
        state = connected(app_state="Guiding")
        snap = feed(
            state,
            step(1, RADuration=112, RADirection="East"),
            step(2, RADuration=88, RADirection="East", DECDuration=250,
                 DECDirection="South", DecLimited=True),
            step(3, RADuration=40, RADirection="Left", DECDuration=10,
                 DECDirection="Up", Pos=[1, 2]),
            step(4, RADuration=5, RADirection="Sideways"),
            step(5, RADuration=0, RADirection="West"),
            step(6, RADuration=-5, RADirection="West", DECDuration="x",
                 DECDirection="North"),
            step(7, RADuration=30),
        )  # fmt: skip
        totals = dict(snap.pulse_seconds)
        assert list(totals)[: len(PULSE_DIRECTIONS)] == list(PULSE_DIRECTIONS)
        assert totals["East"] == pytest.approx(0.2)
        assert totals["South"] == pytest.approx(0.25)
        assert totals["Left"] == pytest.approx(0.04)
        assert totals["Up"] == pytest.approx(0.01)
        assert totals["other"] == pytest.approx(0.035)
        assert totals["West"] == 0.0
        assert totals["North"] == 0.0
        assert (snap.ra_limited, snap.dec_limited) == (0, 1)

    def test_star_lost_by_code(self):
        """StarLost counts by ErrorCode; missing is "0", out of range is other."""
        state = connected(app_state="Guiding")
        snap = feed(
            state,
            ev("StarLost", Frame=1, ErrorCode=2),
            ev("StarLost", Frame=2, ErrorCode=2),
            ev("StarLost", Frame=3),
            ev("StarLost", Frame=4, ErrorCode=42),
            ev("StarLost", Frame=5, ErrorCode=8),
        )
        assert dict(snap.star_lost) == {"0": 1, "2": 2, "8": 1, "other": 1}

    def test_event_counts_and_unknown_names(self):
        """Events count by name; names PHD2 does not define go under other."""
        state = connected()
        snap = feed(
            state,
            ev("ConfigurationChange"),
            ev("MultiStarReport"),
            ev("SomethingNew"),
            ev("ConfigurationChange"),
        )
        assert dict(snap.events) == {"ConfigurationChange": 2, "other": 2}
        assert {name for name, _ in snap.events} <= KNOWN_EVENTS | {"other"}

    def test_alerts_by_level(self):
        """Alerts count by Type with all four levels present and others as other."""
        state = connected()
        assert dict(state.snapshot().alerts) == dict.fromkeys(ALERT_LEVELS, 0)
        snap = feed(
            state,
            ev("Alert", Msg="a", Type="info"),
            ev("Alert", Msg="b", Type="error"),
            ev("Alert", Msg="c", Type="error"),
            ev("Alert", Msg="d", Type="fatal"),
            ev("Alert", Msg="e"),
        )
        assert dict(snap.alerts) == {
            "info": 1,
            "question": 0,
            "warning": 0,
            "error": 2,
            "other": 2,
        }

    def test_dithers_and_calibrations(self):
        """Dithers and calibration start/complete/fail events each count."""
        state = connected(app_state="Selected")
        snap = feed(
            state,
            ev("StartCalibration", Mount="AO"),
            ev("CalibrationComplete", Mount="AO"),
            ev("StartCalibration", Mount="Mount"),
            ev("CalibrationFailed", Mount="Mount", Reason="star did not move"),
            ev("GuidingDithered", dx=1.0, dy=2.0),
            ev("GuidingDithered", dx=1.0, dy=2.0),
        )
        assert (
            snap.calibrations_started,
            snap.calibrations_completed,
            snap.calibrations_failed,
            snap.dithers,
        ) == (2, 1, 1, 2)

    def test_errors_by_type(self):
        """count_error adds to a fixed set of types, all present from the start."""
        state = connected()
        assert dict(state.snapshot().errors) == dict.fromkeys(
            [e.value for e in ErrorType], 0
        )
        state.count_error("parse")
        state.count_error(ErrorType.OVERLONG, 3)
        state.count_error("timeout")
        assert dict(state.snapshot().errors) == {
            "connection": 0,
            "timeout": 1,
            "parse": 1,
            "overlong": 3,
            "rpc": 0,
        }

    def test_bad_error_type_or_count_raises(self):
        """Unknown error types and negative counts are programming errors."""
        state = connected()
        with pytest.raises(ValueError, match="exception"):
            state.count_error("exception")
        with pytest.raises(ValueError, match="decrease"):
            state.count_error("rpc", -1)

    def test_equipment(self):
        """Only PHD2's device names are kept, in fixed order; None is unknown."""
        state = connected()
        assert state.snapshot().equipment is None
        state.set_equipment({"rotator": False, "camera": True, "focuser": True})
        assert state.snapshot().equipment == (("camera", True), ("rotator", False))
        state.set_equipment(None)
        assert state.snapshot().equipment is None

    def test_connected(self):
        """get_connected is kept as a bool or None."""
        state = connected()
        assert state.snapshot().connected is None
        state.set_connected(False)
        assert state.snapshot().connected is False
        state.set_connected(None)
        assert state.snapshot().connected is None


class TestRobustness:
    def test_odd_field_types_never_raise(self):
        """Every known event with random field values folds without raising."""
        rng = random.Random(5)
        values: list[Any] = [
            None, True, False, 0, 1, -1, 2**63, 1.5, -0.0, "", "x", "East",
            "Guiding", [], [1, 2], {}, {"a": 1}, 1e308,
        ]  # fmt: skip
        names = [*sorted(KNOWN_EVENTS), "Unknown"]
        keys = [
            "State", "Frame", "dx", "dy", "RADistanceRaw", "DECDistanceRaw",
            "RADistanceGuide", "DECDistanceGuide", "RADuration", "RADirection",
            "DECDuration", "DECDirection", "Pos", "SNR", "HFD", "StarMass", "AvgDist",
            "ErrorCode", "RALimited", "DecLimited", "Status", "TotalFrames",
            "DroppedFrames", "Type", "PHDVersion", "PHDSubver", "OverlapSupport",
        ]  # fmt: skip
        state = Phd2State(5)
        for _ in range(5000):
            fields = {key: rng.choice(values) for key in rng.sample(keys, 8)}
            state.apply(
                Event(
                    name=rng.choice(names),
                    timestamp=None,
                    host=None,
                    inst=None,
                    fields=fields,
                ),
                NOW,
            )
            if rng.random() < 0.1:
                state.apply_app_state(rng.choice(["Guiding", "Paused", "x"]))
            snap = state.snapshot()
            assert all(math.isfinite(value) for _, _, value in snap.rms)
        assert state.snapshot().guide_steps > 0


class TestNewGuidingRun:
    def test_start_guiding_empties_the_rms_window(self):
        """A live StartGuiding starts a new RMS window; the old run's RMS is gone."""
        state = connected(rms_samples=5)
        snap = feed(state, ev("StartGuiding"), step(1, 0.5, 0.5), step(2, 0.5, 0.5))
        assert snap.rms_count == 2
        assert snap.rms
        snap = feed(state, ev("GuidingStopped"), ev("StartGuiding"))
        assert snap.rms_count == 0
        assert snap.rms == ()
        snap = feed(state, step(1, 0.3, 0.4))
        assert snap.rms_count == 1

    def test_catch_up_start_guiding_keeps_the_window(self):
        """The StartGuiding replayed after a reconnect keeps the running window."""
        state = connected(rms_samples=5)
        feed(state, ev("StartGuiding"), step(1, 0.5, 0.5), step(2, 0.5, 0.5))
        state.begin_connection()
        snap = feed(state, *CATCH_UP_GUIDING)
        assert snap.rms_count == 2
