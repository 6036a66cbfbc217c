"""Pure model of a PHD2 guiding session, advanced one camera frame at a time.

Holds the simulated PHD2 state (capture mode, star, lock position, calibration,
pause, star loss, settling) and produces the event lines PHD2 would send for it:
the catch-up block (protocol doc §3), looping frames, calibration steps, guide
steps with seeing noise, drift and periodic error, dithers with a recenter step and
an ``AvgDist`` jump, settling by PHD2's whole-second rules, star-loss streaks,
pause/resume and stop (§5-§8). An optional autopilot plays an imaging session.

Frame physics live in ``frames``, state fields and event output in
``core``, shared types and mount geometry in ``model``; this module adds
test-driven state changes, the autopilot and the capture commands on top.

This module must not do I/O, sleep or read the wall clock except through the
injected ``clock``; JSON-RPC lives in ``rpc``, sockets in ``server``.

Units: positions and offsets are guide-camera pixels, pulse durations milliseconds,
``Time``/``SettleTime`` simulated seconds (frames x exposure), ``Timestamp`` epoch
seconds from ``clock``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from exporterhub.simulators.phd2.frames import SessionFrames
from exporterhub.simulators.phd2.model import (
    DEFAULT_STAR,
    MOUNT,
    AppState,
    Mode,
    Phd2Faults,
    Settle,
    to_camera,
)
from exporterhub.simulators.phd2.wire import (
    FORMATS,
    Fields,
    Num,
    RpcError,
    number,
    xy,
)

__all__ = ["AppState", "Mode", "Phd2Faults", "Phd2Session", "Settle"]

_ALERTS: Final = (
    ("Guide star is close to the edge of the frame", "warning"),
    ("Calibration data is more than a day old", "info"),
    ("Mount timed out; retrying the guide pulse", "error"),
)


class Phd2Session(SessionFrames):
    """Simulated PHD2 state and the event lines it produces.

    Commands and frames queue formatted lines; :meth:`drain` hands them out.
    ``autopilot`` plays an imaging session (loop, select, calibrate, guide, dither,
    lose the star, pause, stop, start again) until a client takes control.
    """

    # ------------------------------------------------------------------ state

    def set_state(
        self,
        state: str,
        *,
        star: tuple[float, float] | None = None,
        lock: tuple[float, float] | None = None,
        calibrated: bool | None = None,
    ) -> None:
        """Put the session into an app state without emitting events.

        Args:
            state: an :class:`AppState` value such as ``"Guiding"``.
            star: guide star position; defaults to (640, 480) where one is needed.
            lock: lock position; defaults to ``star`` while calibrating or guiding.
            calibrated: mount calibration flag; guiding states imply ``True``.

        Raises:
            ValueError: for an unknown state name.
        """
        target = AppState(state)
        self.paused = target is AppState.PAUSED
        self.lost = target is AppState.LOST_LOCK
        self.settle = self.goal = None
        needs_star = target not in (AppState.STOPPED, AppState.LOOPING)
        self.star = star or (DEFAULT_STAR if needs_star else None)
        guiding = target in (AppState.GUIDING, AppState.LOST_LOCK, AppState.PAUSED)
        locked = guiding or target is AppState.CALIBRATING
        self.lock = lock or (self.star if locked else None)
        self.mode = {
            AppState.STOPPED: Mode.STOPPED,
            AppState.LOOPING: Mode.LOOPING,
            AppState.SELECTED: Mode.LOOPING,
            AppState.CALIBRATING: Mode.CALIBRATING,
        }.get(target, Mode.GUIDING)
        self._cal = None
        if target is AppState.CALIBRATING:
            self._start_calibration(emit=False)
        self.calibrated = calibrated if calibrated is not None else guiding
        self.guide_t0 = self._found_t = self.sim_t

    def emit_external(self, event: str, fields: Mapping[str, object]) -> bytes:
        """Format an event pushed by a test and fold it into the state.

        Plain floats get the field's PHD2 format (``dx`` in a GuideStep is
        ``%.3f``); pass :class:`Num` to choose the text exactly.
        """
        formats = FORMATS.get(event, {})
        items: Fields = [
            (k, Num(v, formats[k]) if isinstance(v, float) and k in formats else v)
            for k, v in fields.items()
        ]
        self._fold(event, fields)
        return self.line(event, items)

    def _fold(self, event: str, f: Mapping[str, object]) -> None:
        # The §7 state table, applied to events injected by tests.
        x, y = number(f.get("X")), number(f.get("Y"))
        point = (x, y) if x is not None and y is not None else None
        frame = f.get("Frame")
        if event == "AppState" and isinstance(f.get("State"), str):
            self.set_state(str(f["State"]), star=self.star, lock=self.lock)
        elif event == "LockPositionSet":
            self.lock = point
        elif event == "StarSelected":
            self.star = point
        elif event == "LockPositionLost":
            self.lock = self.star = None
        elif event == "CalibrationComplete":
            self.calibrated = True
        elif event in ("StartCalibration", "Calibrating"):
            self.mode = Mode.CALIBRATING
        elif event in ("StartGuiding", "GuideStep"):
            self.mode, self.lost = Mode.GUIDING, False
            self.guide_frame = frame if isinstance(frame, int) else self.guide_frame
        elif event == "StarLost":
            self.lost = self.mode is Mode.GUIDING
            if self.mode is Mode.LOOPING:
                self.star = None
        elif event == "LoopingExposures":
            self.mode = Mode.LOOPING
            self.loop_frame = frame if isinstance(frame, int) else self.loop_frame
        elif event in ("LoopingExposuresStopped", "GuidingStopped"):
            self.mode, self.lost, self.paused = Mode.STOPPED, False, False
            self.settle = None
            if event == "LoopingExposuresStopped":
                self.star = None
        elif event in ("Paused", "Resumed"):
            self.paused = event == "Paused"
        elif event == "SettleBegin":
            self.settle = Settle(pixels=1.5, time=10, timeout=60, started=self.sim_t)
        elif event == "SettleDone":
            self.settle = None

    # ----------------------------------------------------------------- frames

    def tick(self) -> list[bytes]:
        """Advance one exposure and return the event lines it produced."""
        self.sim_t += self.exposure_ms / 1000
        if self.autopilot:
            self._direct()
        if self.mode is Mode.LOOPING:
            self._loop_frame()
        elif self.mode is Mode.CALIBRATING:
            self._cal_frame()
        elif self.mode is Mode.GUIDING:
            self._guide_frame()
        return self.drain()

    # -------------------------------------------------------------- autopilot

    def _direct(self) -> None:
        if self.mode is not self._phase:
            self._phase, self._phase_frames = self.mode, 0
        self._phase_frames += 1
        if self.mode is Mode.STOPPED and self._phase_frames > 2:
            self.cmd_loop()
        elif self.mode is Mode.LOOPING and self.goal is None:
            if self._phase_frames > 2:
                self.goal = self._auto_settle()
        elif self.mode is Mode.GUIDING:
            if self.paused:
                self._pause_left -= 1
                if self._pause_left <= 0:
                    self.cmd_set_paused(False)
            elif self.settle is None and not self._lost_left:
                self._guiding_choice()

    def _guiding_choice(self) -> None:
        rng = self._rng
        self._guided += 1
        self._since_dither += 1
        r = rng.random()
        if self._guided >= self._stop_at:
            self.cmd_stop()
            self._guided, self._stop_at = 0, rng.randint(120, 240)
            if rng.random() < 0.3:
                self.calibrated = False  # the next cycle recalibrates
        elif self._since_dither >= self._dither_at:
            self._since_dither, self._dither_at = 0, rng.randint(8, 15)
            amount = rng.choice((2.0, 3.0, 5.0))
            self.cmd_dither(amount, ra_only=False, settle=self._auto_settle())
        elif r < 0.02:
            self._lost_left = rng.choice((1, 1, 1, 2, 3, 5))
        elif r < 0.03:
            self._pause_left = rng.randint(2, 4)
            self.cmd_set_paused(True)
        elif r < 0.035:
            msg, kind = rng.choice(_ALERTS)
            self.emit("Alert", ("Msg", msg), ("Type", kind))
        elif r < 0.04:
            self.emit("GuideParamChange", ("Name", "Dec Guide Mode"), ("Value", "Auto"))
            if self.features.config_change:
                self.emit("ConfigurationChange")

    def _auto_settle(self) -> Settle:
        exp = self.exposure_ms / 1000
        # About one settle in eight cannot reach its tolerance and times out.
        pixels = 0.05 if self._rng.random() < 0.12 else 1.5
        time_s, timeout = max(1, math.floor(2 * exp)), max(3, math.floor(12 * exp))
        return Settle(pixels=pixels, time=time_s, timeout=timeout)

    # --------------------------------------------------------------- commands

    def cmd_loop(self) -> None:
        """Start looping, or stop guiding and keep looping (``loop``)."""
        if self.mode is Mode.STOPPED:
            self.mode, self.loop_frame = Mode.LOOPING, 0
        elif self.mode is not Mode.LOOPING:
            self.stop_guiding("Guiding stopped")
            self.mode = Mode.LOOPING

    def stop_guiding(self, reason: str) -> None:
        """End calibration or guiding: Resumed?, CalibrationFailed?, GuidingStopped.

        A running settle or pending guide request ends with SettleDone status 1
        and ``reason``.
        """
        if self.paused:
            self.paused = False
            self.emit("Resumed")
        if self.mode is Mode.CALIBRATING:
            self._cal = None
            reason_text = "Calibration manually stopped"
            self.emit("CalibrationFailed", ("Mount", MOUNT), ("Reason", reason_text))
        if self.mode in (Mode.CALIBRATING, Mode.GUIDING):
            self.emit("GuidingStopped")
        self.lost, self._lost_left = False, 0
        self.settle_done(reason)

    def cmd_stop(self) -> None:
        """Stop capturing (``stop_capture``), ending with LoopingExposuresStopped."""
        if self.mode is Mode.STOPPED:
            self.settle_done("Stopped capturing")
            return
        self.stop_guiding("Stopped capturing")
        self.emit("LoopingExposuresStopped")
        self.mode, self.star = Mode.STOPPED, None

    def cmd_guide(self, settle: Settle, *, recalibrate: bool) -> None:
        """Accept a ``guide`` request; guiding and settling follow frame by frame.

        Raises:
            RpcError: while another guide or dither request is still settling.
        """
        if self.settle is not None or self.goal is not None:
            raise RpcError(1, "cannot guide while a guide or dither is settling")
        if self.mode is Mode.GUIDING and not recalibrate:
            self.settle, settle.started = settle, self.sim_t
            self.emit("SettleBegin")
            return
        if self.mode in (Mode.CALIBRATING, Mode.GUIDING):
            self.stop_guiding("Guiding stopped")
        if recalibrate:
            self.calibrated = False
        if self.mode is not Mode.LOOPING:
            self.loop_frame = 0
        self.mode, self.goal = Mode.LOOPING, settle

    def cmd_dither(self, amount: float, *, ra_only: bool, settle: Settle) -> None:
        """Move the lock position by up to ``amount`` px and start settling (§8).

        Raises:
            RpcError: when not guiding or while a settle is running.
        """
        if self.mode is not Mode.GUIDING:
            raise RpcError(1, "cannot dither if not guiding")
        if self.settle is not None:
            raise RpcError(1, "cannot dither while settling")
        d_ra = amount * self._rng.uniform(-1, 1)
        d_dec = 0.0 if ra_only else amount * self._rng.uniform(-1, 1)
        cx, cy = to_camera(d_ra, d_dec)
        lock = self.lock or DEFAULT_STAR
        self.lock = (lock[0] + cx, lock[1] + cy)
        # The star stays put, so its error from the new lock is minus the dither.
        self._err[0] -= d_ra
        self._err[1] -= d_dec
        self.avg_dist += math.hypot(d_ra, d_dec)
        self._recenter = True
        self.settle, settle.started = settle, self.sim_t
        self.emit("LockPositionSet", *xy(self.lock))
        self.emit(
            "GuidingDithered", ("dx", Num(d_ra, ".3f")), ("dy", Num(d_dec, ".3f"))
        )
        self.emit("SettleBegin")

    def cmd_set_paused(self, paused: bool) -> None:
        """Pause or resume (``set_paused``); Paused/Resumed only on a change."""
        if paused != self.paused:
            self.paused = paused
            self.emit("Paused" if paused else "Resumed")
