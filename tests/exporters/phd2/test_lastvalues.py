"""Tests for the clean families of PHD2's rarer events and the window statistics."""

from __future__ import annotations

import math
import statistics

import pytest

from exporterhub.exporters.phd2.state import Phd2State
from tests.exporters.phd2.test_collector import (
    CATCH_UP,
    NOW,
    ev,
    publish,
    render,
    step,
    value,
    values,
)
from tests.exporters.phd2.test_legacy import session


def rendered(state: Phd2State) -> dict:
    section, _ = publish(state.snapshot())
    return values(render(section))


def guiding(window: int, points: list[tuple[float, float]]) -> Phd2State:
    state = Phd2State(window)
    for event in CATCH_UP:
        state.apply(event, NOW)
    for frame, (ra, dec) in enumerate(points, start=1):
        state.apply(step(frame, ra, dec), NOW)
    return state


class TestWindowStatistics:
    def test_stddev_and_peak_per_axis(self):
        """Population stddev and peak |error| per axis over the last window steps."""
        points = [(9.0, 9.0), (0.5, -1.0), (-0.3, 0.2), (0.1, 0.6), (0.7, -0.2)]
        state = guiding(4, points)
        state.set_pixel_scale(2.0)
        samples = rendered(state)
        ra = [p[0] for p in points[1:]]
        dec = [p[1] for p in points[1:]]
        ra_sd, dec_sd = statistics.pstdev(ra), statistics.pstdev(dec)
        name = "phd2_guide_error_stddev_pixels"
        assert value(samples, name, axis="ra") == pytest.approx(ra_sd)
        assert value(samples, name, axis="dec") == pytest.approx(dec_sd)
        arcsec = "phd2_guide_error_stddev_arcseconds"
        assert value(samples, arcsec, axis="ra") == pytest.approx(2 * ra_sd)
        total = math.hypot(ra_sd, dec_sd)
        assert value(
            samples, "phd2_guide_error_combined_stddev_pixels"
        ) == pytest.approx(total)
        assert value(
            samples, "phd2_guide_error_combined_stddev_arcseconds"
        ) == pytest.approx(2 * total)
        peak = "phd2_guide_error_peak_pixels"
        assert value(samples, peak, axis="ra") == 0.7  # 9.0 left the window
        assert value(samples, peak, axis="dec") == 1.0
        assert value(samples, "phd2_guide_error_peak_arcseconds", axis="dec") == 2.0

    def test_stddev_differs_from_rms_about_zero(self):
        """A steady offset has RMS about zero but no deviation, as PHD2 shows."""
        samples = rendered(guiding(3, [(0.3, -0.4)] * 3))
        rms = value(samples, "phd2_rms", scale="px", source="RADistanceRaw")
        assert rms == pytest.approx(0.3)
        sd = value(samples, "phd2_guide_error_stddev_pixels", axis="ra")
        assert sd == pytest.approx(0.0, abs=1e-12)

    def test_absent_before_a_measured_step_and_arcsec_without_scale(self):
        """No statistics before a measurement; no arcseconds without a pixel scale."""
        empty = rendered(guiding(3, []))
        assert value(empty, "phd2_guide_error_stddev_pixels", axis="ra") is None
        assert value(empty, "phd2_guide_error_combined_stddev_pixels") is None
        samples = rendered(guiding(3, [(0.1, 0.2)]))
        assert value(samples, "phd2_guide_error_peak_pixels", axis="ra") == 0.1
        for name in (
            "phd2_guide_error_stddev_arcseconds",
            "phd2_guide_error_peak_arcseconds",
        ):
            assert value(samples, name, axis="ra") is None, name
        assert value(samples, "phd2_guide_error_combined_stddev_arcseconds") is None

    def test_same_steps_as_the_rms(self):
        """Settling steps stay out, and a new guiding run starts an empty window."""
        state = guiding(5, [(0.2, 0.2)])
        state.apply(ev("SettleBegin"), NOW)
        state.apply(step(2, 5.0, 5.0), NOW)
        state.apply(ev("SettleDone", Status=0, TotalFrames=1, DroppedFrames=0), NOW)
        samples = rendered(state)
        assert value(samples, "phd2_guide_error_peak_pixels", axis="ra") == 0.2
        state.apply(ev("GuidingStopped"), NOW)
        state.apply(ev("StartGuiding"), NOW)
        samples = rendered(state)
        assert value(samples, "phd2_guide_error_peak_pixels", axis="ra") is None
        state.apply(step(1, -0.05, 0.1), NOW)
        samples = rendered(state)
        assert value(samples, "phd2_guide_error_peak_pixels", axis="ra") == 0.05


