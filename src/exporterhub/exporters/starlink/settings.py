"""Configuration model of the Starlink exporter (protocol notes §4).

Every section is a frozen pydantic model that rejects unknown keys. Cross-field
rules (``min <= typical <= max``, ``spike_max >= max``, two waypoints for the
``waypoints`` pattern) are field validators on the *later* field, so each error's
location is the dotted key a user has to fix (``network.latency_typical_ms``).
The same model backs ``config.yaml`` and ``/api/config``: ``model_dump(mode="json")``
is exactly what an update accepts. This module reads the config file and nothing
else; it starts nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from exporterhub.core.config import read_yaml, validate_model
from exporterhub.exporters.starlink.geo import EARTH_RADIUS_M, haversine_m
from exporterhub.exporters.starlink.telemetry import ALERTS, DISH_STATES

__all__ = [
    "DEFAULT_DISH_ADDRESS",
    "MAX_EVENTS",
    "MAX_LEG_DEGREES",
    "MAX_SEED",
    "MAX_WAYPOINTS",
    "LiveSettings",
    "NetworkSettings",
    "ObstructionSettings",
    "RouteSettings",
    "ScenarioEvent",
    "ScenarioSettings",
    "StarlinkConfig",
    "Waypoint",
    "WeatherSettings",
    "changed_keys",
    "field_errors",
    "load_config",
    "merge_update",
]

DEFAULT_DISH_ADDRESS: Final = "192.168.100.1:9200"
MAX_WAYPOINTS: Final = 10_000
"""Most waypoints a route may list."""
MAX_EVENTS: Final = 10_000
"""Most events a scenario timeline may list."""
MAX_LEG_DEGREES: Final = 179.0
"""Largest central angle between consecutive waypoints: a (nearly) antipodal leg
has no well-defined great circle."""
MAX_SEED: Final = 2**63 - 1

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _not_below(info: ValidationInfo, value: float, *names: str) -> None:
    """Raise when ``value`` is below any already-validated field in ``names``."""
    for name in names:
        other = info.data.get(name)
        if other is not None and value < other:
            raise ValueError(f"must be >= {name} ({other})")


class Waypoint(BaseModel):
    """One route point.

    Attributes:
        latitude: degrees, WGS 84, -90..90.
        longitude: degrees, -180..180.
        altitude_meters: unused by the simulation yet (the route altitude applies).
        speed_knots: target speed on the leg that starts here, > 0; route speed
            if unset.
    """

    model_config = _FROZEN

    latitude: float = Field(ge=-90.0, le=90.0)
    longitude: float = Field(ge=-180.0, le=180.0)
    altitude_meters: float | None = Field(default=None, ge=-500.0, le=20_000.0)
    speed_knots: float | None = Field(default=None, gt=0.0, le=2000.0, strict=True)


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
        radius_meters: circle radius, metres.
        direction: circle direction seen from above.
        start_latitude: straight pattern start, degrees.
        start_longitude: straight pattern start, degrees.
        bearing_degrees: straight pattern initial bearing, degrees true.
        length_meters: straight pattern length; the vehicle turns round at the end.
        speed_knots: target ground speed, knots.
        altitude_meters: ground/sea altitude, and the aircraft's minimum, metres.
        cruise_altitude_meters: aircraft profile cruise altitude, metres.
        profile: acceleration limits (ground 0.5, ship 0.05, aircraft 1.5 m/s²)
            and altitude behaviour.
        walk_seed: random walk: which walk (the same seed, the same route).
        walk_steps: random walk: how many legs before the walk closes its loop.
    """

    model_config = _FROZEN

    pattern: Literal["waypoints", "circle", "straight", "random_walk"] = "waypoints"
    loop: bool = True
    waypoints: tuple[Waypoint, ...] = Field(
        default=_DEFAULT_WAYPOINTS, max_length=MAX_WAYPOINTS
    )
    center_latitude: float = Field(default=40.7128, ge=-90.0, le=90.0)
    center_longitude: float = Field(default=-74.0060, ge=-180.0, le=180.0)
    radius_meters: float = Field(default=2000.0, gt=0.0, le=5_000_000.0)
    direction: Literal["clockwise", "anticlockwise"] = "clockwise"
    start_latitude: float = Field(default=40.7128, ge=-90.0, le=90.0)
    start_longitude: float = Field(default=-74.0060, ge=-180.0, le=180.0)
    bearing_degrees: float = Field(default=90.0, ge=0.0, lt=360.0)
    length_meters: float = Field(default=50_000.0, gt=0.0, le=19_000_000.0)
    speed_knots: float = Field(default=45.0, ge=0.0, le=2000.0, strict=True)
    altitude_meters: float = Field(default=120.0, ge=-500.0, le=20_000.0)
    cruise_altitude_meters: float = Field(default=10_500.0, ge=0.0, le=20_000.0)
    profile: Literal["ground", "ship", "aircraft"] = "ground"
    walk_seed: int = Field(default=0, ge=0, le=2**31 - 1, strict=True)
    walk_steps: int = Field(default=400, ge=3, le=MAX_WAYPOINTS, strict=True)

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
        _not_below(info, value, "altitude_meters")
        return value


