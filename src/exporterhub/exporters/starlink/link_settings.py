"""Link sections of the Starlink configuration: network, obstruction, weather.

``NetworkSettings`` (latency, throughput and packet-loss ranges, protocol notes
§3.3, §3.4, §3.6), ``ObstructionSettings`` (§3.5) and ``WeatherSettings``
(§3.7): the ranges the simulated link moves within, each cross-field rule a
validator on the later field so an error names the key to fix.

This module only describes and validates these sections; it must not simulate
the link (that is the engine's ``_network``), read files or start anything.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from exporterhub.exporters.starlink.settings_rules import (
    FROZEN,
    Flag,
    Number,
    not_below,
)

__all__ = ["NetworkSettings", "ObstructionSettings", "WeatherSettings"]


class NetworkSettings(BaseModel):
    """Ranges of the simulated link (protocol notes §3.3, §3.4, §3.6).

    Latency in milliseconds RTT dish→PoP, 1..10 000 (spikes up to 60 000);
    throughput is available capacity in Mbit/s, 0..100 000; packet loss in
    percent; probabilities per second. Ordering rules: ``latency_min_ms <=
    latency_typical_ms <= latency_max_ms <= latency_spike_max_ms``, each
    throughput ``min <= max``, ``packet_loss_min <= typical <= max``.

    Attributes:
        latency_min_ms: floor of the non-spike latency.
        latency_typical_ms: baseline the latency reverts to.
        latency_max_ms: ceiling of the non-spike latency.
        latency_spike_max_ms: ceiling of rare spikes (drawn in [max, spike_max]).
        spike_probability: chance per second that a 1-3 s spike starts.
        handover_interval_seconds: seconds between satellite handovers, 1..3600.
        throughput_down_min_mbps: downlink capacity floor before degradation.
        throughput_down_max_mbps: downlink capacity ceiling.
        throughput_up_min_mbps: uplink capacity floor before degradation.
        throughput_up_max_mbps: uplink capacity ceiling.
        packet_loss_min_percent: baseline loss floor.
        packet_loss_typical_percent: baseline loss the process reverts to.
        packet_loss_max_percent: baseline loss ceiling (bursts go above it).
        diurnal_congestion: apply the evening congestion bump (§3.6).
    """

    model_config = FROZEN

    latency_min_ms: Number = Field(default=20.0, ge=1.0, le=10_000.0)
    latency_typical_ms: Number = Field(default=35.0, ge=1.0, le=10_000.0)
    latency_max_ms: Number = Field(default=80.0, ge=1.0, le=10_000.0)
    latency_spike_max_ms: Number = Field(default=250.0, ge=1.0, le=60_000.0)
    spike_probability: Number = Field(default=0.02, ge=0.0, le=1.0)
    handover_interval_seconds: Number = Field(default=15.0, ge=1.0, le=3600.0)
    throughput_down_min_mbps: Number = Field(default=50.0, ge=0.0, le=100_000.0)
    throughput_down_max_mbps: Number = Field(default=200.0, ge=0.0, le=100_000.0)
    throughput_up_min_mbps: Number = Field(default=10.0, ge=0.0, le=100_000.0)
    throughput_up_max_mbps: Number = Field(default=40.0, ge=0.0, le=100_000.0)
    packet_loss_min_percent: Number = Field(default=0.0, ge=0.0, le=100.0)
    packet_loss_typical_percent: Number = Field(default=0.5, ge=0.0, le=100.0)
    packet_loss_max_percent: Number = Field(default=5.0, ge=0.0, le=100.0)
    diurnal_congestion: Flag = True

    @field_validator("latency_typical_ms")
    @classmethod
    def _latency_typical(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "latency_min_ms")
        return value

    @field_validator("latency_max_ms")
    @classmethod
    def _latency_max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "latency_min_ms", "latency_typical_ms")
        return value

    @field_validator("latency_spike_max_ms")
    @classmethod
    def _spike_max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "latency_max_ms")
        return value

    @field_validator("throughput_down_max_mbps")
    @classmethod
    def _down_max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "throughput_down_min_mbps")
        return value

    @field_validator("throughput_up_max_mbps")
    @classmethod
    def _up_max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "throughput_up_min_mbps")
        return value

    @field_validator("packet_loss_typical_percent")
    @classmethod
    def _loss_typical(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "packet_loss_min_percent")
        return value

    @field_validator("packet_loss_max_percent")
    @classmethod
    def _loss_max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "packet_loss_min_percent", "packet_loss_typical_percent")
        return value


class ObstructionSettings(BaseModel):
    """Fraction of sky obstructed and obstruction events (protocol notes §3.5).

    Ordering rule: ``min_percent <= typical_percent <= max_percent``.

    Attributes:
        min_percent: floor of the obstructed fraction, percent.
        typical_percent: level the slow drift reverts to, percent.
        max_percent: ceiling of the obstructed fraction, percent.
        sway_period_seconds: period of the "trees swaying" sinusoid, seconds,
            1..86 400 (a shorter period is no sway but noise).
        sway_amplitude_percent: sway amplitude at full wind, percentage points.
        wind_level: 0 (calm) .. 1 (stormy); scales the sway.
        event_rate_per_second: rate of "currently obstructed" events at 100 %
            obstruction; the actual rate is fraction x this (events last 1-5 s).
    """

    model_config = FROZEN

    min_percent: Number = Field(default=0.0, ge=0.0, le=100.0)
    typical_percent: Number = Field(default=3.0, ge=0.0, le=100.0)
    max_percent: Number = Field(default=10.0, ge=0.0, le=100.0)
    sway_period_seconds: Number = Field(default=20.0, ge=1.0, le=86_400.0)
    sway_amplitude_percent: Number = Field(default=2.0, ge=0.0, le=100.0)
    wind_level: Number = Field(default=0.5, ge=0.0, le=1.0)
    event_rate_per_second: Number = Field(default=0.05, ge=0.0, le=1.0)

    @field_validator("typical_percent")
    @classmethod
    def _typical(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "min_percent")
        return value

    @field_validator("max_percent")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        not_below(info, value, "min_percent", "typical_percent")
        return value


class WeatherSettings(BaseModel):
    """Standing weather at the dish (protocol notes §3.7).

    Attributes:
        condition: ``clear``, ``rain`` (fade) or ``snow`` (heater on, more power).
        rain_fade_factor: throughput multiplier while raining, 0..1.
        rain_extra_loss_percent: packet loss added while raining, percent.
        rain_extra_latency_ms: latency added while raining, milliseconds.
    """

    model_config = FROZEN

    condition: Literal["clear", "rain", "snow"] = "clear"
    rain_fade_factor: Number = Field(default=0.7, ge=0.0, le=1.0)
    rain_extra_loss_percent: Number = Field(default=2.0, ge=0.0, le=100.0)
    rain_extra_latency_ms: Number = Field(default=5.0, ge=0.0, le=10_000.0)
