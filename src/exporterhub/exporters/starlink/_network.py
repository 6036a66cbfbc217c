"""Link models: obstruction, congestion, handovers, latency, throughput, loss.

Protocol notes §3.3-§3.6. Every smooth quantity is an exactly discretised
Ornstein-Uhlenbeck/AR(1) process, so a step of any ``dt`` has the statistics of
``dt`` one-second steps and ``dt = 0`` changes nothing. Rare events (spikes,
handovers, obstruction events) are timers drawn with probability
``1 - exp(-rate * dt)``. Cause → effect only: obstruction, congestion and weather
feed latency, throughput and loss, never the reverse. The effect sizes
(``LATENCY_PER_EFFECT``, ``THROUGHPUT_PER_EFFECT``, ``LOSS_PER_EFFECT``) and the
obstruction drift are tuned so that, with 0-60 % obstruction over a day, the
obstruction visibly correlates with each (|Pearson r| ≈ 0.4-0.5, tested).
Throughput capacity is an OU process followed by a low-pass stage, so its
second-to-second change stays small (p99 ≈ 4 % of the range outside events).
Pure: each model owns one ``random.Random``; no clock, no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from exporterhub.exporters.starlink.link_settings import (
    NetworkSettings,
    ObstructionSettings,
)

__all__ = [
    "HandoverModel",
    "LatencyModel",
    "LinkConditions",
    "LossModel",
    "ObstructionModel",
    "ThroughputModel",
    "congestion",
    "ou_step",
]

OBSTRUCTION_TAU_S: Final = 10.0
"""Time constant with which a scenario obstruction level is approached, seconds."""
DRIFT_TAU_S: Final = 1200.0
"""Time constant of the slow obstruction drift, seconds."""
SWAY_SECOND_PERIOD: Final = 2.7
"""Second sway sinusoid period, as a multiple of the configured one."""
DRIFT_SD_OF_SPAN: Final = 0.3
"""Stationary sd of the slow obstruction drift, as a share of max - min."""
LATENCY_PER_EFFECT: Final = 5.0
"""Latency added at obstruction_effect 1, as a multiple of typical (§3.3)."""
THROUGHPUT_PER_EFFECT: Final = 1.5
"""Throughput is multiplied by 1 - this x obstruction_effect (clamped at 0)."""
LOSS_PER_EFFECT: Final = 60.0
"""Packet loss added at obstruction_effect 1, percent."""
THROUGHPUT_TAU_S: Final = 20.0
"""Mean-reversion time of the throughput capacity OU process, seconds."""
THROUGHPUT_SD_OF_RANGE: Final = 0.25
"""Stationary sd of the throughput capacity, as a share of max - min."""
THROUGHPUT_SMOOTH_S: Final = 8.0
"""Time constant of the low-pass stage after the OU process, seconds."""


def ou_step(
    value: float, mean: float, sd: float, tau: float, dt: float, rng: random.Random
) -> float:
    """Advance an OU process exactly by ``dt`` (stationary sd ``sd``, tau ``tau``)."""
    phi = math.exp(-dt / tau)
    noise = sd * math.sqrt(1.0 - phi * phi) * rng.gauss(0.0, 1.0)
    return mean + (value - mean) * phi + noise


def _chance(rate_per_s: float, dt: float) -> float:
    """Probability that a Poisson event of ``rate_per_s`` happens within ``dt``."""
    return 1.0 - math.exp(-max(0.0, rate_per_s) * dt)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _bump(hour: float, centre: float, width: float) -> float:
    gap = abs(hour - centre) % 24.0
    gap = min(gap, 24.0 - gap)
    return math.exp(-0.5 * (gap / width) ** 2)


def congestion(utc_hour: float, longitude: float) -> float:
    """Return diurnal congestion 0..1 at the local solar hour of ``longitude``.

    A bump centred on 21:00 (sd 1.5 h) plus a 0.3 midday bump; ≈ 0 at 04:00 (§3.6).
    """
    hour = (utc_hour + longitude / 15.0) % 24.0
    return _clamp(_bump(hour, 21.0, 1.5) + 0.3 * _bump(hour, 12.5, 1.5), 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class LinkConditions:
    """The causes the link models react to during one step.

    Attributes:
        effect: obstruction_effect 0..1 (§3.5).
        congestion: 0..1 (§3.6 plus scenario).
        weather_factor: throughput multiplier from rain/snow, 0..1.
        weather_latency_ms: latency added by weather, ms.
        weather_loss_percent: loss added by weather, percent.
        obstructed: an obstruction event is active.
        handover: a satellite handover happened this step.
        handover_age: seconds between that handover and the end of the step.
        throttle_factor: throughput multiplier from thermal throttling.
    """

    effect: float = 0.0
    congestion: float = 0.0
    weather_factor: float = 1.0
    weather_latency_ms: float = 0.0
    weather_loss_percent: float = 0.0
    obstructed: bool = False
    handover: bool = False
    handover_age: float = 0.0
    throttle_factor: float = 1.0


class ObstructionModel:
    """Fraction of sky obstructed (slow) and "currently obstructed" events (§3.5)."""

    def __init__(self, settings: ObstructionSettings, rng: random.Random) -> None:
        self._rng = rng
        self._drift = 0.0
        self._burst = 0.0
        self._phase = rng.uniform(0.0, 2.0 * math.pi)
        self._time = 0.0
        self._event_left = 0.0
        self.fraction = settings.typical_percent / 100.0
        self.obstructed = False

    def step(self, settings: ObstructionSettings, dt: float, target: float) -> None:
        """Advance ``dt`` s toward scenario obstruction ``target`` (0..1, 0 = none)."""
        self._time += dt
        span = settings.max_percent - settings.min_percent
        self._drift = ou_step(
            self._drift, 0.0, span * DRIFT_SD_OF_SPAN, DRIFT_TAU_S, dt, self._rng
        )
        omega = 2.0 * math.pi / settings.sway_period_seconds
        sway = settings.sway_amplitude_percent * settings.wind_level
        sway *= 0.6 * math.sin(omega * self._time) + 0.4 * math.sin(
            omega / SWAY_SECOND_PERIOD * self._time + self._phase
        )
        base = _clamp(
            settings.typical_percent + self._drift + sway,
            settings.min_percent,
            settings.max_percent,
        )
        phi = math.exp(-dt / OBSTRUCTION_TAU_S)
        self._burst = target + (self._burst - target) * phi
        self.fraction = _clamp(max(base / 100.0, self._burst), 0.0, 1.0)
        if self._event_left > 0.0:
            self._event_left -= dt
        rate = self.fraction * settings.event_rate_per_second
        if self._event_left <= 0.0 and self._rng.random() < _chance(rate, dt):
            # The event began somewhere inside this step; it may be over already.
            self._event_left = self._rng.uniform(1.0, 5.0) - self._rng.uniform(0.0, dt)
        self.obstructed = self._event_left > 0.0

    @property
    def effect(self) -> float:
        """Return obstruction_effect in [0, 1].

        ``0.5 * fraction + (1 if obstructed)`` as in §3.5, plus a ramp from 60 %
        obstruction that reaches 1 at 100 %, so a fully obstructed sky takes the
        link down as §3.5 asks (the plain formula stops at 0.5).
        """
        ramp = max(0.0, self.fraction - 0.6) / 0.4 * 0.5
        obstructed = 1.0 if self.obstructed else 0.0
        return _clamp(0.5 * self.fraction + ramp + obstructed, 0.0, 1.0)


class HandoverModel:
    """Satellite changes every ``handover_interval_seconds`` (§3.3)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._until_next = rng.uniform(0.0, 15.0)
        self._transient_left = 0.0
        self._transient_ms = 0.0
        self.offset_ms = rng.uniform(-5.0, 10.0)
        self.happened = False
        self.age = 0.0

    @property
    def transient_ms(self) -> float:
        """Return the +30-50 ms transient of a bad handover while it lasts."""
        return self._transient_ms if self._transient_left > 0.0 else 0.0

    def step(self, settings: NetworkSettings, dt: float) -> None:
        """Advance ``dt`` s; redraw the latency baseline at each handover."""
        self._transient_left -= dt
        self._until_next -= dt
        self.happened = self._until_next <= 0.0
        if self.happened:
            # Several handovers inside one long step collapse into the last one.
            interval = settings.handover_interval_seconds
            late = -self._until_next % interval  # how long ago the last one was
            self._until_next = interval - late
            self.age = late
            self.offset_ms = self._rng.uniform(-5.0, 10.0)
            if self._rng.random() < 0.2:
                self._transient_left = self._rng.uniform(1.0, 2.0) - late
                self._transient_ms = self._rng.uniform(30.0, 50.0)


