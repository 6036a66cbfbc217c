"""The ``/api/status`` document: its models and how a sample fills them.

Readable field names with units in them (protocol notes §1) and an ISO 8601
timestamp with an explicit offset. The original backend's names are served
too, beside ours (``position.latitude`` … ``heading``, and its
``environmental`` section), so clients written for it keep working.

``available`` follows the rule ``/metrics`` uses for its value series: the
newest good sample is within the target's max age. Without such a sample
(none yet, or a dish that stopped answering) the document is only
``{"timestamp", "mode", "available": false, "age_seconds", "error"}`` — the
time of the last good sample (null before one), seconds since it, and the
short kind of the last failure — never old values shown as current. With one,
every section is present and a value the source did not give is ``null``,
never a made-up zero. The models are what the served OpenAPI document
describes, and ``status_document`` builds the answer from them, so the two
cannot drift.

Pure: no I/O, no clock; it reads the ``Telemetry`` it is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from exporterhub.exporters.starlink.telemetry import Mode, Telemetry

__all__ = [
    "DishStatus",
    "EnvironmentalStatus",
    "NetworkStatus",
    "ObstructionStatus",
    "PositionStatus",
    "StatusDocument",
    "status_document",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class PositionStatus(BaseModel):
    """Where the dish is and how it moves; ``null`` where the source has no fix."""

    model_config = _STRICT

    latitude_degrees: float | None = Field(description="WGS 84 latitude, degrees.")
    longitude_degrees: float | None = Field(description="Longitude, degrees.")
    altitude_meters: float | None = Field(description="Altitude, metres.")
    speed_knots: float | None = Field(description="Ground speed, knots.")
    heading_degrees: float | None = Field(description="Heading, degrees true.")
    location_available: bool | None = Field(
        description="Whether the source reports a position at all."
    )
    latitude: float | None = Field(
        description="latitude_degrees under the original backend's name."
    )
    longitude: float | None = Field(
        description="longitude_degrees under the original backend's name."
    )
    altitude: float | None = Field(
        description="altitude_meters under the original backend's name."
    )
    speed: float | None = Field(
        description="speed_knots under the original backend's name."
    )
    heading: float | None = Field(
        description="heading_degrees under the original backend's name."
    )


class NetworkStatus(BaseModel):
    """The link: latency, throughput and packet loss."""

    model_config = _STRICT

    latency_ms: float | None = Field(description="RTT dish to PoP, milliseconds.")
    throughput_down_mbps: float | None = Field(
        description="Downlink, Mbit/s: capacity in simulation, traffic live."
    )
    throughput_up_mbps: float | None = Field(
        description="Uplink, Mbit/s: capacity in simulation, traffic live."
    )
    packet_loss_percent: float | None = Field(description="Packet loss, percent.")


class ObstructionStatus(BaseModel):
    """How much of the sky is blocked and whether it is blocked right now."""

    model_config = _STRICT

    obstruction_percent: float | None = Field(
        description="Fraction of the sky obstructed, percent."
    )
    currently_obstructed: bool | None = Field(
        description="An obstruction interrupts the link right now."
    )


class DishStatus(BaseModel):
    """The dish itself: state, uptime, signal, alerts, GPS, power, identity."""

    model_config = _STRICT

    state: str | None = Field(description="Dish state, e.g. CONNECTED, SEARCHING.")
    uptime_seconds: float | None = Field(description="Seconds since boot.")
    signal_quality_percent: float | None = Field(
        description="Derived signal score 0-100 (the dish reports no SNR)."
    )
    snr_above_noise_floor: bool | None = Field(
        description="The dish's own SNR-above-noise-floor flag."
    )
    alerts: list[str] = Field(description="Names of the active alerts.")
    gps_valid: bool | None = Field(description="The GPS fix is valid.")
    gps_satellites: int | None = Field(description="GPS satellites in view.")
    power_watts: float | None = Field(description="Power draw, watts.")
    id: str | None = Field(description="Dish identifier.")
    hardware_version: str | None = Field(description="Hardware revision.")
    software_version: str | None = Field(description="Firmware version.")


class EnvironmentalStatus(BaseModel):
    """The original backend's ``environmental`` section, under its names."""

    model_config = _STRICT

    signal_quality_percent: float | None = Field(
        description="Same as dish.signal_quality_percent."
    )
    uptime_seconds: float | None = Field(description="Same as dish.uptime_seconds.")
    temperature_celsius: None = Field(
        default=None,
        description="Always null: current dish firmware reports no temperature.",
    )


