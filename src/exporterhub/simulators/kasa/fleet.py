"""Several simulated plugs together, and plug specs from the bundled profiles.

:class:`KasaSimulator` starts and stops a list of ``server`` plugs as one;
:func:`default_specs` builds their specs from the fixture-shaped profiles in
this package's ``data/``, giving each plug its own alias, MAC, seed, host and
port (``discovery.plug_address``).

The public face is ``exporterhub.simulators.kasa``, which re-exports these names.
This module must not import the package (it re-exports from here), open sockets
itself (the plugs do) or import exporter code.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from exporterhub.simulators.kasa.discovery import plug_address
from exporterhub.simulators.kasa.server import PlugSimulator, PlugSpec

__all__ = ["KasaSimulator", "default_specs"]

_PROFILES: Final = {
    "xor": ("hs110_like.json", "hs100_like.json"),
    "klap": ("p110_like.json", "p100_like.json"),
}


class KasaSimulator:
    """Several simulated plugs started and stopped together."""

    def __init__(self, specs: Sequence[PlugSpec]) -> None:
        self.plugs = [PlugSimulator(spec) for spec in specs]

    async def start(self) -> None:
        """Start every plug; on failure stop the ones already started."""
        try:
            for plug in self.plugs:
                await plug.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every plug; idempotent."""
        for plug in self.plugs:
            await plug.stop()

    async def __aenter__(self) -> KasaSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bundled(name: str) -> Path:
    return Path(str(resources.files("exporterhub.simulators.kasa") / "data" / name))


def default_specs(
    n_xor: int = 2,
    n_klap: int = 2,
    *,
    base_port: int = 0,
    host: str = "127.0.0.1",
    discovery: bool = False,
    first_address: str | None = None,
) -> list[PlugSpec]:
    """Return specs for ``n_xor`` IOT and ``n_klap`` SMART plugs from bundled profiles.

    Metering and non-metering profiles alternate; each plug gets its own alias,
    MAC and seed. Hosts and ports follow ``discovery.plug_address``:
    without ``first_address`` all plugs share ``host`` on ports ``base_port + i``;
    with it plug ``i`` gets the ``i``-th loopback address from ``first_address``,
    XOR plugs port ``base_port`` (9999 if 0), KLAP plugs ``base_port + i``.

    Args:
        n_xor: IOT plugs (XOR), listed first.
        n_klap: SMART plugs (KLAP v2).
        base_port: first port; 0 = ephemeral ports.
        host: the address of every plug when ``first_address`` is ``None``.
        discovery: plugs answer UDP discovery (:attr:`PlugSpec.discovery`).
        first_address: give plug ``i`` its own loopback address, ``i`` after this.

    Raises:
        ValueError: ``first_address`` is not IPv4 or runs past loopback.
    """
    specs: list[PlugSpec] = []
    for index in range(n_xor + n_klap):
        protocol: Literal["xor", "klap"] = "xor" if index < n_xor else "klap"
        nth = index if index < n_xor else index - n_xor
        names = _PROFILES[protocol]
        spec = PlugSpec(
            profile=_bundled(names[nth % len(names)]),
            protocol=protocol,
            seed=index,
            alias=f"Simulated plug {index + 1}",
            mac=f"02:00:5E:00:{index // 256:02X}:{index % 256:02X}",
            discovery=discovery,
        )
        spec.host, spec.port = plug_address(
            protocol, index, base_port=base_port, host=host, first=first_address
        )
        specs.append(spec)
    return specs
