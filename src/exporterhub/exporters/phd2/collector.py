"""The PHD2 metric table: what each ``phd2_*`` family says and where it comes from.

Reads a ``Phd2Snapshot`` only; the core renders the table (``exporterhub.core``).
No I/O, no prometheus_client objects. Names fixed by COMPAT: ``phd2_connected``,
``phd2_current_equipment``, ``phd2_status``, ``phd2_pixel_scale``, ``phd2_rms``,
``phd2_error_total``. Health rows (``phd2_up`` …) are added by the core. Every series
also carries the identity labels ``host`` and ``inst`` from ``identity``.

Rows appear only when their value is known: no RMS before the first measured
GuideStep, no arcsecond rows while the pixel scale is unknown, no HFD from PHD2
versions that do not send it. Counters with a fixed label set (alert levels, pulse
directions, error types) list every value from the start, at 0; events and star-lost
codes appear once seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.phd2.lastvalues import EVENT_VALUE_SPECS, WINDOW_SPECS
from exporterhub.exporters.phd2.legacy import LEGACY_SPECS
from exporterhub.exporters.phd2.protocol import GuiderState
from exporterhub.exporters.phd2.snapshot import (
    DEC_DIRECTIONS,
    OTHER,
    RA_DIRECTIONS,
    GuideStepValues,
    Phd2Snapshot,
)

__all__ = ["ALL_SPECS", "PHD2_SPECS", "PREFIX", "STATUSES", "identity"]

PREFIX: Final = "phd2"

STATUSES: Final = (
    GuiderState.STOPPED.value,
    GuiderState.SELECTED.value,
    GuiderState.CALIBRATING.value,
    GuiderState.GUIDING.value,
    GuiderState.LOST_LOCK.value,
    GuiderState.PAUSED.value,
    GuiderState.LOOPING.value,
    "Settling",
)
"""``status`` label values of ``phd2_status``, all always present (COMPAT)."""


def identity(
    snapshot: Phd2Snapshot | None, fallback_host: str, fallback_inst: int
) -> tuple[tuple[str, str], ...]:
    """Return the ``host``/``inst`` labels of a PHD2 instance.

    PHD2's own ``Host`` (lower-cased) and ``Inst`` win; the configured address and
    the instance implied by the port stand in until PHD2 has said them.

    >>> identity(None, "Observatory.local", 1)
    (('host', 'observatory.local'), ('inst', '1'))
    """
    host = fallback_host.lower()
    inst = fallback_inst
    if snapshot is not None:
        if snapshot.host is not None:
            host = snapshot.host
        if snapshot.inst is not None:
            inst = snapshot.inst
    return (("host", host), ("inst", str(inst)))


def _counts(pairs: Iterable[tuple[str, float]]) -> Iterable[Sample]:
    return (((label,), float(value)) for label, value in pairs)


def _equipment(s: Phd2Snapshot) -> Iterable[Sample]:
    if s.equipment is None:
        return ()
    return _counts(s.equipment)


def _status(s: Phd2Snapshot) -> Iterable[Sample]:
    current = s.state
    for status in STATUSES[:-1]:
        yield (status,), 1.0 if current == status else 0.0
    yield (STATUSES[-1],), 1.0 if s.settling else 0.0


def _rms(s: Phd2Snapshot) -> Iterable[Sample]:
    return (((scale, source), value) for scale, source, value in s.rms)


def _info(s: Phd2Snapshot) -> Iterable[Sample]:
    if s.version is None:
        return ()
    return (((s.version,), 1.0),)


def _last(
    read: Callable[[GuideStepValues], float | None], *, arcsec: bool = False
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    """Make a value_fn for a field of the last GuideStep, in arcsec if asked."""

    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        step = s.last_step
        if step is None:
            return ()
        value = read(step)
        if arcsec:
            if value is None or s.pixel_scale is None:
                return ()
            value *= s.pixel_scale
        return one(value)

    return value_fn


def _pulse(
    directions: tuple[str, ...],
    read: Callable[[GuideStepValues], tuple[float, str | None]],
) -> Callable[[Phd2Snapshot], Iterable[Sample]]:
    """Make a value_fn: the last pulse on its direction's series, 0 on the others."""

    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        step = s.last_step
        if step is None:
            return ()
        seconds, taken = read(step)
        rows = [((name,), seconds if name == taken else 0.0) for name in directions]
        if taken == OTHER:
            rows.append(((OTHER,), seconds))
        return rows

    return value_fn


def _last_settle(s: Phd2Snapshot) -> Iterable[Sample]:
    return one(s.last_settle_succeeded)


