"""``exporterhub demo``: every exporter against its own simulator on 127.0.0.1.

Starts the simulators on loopback, points the exporters at them and serves metrics
until Ctrl-C. Only wiring; the simulators and exporters are the real ones.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence

from exporterhub.core.plugin import Target
from exporterhub.exporters import load_plugins
from exporterhub.exporters.phd2.plugin import to_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.hub import build_hub, serve
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

__all__ = ["run_demo"]

_PHD2_INSTANCES = (("OBSERVATORY", 1, 4400), ("OBSERVATORY", 2, 4401))


def _free(port: int) -> int:
    """Return ``port`` if it is free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


async def run_demo(listen_address: str, *, speed: float = 1.0) -> None:
    """Run the simulators and the exporters until interrupted."""
    simulators: list[Phd2Simulator] = []
    targets: list[Target] = []
    try:
        for hostname, instance, port in _PHD2_INSTANCES:
            sim = Phd2Simulator(
                Phd2SimConfig(
                    port=_free(port),
                    instance=instance,
                    hostname=hostname,
                    speed=speed,
                    seed=instance,
                )
            )
            await sim.start()
            simulators.append(sim)
            targets.append(
                to_target(
                    Phd2TargetSettings(
                        name=f"phd2-{instance}", host="127.0.0.1", port=sim.port
                    )
                )
            )

        async def load() -> Sequence[Target]:
            return targets

        state = build_hub(load_plugins(), load, title="exporterhub demo")
        host_port = listen_address.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        print("exporterhub demo: simulators and exporters on loopback", flush=True)
        for sim, target in zip(simulators, targets, strict=True):
            print(f"  PHD2 simulator  {target.name}: 127.0.0.1:{sim.port}", flush=True)
        print(f"  metrics  http://{host_port}/metrics", flush=True)
        print(f"  landing  http://{host_port}/", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        await serve(state, listen_address)
    finally:
        for sim in simulators:
            with contextlib.suppress(Exception):
                await sim.stop()
