"""Fold runs of PHD2 ``GuideStep`` events: the hot half of ``Phd2State``.

While guiding, PHD2 sends one GuideStep per guide frame and little else, so the
exporter's ingest rate is this module's. ``GuideStepFold._on_guide_steps`` takes a
run of consecutive GuideSteps (``Phd2State.apply_batch`` hands over each run of one
socket read, ``apply`` a run of one) and does per step only what every step needs:
the AO check, the pulse totals, the clipped-pulse counts and, if no flag excludes
it, a note of the step for the RMS. The rest happens once per run or once per
snapshot:

- The flags other events leave behind (a pending dither, the ``Frame`` of a
  ``StarLost``) can only touch the first step of a run, and settling cannot change
  within one.
- Distances are checked and enter the RMS windows when a snapshot is built
  (``_fold_distances``): newest first and only until a window's worth is found, so
  steps that left the window before anyone looked are never summed.
- The last step's values (``GuideStepValues``) are read once per snapshot.

The result is that of folding each step on its own, by the rules in ``events``'
docstring (``shared/protocols/phd2.md`` §6, §14 and COMPAT); pulse durations become
seconds, distances stay in guide-camera pixels. Pure: no I/O, no logging, no clock
reads (``now`` is passed in); it must not handle other events and must not import
``events`` or ``state``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, Final

from exporterhub.exporters.phd2.fields import Pulse, integer, number, pulse, to_number
from exporterhub.exporters.phd2.protocol import GuiderState
from exporterhub.exporters.phd2.rms import RollingMeanSquares
from exporterhub.exporters.phd2.snapshot import (
    DEC_DIRECTIONS,
    OTHER,
    PULSE_DIRECTIONS,
    RA_DIRECTIONS,
    GuideStats,
    GuideStepValues,
)
from exporterhub.exporters.phd2.window import RollingWindow, population_stddev

__all__ = ["Distances", "GuideStepFold", "measurement"]

# Enum members as module constants: ``GuiderState.GUIDING`` is a class attribute
# lookup through the enum machinery on every use (~80 ns on Python 3.11).
_GUIDING: Final = GuiderState.GUIDING
_PAUSED: Final = GuiderState.PAUSED
_LOST_LOCK: Final = GuiderState.LOST_LOCK

_MAX_DISTANCE: Final = 1e6
"""Pixels; a larger distance is garbage (no camera is that wide) and would overflow
the sum of squares, so such a step stays out of the RMS window."""

_EXACT_INT: Final = 2**53
"""Longest pulse in ms taken on the fast path: there ``ms / 1000.0`` equals
``fields.pulse``'s ``float(ms) / 1000.0`` and cannot overflow."""

_PULSE_INDEX: Final = {direction: i for i, direction in enumerate(PULSE_DIRECTIONS)}
_EAST: Final = _PULSE_INDEX["East"]
_WEST: Final = _PULSE_INDEX["West"]
_NORTH: Final = _PULSE_INDEX["North"]
_SOUTH: Final = _PULSE_INDEX["South"]

_MIN_BACKLOG: Final = 256
"""Noted steps are folded in at the latest after this many (or a window's worth, if
longer), so a state nobody snapshots keeps bounded memory."""

Distances = tuple[Any, Any, Any, Any]
"""RADistanceRaw, DECDistanceRaw, RADistanceGuide, DECDistanceGuide as sent."""


def measurement(distances: Distances) -> tuple[float, float, float, float] | None:
    """Return the four distances as floats if the step can enter the RMS window.

    None when one is missing, not a finite number, or beyond 1e6 px.

    >>> measurement((0.25, -1, 0.5, 0.0))
    (0.25, -1.0, 0.5, 0.0)
    >>> measurement((0.25, None, 0.5, 0.0)), measurement((2e6, 0.1, 0.1, 0.1))
    (None, None)
    """
    ra_raw, dec_raw, ra_guide, dec_guide = distances
    if not (
        type(ra_raw) is float
        and type(dec_raw) is float
        and type(ra_guide) is float
        and type(dec_guide) is float
    ):
        ra_raw = to_number(ra_raw)
        dec_raw = to_number(dec_raw)
        ra_guide = to_number(ra_guide)
        dec_guide = to_number(dec_guide)
        if ra_raw is None or dec_raw is None or ra_guide is None or dec_guide is None:
            return None
    # A NaN or infinity fails the bounds like an absurd distance.
    if (
        -_MAX_DISTANCE <= ra_raw <= _MAX_DISTANCE
        and -_MAX_DISTANCE <= dec_raw <= _MAX_DISTANCE
        and -_MAX_DISTANCE <= ra_guide <= _MAX_DISTANCE
        and -_MAX_DISTANCE <= dec_guide <= _MAX_DISTANCE
    ):
        return (ra_raw, dec_raw, ra_guide, dec_guide)
    return None


_read_distances: Final = operator.itemgetter(
    "RADistanceRaw", "DECDistanceRaw", "RADistanceGuide", "DECDistanceGuide"
)
"""The four distances in one C call; raises ``KeyError`` when one is missing."""


