"""Vocabulary and fixed mount geometry of the simulated PHD2 session.

Holds what the session, the JSON-RPC layer and the server share: the fault switches,
PHD2's application states, the capture modes, the settle record, the simulated
mount's calibration (rates, camera angle, calibration step plan) and the rotation
from mount axes to camera pixels.

This module must not hold session state, emit events, draw random numbers, do I/O
or read the clock; it is plain data and pure geometry.

Units: positions and offsets are guide-camera pixels, rates px/s, angles degrees,
settle times seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "CAL_ANGLE",
    "CAL_STEPS",
    "CAL_STEP_PX",
    "DEC_RATE",
    "DEFAULT_STAR",
    "MOUNT",
    "RA_RATE",
    "AppState",
    "Mode",
    "Phd2Faults",
    "Settle",
    "to_camera",
]

MOUNT: Final = "On-camera"
DEFAULT_STAR: Final = (640.0, 480.0)
RA_RATE: Final = 7.512  # px/s, also reported by get_calibration_data
DEC_RATE: Final = 7.204
CAL_ANGLE: Final = 23.4  # degrees between camera X and the RA axis
CAL_STEP_PX: Final = 3.2
CAL_STEPS: Final = 3  # steps per calibration leg; short so guiding starts quickly


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
