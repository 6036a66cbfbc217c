"""``aaisp-exporter`` / ``python -m exporterhub.exporters.chaos``: CHAOS on its own.

Configured like the original, through ``AAISP_EXPORTER_*`` environment variables
and a ``.env`` file in the working directory (credentials never on the command
line), listening on port 9099. ``--config.file``
takes the control logins, listen address and logging from an exporterhub YAML file
instead (listening on 9099 unless the file or the flag says otherwise). Wiring
only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

from exporterhub import __version__
from exporterhub.core.config import read_yaml
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters.chaos.environ import DOTENV, load_env_settings
from exporterhub.exporters.chaos.plugin import PLUGIN, to_target
from exporterhub.exporters.chaos.settings import DEFAULT_PORT, MAX_CONCURRENCY
from exporterhub.hub import build_hub, file_targets, run_command, serve

__all__ = ["build_parser", "file_listen_address", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``aaisp-exporter``."""
    parser = argparse.ArgumentParser(
        prog="aaisp-exporter",
        description="Prometheus exporter for the Andrews & Arnold CHAOS API. "
        "Credentials come from AAISP_EXPORTER_CONTROL_LOGIN and "
        "AAISP_EXPORTER_CONTROL_PASSWORD.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        help="host:port to listen on; wins over AAISP_EXPORTER_SERVER__HOST/PORT",
    )
    parser.add_argument(
        "--config.file",
        "--config",
        dest="config",
        type=Path,
        help="exporterhub YAML file; its exporters.chaos targets replace the env",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        choices=LEVELS,
        help="log level; wins over AAISP_EXPORTER_LOG_LEVEL",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        choices=("auto", "json", "console"),
        help="log format; wins over AAISP_EXPORTER_LOG_FORMAT",
    )
    return parser


def _from_env(
    args: argparse.Namespace,
) -> tuple[str, Callable[[], Awaitable[Sequence[Target]]]]:
    cli = {
        key: value
        for key, value in (
            ("log_level", args.log_level),
            ("log_format", args.log_format),
        )
        if value is not None
    }
    settings, target = load_env_settings(cli, os.environ)
    configure_logging(settings.log_level, settings.log_format)
    log = structlog.get_logger(__name__)
    if DOTENV.is_file():
        log.info("chaos_dotenv_read", path=str(DOTENV.resolve()))
    if settings.concurrency > MAX_CONCURRENCY:
        log.warning(
            "chaos_concurrency_capped",
            asked=settings.concurrency,
            used=MAX_CONCURRENCY,
        )
    targets = [to_target(target)]

    async def load() -> Sequence[Target]:
        return targets

    host = settings.server.host
    address = args.listen_address or (
        f"[{host}]:{settings.server.port}"
        if ":" in host
        else f"{host}:{settings.server.port}"
    )
    return address, load


def file_listen_address(path: Path, flag: str | None) -> str | None:
    """Return the listen address to impose on a YAML file's settings, if any.

    The flag wins; a file that names no ``web.listen_address`` gets the
    original's port 9099 (not the hub's default), so Prometheus jobs written for
    the original still find the exporter.

    Raises:
        ConfigError: the file cannot be read as YAML.
    """
    if flag:
        return flag
    web = read_yaml(path).get("web")
    if isinstance(web, dict) and web.get("listen_address"):
        return None
    return f":{DEFAULT_PORT}"


async def _run(args: argparse.Namespace) -> None:
    if args.config:
        address, load = file_targets(
            args.config,
            PLUGIN.kind,
            listen_address=file_listen_address(args.config, args.listen_address),
            log_level=args.log_level,
            log_format=args.log_format,
        )
    else:
        address, load = _from_env(args)
    await load()  # fail at start, not at the first scrape
    state = build_hub({PLUGIN.kind: PLUGIN}, load, title="AAISP CHAOS exporter")
    # The original answered /health with "status": "healthy" while it ran;
    # scripts that test for that word keep working (the hub says "ok").
    state.health_fields.append(lambda: {"status": "healthy"})
    await serve(state, address)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aaisp-exporter``; return the exit code."""
    args = build_parser().parse_args(argv)
    return run_command("aaisp-exporter", lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
