"""Fold PHD2 events and poll results into an immutable ``Phd2Snapshot``.

Pure: no I/O, no logging, no clock reads — the caller passes ``now`` (exporter wall
clock, Unix seconds). Units are converted here (PHD2 milliseconds → seconds); values
stay in guide-camera pixels, arcseconds are derived only while the pixel scale is
known. Rules followed (``shared/protocols/phd2.md``):

- Catch-up (§3): every connection starts with a replay of PHD2's state ending at the
  first ``AppState``. Those events set state but are never counted. A constructed
  ``Phd2State`` is in catch-up mode; call ``begin_connection`` for every new
  connection. An event that PHD2 never replays also ends catch-up (in case the
  ``AppState`` line was lost to a malformed read), so handlers of such events
  count unconditionally.
- State (§7): the event table, plus a "star selected" flag so looping with a star
  reads ``Selected``. The flag is set by ``StarSelected``, ``StartCalibration``,
  ``StartGuiding`` and the states that need a star, and cleared by
  ``LockPositionLost``, ``LoopingExposuresStopped`` and ``StarLost`` while looping.
  ``Paused`` remembers the state to return to on ``Resumed`` (``Guiding`` when
  unknown). A ``GuideStep`` leaves ``Paused`` alone and a dead-reckoning
  ``GuideStep`` leaves ``LostLock`` alone: both are deduced corrections, not a found
  star (§6). The periodic ``get_app_state`` poll wins.
- Settling (§8) is a flag from ``SettleBegin``/``Settling`` to ``SettleDone``.
- RMS (§6, §14, COMPAT): root mean square about zero over the last ``rms_samples``
  GuideSteps that are measurements: not while settling, not the first step after
  ``GuidingDithered``, not dead-reckoning steps (``dx = dy = 0`` with the ``Frame`` of
  the preceding ``StarLost``), and — once a step with ``Pos`` shows an AO is guiding —
  not the mount's bump steps; nor steps with a missing, non-finite or absurd
  (over 1e6 px) distance.
- A new guiding run (a ``StartGuiding`` that is not a catch-up replay) empties the
  RMS window, so no RMS is shown until its first measured step.
- Counters never decrease for the life of the object (across reconnects).

Label values are bounded: event names outside ``KNOWN_EVENTS``, star-lost codes
outside 0 to 8, alert types and pulse directions outside PHD2's sets all count under
``"other"``. A missing star-lost ``ErrorCode`` counts as code ``"0"`` (PHD2 omits the
field when it is zero, and versions before 2.6.7 never send it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from exporterhub.exporters.phd2.protocol import KNOWN_EVENTS, Event, GuiderState
from exporterhub.exporters.phd2.rms import RollingMeanSquare

__all__ = [
    "ALERT_LEVELS",
    "DEC_DIRECTIONS",
    "DEVICES",
    "OTHER",
    "PULSE_DIRECTIONS",
    "RA_DIRECTIONS",
    "RMS_SOURCES",
    "ErrorType",
    "GuideStepValues",
    "Phd2Snapshot",
    "Phd2State",
]

OTHER: Final = "other"
"""Label value for anything outside a fixed set."""

DEVICES: Final = ("camera", "mount", "aux_mount", "AO", "rotator")
"""Devices of ``get_current_equipment``, in output order."""

ALERT_LEVELS: Final = ("info", "question", "warning", "error")
"""``Alert.Type`` values PHD2 sends."""

RA_DIRECTIONS: Final = ("East", "West", "Left", "Right")
"""``RADirection`` values: mount, then AO."""

DEC_DIRECTIONS: Final = ("North", "South", "Up", "Down")
"""``DECDirection`` values: mount, then AO."""

PULSE_DIRECTIONS: Final = RA_DIRECTIONS + DEC_DIRECTIONS
"""Every pulse direction PHD2 reports."""

RMS_SOURCES: Final = (
    "RADistanceRaw",
    "DECDistanceRaw",
    "RADistanceGuide",
    "DECDistanceGuide",
    "TotalDistanceRaw",
    "TotalDistanceGuide",
)
"""``source`` label values of ``phd2_rms`` (COMPAT)."""

_STAR_LOST_CODES: Final = frozenset(str(code) for code in range(9))

_CATCH_UP_EVENTS: Final = frozenset(
    {
        "Version",
        "LockPositionSet",
        "StarSelected",
        "CalibrationComplete",
        "StartGuiding",
        "StartCalibration",
        "Paused",
        "AppState",
    }
)

_isfinite: Final = math.isfinite

_STAR_STATES: Final = frozenset(
    {
        GuiderState.SELECTED,
        GuiderState.CALIBRATING,
        GuiderState.GUIDING,
        GuiderState.LOST_LOCK,
    }
)
"""States in which PHD2 has a guide star selected."""

_STATE_NAMES: Final = frozenset(GuiderState)

_MAX_DISTANCE: Final = 1e6
"""Pixels; a larger distance is garbage (no camera is that wide) and would overflow
the sum of squares, so such a step stays out of the RMS window."""


class ErrorType(StrEnum):
    """The ``type`` label of ``phd2_error_total``: a short fixed set."""

    CONNECTION = "connection"
    """Connecting failed, or PHD2 closed or reset the connection."""
    TIMEOUT = "timeout"
    """No line or no RPC response within the configured time."""
    PARSE = "parse"
    """A line that is not JSON or not an event/response object (``Malformed``)."""
    OVERLONG = "overlong"
    """A line longer than the line limit, discarded unread."""
    RPC = "rpc"
    """An RPC answered with an error object or an unusable result."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GuideStepValues:
    """The last ``GuideStep`` as PHD2 reported it, in base units.

    Attributes:
        frame: ``Frame``.
        ra_distance_px: ``RADistanceRaw``, measured RA error, guide-camera pixels.
        dec_distance_px: ``DECDistanceRaw``, measured Dec error, pixels.
        ra_correction_px: ``RADistanceGuide``, RA correction chosen, pixels.
        dec_correction_px: ``DECDistanceGuide``, Dec correction chosen, pixels.
        ra_pulse_seconds: ``RADuration`` / 1000, 0 when no RA pulse was sent.
        ra_direction: ``RADirection`` (one of ``RA_DIRECTIONS`` or ``"other"``), None
            when no RA pulse was sent.
        dec_pulse_seconds: ``DECDuration`` / 1000, 0 when no Dec pulse was sent.
        dec_direction: ``DECDirection`` like ``ra_direction``.
        snr: ``SNR``.
        star_mass: ``StarMass``, ADU sum.
        hfd_px: ``HFD``, pixels; None when PHD2 does not send it (< 2.6.7).
        avg_distance_px: ``AvgDist``, smoothed distance from the lock, pixels.
        error_code: ``ErrorCode``, 0 when absent.
        ra_limited: ``RALimited`` (pulse clipped by max RA duration).
        dec_limited: ``DecLimited``.
        ao: the step came from an AO unit (``Pos`` present).
        measured: the step entered the RMS window.
    """

    frame: int | None
    ra_distance_px: float | None
    dec_distance_px: float | None
    ra_correction_px: float | None
    dec_correction_px: float | None
    ra_pulse_seconds: float
    ra_direction: str | None
    dec_pulse_seconds: float
    dec_direction: str | None
    snr: float | None
    star_mass: float | None
    hfd_px: float | None
    avg_distance_px: float | None
    error_code: int
    ra_limited: bool
    dec_limited: bool
    ao: bool
    measured: bool


