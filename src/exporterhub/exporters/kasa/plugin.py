"""Wires the plug client, state and collector into a core exporter plugin.

One target per plug, each polled on its own ``PollScheduler`` loop (default every
30 s) with its own deadline, so a dead or slow plug never delays another. An
authentication failure pauses that plug's polling for ``AUTH_PAUSE`` seconds (logged
once); a plug whose energy module python-kasa switched off is rebuilt. No metric
naming and no value reading here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import structlog

from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.scheduler import PollScheduler, Tier
from exporterhub.core.snapshot import LinkState
from exporterhub.exporters.kasa.client import PlugClient, PlugError
from exporterhub.exporters.kasa.collector import KASA_SPECS, PREFIX
from exporterhub.exporters.kasa.settings import KasaTargetSettings, TapoSection
from exporterhub.exporters.kasa.state import KasaState, read_device

__all__ = ["AUTH_PAUSE", "PLUGIN", "KasaPlugin", "to_target"]

_log = structlog.get_logger(__name__)
AUTH_PAUSE: Final = 900.0
"""Seconds a plug that refused our credentials is left alone (or until reload)."""


class _Worker:
    """One plug: its client, state and polling loop."""

    def __init__(
        self,
        settings: KasaTargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.state = KasaState(legacy=settings.legacy_metrics)
        device = settings.device
        self.client = PlugClient(
            host=device.host,
            port=device.port,
            connection_type=device.connection_type,
            username=settings.username.get_secret_value(),
            password=settings.password.get_secret_value(),
            timeout=settings.timeout,
            deadline=settings.deadline,
        )
        self.paused_until = 0.0
        self._failing: str | None = None

    async def poll(self) -> None:
        """Update the plug once and publish; failures are counted, never raised."""
        if self.clock.monotonic() < self.paused_until:
            return
        started = time.perf_counter()
        try:
            device = await self.client.poll()
            reading = read_device(
                device, host=self.settings.device.host, protocol=self.client.protocol
            )
        except PlugError as exc:
            self._failed(exc.kind, time.perf_counter() - started)
            return
        self.state.apply(reading, time.perf_counter() - started)
        self.publisher.data(self.state.snapshot())
        if self._failing is not None:
            _log.info("plug_recovered", target=self.settings.name)
        self._failing = None
        if self.publisher.record.link is not LinkState.CONNECTED:
            self.publisher.link(LinkState.CONNECTED)
        if reading.energy_module_disabled:
            # python-kasa switched the energy module off after repeated errors;
            # only a new Device object turns it back on.
            _log.info("plug_energy_module_rebuilt", target=self.settings.name)
            await self.client.rebuild()

    def _failed(self, kind: str, duration: float) -> None:
        self.state.failed(kind, duration)
        self.publisher.update(self.state.snapshot())
        self.publisher.failed()
        if self._failing != kind:
            log = _log.warning if self._failing is None else _log.info
            log("plug_poll_failed", target=self.settings.name, error=kind)
        self._failing = kind
        if kind == "auth":
            self.paused_until = self.clock.monotonic() + AUTH_PAUSE
        if self.publisher.record.link is not LinkState.ERROR:
            self.publisher.link(LinkState.ERROR)

    async def run(self) -> None:
        """Poll until cancelled; disconnect the plug on the way out."""
        tier = Tier(
            name="poll",
            interval=self.settings.refresh_interval,
            timeout=self.settings.deadline + 5,
            poll=self.poll,
        )
        try:
            await PollScheduler(self.settings.name, [tier], clock=self.clock).run()
        finally:
            await self.client.close()


def _env(*names: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return ""


class KasaPlugin:
    """The Tapo/Kasa plug exporter as the core sees it."""

    kind: str = "tapo"
    prefix: str = PREFIX
    specs: Sequence[MetricSpec[Any]] = KASA_SPECS
    identity_labels: tuple[str, ...] = ("target",)

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.tapo`` section and return one target per plug.

        Credentials default to ``TP_LINK_USERNAME``/``TP_LINK_PASSWORD`` (or the
        ``TAPO_*`` spellings) from the environment; never from the file's logs.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        section = validate_model(
            TapoSection, data, source=source, prefix="exporters.tapo."
        )
        if not section.enabled:
            return []
        username = _env("TP_LINK_USERNAME", "TAPO_USERNAME")
        password = _env("TP_LINK_PASSWORD", "TAPO_PASSWORD")
        return [to_target(t) for t in section.targets(username, password)]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the target's name as its only identity label."""
        return (("target", target.name),)

    def max_age(self, target: Target) -> float:
        """Return how long a poll's values stay current."""
        return _settings(target).max_age

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Poll the plug until cancelled."""
        await _Worker(_settings(target), publisher, clock).run()


def to_target(settings: KasaTargetSettings) -> Target:
    """Wrap one plug's settings as a core ``Target``."""
    return Target(kind=KasaPlugin.kind, name=settings.name, settings=settings)


def _settings(target: Target) -> KasaTargetSettings:
    settings = target.settings
    if not isinstance(settings, KasaTargetSettings):
        raise TypeError(f"target {target.name} has no plug settings")
    return settings


PLUGIN: Final = KasaPlugin()