class NetworkSettings(BaseModel):
    """Ranges of the simulated link (protocol notes §3.3, §3.4, §3.6).

    Latency in milliseconds RTT dish→PoP; throughput is available capacity in
    Mbit/s; packet loss in percent; probabilities per second.

    Attributes:
        latency_min_ms: floor of the non-spike latency.
        latency_typical_ms: baseline the latency reverts to.
        latency_max_ms: ceiling of the non-spike latency.
        latency_spike_max_ms: ceiling of rare spikes (drawn in [max, spike_max]).
        spike_probability: chance per second that a 1-3 s spike starts.
        handover_interval_seconds: seconds between satellite handovers.
        throughput_down_min_mbps: downlink capacity floor before degradation.
        throughput_down_max_mbps: downlink capacity ceiling.
        throughput_up_min_mbps: uplink capacity floor before degradation.
        throughput_up_max_mbps: uplink capacity ceiling.
        packet_loss_min_percent: baseline loss floor.
        packet_loss_typical_percent: baseline loss the process reverts to.
        packet_loss_max_percent: baseline loss ceiling (bursts go above it).
        diurnal_congestion: apply the evening congestion bump (§3.6).
    """

    model_config = _FROZEN

    latency_min_ms: float = Field(default=20.0, gt=0.0, le=10_000.0)
    latency_typical_ms: float = Field(default=35.0, gt=0.0, le=10_000.0)
    latency_max_ms: float = Field(default=80.0, gt=0.0, le=10_000.0)
    latency_spike_max_ms: float = Field(default=250.0, gt=0.0, le=60_000.0)
    spike_probability: float = Field(default=0.02, ge=0.0, le=1.0)
    handover_interval_seconds: float = Field(default=15.0, gt=0.0, le=3600.0)
    throughput_down_min_mbps: float = Field(default=50.0, ge=0.0, le=100_000.0)
    throughput_down_max_mbps: float = Field(default=200.0, ge=0.0, le=100_000.0)
    throughput_up_min_mbps: float = Field(default=10.0, ge=0.0, le=100_000.0)
    throughput_up_max_mbps: float = Field(default=40.0, ge=0.0, le=100_000.0)
    packet_loss_min_percent: float = Field(default=0.0, ge=0.0, le=100.0)
    packet_loss_typical_percent: float = Field(default=0.5, ge=0.0, le=100.0)
    packet_loss_max_percent: float = Field(default=5.0, ge=0.0, le=100.0)
    diurnal_congestion: bool = True

    @field_validator("latency_typical_ms")
    @classmethod
    def _latency_typical(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "latency_min_ms")
        return value

    @field_validator("latency_max_ms")
    @classmethod
    def _latency_max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "latency_min_ms", "latency_typical_ms")
        return value

    @field_validator("latency_spike_max_ms")
    @classmethod
    def _spike_max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "latency_max_ms")
        return value

    @field_validator("throughput_down_max_mbps")
    @classmethod
    def _down_max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "throughput_down_min_mbps")
        return value

    @field_validator("throughput_up_max_mbps")
    @classmethod
    def _up_max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "throughput_up_min_mbps")
        return value

    @field_validator("packet_loss_typical_percent")
    @classmethod
    def _loss_typical(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "packet_loss_min_percent")
        return value

    @field_validator("packet_loss_max_percent")
    @classmethod
    def _loss_max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(
            info, value, "packet_loss_min_percent", "packet_loss_typical_percent"
        )
        return value


