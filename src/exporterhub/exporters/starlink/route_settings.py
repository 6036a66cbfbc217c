"""Route section of the Starlink configuration: where the simulated dish moves.

``Waypoint`` and ``RouteSettings`` (protocol notes §3.2) with their limits
(``MAX_WAYPOINTS``, ``MAX_LEG_DEGREES``) and the rules that need more than one
field: at least two waypoints for the ``waypoints`` pattern, no (nearly)
antipodal leg, the aircraft cruise altitude not below the route altitude.

This module only describes and validates the section; it must not move
anything (that is the engine's ``_route``), read files or start anything.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from exporterhub.exporters.starlink.geo import EARTH_RADIUS_M, haversine_m
from exporterhub.exporters.starlink.settings_rules import (
    FROZEN,
    Flag,
    Number,
    WholeNumber,
    not_below,
    whole_number,
)

__all__ = ["MAX_LEG_DEGREES", "MAX_WAYPOINTS", "RouteSettings", "Waypoint"]

MAX_WAYPOINTS: Final = 10_000
"""Most waypoints a route may list."""
MAX_LEG_DEGREES: Final = 179.0
"""Largest central angle between consecutive waypoints: a (nearly) antipodal leg
has no well-defined great circle."""


class Waypoint(BaseModel):
    """One route point.

    Attributes:
        latitude: degrees, WGS 84, -90..90.
        longitude: degrees, -180..180.
        altitude_meters: unused by the simulation yet (the route altitude applies).
        speed_knots: target speed on the leg that starts here, knots,
            0.1..2000; route speed if unset.
    """

    model_config = FROZEN

    latitude: Number = Field(ge=-90.0, le=90.0)
    longitude: Number = Field(ge=-180.0, le=180.0)
    altitude_meters: Number | None = Field(default=None, ge=-500.0, le=20_000.0)
    speed_knots: Number | None = Field(default=None, ge=0.1, le=2000.0)


_DEFAULT_WAYPOINTS: Final = (
    Waypoint(latitude=40.7128, longitude=-74.0060),
    Waypoint(latitude=41.2000, longitude=-73.2000),
)


class RouteSettings(BaseModel):
    """Where and how the simulated dish moves (protocol notes §3.2).

    Attributes:
        pattern: ``waypoints`` (explicit list), ``circle``, ``straight`` or
            ``random_walk`` (a wandering loop that stays within ``radius_meters``
            of the centre).
        loop: waypoints only: true = last point back to the first; false =
            out-and-back (retrace the list in reverse).
        waypoints: at least two for the ``waypoints`` pattern, at most
            ``MAX_WAYPOINTS``; consecutive ones (and, with ``loop``, the last
            and the first) less than ``MAX_LEG_DEGREES`` apart.
        center_latitude: circle centre, degrees.
        center_longitude: circle centre, degrees.
        radius_meters: circle (and random walk) radius, metres, 10..5 000 000.
        direction: circle direction seen from above.
        start_latitude: straight pattern start, degrees.
        start_longitude: straight pattern start, degrees.
        bearing_degrees: straight pattern initial bearing, degrees true.
        length_meters: straight pattern length, metres, 10..19 000 000; the
            vehicle turns round at the end.
        speed_knots: target ground speed, knots.
        altitude_meters: ground/sea altitude, and the aircraft's minimum, metres.
        cruise_altitude_meters: aircraft profile cruise altitude, metres.
        profile: acceleration limits (ground 0.5, ship 0.05, aircraft 1.5 m/s²)
            and altitude behaviour.
        walk_seed: random walk: which walk (the same seed, the same route).
        walk_steps: random walk: how many legs before the walk closes its loop.
    """

    model_config = FROZEN

    pattern: Literal["waypoints", "circle", "straight", "random_walk"] = "waypoints"
    loop: Flag = True
    waypoints: tuple[Waypoint, ...] = Field(
        default=_DEFAULT_WAYPOINTS, max_length=MAX_WAYPOINTS
    )
    center_latitude: Number = Field(default=40.7128, ge=-90.0, le=90.0)
    center_longitude: Number = Field(default=-74.0060, ge=-180.0, le=180.0)
    radius_meters: Number = Field(default=2000.0, ge=10.0, le=5_000_000.0)
    direction: Literal["clockwise", "anticlockwise"] = "clockwise"
    start_latitude: Number = Field(default=40.7128, ge=-90.0, le=90.0)
    start_longitude: Number = Field(default=-74.0060, ge=-180.0, le=180.0)
    bearing_degrees: Number = Field(default=90.0, ge=0.0, lt=360.0)
    length_meters: Number = Field(default=50_000.0, ge=10.0, le=19_000_000.0)
    speed_knots: Number = Field(default=45.0, ge=0.0, le=2000.0)
    altitude_meters: Number = Field(default=120.0, ge=-500.0, le=20_000.0)
    cruise_altitude_meters: Number = Field(default=10_500.0, ge=0.0, le=20_000.0)
    profile: Literal["ground", "ship", "aircraft"] = "ground"
    walk_seed: WholeNumber = Field(default=0, ge=0, le=2**31 - 1)
    walk_steps: WholeNumber = Field(default=400, ge=3, le=MAX_WAYPOINTS)

    _whole = field_validator("walk_seed", "walk_steps", mode="before")(
        staticmethod(whole_number)
    )

    @field_validator("waypoints")
    @classmethod
    def _two_waypoints(
        cls, value: tuple[Waypoint, ...], info: ValidationInfo
    ) -> tuple[Waypoint, ...]:
        if info.data.get("pattern") != "waypoints":
            return value
        if len(value) < 2:
            raise ValueError("the waypoints pattern needs at least two waypoints")
        pairs = [(i, i + 1) for i in range(len(value) - 1)]
        if info.data.get("loop") and len(value) > 2:
            pairs.append((len(value) - 1, 0))
        for i, j in pairs:
            a, b = value[i], value[j]
            distance = haversine_m(a.latitude, a.longitude, b.latitude, b.longitude)
            angle = math.degrees(distance / EARTH_RADIUS_M)
            if angle > MAX_LEG_DEGREES:
                raise ValueError(
                    f"waypoints {i} and {j} are nearly antipodal ({angle:.1f} deg "
                    f"apart, limit {MAX_LEG_DEGREES:.0f}): add a waypoint between them"
                )
        return value

    @field_validator("cruise_altitude_meters")
    @classmethod
    def _cruise_above_floor(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "altitude_meters")
        return value
