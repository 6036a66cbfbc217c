"""State fields and event output of the simulated PHD2 session.

:class:`SessionCore` owns every attribute of the session (set once in
``__init__``), derives the reported app state and feature set, formats event lines
in PHD2's member order and queues them for :meth:`~SessionCore.drain`, and builds
the catch-up block a new client receives (protocol doc §3).

This module must not advance frames, run commands or the autopilot (those live in
``frames`` and ``session``), and must not do I/O, sleep or read the
wall clock except through the injected ``clock``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from exporterhub.simulators.phd2.model import (
    MOUNT,
    AppState,
    Mode,
    Phd2Faults,
    Settle,
    _Step,
)
from exporterhub.simulators.phd2.wire import (
    LEGACY_VERSION,
    Features,
    Fields,
    Num,
    encode,
    features_for,
    xy,
)

__all__ = ["SessionCore"]


class SessionCore:
    """Attributes, reported state and event-line output of a PHD2 session.

    Base of :class:`~exporterhub.simulators.phd2.session.Phd2Session`; not used
    on its own.
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
