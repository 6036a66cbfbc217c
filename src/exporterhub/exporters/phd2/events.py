"""What each PHD2 event does to the fold: the per-event half of ``Phd2State``.

``EventHandlers`` holds the §7 state machine (``_set_state``) and one ``_on_<event>``
method per event that changes more than the event counter; ``Phd2State`` inherits
them, initialises the fields declared here and maps event names to the handlers.
GuideSteps are folded by ``guiding.GuideStepFold`` (inherited), a run at a time.
Pulse durations are converted to seconds on the way in (``fields.pulse``); distances
stay in guide-camera pixels. Rules followed (``shared/protocols/phd2.md``):

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
  RMS window and the statistics windows beside it, so neither is shown until its
  first measured step.
- Last values the original exporter served: lock and star positions
  (``LockPositionSet``, ``StarSelected``; cleared by ``LockPositionLost``), the last
  ``Calibrating`` step per direction (cleared by a live ``StartCalibration``), the
  last ``Settling``, ``StarLost``, ``GuidingDithered`` and ``SettleDone.Status``.
- Handlers get ``counting`` (False during the catch-up replay) and skip counting the
  events PHD2 replays; events it never replays count unconditionally.

Label values are bounded: star-lost codes outside 0 to 8, alert types and pulse
directions outside PHD2's sets all count under ``"other"``. A missing star-lost
``ErrorCode`` counts as code ``"0"`` (PHD2 omits the field when it is zero, and
versions before 2.6.7 never send it).

Pure like ``state``: no I/O, no logging, no clock reads (``now`` is passed in). It
must not dispatch events, count event names, handle catch-up, take poll results or
build snapshots (that is ``state``), and must not import ``state``.
"""

from __future__ import annotations

from typing import Any, Final

from exporterhub.exporters.phd2.fields import integer, number
from exporterhub.exporters.phd2.guiding import GuideStepFold
from exporterhub.exporters.phd2.protocol import GuiderState
from exporterhub.exporters.phd2.snapshot import (
    ALERT_LEVELS,
    CALIBRATION_DIRECTIONS,
    OTHER,
    CalibrationStep,
    Phd2Snapshot,
    SettlingValues,
    StarLostValues,
)

__all__ = ["EventHandlers"]

_STAR_LOST_CODES: Final = frozenset(str(code) for code in range(9))

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

_PAUSED: Final = GuiderState.PAUSED  # a module constant: see ``guiding``


class EventHandlers(GuideStepFold):
    """The fields the event handlers work on, and the handlers; see the module doc.

    Not used on its own: ``Phd2State.__init__`` and ``begin_connection`` set every
    field declared here and in ``GuideStepFold``, and ``Phd2State.apply`` calls the
    handlers.
    """

    # Guider state (§7), with more in GuideStepFold; reset by begin_connection.
    _catching_up: bool
    _star_selected: bool
    # Identity, last values and the cached snapshot.
    _version: str | None
    _overlap: bool | None
    _settle: tuple[bool, int | None, int | None] | None
    _settle_status: int | None
    # Last values of events the original exporter exported (positions reset by
    # begin_connection: the catch-up replays the current ones).
    _lock: tuple[float, float] | None
    _star_pos: tuple[float, float] | None
    _calibration: dict[str, CalibrationStep]
    _settling_values: SettlingValues | None
    _lost: StarLostValues | None
    _dither: tuple[float, float] | None
    _snapshot: Phd2Snapshot | None
    # Counters, with the GuideStep ones in GuideStepFold.
    _star_lost: dict[str, int]
    _alerts: dict[str, int]
    _dithers: int
    _settles_started: int
    _settles_succeeded: int
    _settles_failed: int
    _calibrations_started: int
    _calibrations_completed: int
    _calibrations_failed: int

    # -- state machine (§7) --------------------------------------------------------

    def _set_state(self, state: GuiderState) -> None:
        if state is _PAUSED:
            if self._state is not _PAUSED:
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

    def _on_lock_set(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._lock = _position(fields)

    def _on_star_selected(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._star_pos = _position(fields)
        self._star_selected = True
        if self._state is GuiderState.LOOPING:
            self._set_state(GuiderState.SELECTED)

    def _on_lock_lost(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._star_selected = False
        self._lock = None
        self._star_pos = None

    def _on_start_calibration(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        if counting:
            self._calibrations_started += 1
            # A new calibration: the last one's legs say nothing about it.
            self._calibration = {}
        self._star_selected = True
        self._set_state(GuiderState.CALIBRATING)

    def _on_calibrating(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        name = fields.get("dir")
        direction = name if name in CALIBRATION_DIRECTIONS else OTHER
        self._calibration[direction] = CalibrationStep(
            direction=direction,
            distance_px=number(fields, "dist"),
            dx_px=number(fields, "dx"),
            dy_px=number(fields, "dy"),
            step=integer(fields, "step"),
        )
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
            self._new_windows(self._rms.size)
            self._snapshot = None
        self._set_state(GuiderState.GUIDING)

    def _on_star_lost(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        code = integer(fields, "ErrorCode")
        label = "0" if code is None else str(code)
        key = label if label in _STAR_LOST_CODES else OTHER
        self._star_lost[key] = self._star_lost.get(key, 0) + 1
        self._lost_frame = integer(fields, "Frame")
        self._lost = StarLostValues(
            star_mass=number(fields, "StarMass"),
            snr=number(fields, "SNR"),
            avg_distance_px=number(fields, "AvgDist"),
            error_code=0 if code is None else code,
        )
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
        ra = number(fields, "dx")
        dec = number(fields, "dy")
        self._dither = None if ra is None or dec is None else (ra, dec)

    def _on_settle_begin(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._settles_started += 1
        self._settling = True

    def _on_settling(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        self._settling = True
        locked = fields.get("StarLocked")
        self._settling_values = SettlingValues(
            distance_px=number(fields, "Distance"),
            in_range_seconds=number(fields, "Time"),
            required_seconds=number(fields, "SettleTime"),
            star_locked=locked if isinstance(locked, bool) else None,
        )

    def _on_settle_done(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._settling = False
        # Only Status 0 is success; a missing or odd Status is not a success.
        status = integer(fields, "Status")
        self._settle_status = status
        ok = status == 0
        if ok:
            self._settles_succeeded += 1
        else:
            self._settles_failed += 1
        self._settle = (
            ok,
            integer(fields, "TotalFrames"),
            integer(fields, "DroppedFrames"),
        )

    def _on_alert(self, fields: dict[str, Any], now: float, counting: bool) -> None:
        level = fields.get("Type")
        key = level if level in ALERT_LEVELS else OTHER
        self._alerts[key] = self._alerts.get(key, 0) + 1

    def _on_guide_step(
        self, fields: dict[str, Any], now: float, counting: bool
    ) -> None:
        self._on_guide_steps((fields,), now)


def _position(fields: dict[str, Any]) -> tuple[float, float] | None:
    """Return ``(X, Y)`` in pixels, None unless both are numbers."""
    x = number(fields, "X")
    y = number(fields, "Y")
    return None if x is None or y is None else (x, y)
