"""The five exporters as the fault matrix drives them: simulators, targets, faults.

Each ``Subject`` starts the simulators one exporter needs on 127.0.0.1: the faulty
peer behind a ``FaultProxy`` (target ``f``) and, where the exporter watches more
than one device, a healthy peer of the same kind (target ``b``). It knows the
exporter's series: which are device values (must vanish while stale), which
counter counts which kind of error, which value is read for "the new state" after
a peer restart. Faults are ``async fault_<name>(on)`` methods: ``on=True``
starts the fault, ``on=False`` clears it.

Settings are short (sub-second intervals and timeouts, small backoff caps) so a
row runs in seconds on the real clock; every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from exporterhub.core.plugin import Target
from exporterhub.exporters.chaos.plugin import to_target as chaos_target
from exporterhub.exporters.chaos.settings import ChaosTargetSettings
from exporterhub.exporters.kasa.plugin import to_target as kasa_target
from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings
from exporterhub.exporters.phd2.plugin import to_target as phd2_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.exporters.snp.plugin import to_target as snp_target
from exporterhub.exporters.snp.settings import SnpTargetSettings
from exporterhub.exporters.starlink.plugin import StarlinkTargetSettings
from exporterhub.exporters.starlink.plugin import to_target as starlink_target
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator
from exporterhub.simulators.kasa import PlugSimulator, PlugSpec
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator
from exporterhub.simulators.snp import DeviceSpec, SnpFleet, SnpSimConfig
from exporterhub.simulators.starlink import (
    DishSimConfig,
    StarlinkDishSimulator,
    default_telemetry,
)
from tests.integration.conftest import Scrape

from .proxy import FaultProxy, Mode
from .resolver import RESOLVER

__all__ = ["SUBJECTS", "Subject"]

KASA_FIXTURES = Path(__file__).parent.parent / "fixtures" / "kasa"
PLUG_USER = "user@example.com"
PLUG_PASSWORD = "plug-password"


def _fixture(prefix: str) -> Path:
    (path,) = [p for p in KASA_FIXTURES.glob("*.json") if p.name.startswith(prefix)]
    return path


class Subject:
    """One exporter under fault; subclasses fill in the simulators and series.

    Attributes:
        kind: the exporter's kind.
        prefix: its metric prefix.
        recovery: seconds within which ``f`` must be up again once a fault
            clears: its backoff cap plus a poll and a timeout, with room for a
            loaded machine.
    """

    kind: ClassVar[str]
    prefix: ClassVar[str]
    recovery: ClassVar[float]
    has_bystander: ClassVar[bool] = True
    f: ClassVar[str] = "f"

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self.stack = stack
        self.proxy: FaultProxy | None = None
        self.host = "127.0.0.1"

    # -- what a subclass provides ---------------------------------------------

    async def start(self) -> None:
        """Start the simulators and the proxy in front of ``f``'s peer."""
        raise NotImplementedError

    def targets(self) -> list[Target]:
        """Return ``f`` (through the proxy) and ``b`` (direct), if any."""
        raise NotImplementedError

    def errors(self, scrape: Scrape) -> dict[str, float]:
        """Return ``f``'s error counts by kind."""
        raise NotImplementedError

    def new_state(self, scrape: Scrape) -> bool:
        """Say whether ``f`` shows the peer's state after a restart."""
        raise NotImplementedError

    def settled(self, fault: str, scrape: Scrape) -> bool:
        """Say whether ``f`` shows what the peer sent last after ``fault``.

        After a restart, the new peer's state; after a burst, every event of it
        (nothing dropped, the last value current).
        """
        if fault == "restart":
            return self.new_state(scrape)
        return True

    async def restart_peer(self) -> None:
        """Replace ``f``'s peer by a new one with other state; point the proxy at it."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------

    def all_errors(self, scrape: Scrape) -> dict[str, float]:
        """Return ``errors`` plus the core's reconnect count as ``reconnect``."""
        found = dict(self.errors(scrape))
        reconnects = self.counter(
            scrape, f"{self.prefix}_exporter_reconnects_total", "target"
        )
        found["reconnect"] = found.get("reconnect", 0.0) + sum(reconnects.values())
        return found

    def labels(self, name: str) -> dict[str, str]:
        """Return the label filter of target ``name``'s series."""
        return {"target": name}

    ready_value: ClassVar[str] = ""
    """A device value every healthy target shows once fully read."""

    def ready(self, scrape: Scrape, name: str) -> bool:
        """Say whether target ``name`` is up and fully read."""
        return (
            self.up(scrape, name) == 1.0
            and scrape.value(self.ready_value, **self.labels(name)) is not None
        )

    def up(self, scrape: Scrape, name: str) -> float | None:
        """Return ``<prefix>_up`` of target ``name``."""
        return scrape.value(f"{self.prefix}_up", **self.labels(name))

    def values(self, scrape: Scrape, name: str) -> dict[tuple[Any, ...], float]:
        """Return target ``name``'s device values: rows its metric table does not
        keep when stale (info, counters and health rows are kept)."""
        wanted = self.labels(name)
        shown = _value_names(self.kind)
        found = {}
        for sample in scrape.samples():
            if sample.name in shown and all(
                sample.labels.get(k) == v for k, v in wanted.items()
            ):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = (
                    sample.value
                )
        return found

    def counter(
        self, scrape: Scrape, family: str, label: str, **where: str
    ) -> dict[str, float]:
        """Return ``family``'s values for ``f`` summed by ``label``."""
        found: dict[str, float] = {}
        for sample in scrape.series(family):
            if sample.labels.get("target") != self.f or any(
                sample.labels.get(k) != v for k, v in where.items()
            ):
                continue
            key = sample.labels.get(label, "")
            found[key] = found.get(key, 0.0) + sample.value
        return found

    async def proxied(self, upstream: tuple[str, int]) -> FaultProxy:
        """Start a proxy in front of ``upstream``; stopped with the stack."""
        self.proxy = await self.stack.enter_async_context(FaultProxy(upstream))
        return self.proxy

    async def repoint(self, port: int) -> None:
        """Point the proxy at a new peer and drop the connections to the old one."""
        assert self.proxy is not None
        self.proxy.upstream = ("127.0.0.1", port)
        self.proxy.cut()

    # -- faults every TCP peer can suffer (through the proxy) -------------------

    async def fault_refused(self, on: bool) -> None:
        assert self.proxy is not None
        await self.proxy.set(Mode.REFUSE if on else Mode.PASS)

    async def fault_silent(self, on: bool) -> None:
        assert self.proxy is not None
        await self.proxy.set(Mode.SILENT if on else Mode.PASS)
        if not on:
            self.proxy.cut()  # a half-open socket is only ever noticed by timeouts

    async def fault_slow(self, on: bool) -> None:
        """The peer's bytes trickle in far slower than the exporter's timeouts."""
        assert self.proxy is not None
        await self.proxy.set(Mode.SLOW if on else Mode.PASS, delay=0.2, chunk=1)

    async def fault_reset(self, on: bool) -> None:
        """Every connection is cut with an RST a few bytes into the peer's answer."""
        assert self.proxy is not None
        await self.proxy.set(Mode.RESET if on else Mode.PASS, reset_after=7)

    async def fault_clock_jump(self, on: bool) -> None:
        """The wall clock steps back an hour and the peer goes quiet meanwhile."""
        clock = self.stack_clock
        if on:
            clock.jump(-3600.0)
        await self.fault_silent(on)

    async def fault_dns(self, on: bool) -> None:
        """``f``'s host name stops resolving (the resolver answers NXDOMAIN).

        An open connection needs no lookup, and clients cache answers (aiohttp
        for 10 s), so the peer's connections are also cut every second while
        the name is gone: each reconnect past the cache must look it up.
        """
        RESOLVER.broken = on
        if on:
            self._cutter = asyncio.create_task(self._keep_cutting())
        elif self._cutter is not None:
            self._cutter.cancel()
            self._cutter = None

    _cutter: asyncio.Task[None] | None = None

    async def _keep_cutting(self) -> None:
        assert self.proxy is not None
        while True:
            self.proxy.cut()
            await asyncio.sleep(1.0)  # the fault's own pace, not a wait in a test

    stack_clock: Any = None  # the rig's JumpClock, set by the test

    @property
    def dns_name(self) -> str:
        """Return ``f``'s host name: resolved by the test resolver to 127.0.0.1."""
        return RESOLVER.name(self.kind)