PHD2_SPECS: Final[list[MetricSpec[Phd2Snapshot]]] = [
    MetricSpec(
        name="phd2_info",
        help="PHD2 version from the Version event (PHDVersion + PHDSubver); always 1.",
        kind=Kind.INFO,
        labels=("version",),
        value_fn=_info,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="phd2_connected",
        help="1 when PHD2's camera and mount are connected (get_connected), else 0.",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.connected),
    ),
    MetricSpec(
        name="phd2_current_equipment",
        help="1 when the device of PHD2's profile is connected, else 0 "
        "(get_current_equipment).",
        kind=Kind.GAUGE,
        labels=("device",),
        value_fn=_equipment,
    ),
    MetricSpec(
        name="phd2_status",
        help="PHD2's application state (AppState, events, get_app_state): 1 for the "
        "current state, Settling 1 while a settle runs.",
        kind=Kind.GAUGE,
        labels=("status",),
        value_fn=_status,
    ),
    MetricSpec(
        name="phd2_settling",
        help="1 from SettleBegin (or Settling) until SettleDone, else 0.",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.settling),
    ),
    MetricSpec(
        name="phd2_pixel_scale",
        help="Guide camera pixel scale in arcseconds per pixel (get_pixel_scale).",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.pixel_scale),
    ),
    MetricSpec(
        name="phd2_rms",
        help="Root mean square about zero of the GuideStep distance named by source, "
        "over the last rms_window_samples measured steps, in pixels or arcseconds.",
        kind=Kind.GAUGE,
        labels=("scale", "source"),
        value_fn=_rms,
    ),
    MetricSpec(
        name="phd2_rms_window_samples",
        help="Measured GuideSteps currently in the RMS window (at most --rms_samples).",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.rms_count),
    ),
    *WINDOW_SPECS,
    MetricSpec(
        name="phd2_guide_step_ra_distance_pixels",
        help="Measured RA guiding error of the last GuideStep in pixels "
        "(RADistanceRaw).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.ra_distance_px),
    ),
    MetricSpec(
        name="phd2_guide_step_dec_distance_pixels",
        help="Measured Dec guiding error of the last GuideStep in pixels "
        "(DECDistanceRaw).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.dec_distance_px),
    ),
    MetricSpec(
        name="phd2_guide_step_ra_distance_arcseconds",
        help="Measured RA guiding error of the last GuideStep in arcseconds "
        "(RADistanceRaw times get_pixel_scale).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.ra_distance_px, arcsec=True),
    ),
    MetricSpec(
        name="phd2_guide_step_dec_distance_arcseconds",
        help="Measured Dec guiding error of the last GuideStep in arcseconds "
        "(DECDistanceRaw times get_pixel_scale).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.dec_distance_px, arcsec=True),
    ),
    MetricSpec(
        name="phd2_guide_step_ra_correction_pixels",
        help="RA correction the guide algorithm chose in the last GuideStep, in "
        "pixels (RADistanceGuide).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.ra_correction_px),
    ),
    MetricSpec(
        name="phd2_guide_step_dec_correction_pixels",
        help="Dec correction the guide algorithm chose in the last GuideStep, in "
        "pixels (DECDistanceGuide).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.dec_correction_px),
    ),
    MetricSpec(
        name="phd2_guide_step_x_offset_pixels",
        help="Star offset from the lock position along camera X in the last "
        "GuideStep, in pixels (dx).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.dx_px),
    ),
    MetricSpec(
        name="phd2_guide_step_y_offset_pixels",
        help="Star offset from the lock position along camera Y in the last "
        "GuideStep, in pixels (dy).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.dy_px),
    ),
    MetricSpec(
        name="phd2_guide_step_ra_pulse_seconds",
        help="RA pulse of the last GuideStep in seconds, on the series of its "
        "direction, 0 on the others (RADuration, RADirection).",
        kind=Kind.GAUGE,
        labels=("direction",),
        value_fn=_pulse(RA_DIRECTIONS, lambda v: (v.ra_pulse_seconds, v.ra_direction)),
    ),
    MetricSpec(
        name="phd2_guide_step_dec_pulse_seconds",
        help="Dec pulse of the last GuideStep in seconds, on the series of its "
        "direction, 0 on the others (DECDuration, DECDirection).",
        kind=Kind.GAUGE,
        labels=("direction",),
        value_fn=_pulse(
            DEC_DIRECTIONS, lambda v: (v.dec_pulse_seconds, v.dec_direction)
        ),
    ),
    MetricSpec(
        name="phd2_guide_step_snr",
        help="Guide star signal-to-noise ratio in the last GuideStep (SNR).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.snr),
    ),
    MetricSpec(
        name="phd2_guide_step_star_mass",
        help="Guide star brightness in the last GuideStep as an ADU sum (StarMass).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.star_mass),
    ),
    MetricSpec(
        name="phd2_guide_step_hfd_pixels",
        help="Guide star half-flux diameter in the last GuideStep in pixels (HFD, "
        "PHD2 2.6.7 and later).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.hfd_px),
    ),
    MetricSpec(
        name="phd2_guide_step_avg_distance_pixels",
        help="PHD2's smoothed distance from the lock position in the last GuideStep, "
        "in pixels (AvgDist).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.avg_distance_px),
    ),
    MetricSpec(
        name="phd2_guide_step_frame",
        help="Frame number of the last GuideStep, restarting at 1 with each guiding "
        "run (Frame).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.frame),
    ),
    MetricSpec(
        name="phd2_guide_step_error_code",
        help="Star-finder code of the last GuideStep, 0 when absent (ErrorCode).",
        kind=Kind.GAUGE,
        value_fn=_last(lambda v: v.error_code),
    ),
    MetricSpec(
        name="phd2_last_guide_step_timestamp_seconds",
        help="Unix time on the exporter's clock when the last GuideStep arrived.",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.last_guide_step_at),
    ),
    MetricSpec(
        name="phd2_last_event_timestamp_seconds",
        help="Unix time on the exporter's clock when the last event arrived.",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.last_event_at),
    ),
    MetricSpec(
        name="phd2_last_settle_succeeded",
        help="1 when the last SettleDone reported Status 0, else 0.",
        kind=Kind.GAUGE,
        value_fn=_last_settle,
    ),
    MetricSpec(
        name="phd2_last_settle_frames",
        help="Frames the last settle took (SettleDone TotalFrames).",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.last_settle_frames),
    ),
    MetricSpec(
        name="phd2_last_settle_dropped_frames",
        help="Frames without a star during the last settle (SettleDone DroppedFrames).",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.last_settle_dropped_frames),
    ),
    *EVENT_VALUE_SPECS,
    MetricSpec(
        name="phd2_events_total",
        help="PHD2 events received by name, catch-up replay excluded; names PHD2 "
        "2.6.14 does not define count as other.",
        kind=Kind.COUNTER,
        labels=("event",),
        value_fn=lambda s: _counts(s.events),
    ),
    MetricSpec(
        name="phd2_guide_steps_total",
        help="GuideStep events received.",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.guide_steps),
    ),
    MetricSpec(
        name="phd2_star_lost_total",
        help="StarLost events by star-finder code (ErrorCode, 0 when absent).",
        kind=Kind.COUNTER,
        labels=("code",),
        value_fn=lambda s: _counts(s.star_lost),
    ),
    MetricSpec(
        name="phd2_dithers_total",
        help="Dithers of the lock position (GuidingDithered events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.dithers),
    ),
    MetricSpec(
        name="phd2_settles_started_total",
        help="Settles started (SettleBegin events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.settles_started),
    ),
    MetricSpec(
        name="phd2_settles_total",
        help="Settles finished, successful or not (SettleDone events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.settles_succeeded + s.settles_failed),
    ),
    MetricSpec(
        name="phd2_settle_failures_total",
        help="Settles that failed or were aborted (SettleDone with Status not 0).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.settles_failed),
    ),
    MetricSpec(
        name="phd2_calibrations_started_total",
        help="Device calibrations started (StartCalibration events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.calibrations_started),
    ),
    MetricSpec(
        name="phd2_calibrations_completed_total",
        help="Device calibrations completed (CalibrationComplete events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.calibrations_completed),
    ),
    MetricSpec(
        name="phd2_calibrations_failed_total",
        help="Device calibrations that failed or were stopped (CalibrationFailed "
        "events).",
        kind=Kind.COUNTER,
        value_fn=lambda s: one(s.calibrations_failed),
    ),
    MetricSpec(
        name="phd2_alerts_total",
        help="Alerts PHD2 showed, by level (Alert Type; unknown types count as other).",
        kind=Kind.COUNTER,
        labels=("level",),
        value_fn=lambda s: _counts(s.alerts),
    ),
    MetricSpec(
        name="phd2_guide_pulse_seconds_total",
        help="Guide pulse time sent, by direction, in seconds (GuideStep RADuration "
        "and DECDuration).",
        kind=Kind.COUNTER,
        labels=("direction",),
        value_fn=lambda s: _counts(s.pulse_seconds),
    ),
    MetricSpec(
        name="phd2_guide_pulses_limited_total",
        help="Guide pulses clipped by the maximum duration, by axis (GuideStep "
        "RALimited, DecLimited).",
        kind=Kind.COUNTER,
        labels=("axis",),
        value_fn=lambda s: _counts((("ra", s.ra_limited), ("dec", s.dec_limited))),
    ),
    MetricSpec(
        name="phd2_error_total",
        help="Errors of the exporter's link to PHD2, by type (connection, timeout, "
        "parse, overlong, rpc).",
        kind=Kind.COUNTER,
        labels=("type",),
        value_fn=lambda s: _counts(s.errors),
        # The exporter's own error counts stay valid (and most useful) while the
        # link is down and the values are stale.
        keep_when_stale=True,
    ),
]
"""The PHD2 section's metric table, in output order."""

ALL_SPECS: Final[list[MetricSpec[Phd2Snapshot]]] = [*PHD2_SPECS, *LEGACY_SPECS]
"""What the plugin serves: the table, then the original's families (``legacy``),
which stay empty unless the target has ``legacy_metrics`` on."""
