"""``phd2-exporter``: the PHD2 exporter on its own, with the original's flags and port.

Flags ``--phd2host``, ``--phd2port`` (repeat it, or give a comma list, to watch
several instances), ``--port`` (9753), ``--rms_samples`` (10), ``--legacy_metrics``
(also serve the original's ``phd2_<Event>_<Field>`` families); plus the project's
``--web.listen-address``, ``--config.file``, ``--log.level``, ``--log.format``.
Env ``PHD2_EXPORTER_<FLAG>`` sits between the defaults and the flags; ``--help``
shows every default, read from the settings model. Wiring only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exporterhub import __version__
from exporterhub.core.config import load_settings
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters.phd2.plugin import PLUGIN, to_target
from exporterhub.exporters.phd2.settings import Phd2ExporterSettings
from exporterhub.hub import build_hub, file_targets, run_command, serve

__all__ = ["build_parser", "main"]


def _ports(text: str) -> list[int]:
    try:
        return [int(p) for p in text.replace(" ", ",").split(",") if p]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port list: {text!r}") from None


def _default(name: str) -> str:
    """Return a setting's default as ``--help`` shows it."""
    field = Phd2ExporterSettings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "off"
    return str(value)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``phd2-exporter``."""
    parser = argparse.ArgumentParser(
        prog="phd2-exporter",
        description="Prometheus exporter for PHD2 guiding. The settings can also "
        "come from the environment as PHD2_EXPORTER_<SETTING> (PHD2HOST, PHD2PORT, "
        "PORT, RMS_SAMPLES, LEGACY_METRICS, LISTEN_ADDRESS, LOG_LEVEL, LOG_FORMAT); "
        "flags win.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--phd2host", help=f"PHD2 host (default: {_default('phd2host')})"
    )
    parser.add_argument(
        "--phd2port",
        type=_ports,
        action="extend",
        help="PHD2 event-server port; repeat or comma-separate to watch several "
        f"instances (default: {_default('phd2port')})",
    )
    parser.add_argument(
        "--port", type=int, help=f"HTTP port for /metrics (default: {_default('port')})"
    )
    parser.add_argument(
        "--rms_samples",
        type=int,
        help="guide steps in the RMS, standard deviation and peak window "
        f"(default: {_default('rms_samples')})",
    )
    parser.add_argument(
        "--legacy_metrics",
        "--legacy-metrics",
        dest="legacy_metrics",
        action="store_true",
        default=None,
        help="also serve the original phd2-exporter's event families "
        "(phd2_<Event>_<Field>, phd2_<Event>_total, phd2_total) "
        f"(default: {_default('legacy_metrics')})",
    )
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        help="host:port to listen on (default: all interfaces on --port)",
    )
    parser.add_argument(
        "--config.file",
        "--config",
        dest="config",
        type=Path,
        help="exporterhub YAML file; its exporters.phd2 targets replace the flags "
        "(default: none)",
    )
    parser.add_argument(
        "--log.level",
        "--log-level",
        dest="log_level",
        choices=LEVELS,
        help=f"log level (default: {_default('log_level')})",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        choices=("auto", "json", "console"),
        help="log format; auto is console on a terminal, else JSON "
        f"(default: {_default('log_format')})",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Phd2ExporterSettings:
    """Merge defaults < env < flags into the command's settings.

    Raises:
        ConfigError: a value is invalid; the message names it.
    """
    cli: dict[str, Any] = {
        key: value
        for key, value in {
            "phd2host": args.phd2host,
            "phd2port": args.phd2port,
            "port": args.port,
            "rms_samples": args.rms_samples,
            "legacy_metrics": args.legacy_metrics,
            "listen_address": args.listen_address,
            "log_level": args.log_level,
            "log_format": args.log_format,
        }.items()
        if value is not None
    }
    return load_settings(Phd2ExporterSettings, cli=cli, source="flags/environment")


async def _run(args: argparse.Namespace) -> None:
    settings = settings_from_args(args)
    if args.config is not None:
        flag_address = None
        if args.listen_address or args.port is not None:
            flag_address = settings.listen_address or f":{settings.port}"
        address, load = file_targets(
            args.config,
            PLUGIN.kind,
            listen_address=flag_address,
            log_level=args.log_level,
            log_format=args.log_format,
        )
        await load()  # fail at start, not at the first scrape
    else:
        configure_logging(settings.log_level, settings.log_format)
        flag_targets = [to_target(t) for t in settings.targets()]

        async def load_flags() -> Sequence[Target]:
            return flag_targets

        load = load_flags
        address = settings.listen_address or f":{settings.port}"
    state = build_hub({PLUGIN.kind: PLUGIN}, load, title="PHD2 exporter")
    await serve(state, address)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``phd2-exporter``; return the exit code."""
    args = build_parser().parse_args(argv)
    return run_command("phd2-exporter", lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
