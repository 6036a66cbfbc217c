"""The ``chaos-simulator`` command line: flags, the settings they make, the run loop.

:func:`build_parser` defines the flags, :func:`config_from_args` turns them into a
:class:`~exporterhub.simulators.chaos.server.ChaosSimConfig`, :func:`serve` runs
one simulator until stopped and :func:`main` is the console script (also
``exporterhub simulate chaos`` and ``python -m exporterhub.simulators.chaos``).
Run it with ``chaos-simulator --port 8099``.

This module must not hold protocol or answer logic (``server`` and its siblings
do) or bind anything itself.

Example:
    >>> config = config_from_args(build_parser().parse_args(["--drop-every", "3"]))
    >>> config.port, config.faults.drop_every
    (8099, 3)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Final

from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.chaos.model import ChaosFaults
from exporterhub.simulators.chaos.server import ChaosSimConfig, ChaosSimulator

__all__ = ["build_parser", "config_from_args", "main", "serve"]

DEFAULT_PORT: Final = 8099


async def serve(config: ChaosSimConfig, stop: asyncio.Event | None = None) -> None:
    """Run a simulator until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        config: simulator settings.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    await run_until_stopped(ChaosSimulator(config), stop)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``chaos-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="chaos-simulator", description="Simulated AAISP CHAOS v2 API (HTTP)."
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port")
    p.add_argument("--data", type=Path, help="data file, JSON or YAML")
    p.add_argument("--lines", type=int, metavar="N", help="lines of the first login")
    p.add_argument("--seed", type=int, help="random seed")
    f = p.add_argument_group("faults")
    f.add_argument("--latency", type=float, default=0.0, metavar="S", help="delay, s")
    f.add_argument("--hang", action="store_true", help="never answer")
    for name, text in (
        ("timeout", "never answer every N-th request"),
        ("drop", "close without answer every N-th request"),
        ("status-5xx", "HTTP 5xx every N-th request"),
        ("rate-limit-429", "HTTP 429 every N-th request"),
        ("rate-limit-200", "HTTP 200 rate-limit error every N-th request"),
        ("malformed", "truncated JSON every N-th request"),
    ):
        f.add_argument(f"--{name}-every", type=int, default=0, metavar="N", help=text)
    f.add_argument("--status-5xx", type=int, default=503, choices=(502, 503))
    f.add_argument("--retry-after", type=int, default=60, metavar="S")
    f.add_argument("--missing-fields", action="store_true", help="drop line fields")
    f.add_argument(
        "--fault-path",
        action="append",
        metavar="PATH",
        help="limit faults to /subsystem/command (repeatable)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> ChaosSimConfig:
    """Build a :class:`ChaosSimConfig` from parsed :func:`build_parser` arguments."""
    return ChaosSimConfig(
        host=args.host,
        port=args.port,
        data=args.data,
        lines=args.lines,
        seed=args.seed,
        faults=ChaosFaults(
            latency=args.latency,
            hang=args.hang,
            timeout_every=args.timeout_every,
            drop_every=args.drop_every,
            status_5xx_every=args.status_5xx_every,
            status_5xx=args.status_5xx,
            rate_limit_429_every=args.rate_limit_429_every,
            retry_after=args.retry_after,
            rate_limit_200_every=args.rate_limit_200_every,
            malformed_every=args.malformed_every,
            missing_fields=args.missing_fields,
            paths=frozenset(args.fault_path) if args.fault_path else None,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``chaos-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    config = config_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0