def _distances(fields: dict[str, Any]) -> Distances:
    get = fields.get
    return (
        get("RADistanceRaw"),
        get("DECDistanceRaw"),
        get("RADistanceGuide"),
        get("DECDistanceGuide"),
    )


class GuideStepFold:
    """GuideStep folding and the fields it works on; see the module doc.

    Not used on its own: ``EventHandlers`` inherits it and ``Phd2State`` sets the
    fields.
    """

    _state: GuiderState | None
    _paused_from: GuiderState | None
    _settling: bool
    _dither_pending: bool
    _lost_frame: int | None
    _ao_seen: bool
    _step: tuple[dict[str, Any], bool] | None
    """The last step's fields, and whether a flag kept it out of the RMS window."""
    _last_step: GuideStepValues | None
    _last_step_at: float | None
    _rms: RollingMeanSquares
    """Windows of RADistanceRaw, DECDistanceRaw, RADistanceGuide, DECDistanceGuide."""
    _ra_window: RollingWindow
    """Mean and peak of RADistanceRaw over the same steps as ``_rms``."""
    _dec_window: RollingWindow
    """The same of DECDistanceRaw."""
    _noted: list[dict[str, Any]]
    """Steps no flag excluded, oldest first, whose distances are not yet in
    ``_rms`` (the step's parsed object: reading the distances waits for the
    snapshot)."""
    _pulse_totals: list[float]
    """Seconds of pulses by direction, in ``PULSE_DIRECTIONS`` order."""
    _pulse_other: float | None
    """Seconds of pulses in directions PHD2 does not send; None until one came."""
    _guide_steps: int
    _ra_limited: int
    _dec_limited: int

    def _new_windows(self, size: int) -> None:
        """Start empty RMS and statistics windows of ``size`` steps."""
        self._rms = RollingMeanSquares(size, width=4)
        self._ra_window = RollingWindow(size)
        self._dec_window = RollingWindow(size)
        self._noted = []

    def _guide_stats(self) -> GuideStats | None:
        """Return the deviations and peaks of the errors over the window (folded)."""
        ra_ms, dec_ms = self._rms.mean_squares()[:2]
        ra_mean = self._ra_window.mean()
        dec_mean = self._dec_window.mean()
        ra_peak = self._ra_window.peak()
        dec_peak = self._dec_window.peak()
        if (
            ra_ms is None
            or dec_ms is None
            or ra_mean is None
            or dec_mean is None
            or ra_peak is None
            or dec_peak is None
        ):
            return None
        ra_sd = population_stddev(ra_ms, ra_mean)
        dec_sd = population_stddev(dec_ms, dec_mean)
        return GuideStats(
            ra_stddev_px=ra_sd,
            dec_stddev_px=dec_sd,
            total_stddev_px=math.sqrt(ra_sd * ra_sd + dec_sd * dec_sd),
            ra_peak_px=ra_peak,
            dec_peak_px=dec_peak,
        )

    def _on_guide_steps(self, steps: Sequence[dict[str, Any]], now: float) -> None:
        """Fold a run of consecutive GuideSteps, oldest first (at least one)."""
        first = steps[0]
        dead_reckoning = False
        if self._lost_frame is not None:
            dead_reckoning = (
                integer(first, "Frame") == self._lost_frame
                and number(first, "dx") == 0.0
                and number(first, "dy") == 0.0
            )
            self._lost_frame = None
        skip = self._dither_pending or dead_reckoning  # the first step only
        self._dither_pending = False
        settling = self._settling
        ao_seen = self._ao_seen
        note = self._noted.append
        totals = self._pulse_totals
        ra_limited = dec_limited = 0
        excluded = True
        # Per step: exact-type checks for what PHD2 sends, ``fields.pulse`` for
        # anything else.
        for fields in steps:
            ao = "Pos" in fields
            if ao:
                ao_seen = True
            excluded = settling or skip or (ao_seen and not ao)
            skip = False
            if not excluded:
                note(fields)
            get = fields.get
            ra_ms = get("RADuration")
            if ra_ms is not None:
                ra_direction = get("RADirection")
                if type(ra_ms) is not int or not 0 < ra_ms <= _EXACT_INT:
                    self._add_pulse(
                        pulse(fields, "RADuration", "RADirection", RA_DIRECTIONS)
                    )
                elif ra_direction == "West":
                    totals[_WEST] += ra_ms / 1000.0
                elif ra_direction == "East":
                    totals[_EAST] += ra_ms / 1000.0
                else:  # an AO's Left or Right, or a direction PHD2 does not send
                    self._add_pulse(
                        pulse(fields, "RADuration", "RADirection", RA_DIRECTIONS)
                    )
            dec_ms = get("DECDuration")
            if dec_ms is not None:
                dec_direction = get("DECDirection")
                if type(dec_ms) is not int or not 0 < dec_ms <= _EXACT_INT:
                    self._add_pulse(
                        pulse(fields, "DECDuration", "DECDirection", DEC_DIRECTIONS)
                    )
                elif dec_direction == "North":
                    totals[_NORTH] += dec_ms / 1000.0
                elif dec_direction == "South":
                    totals[_SOUTH] += dec_ms / 1000.0
                else:  # an AO's Up or Down, or a direction PHD2 does not send
                    self._add_pulse(
                        pulse(fields, "DECDuration", "DECDirection", DEC_DIRECTIONS)
                    )
            # Both are sent only when true (§5): test for the key first.
            if "RALimited" in fields and fields["RALimited"] is True:
                ra_limited += 1
            if "DecLimited" in fields and fields["DecLimited"] is True:
                dec_limited += 1
        self._ao_seen = ao_seen
        self._ra_limited += ra_limited
        self._dec_limited += dec_limited
        self._guide_steps += len(steps)
        self._step = (steps[-1], excluded)
        self._last_step = None
        self._last_step_at = now
        if len(self._noted) >= max(self._rms.size, _MIN_BACKLOG):
            self._fold_distances()
        # A step leaves Paused alone, and a dead-reckoning step leaves LostLock
        # alone: both are deduced corrections, not a found star (§6).
        state = self._state
        if state is _GUIDING or state is _PAUSED:
            return
        if dead_reckoning and len(steps) == 1 and state is _LOST_LOCK:
            return
        self._paused_from = None  # what _set_state does for any state but Paused
        self._state = _GUIDING

    def _add_pulse(self, step_pulse: Pulse) -> None:
        seconds, direction = step_pulse
        if direction is None:
            return
        index = _PULSE_INDEX.get(direction)
        if index is not None:
            self._pulse_totals[index] += seconds
        elif self._pulse_other is None:
            self._pulse_other = seconds
        else:
            self._pulse_other += seconds

    def _pulse_seconds(self) -> tuple[tuple[str, float], ...]:
        """Return the pulse totals by direction, ``"other"`` last once seen."""
        pairs = tuple(zip(PULSE_DIRECTIONS, self._pulse_totals, strict=True))
        if self._pulse_other is None:
            return pairs
        return (*pairs, (OTHER, self._pulse_other))

    def _fold_distances(self) -> None:
        """Move the noted distances that still matter into the RMS windows."""
        noted = self._noted
        if not noted:
            return
        size = self._rms.size
        rows: list[tuple[float, float, float, float]] = []
        for fields in reversed(noted):
            try:
                row = _read_distances(fields)
            except KeyError:
                continue  # a missing distance: not a measurement
            ra_raw, dec_raw, ra_guide, dec_guide = row
            if not (
                type(ra_raw) is float
                and type(dec_raw) is float
                and type(ra_guide) is float
                and type(dec_guide) is float
                and -_MAX_DISTANCE <= ra_raw <= _MAX_DISTANCE
                and -_MAX_DISTANCE <= dec_raw <= _MAX_DISTANCE
                and -_MAX_DISTANCE <= ra_guide <= _MAX_DISTANCE
                and -_MAX_DISTANCE <= dec_guide <= _MAX_DISTANCE
            ):
                row = measurement(row)  # ints, odd values: the general check
                if row is None:
                    continue
            rows.append(row)
            if len(rows) == size:
                break
        rows.reverse()
        self._rms.extend(rows)
        self._ra_window.extend([row[0] for row in rows])
        self._dec_window.extend([row[1] for row in rows])
        noted.clear()

    def _last_step_values(self) -> GuideStepValues | None:
        if self._last_step is None and self._step is not None:
            fields, excluded = self._step
            ra_pulse = pulse(fields, "RADuration", "RADirection", RA_DIRECTIONS)
            dec_pulse = pulse(fields, "DECDuration", "DECDirection", DEC_DIRECTIONS)
            error_code = integer(fields, "ErrorCode")
            self._last_step = GuideStepValues(
                frame=integer(fields, "Frame"),
                ra_distance_px=number(fields, "RADistanceRaw"),
                dec_distance_px=number(fields, "DECDistanceRaw"),
                ra_correction_px=number(fields, "RADistanceGuide"),
                dec_correction_px=number(fields, "DECDistanceGuide"),
                ra_pulse_seconds=ra_pulse[0],
                ra_direction=ra_pulse[1],
                dec_pulse_seconds=dec_pulse[0],
                dec_direction=dec_pulse[1],
                snr=number(fields, "SNR"),
                star_mass=number(fields, "StarMass"),
                hfd_px=number(fields, "HFD"),
                avg_distance_px=number(fields, "AvgDist"),
                error_code=0 if error_code is None else error_code,
                ra_limited=fields.get("RALimited") is True,
                dec_limited=fields.get("DecLimited") is True,
                ao="Pos" in fields,
                measured=not excluded and measurement(_distances(fields)) is not None,
                dx_px=number(fields, "dx"),
                dy_px=number(fields, "dy"),
            )
        return self._last_step
