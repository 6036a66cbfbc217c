"""The ``snp-simulator`` command line: flags, the fleet config from them, the run loop.

:func:`build_parser` defines the flags, :func:`config_from_args` turns them into a
:class:`~exporterhub.simulators.snp.config.SnpSimConfig`, :func:`load_script`
reads a script file, :func:`serve` runs the fleet until stopped, logs each
device's URLs (``snp_device_ready``, for up to :data:`ANNOUNCE_LIMIT` devices)
and the fleet (``snp_fleet_ready``), and can write the devices as an exporter
import file (``--connections-file``) and the TLS CA (``--ca-file``). The password
comes from an environment variable, never a flag.

A script file is a JSON list of steps, each ``{"delay": seconds, …}`` with one
of ``"text": "…"`` (sent as is), ``"json": {…}`` (encoded), ``"binary_base64":
"…"``, ``"close": code`` (with an optional ``"reason"``) or ``"drop": "tcp"`` /
``"drop": "mid_frame"``.

The public face is ``exporterhub.simulators.snp``, which re-exports these names
(``snp-simulator``, ``exporterhub simulate snp`` and ``python -m
exporterhub.simulators.snp`` go through it). This module must not hold device
or protocol logic, or log credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Final

import structlog

from exporterhub.core.server import run
from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.snp.config import (
    DEFAULT_PASSWORD,
    Close,
    Drop,
    ScriptStep,
    SnpSimConfig,
)
from exporterhub.simulators.snp.fleet import SnpFleet

__all__ = ["build_parser", "config_from_args", "load_script", "main", "serve"]

_log = structlog.get_logger(__name__)

DEFAULT_BASE_PORT: Final = 18443
ANNOUNCE_LIMIT: Final = 20


def load_script(path: Path) -> list[ScriptStep]:
    """Read a script file (see the module docstring).

    Raises:
        ValueError: the file is not a list of valid steps.
    """
    steps = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(steps, list):
        raise ValueError(f"{path}: a script is a JSON list of steps")
    script: list[ScriptStep] = []
    for number, step in enumerate(steps, 1):
        if not isinstance(step, dict) or not isinstance(
            step.get("delay", 0), int | float
        ):
            raise ValueError(f"{path}: step {number} needs a numeric delay")
        delay = float(step.get("delay", 0))
        if "text" in step:
            script.append((delay, str(step["text"])))
        elif "json" in step:
            script.append((delay, step["json"]))
        elif "binary_base64" in step:
            script.append((delay, base64.b64decode(step["binary_base64"])))
        elif "close" in step:
            script.append(
                (delay, Close(int(step["close"]), str(step.get("reason", ""))))
            )
        elif step.get("drop") in ("tcp", "mid_frame"):
            script.append((delay, Drop(mid_frame=step["drop"] == "mid_frame")))
        else:
            raise ValueError(
                f"{path}: step {number} has no text/json/binary/close/drop"
            )
    return script


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the ``snp-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="snp-simulator",
        description="Simulated Imagine Communications SNPs (SMM REST API and "
        "WebSocket status interface) on loopback. Each device's URLs are logged "
        "(snp_device_ready) once it listens.",
    )
    p.add_argument("--devices", type=int, default=1, help="number of devices")
    p.add_argument("--name-prefix", default="SNP-SIM-", help="device names: prefix + n")
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument(
        "--first-address",
        help="give each device its own loopback address from this one on "
        "(127.0.0.2, …); they then share the port number",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help="REST + WebSocket port of the first device, the next ones count up "
        "(default %(default)s; 0 = free ports)",
    )
    p.add_argument(
        "--rest-port",
        type=int,
        help="also serve the REST API alone from this port on, like the SMM's 9089 "
        "(0 = free ports); the devices' restapi URLs then use it",
    )
    p.add_argument("--tls", action="store_true", help="https/wss, self-signed")
    p.add_argument("--ca-file", type=Path, help="with --tls: write the CA here")
    p.add_argument("--username", default="monitor", help="the accepted user name")
    p.add_argument(
        "--password-env",
        default="SNP_SIM_PASSWORD",
        help="environment variable holding the password (default: the fixtures')",
    )
    p.add_argument(
        "--connections-file",
        type=Path,
        help="write the devices as an exporter import file (passwords included)",
    )
    timing = p.add_argument_group("timing")
    timing.add_argument("--keepalive", type=_positive, default=5.0, help="seconds")
    timing.add_argument("--first-status-delay", type=float, default=1.0, help="seconds")
    timing.add_argument(
        "--alarm-interval", type=_positive, help="also send activeAlarmStatus every N s"
    )
    timing.add_argument("--ptp-interval", type=_positive, default=1.0, help="seconds")
    timing.add_argument(
        "--system-interval", type=_positive, default=10.0, help="seconds"
    )
    timing.add_argument("--frozen", action="store_true", help="values never drift")
    timing.add_argument(
        "--token-lifetime", type=_positive, default=86400.0, help="seconds"
    )
    options = p.add_argument_group("behaviour")
    options.add_argument(
        "--all-statuses",
        action="store_true",
        help="answer subscriptions with allStatuses (what the original expected)",
    )
    options.add_argument(
        "--resend-unchanged",
        action="store_true",
        help="re-send every subscribed object each frequency (load mode)",
    )
    options.add_argument(
        "--script", type=Path, help="replay this script on every connection"
    )
    return p


def config_from_args(args: argparse.Namespace) -> SnpSimConfig:
    """Build a :class:`SnpSimConfig` from parsed :func:`build_parser` arguments."""
    password = os.environ.get(args.password_env, DEFAULT_PASSWORD)
    script = load_script(args.script) if args.script else None
    specs = SnpSimConfig.fleet(
        args.devices,
        prefix=args.name_prefix,
        username=args.username,
        password=password,
        script=script,
        answer_with_all_statuses=args.all_statuses,
        resend_unchanged=args.resend_unchanged,
    )
    for index, spec in enumerate(specs):
        if args.rest_port is not None:
            step = 0 if args.first_address or not args.rest_port else index
            spec.rest_port = args.rest_port + step
    return SnpSimConfig(
        devices=specs,
        host=args.host,
        first_address=args.first_address,
        base_port=args.port,
        tls=args.tls,
        keepalive_interval=args.keepalive,
        first_status_delay=args.first_status_delay,
        alarm_interval=args.alarm_interval,
        drift=not args.frozen,
        ptp_interval=args.ptp_interval,
        system_interval=args.system_interval,
        token_lifetime=args.token_lifetime,
    )


class _Announced:
    """Starts the fleet, then logs the devices and writes the requested files."""

    def __init__(
        self, fleet: SnpFleet, connections_file: Path | None, ca_file: Path | None
    ) -> None:
        self._fleet = fleet
        self._connections_file = connections_file
        self._ca_file = ca_file

    async def __aenter__(self) -> SnpFleet:
        fleet = self._fleet
        await fleet.start()
        for device in fleet.devices[:ANNOUNCE_LIMIT]:
            _log.info(
                "snp_device_ready",
                name=device.name,
                restapi=device.rest_url,
                websocket=device.ws_url,
            )
        if self._connections_file is not None:
            export: dict[str, Any] = {
                "version": "1.0",
                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "connections": fleet.connections(),
            }
            self._connections_file.write_text(json.dumps(export, indent=2) + "\n")
        if self._ca_file is not None and fleet.certificates is not None:
            self._ca_file.write_bytes(fleet.certificates.ca_pem)
        first, last = fleet.devices[0], fleet.devices[-1]
        _log.info(
            "snp_fleet_ready",
            devices=len(fleet.devices),
            first=first.ws_url,
            last=last.ws_url,
        )
        return fleet

    async def __aexit__(self, *exc: object) -> None:
        await self._fleet.stop()


async def serve(
    config: SnpSimConfig,
    stop: asyncio.Event | None = None,
    *,
    connections_file: Path | None = None,
    ca_file: Path | None = None,
) -> None:
    """Run a fleet until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        config: the fleet's settings.
        stop: set it to shut down; when ``None`` the process signals do it.
        connections_file: write the devices as an exporter import file here.
        ca_file: with TLS, write the generated CA certificate here.
    """
    fleet = SnpFleet(config)
    await run_until_stopped(_Announced(fleet, connections_file, ca_file), stop)


def main(argv: list[str] | None = None) -> int:
    """Run ``snp-simulator`` until SIGINT/SIGTERM; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.devices < 1:
        parser.error("--devices must be at least 1")
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        run(serve(config, connections_file=args.connections_file, ca_file=args.ca_file))
    return 0