Counts = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Phd2Snapshot:
    """Everything the collector exports about one PHD2 instance, frozen.

    Identity and configuration: ``host`` (``Host`` lower-cased), ``inst``, ``version``
    (``PHDVersion`` + ``PHDSubver``), ``overlap_support`` (``Version.OverlapSupport``),
    ``connected`` (``get_connected``), ``equipment`` (device → connected, devices
    PHD2 reported, in ``DEVICES`` order), ``pixel_scale`` (arcsec per pixel) — each
    None while unknown.

    State: ``state`` (None until known), ``star_selected``, ``settling``, ``paused``,
    ``catching_up``.

    RMS: ``rms`` rows ``(scale, source, value)`` with scale ``px`` (pixels) or
    ``arcsec`` (only while the scale is known), empty until a sample arrived;
    ``rms_count`` samples in a window of ``rms_window``.

    Last values: ``last_step``; ``last_settle_succeeded``, ``last_settle_frames``,
    ``last_settle_dropped_frames`` (``SettleDone``); ``last_event_at`` and
    ``last_guide_step_at`` (exporter clock, Unix seconds).

    Counters (catch-up excluded): ``events`` (by name), ``guide_steps``,
    ``star_lost`` (by code), ``dithers``, ``settles_started``, ``settles_succeeded``,
    ``settles_failed``, ``calibrations_started``/``_completed``/``_failed``,
    ``alerts`` (by level, the four levels always present), ``pulse_seconds`` (by
    direction, all eight always present), ``ra_limited``, ``dec_limited``, ``errors``
    (by ``ErrorType``, all present).
    """

    host: str | None
    inst: int | None
    version: str | None
    overlap_support: bool | None
    connected: bool | None
    equipment: tuple[tuple[str, bool], ...] | None
    pixel_scale: float | None
    state: GuiderState | None
    star_selected: bool
    settling: bool
    paused: bool
    catching_up: bool
    rms: tuple[tuple[str, str, float], ...]
    rms_count: int
    rms_window: int
    last_step: GuideStepValues | None
    last_settle_succeeded: bool | None
    last_settle_frames: int | None
    last_settle_dropped_frames: int | None
    last_event_at: float | None
    last_guide_step_at: float | None
    events: Counts
    guide_steps: int
    star_lost: Counts
    dithers: int
    settles_started: int
    settles_succeeded: int
    settles_failed: int
    calibrations_started: int
    calibrations_completed: int
    calibrations_failed: int
    alerts: Counts
    pulse_seconds: tuple[tuple[str, float], ...]
    ra_limited: int
    dec_limited: int
    errors: Counts


