"""One plug's worker: its client, its state and when it reads the plug.

A worker reads its plug every ``interval`` seconds on its own ``PollScheduler``
loop, or, with ``on_scrape`` (the original's ``refresh_interval: null``), once at
start and then whenever a scrape asks through ``ScrapeReads``: one read in flight
at a time, shared by the scrapes that come meanwhile. Each read is bounded by the
plug's deadline, so a dead or slow plug never delays another. An authentication
failure pauses the plug for ``AUTH_PAUSE`` seconds (logged once); a plug whose
energy module python-kasa switched off is rebuilt. No metric naming and no value
reading here (``state`` reads, ``collector`` names).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Final

import structlog

from exporterhub.core.clock import Clock
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.scheduler import PollScheduler, Tier
from exporterhub.core.snapshot import LinkState
from exporterhub.exporters.kasa.client import PlugClient, PlugError
from exporterhub.exporters.kasa.discovery import normal_mac
from exporterhub.exporters.kasa.onscrape import ScrapeReads
from exporterhub.exporters.kasa.section import KasaTargetSettings
from exporterhub.exporters.kasa.state import KasaState, read_device

__all__ = ["AUTH_PAUSE", "PlugWorker"]

_log = structlog.get_logger(__name__)
AUTH_PAUSE: Final = 900.0
"""Seconds a plug that refused our credentials is left alone (or until reload)."""


class PlugWorker:
    """One plug: its client, state and polling loop."""

    def __init__(
        self,
        settings: KasaTargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
        scrape_reads: ScrapeReads | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.scrape_reads = scrape_reads
        self._reading: asyncio.Future[None] | None = None
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
            login_version=device.login_version,
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
            if exc.kind == "connection":
                # python-kasa keeps a KLAP session it believes in: a plug whose
                # password changed answers every query with an error code, never
                # an authentication error. A new Device handshakes afresh.
                await self.client.close()
            return
        expected = self.settings.expect_mac
        if expected and normal_mac(reading.mac) not in ("", expected):
            # DHCP gave this address to another plug: its values are not ours.
            self._failed("wrong_device", time.perf_counter() - started)
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
        self.publisher.failed(error=kind)
        if self._failing != kind:
            log = _log.warning if self._failing is None else _log.info
            log("plug_poll_failed", target=self.settings.name, error=kind)
        self._failing = kind
        if kind == "auth":
            self.paused_until = self.clock.monotonic() + AUTH_PAUSE
        if self.publisher.record.link is not LinkState.ERROR:
            self.publisher.link(LinkState.ERROR, error=kind)
        if self.settings.on_scrape:
            # Read for a scrape: what the plug said before is not what it says now.
            self.publisher.expire()

    def read(self) -> asyncio.Future[None]:
        """Start a read unless one is in flight; return the one in flight.

        Concurrent scrapes share one read, so they never pile up on the plug.
        """
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_once())
        return self._reading

    async def _read_once(self) -> None:
        try:
            await asyncio.wait_for(self.poll(), self.settings.deadline + 5)
        except TimeoutError:  # python-kasa outlived its own deadline and ours
            self._failed("timeout", self.settings.deadline + 5)
        except Exception:  # a python-kasa bug must not end the worker's reads
            _log.exception("plug_read_failed", target=self.settings.name)

    async def run(self) -> None:
        """Poll until cancelled; disconnect the plug on the way out.

        With ``on_scrape`` the plug is read once now and then only when a scrape
        asks (``ScrapeReads``); otherwise every ``interval`` seconds.
        """
        tier = Tier(
            name="poll",
            interval=self.settings.interval,
            timeout=self.settings.deadline + 5,
            poll=self.poll,
        )
        reads, registry = self.scrape_reads, self.publisher.registry
        try:
            if self.settings.on_scrape and reads is not None:
                reads.join(registry, self)
                await self.read()
                await asyncio.Event().wait()  # until cancelled: scrapes read
            else:
                await PollScheduler(self.settings.name, [tier], clock=self.clock).run()
        finally:
            if reads is not None:
                reads.leave(registry, self)
            if self._reading is not None and not self._reading.done():
                self._reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reading
            await self.client.close()
