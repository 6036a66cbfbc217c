"""Fold PHD2 events and poll results into an immutable ``Phd2Snapshot``.

Pure: no I/O, no logging, no clock reads — the caller passes ``now`` (exporter wall
clock, Unix seconds). Values stay in guide-camera pixels; arcseconds are derived only
while the pixel scale is known. ``Phd2State`` is the accumulator the client feeds;
its parts live in sibling modules, re-exported here:

- ``snapshot``: ``Phd2Snapshot``, ``GuideStepValues``, ``ErrorType`` and the label
  sets (``OTHER``, ``DEVICES``, ``ALERT_LEVELS``, ``RMS_SOURCES``, ...).
- ``events``: what each event does — the §7 state machine, settling and the RMS
  rules (``EventHandlers``, which ``Phd2State`` inherits), with GuideSteps folded a
  run at a time by ``guiding``.
- ``fields``: tolerant typed reads of event fields.

This module keeps the rest (``shared/protocols/phd2.md``):

- Catch-up (§3): every connection starts with a replay of PHD2's state ending at the
  first ``AppState``. Those events set state but are never counted. A constructed
  ``Phd2State`` is in catch-up mode; call ``begin_connection`` for every new
  connection. An event that PHD2 never replays also ends catch-up (in case the
  ``AppState`` line was lost to a malformed read), so handlers of such events
  count unconditionally.
- Event dispatch and the event counter: names outside ``KNOWN_EVENTS`` count under
  ``"other"``. ``apply`` takes one ``Event``; ``apply_batch`` takes a read's events
  as ``parse_message`` left them and hands each run of GuideSteps over at once.
- Poll results (``get_app_state`` wins over events, pixel scale, connected,
  equipment), error counts, and the snapshot with its RMS rows.
- Counters never decrease for the life of the object (across reconnects).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from exporterhub.exporters.phd2.events import EventHandlers
from exporterhub.exporters.phd2.protocol import (
    KNOWN_EVENTS,
    Event,
    EventFields,
    GuiderState,
)
from exporterhub.exporters.phd2.snapshot import (
    ALERT_LEVELS,
    DEC_DIRECTIONS,
    DEVICES,
    OTHER,
    PULSE_DIRECTIONS,
    RA_DIRECTIONS,
    RMS_SOURCES,
    Counts,
    ErrorType,
    GuideStepValues,
    Phd2Snapshot,
)

__all__ = [
    "ALERT_LEVELS",
    "DEC_DIRECTIONS",
    "DEVICES",
    "OTHER",
    "PULSE_DIRECTIONS",
    "RA_DIRECTIONS",
    "RMS_SOURCES",
    "Counts",
    "ErrorType",
    "GuideStepValues",
    "Phd2Snapshot",
    "Phd2State",
]

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


class Phd2State(EventHandlers):
    """Mutable accumulator for one PHD2 instance; ``snapshot()`` freezes it.

    Args:
        rms_samples: RMS window length in GuideSteps (``--rms_samples``).
        legacy: mark the snapshots for the original exporter's families too
            (``legacy_metrics``).
    """

    def __init__(self, rms_samples: int, *, legacy: bool = False) -> None:
        if rms_samples < 1:
            raise ValueError("rms_samples must be at least 1")
        self._window = rms_samples
        self._legacy = legacy
        self._new_windows(rms_samples)
        self._received = 0
        self._calibration = {}
        self._settling_values = None
        self._lost = None
        self._dither = None
        self._settle_status = None
        self._host: str | None = None
        self._inst: int | None = None
        self._version = None
        self._overlap = None
        self._connected: bool | None = None
        self._equipment: tuple[tuple[str, bool], ...] | None = None
        self._scale: float | None = None
        self._last_step = None
        self._settle = None
        self._last_event_at: float | None = None
        self._last_step_at = None
        self._host_sent: str | None = None
        self._events: dict[str, int] = {}
        self._star_lost = {}
        self._alerts = dict.fromkeys(ALERT_LEVELS, 0)
        self._pulse_totals = [0.0] * len(PULSE_DIRECTIONS)
        self._pulse_other = None
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
        self._step = None
        self._snapshot = None
        self.begin_connection()

    # -- inputs ------------------------------------------------------------------

    def begin_connection(self) -> None:
        """Start a new connection: enter catch-up mode and forget connection state.

        Counters, the RMS window, identity and polled values are kept.
        """
        self._catching_up = True
        self._state = None
        self._paused_from = None
        self._star_selected = False
        self._settling = False
        self._dither_pending = False
        self._lost_frame = None
        self._ao_seen = False
        self._lock = None
        self._star_pos = None
        self._snapshot = None

    def apply(self, event: Event, now: float) -> None:
        """Fold one event in.

        Args:
            event: a parsed event; unknown names and odd field types are tolerated.
            now: exporter wall clock, Unix seconds.
        """
        self._snapshot = None
        self._last_event_at = now
        self._fold(event.name, event.host, event.inst, event.fields, now)

    def apply_batch(self, batch: Sequence[EventFields], now: float) -> None:
        """Fold in the events of one read, in order, as ``parse_message`` gave them.

        The same as ``apply(event_from_fields(fields), now)`` for each, without
        building the ``Event`` objects, and with each run of consecutive GuideSteps
        folded at once (``guiding``).

        Args:
            batch: event objects checked by ``protocol.parse_message``.
            now: exporter wall clock, Unix seconds.
        """
        if not batch:
            return
        self._snapshot = None
        self._last_event_at = now
        steps: list[EventFields] = []
        for fields in batch:
            name = fields["Event"]
            if name == "GuideStep":
                steps.append(fields)
                continue
            if steps:
                self._fold_steps(steps, now)
                steps = []
            self._fold(name, fields.get("Host"), fields.get("Inst"), fields, now)
        if steps:
            self._fold_steps(steps, now)

    def _fold_steps(self, steps: list[EventFields], now: float) -> None:
        # What _fold does for each of them: only the last Host and Inst stay, and
        # GuideStep is never replayed, so it ends catch-up and counts.
        # parse_message checked the types.
        host = cast("str | None", _last_sent(steps, "Host"))
        inst = cast("int | None", _last_sent(steps, "Inst"))
        self._note_source(host, inst)
        self._catching_up = False
        events = self._events
        events["GuideStep"] = events.get("GuideStep", 0) + len(steps)
        self._on_guide_steps(steps, now)

    def _note_source(self, host: str | None, inst: int | None) -> None:
        if host is not None and host != self._host_sent:
            self._host_sent = host
            self._host = host.lower()
        if inst is not None:
            self._inst = inst

    def _fold(
        self,
        name: str,
        host: str | None,
        inst: int | None,
        fields: dict[str, Any],
        now: float,
    ) -> None:
        self._note_source(host, inst)
        if self._catching_up and name not in _CATCH_UP_EVENTS:
            self._catching_up = False
        counting = not self._catching_up
        key, handler = _DISPATCH.get(name, _UNKNOWN)
        if counting:
            events = self._events
            events[key] = events.get(key, 0) + 1
        if handler is not None:
            handler(self, fields, now, counting)

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

    def count_received(self, lines: int) -> None:
        """Add ``lines`` lines PHD2 sent (events, answers, anything): liveness.

        Raises:
            ValueError: ``lines`` < 0.
        """
        if lines < 0:
            raise ValueError("line counts never decrease")
        if lines:
            self._snapshot = None
            self._received += lines

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
        self._fold_distances()
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
            rms_count=self._rms.count,
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
            pulse_seconds=self._pulse_seconds(),
            ra_limited=self._ra_limited,
            dec_limited=self._dec_limited,
            errors=tuple(self._errors.items()),
            guide_stats=self._guide_stats(),
            lock_position=self._lock,
            star_position=self._star_pos,
            calibration_steps=tuple(self._calibration.values()),
            settling_values=self._settling_values,
            last_star_lost=self._lost,
            last_dither=self._dither,
            last_settle_status=self._settle_status,
            received=self._received,
            legacy=self._legacy,
        )
        return self._snapshot

    def _rms_rows(self) -> tuple[tuple[str, str, float], ...]:
        ra_raw, dec_raw, ra_guide, dec_guide = self._rms.mean_squares()
        if ra_raw is None or dec_raw is None or ra_guide is None or dec_guide is None:
            return ()
        ra_raw_rms = math.sqrt(ra_raw)
        dec_raw_rms = math.sqrt(dec_raw)
        ra_guide_rms = math.sqrt(ra_guide)
        dec_guide_rms = math.sqrt(dec_guide)
        total_raw = math.sqrt(ra_raw + dec_raw)
        total_guide = math.sqrt(ra_guide + dec_guide)
        ra_src, dec_src, ra_guide_src, dec_guide_src, total_src, total_guide_src = (
            RMS_SOURCES
        )
        rows = (
            ("px", ra_src, ra_raw_rms),
            ("px", dec_src, dec_raw_rms),
            ("px", ra_guide_src, ra_guide_rms),
            ("px", dec_guide_src, dec_guide_rms),
            ("px", total_src, total_raw),
            ("px", total_guide_src, total_guide),
        )
        scale = self._scale
        if scale is None:
            return rows
        return (
            *rows,
            ("arcsec", ra_src, ra_raw_rms * scale),
            ("arcsec", dec_src, dec_raw_rms * scale),
            ("arcsec", ra_guide_src, ra_guide_rms * scale),
            ("arcsec", dec_guide_src, dec_guide_rms * scale),
            ("arcsec", total_src, total_raw * scale),
            ("arcsec", total_guide_src, total_guide * scale),
        )


def _last_sent(steps: list[EventFields], key: str) -> object:
    """Return the last non-null value of ``key`` in ``steps`` (None if none)."""
    for fields in reversed(steps):
        value = fields.get(key)
        if value is not None:
            return value
    return None


_Handler = Callable[[Phd2State, dict[str, Any], float, bool], None]

_HANDLERS: Final[dict[str, _Handler]] = {
    "AppState": Phd2State._on_app_state,
    "Version": Phd2State._on_version,
    "LoopingExposures": Phd2State._on_looping,
    "LoopingExposuresStopped": Phd2State._on_looping_stopped,
    "StarSelected": Phd2State._on_star_selected,
    "LockPositionLost": Phd2State._on_lock_lost,
    "LockPositionSet": Phd2State._on_lock_set,
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

_DISPATCH: Final[dict[str, tuple[str, _Handler | None]]] = {
    name: (name, _HANDLERS.get(name)) for name in KNOWN_EVENTS
}
"""Event name → (counter key, handler), one lookup per event."""

_UNKNOWN: Final[tuple[str, _Handler | None]] = (OTHER, None)
"""What an event outside ``KNOWN_EVENTS`` gets: counted under ``"other"`` only."""
