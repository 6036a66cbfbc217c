"""Pure model of a PHD2 guiding session, advanced one camera frame at a time.

Holds the simulated PHD2 state (capture mode, star, lock position, calibration,
pause, star loss, settling) and produces the event lines PHD2 would send for it:
the catch-up block (protocol doc §3), looping frames, calibration steps, guide
steps with seeing noise, drift and periodic error, dithers with a recenter step and
an ``AvgDist`` jump, settling by PHD2's whole-second rules, star-loss streaks,
pause/resume and stop (§5-§8). An optional autopilot plays an imaging session.

This module must not do I/O, sleep or read the wall clock except through the
injected ``clock``; JSON-RPC lives in ``_phd2_rpc``, sockets in ``phd2``.

Units: positions and offsets are guide-camera pixels, pulse durations milliseconds,
``Time``/``SettleTime`` simulated seconds (frames x exposure), ``Timestamp`` epoch
seconds from ``clock``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from exporterhub.simulators._phd2_wire import (
    FORMATS,
    LEGACY_VERSION,
    Features,
    Fields,
    Num,
    RpcError,
    encode,
    features_for,
    number,
    xy,
)

__all__ = ["AppState", "Mode", "Phd2Faults", "Phd2Session", "Settle"]

MOUNT: Final = "On-camera"
DEFAULT_STAR: Final = (640.0, 480.0)
SEEING_PX: Final = 0.3  # sigma of the per-frame centroid noise
AVG_WEIGHT: Final = 0.3  # PHD2's AvgDist exponential weight on the newest frame
MAX_PULSE_MS: Final = 2500
RA_RATE: Final = 7.512  # px/s, also reported by get_calibration_data
DEC_RATE: Final = 7.204
CAL_ANGLE: Final = 23.4  # degrees between camera X and the RA axis
CAL_STEP_PX: Final = 3.2
CAL_STEPS: Final = 3  # steps per calibration leg; short so guiding starts quickly
SETTLE_FAIL: Final = "timed-out waiting for guider to settle"
_ALERTS: Final = (
    ("Guide star is close to the edge of the frame", "warning"),
    ("Calibration data is more than a day old", "info"),
    ("Mount timed out; retrying the guide pulse", "error"),
)


@dataclass(slots=True, kw_only=True)
class Phd2Faults:
    """Fault switches of the simulator; mutable, read again on every use.

    Attributes:
        split_lines: write each outgoing line in random 1-40 byte chunks.
        malformed_every: replace every N-th event line by invalid JSON (0 = off).
        overlong_every: after every N-th event also send a > 1 MiB line (0 = off).
        null_pixel_scale: ``get_pixel_scale`` answers ``null``.
        legacy_265: behave like PHD2 2.6.5 (no OverlapSupport, HFD, Calibrating or
            ConfigurationChange; only the first request of each read is handled).
        stall: stay connected but send nothing and answer nothing; events and
            requests of the stalled period are dropped, not delivered later.
    """

    split_lines: bool = False
    malformed_every: int = 0
    overlong_every: int = 0
    null_pixel_scale: bool = False
    legacy_265: bool = False
    stall: bool = False


class AppState(StrEnum):
    """PHD2's exposed application states (§7)."""

    STOPPED = "Stopped"
    LOOPING = "Looping"
    SELECTED = "Selected"
    CALIBRATING = "Calibrating"
    GUIDING = "Guiding"
    LOST_LOCK = "LostLock"
    PAUSED = "Paused"


class Mode(StrEnum):
    """What the simulated capture loop does, below pause and star loss."""

    STOPPED = "stopped"
    LOOPING = "looping"
    CALIBRATING = "calibrating"
    GUIDING = "guiding"


@dataclass(slots=True, kw_only=True)
class Settle:
    """Settle parameters of a guide/dither request (px, s, s) and its progress."""

    pixels: float
    time: float
    timeout: float
    started: float = 0.0
    in_range_since: float | None = None
    frames: int = 0
    dropped: int = 0


# One calibration step: direction, step number, RA and Dec offsets of the star from
# the calibration start, and the offsets at the start of that leg (px).
_Step = tuple[str, int, float, float, float, float]


def _calibration_steps() -> list[_Step]:
    s, n = CAL_STEP_PX, CAL_STEPS
    ks = range(1, n + 1)
    return [
        *(("West", k, k * s, 0.0, 0.0, 0.0) for k in ks),
        *(("East", k, (n - k) * s, 0.0, n * s, 0.0) for k in ks),
        ("Backlash", 1, 0.0, s, 0.0, 0.0),
        *(("North", k, 0.0, (1 + k) * s, 0.0, s) for k in ks),
        *(("South", k, 0.0, (1 + n - k) * s, 0.0, (1 + n) * s) for k in ks),
    ]


