"""Runs one or more exporters in one process: config, exposition, runner, app, server.

Used by ``exporterhub serve``, ``exporterhub demo`` and every standalone exporter
command, so that all of them behave the same. This module wires; it holds no protocol
and no metric logic.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import structlog
import uvicorn
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
)
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp

from exporterhub import __version__
from exporterhub.core.app import HubState, create_app
from exporterhub.core.catalog import Catalog
from exporterhub.core.clock import Clock, SystemClock
from exporterhub.core.config import load_settings, read_yaml
from exporterhub.core.connections import (
    AcceptErrorThrottle,
    ConnectionGuard,
    ServerLimits,
    raise_open_file_limit,
)
from exporterhub.core.control import DEFAULT_POLL_INTERVAL, ControlPlane, storable_kinds
from exporterhub.core.errors import ConfigError, MissingExtraError
from exporterhub.core.exposition import Exposition
from exporterhub.core.logging import configure_logging
from exporterhub.core.metrics import asyncio_tasks, build_info
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.server import (
    bind_socket,
    make_server,
    parse_listen_address,
    run,
)
from exporterhub.core.shard import Shard, parse_shard
from exporterhub.core.targets import TargetRunner
from exporterhub.core.webconfig import BasicAuthCheck, load_web_config
from exporterhub.exporters import KINDS, load_plugin, load_plugins

if TYPE_CHECKING:
    from exporterhub.core.store import TargetStore

_log = structlog.get_logger(__name__)

__all__ = [
    "DEFAULT_LISTEN_ADDRESS",
    "HubSettings",
    "build_hub",
    "file_targets",
    "load_hub_settings",
    "open_store",
    "run_command",
    "serve",
    "serve_listeners",
    "targets_from_settings",
]

DEFAULT_LISTEN_ADDRESS: Final = ":8750"
DEFAULT_STORE_FILE: Final = "exporterhub.db"

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class WebSettings(BaseModel):
    """The HTTP listener and how long and how many clients it tolerates."""

    model_config = ConfigDict(extra="forbid")

    listen_address: str = DEFAULT_LISTEN_ADDRESS
    config_file: Path | None = Field(
        default=None,
        description="exporter-toolkit web config: TLS and basic auth "
        "(--web.config.file).",
    )
    external_address: str | None = Field(
        default=None,
        description="host:port Prometheus reaches this exporter at, for /api/sd.",
    )
    protect_metrics: bool = Field(
        default=False,
        description="With basic_auth_users, /metrics and /probe need them too.",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        le=1_000_000,
        description="Open HTTP connections at most (at most half the open-file "
        "limit); at the cap the slowest waiting client is dropped.",
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Time for a request's headers."
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Time for a request's body."
    )
    write_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Time a client may leave an answer unread.",
    )
    idle_timeout_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="Time a keep-alive connection may wait for its next request.",
    )

    def limits(self, open_files: int) -> ServerLimits:
        """Return the server limits, the cap lowered to half of ``open_files``."""
        return ServerLimits(
            header_timeout=self.header_timeout_seconds,
            body_timeout=self.body_timeout_seconds,
            write_timeout=self.write_timeout_seconds,
            idle_timeout=self.idle_timeout_seconds,
            max_connections=max(1, min(self.max_connections, open_files // 2)),
        )

    @field_validator("listen_address")
    @classmethod
    def _parse(cls, value: str) -> str:
        try:
            parse_listen_address(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value


class StoreSettings(BaseModel):
    """Where stored targets live (``--store``, ``store:`` in YAML, env)."""

    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(
        default=None, description="SQLite file (created 0600 on first start)."
    )
    url: str | None = Field(
        default=None,
        description="A database URL instead: postgresql://… for several replicas.",
    )
    key_file: Path | None = Field(
        default=None,
        description="Where the secret key lives (default: beside the SQLite file); "
        "EXPORTERHUB_SECRET_KEY wins.",
    )
    poll_interval: float = Field(
        default=DEFAULT_POLL_INTERVAL,
        ge=1,
        le=3600,
        description="Seconds between checks for changes made by other processes.",
    )

    def location(self, config: Path | None) -> str:
        """Return the store's path or URL: the default is beside the config file."""
        if self.url:
            return self.url
        if self.path is not None:
            return str(self.path)
        base = config.parent if config is not None else Path()
        return str(base / DEFAULT_STORE_FILE)