class StatusDocument(BaseModel):
    """Current telemetry; the four sections are present only when ``available``."""

    model_config = _STRICT

    timestamp: str | None = Field(
        json_schema_extra={"format": "date-time"},
        description="When the sample was taken, ISO 8601 with offset; "
        "null before the first sample.",
    )
    mode: Mode = Field(description="Where samples come from.")
    available: bool = Field(
        description="Whether there is a current sample: false before the first "
        "and once the newest good one is older than the max age (the values "
        "have left /metrics too)."
    )
    age_seconds: float | None = Field(
        default=None,
        description="Seconds since the last good sample; null before one.",
    )
    error: str | None = Field(
        default=None,
        description="Short kind of the failure while the last poll or step "
        "failed (unreachable, timeout, no_reflection, step, error); else null.",
    )
    position: PositionStatus | None = None
    network: NetworkStatus | None = None
    obstruction: ObstructionStatus | None = None
    dish: DishStatus | None = None
    environmental: EnvironmentalStatus | None = None


def status_document(
    telemetry: Telemetry | None,
    mode: Mode,
    *,
    current: bool = True,
    age_seconds: float | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """Return the ``/api/status`` JSON for one sample (units in the names).

    Args:
        telemetry: the newest good sample, if any.
        mode: the configured mode (used when there is no sample).
        current: the sample is within the max age (``core.snapshot.is_fresh``);
            when False only its timestamp is shown.
        age_seconds: seconds since the last good sample.
        error: short kind of the last failure while failing, else None.
    """
    age = None if age_seconds is None else round(age_seconds, 3)
    if telemetry is None or not current:
        empty = StatusDocument(
            timestamp=None if telemetry is None else _iso(telemetry.timestamp),
            mode=mode if telemetry is None else telemetry.mode,
            available=False,
            age_seconds=age,
            error=error,
        )
        return empty.model_dump(
            mode="json",
            exclude={"position", "network", "obstruction", "dish", "environmental"},
        )
    t = telemetry
    document = StatusDocument(
        timestamp=_iso(t.timestamp),
        mode=t.mode,
        available=True,
        age_seconds=age,
        error=error,
        position=PositionStatus(
            latitude_degrees=t.latitude_degrees,
            longitude_degrees=t.longitude_degrees,
            altitude_meters=t.altitude_meters,
            speed_knots=t.speed_knots,
            heading_degrees=t.heading_degrees,
            location_available=t.location_available,
            latitude=t.latitude_degrees,
            longitude=t.longitude_degrees,
            altitude=t.altitude_meters,
            speed=t.speed_knots,
            heading=t.heading_degrees,
        ),
        network=NetworkStatus(
            latency_ms=t.latency_ms,
            throughput_down_mbps=t.throughput_down_mbps,
            throughput_up_mbps=t.throughput_up_mbps,
            packet_loss_percent=t.packet_loss_percent,
        ),
        obstruction=ObstructionStatus(
            obstruction_percent=t.obstruction_percent,
            currently_obstructed=t.currently_obstructed,
        ),
        dish=DishStatus(
            state=t.state,
            uptime_seconds=t.uptime_seconds,
            signal_quality_percent=t.signal_quality_percent,
            snr_above_noise_floor=t.snr_above_noise_floor,
            alerts=list(t.alerts),
            gps_valid=t.gps_valid,
            gps_satellites=t.gps_satellites,
            power_watts=t.power_watts,
            id=t.dish_id,
            hardware_version=t.hardware_version,
            software_version=t.software_version,
        ),
        environmental=EnvironmentalStatus(
            signal_quality_percent=t.signal_quality_percent,
            uptime_seconds=t.uptime_seconds,
        ),
    )
    return document.model_dump(mode="json")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()
