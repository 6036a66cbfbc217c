"""Wires the Starlink engine, live client, state and collector into a core plugin.

One target: the dish. Its worker runs a loop every ``update_interval_seconds``: in
simulation mode it steps the engine by the real elapsed time; in live mode it polls
the dish through ``LiveDishClient`` and maps the answer. Each pass publishes a new
snapshot; a failed pass keeps the last good values, counts the error and never
stops the loop. Configuration updates from the REST API apply on the next pass.

Live mode reads ``get_status`` on every pass but ``get_location`` only every
``live.location_interval_seconds`` (``shared/protocols/starlink.md`` §6, "Polling
plan"), and always on the first pass of a new client (start, a changed ``live``
section, a mode switch) and the first good pass after a failed one (the library
reconnects then; the dish may have rebooted or moved). A pass that does not read
the location publishes the position fields of the last read unchanged — the
series neither vanish nor flap, a refusal keeps them absent — and feeds no
location to the fix/motion logic, so nothing is derived from an old fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Final

import structlog
from pydantic import BaseModel, ConfigDict, Field

from exporterhub.core.app import HubState
from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.errors import ConnectionLostError
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.snapshot import LinkState
from exporterhub.exporters.starlink.collector import PREFIX, STARLINK_SPECS
from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.exporters.starlink.state import StarlinkState
from exporterhub.exporters.starlink.telemetry import Telemetry

__all__ = [
    "PLUGIN",
    "StarlinkPlugin",
    "StarlinkTargetSettings",
    "carry_position",
    "to_target",
]

_log = structlog.get_logger(__name__)
DISH_TARGET: Final = "dish"


class StarlinkTargetSettings(BaseModel):
    """The one dish a Starlink exporter watches (or simulates)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = DISH_TARGET
    config: StarlinkConfig = Field(default_factory=StarlinkConfig)


class StarlinkSection(BaseModel):
    """The ``exporters.starlink`` section of the exporterhub YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    config: StarlinkConfig = Field(default_factory=StarlinkConfig)


class Worker:
    """The dish's loop: simulation steps or live polls, and the current config."""

    def __init__(
        self,
        settings: StarlinkTargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
    ) -> None:
        self.config = settings.config
        self.publisher = publisher
        self.clock = clock
        self.state = StarlinkState(self.config.mode, legacy=self.config.legacy_metrics)
        self.engine = SimulationEngine(
            self.config, seed=self.config.seed, start_wall=clock.time()
        )
        self._client: Any = None
        self._fix: Any = None
        # (monotonic s, sample) of the last pass that read the location; None =
        # read it on the next pass.
        self._location_read: tuple[float, Telemetry] | None = None
        self._last_step: float | None = None
        self._engine_errors = 0
        self._failing = False
        self._wake = asyncio.Event()
        self.passes = 0

    @property
    def telemetry(self) -> Telemetry | None:
        """Return the latest sample (for /api/status)."""
        return self.state.telemetry

    def update_config(self, config: StarlinkConfig) -> None:
        """Apply a validated configuration at once (no restart, no lost state).

        The loop is woken so a shorter interval or a mode switch takes effect now,
        and the freshness limit follows the new interval.
        """
        self.engine.apply_config(config)
        if config.mode != self.config.mode or config.live != self.config.live:
            self._close_client()
        self.state.set_mode(config.mode)
        self.state.legacy = config.legacy_metrics
        self.config = config
        self.publisher.set_max_age(max_age(config))
        self._wake.set()

    def close(self) -> None:
        """Close the dish client, if any (``run`` does this when it ends)."""
        self._close_client()

    def _close_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None
        self._fix = None

    def _simulate(self) -> Telemetry:
        now = self.clock.monotonic()
        dt = 0.0 if self._last_step is None else max(0.0, now - self._last_step)
        self._last_step = now
        telemetry = self.engine.step(dt, self.clock.time())
        # The engine never raises: a failing component keeps its last values and
        # counts. Count those here too, and report the step as failed.
        failures = self.engine.errors - self._engine_errors
        self._engine_errors = self.engine.errors
        for _ in range(failures):
            self.state.failed("step")
        if failures:
            raise _StepFailedError(telemetry, self.engine.failed_components)
        return telemetry

    async def _poll(self) -> Telemetry:
        from exporterhub.exporters.starlink.client import LiveDishClient
        from exporterhub.exporters.starlink.protocol import telemetry_from_dish

        live = self.config.live
        if self._client is None:
            self._client = LiveDishClient(
                live.dish_address, timeout=live.timeout_seconds
            )
            # Here, not in _close_client: a pass still in flight when the config
            # changed must not mark the new client's location as read.
            self._location_read = None
        started = self.clock.monotonic()
        last = self._location_read
        read = last is None or started - last[0] >= live.location_interval_seconds
        status, obstruction, alerts, location = await self._client.poll(
            read_location=read
        )
        # Not read: location is None, so the anchor stays and no position is made.
        telemetry, self._fix = telemetry_from_dish(
            status,
            obstruction,
            alerts,
            location,
            now=self.clock.time(),
            previous_fix=self._fix,
        )
        if read or last is None:
            self._location_read = (started, telemetry)
            return telemetry
        return carry_position(telemetry, last[1])

    async def one_pass(self) -> bool:
        """Step or poll once and publish; return whether it succeeded."""
        started = time.perf_counter()
        try:
            if self.config.mode == "simulation":
                telemetry = self._simulate()
            else:
                telemetry = await self._poll()
        except _StepFailedError as partial:
            # Keep the values the healthy components produced; the step is down.
            self.state.apply(partial.telemetry, time.perf_counter() - started)
            self._failed("step", components=partial.components)
            return False
        except ConnectionLostError as exc:
            self.state.failed(exc.reason)
            self._failed(exc.reason)
            return False
        except Exception:  # a failing pass keeps the last good values
            if not self._failing:
                _log.exception("starlink_step_failed", mode=self.config.mode)
            else:
                _log.debug("starlink_step_failed_again", mode=self.config.mode)
            self.state.failed("step" if self.config.mode == "simulation" else "error")
            self._failed("step")
            return False
        self.state.apply(telemetry, time.perf_counter() - started)
        self.publisher.data(self.state.snapshot())
        if self._failing:
            _log.info("starlink_recovered", mode=self.config.mode)
        self._failing = False
        if self.publisher.record.link is not LinkState.CONNECTED:
            self.publisher.link(LinkState.CONNECTED)
        return True

    def _failed(self, reason: str, components: tuple[str, ...] = ()) -> None:
        # The next good pass reads the location again (see the module docstring).
        self._location_read = None
        # The failing simulation components, by name, in the log and in the
        # target's last error (/api/targets): "step" alone says too little.
        detail = f"failed: {', '.join(components)}" if components else None
        self.publisher.update(self.state.snapshot())
        self.publisher.failed(error=reason, detail=detail)
        if not self._failing:
            _log.warning(
                "starlink_pass_failed",
                reason=reason,
                mode=self.config.mode,
                components=list(components),
            )
        self._failing = True
        if self.publisher.record.link is not LinkState.ERROR:
            self.publisher.link(LinkState.ERROR, error=reason, detail=detail)

    async def run(self) -> None:
        """Loop until cancelled, one pass per update interval."""
        try:
            while True:
                started = self.clock.monotonic()
                self._wake.clear()
                await self.one_pass()
                self.passes += 1
                spent = self.clock.monotonic() - started
                await self._pause(max(0.0, self.config.update_interval_seconds - spent))
        finally:
            self.close()

    async def _pause(self, seconds: float) -> None:
        """Sleep until the next pass, or until a configuration change wakes us."""
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()