# ---------------------------------------------------------------------------


class Phd2(Subject):
    kind = "phd2"
    prefix = "phd2"
    ready_value = "phd2_pixel_scale"
    recovery = 15.0
    FAST: ClassVar[dict[str, Any]] = {
        "state_interval": 0.2,
        "equipment_interval": 0.2,
        "rpc_timeout": 0.5,
        "connect_timeout": 1.0,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.5,
    }

    async def _sim(self, hostname: str) -> Phd2Simulator:
        sim = Phd2Simulator(
            Phd2SimConfig(port=0, scripted=True, seed=7, hostname=hostname)
        )
        await sim.start()
        self.stack.push_async_callback(sim.stop)
        return sim

    async def start(self) -> None:
        self.sim = await self._sim("SIMULATOR")
        self.other = await self._sim("BYSTANDER")
        await self.proxied(("127.0.0.1", self.sim.port))

    def targets(self) -> list[Target]:
        assert self.proxy is not None
        return [
            phd2_target(
                Phd2TargetSettings(
                    name="f", host=self.host, port=self.proxy.port, **self.FAST
                )
            ),
            phd2_target(
                Phd2TargetSettings(
                    name="b", host="127.0.0.1", port=self.other.port, **self.FAST
                )
            ),
        ]

    def errors(self, scrape: Scrape) -> dict[str, float]:
        return self.counter(scrape, "phd2_error_total", "type")

    async def restart_peer(self) -> None:
        await self.sim.stop()
        self.sim = await self._sim("OBSERVATORY")
        await self.repoint(self.sim.port)

    def new_state(self, scrape: Scrape) -> bool:
        hosts = {s.labels["host"] for s in scrape.series("phd2_up")
                 if s.labels["target"] == "f"}  # fmt: skip
        return hosts == {"observatory"}

    async def fault_malformed(self, on: bool) -> None:
        self.sim.faults.malformed_every = 1 if on else 0
        if on:
            await self._events(5)

    async def fault_oversized(self, on: bool) -> None:
        self.sim.faults.overlong_every = 1 if on else 0
        if on:
            await self._events(3)

    def settled(self, fault: str, scrape: Scrape) -> bool:
        if fault == "burst":  # every GuideStep of the burst counted, none lost
            return scrape.value("phd2_guide_steps_total", target="f") == 50.0
        return super().settled(fault, scrape)

    async def fault_burst(self, on: bool) -> None:
        """Ten times PHD2's GuideStep rate (one per 2 s exposure): 50 in 10 s."""
        if on:
            await self._events(50)

    async def _events(self, count: int) -> None:
        for frame in range(1, count + 1):
            await self.sim.send_event(
                "GuideStep", Frame=frame, Time=float(frame), Mount="On-camera",
                dx=0.1, dy=0.1, RADistanceRaw=0.1, DECDistanceRaw=0.1,
                RADistanceGuide=0.07, DECDistanceGuide=0.0, StarMass=15873,
                SNR=31.08, HFD=2.46, AvgDist=0.47,
            )  # fmt: skip


