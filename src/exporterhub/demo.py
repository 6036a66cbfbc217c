"""``exporterhub demo``: every exporter against its own simulator on 127.0.0.1.

Starts the simulators on loopback, puts a target for each into a throwaway target
store (so the UI can edit, disable and delete them, and add more) and serves
metrics, API and UI until Ctrl-C. Two more plugs are left for plug discovery to
find (unicast, as loopback has no broadcast); a rack of four SNPs is served by one
simulator process. Only wiring; the simulators and exporters are the real ones.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from exporterhub.core.control import storable_kinds
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.store import TargetStore, store_url
from exporterhub.exporters import load_plugins
from exporterhub.exporters.chaos.plugin import to_target as chaos_target
from exporterhub.exporters.chaos.settings import ChaosTargetSettings
from exporterhub.exporters.kasa.plugin import discovery_target
from exporterhub.exporters.kasa.plugin import to_target as plug_target
from exporterhub.exporters.kasa.settings import (
    DiscoveryOptions,
    KasaDevice,
    KasaDiscoverySettings,
    KasaTargetSettings,
)
from exporterhub.exporters.phd2.plugin import to_target as phd2_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.exporters.snp.plugin import to_target as snp_target
from exporterhub.exporters.snp.settings import SnpTargetSettings
from exporterhub.exporters.starlink.plugin import StarlinkTargetSettings
from exporterhub.exporters.starlink.plugin import to_target as starlink_target
from exporterhub.hub import build_hub, serve
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator
from exporterhub.simulators.kasa import KasaSimulator, PlugSimulator, default_specs
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator
from exporterhub.simulators.snp import SnpFleet, SnpSimConfig

__all__ = ["run_demo"]

_PHD2_INSTANCES = (("OBSERVATORY", 1, 4400), ("OBSERVATORY", 2, 4401))
_CHAOS_PORT = 8099
# The simulator's fictional account (simulators/chaos/data/chaos.json), not a real one.
_CHAOS_LOGIN = "exmpl@a"
_CHAOS_PASSWORD = "demo-password"  # noqa: S105 - the simulator's made-up password
_PLUG_USER = "user@example.com"
_PLUG_PASSWORD = "plug-password"  # noqa: S105 - the simulated plugs' made-up password
_SNP_RACK = 4
"""SNPs in the demo's rack, all served by one simulator (``snp-rack-1`` …)."""


class _Simulator(Protocol):
    @property
    def port(self) -> int: ...

    async def stop(self) -> None: ...


def _free(port: int) -> int:
    """Return ``port`` if it is free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


_DISCOVERED_MACS = ("02:00:5E:00:01:01", "02:00:5E:00:01:02")
_DISCOVERY_ADDRESS = "127.0.0.42"
"""The SMART plug's own loopback address (SMART discovery uses fixed UDP 20002)."""


async def _discoverable_plugs(running: list[tuple[str, _Simulator]]) -> list[str]:
    """Start two plugs that only discovery knows about; return where to ask.

    A SMART plug needs UDP 20002 on its own loopback address; if that is taken
    (another demo), the demo goes on with the legacy plug alone.
    """
    xor, klap = default_specs(n_xor=1, n_klap=1)
    addresses: list[str] = []
    placed = ((xor, "127.0.0.1"), (klap, _DISCOVERY_ADDRESS))
    for (spec, host), mac in zip(placed, _DISCOVERED_MACS, strict=True):
        spec.discovery, spec.mac, spec.host = True, mac, host
        spec.alias = f"Discovered plug {len(addresses) + 1}"
        plug = PlugSimulator(spec)
        try:
            await plug.start()
        except OSError as exc:
            print(f"  (no discoverable plug on {host}: {exc})", flush=True)
            continue
        running.append((f"plug found by discovery ({plug.protocol})", plug))
        addresses.append(f"{host}:{plug.port}" if plug.protocol == "xor" else host)
    return addresses


def _finder(addresses: list[str]) -> Target:
    """Discovery asking each address by unicast once a minute."""
    return discovery_target(
        KasaDiscoverySettings(
            options=DiscoveryOptions.model_validate(
                {"targets": addresses, "interval": 60, "discovery_timeout": 2}
            ),
            username=SecretStr(_PLUG_USER),
            password=SecretStr(_PLUG_PASSWORD),
        )
    )


