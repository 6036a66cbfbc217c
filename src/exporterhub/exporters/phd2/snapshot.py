"""The frozen output of the PHD2 fold and the fixed label sets it is written in.

``Phd2Snapshot`` is everything the collector exports about one PHD2 instance;
``GuideStepValues`` is the last ``GuideStep`` in base units; ``ErrorType`` and the
tuples below (``DEVICES``, ``ALERT_LEVELS``, the pulse directions, ``RMS_SOURCES``)
are the only label values the fold produces, with ``OTHER`` for anything outside
them. The collector reads only this module's types.

Pure data: nothing here folds events, reads a clock, parses a line or does I/O, and
it must not import ``state`` or ``events`` (they import it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from exporterhub.exporters.phd2.protocol import GuiderState

__all__ = [
    "ALERT_LEVELS",
    "CALIBRATION_DIRECTIONS",
    "DEC_DIRECTIONS",
    "DEVICES",
    "OTHER",
    "PULSE_DIRECTIONS",
    "RA_DIRECTIONS",
    "RMS_SOURCES",
    "CalibrationStep",
    "Counts",
    "ErrorType",
    "GuideStats",
    "GuideStepValues",
    "Phd2Snapshot",
    "SettlingValues",
    "StarLostValues",
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

CALIBRATION_DIRECTIONS: Final = (
    "West",
    "East",
    "Backlash",
    "North",
    "South",
    "Left",
    "Right",
    "Up",
    "Down",
)
"""``Calibrating.dir`` values: the mount's legs and backlash clearing, then AO's."""

RMS_SOURCES: Final = (
    "RADistanceRaw",
    "DECDistanceRaw",
    "RADistanceGuide",
    "DECDistanceGuide",
    "TotalDistanceRaw",
    "TotalDistanceGuide",
)
"""``source`` label values of ``phd2_rms`` (COMPAT)."""


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
        dx_px: ``dx``, star offset from the lock position along camera X, pixels.
        dy_px: ``dy``, along camera Y, pixels.
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
    dx_px: float | None = None
    dy_px: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationStep:
    """The last ``Calibrating`` event of one direction (pixels from the leg's start).

    Attributes:
        direction: ``dir`` (one of ``CALIBRATION_DIRECTIONS`` or ``"other"``).
        distance_px: ``dist``; ``dx_px``, ``dy_px``: ``dx``, ``dy``.
        step: ``step``, the step number within the leg.
    """

    direction: str
    distance_px: float | None
    dx_px: float | None
    dy_px: float | None
    step: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlingValues:
    """The last ``Settling`` event.

    Attributes:
        distance_px: ``Distance``, PHD2's smoothed distance from the lock, pixels.
        in_range_seconds: ``Time``, seconds the star has been in range so far.
        required_seconds: ``SettleTime``, seconds in range the settle asks for.
        star_locked: ``StarLocked``.
    """

    distance_px: float | None
    in_range_seconds: float | None
    required_seconds: float | None
    star_locked: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StarLostValues:
    """The last ``StarLost`` event.

    Attributes:
        star_mass: ``StarMass``, ADU sum; ``snr``: ``SNR``;
        avg_distance_px: ``AvgDist``, pixels; error_code: ``ErrorCode``, 0 when absent.
    """

    star_mass: float | None
    snr: float | None
    avg_distance_px: float | None
    error_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GuideStats:
    """Guiding statistics over the RMS window, as PHD2's graph and NINA show them.

    Attributes:
        ra_stddev_px: population standard deviation of ``RADistanceRaw``, pixels.
        dec_stddev_px: the same of ``DECDistanceRaw``.
        total_stddev_px: ``sqrt(ra_stddev_px² + dec_stddev_px²)``.
        ra_peak_px: largest ``|RADistanceRaw|`` in the window; ``dec_peak_px`` Dec's.
    """

    ra_stddev_px: float
    dec_stddev_px: float
    total_stddev_px: float
    ra_peak_px: float
    dec_peak_px: float


Counts = tuple[tuple[str, int], ...]
"""Label value and count pairs, one per label value."""


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
    ``last_guide_step_at`` (exporter clock, Unix seconds); ``guide_stats`` (stddev and
    peaks over the RMS window, None while it is empty); ``lock_position`` and
    ``star_position`` (``LockPositionSet``/``StarSelected`` X, Y pixels, None once
    lost or before PHD2 said them); ``calibration_steps`` (the last ``Calibrating``
    of each direction of the current or last calibration); ``settling_values``,
    ``last_star_lost``, ``last_dither`` (``GuidingDithered`` dx, dy: pixels along RA
    and Dec), ``last_settle_status`` (``SettleDone.Status``).

    Counters (catch-up excluded): ``events`` (by name), ``guide_steps``,
    ``star_lost`` (by code), ``dithers``, ``settles_started``, ``settles_succeeded``,
    ``settles_failed``, ``calibrations_started``/``_completed``/``_failed``,
    ``alerts`` (by level, the four levels always present), ``pulse_seconds`` (by
    direction, all eight always present), ``ra_limited``, ``dec_limited``, ``errors``
    (by ``ErrorType``, all present); ``received`` (lines PHD2 sent, events and
    answers, over every connection: the original's liveness counter).

    ``legacy``: the target asked for the original exporter's families too.
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
    guide_stats: GuideStats | None = None
    lock_position: tuple[float, float] | None = None
    star_position: tuple[float, float] | None = None
    calibration_steps: tuple[CalibrationStep, ...] = ()
    settling_values: SettlingValues | None = None
    last_star_lost: StarLostValues | None = None
    last_dither: tuple[float, float] | None = None
    last_settle_status: int | None = None
    received: int = 0
    legacy: bool = False
