"""Maps what ``starlink_grpc`` reads from a dish onto one :class:`Telemetry` sample.

Live mode only (``shared/protocols/starlink.md`` §6, §7). The input is the plain
dicts ``starlink_grpc.status_data`` returns (status, obstruction, alerts) plus the
location dict (``latitude``/``longitude``/``altitude``, the shape of
``starlink_grpc.location_data``) and, optionally, the raw ``GetLocationResponse``
extras ``horizontal_speed_mps`` and ``sigma_m``. Pure: no I/O, no clock (the poll
time is passed in), no library import.

Field glossary (dish field → dict key → ``Telemetry`` field, unit):

- ``device_info.id`` / ``hardware_version`` / ``software_version`` → ``id`` /
  ``hardware_version`` / ``software_version`` → ``dish_id`` … (strings).
- ``outage.cause`` → ``state`` (``CONNECTED`` when there is no outage;
  ``NO_SCHEDULE`` is reported by ``starlink_grpc`` as ``SEARCHING``) → ``state``;
  names outside :data:`DISH_STATES` become ``UNKNOWN``.
- ``device_state.uptime_s`` → ``uptime`` → ``uptime_seconds`` (s since boot).
- ``pop_ping_latency_ms`` → ``latency_ms`` (ms round trip to the PoP). ``0`` is
  treated as missing: some late-2024 firmware sent 0 while the history was right
  (§10.11).
- ``pop_ping_drop_rate`` (fraction 0-1) → ``packet_loss_percent`` (* 100).
- ``downlink_/uplink_throughput_bps`` (bit/s of traffic carried, not capacity) →
  ``throughput_down_mbps`` / ``throughput_up_mbps`` (÷ 1e6).
- ``obstruction_stats.fraction_obstructed`` (0-1) → ``obstruction_percent`` (* 100);
  ``currently_obstructed`` → ``currently_obstructed``.
- ``boresight_azimuth_deg`` / ``boresight_elevation_deg`` → ``direction_azimuth`` /
  ``direction_elevation`` → ``boresight_*_degrees`` (where the antenna points, not
  the vehicle heading, §10.4).
- ``is_snr_above_noise_floor`` → ``snr_above_noise_floor`` (bool).
- ``gps_stats.gps_valid`` / ``gps_sats`` → ``gps_ready`` / ``gps_sats`` →
  ``gps_valid`` / ``gps_satellites``.
- ``alerts.<name>`` → ``alert_<name>`` → ``alerts`` (names of the active ones, known
  ones in :data:`ALERTS` order, new firmware alerts after them).
- ``get_location.lla.lat/lon/alt`` → ``latitude_degrees`` / ``longitude_degrees`` /
  ``altitude_meters`` (degrees, degrees, metres). All ``None`` means the dish refused
  (``PERMISSION_DENIED``): position omitted, ``location_available`` False.
- ``get_location.horizontal_speed_mps`` (m/s) → ``speed_knots`` (* 1.943844); when
  the dish does not send it, derived from successive fixes.
- heading: derived, never read (the dish has no heading field): the bearing between
  fixes at least ``max(10 m, 3·sigma_m)`` apart, held while stationary.

No longer sent by current firmware (always ``None`` from ``starlink_grpc``): ``snr``,
``seconds_obstructed``, the wedge arrays; the ``state`` enum is now derived from
``outage``. Not mapped in live mode: ``signal_quality_percent`` (the dish reports no
numeric SNR) and ``power_watts`` (history only).

Example:
    >>> t, fix = telemetry_from_dish(
    ...     {"state": "CONNECTED", "pop_ping_latency_ms": 0.0},
    ...     None, None, None, now=100.0, previous_fix=None)
    >>> t.state, t.latency_ms, t.latitude_degrees, fix
    ('CONNECTED', None, None, None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

# One geodesy for simulation and live mode (the engine's), one Earth radius.
from exporterhub.exporters.starlink.geo import haversine_m as distance_m
from exporterhub.exporters.starlink.geo import initial_bearing_deg as bearing_degrees
from exporterhub.exporters.starlink.telemetry import ALERTS, DISH_STATES, Telemetry

__all__ = [
    "KNOTS_PER_MPS",
    "Fix",
    "bearing_degrees",
    "distance_m",
    "telemetry_from_dish",
]

KNOTS_PER_MPS: Final = 1.943844
MIN_MOVE_M: Final = 10.0  # §6: fixes closer than max(10 m, 3·sigma_m) are "no move"
SPEED_WINDOW_S: Final = (10.0, 30.0)  # §6: derived speed over a 10-30 s window
_STATE_ALIASES: Final = {"NO_SCHEDULE": "SEARCHING"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fix:
    """The anchor fix for heading/speed derivation, carried from poll to poll.

    ``lat``/``lon`` in degrees, ``t`` the poll time in seconds, ``sigma_m`` the
    dish's stated accuracy in metres (0 when unknown). ``heading_degrees`` and
    ``speed_knots`` are the last derived values, held while the dish is not seen
    to move.
    """

    lat: float
    lon: float
    t: float
    sigma_m: float = 0.0
    heading_degrees: float | None = None
    speed_knots: float | None = None


def _num(source: Mapping[str, Any] | None, key: str) -> float | None:
    """Return a finite float from ``source[key]``, or ``None`` (never a made-up 0)."""
    if source is None:
        return None
    value = source.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int past 1e308
        return None
    return out if math.isfinite(out) else None


def _scaled(source: Mapping[str, Any] | None, key: str, factor: float) -> float | None:
    value = _num(source, key)
    if value is None:
        return None
    scaled = value * factor
    return scaled if math.isfinite(scaled) else None  # past 1e308 once scaled


def _flag(source: Mapping[str, Any] | None, key: str) -> bool | None:
    if source is None:
        return None
    value = source.get(key)
    return None if value is None else bool(value)


def _text(source: Mapping[str, Any] | None, key: str) -> str | None:
    if source is None:
        return None
    value = source.get(key)
    return None if value is None or value == "" else str(value)


def _state(status: Mapping[str, Any] | None) -> str | None:
    name = _text(status, "state")
    if name is None:
        return None
    name = _STATE_ALIASES.get(name, name)
    return name if name in DISH_STATES else "UNKNOWN"


def _alerts(alerts: Mapping[str, Any] | None) -> tuple[tuple[str, ...], bool]:
    if not alerts:
        return (), False
    names = {k.removeprefix("alert_") for k in alerts if k.startswith("alert_")}
    if not names:
        return (), False
    active = {n for n in names if alerts.get("alert_" + n)}
    known = tuple(n for n in ALERTS if n in active)
    return known + tuple(sorted(active - set(known))), True


def _motion(
    lat: float,
    lon: float,
    sigma_m: float,
    now: float,
    previous: Fix | None,
) -> Fix:
    """Return the next anchor, whose heading/speed are this poll's derived values."""
    if previous is None:
        return Fix(lat=lat, lon=lon, t=now, sigma_m=sigma_m)
    dt = now - previous.t
    if dt <= 0:
        return previous  # same poll twice or a clock step back: nothing to learn
    moved = distance_m(previous.lat, previous.lon, lat, lon)
    threshold = max(MIN_MOVE_M, 3.0 * max(sigma_m, previous.sigma_m))
    if moved >= threshold:
        return Fix(
            lat=lat,
            lon=lon,
            t=now,
            sigma_m=sigma_m,
            heading_degrees=bearing_degrees(previous.lat, previous.lon, lat, lon),
            speed_knots=moved / dt * KNOTS_PER_MPS,
        )
    low, high = SPEED_WINDOW_S
    if dt < low:
        return previous  # window too short to call it stationary: hold
    stationary = replace(previous, speed_knots=0.0)
    if dt > high:
        # Re-anchor so a later move is measured over a fresh window; heading held.
        return replace(stationary, lat=lat, lon=lon, t=now, sigma_m=sigma_m)
    return stationary