class Kasa(Subject):
    kind = "tapo"
    prefix = "tapo"
    ready_value = "tapo_power_watts"
    recovery = 20.0

    async def _plug(self, profile: str, protocol: str, password: str) -> PlugSimulator:
        spec = PlugSpec(
            profile=_fixture(profile), protocol=protocol, frozen=True,  # type: ignore[arg-type]
            username=PLUG_USER, password=password,
        )  # fmt: skip
        return await self.stack.enter_async_context(PlugSimulator(spec))

    async def start(self) -> None:
        self.sim = await self._plug("P110", "klap", PLUG_PASSWORD)
        self.other = await self._plug("HS110", "xor", PLUG_PASSWORD)
        await self.proxied(("127.0.0.1", self.sim.port))

    def _target(self, name: str, host: str, port: int, kind: str) -> Target:
        return kasa_target(
            KasaTargetSettings(
                device=KasaDevice(
                    name=name, host=host, port=port, connection_type=kind
                ),
                username=SecretStr(PLUG_USER),
                password=SecretStr(PLUG_PASSWORD),
                refresh_interval=5,
                timeout=1,
                poll_deadline=3,
            )
        )

    def targets(self) -> list[Target]:
        assert self.proxy is not None
        return [
            self._target("f", self.host, self.proxy.port, "klap"),
            self._target("b", "127.0.0.1", self.other.port, "iot"),
        ]

    def errors(self, scrape: Scrape) -> dict[str, float]:
        return self.counter(scrape, "tapo_exporter_poll_errors_total", "error")

    async def restart_peer(self) -> None:
        self.sim.reboot()  # the meter restarts from zero
        assert self.proxy is not None
        self.proxy.cut()

    def new_state(self, scrape: Scrape) -> bool:
        # A reboot zeroes the meter: this month's energy starts again from 0.
        return scrape.value("tapo_energy_this_month_joules", target="f") == 0.0

    async def fault_malformed(self, on: bool) -> None:
        self.sim.faults.garbage = on

    async def fault_auth(self, on: bool) -> None:
        """The plug's account password is changed (a new plug answers)."""
        if on:
            self.locked = await self._plug("P110", "klap", "changed-by-its-owner")
            await self.repoint(self.locked.port)
        else:
            await self.repoint(self.sim.port)


