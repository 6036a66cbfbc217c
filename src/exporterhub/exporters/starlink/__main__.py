"""``starlink-exporter``: the Starlink service on its own (port 8000, simulation first).

``--port`` (8000) and ``--config`` (``config.yaml`` in the working directory; defaults
when it is missing) as the requirement fixes; the log level from
``STARLINK_EXPORTER_LOG_LEVEL`` (or ``LOG_LEVEL``) or ``--log.level``; JSON logs.
Wiring only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from exporterhub import __version__
from exporterhub.core.errors import ConfigError
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters.starlink.plugin import (
    PLUGIN,
    StarlinkTargetSettings,
    to_target,
)
from exporterhub.exporters.starlink.settings import load_config
from exporterhub.hub import build_hub, serve

__all__ = ["build_parser", "main"]

DEFAULT_PORT = 8000
_log = structlog.get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``starlink-exporter``."""
    parser = argparse.ArgumentParser(
        prog="starlink-exporter",
        description="Starlink dish metrics: simulation by default, live dish optional.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
    parser.add_argument(
        "--web.listen-address", dest="listen_address", help="host:port (wins)"
    )
    parser.add_argument(
        "--config", type=Path, default=Path("config.yaml"), help="YAML configuration"
    )
    parser.add_argument("--log.level", "--log-level", dest="log_level", choices=LEVELS)
    parser.add_argument(
        "--log.format", dest="log_format", choices=("auto", "json", "console"),
        default="json",
    )  # fmt: skip
    return parser


def _level(args: argparse.Namespace) -> str:
    level = (
        args.log_level
        or os.environ.get("STARLINK_EXPORTER_LOG_LEVEL")
        or os.environ.get("LOG_LEVEL")
        or "info"
    ).lower()
    if level not in LEVELS:
        raise ConfigError(f"environment: log level {level!r}: use one of {LEVELS}")
    return level


async def _run(args: argparse.Namespace) -> None:
    configure_logging(_level(args), args.log_format, stream="stdout")
    config, existed = load_config(args.config)
    if not existed:
        _log.info("starlink_config_defaults", file=str(args.config))

    async def load() -> Sequence[Target]:
        current, _ = load_config(args.config)
        return [to_target(StarlinkTargetSettings(config=current))]

    state = build_hub({PLUGIN.kind: PLUGIN}, load, title="Starlink exporter")
    host = args.host
    address = args.listen_address or (
        f"[{host}]:{args.port}" if ":" in host else f"{host}:{args.port}"
    )
    _log.info("starlink_exporter_starting", mode=config.mode, address=address)
    await serve(state, address)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``starlink-exporter``; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_run(args))
    except ConfigError as exc:
        print(f"starlink-exporter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