class TestEventValues:
    def test_values_of_the_original_have_clean_names(self):
        """Calibration, settle, dither, star loss, lock and star positions, dx/dy."""
        samples = rendered(session(legacy=False))
        expected = {
            ("phd2_calibration_step_distance_pixels", "West"): 9.8,
            ("phd2_calibration_step_x_offset_pixels", "West"): 9.0,
            ("phd2_calibration_step_y_offset_pixels", "North"): 7.0,
            ("phd2_calibration_step_number", "West"): 2.0,
        }
        for (name, direction), number in expected.items():
            assert value(samples, name, direction=direction) == number, name
        singles = {
            "phd2_settle_distance_pixels": 1.87,
            "phd2_settle_in_range_seconds": 3.0,
            "phd2_settle_required_seconds": 10.0,
            "phd2_settle_star_locked": 1.0,
            "phd2_last_settle_status": 1.0,
            "phd2_dither_ra_offset_pixels": 1.5,
            "phd2_dither_dec_offset_pixels": -2.25,
            "phd2_star_lost_snr": 3.1,
            "phd2_star_lost_star_mass": 120.0,
            "phd2_star_lost_avg_distance_pixels": 0.55,
            "phd2_lock_position_x_pixels": 640.125,
            "phd2_lock_position_y_pixels": 480.5,
            "phd2_selected_star_x_pixels": 1.0,
            "phd2_selected_star_y_pixels": 2.0,
            "phd2_guide_step_x_offset_pixels": 0.25,
            "phd2_guide_step_y_offset_pixels": -0.5,
        }
        for name, number in singles.items():
            assert value(samples, name) == number, name

    def test_absent_until_sent(self):
        """Before PHD2 sent the event, its families are absent (never 0)."""
        state = Phd2State(3)
        for event in CATCH_UP:
            state.apply(event, NOW)
        samples = rendered(state)
        for name in (
            "phd2_settle_distance_pixels",
            "phd2_dither_ra_offset_pixels",
            "phd2_star_lost_snr",
            "phd2_lock_position_x_pixels",
            "phd2_last_settle_status",
        ):
            assert value(samples, name) is None, name
        assert not [k for k in samples if k[0].startswith("phd2_calibration_step")]

    def test_new_calibration_forgets_the_last_ones_legs(self):
        """A StartCalibration (not replayed) clears the previous legs."""
        state = session(legacy=False)
        state.apply(ev("StartCalibration", Mount="On-camera"), NOW)
        state.apply(
            ev("Calibrating", Mount="On-camera", dir="Sideways", dist=1.0, dx=1.0,
               dy=0.0, pos=[0, 0], step=1),
            NOW,
        )  # fmt: skip
        samples = rendered(state)
        name = "phd2_calibration_step_distance_pixels"
        assert value(samples, name, direction="West") is None
        assert value(samples, name, direction="other") == 1.0

    def test_reconnect_forgets_positions_until_replayed(self):
        """A new connection drops lock and star positions; the catch-up restores."""
        state = session(legacy=False)
        state.begin_connection()
        assert value(rendered(state), "phd2_lock_position_x_pixels") is None
        state.apply(ev("LockPositionSet", X=10.0, Y=20.0), NOW)
        assert value(rendered(state), "phd2_lock_position_x_pixels") == 10.0
