"""What the fake dish serves: its sample source and its scenario switches. No I/O.

:func:`default_telemetry` is a fixed, plausible sample; :func:`engine_provider`
steps the exporter's simulation engine by real time, so the fake dish moves, drifts
and degrades like the exporter's simulation mode. :class:`DishFaults` holds the
scenario switches the server reads (when each is read: ``server``).

This module must not touch the network, build protobuf messages (``server`` and
``wire`` do) or import exporter code other than the ``Telemetry`` shape and the
simulation engine that feeds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.exporters.starlink.telemetry import Telemetry

__all__ = ["DishFaults", "default_telemetry", "engine_provider"]


@dataclass(slots=True, kw_only=True)
class DishFaults:
    """Scenario switches; ``server``'s module docstring says when each is read."""

    outage_cause: str | None = None
    refuse_location: bool = False
    missing_fields: bool = False
    no_reflection: bool = False
    silent: bool = False


def default_telemetry() -> Telemetry:
    """Return a fixed, plausible sample (a dish on a boat off Falmouth, connected)."""
    return Telemetry(
        timestamp=time.time(),
        mode="simulation",
        latitude_degrees=50.1500,
        longitude_degrees=-5.0500,
        altitude_meters=12.0,
        speed_knots=6.5,
        heading_degrees=90.0,
        latency_ms=34.5,
        throughput_down_mbps=120.0,
        throughput_up_mbps=18.0,
        packet_loss_percent=0.5,
        obstruction_percent=2.0,
        currently_obstructed=False,
        snr_above_noise_floor=True,
        uptime_seconds=86_400.0,
        state="CONNECTED",
        alerts=(),
        alerts_known=True,
        gps_valid=True,
        gps_satellites=12,
        boresight_azimuth_degrees=15.0,
        boresight_elevation_degrees=72.0,
        location_available=True,
        dish_id="ut01000000-00000000-00f4ke00",
        hardware_version="rev4_prod1",
        software_version="2026.06.22.mr81471",
    )


def engine_provider(
    config: StarlinkConfig | None = None, *, seed: int | None = None
) -> Callable[[], Telemetry]:
    """Return a provider that serves the simulation engine, stepped by real time.

    The fake dish then moves, drifts and degrades like the exporter's simulation
    mode, so live mode pointed at it sees realistic, changing values.
    """
    engine = SimulationEngine(
        config or StarlinkConfig(), seed=seed, start_wall=time.time()
    )
    last = [time.monotonic()]

    def provide() -> Telemetry:
        now = time.monotonic()
        dt, last[0] = now - last[0], now
        return engine.step(dt, time.time())

    return provide
