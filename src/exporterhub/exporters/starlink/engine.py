"""The Starlink simulation engine: config + elapsed time → ``Telemetry``.

``SimulationEngine.step(dt, now_wall)`` advances every component by the real
elapsed ``dt`` (seconds from a monotonic clock; any value, several route legs in
one step if need be) and reads the diurnal congestion from the wall-clock UTC
time ``now_wall`` (epoch seconds), which is also the sample timestamp. Components,
each with its own ``random.Random`` derived from the seed:

- route (``_route.py``): position, speed, heading, altitude;
- obstruction, handover, latency, throughput, loss (``_network.py``);
- scenario timeline (``_scenario.py``) driving outages, reboots, weather, alerts;
- dish: uptime, reboot phases, power, GPS, boresight (``_dish.py``); its state
  (here).

A component that raises keeps its last good values, increments ``errors`` (a
monotonic count the plugin turns into deltas) and sets ``last_step_failed`` and
``failed_components`` for that step; its first failure is logged at WARNING with
the component name (``simulation_component_failed component=…``), later ones at
DEBUG.

Simulated transitions are logged as they happen (``_journal.py``), on the
simulation clock: a scenario starting or ending (``simulation_scenario_started``
/ ``…_ended``, at start and when the config changes it), each timed event of
its timeline starting or ending (``simulation_event_started`` / ``…_ended``), a reboot
(``simulation_reboot``), every change of the dish state
(``simulation_state_changed``, WARNING when leaving CONNECTED) and a new route
geometry putting the vehicle at its start (``simulation_route_changed``).

``step`` itself never raises. ``inject_fault`` is the public hook tests and
scenarios use to make a component fail. ``apply_config`` takes effect
on the next step and resets nothing unrelated (uptime and processes carry on;
so does the position unless the route's geometry changed, in which case the
vehicle is at the start of the new route); a changed ``seed`` re-seeds every
component, so runs replay identically from that step on.

Signal quality (a derived score — the dish reports no SNR, §3.7)::

    quality = 100 * (1 - obstruction_effect) * weather_factor * (1 - loss / 100)

and 0 while the dish is in an outage state. No clock reads and no I/O besides
the log.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final

import structlog

from exporterhub.exporters.starlink._dish import DishModel
from exporterhub.exporters.starlink._journal import (
    log_events,
    log_state,
    start_scenario,
)
from exporterhub.exporters.starlink._network import (
    HandoverModel,
    LatencyModel,
    LinkConditions,
    LossModel,
    ObstructionModel,
    ThroughputModel,
    congestion,
)
from exporterhub.exporters.starlink._route import RouteModel, RouteSample
from exporterhub.exporters.starlink._scenario import Effects
from exporterhub.exporters.starlink.link_settings import WeatherSettings
from exporterhub.exporters.starlink.settings import MAX_SEED, StarlinkConfig
from exporterhub.exporters.starlink.telemetry import Telemetry

__all__ = [
    "COMPONENTS",
    "DISH_ID",
    "HARDWARE_VERSION",
    "SOFTWARE_VERSION",
    "InjectedFault",
    "SimulationEngine",
]

_log = structlog.get_logger(__name__)

DISH_ID: Final = "ut01000000-00000000-5151a1a1"
HARDWARE_VERSION: Final = "rev4_prod1"
SOFTWARE_VERSION: Final = "2026.06.22.mr81471.sim"
SNOW_FADE: Final = 0.9
"""Throughput multiplier while snowing (wet snow on the dish)."""
THROTTLE_FACTOR: Final = 0.6
"""Throughput multiplier while thermally throttled."""
LOW_SIGNAL_PERCENT: Final = 30.0
"""Below this signal quality a connected dish raises ``lower_signal_than_predicted``."""
_COMPONENTS: Final = (
    "route", "obstruction", "handover", "latency", "throughput", "loss", "dish",
)  # fmt: skip
COMPONENTS: Final = (*_COMPONENTS, "step")
"""Names ``inject_fault`` accepts: each component, and ``step`` (the whole step)."""


class InjectedFault(RuntimeError):
    """Raised inside a component by ``SimulationEngine.inject_fault``."""


def _rng_seed(seed: int, name: str) -> str:
    return f"starlink/{seed}/{name}"


class SimulationEngine:
    """Seedable simulation of a Starlink dish on a moving vehicle.

    Args:
        config: the configuration to start with.
        seed: overrides ``config.seed``; both ``None`` = a random seed.
        start_wall: wall-clock UTC epoch seconds at start (keyword-only).

    Attributes:
        seed: the seed in use (reproduce a run with it).
        errors: component failures so far (each kept its last good values);
            never decreases.
        last_step_failed: some component failed during the latest step.
        last: the newest sample, ``None`` before the first step.
        time: simulated seconds since start.
    """

    def __init__(
        self, config: StarlinkConfig, *, seed: int | None = None, start_wall: float
    ) -> None:
        if seed is None:
            seed = config.seed
        if seed is None:
            # Within the config bounds, so the seed in use can be configured.
            seed = random.SystemRandom().randrange(MAX_SEED + 1)
        self.seed = seed
        self._rngs = {
            name: random.Random(_rng_seed(seed, name)) for name in _COMPONENTS
        }
        rng = self._rngs
        self._config = config
        self._route = RouteModel(config.route, rng["route"])
        self._obstruction = ObstructionModel(config.obstruction, rng["obstruction"])
        self._handover = HandoverModel(rng["handover"])
        self._latency = LatencyModel(config.network, rng["latency"])
        self._throughput = ThroughputModel(config.network, rng["throughput"])
        self._loss = LossModel(config.network, rng["loss"])
        self._dish = DishModel(rng["dish"])
        self._scenario = start_scenario(None, config.scenario)
        self._effects = Effects()
        self._shown_state: str | None = None
        self._position: RouteSample | None = None
        self._latency_good = config.network.latency_typical_ms
        self.errors = 0
        self.last_step_failed = False
        self.failed_components: tuple[str, ...] = ()
        self._faults: set[str] = set()
        self._warned: set[str] = set()
        self.last: Telemetry | None = None
        self.time = 0.0
        self._wall = start_wall

    @property
    def config(self) -> StarlinkConfig:
        """Return the configuration in effect."""
        return self._config

    def apply_config(self, config: StarlinkConfig) -> None:
        """Use ``config`` from the next step on, keeping position, uptime and processes.

        A route with new geometry (start, waypoints, pattern) puts the vehicle
        at its start at once, as a restart would; speeds, profile or altitude
        alone keep its place. A changed scenario restarts its timeline; a
        changed (non-null) ``seed`` re-seeds every component in place, so two
        engines in the same state given the same seed produce the same trace
        from then on.
        """
        if config.seed is not None and config.seed != self._config.seed:
            self.reseed(config.seed)
        if self._route.apply(config.route):
            lat, lon = self._route.position()
            _log.info(
                "simulation_route_changed",
                pattern=config.route.pattern,
                latitude=round(lat, 6),
                longitude=round(lon, 6),
            )
        if config.scenario != self._config.scenario:
            self._scenario = start_scenario(self._config.scenario, config.scenario)
            # The old timeline's events end with it (its end is logged).
            self._effects = Effects()
        self._config = config

    def reseed(self, seed: int) -> None:
        """Re-seed every component's generator from ``seed``; state is kept."""
        self.seed = seed
        for name, rng in self._rngs.items():
            rng.seed(_rng_seed(seed, name))

    def inject_fault(self, component: str) -> None:
        """Make ``component`` raise once, during the next step.

        The documented way for tests and scenarios to exercise failure handling:
        the component keeps its last good values, ``errors`` grows by one and
        ``last_step_failed`` is set. ``step`` fails the whole step instead (the
        previous sample is returned).

        Raises:
            ValueError: ``component`` is not one of ``COMPONENTS``.
        """
        if component not in COMPONENTS:
            raise ValueError(f"unknown component {component!r}: one of {COMPONENTS}")
        self._faults.add(component)

    def _check_fault(self, name: str) -> None:
        if name in self._faults:
            self._faults.discard(name)
            raise InjectedFault(f"injected fault in {name}")

    def _failed(self, name: str, exc: Exception) -> None:
        self.errors += 1
        self.last_step_failed = True
        self.failed_components = (*self.failed_components, name)
        if name in self._warned:
            _log.debug("simulation_component_failed", component=name, error=str(exc))
        else:
            self._warned.add(name)
            _log.warning("simulation_component_failed", component=name, exc_info=exc)

    def _guard(self, name: str, action: Callable[[], None]) -> None:
        try:
            self._check_fault(name)
            action()
        except Exception as exc:  # a failing component keeps its last values
            self._failed(name, exc)

    def step(self, dt: float, now_wall: float) -> Telemetry:
        """Advance by ``dt`` real seconds and return the new sample; never raises.

        Args:
            dt: elapsed monotonic seconds since the previous step (negative or
                non-finite values count as 0).
            now_wall: wall-clock UTC epoch seconds (diurnal congestion, timestamp).
        """
        self.last_step_failed = False
        self.failed_components = ()
        try:
            self._check_fault("step")
            return self._step(dt, now_wall)
        except Exception as exc:  # last line of defence: the loop must keep running
            self._failed("step", exc)
            return self.last or Telemetry(timestamp=now_wall, mode="simulation")

    def _step(self, dt: float, now_wall: float) -> Telemetry:
        if not math.isfinite(dt) or dt < 0.0:
            dt = 0.0
        if not math.isfinite(now_wall):
            now_wall = self._wall
        self._wall = now_wall
        self.time += dt
        cfg = self._config
        weather = cfg.weather or WeatherSettings()
        previous = self._effects
        self._effects = self._scenario.step(dt)
        fx = self._effects
        log_events(self._scenario, previous, fx)

        def route() -> None:
            self._position = self._route.step(dt)

        self._guard("route", route)
        pos = self._position
        lon = pos.longitude if pos else cfg.route.start_longitude
        self._guard(
            "obstruction",
            lambda: self._obstruction.step(cfg.obstruction, dt, fx.obstruction),
        )
        self._guard("handover", lambda: self._handover.step(cfg.network, dt))
        rain = fx.rain or weather.condition == "rain"
        snow = fx.snow or weather.condition == "snow"
        weather_factor = weather.rain_fade_factor if rain else 1.0
        weather_factor *= SNOW_FADE if snow else 1.0
        diurnal = 0.0
        if cfg.network.diurnal_congestion:
            diurnal = congestion((now_wall % 86_400.0) / 3600.0, lon)
        obstruction = self._obstruction
        link = LinkConditions(
            effect=obstruction.effect,
            congestion=min(1.0, diurnal + fx.congestion),
            weather_factor=weather_factor,
            weather_latency_ms=weather.rain_extra_latency_ms if rain else 0.0,
            weather_loss_percent=weather.rain_extra_loss_percent if rain else 0.0,
            obstructed=obstruction.obstructed,
            handover=self._handover.happened,
            handover_age=self._handover.age,
            throttle_factor=THROTTLE_FACTOR if fx.thermal_throttle else 1.0,
        )
        self._guard(
            "latency",
            lambda: self._latency.step(cfg.network, dt, self._handover, link),
        )
        self._guard("throughput", lambda: self._throughput.step(cfg.network, dt, link))
        self._guard("loss", lambda: self._loss.step(cfg.network, dt, link))
        self._guard("dish", lambda: self._dish.step(dt, fx, snow))
        telemetry = self._assemble(now_wall, pos, link, snow)
        if telemetry.state != self._shown_state:
            log_state(self._shown_state, telemetry.state)
            self._shown_state = telemetry.state
        self.last = telemetry
        return telemetry

    def _state(self) -> str:
        if self._dish.boot_phase is not None:
            return self._dish.boot_phase
        if self._effects.outage_cause is not None:
            return self._effects.outage_cause
        # §3.5: at 90-100 % obstruction the link is down while an event lasts.
        if self._obstruction.obstructed and self._obstruction.fraction >= 0.9:
            return "OBSTRUCTED"
        return "CONNECTED"

    def _assemble(
        self, now_wall: float, pos: RouteSample | None, link: LinkConditions, snow: bool
    ) -> Telemetry:
        state = self._state()
        connected = state == "CONNECTED"
        if connected:
            self._latency_good = self._latency.value
            loss = self._loss.value
            down, up = self._throughput.down, self._throughput.up
            quality = 100.0 * (1.0 - link.effect) * link.weather_factor
            quality *= 1.0 - loss / 100.0
        else:  # outage: every ping lost, nothing flows, latency held (§3.7)
            loss, down, up, quality = 100.0, 0.0, 0.0, 0.0
        alerts = set(self._effects.alerts)
        if self._effects.thermal_throttle:
            alerts.add("thermal_throttle")
        if snow:
            alerts.add("is_heating")
        if connected and quality < LOW_SIGNAL_PERCENT:
            alerts.add("lower_signal_than_predicted")
        dish = self._dish
        route_cfg = self._config.route
        return Telemetry(
            timestamp=now_wall,
            mode="simulation",
            latitude_degrees=pos.latitude if pos else route_cfg.start_latitude,
            longitude_degrees=pos.longitude if pos else route_cfg.start_longitude,
            altitude_meters=pos.altitude_meters if pos else route_cfg.altitude_meters,
            speed_knots=pos.speed_knots if pos else 0.0,
            heading_degrees=pos.heading_degrees if pos else 0.0,
            latency_ms=self._latency_good,
            throughput_down_mbps=down,
            throughput_up_mbps=up,
            packet_loss_percent=loss,
            obstruction_percent=100.0 * self._obstruction.fraction,
            currently_obstructed=self._obstruction.obstructed,
            snr_above_noise_floor=connected and link.effect < 0.9,
            signal_quality_percent=max(0.0, min(100.0, quality)),
            uptime_seconds=dish.uptime,
            state=state,
            alerts=tuple(sorted(alerts)),
            alerts_known=True,
            gps_valid=True,
            gps_satellites=dish.satellites,
            boresight_azimuth_degrees=dish.azimuth,
            boresight_elevation_degrees=dish.elevation,
            power_watts=dish.power,
            location_available=True,
            dish_id=DISH_ID,
            hardware_version=HARDWARE_VERSION,
            software_version=SOFTWARE_VERSION,
        )
