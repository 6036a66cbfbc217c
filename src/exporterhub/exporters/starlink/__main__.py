"""``starlink-exporter``: the Starlink service on its own (port 8000, simulation first).

``--port`` (8000) and ``--config`` as the requirement fixes; the log level from
``STARLINK_EXPORTER_LOG_LEVEL`` (or ``LOG_LEVEL``) or ``--log.level``; JSON logs.
The configuration file is ``--config``, else ``STARLINK_CONFIG`` (the original
backend's variable), else ``config.yaml`` in the working directory. Only that
default may be missing (then the defaults apply, and it is logged); a file
named by the flag or the variable that does not exist is an error, as a typo
must not silently run on defaults. Wiring only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import structlog
import yaml
from pydantic import ValidationError

from exporterhub import __version__
from exporterhub.core.api import validation_problems
from exporterhub.core.errors import ConfigError
from exporterhub.core.logging import LEVELS, configure_logging
from exporterhub.core.plugin import Target
from exporterhub.exporters.starlink.legacy import legacy_env
from exporterhub.exporters.starlink.plugin import (
    PLUGIN,
    StarlinkTargetSettings,
    to_target,
)
from exporterhub.exporters.starlink.settings import (
    StarlinkConfig,
    load_config,
    merge_update,
)
from exporterhub.hub import build_hub, run_command, serve

__all__ = ["build_parser", "env_overrides", "load_with_env", "main"]

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
        "--config",
        type=Path,
        default=None,
        help="YAML configuration (must exist); default: $STARLINK_CONFIG, else "
        "config.yaml in the working directory (may be missing: defaults)",
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


_ENV_PREFIX = "STARLINK_EXPORTER_"
_NOT_CONFIG = {"LOG_LEVEL"}


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return ``STARLINK_EXPORTER_<KEY>`` variables as a nested config update.

    ``__`` separates levels (``STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS=25``);
    values are read as YAML scalars, so numbers and booleans keep their types.

    Raises:
        ConfigError: a variable sets a key below one that holds a value.

    >>> env_overrides({"STARLINK_EXPORTER_MODE": "live",
    ...                "STARLINK_EXPORTER_LIVE__TIMEOUT_SECONDS": "3"})
    {'mode': 'live', 'live': {'timeout_seconds': 3}}
    """
    update: dict[str, Any] = {}
    for name, text in sorted(environ.items()):
        if not name.startswith(_ENV_PREFIX):
            continue
        key = name.removeprefix(_ENV_PREFIX)
        if key in _NOT_CONFIG:
            continue
        path = [part.lower() for part in key.split("__")]
        node = update
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # ..._NETWORK=5 and ..._NETWORK__X=1
                above = _ENV_PREFIX + "__".join(key.split("__")[: depth + 1])
                raise ConfigError(f"environment: {name}: {above} is not a section")
            node = child
        try:
            node[path[-1]] = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # ValueError: an int past 4300 digits
            node[path[-1]] = text
    return update


DEFAULT_CONFIG: Final = Path("config.yaml")


def config_path(flag: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """Return the config file to read and whether it must exist.

    >>> config_path(None, {})
    (PosixPath('config.yaml'), False)
    >>> config_path(None, {"STARLINK_CONFIG": "/etc/starlink.yaml"})
    (PosixPath('/etc/starlink.yaml'), True)
    """
    if flag is not None:
        return flag, True
    named = environ.get("STARLINK_CONFIG", "")
    if named:
        return Path(named), True
    return DEFAULT_CONFIG, False


def load_with_env(path: Path, *, required: bool = False) -> tuple[StarlinkConfig, bool]:
    """Load defaults < YAML file < the original's variables < ours.

    Args:
        path: the YAML file.
        required: a missing file is an error (it was named explicitly).

    Raises:
        ConfigError: the file is missing though required, or it or an
            environment value is invalid (one line).
    """
    if required and not path.exists():
        raise ConfigError(f"{path}: no such configuration file")
    config, existed = load_config(path)
    # The original backend's STARLINK_* variables first, ours over them.
    for update, names in (
        (legacy_env(os.environ), "STARLINK_*, SIMULATION_MODE"),
        (env_overrides(os.environ), f"{_ENV_PREFIX}*"),
    ):
        if not update:
            continue
        try:
            config = merge_update(config, update)
        except ValidationError as exc:
            problems = "; ".join(
                f"{p.field}: {p.message}" for p in validation_problems(exc)
            )
            raise ConfigError(f"environment ({names}): {problems}") from exc
    return config, existed


async def _run(args: argparse.Namespace) -> None:
    configure_logging(_level(args), args.log_format, stream="stdout")
    path, required = config_path(args.config, os.environ)
    config, existed = load_with_env(path, required=required)
    if not existed:
        _log.info("starlink_config_defaults", file=str(path))

    async def load() -> Sequence[Target]:
        current, _ = load_with_env(path, required=required)
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
    return run_command("starlink-exporter", lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