class LatencyModel:
    """RTT dish→PoP in ms (§3.3): baseline, handover, AR(1) jitter, causes, spikes."""

    def __init__(self, settings: NetworkSettings, rng: random.Random) -> None:
        self._rng = rng
        self._jitter = 0.0
        self._spike_left = 0.0
        self._spike_ms = 0.0
        self.value = settings.latency_typical_ms
        self.spiking = False

    def step(
        self,
        settings: NetworkSettings,
        dt: float,
        handover: HandoverModel,
        link: LinkConditions,
    ) -> None:
        """Advance ``dt`` s and recompute ``value``."""
        # j = 0.6 j + N(0, 4 ms) per second → stationary sd 5 ms, tau = -1/ln 0.6.
        self._jitter = ou_step(
            self._jitter, 0.0, 5.0, 1.0 / -math.log(0.6), dt, self._rng
        )
        self._spike_left -= dt
        p_spike = 1.0 - (1.0 - settings.spike_probability) ** dt
        if self._spike_left <= 0.0 and self._rng.random() < p_spike:
            # Started somewhere inside this step: a long step may have missed it.
            self._spike_left = self._rng.uniform(1.0, 3.0) - self._rng.uniform(0.0, dt)
            low, high = settings.latency_max_ms, settings.latency_spike_max_ms
            self._spike_ms = self._rng.uniform(low, high)
        self.spiking = self._spike_left > 0.0
        typical = settings.latency_typical_ms
        raw = (
            typical
            + handover.offset_ms
            + handover.transient_ms
            + self._jitter
            + 15.0 * link.congestion
            + LATENCY_PER_EFFECT * typical * link.effect
            + link.weather_latency_ms
        )
        value = _clamp(raw, settings.latency_min_ms, settings.latency_max_ms)
        # Clamp a running spike too, so a new range applies on the very next step.
        spike = _clamp(
            self._spike_ms, settings.latency_max_ms, settings.latency_spike_max_ms
        )
        self.value = spike if self.spiking else value


