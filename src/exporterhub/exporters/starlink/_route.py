"""Vehicle motion along the configured route (protocol notes §3.2).

A route is a cycle of great-circle legs. Each step moves the speed toward the
leg's target under the profile's acceleration limit, advances ``s`` by the
distance actually covered in ``dt`` (carrying the remainder over as many legs as
it takes), and reports the bearing from the current point to the leg's end, so
position, speed and heading always agree.

Turns are rate-limited (``TURN_RATE_DEG_S``): a gentle turn (at most one
second's worth at the turn rate, e.g. the vertices of a circle) caps the speed
of the legs around it so the average turn rate stays within the limit; a sharper
one (a corner, a U-turn at the end of an out-and-back) is driven as: brake to a
stop at the waypoint under the acceleration limit, turn on the spot at the turn
rate, accelerate away. The heading never jumps by more than one second's turn,
and while moving it is always the bearing of travel. One step runs at most
``MAX_PHASES`` such phases (drive, brake, turn); an absurdly long ``dt`` is cut
short there. Pure; randomness from the injected ``random.Random``; no clock,
no I/O.
"""

from __future__ import annotations

import bisect
import itertools
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
from exporterhub.exporters.starlink.route_settings import RouteSettings

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
TURN_RATE_DEG_S: Final = {"ground": 3.0, "ship": 3.0, "aircraft": 1.5}
"""Largest heading change per second, degrees (per profile)."""
MAX_PHASES: Final = 12
"""Drive/brake/turn phases one step may run through."""
_EPS: Final = 1e-9
WALK_LEGS: Final = 4
"""Legs walked one by one per step before a binary search over the cumulative
lengths takes over, so a step costs O(1) (O(log n) at worst) in the leg count."""


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
        # Vertices at most 1.5 degrees apart: gentle turns, never a stop.
        count = min(720, max(240, count))
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
    if route.pattern == "random_walk":
        return _random_walk(route)
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


def _random_walk(route: RouteSettings) -> list[tuple[float, float, float]]:
    """Return a wandering loop inside the circle around the centre.

    Each leg is a fifth of the radius long and turns at most 35 degrees from the
    previous one; a step that would leave the circle turns back toward the centre.
    Seeded by ``walk_seed``, so a configuration always gives the same route.
    """
    rng = random.Random(route.walk_seed)
    centre = (route.center_latitude, route.center_longitude)
    leg = route.radius_meters / 5
    point = centre
    heading = rng.uniform(0.0, 360.0)
    points = [(*point, route.speed_knots)]
    for _ in range(route.walk_steps - 1):
        heading = (heading + rng.uniform(-35.0, 35.0)) % 360.0
        candidate = destination(*point, heading, leg)
        if haversine_m(*centre, *candidate) > route.radius_meters:
            heading = initial_bearing_deg(*point, *centre)
            candidate = destination(*point, heading, leg)
        point = candidate
        points.append((*point, route.speed_knots))
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


def _start(leg: Leg) -> tuple[float, float, float, float]:
    return (leg.lat1, leg.lon1, leg.lat2, leg.lon2)


def _cumulative(legs: list[Leg]) -> list[float]:
    """Return the distance from the cycle start to each leg start, plus the total."""
    return [0.0, *itertools.accumulate(g.length_m for g in legs)]


def _final_bearing(leg: Leg) -> float:
    return (initial_bearing_deg(leg.lat2, leg.lon2, leg.lat1, leg.lon1) + 180.0) % 360.0


def _signed(angle: float) -> float:
    """Wrap ``angle`` degrees into (-180, 180]."""
    wrapped = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 else wrapped


def _ar1(value: float, rng: random.Random, dt: float, tau: float, sd: float) -> float:
    """Advance a zero-mean AR(1)/OU value with time constant ``tau`` seconds."""
    phi = math.exp(-dt / tau)
    return value * phi + sd * math.sqrt(1.0 - phi * phi) * rng.gauss(0.0, 1.0)


