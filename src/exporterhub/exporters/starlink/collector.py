"""The Starlink metric table; reads a ``StarlinkSnapshot`` only.

The nine names the requirement fixes keep their units (``_ms``, ``_mbps``,
``_percent``, ``_knots``) and carry no labels; the rest follow STYLE. With
``legacy_metrics`` the original backend's names its Grafana dashboards query
are served too (``LEGACY_NAMES``), from the same sample; without it they have
no series. A value the
source did not provide has no series. Throughput is capacity in simulation and
traffic carried in live mode (the dish reports traffic), as the HELP says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.starlink.state import StarlinkSnapshot
from exporterhub.exporters.starlink.telemetry import (
    ALERTS,
    DISH_STATES,
    MODES,
    Telemetry,
)

__all__ = ["LEGACY_NAMES", "PREFIX", "STARLINK_SPECS"]

PREFIX: Final = "starlink"
_REFRESH: Final = "refreshed every update interval (1 s by default)"


def _value(
    read: Callable[[Telemetry], float | bool | None],
) -> Callable[[StarlinkSnapshot], Iterable[Sample]]:
    def value_fn(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
        if snapshot.telemetry is None:
            return ()
        return one(read(snapshot.telemetry))

    return value_fn


def _gauge(
    name: str, help_text: str, read: Callable[[Telemetry], float | bool | None]
) -> MetricSpec[StarlinkSnapshot]:
    return MetricSpec(
        name=name,
        help=f"{help_text}, {_REFRESH}.",
        kind=Kind.GAUGE,
        value_fn=_value(read),
    )


def _state(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    t = snapshot.telemetry
    if t is None or t.state is None:
        return ()
    current = t.state if t.state in DISH_STATES else "UNKNOWN"
    return (((s,), 1.0 if s == current else 0.0) for s in DISH_STATES)


def _alert(name: str) -> Callable[[StarlinkSnapshot], Iterable[Sample]]:
    def value_fn(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
        t = snapshot.telemetry
        if t is None or not t.alerts_known:
            return ()
        return (((), 1.0 if name in t.alerts else 0.0),)

    return value_fn


def _info(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    t = snapshot.telemetry
    if t is None or t.dish_id is None:
        return ()
    return (((t.dish_id, t.hardware_version or "", t.software_version or ""), 1.0),)


def _mode(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    return (((m,), 1.0 if m == snapshot.mode else 0.0) for m in MODES)


def _errors(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    return (((kind,), float(count)) for kind, count in snapshot.errors)


def _loop(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    return one(snapshot.loop_seconds)


_FEET: Final = 0.3048


def _legacy(
    read: Callable[[Telemetry], float | bool | None],
) -> Callable[[StarlinkSnapshot], Iterable[Sample]]:
    value = _value(read)

    def value_fn(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
        return value(snapshot) if snapshot.legacy else ()

    return value_fn


def _legacy_gauge(
    name: str, help_text: str, read: Callable[[Telemetry], float | bool | None]
) -> MetricSpec[StarlinkSnapshot]:
    return MetricSpec(
        name=name,
        help=f"{help_text} (the original backend's name; legacy_metrics).",
        kind=Kind.GAUGE,
        value_fn=_legacy(read),
    )


def _legacy_mode(snapshot: StarlinkSnapshot) -> Iterable[Sample]:
    return _mode(snapshot) if snapshot.legacy else ()


def _feet(t: Telemetry) -> float | None:
    return None if t.altitude_meters is None else t.altitude_meters / _FEET


def _outage(t: Telemetry) -> bool | None:
    return None if t.state is None else t.state != "CONNECTED"


def _throttled(t: Telemetry) -> bool | None:
    return "thermal_throttle" in t.alerts if t.alerts_known else None


STARLINK_SPECS: Final[list[MetricSpec[StarlinkSnapshot]]] = [
    # The nine names fixed by the requirement (COMPAT), label-free.
    _gauge(
        "starlink_dish_latitude_degrees",
        "Dish latitude in degrees (WGS 84)",
        lambda t: t.latitude_degrees,
    ),
    _gauge(
        "starlink_dish_longitude_degrees",
        "Dish longitude in degrees (WGS 84)",
        lambda t: t.longitude_degrees,
    ),
    _gauge(
        "starlink_dish_altitude_meters",
        "Dish altitude in meters",
        lambda t: t.altitude_meters,
    ),
    _gauge(
        "starlink_network_latency_ms",
        "Round-trip time dish to point of presence in milliseconds "
        "(pop_ping_latency_ms)",
        lambda t: t.latency_ms,
    ),
    _gauge(
        "starlink_network_throughput_down_mbps",
        "Downlink in megabits per second: capacity in simulation, traffic carried "
        "in live mode (downlink_throughput_bps)",
        lambda t: t.throughput_down_mbps,
    ),
    _gauge(
        "starlink_network_throughput_up_mbps",
        "Uplink in megabits per second: capacity in simulation, traffic carried in "
        "live mode (uplink_throughput_bps)",
        lambda t: t.throughput_up_mbps,
    ),
    _gauge(
        "starlink_dish_obstruction_percent",
        "Share of the sky view obstructed in percent (fraction_obstructed x 100)",
        lambda t: t.obstruction_percent,
    ),
    _gauge(
        "starlink_dish_speed_knots", "Ground speed in knots", lambda t: t.speed_knots
    ),
    _gauge(
        "starlink_dish_heading_degrees",
        "Direction of travel in degrees true (0 = north), derived from positions",
        lambda t: t.heading_degrees,
    ),
    # The requirement's extra values, in the same unit style.
    _gauge(
        "starlink_network_packet_loss_percent",
        "PoP pings lost in percent (pop_ping_drop_rate x 100)",
        lambda t: t.packet_loss_percent,
    ),
    _gauge(
        "starlink_dish_uptime_seconds",
        "Seconds since the dish booted",
        lambda t: t.uptime_seconds,
    ),
    _gauge(
        "starlink_signal_quality_percent",
        "Derived signal quality score in percent (the dish reports no SNR value)",
        lambda t: t.signal_quality_percent,
    ),
    _gauge(
        "starlink_dish_snr_above_noise_floor",
        "1 when the signal is above the noise floor (is_snr_above_noise_floor)",
        lambda t: t.snr_above_noise_floor,
    ),
    _gauge(
        "starlink_dish_currently_obstructed",
        "1 while the dish is obstructed (currently_obstructed)",
        lambda t: t.currently_obstructed,
    ),
    _gauge(
        "starlink_dish_gps_valid",
        "1 when the dish has a valid GPS fix",
        lambda t: t.gps_valid,
    ),
    _gauge(
        "starlink_dish_gps_satellites",
        "GPS satellites the dish sees",
        lambda t: t.gps_satellites,
    ),
    _gauge(
        "starlink_dish_boresight_azimuth_degrees",
        "Where the antenna points, azimuth in degrees (not the vehicle heading)",
        lambda t: t.boresight_azimuth_degrees,
    ),
    _gauge(
        "starlink_dish_boresight_elevation_degrees",
        "Where the antenna points, elevation in degrees",
        lambda t: t.boresight_elevation_degrees,
    ),
    _gauge(
        "starlink_dish_power_watts",
        "Power drawn by the dish in watts",
        lambda t: t.power_watts,
    ),
    _gauge(
        "starlink_dish_location_available",
        "1 when the dish shares its location (get_location permitted)",
        lambda t: t.location_available,
    ),
    MetricSpec(
        name="starlink_dish_state",
        help="Dish state from its outage cause: 1 for the current state, else 0.",
        kind=Kind.GAUGE,
        labels=("state",),
        value_fn=_state,
    ),
    *(
        MetricSpec(
            name=f"starlink_dish_alert_{name}",
            help=f"1 while the dish raises the {name} alert, else 0.",
            kind=Kind.GAUGE,
            value_fn=_alert(name),
        )
        for name in ALERTS
    ),
    MetricSpec(
        name="starlink_dish_info",
        help="Dish identity and versions (device_info); always 1.",
        kind=Kind.INFO,
        labels=("id", "hardware_version", "software_version"),
        value_fn=_info,
        keep_when_stale=True,
    ),
    # Exporter self-metrics (protocol notes §2.3).
    MetricSpec(
        name="starlink_exporter_mode",
        help="Where the values come from: 1 for the current mode, else 0.",
        kind=Kind.GAUGE,
        labels=("mode",),
        value_fn=_mode,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="starlink_exporter_poll_errors_total",
        help="Failed simulation steps or dish polls, by short reason.",
        kind=Kind.COUNTER,
        labels=("error",),
        value_fn=_errors,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="starlink_exporter_poll_duration_seconds",
        help="Duration of the last simulation step or dish poll in seconds.",
        kind=Kind.GAUGE,
        value_fn=_loop,
    ),
    # The original backend's names (legacy_metrics: true), same sample.
    _legacy_gauge(
        "starlink_network_latency_ms_current",
        "Round-trip time dish to point of presence in milliseconds, as "
        "starlink_network_latency_ms",
        lambda t: t.latency_ms,
    ),
    _legacy_gauge(
        "starlink_network_throughput_down_mbps_current",
        "Downlink in megabits per second, as starlink_network_throughput_down_mbps",
        lambda t: t.throughput_down_mbps,
    ),
    _legacy_gauge(
        "starlink_network_throughput_up_mbps_current",
        "Uplink in megabits per second, as starlink_network_throughput_up_mbps",
        lambda t: t.throughput_up_mbps,
    ),
    _legacy_gauge(
        "starlink_dish_altitude_feet",
        "Dish altitude in feet, starlink_dish_altitude_meters / 0.3048",
        _feet,
    ),
    _legacy_gauge(
        "starlink_dish_outage_active",
        "1 while the dish state is not CONNECTED, else 0",
        _outage,
    ),
    _legacy_gauge(
        "starlink_dish_thermal_throttle",
        "1 while the dish raises thermal_throttle, else 0",
        _throttled,
    ),
    MetricSpec(
        name="starlink_mode_info",
        help="Where the values come from: 1 for the current mode, else 0, as "
        "starlink_exporter_mode (the original backend's name; legacy_metrics).",
        kind=Kind.GAUGE,
        labels=("mode",),
        value_fn=_legacy_mode,
        keep_when_stale=True,
    ),
]
"""The Starlink section's metric table, in output order."""

LEGACY_NAMES: Final = tuple(
    spec.name for spec in STARLINK_SPECS if spec.help.endswith("legacy_metrics).")
)
"""The original backend's metric names served with ``legacy_metrics: true``."""
