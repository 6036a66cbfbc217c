"""The ``phd2-simulator`` command line: flags, the settings they make, the run loop.

:func:`build_parser` defines the flags, :func:`config_from_args` turns them into a
:class:`~exporterhub.simulators.phd2.server.Phd2SimConfig`, :func:`serve` runs one
simulator until stopped and :func:`main` is the console script (also
``exporterhub simulate phd2`` and ``python -m exporterhub.simulators.phd2``). Run it
with ``phd2-simulator --port 4400``.

This module must not hold protocol or session logic (``server`` and its siblings
do) or bind anything itself.

Example:
    >>> args = build_parser().parse_args(["--instance", "2", "--speed", "50"])
    >>> config = config_from_args(args)
    >>> config.port, config.speed, config.faults.legacy_265
    (4401, 50.0, False)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.phd2.model import Phd2Faults
from exporterhub.simulators.phd2.server import Phd2SimConfig, Phd2Simulator

__all__ = ["build_parser", "config_from_args", "main", "serve"]


async def serve(config: Phd2SimConfig, stop: asyncio.Event | None = None) -> None:
    """Run a simulator until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        config: simulator settings.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    await run_until_stopped(Phd2Simulator(config), stop)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        msg = f"must be > 0: {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the ``phd2-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="phd2-simulator",
        description="Simulated PHD2 guiding event server (event monitoring protocol).",
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, help="TCP port (default 4400 + instance - 1)")
    p.add_argument("--instance", type=int, default=1, help="PHD2 instance number")
    p.add_argument("--hostname", default="SIMULATOR", help="Host field of events")
    p.add_argument("--phd-version", default="2.6.14", help="PHDVersion to report")
    p.add_argument("--speed", type=_positive, default=1.0, help="time factor")
    p.add_argument("--exposure", type=_positive, default=2.0, help="exposure, s")
    p.add_argument("--pixel-scale", type=_positive, default=1.93, help="arcsec/px")
    p.add_argument("--seed", type=int, help="random seed for a reproducible session")
    p.add_argument("--scripted", action="store_true", help="no autonomous session")
    faults = p.add_argument_group("faults")
    faults.add_argument("--legacy-265", action="store_true", help="act as PHD2 2.6.5")
    faults.add_argument(
        "--null-pixel-scale", action="store_true", help="get_pixel_scale is null"
    )
    faults.add_argument(
        "--split-lines", action="store_true", help="write lines in small chunks"
    )
    faults.add_argument(
        "--malformed-every", type=int, default=0, metavar="N", help="bad JSON every N"
    )
    faults.add_argument(
        "--overlong-every", type=int, default=0, metavar="N", help="1 MiB line every N"
    )
    return p


def config_from_args(args: argparse.Namespace) -> Phd2SimConfig:
    """Build a :class:`Phd2SimConfig` from parsed :func:`build_parser` arguments."""
    return Phd2SimConfig(
        host=args.host,
        port=args.port if args.port is not None else 4400 + args.instance - 1,
        instance=args.instance,
        hostname=args.hostname,
        version=args.phd_version,
        speed=args.speed,
        exposure=args.exposure,
        pixel_scale=args.pixel_scale,
        seed=args.seed,
        scripted=args.scripted,
        faults=Phd2Faults(
            split_lines=args.split_lines,
            malformed_every=args.malformed_every,
            overlong_every=args.overlong_every,
            null_pixel_scale=args.null_pixel_scale,
            legacy_265=args.legacy_265,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``phd2-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    config = config_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0
