"""``tapo-exporter`` (also ``prom-exporter``) and ``kasa-probe``: the plug commands.

The original's flags and env names (COMPAT): ``--tapo-plug-devices`` (space or comma
list of ``host[:port]``), ``--prometheus-port`` (8090), ``--tapo-username``,
``--tapo-password`` (accepted, but unsafe: other users can read process arguments —
use ``TP_LINK_PASSWORD``), ``--log-level`` (a name or a number), ``--config``
(``config.yaml`` with an ``exporters.tapo`` section, or the file the original
pyprom-exporters wrote; never rewritten, so ``--no-write-config`` is accepted and
changes nothing). Keys of the original's file that cannot be honoured are named in
one WARNING line at start. Like the original (prometheus_client's default registry)
it serves the process, platform and GC collectors' series. Wiring only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

from exporterhub import __version__
from exporterhub.core.errors import ConfigError
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters.kasa.collector import renamed_specs
from exporterhub.exporters.kasa.command_settings import load_tapo_command
from exporterhub.exporters.kasa.devices import parse_device
from exporterhub.exporters.kasa.original import OriginalFile
from exporterhub.exporters.kasa.plugin import (
    KasaPlugin,
    discovery_target,
    env_credentials,
    to_target,
)
from exporterhub.hub import build_hub, run_command, serve

__all__ = ["build_parser", "main", "probe_main"]

_log = structlog.get_logger(__name__)


def build_parser(prog: str = "tapo-exporter") -> argparse.ArgumentParser:
    """Return the argument parser of ``tapo-exporter``/``prom-exporter``."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Prometheus exporter for TP-Link Tapo and Kasa plugs."
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--tapo-plug-devices",
        nargs="*",
        help="plugs as host[:port], space or comma separated",
    )
    parser.add_argument("--prometheus-port", type=int, help="HTTP port (8090)")
    parser.add_argument("--tapo-username", help="TP-Link account e-mail")
    parser.add_argument(
        "--tapo-password",
        help="UNSAFE (visible to other users in the process list): "
        "prefer TP_LINK_PASSWORD",
    )
    parser.add_argument(
        "--log-level",
        "--log.level",
        dest="log_level",
        help=f"{', '.join(LEVELS)} or a number (10 = debug)",
    )
    parser.add_argument("--config", "--config.file", dest="config", type=Path)
    parser.add_argument(
        "--web.listen-address", dest="listen_address", help="host:port (wins)"
    )
    parser.add_argument(
        "--no-write-config",
        action="store_true",
        help="accepted for the original's users: config.yaml is never written",
    )
    return parser


def _cli(args: argparse.Namespace) -> dict[str, Any]:
    devices: list[str] | None = None
    if args.tapo_plug_devices is not None:  # given empty: no devices, as the original
        devices = [
            part
            for item in args.tapo_plug_devices
            for part in item.replace(",", " ").split()
        ]
    values = {
        "tapo_plug_devices": devices,
        "prometheus_port": args.prometheus_port,
        "tapo_username": args.tapo_username,
        "tapo_password": args.tapo_password,
        "log_level": args.log_level,
        "config": args.config,
    }
    return {k: v for k, v in values.items() if v is not None}


def _plugin(original: OriginalFile | None) -> KasaPlugin:
    """Return the plug plugin, the original's metrics named as its file says."""
    if original is None:
        return KasaPlugin()
    return KasaPlugin(renamed_specs(original.metrics))


async def _run(args: argparse.Namespace) -> None:
    settings, original = load_tapo_command(_cli(args))
    configure_logging(settings.log_level)
    if args.tapo_password:
        _log.warning("password_on_command_line", hint="use TP_LINK_PASSWORD instead")
    if original is not None and original.ignored:
        _log.warning(
            "config_keys_not_honoured", file=str(settings.config), keys=original.ignored
        )
    targets = [to_target(t) for t in settings.targets()]
    discovery = settings.discovery()
    if original is not None and not original.plug_family:
        _log.warning(
            "plugs_not_read",
            file=str(settings.config),
            reason="supported_device_families.plug is false",
        )
        targets, discovery = [], None
    elif not targets and (discovery is None or not discovery.options.active):
        raise ConfigError(
            "no plugs: set --tapo-plug-devices or TAPO_PLUG_DEVICES, or turn "
            "discovery on (discovery_options in config.yaml)"
        )
    if discovery is not None:
        targets.append(discovery_target(discovery))

    async def load() -> Sequence[Target]:
        return targets

    plugin = _plugin(original)
    state = build_hub({plugin.kind: plugin}, load, title="Tapo/Kasa plug exporter")
    # The original served prometheus_client's default registry: its process_*,
    # python_info and python_gc_* series are on users' dashboards of the exporter.
    registry = state.exposition.registry
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    await serve(state, args.listen_address or f":{settings.prometheus_port}")


def main(argv: Sequence[str] | None = None, prog: str = "tapo-exporter") -> int:
    """Run ``tapo-exporter``; return the exit code."""
    args = build_parser(prog).parse_args(argv)
    return run_command(prog, lambda: _run(args))


def prom_main(argv: Sequence[str] | None = None) -> int:
    """Run the same program under the original's name, ``prom-exporter``."""
    return main(argv, prog="prom-exporter")


async def _probe(address: str, connection_type: str, attempt_timeout: float) -> int:
    from exporterhub.exporters.kasa.client import PlugClient, PlugError
    from exporterhub.exporters.kasa.state import read_device

    device = parse_device(address)
    username, password = env_credentials()
    client = PlugClient(
        host=device.host,
        port=device.port,
        connection_type=connection_type,
        username=username,
        password=password,
        timeout=attempt_timeout,
        deadline=attempt_timeout * 3 + 3,
    )
    try:
        plug = await client.poll()
        reading = read_device(plug, host=device.host, protocol=client.protocol)
    except PlugError as exc:
        print(f"kasa-probe: {address}: {exc.kind}: {exc}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    for field in dataclasses.fields(reading):
        print(f"{field.name:24} {getattr(reading, field.name)}")
    return 0


def probe_main(argv: Sequence[str] | None = None) -> int:
    """``kasa-probe HOST[:PORT]``: print what one plug reports; exit 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="kasa-probe",
        description="Print what one plug reports (credentials from TAPO_* or "
        "TP_LINK_*).",
    )
    parser.add_argument("address", help="host[:port]")
    parser.add_argument(
        "--connection-type", default="auto", choices=("auto", "iot", "klap", "aes")
    )
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_probe(args.address, args.connection_type, args.timeout))
    except ValueError as exc:
        print(f"kasa-probe: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