def telemetry_from_dish(
    status: Mapping[str, Any] | None,
    obstruction: Mapping[str, Any] | None,
    alerts: Mapping[str, Any] | None,
    location: Mapping[str, Any] | None,
    *,
    now: float,
    previous_fix: Fix | None,
    raw_location_extra: Mapping[str, Any] | None = None,
) -> tuple[Telemetry, Fix | None]:
    """Build a live-mode :class:`Telemetry` from one poll's ``starlink_grpc`` dicts.

    Args:
        status: ``status_data()[0]``, or ``None`` when status was not read.
        obstruction: ``status_data()[1]`` (only ``valid_s`` there today; unused).
        alerts: ``status_data()[2]`` (``alert_<name>`` → bool).
        location: ``latitude``/``longitude``/``altitude`` (all ``None`` = refused),
            or ``None`` when location was not read this poll. It may also carry the
            extras below.
        now: poll time, seconds since the epoch; becomes ``timestamp``.
        previous_fix: the anchor this function returned last time (``None`` first).
        raw_location_extra: ``horizontal_speed_mps`` (m/s) and ``sigma_m`` (m) from
            the raw ``GetLocationResponse``; defaults to ``location`` itself.

    Returns:
        The sample and the anchor to pass as ``previous_fix`` next time. When there
        is no position this poll, ``previous_fix`` comes back unchanged.
    """
    del obstruction  # wedges and seconds_obstructed are gone from firmware (§5.3)
    extra = location if raw_location_extra is None else raw_location_extra
    lat, lon = _num(location, "latitude"), _num(location, "longitude")
    available: bool | None = None
    if location is not None:
        available = any(location.get(k) is not None for k in ("latitude", "longitude"))

    speed = _scaled(extra, "horizontal_speed_mps", KNOTS_PER_MPS)
    heading: float | None = None
    anchor = previous_fix
    altitude: float | None = None
    if lat is not None and lon is not None:
        altitude = _num(location, "altitude")
        sigma = _num(extra, "sigma_m")
        anchor = _motion(lat, lon, max(sigma or 0.0, 0.0), now, previous_fix)
        heading = anchor.heading_degrees
        if speed is None:
            speed = anchor.speed_knots
    else:
        lat = lon = None
        speed = None  # a speed without a position is not something we can stand by

    latency = _num(status, "pop_ping_latency_ms")
    if latency is not None and latency <= 0:
        latency = None  # 0 ms is a firmware glitch, not a measurement (§10.11)
    sats = _num(status, "gps_sats")
    active, alerts_known = _alerts(alerts)

    telemetry = Telemetry(
        timestamp=now,
        mode="live",
        latitude_degrees=lat,
        longitude_degrees=lon,
        altitude_meters=altitude,
        speed_knots=speed,
        heading_degrees=heading,
        latency_ms=latency,
        throughput_down_mbps=_scaled(status, "downlink_throughput_bps", 1e-6),
        throughput_up_mbps=_scaled(status, "uplink_throughput_bps", 1e-6),
        packet_loss_percent=_scaled(status, "pop_ping_drop_rate", 100.0),
        obstruction_percent=_scaled(status, "fraction_obstructed", 100.0),
        currently_obstructed=_flag(status, "currently_obstructed"),
        snr_above_noise_floor=_flag(status, "is_snr_above_noise_floor"),
        uptime_seconds=_num(status, "uptime"),
        state=_state(status),
        alerts=active,
        alerts_known=alerts_known,
        gps_valid=_flag(status, "gps_ready"),
        gps_satellites=None if sats is None else int(sats),
        boresight_azimuth_degrees=_num(status, "direction_azimuth"),
        boresight_elevation_degrees=_num(status, "direction_elevation"),
        location_available=available,
        dish_id=_text(status, "id"),
        hardware_version=_text(status, "hardware_version"),
        software_version=_text(status, "software_version"),
    )
    return telemetry, anchor