class LogSettings(BaseModel):
    """Logging level and format."""

    model_config = ConfigDict(extra="forbid")

    level: LogLevel = "info"
    format: Literal["auto", "json", "console"] = "auto"


class HubSettings(BaseSettings):
    """The exporterhub YAML file (env ``EXPORTERHUB_*``, ``__`` for nesting)."""

    model_config = SettingsConfigDict(
        env_prefix="EXPORTERHUB_", env_nested_delimiter="__", extra="forbid"
    )

    web: WebSettings = Field(default_factory=WebSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    shard: str | None = Field(
        default=None,
        description="INDEX/COUNT: this replica (0-based) of COUNT sharing one "
        "store runs only the targets rendezvous hashing gives it (--shard).",
    )
    exporters: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_shard(value))

    def replica(self) -> Shard | None:
        """Return this replica's shard, or None when it runs every target."""
        return None if self.shard is None else parse_shard(self.shard)


def load_hub_settings(
    path: Path | None, cli: Mapping[str, Any] | None = None
) -> HubSettings:
    """Read the YAML file (if any), then env, then flags.

    Raises:
        ConfigError: one line naming the file, the key and the problem.
    """
    data = read_yaml(path) if path is not None else {}
    return load_settings(
        HubSettings, yaml_data=data, cli=cli, source=str(path or "configuration")
    )


def targets_from_settings(
    settings: HubSettings, plugins: Mapping[str, ExporterPlugin], source: str
) -> list[Target]:
    """Validate every exporter section and return all targets.

    Raises:
        ConfigError: an unknown exporter or a bad key in its section.
        MissingExtraError: a section's exporter is not installed.
    """
    targets: list[Target] = []
    for kind, section in settings.exporters.items():
        plugin = plugins.get(kind)
        if plugin is None and kind in KINDS:
            try:
                plugin = load_plugin(kind)
            except MissingExtraError as exc:
                raise MissingExtraError(f"{source}: exporters.{kind}: {exc}") from exc
        if plugin is None:
            raise ConfigError(f"{source}: exporters.{kind}: unknown exporter")
        targets.extend(plugin.targets_from_config(section or {}, source))
    names: set[tuple[str, str, bool]] = set()
    for target in targets:
        key = (target.kind, target.name, target.discovers)  # sources named apart
        if key in names:
            raise ConfigError(
                f"{source}: exporters.{target.kind}.targets: duplicate name "
                f"{target.name!r}"
            )
        names.add(key)
    return targets