def to_camera(ra: float, dec: float) -> tuple[float, float]:
    """Rotate an offset along the mount's RA/Dec axes into camera X/Y pixels."""
    a = math.radians(CAL_ANGLE)
    return (
        ra * math.cos(a) - dec * math.sin(a),
        ra * math.sin(a) + dec * math.cos(a),
    )


class Phd2Session:
    """Simulated PHD2 state and the event lines it produces.

    Commands and frames queue formatted lines; :meth:`drain` hands them out.
    ``autopilot`` plays an imaging session (loop, select, calibrate, guide, dither,
    lose the star, pause, stop, start again) until a client takes control.
    """

    def __init__(
        self,
        *,
        host: str,
        instance: int,
        version: str,
        exposure: float,
        pixel_scale: float,
        seed: int | None,
        autopilot: bool,
        faults: Phd2Faults,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.instance = instance
        self.version = version
        self.exposure_ms = round(exposure * 1000)
        self.pixel_scale = pixel_scale
        self.faults = faults
        self.autopilot = autopilot
        self._clock = clock
        self._rng = random.Random(seed)
        self._out: list[bytes] = []
        self.mode = Mode.STOPPED
        self.star: tuple[float, float] | None = None
        self.lock: tuple[float, float] | None = None
        self.calibrated = False
        self.paused = False
        self.lost = False
        self.settle: Settle | None = None
        self.goal: Settle | None = None  # accepted guide request, not guiding yet
        self.dec_mode = "Auto"
        self.sim_t = 0.0
        self.loop_frame = 0
        self.guide_frame = 0
        self.guide_t0 = 0.0
        self.avg_dist = 0.0
        self._found_t = 0.0
        self._err = [0.0, 0.0]  # true mount error along RA, Dec (px)
        self._drift = (self._rng.gauss(0, 0.02), self._rng.gauss(0, 0.02))
        self._pe = 0.0
        self._recenter = False
        self._cal: tuple[tuple[float, float], list[_Step]] | None = None
        self._phase: Mode | None = None
        self._phase_frames = 0
        self._pause_left = 0
        self._lost_left = 0
        self._since_dither = 0
        self._guided = 0
        self._dither_at = 10
        self._stop_at = 150

    # ------------------------------------------------------------------ state

    @property
    def features(self) -> Features:
        """Features of the version currently simulated (2.6.5 under legacy)."""
        legacy = self.faults.legacy_265
        return features_for(LEGACY_VERSION if legacy else self.version)

    @property
    def app_state(self) -> AppState:
        """The state PHD2 would report now (``get_app_state``)."""
        if self.paused:
            return AppState.PAUSED
        if self.mode is Mode.GUIDING:
            return AppState.LOST_LOCK if self.lost else AppState.GUIDING
        if self.mode is Mode.CALIBRATING:
            return AppState.CALIBRATING
        if self.mode is Mode.LOOPING:
            return AppState.SELECTED if self.star else AppState.LOOPING
        return AppState.STOPPED

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

    # ----------------------------------------------------------------- output

    def drain(self) -> list[bytes]:
        """Return and forget the event lines produced since the last drain."""
        out, self._out = self._out, []
        return out

    def line(self, event: str, fields: Fields) -> bytes:
        """Format one event line: Event, Timestamp, Host, Inst, then ``fields``."""
        head: Fields = [
            ("Event", event),
            ("Timestamp", Num(self._clock(), ".3f")),
            ("Host", self.host),
            ("Inst", self.instance),
        ]
        body = ",".join(f'"{k}":{encode(v)}' for k, v in head + fields)
        return ("{" + body + "}\r\n").encode()

    def emit(self, event: str, *fields: tuple[str, object]) -> None:
        """Queue one event line for :meth:`drain`."""
        self._out.append(self.line(event, list(fields)))

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

    def catch_up(self) -> list[bytes]:
        """Return the catch-up block a new client receives (§3)."""
        feats = self.features
        version: Fields = [("PHDVersion", feats.version), ("PHDSubver", "")]
        if feats.overlap:
            version.append(("OverlapSupport", True))
        version.append(("MsgVersion", 1))
        lines = [self.line("Version", version)]
        if self.lock:
            lines.append(self.line("LockPositionSet", xy(self.lock)))
        if self.star:
            lines.append(self.line("StarSelected", xy(self.star)))
        if self.calibrated:
            lines.append(self.line("CalibrationComplete", [("Mount", MOUNT)]))
        state = self.app_state
        if state is AppState.GUIDING:
            lines.append(self.line("StartGuiding", []))
        elif state is AppState.CALIBRATING:
            lines.append(self.line("StartCalibration", [("Mount", MOUNT)]))
        elif state is AppState.PAUSED:
            lines.append(self.line("Paused", []))
        lines.append(self.line("AppState", [("State", state.value)]))
        return lines

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

    def _quality(self, *, hfd: bool) -> Fields:
        rng = self._rng
        q: Fields = [
            ("StarMass", Num(max(500.0, rng.gauss(15800, 900)), ".0f")),
            ("SNR", Num(max(3.0, rng.gauss(31, 2.5)), ".2f")),
        ]
        if hfd:
            q.append(("HFD", Num(max(1.2, rng.gauss(2.45, 0.12)), ".2f")))
        return q

    def _loop_frame(self) -> None:
        self.loop_frame += 1
        if self.paused:
            return
        fields: Fields = [("Frame", self.loop_frame)]
        if self.features.loop_star_data:
            if self.star:
                fields += self._quality(hfd=True)
            else:
                fields += [("ErrorCode", 8), ("Status", "No star selected")]
        self.emit("LoopingExposures", *fields)
        if self.goal is None:
            return
        if self.star is None:
            self.select_star()
        elif not self.calibrated:
            self._start_calibration(emit=True)
        else:
            self._start_guiding()

    def select_star(self) -> None:
        """Auto-select a guide star: LockPositionSet, then StarSelected."""
        rng = self._rng
        pos = (round(rng.uniform(200, 1080), 3), round(rng.uniform(150, 810), 3))
        self.star = self.lock = pos
        self.emit("LockPositionSet", *xy(pos))
        self.emit("StarSelected", *xy(pos))

    def _start_calibration(self, *, emit: bool) -> None:
        self._cal = (self.star or DEFAULT_STAR, _calibration_steps())
        self.mode = Mode.CALIBRATING
        if emit:
            self.emit("StartCalibration", ("Mount", MOUNT))

    def _cal_frame(self) -> None:
        if self._cal is None or self.paused:
            return
        start, steps = self._cal
        if not steps:
            self.calibrated, self.star, self._cal = True, start, None
            self.emit("CalibrationComplete", ("Mount", MOUNT))
            self._start_guiding()
            return
        direction, step, ra, dec, ra0, dec0 = steps.pop(0)
        cx, cy = to_camera(ra, dec)
        self.star = (start[0] + cx, start[1] + cy)
        dx, dy = to_camera(ra - ra0, dec - dec0)
        dist = math.hypot(dx, dy)
        if self.features.calibrating_events:
            self.emit(
                "Calibrating",
                ("Mount", MOUNT),
                ("dir", direction),
                ("dist", dist),
                ("dx", dx),
                ("dy", dy),
                ("pos", [self.star[0], self.star[1]]),
                ("step", step),
                ("State", f"{direction} step {step:3d}, dist={dist:4.1f}"),
            )

    def _start_guiding(self) -> None:
        self.mode, self.lost, self.paused = Mode.GUIDING, False, False
        self.guide_frame, self.guide_t0 = 0, self.sim_t
        self._found_t = self.sim_t
        self._err = [self._rng.gauss(0, 0.2), self._rng.gauss(0, 0.2)]
        self.lock = self.star = self.star or DEFAULT_STAR
        self.emit("LockPositionSet", *xy(self.lock))
        self.emit("StartGuiding")
        if self.goal is not None:
            self.settle, self.goal = self.goal, None
            self.settle.started = self.sim_t
            self.emit("SettleBegin")

    @staticmethod
    def _pulse(guide: float, rate: float, limit: bool) -> tuple[int, bool]:
        ms = round(abs(guide) / rate * 1000)
        if limit and ms > MAX_PULSE_MS:
            return MAX_PULSE_MS, True
        return ms, False

    def _guide_frame(self) -> None:
        self.guide_frame += 1  # frames while paused or lost still use numbers
        if self.paused:
            return
        t = self.sim_t - self.guide_t0
        if self._lost_left > 0:
            self._lost_left -= 1
            self._star_lost(t)
            return
        rng, err = self._rng, self._err
        pe = 0.6 * math.sin(2 * math.pi * t / 480.0)  # periodic error, 8 min worm
        err[0] += self._drift[0] * self.exposure_ms / 1000 + pe - self._pe
        err[1] += self._drift[1] * self.exposure_ms / 1000
        self._pe = pe
        raw = (
            round(err[0] + rng.gauss(0, SEEING_PX), 3),
            round(err[1] + rng.gauss(0, SEEING_PX), 3),
        )
        if self._recenter:
            # Fast recenter after a dither: guide == raw, no clipping (§6).
            guide, limit, self._recenter = raw, False, False
        else:
            ra_g = 0.7 * raw[0] if abs(raw[0]) >= 0.15 else 0.0
            allowed = {"Off": False, "North": raw[1] < 0, "South": raw[1] > 0}
            dec_on = abs(raw[1]) >= 0.2 and allowed.get(self.dec_mode, True)
            guide, limit = (round(ra_g, 3), raw[1] if dec_on else 0.0), True
        ra_ms, ra_lim = self._pulse(guide[0], RA_RATE, limit)
        dec_ms, dec_lim = self._pulse(guide[1], DEC_RATE, limit)
        # The pulse moves the mount by duration x rate against the error.
        err[0] -= math.copysign(ra_ms * RA_RATE / 1000, guide[0])
        err[1] -= math.copysign(dec_ms * DEC_RATE / 1000, guide[1])
        off = to_camera(*raw)
        lock = self.lock or DEFAULT_STAR
        self.star = (lock[0] + off[0], lock[1] + off[1])
        dist = math.hypot(*raw) if self.dec_mode != "Off" else abs(raw[0])
        self.avg_dist = AVG_WEIGHT * dist + (1 - AVG_WEIGHT) * self.avg_dist
        self.lost, self._found_t = False, self.sim_t
        fields: Fields = [
            ("Frame", self.guide_frame),
            ("Time", Num(t, ".3f")),
            ("Mount", MOUNT),
            ("dx", Num(off[0], ".3f")),
            ("dy", Num(off[1], ".3f")),
            ("RADistanceRaw", Num(raw[0], ".3f")),
            ("DECDistanceRaw", Num(raw[1], ".3f")),
            ("RADistanceGuide", Num(guide[0], ".3f")),
            ("DECDistanceGuide", Num(guide[1], ".3f")),
        ]
        # Sign conventions (§6): +RA guide -> West, +Dec guide -> South.
        if ra_ms > 0:
            fields += [("RADuration", ra_ms), ("RADirection", _ra_dir(guide[0]))]
        if dec_ms > 0:
            fields += [("DECDuration", dec_ms), ("DECDirection", _dec_dir(guide[1]))]
        fields += self._quality(hfd=self.features.hfd)
        fields.append(("AvgDist", Num(self.avg_dist, ".2f")))
        if rng.random() < 0.01:
            fields.append(("ErrorCode", 1))  # saturated, star still used
        if ra_lim:
            fields.append(("RALimited", True))
        if dec_lim:
            fields.append(("DecLimited", True))
        self._settle_frame(locked=True)  # Settling goes before its GuideStep (§8)
        self.emit("GuideStep", *fields)

    def _star_lost(self, t: float) -> None:
        self.lost = True
        if self.sim_t - self._found_t > 20.0:
            self.avg_dist = 100.0  # PHD2 reports 100 after 20 s without a star (§6)
        fields: Fields = [
            ("Frame", self.guide_frame),
            ("Time", Num(t, ".3f")),
            ("StarMass", Num(0, ".0f")),
            ("SNR", Num(0, ".2f")),
        ]
        if self.features.hfd:
            fields.append(("HFD", Num(0, ".2f")))
        fields += [
            ("AvgDist", Num(self.avg_dist, ".2f")),
            ("ErrorCode", 2),
            ("Status", "Star lost - low SNR"),
        ]
        self.emit("StarLost", *fields)
        self._settle_frame(locked=False)

    def _settle_frame(self, *, locked: bool) -> None:
        # PHD2's settle rules, counted in whole seconds (§8).
        s = self.settle
        if s is None:
            return
        s.frames += 1
        s.dropped += 0 if locked else 1
        in_range = locked and self.avg_dist <= s.pixels
        if not in_range:
            s.in_range_since = None
        elif s.in_range_since is None:
            s.in_range_since = self.sim_t
        since = s.in_range_since
        in_time = 0 if since is None else int(self.sim_t - since)
        if in_range and in_time >= s.time:
            self.settle_done(None)
        elif int(self.sim_t - s.started) >= s.timeout:
            self.settle_done(SETTLE_FAIL)
        else:
            self.emit(
                "Settling",
                ("Distance", Num(self.avg_dist, ".2f")),
                ("Time", Num(in_time, ".1f")),
                ("SettleTime", Num(s.time, ".1f")),
                ("StarLocked", locked),
            )

    def settle_done(self, error: str | None) -> None:
        """End the running settle (or pending guide request) with SettleDone."""
        s = self.settle or self.goal
        if s is None:
            return
        fields: Fields = [("Status", 0 if error is None else 1)]
        if error is not None:
            fields.append(("Error", error))
        fields += [("TotalFrames", s.frames), ("DroppedFrames", s.dropped)]
        self.settle = self.goal = None
        self.emit("SettleDone", *fields)

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


def _ra_dir(guide: float) -> str:
    return "West" if guide > 0 else "East"


def _dec_dir(guide: float) -> str:
    return "South" if guide > 0 else "North"
