"""Many simulated SNPs in one process, driven by shared timers.

:class:`SnpFleet` starts one :class:`~exporterhub.simulators.snp.server.SnpDevice`
per :class:`~exporterhub.simulators.snp.config.DeviceSpec`, each on its own port
(or its own loopback address), with its own credentials, tokens, state and
objects. The periodic work of every device runs from a handful of fleet-wide
timers on one :class:`~exporterhub.simulators.snp.timers.Scheduler` task, never a
task per device per timer:

- every ``ptp_interval`` (1 s): a PTP drift step on each device, then each
  session flushes rate-limited changes (and re-sends in load mode);
- every ``system_interval`` (10 s): a temperature and fan drift step;
- every ``keepalive_interval`` (5 s): ``fmmStatus`` (encoded once for the whole
  fleet) and ``permissionsMsg`` to each session;
- every ``alarm_interval`` (off by default): ``activeAlarmStatus``.

With TLS one certificate authority and one server certificate (naming every
device's address) serve the whole fleet. For large fleets the open-file soft
limit is raised to fit (one or two listeners per device plus its clients).

This module must not bind sockets itself (the devices do) or import exporter code.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import structlog

from exporterhub.simulators.snp.catalog import load_catalog
from exporterhub.simulators.snp.config import SnpSimConfig
from exporterhub.simulators.snp.server import DEFAULT_OBJECT_IDS, SnpDevice
from exporterhub.simulators.snp.timers import Clock, Scheduler, SystemClock, Timer
from exporterhub.simulators.snp.tls import Certificates, make_certificates
from exporterhub.simulators.snp.wire import fmm_status

__all__ = ["SnpFleet", "raise_file_limit"]

_log = structlog.get_logger(__name__)

FILES_PER_DEVICE: Final = 4  # listener(s) + an exporter's connections
SPARE_FILES: Final = 256
START_BATCH: Final = 256


def raise_file_limit(wanted: int) -> int:
    """Raise the open-file soft limit toward ``wanted`` (capped by the hard limit).

    Returns:
        The soft limit now in force (``wanted`` where the platform has no limits).
    """
    try:
        import resource  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        _log.info("snp_file_limit_raised", soft=target, hard=hard)
        return target
    return soft


class SnpFleet:
    """N simulated SNPs in one process; an async context manager.

    Attributes:
        config: the settings it was built from.
        clock: the clock every device uses.
        scheduler: the shared timer task.
        devices: one per ``config.devices`` entry, in order.
        certificates: the CA and server certificate with ``tls``, else ``None``.
    """

    def __init__(self, config: SnpSimConfig) -> None:
        names = [spec.name for spec in config.devices]
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique")
        self.config = config
        self.clock: Clock = config.clock or SystemClock()
        self.scheduler = Scheduler(self.clock)
        catalog = load_catalog()
        self.devices = [
            SnpDevice(
                spec,
                index=index,
                config=config,
                scheduler=self.scheduler,
                catalog=catalog,
            )
            for index, spec in enumerate(config.devices)
        ]
        self.certificates: Certificates | None = None
        self._by_name = {device.name: device for device in self.devices}
        self._timers: list[Timer] = []
        self._running = False

    def device(self, name: str) -> SnpDevice:
        """Return the device called ``name``.

        Raises:
            KeyError: no such device.
        """
        return self._by_name[name]

    def client_ssl_context(self) -> ssl.SSLContext:
        """Return a client TLS context that trusts the fleet's generated CA.

        Raises:
            RuntimeError: the fleet does not serve TLS (or has not started).
        """
        if self.certificates is None:
            raise RuntimeError("the fleet serves no TLS")
        return self.certificates.client_context()

    def connections(
        self, objects_ids: Sequence[Mapping[str, str]] = DEFAULT_OBJECT_IDS
    ) -> list[dict[str, Any]]:
        """Return every device as an exporter connection record."""
        return [device.connection(objects_ids) for device in self.devices]

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start every device and the shared timers.

        Raises:
            RuntimeError: already started.
            ConfigError: a port cannot be bound; nothing stays bound then.
        """
        if self._running:
            raise RuntimeError("fleet already started")
        self._running = True
        config = self.config
        if config.raise_file_limit:
            raise_file_limit(FILES_PER_DEVICE * len(self.devices) + SPARE_FILES)
        context = None
        if config.tls:
            hosts = {"127.0.0.1", *(device.host for device in self.devices)}
            self.certificates = make_certificates(sorted(hosts))
            context = self.certificates.server_context()
        try:
            for first in range(0, len(self.devices), START_BATCH):
                batch = self.devices[first : first + START_BATCH]
                await asyncio.gather(*(device.start(context) for device in batch))
        except BaseException:
            await self.stop()
            raise
        every = self.scheduler.every
        self._timers = [
            every(config.ptp_interval, self._tick),
            every(config.keepalive_interval, self._keepalive),
        ]
        if config.drift:
            self._timers.append(every(config.system_interval, self._drift_system))
        if config.alarm_interval is not None:
            self._timers.append(every(config.alarm_interval, self._repeat_alarms))
        self.scheduler.start()
        _log.info("snp_fleet_started", devices=len(self.devices), tls=config.tls)

    async def stop(self) -> None:
        """Stop the timers and every device; idempotent."""
        if not self._running:
            return
        self._running = False
        for timer in self._timers:
            timer.cancel()
        await self.scheduler.stop()
        for first in range(0, len(self.devices), START_BATCH):
            batch = self.devices[first : first + START_BATCH]
            await asyncio.gather(*(device.stop() for device in batch))
        _log.info("snp_fleet_stopped", devices=len(self.devices))

    async def __aenter__(self) -> SnpFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ shared timers

    def _tick(self) -> None:
        now = self.scheduler.now()
        drift = self.config.drift
        for device in self.devices:
            if drift:
                device.model.drift_ptp()
            device.tick(now)

    def _drift_system(self) -> None:
        for device in self.devices:
            device.model.drift_system()

    def _keepalive(self) -> None:
        payload = fmm_status(self.clock.time())
        for device in self.devices:
            device.keepalive(payload)

    def _repeat_alarms(self) -> None:
        for device in self.devices:
            device.send_alarms()