class RouteModel:
    """Position, speed, heading and altitude of the simulated vehicle."""

    def __init__(self, route: RouteSettings, rng: random.Random) -> None:
        self._rng = rng
        self.legs_visited = 0
        """Legs examined by the latest step (bounded, whatever the route length)."""
        self._begin(route)

    def _begin(self, route: RouteSettings) -> None:
        """Put the vehicle at the start of ``route``, heading along its first leg."""
        self._route = route
        self._legs, start = build_legs(route)
        self._cum = _cumulative(self._legs)
        self._turn: list[float] = []
        self._cap: list[float] = []
        self._stops: list[int] = []
        self._prepare()
        self._pivot: float | None = None
        self._index = 0
        self._s = 0.0
        self._point = start
        first = self._legs[0] if self._legs else None
        self._v = min(first.speed_mps, self._cap[0]) if first else 0.0
        self._heading = (
            initial_bearing_deg(first.lat1, first.lon1, first.lat2, first.lon2)
            if first
            else 0.0
        )
        self._noise = 0.0
        self._alt_base = route.altitude_meters
        self._alt_noise = 0.0

    def _prepare(self) -> None:
        """Precompute each leg's end turn, speed cap and the legs ending in a stop."""
        legs, count = self._legs, len(self._legs)
        rate = TURN_RATE_DEG_S[self._route.profile]
        self._turn = [
            _signed(
                initial_bearing_deg(*_start(legs[(i + 1) % count]))
                - _final_bearing(legs[i])
            )
            for i in range(count)
        ]
        self._cap = [math.inf] * count
        self._stops = []
        for i, turn in enumerate(self._turn):
            if abs(turn) > rate:
                self._stops.append(i)
            elif abs(turn) > _EPS:
                # Average turn rate over the shorter neighbouring leg <= 90 %
                # of the limit (headroom for the speed noise).
                j = (i + 1) % count
                shorter = min(legs[i].length_m, legs[j].length_m)
                cap = 0.9 * rate * shorter / abs(turn)
                self._cap[i] = min(self._cap[i], cap)
                self._cap[j] = min(self._cap[j], cap)

    def _to_stop(self) -> float:
        """Return the distance to the next waypoint where the vehicle must stop."""
        if not self._stops:
            return math.inf
        cum, stops = self._cum, self._stops
        k = bisect.bisect_left(stops, self._index)
        here = cum[self._index] + self._s
        if k < len(stops):
            return cum[stops[k] + 1] - here
        return cum[-1] - here + cum[stops[0] + 1]

    def _current(self) -> Leg | None:
        return self._legs[self._index] if self._legs else None

    def position(self) -> tuple[float, float]:
        """Return the current (latitude, longitude) in degrees."""
        leg = self._current()
        if leg is None:
            return self._point
        return interpolate(
            leg.lat1, leg.lon1, leg.lat2, leg.lon2, self._s / leg.length_m
        )

    def apply(self, route: RouteSettings) -> bool:
        """Use ``route`` from the next step on; return whether the vehicle moved.

        Same geometry (only speeds, profile or altitude differ): keep the place
        on the route, speed and heading. New geometry (start position,
        waypoints, pattern, radius …): the vehicle is at the start of the new
        route at once, as after a restart with it. Driving there instead could
        take days (a route moved 16,000 km) while the metrics showed a place on
        neither route.
        """
        if route == self._route:
            return False
        legs, _ = build_legs(route)
        old = [_start(g) for g in self._legs]
        if old != [_start(g) for g in legs] or not legs:
            self._begin(route)
            return True
        self._route = route
        self._legs = legs
        self._cum = _cumulative(legs)
        self._prepare()
        return False

    def _advance(self, distance: float) -> None:
        if not self._legs:
            return
        cum, count = self._cum, len(self._legs)
        cycle = cum[-1]
        if distance < cycle:  # short step: walk a few legs
            for _ in range(WALK_LEGS):
                self.legs_visited += 1
                left = self._legs[self._index].length_m - self._s
                if distance < left:
                    self._s += distance
                    return
                distance -= left
                self._index = (self._index + 1) % count
                self._s = 0.0
        # Long step: whole laps end where they began; find the leg by bisection.
        target = (cum[self._index] + self._s + distance) % cycle
        index = min(count - 1, max(0, bisect.bisect_right(cum, target) - 1))
        self.legs_visited += max(1, math.ceil(math.log2(count + 1)))
        self._index = index
        self._s = min(target - cum[index], self._legs[index].length_m)

    def _distance_to_cycle_end(self) -> float:
        if not self._legs:
            return 0.0
        return self._cum[-1] - self._cum[self._index] - self._s

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
        if self._v > 0.0:
            time_to_end = self._distance_to_cycle_end() / self._v
            if time_to_end <= (self._alt_base - floor) / CLIMB_RATE_MPS + dt:
                target = floor
        limit = CLIMB_RATE_MPS * dt
        self._alt_base += max(-limit, min(limit, target - self._alt_base))
        self._alt_base = max(floor, self._alt_base)
        return self._alt_base

    def _target(self) -> float:
        leg = self._current()
        if leg is None:
            return 0.0
        cap = self._cap[self._index]
        return min(leg.speed_mps * (1.0 + self._noise), cap)

    def _accelerate(self, target: float, t: float) -> float:
        """Move toward ``target`` speed for ``t`` s; return the distance covered."""
        accel = ACCELERATION_MPS2[self._route.profile]
        gap = target - self._v
        reach = abs(gap) / accel
        if reach <= t:
            distance = (self._v + target) / 2.0 * reach + target * (t - reach)
            self._v = target
        else:
            v_new = self._v + math.copysign(accel * t, gap)
            distance = (self._v + v_new) / 2.0 * t
            self._v = v_new
        return max(0.0, distance)

    def _drive(self, t: float) -> float:
        """Drive for up to ``t`` s; return the time left on reaching a stop."""
        accel = ACCELERATION_MPS2[self._route.profile]
        target, v = self._target(), self._v
        stop = self._to_stop()
        fast = max(v, target)
        if stop - fast * t >= fast * fast / (2.0 * accel):  # no need to brake yet
            self._advance(self._accelerate(target, t))
            return 0.0
        peak = math.sqrt(accel * stop + v * v / 2.0)  # accelerate, then brake
        if v < min(peak, target) - _EPS:
            goal = min(peak, target)
            used = min(t, (goal - v) / accel)
            self._advance(self._accelerate(goal, used))
            return t - used
        brake = v * v / (2.0 * accel)
        if stop > brake + _EPS and v > _EPS:  # cruise up to the braking point
            used = min(t, (stop - brake) / v)
            self._advance(v * used)
            return t - used
        if stop <= _EPS or v <= _EPS:
            return self._arrive(t)
        decel = min(accel, v * v / (2.0 * stop))
        t_stop = v / decel
        if t_stop <= t:
            return self._arrive(t - t_stop)
        v_new = v - decel * t
        self._advance((v + v_new) / 2.0 * t)
        self._v = v_new
        return 0.0

    def _arrive(self, left: float) -> float:
        """Stop at the next stop waypoint and start turning there; return ``left``."""
        stops = self._stops
        index = stops[bisect.bisect_left(stops, self._index) % len(stops)]
        self.legs_visited += 1
        self._index = index
        self._s = self._legs[index].length_m
        self._v = 0.0
        self._pivot = self._turn[index]
        self._heading = _final_bearing(self._legs[index])
        return left

    def _turn_on_spot(self, t: float) -> float:
        """Turn at the profile's rate for up to ``t`` s; return the time left."""
        pivot = self._pivot or 0.0
        rate = TURN_RATE_DEG_S[self._route.profile]
        need = abs(pivot) / rate
        if need > t:
            turn = math.copysign(rate * t, pivot)
            self._heading = (self._heading + turn) % 360.0
            self._pivot = pivot - turn
            return 0.0
        self._pivot = None
        self._index = (self._index + 1) % len(self._legs)
        self._s = 0.0
        self._heading = initial_bearing_deg(*_start(self._legs[self._index]))
        return t - need

    def step(self, dt: float) -> RouteSample:
        """Advance ``dt`` seconds and return the new position and motion."""
        self.legs_visited = 0
        # ≤ 1 % speed noise as a slow AR(1) factor, so the speed does not flicker.
        self._noise = max(-0.01, min(0.01, _ar1(self._noise, self._rng, dt, 60, 0.004)))
        left = dt
        for _ in range(MAX_PHASES):
            if left <= 0.0:
                break
            left = self._turn_on_spot(left) if self._pivot is not None else left
            if left > 0.0:
                left = self._drive(left)
        altitude = self._step_altitude(dt)
        lat, lon = self.position()
        leg = self._current()
        moving = mps_to_knots(self._v) >= HOLD_HEADING_BELOW_KNOTS
        # While turning on the spot the turn itself has set the heading.
        if self._pivot is None and leg is not None and moving:
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
