"""The ``starlink-simulator`` command line: flags, the settings they make, the run loop.

:func:`build_parser` defines the flags, :func:`config_from_args` turns them into a
:class:`~exporterhub.simulators.starlink.server.DishSimConfig`, :func:`serve_grpc`
runs one fake dish until stopped and :func:`main` is the console script (also
``exporterhub simulate starlink`` and ``python -m exporterhub.simulators.starlink``).
Run it with ``starlink-simulator --grpc --port 9200``.

This module must not hold protocol or dish logic (``server`` and its siblings do)
or bind anything itself.

Example:
    >>> config = config_from_args(build_parser().parse_args(["--refuse-location"]))
    >>> config.port, config.faults.refuse_location
    (9200, True)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable

from exporterhub.exporters.starlink.telemetry import Telemetry
from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.starlink.model import DishFaults, engine_provider
from exporterhub.simulators.starlink.server import (
    DEFAULT_PORT,
    DishSimConfig,
    StarlinkDishSimulator,
)

__all__ = ["build_parser", "config_from_args", "main", "serve_grpc"]


async def serve_grpc(
    config: DishSimConfig,
    stop: asyncio.Event | None = None,
    provider: Callable[[], Telemetry] | None = None,
) -> None:
    """Run a fake dish until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        config: where to listen and which faults to start with.
        stop: set it to shut down; when ``None`` the process signals do it.
        provider: the telemetry to serve; the simulation engine when omitted.
    """
    await run_until_stopped(
        StarlinkDishSimulator(config, provider or engine_provider()), stop
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the ``starlink-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="starlink-simulator",
        description="Fake Starlink dish: the dish gRPC API with server reflection.",
    )
    p.add_argument(
        "--grpc",
        action="store_true",
        help="serve the dish gRPC API (the only mode; accepted for clarity)",
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port")
    p.add_argument("--sigma-m", type=float, default=3.0, help="fix accuracy, metres")
    p.add_argument(
        "--outage-cause",
        default=None,
        help="serve an outage with this DishOutage.Cause (e.g. NO_SCHEDULE)",
    )
    p.add_argument("--refuse-location", action="store_true")
    p.add_argument("--missing-fields", action="store_true")
    p.add_argument("--no-reflection", action="store_true")
    p.add_argument("--silent", action="store_true", help="accept TCP, never answer")
    return p


def config_from_args(args: argparse.Namespace) -> DishSimConfig:
    """Build a :class:`DishSimConfig` from parsed :func:`build_parser` arguments."""
    return DishSimConfig(
        host=args.host,
        port=args.port,
        sigma_m=args.sigma_m,
        faults=DishFaults(
            outage_cause=args.outage_cause,
            refuse_location=args.refuse_location,
            missing_fields=args.missing_fields,
            no_reflection=args.no_reflection,
            silent=args.silent,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``starlink-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    config = config_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_grpc(config))
    return 0