def _revision() -> str:
    """EXPORTERHUB_REVISION, else the revision baked in at build, else git's."""
    revision = os.environ.get("EXPORTERHUB_REVISION")
    if revision:
        return revision
    try:  # written into wheels and sdists by hatch_build.py
        baked = importlib.import_module("exporterhub._build")
    except ImportError:
        baked = None
    if baked is not None:
        return str(baked.REVISION)
    try:  # a source checkout (make demo, editable install)
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - PATH lookup is the point
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def build_hub(
    plugins: Mapping[str, ExporterPlugin],
    load_targets: Callable[[], Awaitable[Sequence[Target]]],
    *,
    title: str = "exporterhub",
    clock: Clock | None = None,
    store: TargetStore | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    shard: Shard | None = None,
) -> HubState:
    """Build the exposition, runner, control plane and app state for ``plugins``.

    Args:
        plugins: the exporters, by kind.
        load_targets: (re)reads the file and flag targets.
        title: shown on the pages.
        clock: the wall clock (a fake one in tests).
        store: the target store, if targets may be added at run time.
        poll_interval: seconds between checks of the store for outside changes.
        shard: this replica's place among several sharing the store: only its
            targets run (and are listed in ``/api/sd``); None runs them all.
    """
    clock = clock or SystemClock()
    disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
    registry = CollectorRegistry(auto_describe=True)
    revision = _revision()
    build_info(
        registry, name="exporterhub_build_info", version=__version__, revision=revision
    )
    for plugin in plugins.values():
        own = getattr(plugin, "register_self_metrics", None)
        if own is not None:  # an exporter whose original fixed other labels
            own(registry, version=__version__, revision=revision)
            continue
        build_info(
            registry,
            name=f"{plugin.prefix}_exporter_build_info",
            version=__version__,
            revision=revision,
        )
    asyncio_tasks(registry)
    exposition = Exposition(clock, registry)
    runner = TargetRunner(plugins, exposition, clock, shard=shard)
    if shard is not None:
        _shard_metrics(registry, shard, runner)
        _log.info("replica_shard", shard=str(shard))
    dropped = Counter(
        "exporterhub_http_connections_dropped",
        "HTTP connections the server closed itself: slow requests (header_timeout, "
        "body_timeout), unread answers (write_timeout), the slowest at the "
        "connection cap (evicted) or new ones refused at the cap (refused).",
        ["reason"],
        registry=registry,
    )
    for reason in ("header_timeout", "body_timeout", "write_timeout", "evicted"):
        dropped.labels(reason)
    state = HubState(
        title=title,
        exposition=exposition,
        runner=runner,
        clock=clock,
        load_targets=load_targets,
        count_dropped_connection=lambda reason: dropped.labels(reason).inc(),
        control=ControlPlane(
            runner,
            Catalog(storable_kinds(plugins), store),
            load_targets,
            clock,
            poll_interval=poll_interval,
        ),
    )
    for plugin in plugins.values():
        extend = getattr(plugin, "extend_app", None)
        if extend is not None:  # an exporter with its own REST API or health fields
            extend(state)
    return state


def _shard_metrics(
    registry: CollectorRegistry, shard: Shard, runner: TargetRunner
) -> None:
    """Expose this replica's shard and how many targets it runs."""
    info = Gauge(
        "exporterhub_shard_info",
        "This replica's place among several sharing one store (--shard): shard is "
        "its 0-based index, shards how many replicas there are; always 1.",
        ["shard", "shards"],
        registry=registry,
    )
    info.labels(str(shard.index), str(shard.count)).set(1)
    owned = Gauge(
        "exporterhub_shard_targets",
        "Targets this replica runs now: the configured, stored and discovered "
        "ones --shard assigns to it.",
        registry=registry,
    )
    owned.set_function(lambda: len(runner.targets))


async def serve(
    state: HubState, listen_address: str, web: WebSettings | None = None
) -> None:
    """Serve ``state`` until SIGINT/SIGTERM.

    Reads the web configuration file (TLS, basic auth) first, raises the
    open-file limit, caps connections below it, counts dropped connections in
    ``exporterhub_http_connections_dropped_total{reason}`` and logs failed
    ``accept()`` calls once per interval. A listener other machines can reach
    that accepts changes without credentials is logged as a warning (the UI
    shows it too).

    Raises:
        ConfigError: the listen address or the web configuration is invalid.
    """
    await serve_listeners(state, [(listen_address, create_app)], web)


AppFactory = Callable[[HubState], ASGIApp]
"""Builds one listener's app from the hub's state (after the web config is read)."""


