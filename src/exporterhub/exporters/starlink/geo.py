"""Spherical-Earth geodesy for the Starlink simulation (protocol notes §3.1).

One Earth radius everywhere (``EARTH_RADIUS_M``); angles in degrees at the
interface, radians inside. Pure functions, no I/O, no state.

>>> round(haversine_m(40.7128, -74.0060, 51.5074, -0.1278) / 1000)
5570
>>> round(initial_bearing_deg(40.7128, -74.0060, 51.5074, -0.1278))
51
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "EARTH_RADIUS_M",
    "KNOT_MPS",
    "MPS_TO_KNOTS",
    "destination",
    "haversine_m",
    "initial_bearing_deg",
    "interpolate",
    "knots_to_mps",
    "mps_to_knots",
    "normalize_lon",
]

EARTH_RADIUS_M: Final = 6_371_008.8
"""Mean Earth radius in metres (IUGG), used for every distance in the package."""
KNOT_MPS: Final = 1852.0 / 3600.0
"""Metres per second in one knot (1852 m/h, ≈ 0.514444); exact, so the two
conversions invert each other."""
MPS_TO_KNOTS: Final = 3600.0 / 1852.0
"""Knots in one metre per second (≈ 1.943844)."""


def knots_to_mps(knots: float) -> float:
    """Convert knots to metres per second."""
    return knots * KNOT_MPS


def mps_to_knots(mps: float) -> float:
    """Convert metres per second to knots."""
    return mps * MPS_TO_KNOTS


def normalize_lon(lon: float) -> float:
    """Return ``lon`` (degrees) wrapped into [-180, 180).

    >>> normalize_lon(190.0), normalize_lon(-180.0), normalize_lon(180.0)
    (-170.0, -180.0, -180.0)
    """
    return (lon + 180.0) % 360.0 - 180.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the initial bearing from point 1 to point 2, degrees true in [0, 360).

    0 is north, 90 east. Identical points give 0.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destination(
    lat: float, lon: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """Return the point ``distance_m`` metres from (lat, lon) along ``bearing_deg``.

    Returns:
        (latitude, longitude) in degrees, longitude in [-180, 180).
    """
    p1, l1 = math.radians(lat), math.radians(lon)
    theta = math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    sin_p2 = math.sin(p1) * math.cos(delta) + math.cos(p1) * math.sin(delta) * math.cos(
        theta
    )
    p2 = math.asin(min(1.0, max(-1.0, sin_p2)))
    l2 = l1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(p1),
        math.cos(delta) - math.sin(p1) * math.sin(p2),
    )
    return math.degrees(p2), normalize_lon(math.degrees(l2))


def interpolate(
    lat1: float, lon1: float, lat2: float, lon2: float, fraction: float
) -> tuple[float, float]:
    """Return the point at ``fraction`` (0..1) of the great circle from 1 to 2.

    Works on 3-D unit vectors, so legs across the antimeridian or near a pole
    interpolate correctly. Coincident points return point 1.

    Returns:
        (latitude, longitude) in degrees, longitude in [-180, 180).
    """
    delta = haversine_m(lat1, lon1, lat2, lon2) / EARTH_RADIUS_M
    if delta < 1e-12:
        return lat1, normalize_lon(lon1)
    p1, l1 = math.radians(lat1), math.radians(lon1)
    p2, l2 = math.radians(lat2), math.radians(lon2)
    sin_d = math.sin(delta)
    a = math.sin((1.0 - fraction) * delta) / sin_d
    b = math.sin(fraction * delta) / sin_d
    x = a * math.cos(p1) * math.cos(l1) + b * math.cos(p2) * math.cos(l2)
    y = a * math.cos(p1) * math.sin(l1) + b * math.cos(p2) * math.sin(l2)
    z = a * math.sin(p1) + b * math.sin(p2)
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = math.degrees(math.atan2(y, x))
    return lat, normalize_lon(lon)