class ObstructionSettings(BaseModel):
    """Fraction of sky obstructed and obstruction events (protocol notes §3.5).

    Attributes:
        min_percent: floor of the obstructed fraction, percent.
        typical_percent: level the slow drift reverts to, percent.
        max_percent: ceiling of the obstructed fraction, percent.
        sway_period_seconds: period of the "trees swaying" sinusoid, seconds.
        sway_amplitude_percent: sway amplitude at full wind, percentage points.
        wind_level: 0 (calm) .. 1 (stormy); scales the sway.
        event_rate_per_second: rate of "currently obstructed" events at 100 %
            obstruction; the actual rate is fraction x this (events last 1-5 s).
    """

    model_config = _FROZEN

    min_percent: float = Field(default=0.0, ge=0.0, le=100.0)
    typical_percent: float = Field(default=3.0, ge=0.0, le=100.0)
    max_percent: float = Field(default=10.0, ge=0.0, le=100.0)
    sway_period_seconds: float = Field(default=20.0, gt=0.0, le=86_400.0)
    sway_amplitude_percent: float = Field(default=2.0, ge=0.0, le=100.0)
    wind_level: float = Field(default=0.5, ge=0.0, le=1.0)
    event_rate_per_second: float = Field(default=0.05, ge=0.0, le=1.0)

    @field_validator("typical_percent")
    @classmethod
    def _typical(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "min_percent")
        return value

    @field_validator("max_percent")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, value, "min_percent", "typical_percent")
        return value


class WeatherSettings(BaseModel):
    """Standing weather at the dish (protocol notes §3.7).

    Attributes:
        condition: ``clear``, ``rain`` (fade) or ``snow`` (heater on, more power).
        rain_fade_factor: throughput multiplier while raining, 0..1.
        rain_extra_loss_percent: packet loss added while raining, percent.
        rain_extra_latency_ms: latency added while raining, milliseconds.
    """

    model_config = _FROZEN

    condition: Literal["clear", "rain", "snow"] = "clear"
    rain_fade_factor: float = Field(default=0.7, ge=0.0, le=1.0)
    rain_extra_loss_percent: float = Field(default=2.0, ge=0.0, le=100.0)
    rain_extra_latency_ms: float = Field(default=5.0, ge=0.0, le=10_000.0)


EventKind = Literal[
    "obstruction", "outage", "reboot", "rain", "snow", "thermal_throttle",
    "congestion", "alert",
]  # fmt: skip