async def serve_listeners(
    state: HubState,
    listeners: Sequence[tuple[str, AppFactory]],
    web: WebSettings | None = None,
) -> None:
    """Serve ``state`` on one or more listeners until SIGINT/SIGTERM.

    As ``serve``, for a command whose original had several ports
    (``snp-exporter``: metrics on one, its UI and API on another). The first
    listener's app is the main one: its lifespan starts and stops the targets,
    and its address decides whether the UI warns about being exposed. Every
    listener shares the web configuration (TLS, basic auth) and the connection
    cap; when one stops, the others stop too.

    Raises:
        ConfigError: an address cannot be parsed or bound, or the web
            configuration is invalid; nothing stays bound then.
    """
    web = web or WebSettings()
    addresses = [parse_listen_address(address) for address, _ in listeners]
    context = None
    if web.config_file is not None:
        config, context = load_web_config(web.config_file)
        if config.auth_enabled:
            state.auth = BasicAuthCheck(config.basic_auth_users)
        state.response_headers = dict(config.http_server_config.headers)
        state.protect_metrics = web.protect_metrics
    state.external_address = web.external_address
    state.exposed = state.auth is None and not _loopback(addresses[0][0])
    if state.exposed and state.plane.store is not None:
        _log.warning(
            "listener_accepts_changes_without_credentials",
            address=listeners[0][0],
            hint="set basic_auth_users in --web.config.file, or listen on 127.0.0.1",
        )
    sockets: list[socket.socket] = []
    try:
        for host, port in addresses:
            sockets.append(bind_socket(host, port))
        limits = web.limits(raise_open_file_limit())
        guard = ConnectionGuard(limits, state.count_dropped_connection)
        servers = [
            make_server(factory(state), host, port, guard=guard, ssl=context)
            for (_, factory), (host, port) in zip(listeners, addresses, strict=True)
        ]
        asyncio.get_running_loop().set_exception_handler(
            AcceptErrorThrottle(limits.log_interval)
        )
        await _serve_together(servers, sockets)
    finally:
        for sock in sockets:
            sock.close()


async def _serve_together(
    servers: Sequence[uvicorn.Server], sockets: Sequence[socket.socket]
) -> None:
    """Run each server on its socket; the first to stop stops the others."""

    def stop_all(_: object) -> None:
        for server in servers:
            server.should_exit = True

    async with asyncio.TaskGroup() as group:
        for server, sock in zip(servers, sockets, strict=True):
            # Each server.serve() catches SIGINT/SIGTERM for itself and passes
            # them on to the handler before it when it returns.
            group.create_task(server.serve(sockets=[sock])).add_done_callback(stop_all)


def _loopback(host: str) -> bool:
    """Say whether only this machine can reach ``host``."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def open_store(settings: StoreSettings, config: Path | None) -> TargetStore:
    """Open (and create or migrate) the target store the settings name.

    Raises:
        ConfigError: the store cannot be opened (its URL, its key, its schema);
            the message names it with any password redacted.
    """
    from exporterhub.core.store import StoreError, TargetStore, store_url

    location = settings.location(config)
    try:
        return await TargetStore.open(store_url(location), key_file=settings.key_file)
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc


def config_loader(
    path: Path | None, plugins: Mapping[str, ExporterPlugin] | None = None
) -> Callable[[], Awaitable[Sequence[Target]]]:
    """Return a coroutine function that re-reads ``path`` into targets (for reload)."""
    chosen = plugins if plugins is not None else load_plugins(installed_only=True)

    async def load() -> Sequence[Target]:
        settings = load_hub_settings(path)
        return targets_from_settings(settings, chosen, str(path or "configuration"))

    return load


def file_targets(
    path: Path,
    kind: str,
    *,
    listen_address: str | None = None,
    log_level: str | None = None,
    log_format: str | None = None,
) -> tuple[str, Callable[[], Awaitable[Sequence[Target]]]]:
    """Set a standalone exporter up from an exporterhub YAML file.

    The file gives the listen address, logging and this exporter's targets (other
    exporters' sections are validated and ignored); the flags given still win.
    Configures logging. Returns the listen address and the (re)load function.

    Raises:
        ConfigError: the file or a value in it is invalid (one line).
    """
    overrides: dict[str, Any] = {}
    if listen_address:
        overrides["web"] = {"listen_address": listen_address}
    log = {
        key: value
        for key, value in (("level", log_level), ("format", log_format))
        if value is not None
    }
    if log:
        overrides["log"] = log
    settings = load_hub_settings(path, overrides)
    configure_logging(settings.log.level, settings.log.format)
    reload_all = config_loader(path, load_plugins(installed_only=True))

    async def load() -> Sequence[Target]:
        return [t for t in await reload_all() if t.kind == kind]

    return settings.web.listen_address, load


def run_command(prog: str, command: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """Run a command's coroutine; a ConfigError is one line and its exit status.

    That is 2 for a bad configuration, 1 for a missing extra.
    """
    try:
        run(command())
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 0
    return 0