async def _snp_rack(fleets: list[SnpFleet]) -> list[Target]:
    """Start the rack of simulated SNPs; return one stored target per device.

    The simulator invents each device's credentials; the records carry them, as
    a user's connection records would (their ``enabled`` is the store's column).
    """
    fleet = SnpFleet(
        SnpSimConfig(devices=SnpSimConfig.fleet(_SNP_RACK, prefix="snp-rack-"))
    )
    await fleet.start()
    fleets.append(fleet)
    return [
        snp_target(
            SnpTargetSettings.model_validate(
                {key: value for key, value in record.items() if key != "enabled"}
            )
        )
        for record in fleet.connections()
    ]


async def _throwaway_store(
    directory: Path, plugins: Mapping[str, ExporterPlugin], targets: Sequence[Target]
) -> TargetStore:
    """Open a store in ``directory`` holding the demo's targets (sources aside)."""
    store = await TargetStore.open(
        store_url(str(directory / "demo.db")), key_file=directory / "demo.key"
    )
    kinds = storable_kinds(plugins)
    for target in targets:
        if not target.discovers:
            kind = kinds[target.kind]
            await store.create(target.kind, target.name, kind.settings(target))
    return store


async def run_demo(listen_address: str, *, speed: float = 1.0) -> None:
    """Run the simulators and the exporters until interrupted."""
    running: list[tuple[str, _Simulator]] = []
    fleets: list[SnpFleet] = []
    targets: list[Target] = []
    try:
        for hostname, instance, port in _PHD2_INSTANCES:
            phd2 = Phd2Simulator(
                Phd2SimConfig(
                    port=_free(port),
                    instance=instance,
                    hostname=hostname,
                    speed=speed,
                    seed=instance,
                )
            )
            await phd2.start()
            running.append((f"PHD2 simulator, instance {instance}", phd2))
            targets.append(
                phd2_target(
                    Phd2TargetSettings(
                        name=f"phd2-{instance}", host="127.0.0.1", port=phd2.port
                    )
                )
            )
        chaos = ChaosSimulator(ChaosSimConfig(port=_free(_CHAOS_PORT)))
        await chaos.start()
        running.append(("CHAOS API simulator", chaos))
        targets.append(
            chaos_target(
                ChaosTargetSettings(
                    control_login=_CHAOS_LOGIN,
                    control_password=SecretStr(_CHAOS_PASSWORD),
                    api_url=chaos.base_url,
                    min_request_interval=0.2,
                )
            )
        )

        plugs = KasaSimulator(default_specs(n_xor=2, n_klap=2))
        await plugs.start()
        for index, plug in enumerate(plugs.plugs, start=1):
            running.append((f"plug simulator {index} ({plug.protocol})", plug))
            targets.append(
                plug_target(
                    KasaTargetSettings(
                        device=KasaDevice(
                            name=f"plug-{index}",
                            host="127.0.0.1",
                            port=plug.port,
                            connection_type="iot" if plug.protocol == "xor" else "klap",
                        ),
                        # The simulated plugs' made-up account (PlugSpec defaults).
                        username=SecretStr(_PLUG_USER),
                        password=SecretStr(_PLUG_PASSWORD),
                    )
                )
            )

        found = await _discoverable_plugs(running)
        if found:
            targets.append(_finder(found))

        # The Starlink exporter simulates its dish in-process (simulation mode).
        targets.append(starlink_target(StarlinkTargetSettings()))
        targets.extend(await _snp_rack(fleets))

        plugins = load_plugins()
        workdir = tempfile.TemporaryDirectory(prefix="exporterhub-demo-")
        store = await _throwaway_store(Path(workdir.name), plugins, targets)
        sources = [t for t in targets if t.discovers]

        async def load() -> Sequence[Target]:
            return sources  # the rest are stored: the UI can edit them

        state = build_hub(plugins, load, title="exporterhub demo", store=store)
        host_port = listen_address.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        print("exporterhub demo: simulators and exporters on loopback", flush=True)
        for label, sim in running:
            host = getattr(sim, "host", "127.0.0.1")
            print(f"  {label}: {host}:{sim.port}", flush=True)
        for fleet in fleets:
            for device in fleet.devices:
                print(
                    f"  SNP simulator {device.name}: {device.host}:{device.port} "
                    "(REST and WebSocket)",
                    flush=True,
                )
        print("  Starlink dish: simulated in-process", flush=True)
        print(f"  metrics  http://{host_port}/metrics", flush=True)
        print(f"  starlink http://{host_port}/api/status", flush=True)
        print(f"  landing  http://{host_port}/", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            await serve(state, listen_address)
        finally:
            await store.close()
            workdir.cleanup()
    finally:
        for _, sim in running:
            with contextlib.suppress(Exception):
                await sim.stop()
        for fleet in fleets:
            with contextlib.suppress(Exception):
                await fleet.stop()