class Chaos(Subject):
    kind = "chaos"
    prefix = "aaisp"
    ready_value = "aaisp_broadband_quota_remaining_bytes"
    recovery = 15.0
    FAST: ClassVar[dict[str, Any]] = {
        "fast_interval": 0.3,
        "medium_interval": 0.6,
        "slow_interval": 1.2,
        "min_request_interval": 0.0,
        "request_timeout": 0.5,
        "retry_initial": 0.05,
        "retry_max": 1.0,
        "max_retries": 1,
        "auth_backoff": 1.0,
    }

    async def _sim(self, seed: int | None = None) -> ChaosSimulator:
        return await self.stack.enter_async_context(
            ChaosSimulator(ChaosSimConfig(port=0, seed=seed))
        )

    async def start(self) -> None:
        self.sim = await self._sim()
        self.other = await self._sim()
        await self.proxied(("127.0.0.1", self.sim.port))

    def _target(self, name: str, url: str) -> Target:
        return chaos_target(
            ChaosTargetSettings(
                name=name,
                control_login="exmpl@a",
                control_password=SecretStr("demo-password"),
                api_url=url,
                **self.FAST,
            )
        )

    def targets(self) -> list[Target]:
        assert self.proxy is not None
        return [
            self._target("f", f"http://{self.host}:{self.proxy.port}"),
            self._target("b", self.other.base_url),
        ]

    def errors(self, scrape: Scrape) -> dict[str, float]:
        return self.counter(scrape, "aaisp_collector_errors_total", "error_type")

    async def restart_peer(self) -> None:
        await self.sim.stop()
        self.sim = await self._sim()
        self.sim.quota_tick()  # the new CHAOS has moved on an hour
        await self.repoint(self.sim.port)

    def new_state(self, scrape: Scrape) -> bool:
        stamp = scrape.value(
            "aaisp_broadband_quota_timestamp_seconds", target="f", service="40213"
        )
        return stamp == 1_741_615_200 + 3600

    async def fault_malformed(self, on: bool) -> None:
        self.sim.faults.malformed_every = 1 if on else 0

    async def fault_auth(self, on: bool) -> None:
        self.sim.model.data.logins[0].password = (
            "changed-by-the-customer" if on else "demo-password"
        )

    async def fault_http_5xx(self, on: bool) -> None:
        self.sim.faults.status_5xx = 503
        self.sim.faults.retry_after = None
        self.sim.faults.status_5xx_every = 1 if on else 0

    async def fault_http_429(self, on: bool) -> None:
        self.sim.faults.retry_after = 1
        self.sim.faults.rate_limit_429_every = 1 if on else 0


