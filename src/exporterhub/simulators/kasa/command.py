"""The ``kasa-simulator`` command line: flags, plug specs from them, and the run loop.

:func:`build_parser` defines the flags, :func:`specs_from_args` turns them into
``PlugSpec`` lists (bundled profiles or the given JSON files, hosts and ports
from ``discovery.plug_address``), :func:`serve` runs the plugs until
stopped and logs each one's address (``kasa_plug_ready``), :func:`main` is the
console script. The KLAP password comes from an environment variable, never a
flag.

The public face is ``exporterhub.simulators.kasa``, which re-exports these names
(the ``kasa-simulator`` entry point, ``exporterhub simulate tapo`` and
``python -m exporterhub.simulators.kasa`` go through it). This module must not
import the package (it re-exports from here), hold plug or protocol logic, or log
credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import structlog

from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.kasa.discovery import plug_address
from exporterhub.simulators.kasa.fleet import KasaSimulator, default_specs
from exporterhub.simulators.kasa.server import PlugSpec, load_profile

__all__ = ["build_parser", "main", "serve", "specs_from_args"]

_log = structlog.get_logger(__name__)

DEFAULT_FIRST_ADDRESS: Final = "127.0.0.2"


async def serve(specs: Sequence[PlugSpec], stop: asyncio.Event | None = None) -> None:
    """Run plugs until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        specs: one entry per plug.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    await run_until_stopped(_Announced(KasaSimulator(specs)), stop)


class _Announced:
    """Starts the plugs and logs each one's port once it listens."""

    def __init__(self, sim: KasaSimulator) -> None:
        self._sim = sim

    async def __aenter__(self) -> KasaSimulator:
        await self._sim.start()
        for plug in self._sim.plugs:
            _log.info(
                "kasa_plug_ready",
                host=plug.host,
                port=plug.port,
                protocol=plug.protocol,
                discovery_port=plug.discovery_port,
            )
        return self._sim

    async def __aexit__(self, *exc: object) -> None:
        await self._sim.stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the ``kasa-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="kasa-simulator",
        description="Simulated TP-Link Kasa (XOR) and Tapo (KLAP v2) plugs. "
        "Each plug's host and port are logged (kasa_plug_ready) once it listens.",
    )
    p.add_argument("profiles", nargs="*", type=Path, help="fixture-shaped JSON files")
    p.add_argument("--xor", type=int, default=2, help="bundled IOT plugs (XOR)")
    p.add_argument("--klap", type=int, default=2, help="bundled SMART plugs (KLAP)")
    p.add_argument("--base-port", type=int, default=9999, help="first port")
    p.add_argument(
        "--host", default="127.0.0.1", help="listen address (without --discovery)"
    )
    p.add_argument(
        "--discovery",
        action="store_true",
        help="answer python-kasa UDP discovery: each plug gets its own loopback "
        "address from --first-address on; XOR plugs listen on --base-port (TCP "
        "and UDP; 9999 if 0), KLAP plugs on --base-port + index (HTTP; ephemeral "
        "if 0) and UDP 20002",
    )
    p.add_argument(
        "--first-address",
        default=DEFAULT_FIRST_ADDRESS,
        help="first plug's loopback address with --discovery (default %(default)s)",
    )
    p.add_argument("--username", default="user@example.com", help="KLAP e-mail")
    p.add_argument(
        "--password-env",
        default="KASA_SIM_PASSWORD",
        help="environment variable holding the KLAP password",
    )
    p.add_argument("--frozen", action="store_true", help="values never move")
    return p


def specs_from_args(args: argparse.Namespace) -> list[PlugSpec]:
    """Build plug specs from parsed :func:`build_parser` arguments."""
    password = os.environ.get(args.password_env, "plug-password")
    if args.profiles:
        specs = [
            PlugSpec(
                profile=path,
                protocol="xor" if "system" in load_profile(path) else "klap",
                seed=index,
            )
            for index, path in enumerate(args.profiles)
        ]
    else:
        specs = default_specs(args.xor, args.klap)
    first = args.first_address if args.discovery else None
    for index, spec in enumerate(specs):
        spec.host, spec.port = plug_address(
            spec.protocol, index, base_port=args.base_port, host=args.host, first=first
        )
        spec.discovery = args.discovery
        spec.username = args.username
        spec.password = password
        spec.frozen = args.frozen
    return specs


def main(argv: list[str] | None = None) -> int:
    """Run ``kasa-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    specs = specs_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(specs))
    return 0
