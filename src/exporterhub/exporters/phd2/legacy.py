"""The original phd2-exporter's event families, served only with ``legacy_metrics``.

jewzaam/phd2-exporter exported every field it read as ``phd2_<Event>_<Field>`` (a
gauge), every event as ``phd2_<Event>_total`` and a liveness counter ``phd2_total``;
its recording rules (``guiding:drift:*``, ``guiding:status:is_connected``,
``guiding:status:lost_stars``) and dashboards read them. These rows serve the same
names and labels from the same snapshot as the clean rows, without the original's
bugs: replayed catch-up events are not counted, ``host``/``inst`` are PHD2's own,
and a value is the last event's, never one left over from an older event that
happened to carry the field (``ErrorCode`` reads 0 when PHD2 omits it, as on the
wire). The names are camelCase because the original's are; promtool's snake_case
advice on them is expected, and its ``_total`` advice on ``phd2_total``, which is
typed gauge (see the row), and nothing else.

Every row yields nothing unless the snapshot's ``legacy`` is set. Reads a
``Phd2Snapshot`` only; no I/O, no prometheus_client objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.phd2.protocol import KNOWN_EVENTS
from exporterhub.exporters.phd2.snapshot import (
    CalibrationStep,
    GuideStepValues,
    Phd2Snapshot,
    SettlingValues,
    StarLostValues,
)

__all__ = ["LEGACY_EVENTS", "LEGACY_SPECS"]

LEGACY_EVENTS: Final = tuple(sorted(KNOWN_EVENTS))
"""Events with a ``phd2_<Event>_total`` counter: every name PHD2 2.6.14 defines."""

_HELP: Final = "Legacy name (legacy_metrics) of the original phd2-exporter: "

_MOUNT_RA: Final = ("East", "West")
_AO_RA: Final = ("Left", "Right")
_MOUNT_DEC: Final = ("North", "South")
_AO_DEC: Final = ("Up", "Down")

Read = Callable[[Phd2Snapshot], Iterable[Sample]]


def _only_legacy(read: Read) -> Read:
    def value_fn(s: Phd2Snapshot) -> Iterable[Sample]:
        return read(s) if s.legacy else ()

    return value_fn


def _step(field: Callable[[GuideStepValues], float | None]) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        return () if s.last_step is None else one(field(s.last_step))

    return _only_legacy(read)


def _limited(flag: bool) -> str:
    # The original put the field itself in the label: "True" when PHD2 sent it,
    # and its stand-in 0 when PHD2 left it out (phd2_exporter.utils.make_labels).
    return "True" if flag else "0"


def _pulse_ms(*, ra: bool) -> Read:
    """The last step's pulse in ms on its direction; the device's other one at 0."""

    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        step = s.last_step
        if step is None:
            return ()
        if ra:
            seconds, taken, flag = (
                step.ra_pulse_seconds,
                step.ra_direction,
                step.ra_limited,
            )
            directions = _AO_RA if step.ao else _MOUNT_RA
        else:
            seconds, taken = step.dec_pulse_seconds, step.dec_direction
            flag = step.dec_limited
            directions = _AO_DEC if step.ao else _MOUNT_DEC
        rows = [
            ((name, _limited(flag)), round(seconds * 1000.0))
            if name == taken
            else ((name, "0"), 0.0)
            for name in directions
        ]
        if taken is not None and taken not in directions:
            rows.append(((taken, _limited(flag)), round(seconds * 1000.0)))
        return rows

    return _only_legacy(read)


def _calibrating(field: Callable[[CalibrationStep], float | None]) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        return (
            ((c.direction,), value)
            for c in s.calibration_steps
            if (value := field(c)) is not None
        )

    return _only_legacy(read)


def _settling(field: Callable[[SettlingValues], float | bool | None]) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        v = s.settling_values
        return () if v is None else one(field(v))

    return _only_legacy(read)


def _lost(field: Callable[[StarLostValues], float | None]) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        v = s.last_star_lost
        return () if v is None else one(field(v))

    return _only_legacy(read)


def _pair(get: Callable[[Phd2Snapshot], tuple[float, float] | None], i: int) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        pair = get(s)
        return () if pair is None else one(pair[i])

    return _only_legacy(read)


def _event_count(event: str) -> Read:
    def read(s: Phd2Snapshot) -> Iterable[Sample]:
        return one(dict(s.events).get(event, 0))

    return _only_legacy(read)


def _gauge(
    name: str, text: str, value_fn: Read, labels: tuple[str, ...] = ()
) -> MetricSpec[Phd2Snapshot]:
    return MetricSpec(
        name=name,
        help=_HELP + text,
        kind=Kind.GAUGE,
        labels=labels,
        value_fn=value_fn,
    )


_GUIDE_STEP_FIELDS: Final[
    tuple[tuple[str, str, Callable[[GuideStepValues], float | None]], ...]
] = (
    ("dx", "star offset from the lock along camera X in pixels", lambda v: v.dx_px),
    ("dy", "star offset from the lock along camera Y in pixels", lambda v: v.dy_px),
    ("RADistanceRaw", "measured RA error in pixels", lambda v: v.ra_distance_px),
    ("DECDistanceRaw", "measured Dec error in pixels", lambda v: v.dec_distance_px),
    ("RADistanceGuide", "RA correction in pixels", lambda v: v.ra_correction_px),
    ("DECDistanceGuide", "Dec correction in pixels", lambda v: v.dec_correction_px),
    ("StarMass", "star brightness as an ADU sum", lambda v: v.star_mass),
    ("SNR", "star signal-to-noise ratio", lambda v: v.snr),
    ("HFD", "star half-flux diameter in pixels", lambda v: v.hfd_px),
    (
        "AvgDist",
        "smoothed distance from the lock in pixels",
        lambda v: v.avg_distance_px,
    ),
    ("ErrorCode", "star-finder code, 0 when absent", lambda v: float(v.error_code)),
)

LEGACY_SPECS: Final[list[MetricSpec[Phd2Snapshot]]] = [
    _gauge(
        "phd2_LockPositionSet_X",
        "lock position X in pixels (LockPositionSet X).",
        _pair(lambda s: s.lock_position, 0),
    ),
    _gauge(
        "phd2_LockPositionSet_Y",
        "lock position Y in pixels (LockPositionSet Y).",
        _pair(lambda s: s.lock_position, 1),
    ),
    _gauge(
        "phd2_StarSelected_X",
        "selected star X in pixels (StarSelected X).",
        _pair(lambda s: s.star_position, 0),
    ),
    _gauge(
        "phd2_StarSelected_Y",
        "selected star Y in pixels (StarSelected Y).",
        _pair(lambda s: s.star_position, 1),
    ),
    _gauge(
        "phd2_Calibrating_dist",
        "last calibration step's distance in pixels by dir (Calibrating dist).",
        _calibrating(lambda c: c.distance_px),
        ("dir",),
    ),
    _gauge(
        "phd2_Calibrating_dx",
        "last calibration step's camera X offset in pixels by dir (Calibrating dx).",
        _calibrating(lambda c: c.dx_px),
        ("dir",),
    ),
    _gauge(
        "phd2_Calibrating_dy",
        "last calibration step's camera Y offset in pixels by dir (Calibrating dy).",
        _calibrating(lambda c: c.dy_px),
        ("dir",),
    ),
    _gauge(
        "phd2_Calibrating_step",
        "last calibration step's number by dir (Calibrating step).",
        _calibrating(lambda c: None if c.step is None else float(c.step)),
        ("dir",),
    ),
    _gauge(
        "phd2_Settling_Distance",
        "settle distance in pixels (Settling Distance).",
        _settling(lambda v: v.distance_px),
    ),
    _gauge(
        "phd2_Settling_Time",
        "seconds in range while settling (Settling Time).",
        _settling(lambda v: v.in_range_seconds),
    ),
    _gauge(
        "phd2_Settling_SettleTime",
        "seconds in range asked for (Settling SettleTime).",
        _settling(lambda v: v.required_seconds),
    ),
    _gauge(
        "phd2_Settling_StarLocked",
        "1 when the star was locked (Settling StarLocked).",
        _settling(lambda v: v.star_locked),
    ),
    _gauge(
        "phd2_SettleDone_Status",
        "last settle's status, 0 success, 1 failure (SettleDone Status).",
        _only_legacy(lambda s: one(s.last_settle_status)),
    ),
    _gauge(
        "phd2_SettleDone_TotalFrames",
        "frames of the last settle (SettleDone TotalFrames).",
        _only_legacy(lambda s: one(s.last_settle_frames)),
    ),
    _gauge(
        "phd2_SettleDone_DroppedFrames",
        "dropped frames of the last settle (SettleDone DroppedFrames).",
        _only_legacy(lambda s: one(s.last_settle_dropped_frames)),
    ),
    _gauge(
        "phd2_StarLost_StarMass",
        "star mass at the last star loss (StarLost StarMass).",
        _lost(lambda v: v.star_mass),
    ),
    _gauge(
        "phd2_StarLost_SNR",
        "SNR at the last star loss (StarLost SNR).",
        _lost(lambda v: v.snr),
    ),
    _gauge(
        "phd2_StarLost_AvgDist",
        "smoothed distance in pixels at the last star loss (StarLost AvgDist).",
        _lost(lambda v: v.avg_distance_px),
    ),
    _gauge(
        "phd2_StarLost_ErrorCode",
        "star-finder code of the last star loss, 0 when absent (StarLost ErrorCode).",
        _lost(lambda v: float(v.error_code)),
    ),
    *(
        _gauge(
            f"phd2_GuideStep_{field}",
            f"last GuideStep's {text} (GuideStep {field}).",
            _step(read),
        )
        for field, text, read in _GUIDE_STEP_FIELDS
    ),
    _gauge(
        "phd2_GuideStep_RADuration",
        "last GuideStep's RA pulse in milliseconds on "
        "its direction, 0 on the other (GuideStep RADuration).",
        _pulse_ms(ra=True),
        ("RADirection", "RALimited"),
    ),
    _gauge(
        "phd2_GuideStep_DECDuration",
        "last GuideStep's Dec pulse in milliseconds "
        "on its direction, 0 on the other (GuideStep DECDuration).",
        _pulse_ms(ra=False),
        ("DECDirection", "DecLimited"),
    ),
    _gauge(
        "phd2_GuidingDithered_dx",
        "last dither's RA-axis offset in pixels (GuidingDithered dx).",
        _pair(lambda s: s.last_dither, 0),
    ),
    _gauge(
        "phd2_GuidingDithered_dy",
        "last dither's Dec-axis offset in pixels (GuidingDithered dy).",
        _pair(lambda s: s.last_dither, 1),
    ),
    *(
        MetricSpec(
            name=f"phd2_{event}_total",
            help=_HELP + f"{event} events received, catch-up replay excluded.",
            kind=Kind.COUNTER,
            value_fn=_event_count(event),
        )
        for event in LEGACY_EVENTS
    ),
    # A gauge, not a counter: in OpenMetrics a counter phd2_total is the family
    # "phd2", which phd2_info (family "phd2" too) already names, and a scrape
    # with both is rejected by strict parsers. rate() reads it all the same.
    MetricSpec(
        name="phd2_total",
        help=_HELP + "lines received from PHD2, events and answers, a count that "
        "only rises while the link is up (typed gauge: see the migration page).",
        kind=Kind.GAUGE,
        value_fn=_only_legacy(lambda s: one(s.received)),
    ),
]
"""The original's families, in its order; empty unless ``legacy_metrics`` is on."""