class ThroughputModel:
    """Available down/up capacity in Mbit/s (§3.4), OU with shared noise."""

    def __init__(self, settings: NetworkSettings, rng: random.Random) -> None:
        self._rng = rng
        self._down = (
            settings.throughput_down_min_mbps + settings.throughput_down_max_mbps
        ) / 2
        self._up = (
            settings.throughput_up_min_mbps + settings.throughput_up_max_mbps
        ) / 2
        self._dip_left = 0.0
        self._dip = 1.0
        self._smooth_down = self._down
        self._smooth_up = self._up
        self.down = self._down
        self.up = self._up

    def step(self, settings: NetworkSettings, dt: float, link: LinkConditions) -> None:
        """Advance ``dt`` s and recompute ``down`` and ``up``."""
        phi = math.exp(-dt / THROUGHPUT_TAU_S)
        scale = math.sqrt(1.0 - phi * phi)
        shared = self._rng.gauss(0.0, 1.0)
        own = self._rng.gauss(0.0, 1.0)
        up_noise = 0.5 * shared + math.sqrt(0.75) * own  # correlation 0.5
        lo_d, hi_d = (
            settings.throughput_down_min_mbps,
            settings.throughput_down_max_mbps,
        )
        lo_u, hi_u = settings.throughput_up_min_mbps, settings.throughput_up_max_mbps
        mid_d, mid_u = (lo_d + hi_d) / 2, (lo_u + hi_u) / 2
        sd = THROUGHPUT_SD_OF_RANGE * scale
        self._down = _clamp(
            mid_d + (self._down - mid_d) * phi + (hi_d - lo_d) * sd * shared,
            lo_d,
            hi_d,
        )
        self._up = _clamp(
            mid_u + (self._up - mid_u) * phi + (hi_u - lo_u) * sd * up_noise,
            lo_u,
            hi_u,
        )
        # A low-pass stage after the OU keeps second-to-second changes small.
        keep = math.exp(-dt / THROUGHPUT_SMOOTH_S)
        self._smooth_down = _clamp(
            self._down + (self._smooth_down - self._down) * keep, lo_d, hi_d
        )
        self._smooth_up = _clamp(
            self._up + (self._smooth_up - self._up) * keep, lo_u, hi_u
        )
        self._dip_left -= dt
        if link.handover:  # a 1-s dip that a long step may have passed already
            self._dip_left = 1.0 - link.handover_age
            self._dip = self._rng.uniform(0.7, 0.9)
        dip = self._dip if self._dip_left > 0.0 else 1.0
        factor = (
            (1.0 - 0.4 * link.congestion)
            * max(0.0, 1.0 - THROUGHPUT_PER_EFFECT * link.effect)
            * link.weather_factor
            * link.throttle_factor
            * dip
        )
        self.down = self._smooth_down * factor
        self.up = self._smooth_up * factor


class LossModel:
    """Packet loss in percent (§3.4): AR(1) baseline + causes + bursts."""

    def __init__(self, settings: NetworkSettings, rng: random.Random) -> None:
        self._rng = rng
        self._base = settings.packet_loss_typical_percent
        self._burst_left = 0.0
        self._burst = 0.0
        self._obstructed_level = 0.0
        self._was_obstructed = False
        self.value = self._base

    def step(self, settings: NetworkSettings, dt: float, link: LinkConditions) -> None:
        """Advance ``dt`` s and recompute ``value``."""
        low, high = settings.packet_loss_min_percent, settings.packet_loss_max_percent
        self._base = _clamp(
            ou_step(
                self._base,
                settings.packet_loss_typical_percent,
                (high - low) / 6.0,
                10.0,
                dt,
                self._rng,
            ),
            low,
            high,
        )
        self._burst_left -= dt
        if link.handover and self._rng.random() < 0.3:
            self._burst_left = 1.0 - link.handover_age
            self._burst = self._rng.uniform(2.0, 10.0)
        if link.obstructed and not self._was_obstructed:
            self._obstructed_level = self._rng.uniform(30.0, 100.0)
        self._was_obstructed = link.obstructed
        value = (
            self._base
            + 0.5 * link.congestion
            + LOSS_PER_EFFECT * link.effect
            + link.weather_loss_percent
            + (self._burst if self._burst_left > 0.0 else 0.0)
        )
        if link.obstructed:
            value = max(value, self._obstructed_level)
        self.value = _clamp(value, 0.0, 100.0)