def _num(fields: dict[str, Any], key: str) -> float | None:
    """Return a finite number field as float, None when absent or not a number."""
    value: Any = fields.get(key)
    kind = type(value)
    if kind is float:
        return value if _isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _int(fields: dict[str, Any], key: str) -> int | None:
    value = fields.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


_Pulse = tuple[float, str | None]


def _pulse(
    fields: dict[str, Any], duration: str, direction: str, allowed: tuple[str, ...]
) -> _Pulse:
    milliseconds = _num(fields, duration)
    if milliseconds is None or milliseconds <= 0:
        return 0.0, None
    name = fields.get(direction)
    return milliseconds / 1000.0, name if name in allowed else OTHER


class Phd2State:
    """Mutable accumulator for one PHD2 instance; ``snapshot()`` freezes it.

    Args:
        rms_samples: RMS window length in GuideSteps (``--rms_samples``).
    """

    def __init__(self, rms_samples: int) -> None:
        if rms_samples < 1:
            raise ValueError("rms_samples must be at least 1")
        self._window = rms_samples
        self._ra_raw = RollingMeanSquare(rms_samples)
        self._dec_raw = RollingMeanSquare(rms_samples)
        self._ra_guide = RollingMeanSquare(rms_samples)
        self._dec_guide = RollingMeanSquare(rms_samples)
        self._host: str | None = None
        self._inst: int | None = None
        self._version: str | None = None
        self._overlap: bool | None = None
        self._connected: bool | None = None
        self._equipment: tuple[tuple[str, bool], ...] | None = None
        self._scale: float | None = None
        self._last_step: GuideStepValues | None = None
        self._settle: tuple[bool, int | None, int | None] | None = None
        self._last_event_at: float | None = None
        self._last_step_at: float | None = None
        self._host_sent: str | None = None
        self._events: dict[str, int] = {}
        self._star_lost: dict[str, int] = {}
        self._alerts: dict[str, int] = dict.fromkeys(ALERT_LEVELS, 0)
        self._pulses: dict[str, float] = dict.fromkeys(PULSE_DIRECTIONS, 0.0)
        self._errors: dict[str, int] = dict.fromkeys(ErrorType, 0)
        self._guide_steps = 0
        self._dithers = 0
        self._settles_started = 0
        self._settles_succeeded = 0
        self._settles_failed = 0
        self._calibrations_started = 0
        self._calibrations_completed = 0
        self._calibrations_failed = 0
        self._ra_limited = 0
        self._dec_limited = 0
        self._step: tuple[dict[str, Any], bool, _Pulse, _Pulse] | None = None
        self._snapshot: Phd2Snapshot | None = None
        self.begin_connection()

    # -- inputs ------------------------------------------------------------------

    def begin_connection(self) -> None:
        """Start a new connection: enter catch-up mode and forget connection state.

        Counters, the RMS window, identity and polled values are kept.
        """
        self._catching_up = True
        self._state: GuiderState | None = None
        self._paused_from: GuiderState | None = None
        self._star_selected = False
        self._settling = False
        self._dither_pending = False
        self._lost_frame: int | None = None
        self._ao_seen = False
        self._snapshot = None

    def apply(self, event: Event, now: float) -> None:
        """Fold one event in.

        Args:
            event: a parsed event; unknown names and odd field types are tolerated.
            now: exporter wall clock, Unix seconds.
        """
        self._snapshot = None
        self._last_event_at = now
        host = event.host
        if host is not None and host != self._host_sent:
            self._host_sent = host
            self._host = host.lower()
        if event.inst is not None:
            self._inst = event.inst
        name = event.name
        if self._catching_up and name not in _CATCH_UP_EVENTS:
            self._catching_up = False
        counting = not self._catching_up
        if counting:
            key = name if name in KNOWN_EVENTS else OTHER
            events = self._events
            events[key] = events.get(key, 0) + 1
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, event.fields, now, counting)

    def apply_app_state(self, state: str) -> None:
        """Take PHD2's state from a ``get_app_state`` result; it overrides events.

        Unknown state names are ignored.
        """
        self._snapshot = None
        self._set_state_name(state)

    def set_pixel_scale(self, value: float | None) -> None:
        """Set arcsec per pixel from ``get_pixel_scale``; None (or ≤ 0) = unknown."""
        self._snapshot = None
        ok = value is not None and math.isfinite(value) and value > 0
        self._scale = float(value) if ok and value is not None else None

    def set_connected(self, value: bool | None) -> None:
        """Set the ``get_connected`` result; None = unknown."""
        self._snapshot = None
        self._connected = None if value is None else bool(value)

    def set_equipment(self, mapping: dict[str, bool] | None) -> None:
        """Set device → connected from ``get_current_equipment``; None = unknown.

        Devices outside ``DEVICES`` are ignored.
        """
        self._snapshot = None
        if mapping is None:
            self._equipment = None
            return
        self._equipment = tuple(
            (device, bool(mapping[device])) for device in DEVICES if device in mapping
        )

    def count_error(self, kind: ErrorType | str, count: int = 1) -> None:
        """Add ``count`` errors of one type.

        Raises:
            ValueError: ``kind`` is not an ``ErrorType`` value, or ``count`` < 0.
        """
        if count < 0:
            raise ValueError("error counts never decrease")
        self._snapshot = None
        key = ErrorType(kind)
        self._errors[key] += count

    # -- output ------------------------------------------------------------------

    def snapshot(self) -> Phd2Snapshot:
        """Return the current state, frozen; the same object until something changes.

        Cost grows with the number of label values, not with the RMS window.
        """
        if self._snapshot is not None:
            return self._snapshot
        settle_ok, settle_frames, settle_dropped = self._settle or (None, None, None)
        self._snapshot = Phd2Snapshot(
            host=self._host,
            inst=self._inst,
            version=self._version,
            overlap_support=self._overlap,
            connected=self._connected,
            equipment=self._equipment,
            pixel_scale=self._scale,
            state=self._state,
            star_selected=self._star_selected,
            settling=self._settling,
            paused=self._state is GuiderState.PAUSED,
            catching_up=self._catching_up,
            rms=self._rms_rows(),
            rms_count=self._ra_raw.count,
            rms_window=self._window,
            last_step=self._last_step_values(),
            last_settle_succeeded=settle_ok,
            last_settle_frames=settle_frames,
            last_settle_dropped_frames=settle_dropped,
            last_event_at=self._last_event_at,
            last_guide_step_at=self._last_step_at,
            events=tuple(sorted(self._events.items())),
            guide_steps=self._guide_steps,
            star_lost=tuple(sorted(self._star_lost.items())),
            dithers=self._dithers,
            settles_started=self._settles_started,
            settles_succeeded=self._settles_succeeded,
            settles_failed=self._settles_failed,
            calibrations_started=self._calibrations_started,
            calibrations_completed=self._calibrations_completed,
            calibrations_failed=self._calibrations_failed,
            alerts=tuple(self._alerts.items()),
            pulse_seconds=tuple(self._pulses.items()),
            ra_limited=self._ra_limited,
            dec_limited=self._dec_limited,
            errors=tuple(self._errors.items()),
        )
        return self._snapshot

    def _rms_rows(self) -> tuple[tuple[str, str, float], ...]:
        ra_raw = self._ra_raw.mean_square()
        dec_raw = self._dec_raw.mean_square()
        ra_guide = self._ra_guide.mean_square()
        dec_guide = self._dec_guide.mean_square()
        if ra_raw is None or dec_raw is None or ra_guide is None or dec_guide is None:
            return ()
        pixels = (
            math.sqrt(ra_raw),
            math.sqrt(dec_raw),
            math.sqrt(ra_guide),
            math.sqrt(dec_guide),
            math.sqrt(ra_raw + dec_raw),
            math.sqrt(ra_guide + dec_guide),
        )
        rows = tuple(
            ("px", source, value)
            for source, value in zip(RMS_SOURCES, pixels, strict=True)
        )
        scale = self._scale
        if scale is None:
            return rows
        return rows + tuple(("arcsec", source, v * scale) for _, source, v in rows)

    # -- state machine (§7) --------------------------------------------------------

    def _set_state(self, state: GuiderState) -> None:
        if state is GuiderState.PAUSED:
            if self._state is not GuiderState.PAUSED:
                self._paused_from = self._state
        else:
            self._paused_from = None
        self._state = state

    def _set_state_name(self, name: object) -> None:
        if not isinstance(name, str) or name not in _STATE_NAMES:
            return
        state = GuiderState(name)
        if state in _STAR_STATES:
            self._star_selected = True
        elif state is GuiderState.LOOPING or state is GuiderState.STOPPED:
            self._star_selected = False
        self._set_state(state)

    def _on_app_state(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._set_state_name(fields.get("State"))
        self._catching_up = False

    def _on_version(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        version = fields.get("PHDVersion")
        subversion = fields.get("PHDSubver")
        if isinstance(version, str):
            if isinstance(subversion, str):
                version += subversion
            self._version = version
        self._overlap = fields.get("OverlapSupport") is True

    def _on_looping(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._set_state(
            GuiderState.SELECTED if self._star_selected else GuiderState.LOOPING
        )

    def _on_looping_stopped(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._star_selected = False
        self._set_state(GuiderState.STOPPED)

    def _on_star_selected(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._star_selected = True
        if self._state is GuiderState.LOOPING:
            self._set_state(GuiderState.SELECTED)

    def _on_lock_lost(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._star_selected = False

    def _on_start_calibration(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        if counting:
            self._calibrations_started += 1
        self._star_selected = True
        self._set_state(GuiderState.CALIBRATING)

    def _on_calibrating(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._set_state(GuiderState.CALIBRATING)

    def _on_calibration_complete(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        if counting:
            self._calibrations_completed += 1

    def _on_calibration_failed(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._calibrations_failed += 1

    def _on_start_guiding(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._ao_seen = False
        self._dither_pending = False
        self._star_selected = True
        if counting:
            # A new guiding run (not the replay of the current one) starts a new
            # RMS window: the last run's figure says nothing about this one.
            size = self._ra_raw.size
            self._ra_raw = RollingMeanSquare(size)
            self._dec_raw = RollingMeanSquare(size)
            self._ra_guide = RollingMeanSquare(size)
            self._dec_guide = RollingMeanSquare(size)
            self._snapshot = None
        self._set_state(GuiderState.GUIDING)

    def _on_star_lost(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        code = _int(fields, "ErrorCode")
        label = "0" if code is None else str(code)
        key = label if label in _STAR_LOST_CODES else OTHER
        self._star_lost[key] = self._star_lost.get(key, 0) + 1
        self._lost_frame = _int(fields, "Frame")
        state = self._state
        if state is GuiderState.GUIDING or state is GuiderState.LOST_LOCK:
            self._set_state(GuiderState.LOST_LOCK)
        elif state is GuiderState.SELECTED or state is GuiderState.LOOPING:
            self._star_selected = False
            self._set_state(GuiderState.LOOPING)

    def _on_paused(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._set_state(GuiderState.PAUSED)

    def _on_resumed(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        if self._state is GuiderState.PAUSED:
            self._set_state(self._paused_from or GuiderState.GUIDING)

    def _on_guiding_stopped(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._dither_pending = False
        self._lost_frame = None
        self._set_state(GuiderState.STOPPED)

    def _on_dithered(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._dithers += 1
        self._dither_pending = True

    def _on_settle_begin(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._settles_started += 1
        self._settling = True

    def _on_settling(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._settling = True

    def _on_settle_done(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._settling = False
        # Only Status 0 is success; a missing or odd Status is not a success.
        ok = _int(fields, "Status") == 0
        if ok:
            self._settles_succeeded += 1
        else:
            self._settles_failed += 1
        self._settle = (ok, _int(fields, "TotalFrames"), _int(fields, "DroppedFrames"))

    def _on_alert(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        level = fields.get("Type")
        key = level if level in ALERT_LEVELS else OTHER
        self._alerts[key] = self._alerts.get(key, 0) + 1

    def _on_guide_step(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        frame = _int(fields, "Frame")
        ra_raw = _num(fields, "RADistanceRaw")
        dec_raw = _num(fields, "DECDistanceRaw")
        ra_guide = _num(fields, "RADistanceGuide")
        dec_guide = _num(fields, "DECDistanceGuide")
        ra_pulse = _pulse(fields, "RADuration", "RADirection", RA_DIRECTIONS)
        dec_pulse = _pulse(fields, "DECDuration", "DECDirection", DEC_DIRECTIONS)
        ao = "Pos" in fields
        dead_reckoning = (
            self._lost_frame is not None
            and frame == self._lost_frame
            and _num(fields, "dx") == 0.0
            and _num(fields, "dy") == 0.0
        )
        if ao:
            self._ao_seen = True
        excluded = (
            self._settling
            or self._dither_pending
            or dead_reckoning
            or (self._ao_seen and not ao)
        )
        measured = False
        if (
            not excluded
            and ra_raw is not None
            and dec_raw is not None
            and ra_guide is not None
            and dec_guide is not None
            and max(abs(ra_raw), abs(dec_raw), abs(ra_guide), abs(dec_guide))
            <= _MAX_DISTANCE
        ):
            self._ra_raw.push(ra_raw)
            self._dec_raw.push(dec_raw)
            self._ra_guide.push(ra_guide)
            self._dec_guide.push(dec_guide)
            measured = True
        self._dither_pending = False
        self._lost_frame = None
        # The remaining fields are read once per snapshot, not once per step.
        self._step = (fields, measured, ra_pulse, dec_pulse)
        self._last_step = None
        self._last_step_at = now
        self._guide_steps += 1
        pulses = self._pulses
        for seconds, direction in (ra_pulse, dec_pulse):
            if direction is not None:
                pulses[direction] = pulses.get(direction, 0.0) + seconds
        if fields.get("RALimited") is True:
            self._ra_limited += 1
        if fields.get("DecLimited") is True:
            self._dec_limited += 1
        state = self._state
        if state is GuiderState.PAUSED or (
            dead_reckoning and state is GuiderState.LOST_LOCK
        ):
            return
        self._set_state(GuiderState.GUIDING)

    def _last_step_values(self) -> GuideStepValues | None:
        if self._last_step is None and self._step is not None:
            fields, measured, ra_pulse, dec_pulse = self._step
            error_code = _int(fields, "ErrorCode")
            self._last_step = GuideStepValues(
                frame=_int(fields, "Frame"),
                ra_distance_px=_num(fields, "RADistanceRaw"),
                dec_distance_px=_num(fields, "DECDistanceRaw"),
                ra_correction_px=_num(fields, "RADistanceGuide"),
                dec_correction_px=_num(fields, "DECDistanceGuide"),
                ra_pulse_seconds=ra_pulse[0],
                ra_direction=ra_pulse[1],
                dec_pulse_seconds=dec_pulse[0],
                dec_direction=dec_pulse[1],
                snr=_num(fields, "SNR"),
                star_mass=_num(fields, "StarMass"),
                hfd_px=_num(fields, "HFD"),
                avg_distance_px=_num(fields, "AvgDist"),
                error_code=0 if error_code is None else error_code,
                ra_limited=fields.get("RALimited") is True,
                dec_limited=fields.get("DecLimited") is True,
                ao="Pos" in fields,
                measured=measured,
            )
        return self._last_step


_Handler = Callable[[Phd2State, dict[str, Any], float, bool], None]

_HANDLERS: Final[dict[str, _Handler]] = {
    "AppState": Phd2State._on_app_state,
    "Version": Phd2State._on_version,
    "LoopingExposures": Phd2State._on_looping,
    "LoopingExposuresStopped": Phd2State._on_looping_stopped,
    "StarSelected": Phd2State._on_star_selected,
    "LockPositionLost": Phd2State._on_lock_lost,
    "StartCalibration": Phd2State._on_start_calibration,
    "Calibrating": Phd2State._on_calibrating,
    "CalibrationComplete": Phd2State._on_calibration_complete,
    "CalibrationFailed": Phd2State._on_calibration_failed,
    "StartGuiding": Phd2State._on_start_guiding,
    "GuideStep": Phd2State._on_guide_step,
    "StarLost": Phd2State._on_star_lost,
    "Paused": Phd2State._on_paused,
    "Resumed": Phd2State._on_resumed,
    "GuidingStopped": Phd2State._on_guiding_stopped,
    "GuidingDithered": Phd2State._on_dithered,
    "SettleBegin": Phd2State._on_settle_begin,
    "Settling": Phd2State._on_settling,
    "SettleDone": Phd2State._on_settle_done,
    "Alert": Phd2State._on_alert,
}
"""Event name → handler; events without an entry only count."""