class Snp(Subject):
    kind = "snp"
    prefix = "ic_snp"
    ready_value = "ic_snp_mainboard_temperature"
    recovery = 20.0
    OBJECTS: ClassVar[list[dict[str, str]]] = [
        {"elementIP": "127.0.0.1", "objectType": "ptp"},
        {"elementIP": "127.0.0.1", "objectType": "system"},
    ]
    FAST: ClassVar[dict[str, Any]] = {
        "interval": 1.0,
        "reconnect_max": 1.0,
        "timeout": 1.0,
        "stale_after": 2.0,
        "ping_interval": 1.0,
    }

    async def start(self) -> None:
        config = SnpSimConfig(
            devices=[DeviceSpec(name="SNP-F"), DeviceSpec(name="SNP-B")],
            first_status_delay=0.05,
            keepalive_interval=0.5,
            drift=False,
        )
        self.fleet = await self.stack.enter_async_context(SnpFleet(config))
        self.device, self.other = self.fleet.devices
        await self.proxied(("127.0.0.1", self.device.port))

    def _target(self, name: str, device: Any, port: int, host: str) -> Target:
        record = device.connection(self.OBJECTS)
        fields = {
            "restapi": record["restapi"].replace(
                f"127.0.0.1:{device.port}", f"{host}:{port}"
            ),
            "websocket": record["websocket"].replace(
                f"127.0.0.1:{device.port}", f"{host}:{port}"
            ),
            "username": record["username"],
            "password": record["password"],
            "objects_ids": record["objects_ids"],
        }
        return snp_target(SnpTargetSettings(name=name, **fields, **self.FAST))

    def targets(self) -> list[Target]:
        assert self.proxy is not None
        return [
            self._target("f", self.device, self.proxy.port, self.host),
            self._target("b", self.other, self.other.port, "127.0.0.1"),
        ]

    def errors(self, scrape: Scrape) -> dict[str, float]:
        found = {
            f"rest_{k}": v
            for k, v in self.counter(
                scrape, "ic_snp_exporter_rest_errors_total", "call"
            ).items()
        }
        for family, kind in (
            ("ic_snp_exporter_parse_errors_total", "parse"),
            ("ic_snp_exporter_auth_failures_total", "auth"),
            ("ic_snp_exporter_reconnects_total", "reconnect"),
            ("ic_snp_exporter_unhandled_objects_total", "unhandled"),
        ):
            found[kind] = sum(self.counter(scrape, family, "target").values())
        return found

    async def restart_peer(self) -> None:
        self.device.faults.reboot(for_seconds=1.0)
        self.device.model.set_temperature("Main_Board", 61.0)

    def new_state(self, scrape: Scrape) -> bool:
        return scrape.value("ic_snp_mainboard_temperature", target="f") == 61.0

    async def fault_malformed(self, on: bool) -> None:
        if on:
            self.device.faults.send_malformed("not_json")
            self.device.faults.send_malformed("bad_item")

    async def fault_oversized(self, on: bool) -> None:
        if on:
            self.device.faults.send_malformed("oversize")

    async def fault_auth(self, on: bool) -> None:
        if on:
            self.device.faults.reject_login(401)
            self.device.faults.close(1011)  # the next login is refused
        else:
            self.device.faults.accept()

    async def fault_http_5xx(self, on: bool) -> None:
        if on:
            self.device.faults.reject_login(503)
            self.device.faults.close(1011)
        else:
            self.device.faults.accept()

    async def fault_http_429(self, on: bool) -> None:
        if on:
            self.device.faults.reject_login(429)
            self.device.faults.close(1011)
        else:
            self.device.faults.accept()

    def settled(self, fault: str, scrape: Scrape) -> bool:
        if fault == "burst":  # the burst's last value is the current one
            return scrape.value("ic_snp_mainboard_temperature", target="f") == 47.5
        return super().settled(fault, scrape)

    async def fault_burst(self, on: bool) -> None:
        """Ten times the PTP rate limit (1 s): 100 changes as fast as they come."""
        if on:
            for step in range(100):
                self.device.model.set_temperature("Main_Board", 40.0 + step % 10)
            self.device.model.set_temperature("Main_Board", 47.5)


