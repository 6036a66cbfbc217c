"""Metric rows for the guiding statistics and the last values of PHD2's rarer events.

Part of the PHD2 metric table (``collector`` splices ``WINDOW_SPECS`` and
``EVENT_VALUE_SPECS`` into ``PHD2_SPECS``): population stddev and peaks over the RMS
window as PHD2's graph window and NINA show them, and clean names for what the
original phd2-exporter served as ``phd2_<Event>_<Field>`` (calibration steps,
settling, dithers, star loss, lock and star positions). Reads a ``Phd2Snapshot``
only; no I/O, no prometheus_client objects. A value PHD2 has not sent is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.phd2.snapshot import (
    CalibrationStep,
    GuideStats,
    Phd2Snapshot,
    SettlingValues,
    StarLostValues,
)

__all__ = ["EVENT_VALUE_SPECS", "WINDOW_SPECS"]


def _axes(
    ra: Callable[[GuideStats], float],
    dec: Callable[[GuideStats], float],
    *,
    arcsec: bool,
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    """Make a value_fn: one series per axis, in arcsec only while the scale is known."""

    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        stats = s.guide_stats
        if stats is None:
            return ()
        factor = 1.0
        if arcsec:
            if s.pixel_scale is None:
                return ()
            factor = s.pixel_scale
        return ((("ra",), ra(stats) * factor), (("dec",), dec(stats) * factor))

    return value_fn


def _total(s: Phd2Snapshot, *, arcsec: bool) -> Iterable[Sample]:
    stats = s.guide_stats
    if stats is None:
        return ()
    if not arcsec:
        return one(stats.total_stddev_px)
    if s.pixel_scale is None:
        return ()
    return one(stats.total_stddev_px * s.pixel_scale)


_WINDOW_NOTE: Final = "over the RMS window (the last rms_window_samples measured steps)"

WINDOW_SPECS: Final[list[MetricSpec[Phd2Snapshot]]] = [
    MetricSpec(
        name="phd2_guide_error_stddev_pixels",
        help="Population standard deviation of the measured guiding error by axis "
        f"{_WINDOW_NOTE}, in pixels, as PHD2's graph and NINA show RMS "
        "(RADistanceRaw, DECDistanceRaw).",
        kind=Kind.GAUGE,
        labels=("axis",),
        value_fn=_axes(
            lambda g: g.ra_stddev_px, lambda g: g.dec_stddev_px, arcsec=False
        ),
    ),
    MetricSpec(
        name="phd2_guide_error_stddev_arcseconds",
        help="Population standard deviation of the measured guiding error by axis "
        f"{_WINDOW_NOTE}, in arcseconds (pixels times get_pixel_scale).",
        kind=Kind.GAUGE,
        labels=("axis",),
        value_fn=_axes(
            lambda g: g.ra_stddev_px, lambda g: g.dec_stddev_px, arcsec=True
        ),
    ),
    MetricSpec(
        name="phd2_guide_error_combined_stddev_pixels",
        help="Total guiding error as PHD2 and NINA show it, the square root of the "
        f"sum of both axes' squared standard deviations {_WINDOW_NOTE}, in pixels.",
        kind=Kind.GAUGE,
        value_fn=lambda s: _total(s, arcsec=False),
    ),
    MetricSpec(
        name="phd2_guide_error_combined_stddev_arcseconds",
        help="Total guiding error as PHD2 and NINA show it, the square root of the "
        f"sum of both axes' squared standard deviations {_WINDOW_NOTE}, in "
        "arcseconds.",
        kind=Kind.GAUGE,
        value_fn=lambda s: _total(s, arcsec=True),
    ),
    MetricSpec(
        name="phd2_guide_error_peak_pixels",
        help=f"Largest absolute measured guiding error by axis {_WINDOW_NOTE}, in "
        "pixels (RADistanceRaw, DECDistanceRaw).",
        kind=Kind.GAUGE,
        labels=("axis",),
        value_fn=_axes(lambda g: g.ra_peak_px, lambda g: g.dec_peak_px, arcsec=False),
    ),
    MetricSpec(
        name="phd2_guide_error_peak_arcseconds",
        help=f"Largest absolute measured guiding error by axis {_WINDOW_NOTE}, in "
        "arcseconds (pixels times get_pixel_scale).",
        kind=Kind.GAUGE,
        labels=("axis",),
        value_fn=_axes(lambda g: g.ra_peak_px, lambda g: g.dec_peak_px, arcsec=True),
    ),
]
"""Stddev and peaks over the RMS window, beside ``phd2_rms`` (RMS about zero)."""


def _calibration(
    read: Callable[[CalibrationStep], float | None],
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        return (
            ((step.direction,), value)
            for step in s.calibration_steps
            if (value := read(step)) is not None
        )

    return value_fn


def _settling(
    read: Callable[[SettlingValues], float | bool | None],
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        values = s.settling_values
        return () if values is None else one(read(values))

    return value_fn


def _lost(
    read: Callable[[StarLostValues], float | None],
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        values = s.last_star_lost
        return () if values is None else one(read(values))

    return value_fn


def _pair(
    read: Callable[[Phd2Snapshot], tuple[float, float] | None], index: int
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        pair = read(s)
        return () if pair is None else one(pair[index])

    return value_fn


def _gauge(
    name: str, help: str, value_fn: Callable[[Phd2Snapshot], Iterable[Sample]]
) -> MetricSpec[Phd2Snapshot]:
    return MetricSpec(name=name, help=help, kind=Kind.GAUGE, value_fn=value_fn)


def _per_direction(
    name: str, help: str, read: Callable[[CalibrationStep], float | None]
) -> MetricSpec[Phd2Snapshot]:
    return MetricSpec(
        name=name,
        help=help,
        kind=Kind.GAUGE,
        labels=("direction",),
        value_fn=_calibration(read),
    )


EVENT_VALUE_SPECS: Final[list[MetricSpec[Phd2Snapshot]]] = [
    _per_direction(
        "phd2_calibration_step_distance_pixels",
        "Distance of the last calibration step from its leg's start by direction, "
        "in pixels, for the current or last calibration (Calibrating dist, dir).",
        lambda c: c.distance_px,
    ),
    _per_direction(
        "phd2_calibration_step_x_offset_pixels",
        "Camera X offset of the last calibration step from its leg's start by "
        "direction, in pixels (Calibrating dx, dir).",
        lambda c: c.dx_px,
    ),
    _per_direction(
        "phd2_calibration_step_y_offset_pixels",
        "Camera Y offset of the last calibration step from its leg's start by "
        "direction, in pixels (Calibrating dy, dir).",
        lambda c: c.dy_px,
    ),
    _per_direction(
        "phd2_calibration_step_number",
        "Number of the last calibration step by direction, counted within its leg "
        "(Calibrating step, dir).",
        lambda c: None if c.step is None else float(c.step),
    ),
    _gauge(
        "phd2_settle_distance_pixels",
        "PHD2's smoothed distance from the lock position in the last Settling "
        "event, in pixels (Settling Distance).",
        _settling(lambda v: v.distance_px),
    ),
    _gauge(
        "phd2_settle_in_range_seconds",
        "Seconds the star had been within the settle distance at the last Settling "
        "event (Settling Time).",
        _settling(lambda v: v.in_range_seconds),
    ),
    _gauge(
        "phd2_settle_required_seconds",
        "Seconds within the settle distance that the last settle asked for "
        "(Settling SettleTime).",
        _settling(lambda v: v.required_seconds),
    ),
    _gauge(
        "phd2_settle_star_locked",
        "1 when the star was locked at the last Settling event, else 0 (Settling "
        "StarLocked).",
        _settling(lambda v: v.star_locked),
    ),
    _gauge(
        "phd2_last_settle_status",
        "Status of the last SettleDone, 0 for success and 1 for failure (SettleDone "
        "Status).",
        lambda s: one(s.last_settle_status),
    ),
    _gauge(
        "phd2_dither_ra_offset_pixels",
        "RA-axis offset of the last dither of the lock position, in pixels "
        "(GuidingDithered dx).",
        _pair(lambda s: s.last_dither, 0),
    ),
    _gauge(
        "phd2_dither_dec_offset_pixels",
        "Dec-axis offset of the last dither of the lock position, in pixels "
        "(GuidingDithered dy).",
        _pair(lambda s: s.last_dither, 1),
    ),
    _gauge(
        "phd2_star_lost_snr",
        "Star signal-to-noise ratio in the last StarLost event (StarLost SNR).",
        _lost(lambda v: v.snr),
    ),
    _gauge(
        "phd2_star_lost_star_mass",
        "Star brightness in the last StarLost event as an ADU sum (StarLost StarMass).",
        _lost(lambda v: v.star_mass),
    ),
    _gauge(
        "phd2_star_lost_avg_distance_pixels",
        "PHD2's smoothed distance from the lock position in the last StarLost "
        "event, in pixels (StarLost AvgDist).",
        _lost(lambda v: v.avg_distance_px),
    ),
    _gauge(
        "phd2_lock_position_x_pixels",
        "Lock position X on the guide camera in pixels, absent once the lock is "
        "lost (LockPositionSet X).",
        _pair(lambda s: s.lock_position, 0),
    ),
    _gauge(
        "phd2_lock_position_y_pixels",
        "Lock position Y on the guide camera in pixels, absent once the lock is "
        "lost (LockPositionSet Y).",
        _pair(lambda s: s.lock_position, 1),
    ),
    _gauge(
        "phd2_selected_star_x_pixels",
        "Position X of the selected guide star on the guide camera in pixels "
        "(StarSelected X).",
        _pair(lambda s: s.star_position, 0),
    ),
    _gauge(
        "phd2_selected_star_y_pixels",
        "Position Y of the selected guide star on the guide camera in pixels "
        "(StarSelected Y).",
        _pair(lambda s: s.star_position, 1),
    ),
]
"""Clean names for the last values the original served as phd2_<Event>_<Field>."""
