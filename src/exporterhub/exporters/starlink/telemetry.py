"""The Starlink exporter's one data shape: a frozen ``Telemetry`` sample.

Both sources produce it — the simulation engine and the live dish mapping — and the
collector and ``/api/status`` read only it. A field the source did not provide is
``None`` and its series is omitted; nothing here is ever filled with a made-up zero.
Pure data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = [
    "ALERTS",
    "DISH_STATES",
    "MODES",
    "AlertName",
    "DishState",
    "Mode",
    "OutageState",
    "Telemetry",
]

Mode = Literal["simulation", "live"]
"""Where samples come from."""
MODES: Final[tuple[str, ...]] = get_args(Mode)

OutageState = Literal[
    "BOOTING",
    "SEARCHING",
    "STOWED",
    "THERMAL_SHUTDOWN",
    "NO_SATS",
    "OBSTRUCTED",
    "NO_DOWNLINK",
    "NO_PINGS",
    "SLEEPING",
    "UNKNOWN",
]
"""Dish states other than CONNECTED (what an outage shows, §5.5)."""
DishState = Literal["CONNECTED", OutageState]
"""Every dish state."""
DISH_STATES: Final[tuple[str, ...]] = get_args(DishState)
"""Values of ``starlink_dish_state{state}`` (protocol notes §2.2, §5.5)."""

AlertName = Literal[
    "motors_stuck",
    "thermal_shutdown",
    "thermal_throttle",
    "unexpected_location",
    "mast_not_near_vertical",
    "slow_ethernet_speeds",
    "roaming",
    "install_pending",
    "is_heating",
    "power_supply_thermal_throttle",
    "is_power_save_idle",
    "dbf_telem_stale",
    "low_motor_current",
    "lower_signal_than_predicted",
    "slow_ethernet_speeds_100",
    "obstruction_map_reset",
    "dish_water_detected",
    "router_water_detected",
    "upsu_router_port_slow",
    "no_ethernet_link",
]
"""A known dish alert (§5.6)."""
ALERTS: Final[tuple[str, ...]] = get_args(AlertName)
"""Known dish alerts; each is exported as ``starlink_dish_alert_<name>``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Telemetry:
    """One sample of everything the exporter reports about a dish.

    Units are in the names. ``throughput_*`` is capacity in simulation and traffic
    carried in live mode (the dish reports traffic). ``alerts`` holds the names of the
    active alerts; ``alerts_known`` says whether the source reports alerts at all.
    """

    timestamp: float
    mode: Mode
    latitude_degrees: float | None = None
    longitude_degrees: float | None = None
    altitude_meters: float | None = None
    speed_knots: float | None = None
    heading_degrees: float | None = None
    latency_ms: float | None = None
    throughput_down_mbps: float | None = None
    throughput_up_mbps: float | None = None
    packet_loss_percent: float | None = None
    obstruction_percent: float | None = None
    currently_obstructed: bool | None = None
    snr_above_noise_floor: bool | None = None
    signal_quality_percent: float | None = None
    uptime_seconds: float | None = None
    state: str | None = None
    alerts: tuple[str, ...] = ()
    alerts_known: bool = False
    gps_valid: bool | None = None
    gps_satellites: int | None = None
    boresight_azimuth_degrees: float | None = None
    boresight_elevation_degrees: float | None = None
    power_watts: float | None = None
    location_available: bool | None = None
    dish_id: str | None = None
    hardware_version: str | None = None
    software_version: str | None = None
