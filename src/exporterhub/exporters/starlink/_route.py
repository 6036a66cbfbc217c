"""Vehicle motion along the configured route (protocol notes §3.2).

A route is a cycle of great-circle legs. Each step moves the speed toward the
leg's target under the profile's acceleration limit, advances ``s`` by the
distance actually covered in ``dt`` (carrying the remainder over as many legs as
it takes), and reports the bearing from the current point to the leg's end, so
position, speed and heading always agree. Pure; randomness from the injected
``random.Random``; no clock, no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from exporterhub.exporters.starlink.geo import (
    destination,
    haversine_m,
    initial_bearing_deg,
    interpolate,
    knots_to_mps,
    mps_to_knots,
)
from exporterhub.exporters.starlink.settings import RouteSettings

__all__ = ["Leg", "RouteModel", "RouteSample", "build_legs"]

ACCELERATION_MPS2: Final = {"ground": 0.5, "ship": 0.05, "aircraft": 1.5}
"""Acceleration limit per profile, m/s² (§3.2)."""
CLIMB_RATE_MPS: Final = 7.5
"""Aircraft climb/descent rate, m/s (§3.2: 5-10 m/s)."""
GROUND_ALTITUDE_RATE_MPS: Final = 2.0
"""How fast a ground/ship altitude follows a changed setting, m/s."""
HOLD_HEADING_BELOW_KNOTS: Final = 0.5
"""Below this speed the heading is held, not recomputed (§3.2)."""
MIN_LEG_M: Final = 0.01
"""Legs shorter than this are dropped (repeated waypoints)."""
_SEGMENT_M: Final = 100.0


@dataclass(frozen=True, slots=True)
class Leg:
    """One great-circle leg: endpoints in degrees, length in metres, speed in m/s."""

    lat1: float
    lon1: float
    lat2: float
    lon2: float
    length_m: float
    speed_mps: float


@dataclass(frozen=True, slots=True)
class RouteSample:
    """Where the vehicle is after a step (degrees, metres, knots, degrees true)."""

    latitude: float
    longitude: float
    altitude_meters: float
    speed_knots: float
    heading_degrees: float


def _leg(a: tuple[float, float], b: tuple[float, float], knots: float) -> Leg:
    length = haversine_m(a[0], a[1], b[0], b[1])
    return Leg(a[0], a[1], b[0], b[1], length, knots_to_mps(knots))


def _points(route: RouteSettings) -> list[tuple[float, float, float]]:
    """Return the route's cycle of points as (lat, lon, speed_knots)."""
    speed = route.speed_knots
    if route.pattern == "circle":
        count = math.ceil(2 * math.pi * route.radius_meters / _SEGMENT_M)
        count = min(360, max(36, count))
        sign = 1.0 if route.direction == "clockwise" else -1.0
        return [
            (
                *destination(
                    route.center_latitude,
                    route.center_longitude,
                    (sign * 360.0 * k / count) % 360.0,
                    route.radius_meters,
                ),
                speed,
            )
            for k in range(count)
        ]
    if route.pattern == "straight":
        start = (route.start_latitude, route.start_longitude)
        end = destination(*start, route.bearing_degrees, route.length_meters)
        return [(*start, speed), (*end, speed)]
    points = [
        (
            w.latitude,
            w.longitude,
            w.speed_knots if w.speed_knots is not None else speed,
        )
        for w in route.waypoints
    ]
    if not route.loop:  # out-and-back: retrace the inner points in reverse
        points += points[-2:0:-1]
    return points


def build_legs(route: RouteSettings) -> tuple[list[Leg], tuple[float, float]]:
    """Return the route's cyclic legs (zero-length ones dropped) and its start point."""
    points = _points(route)
    legs = []
    for i, (lat, lon, knots) in enumerate(points):
        nxt = points[(i + 1) % len(points)]
        leg = _leg((lat, lon), (nxt[0], nxt[1]), knots)
        if leg.length_m >= MIN_LEG_M:
            legs.append(leg)
    return legs, (points[0][0], points[0][1])


def _ar1(value: float, rng: random.Random, dt: float, tau: float, sd: float) -> float:
    """Advance a zero-mean AR(1)/OU value with time constant ``tau`` seconds."""
    phi = math.exp(-dt / tau)
    return value * phi + sd * math.sqrt(1.0 - phi * phi) * rng.gauss(0.0, 1.0)