def carry_position(sample: Telemetry, last_read: Telemetry) -> Telemetry:
    """Return ``sample`` with the position fields of the last location read.

    For live passes that did not read ``get_location``: latitude, longitude,
    altitude, speed, heading and ``location_available`` come from ``last_read`` (all
    absent and ``location_available`` False when that read was refused); every
    other field is this pass's. Pure.
    """
    return replace(
        sample,
        latitude_degrees=last_read.latitude_degrees,
        longitude_degrees=last_read.longitude_degrees,
        altitude_meters=last_read.altitude_meters,
        speed_knots=last_read.speed_knots,
        heading_degrees=last_read.heading_degrees,
        location_available=last_read.location_available,
    )


class _StepFailedError(Exception):
    """A simulation step in which a component failed; carries the kept values."""

    def __init__(self, telemetry: Telemetry, components: tuple[str, ...]) -> None:
        super().__init__(f"simulation components failed: {components}")
        self.telemetry = telemetry
        self.components = components


def max_age(config: StarlinkConfig) -> float:
    """Return how long a sample stays current: a few update intervals."""
    return max(3 * config.update_interval_seconds, 2 * config.live.timeout_seconds)


class StarlinkPlugin:
    """The Starlink exporter as the core sees it."""

    stored: ClassVar[StoredKind]
    """How the control plane stores, validates and describes this kind."""

    kind: str = "starlink"
    prefix: str = PREFIX
    specs: Sequence[MetricSpec[Any]] = STARLINK_SPECS
    identity_labels: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.workers: dict[str, Worker] = {}

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.starlink`` section and return the dish target.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        section = validate_model(
            StarlinkSection, data, source=source, prefix="exporters.starlink."
        )
        if not section.enabled:
            return []
        return [to_target(StarlinkTargetSettings(config=section.config))]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return no labels: the requirement's metrics are label-free (one dish)."""
        return ()

    def max_age(self, target: Target) -> float:
        """Return how long a sample stays current: a few update intervals."""
        return max_age(_settings(target).config)

    def extend_app(self, hub: HubState) -> None:
        """Add /api/status, /api/config and the mode to /health."""
        from exporterhub.exporters.starlink.api import build_router, health_fields

        hub.routers.append(build_router(self))
        hub.health_fields.append(lambda: health_fields(self, hub))

    def worker(self) -> Worker | None:
        """Return the running dish worker, if any."""
        return self.workers.get(DISH_TARGET)

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Run the dish loop until cancelled."""
        worker = Worker(_settings(target), publisher, clock)
        self.workers[target.name] = worker
        try:
            await worker.run()
        finally:
            if self.workers.get(target.name) is worker:
                del self.workers[target.name]


def to_target(settings: StarlinkTargetSettings) -> Target:
    """Wrap the dish settings as a core ``Target``."""
    return Target(kind=StarlinkPlugin.kind, name=settings.name, settings=settings)


def _settings(target: Target) -> StarlinkTargetSettings:
    settings = target.settings
    if not isinstance(settings, StarlinkTargetSettings):
        raise TypeError(f"target {target.name} has no Starlink settings")
    return settings


StarlinkPlugin.stored = StoredKind(
    kind=StarlinkPlugin.kind,
    title="Starlink dish",
    model=StarlinkTargetSettings,
    to_target=to_target,
    key_metrics=(
        "starlink_network_latency_ms",
        "starlink_network_throughput_down_mbps",
        "starlink_dish_obstruction_percent",
    ),
    summary="A Starlink dish: simulated (the default) or read over gRPC.",
)

PLUGIN: Final = StarlinkPlugin()
