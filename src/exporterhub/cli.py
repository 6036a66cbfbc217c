"""The ``exporterhub`` command: serve, demo, simulate, check-config, targets.

Parses flags, loads configuration and hands over to ``hub``; no logic of its own.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from exporterhub import __version__, simulators, targets_cli
from exporterhub.core.errors import ConfigError
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.core.server import run
from exporterhub.core.shard import parse_shard
from exporterhub.exporters import KINDS, MODULES, load_plugins
from exporterhub.hub import (
    build_hub,
    config_loader,
    load_hub_settings,
    open_store,
    serve,
    targets_from_settings,
)

__all__ = ["build_parser", "main"]

_log = structlog.get_logger(__name__)
DEMO_LISTEN_ADDRESS = "127.0.0.1:8750"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log.level", dest="log_level", choices=LEVELS)
    parser.add_argument(
        "--log.format", dest="log_format", choices=("auto", "json", "console")
    )


def _simulator_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(simulators.__path__)
        if m.ispkg and not m.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``exporterhub``."""
    parser = argparse.ArgumentParser(
        prog="exporterhub", description="Prometheus exporters on one shared core."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve_p = sub.add_parser("serve", help="run every configured exporter")
    serve_p.add_argument("--config", "--config.file", dest="config", type=Path)
    serve_p.add_argument("--web.listen-address", dest="listen_address")
    serve_p.add_argument(
        "--web.config.file",
        dest="web_config",
        type=Path,
        help="TLS and basic auth, in the Prometheus exporter-toolkit format",
    )
    serve_p.add_argument(
        "--store",
        dest="store",
        help="target store: a SQLite file (default exporterhub.db beside the "
        "config file) or a postgresql:// URL",
    )
    serve_p.add_argument(
        "--shard",
        dest="shard",
        type=_shard,
        metavar="INDEX/COUNT",
        help="run only this replica's share of the targets: replica INDEX "
        "(counted from 0) of COUNT sharing one store, e.g. 0/3, 1/3, 2/3",
    )
    _add_common(serve_p)

    demo_p = sub.add_parser("demo", help="every exporter against its simulator")
    demo_p.add_argument(
        "--web.listen-address", dest="listen_address", default=DEMO_LISTEN_ADDRESS
    )
    demo_p.add_argument("--speed", type=float, default=1.0, help="simulation speed")
    _add_common(demo_p)

    sim_p = sub.add_parser("simulate", help="run one protocol simulator")
    # Each kind, its simulator module's name where that differs (kasa = tapo), and
    # simulators whose exporter has not landed yet (a simulator comes first).
    kinds = [*KINDS, *MODULES.values(), *_simulator_modules()]
    sim_p.add_argument("kind", choices=list(dict.fromkeys(kinds)))
    sim_p.add_argument("args", nargs=argparse.REMAINDER, help="the simulator's flags")

    check_p = sub.add_parser("check-config", help="validate a config file and exit")
    check_p.add_argument("file", type=Path)

    targets_cli.add_parser(sub)
    return parser


def _shard(text: str) -> str:
    """Check ``--shard`` at parse time, so the error names the flag."""
    try:
        return str(parse_shard(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cli_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if getattr(args, "shard", None):
        overrides["shard"] = args.shard
    web: dict[str, Any] = {}
    if getattr(args, "listen_address", None):
        web["listen_address"] = args.listen_address
    if getattr(args, "web_config", None):
        web["config_file"] = args.web_config
    if web:
        overrides["web"] = web
    store = getattr(args, "store", None)
    if store:
        is_url = "://" in store
        overrides["store"] = {"url": store} if is_url else {"path": store}
    log: dict[str, str] = {}
    if getattr(args, "log_level", None):
        log["level"] = args.log_level
    if getattr(args, "log_format", None):
        log["format"] = args.log_format
    if log:
        overrides["log"] = log
    return overrides


def _check_config(path: Path) -> int:
    plugins = load_plugins(installed_only=True)
    settings = load_hub_settings(path)
    targets = targets_from_settings(settings, plugins, str(path))
    watched = [t for t in targets if not t.discovers]
    print(f"{path}: ok, {len(watched)} target(s)")
    for target in targets:
        found = " (discovery: finds further targets)" if target.discovers else ""
        print(f"  {target.kind}/{target.name}{found}")
    return 0


async def _serve(args: argparse.Namespace) -> None:
    plugins = load_plugins(installed_only=True)
    settings = load_hub_settings(args.config, _cli_overrides(args))
    configure_logging(settings.log.level, settings.log.format)
    source = str(args.config or "configuration")
    first = targets_from_settings(settings, plugins, source)
    reload_targets = config_loader(args.config, plugins)
    served_first = False

    async def load() -> Sequence[Target]:
        nonlocal served_first
        if not served_first:  # the first load keeps the command-line overrides
            served_first = True
            return first
        return await reload_targets()

    store = await open_store(settings.store, args.config)
    try:
        state = build_hub(
            plugins,
            load,
            store=store,
            poll_interval=settings.store.poll_interval,
            shard=settings.replica(),
        )
        await serve(state, settings.web.listen_address, settings.web)
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(args.file)
        if args.command == "targets":
            return targets_cli.main(args)
        if args.command == "simulate":
            module = importlib.import_module(
                f"exporterhub.simulators.{MODULES.get(args.kind, args.kind)}"
            )
            simulate: Callable[[list[str]], int] = module.main
            return simulate(list(args.args))
        if args.command == "demo":
            from exporterhub.demo import run_demo

            configure_logging(args.log_level or "info", args.log_format or "auto")
            run(run_demo(args.listen_address, speed=args.speed))
            return 0
        run(_serve(args))
    except ConfigError as exc:
        print(f"exporterhub: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
