"""``snp-exporter``: the SNP exporter on its own, with the original's ports and env.

Two listeners, as the original had: metrics on ``:8000`` (``/metrics``,
``/-/reload`` by GET or POST, ``/-/healthy``, ``/-/ready``) and the UI on
``:8080`` (the control plane's UI at ``/``, the original's ``/api/connections``,
``/api/export`` and ``/api/import``, and the control plane's API). Env
``LOGGING``, ``INTERVAL``, ``POLL_INTERVAL``, ``DB_PATH`` as the original
(``command_settings``); the store lives at ``DB_PATH``, and the original's
database found there is migrated first (``migrate``). ``--web.config.file``
(TLS, basic auth) covers both listeners. Wiring only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exporterhub import __version__
from exporterhub.core.app import create_app, create_metrics_app
from exporterhub.core.config import load_settings
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters import load_plugin
from exporterhub.exporters.snp.command_settings import SnpExporterSettings
from exporterhub.exporters.snp.compat import install
from exporterhub.exporters.snp.migrate import prepare_store
from exporterhub.hub import WebSettings, build_hub, run_command, serve_listeners

__all__ = ["build_parser", "main", "settings_from_args"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``snp-exporter``."""
    parser = argparse.ArgumentParser(
        prog="snp-exporter",
        description="Prometheus exporter for Imagine Communications SNPs. "
        "Connections are added in the UI or its API and kept at DB_PATH.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        help="host:port of the metrics listener (default :8000)",
    )
    parser.add_argument(
        "--ui.listen-address",
        dest="ui_listen_address",
        help="host:port of the UI and API listener (default :8080)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        help="TLS and basic auth, in the Prometheus exporter-toolkit format",
    )
    parser.add_argument("--log.level", dest="log_level", choices=LEVELS)
    parser.add_argument(
        "--log.format", dest="log_format", choices=("auto", "json", "console")
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> SnpExporterSettings:
    """Merge defaults < env < flags into the command's settings.

    Raises:
        ConfigError: a value is invalid; the message names it.
    """
    cli: dict[str, Any] = {
        key: value
        for key, value in vars(args).items()
        if value is not None and key != "version"
    }
    return load_settings(SnpExporterSettings, cli=cli, source="flags")


async def _run(args: argparse.Namespace) -> None:
    settings = settings_from_args(args)
    configure_logging(settings.log_level, settings.log_format)
    plugin = load_plugin("snp")  # names the extra to install when it is missing
    store = await prepare_store(settings.db_path, interval=settings.interval)

    async def no_file_targets() -> Sequence[Target]:
        return []  # every connection lives in the store

    try:
        state = build_hub(
            {plugin.kind: plugin},
            no_file_targets,
            title="SNP exporter",
            store=store,
            poll_interval=settings.poll_interval,
        )
        install(state, interval=settings.interval)
        web = WebSettings(
            listen_address=settings.ui_listen_address,
            config_file=settings.web_config_file,
            protect_metrics=settings.protect_metrics,
        )
        await serve_listeners(
            state,
            [
                (settings.ui_listen_address, create_app),
                (
                    settings.listen_address,
                    lambda s: create_metrics_app(s, reload_methods=("GET", "POST")),
                ),
            ],
            web,
        )
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``snp-exporter``; return the exit code."""
    args = build_parser().parse_args(argv)
    return run_command("snp-exporter", lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