class RouteModel:
    """Position, speed, heading and altitude of the simulated vehicle."""

    def __init__(self, route: RouteSettings, rng: random.Random) -> None:
        self._rng = rng
        self._route = route
        self._legs, start = build_legs(route)
        self._index = 0
        self._s = 0.0
        self._transit: Leg | None = None
        self._point = start
        first = self._legs[0] if self._legs else None
        self._v = first.speed_mps if first else 0.0
        self._heading = (
            initial_bearing_deg(first.lat1, first.lon1, first.lat2, first.lon2)
            if first
            else 0.0
        )
        self._noise = 0.0
        self._alt_base = route.altitude_meters
        self._alt_noise = 0.0

    def _current(self) -> Leg | None:
        if self._transit is not None:
            return self._transit
        return self._legs[self._index] if self._legs else None

    def position(self) -> tuple[float, float]:
        """Return the current (latitude, longitude) in degrees."""
        leg = self._current()
        if leg is None:
            return self._point
        return interpolate(
            leg.lat1, leg.lon1, leg.lat2, leg.lon2, self._s / leg.length_m
        )

    def apply(self, route: RouteSettings) -> None:
        """Switch to a new route without teleporting.

        Same geometry: keep the place on the route. New geometry: drive a transit
        leg from here to the nearest point of the new route, then follow it.
        """
        if route == self._route:
            return
        legs, start = build_legs(route)
        old = [(g.lat1, g.lon1, g.lat2, g.lon2) for g in self._legs]
        new = [(g.lat1, g.lon1, g.lat2, g.lon2) for g in legs]
        self._route = route
        if old == new:
            self._legs = legs
            return
        here = self.position()
        targets = [(g.lat1, g.lon1) for g in legs] or [start]
        nearest = min(
            range(len(targets)), key=lambda i: haversine_m(*here, *targets[i])
        )
        self._legs = legs
        self._point = start
        self._index = nearest if legs else 0
        self._s = 0.0
        transit = _leg(here, targets[nearest], route.speed_knots)
        self._transit = transit if transit.length_m >= MIN_LEG_M else None
        if self._transit is None and not legs:
            self._point = here

    def _advance(self, distance: float) -> None:
        if self._transit is not None:
            left = self._transit.length_m - self._s
            if distance < left:
                self._s += distance
                return
            distance -= left
            self._transit = None
            self._s = 0.0
        if not self._legs:
            return
        cycle = sum(g.length_m for g in self._legs)
        distance %= cycle  # whole laps end where they began
        for _ in range(2 * len(self._legs) + 1):
            left = self._legs[self._index].length_m - self._s
            if distance < left:
                self._s += distance
                return
            distance -= left
            self._index = (self._index + 1) % len(self._legs)
            self._s = 0.0

    def _distance_to_cycle_end(self) -> float:
        if not self._legs:
            return 0.0
        ahead = sum(g.length_m for g in self._legs[self._index + 1 :])
        return ahead + self._legs[self._index].length_m - self._s

    def _step_altitude(self, dt: float) -> float:
        route = self._route
        if route.profile != "aircraft":
            limit = GROUND_ALTITUDE_RATE_MPS * dt
            delta = route.altitude_meters - self._alt_base
            self._alt_base += max(-limit, min(limit, delta))
            # GPS altitude noise: a few metres, smooth, never more than ±3 m.
            self._alt_noise = max(
                -3.0, min(3.0, _ar1(self._alt_noise, self._rng, dt, 20.0, 1.2))
            )
            return self._alt_base + self._alt_noise
        floor = route.altitude_meters
        target = max(floor, route.cruise_altitude_meters)
        if self._transit is None and self._v > 0.0:
            time_to_end = self._distance_to_cycle_end() / self._v
            if time_to_end <= (self._alt_base - floor) / CLIMB_RATE_MPS + dt:
                target = floor
        limit = CLIMB_RATE_MPS * dt
        self._alt_base += max(-limit, min(limit, target - self._alt_base))
        self._alt_base = max(floor, self._alt_base)
        return self._alt_base

    def step(self, dt: float) -> RouteSample:
        """Advance ``dt`` seconds and return the new position and motion."""
        leg = self._current()
        # ≤ 1 % speed noise as a slow AR(1) factor, so the speed does not flicker.
        self._noise = max(-0.01, min(0.01, _ar1(self._noise, self._rng, dt, 60, 0.004)))
        target = leg.speed_mps * (1.0 + self._noise) if leg else 0.0
        accel = ACCELERATION_MPS2[self._route.profile]
        gap = target - self._v
        reach = abs(gap) / accel
        if reach <= dt:
            distance = (self._v + target) / 2.0 * reach + target * (dt - reach)
            self._v = target
        else:
            v_new = self._v + math.copysign(accel * dt, gap)
            distance = (self._v + v_new) / 2.0 * dt
            self._v = v_new
        self._advance(max(0.0, distance))
        altitude = self._step_altitude(dt)
        lat, lon = self.position()
        leg = self._current()
        if leg is not None and mps_to_knots(self._v) >= HOLD_HEADING_BELOW_KNOTS:
            if leg.length_m - self._s > 1.0:
                self._heading = initial_bearing_deg(lat, lon, leg.lat2, leg.lon2)
            else:  # at the very end use the leg's final bearing
                back = initial_bearing_deg(leg.lat2, leg.lon2, leg.lat1, leg.lon1)
                self._heading = (back + 180.0) % 360.0
        return RouteSample(
            latitude=lat,
            longitude=lon,
            altitude_meters=altitude,
            speed_knots=mps_to_knots(self._v),
            heading_degrees=self._heading,
        )