class ScenarioEvent(BaseModel):
    """One timed event on the scenario clock (seconds since the scenario began).

    Attributes:
        at_seconds: start, seconds on the scenario clock.
        event: what happens (see ``EventKind``).
        duration_seconds: how long; ``None`` = until the scenario changes.
            Ignored by ``reboot`` (its phases have their own durations).
        intensity: ``obstruction``: sky fraction obstructed (0..1) to move to;
            ``congestion``: congestion added (0..1).
        cause: ``outage`` only: the dish state shown (not CONNECTED).
        alert: ``alert`` only: which alert to raise.
    """

    model_config = _FROZEN

    at_seconds: float = Field(default=0.0, ge=0.0)
    event: EventKind
    duration_seconds: float | None = Field(default=None, gt=0.0)
    intensity: float = Field(default=1.0, ge=0.0, le=1.0)
    cause: str = "SEARCHING"
    alert: str | None = Field(default=None, validate_default=True)

    @field_validator("cause")
    @classmethod
    def _cause(cls, value: str) -> str:
        if value not in DISH_STATES or value == "CONNECTED":
            raise ValueError("must be a dish state other than CONNECTED")
        return value

    @field_validator("alert")
    @classmethod
    def _alert(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("event") == "alert":
                raise ValueError("an alert event needs the alert to raise")
            return value
        if value not in ALERTS:
            raise ValueError("unknown alert name")
        return value


class ScenarioSettings(BaseModel):
    """A named degradation scenario or a custom event timeline (notes §3.8).

    Attributes:
        name: ``normal`` (no events), ``degraded`` (heavy obstruction and
            congestion), ``outage`` (short SEARCHING/OBSTRUCTED outages),
            ``reboot``, ``rain_fade``, ``thermal_throttle`` or ``custom``.
        events: the timeline (at most ``MAX_EVENTS``); added to the named
            scenario's own events.
        repeat_seconds: replay the timeline with this period, seconds (>= 1).
    """

    model_config = _FROZEN

    name: Literal[
        "normal", "degraded", "outage", "reboot", "rain_fade", "thermal_throttle",
        "custom",
    ] = "normal"  # fmt: skip
    events: tuple[ScenarioEvent, ...] = Field(default=(), max_length=MAX_EVENTS)
    repeat_seconds: float | None = Field(default=None, ge=1.0)


class LiveSettings(BaseModel):
    """How live mode reaches the dish.

    Attributes:
        dish_address: ``host:port`` of the dish gRPC API.
        timeout_seconds: per-call timeout, seconds.
        location_interval_seconds: seconds between ``get_location`` reads, while
            ``get_status`` is read on every pass (``update_interval_seconds``).
            The location is read on the first pass of a new client (start, a
            changed ``live`` section, a mode switch) and on the first good pass
            after a failed one; passes in between publish the position of the
            last read (absent after a refusal), never a position derived from it.
    """

    model_config = _FROZEN

    dish_address: str = Field(default=DEFAULT_DISH_ADDRESS, min_length=3)
    timeout_seconds: float = Field(default=2.0, gt=0.0, le=300.0)
    location_interval_seconds: float = Field(default=5.0, gt=0.0, le=3600.0)

    @field_validator("dish_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port")
        return value


class StarlinkConfig(BaseModel):
    """The whole Starlink exporter configuration (``config.yaml``, ``/api/config``).

    Attributes:
        mode: ``simulation`` (default) or ``live``.
        update_interval_seconds: seconds between simulation steps / dish polls,
            0.1..3600.
        seed: makes a simulation run reproducible, 0..2**63-1; ``None`` = random.
            Changing it re-seeds the running simulation.
        route: see ``RouteSettings``.
        network: see ``NetworkSettings``.
        obstruction: see ``ObstructionSettings``.
        weather: optional standing weather.
        scenario: optional degradation scenario; ``None`` = normal.
        live: see ``LiveSettings``.
    """

    model_config = _FROZEN

    mode: Literal["simulation", "live"] = "simulation"
    update_interval_seconds: float = Field(default=1.0, ge=0.1, le=3600.0, strict=True)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, strict=True)
    route: RouteSettings = RouteSettings()
    network: NetworkSettings = NetworkSettings()
    obstruction: ObstructionSettings = ObstructionSettings()
    weather: WeatherSettings | None = None
    scenario: ScenarioSettings | None = None
    live: LiveSettings = LiveSettings()


def load_config(path: Path) -> tuple[StarlinkConfig, bool]:
    """Load ``path`` over the defaults.

    Returns:
        The configuration and whether the file existed (a missing file means
        defaults; the caller logs it).

    Raises:
        ConfigError: unreadable or invalid file; one line naming it and the key.
    """
    if not path.exists():
        return StarlinkConfig(), False
    data = read_yaml(path)
    return validate_model(StarlinkConfig, data, source=str(path)), True


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def merge_update(current: StarlinkConfig, update: Mapping[str, Any]) -> StarlinkConfig:
    """Deep-merge a partial update into ``current`` and validate the result.

    Mappings merge key by key; lists (waypoints, events) and scalars replace.

    Raises:
        pydantic.ValidationError: the merged configuration is invalid.
    """
    return StarlinkConfig.model_validate(
        _deep_merge(current.model_dump(mode="json"), update)
    )


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Return each problem as ``{"field": "network.latency_min_ms", "message": …}``."""
    errors = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors


def _flatten(data: object, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def changed_keys(old: StarlinkConfig, new: StarlinkConfig) -> list[str]:
    """Return the sorted dotted keys whose values differ (lists compare whole).

    A section that appears or disappears (``weather: null`` → a mapping) is named
    once, not key by key.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flatten(old.model_dump(mode="json"), "", before)
    _flatten(new.model_dump(mode="json"), "", after)
    missing = object()
    changed = {
        key
        for key in before.keys() | after.keys()
        if before.get(key, missing) != after.get(key, missing)
    }
    return sorted(
        key
        for key in changed
        if not any(key.startswith(other + ".") for other in changed)
    )