class Starlink(Subject):
    kind = "starlink"
    prefix = "starlink"
    ready_value = "starlink_network_latency_ms"
    recovery = 15.0
    has_bystander = False
    f = "dish"

    async def _dish(self, latency: float | None = None) -> StarlinkDishSimulator:
        provider: Callable[[], Any] | None = None
        if latency is not None:
            from dataclasses import replace

            sample = replace(default_telemetry(), latency_ms=latency)
            provider = lambda: sample  # noqa: E731
        return await self.stack.enter_async_context(
            StarlinkDishSimulator(DishSimConfig(port=0), provider=provider)
        )

    async def start(self) -> None:
        self.dish = await self._dish()
        await self.proxied(("127.0.0.1", self.dish.port))

    def targets(self) -> list[Target]:
        assert self.proxy is not None
        config = StarlinkConfig.model_validate(
            {
                "mode": "live",
                "update_interval_seconds": 0.2,
                "live": {
                    "dish_address": f"127.0.0.1:{self.proxy.port}",
                    "timeout_seconds": 0.5,
                    "location_interval_seconds": 1.0,
                },
            }
        )
        return [starlink_target(StarlinkTargetSettings(name="dish", config=config))]

    def all_errors(self, scrape: Scrape) -> dict[str, float]:
        """Return ``errors`` plus the core's reconnect count as ``reconnect``."""
        found = dict(self.errors(scrape))
        reconnects = self.counter(
            scrape, f"{self.prefix}_exporter_reconnects_total", "target"
        )
        found["reconnect"] = found.get("reconnect", 0.0) + sum(reconnects.values())
        return found

    def labels(self, name: str) -> dict[str, str]:
        return {}  # one dish per process: no identity labels

    def counter(
        self, scrape: Scrape, family: str, label: str, **where: str
    ) -> dict[str, float]:
        return {
            s.labels.get(label, ""): s.value
            for s in scrape.series(family)
            if all(s.labels.get(k) == v for k, v in where.items())
        }

    def errors(self, scrape: Scrape) -> dict[str, float]:
        return self.counter(scrape, "starlink_exporter_poll_errors_total", "error")

    async def restart_peer(self) -> None:
        await self.dish.stop()
        self.dish = await self._dish(latency=77.0)
        await self.repoint(self.dish.port)

    def new_state(self, scrape: Scrape) -> bool:
        return scrape.value("starlink_network_latency_ms") == 77.0


def _value_names(kind: str) -> frozenset[str]:
    """Return the exposed names of ``kind``'s rows that go when stale."""
    from .rig import PLUGINS

    names: set[str] = set()
    for spec in PLUGINS[kind].specs:
        if not spec.keep_when_stale:
            names.update((spec.name, f"{spec.name}_total", f"{spec.name}_info"))
    return frozenset(names)


SUBJECTS: dict[str, type[Subject]] = {
    s.kind: s for s in (Phd2, Starlink, Kasa, Chaos, Snp)
}
