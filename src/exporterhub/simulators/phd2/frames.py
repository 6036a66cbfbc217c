"""Frame-by-frame physics of the simulated PHD2 session.

:class:`SessionFrames` advances the capture loop by one exposure: looping frames,
star selection, calibration steps, guide steps with seeing noise, drift and periodic
error, guide pulses, star-loss frames and PHD2's whole-second settle rules (protocol
doc §5-§8), queuing the event lines each produces.

This module must not decide what happens next (commands and the autopilot live in
``session``), and must not do I/O, sleep or read the wall clock except through
the injected ``clock``.

Units: positions and offsets are guide-camera pixels, pulse durations milliseconds,
``Time``/``SettleTime`` simulated seconds (frames x exposure).
"""

from __future__ import annotations

import math
from typing import Final

from exporterhub.simulators.phd2.core import SessionCore
from exporterhub.simulators.phd2.model import (
    DEC_RATE,
    DEFAULT_STAR,
    MOUNT,
    RA_RATE,
    Mode,
    _calibration_steps,
    to_camera,
)
from exporterhub.simulators.phd2.wire import Fields, Num, xy

__all__ = ["SessionFrames"]

SEEING_PX: Final = 0.3  # sigma of the per-frame centroid noise
AVG_WEIGHT: Final = 0.3  # PHD2's AvgDist exponential weight on the newest frame
MAX_PULSE_MS: Final = 2500
SETTLE_FAIL: Final = "timed-out waiting for guider to settle"


class SessionFrames(SessionCore):
    """Per-exposure advance of looping, calibration, guiding and settling.

    Base of :class:`~exporterhub.simulators.phd2.session.Phd2Session`; not used
    on its own.
    """

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


def _ra_dir(guide: float) -> str:
    return "West" if guide > 0 else "East"


def _dec_dir(guide: float) -> str:
    return "South" if guide > 0 else "North"
