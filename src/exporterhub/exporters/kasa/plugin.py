"""Wires the plug client, state, collector and discovery into a core exporter plugin.

One target per plug, each run by its own ``worker.PlugWorker`` (default every 30 s,
or when scraped) with its own deadline, so a dead or slow plug never delays another.
With
``discovery_options`` a discovery source (target ``discovery``) asks the network on
every ``interval`` and offers the plugs it found (``discovery.plan`` decides which).
No metric naming and no value reading here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

import kasa
import structlog
from pydantic import SecretStr

from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetOffers, TargetPublisher
from exporterhub.core.snapshot import TargetRecord
from exporterhub.exporters.kasa.client import (
    discover_plugs,
    resolve,
)
from exporterhub.exporters.kasa.collector import KASA_SPECS, PREFIX
from exporterhub.exporters.kasa.devices import KasaDevice
from exporterhub.exporters.kasa.discovery import (
    ConfiguredPlug,
    FoundPlug,
    Inventory,
    normal_mac,
    plan,
)
from exporterhub.exporters.kasa.instruments import (
    PROCESS_METRICS,
    DiscoveryInstruments,
    legacy_inventory,
)
from exporterhub.exporters.kasa.onscrape import ScrapeReads
from exporterhub.exporters.kasa.original import OriginalFile, is_original, read_original
from exporterhub.exporters.kasa.section import (
    MIN_REFRESH_INTERVAL,
    KasaDiscoverySettings,
    KasaTargetSettings,
    PlugPolling,
    TapoSection,
    as_secret,
    build_discovery,
    build_targets,
)
from exporterhub.exporters.kasa.state import KasaSnapshot
from exporterhub.exporters.kasa.worker import AUTH_PAUSE, PlugWorker

if TYPE_CHECKING:
    from exporterhub.core.app import HubState

__all__ = [
    "AUTH_PAUSE",
    "DISCOVERY_NAME",
    "PLUGIN",
    "REPLAN_SECONDS",
    "KasaPlugin",
    "discovery_target",
    "env_credentials",
    "to_target",
]

_log = structlog.get_logger(__name__)
DISCOVERY_NAME: Final = "discovery"
"""The discovery source's name (sources and plugs are named apart)."""
REPLAN_SECONDS: Final = 5.0
"""How often discovery re-decides from memory (a configured plug learned its MAC,
or stopped answering), between the network rounds of ``interval``."""


class _Discovery:
    """The discovery source: network rounds every ``interval``, re-plans between."""

    def __init__(
        self, settings: KasaDiscoverySettings, offers: TargetOffers, clock: Clock
    ) -> None:
        self.settings = settings
        self.offers = offers
        self.clock = clock
        self.inventory = Inventory()
        # MAC by configured device (a renamed or re-pointed plug learns anew)
        self.learned: dict[KasaDevice, str] = {}
        self.resolved: dict[str, frozenset[str]] = {}  # configured host -> IPs
        self.moved: dict[str, str] = {}  # configured name -> address now
        self.account: dict[str, int] = {}  # discovered plug -> account tried
        self.failing: set[str] = set()  # addresses whose last ask failed

    async def run(self) -> None:
        """Discover and offer until cancelled."""
        options = self.settings.options
        next_round = self.clock.monotonic()
        try:
            while True:
                if options.active and self.clock.monotonic() >= next_round:
                    await self.round()
                    next_round = self.clock.monotonic() + options.interval
                await self.replan()
                await self.clock.sleep(min(REPLAN_SECONDS, options.interval))
        finally:
            DiscoveryInstruments.drop(self.offers.registry)
            legacy_inventory(self.offers.registry, None)

    async def round(self) -> None:
        """Ask every discovery address once and remember what answered."""
        options = self.settings.options
        addresses = [(options.target, options.port)] if options.enabled else []
        addresses += [(d.host, d.port or options.port) for d in options.targets]
        answers = await asyncio.gather(*(self._ask(h, p) for h, p in addresses))
        await self._resolve_configured()
        found = [plug for plugs in answers if plugs is not None for plug in plugs]
        for plug in self.inventory.add(found):
            _log.info(
                "plug_discovered" if plug.is_plug else "device_not_a_plug",
                mac=plug.mac,
                host=plug.host,
                port=plug.port,
                protocol=plug.connection_type,
                model=plug.model,
                family=plug.family,
            )
        instruments = DiscoveryInstruments.for_registry(self.offers.registry)
        asked = [plugs for plugs in answers if plugs is not None]
        plugs = {plug.key for plug in found if plug.is_plug}
        instruments.devices(len(plugs) if asked or not answers else None)
        instruments.rounds.inc()
        instruments.errors.inc(len(answers) - len(asked))
        instruments.last_round.set(self.clock.time())

    async def _ask(self, host: str, port: int | None) -> list[FoundPlug] | None:
        settings = self.settings
        try:
            found = await discover_plugs(
                host,
                port=port,
                username=settings.username.get_secret_value(),
                password=settings.password.get_secret_value(),
                discovery_timeout=settings.options.discovery_timeout,
                discovery_packets=settings.options.discovery_packets,
                interface=settings.options.interface,
            )
        except (OSError, TimeoutError, kasa.KasaException) as exc:
            if host not in self.failing:
                _log.warning("discovery_failed", address=host, error=str(exc))
            self.failing.add(host)
            return None
        except Exception:  # a python-kasa bug must not end discovery for good
            _log.exception("discovery_failed", address=host)
            self.failing.add(host)
            return None
        self.failing.discard(host)
        return found

    async def _resolve_configured(self) -> None:
        """Look the configured plugs' host names up, so a name and its IP match."""
        hosts = {_settings(t).device.host for t, _ in self.offers.configured()}
        resolved = await asyncio.gather(*(resolve(host) for host in hosts))
        self.resolved = dict(zip(hosts, resolved, strict=True))

    def _configured(self) -> list[ConfiguredPlug]:
        plugs = []
        for target, record in self.offers.configured():
            settings = _settings(target)
            device = settings.device
            data = record.data
            current = ""
            if isinstance(data, KasaSnapshot) and data.reading is not None:
                current = normal_mac(data.reading.mac)
            learned = self.learned.get(device, "")
            displaced = False
            if current and current != learned:
                # The configured address answers as another plug: while the plug
                # we knew is found elsewhere it has moved; else it was replaced.
                displaced = bool(learned) and learned in self.inventory.plugs
                if not displaced:
                    self.learned[device] = learned = current
            plugs.append(
                ConfiguredPlug(
                    settings=settings,
                    mac=learned,
                    failing=displaced or self._gone(record, settings),
                    moved=target.name in self.moved,
                    addresses=self.resolved.get(device.host, frozenset()),
                )
            )
        return plugs

    def _gone(self, record: TargetRecord[Any], settings: KasaTargetSettings) -> bool:
        """Say whether a configured plug has missed two polls in a row (not one)."""
        if not record.attempted or record.healthy:
            return False
        last = record.last_success
        return last is None or self.clock.time() - last >= 2 * settings.interval

    def _next_accounts(self) -> None:
        """Try the next account on a discovered plug that refused the current one."""
        for target, record in self.offers.offered():
            data = record.data
            if target.name not in self.inventory.plugs or record.healthy:
                continue  # a moved configured plug keeps its own account
            if not isinstance(data, KasaSnapshot) or not dict(data.errors).get("auth"):
                continue
            tried = self.account.get(target.name, 0)
            if tried + 1 < self.settings.account_count:
                self.account[target.name] = tried + 1
                _log.info(
                    "plug_account_next",
                    target=target.name,
                    account=tried + 2,
                    accounts=self.settings.account_count,
                )

    async def replan(self) -> None:
        """Offer the plugs to run now, from memory (no network)."""
        self._next_accounts()
        configured = self._configured()
        decided = plan(self.inventory.plugs, configured, self.settings, self.account)
        moved = {s.name: s.device.address for s in decided.moved}
        for name, address in moved.items():
            if self.moved.get(name) != address:
                _log.warning("plug_moved", target=name, address=address)
        for name in self.moved.keys() - moved.keys():
            _log.info("plug_back", target=name)
        self.moved = moved
        await self.offers.offer([to_target(s) for s in decided.targets])
        if self.settings.legacy_metrics:
            known = len(configured) + len(decided.discovered)
            legacy_inventory(self.offers.registry, known)


def _env(*names: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return ""


def env_credentials() -> tuple[str, str]:
    """Return the environment's account: ``TAPO_*`` wins over ``TP_LINK_*``.

    As the original: its ``TAPO_USERNAME``/``TAPO_PASSWORD`` overrode the
    variables its ``tapo_*_env_key`` named (``TP_LINK_*`` by default).
    """
    return (
        _env("TAPO_USERNAME", "TP_LINK_USERNAME"),
        _env("TAPO_PASSWORD", "TP_LINK_PASSWORD"),
    )


_FAMILY_OFF: Final = "supported_device_families.plug is false"


def _original_polling(
    original: OriginalFile, polling: PlugPolling, source: str
) -> PlugPolling:
    """Return ``polling`` as the original's section asks, for ``exporterhub serve``.

    Its refresh interval as given (``null``: on scrape), its credentials
    (``TAPO_*``, else written in the file, else the variables it names); what
    cannot be honoured here is logged in one warning.
    """
    ignored = list(original.ignored)
    if any(
        (m.name, m.documentation, m.labels, m.enabled)
        != (m.key, None, ("host", "alias"), True)
        for m in original.metrics
    ):
        ignored.append(
            "exporters.tapo.per_device_family_metrics (renamed or switched off "
            "metrics apply in tapo-exporter only)"
        )
    if ignored:
        _log.warning("config_keys_not_honoured", file=source, keys=ignored)
    username, password = polling.username, polling.password
    if not os.environ.get("TAPO_USERNAME"):
        written = original.username
        username = as_secret(
            written if written is not None else _env(original.username_env)
        )
    if not os.environ.get("TAPO_PASSWORD"):
        written = original.password
        password = as_secret(
            written if written is not None else _env(original.password_env)
        )
    refresh = original.refresh_interval
    fields = polling.model_dump() | {"username": username, "password": password}
    if refresh is None:
        fields["on_scrape"] = True
    elif refresh >= MIN_REFRESH_INTERVAL:
        fields["refresh_interval"] = refresh
    else:
        fields["original_refresh_interval"] = refresh
    return PlugPolling(**fields)


class KasaPlugin:
    """The Tapo/Kasa plug exporter as the core sees it."""

    stored: ClassVar[StoredKind]
    """How the control plane stores, validates and describes this kind."""

    kind: str = "tapo"
    prefix: str = PREFIX
    identity_labels: tuple[str, ...] = ("target",)
    process_metrics = PROCESS_METRICS

    def __init__(self, specs: Sequence[MetricSpec[Any]] = KASA_SPECS) -> None:
        """Use ``specs`` as the metric table (the original's names renamed)."""
        self.specs = specs
        self.scrape_reads = ScrapeReads()

    def extend_app(self, hub: HubState) -> None:
        """Let scrapes read the plugs that read on scrape (``on_scrape``)."""
        hub.exposition.add_scrape_hook(self.scrape_reads.hook(hub.exposition.registry))

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.tapo`` section and return one target per plug.

        Credentials come from the environment (``TAPO_*`` over ``TP_LINK_*``). A
        section with the original pyprom-exporters' keys is read as it meant them
        (``original``); what cannot be honoured is named in one warning, among
        them renamed metrics: this hub's metric table is shared, so only
        ``tapo-exporter`` applies them.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        wrapped = {"exporters": {"tapo": dict(data)}}
        original = read_original(wrapped, source) if is_original(wrapped) else None
        section = validate_model(
            TapoSection,
            data if original is None else original.section,
            source=source,
            prefix="exporters.tapo.",
        )
        if not section.enabled:
            return []
        username, password = env_credentials()
        polling = section.polling(username, password)
        if original is not None:
            if not original.plug_family:
                _log.warning("plugs_not_read", file=source, reason=_FAMILY_OFF)
                return []
            polling = _original_polling(original, polling, source)
        targets = [
            to_target(t)
            for t in build_targets(section.devices, section.credentials, polling)
        ]
        discovery = build_discovery(
            section.discovery_options, section.credentials, polling
        )
        if discovery is not None:
            targets.append(discovery_target(discovery))
        return targets

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the target's name as its only identity label."""
        return (("target", target.name),)

    def max_age(self, target: Target) -> float:
        """Return how long a poll's values stay current."""
        return _settings(target).max_age

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Poll the plug until cancelled."""
        await PlugWorker(_settings(target), publisher, clock, self.scrape_reads).run()

    async def discover(
        self, target: Target, offers: TargetOffers, clock: Clock
    ) -> None:
        """Run the discovery source until cancelled."""
        settings = target.settings
        if not isinstance(settings, KasaDiscoverySettings):
            raise TypeError(f"target {target.name} has no discovery settings")
        await _Discovery(settings, offers, clock).run()


def to_target(settings: KasaTargetSettings) -> Target:
    """Wrap one plug's settings as a core ``Target``."""
    return Target(kind=KasaPlugin.kind, name=settings.name, settings=settings)


def discovery_target(settings: KasaDiscoverySettings) -> Target:
    """Wrap the discovery settings as the core's discovery source."""
    return Target(
        kind=KasaPlugin.kind, name=DISCOVERY_NAME, settings=settings, discovers=True
    )


def _settings(target: Target) -> KasaTargetSettings:
    settings = target.settings
    if not isinstance(settings, KasaTargetSettings):
        raise TypeError(f"target {target.name} has no plug settings")
    return settings


def stored_target(settings: KasaTargetSettings) -> Target:
    """Wrap a stored plug's settings; no account given = the environment's.

    The fields the served schema hides are refused when set: the schema must
    not accept less than validation does.

    Raises:
        ValueError: the plug names a credential set (those live in the YAML file)
            or pins a MAC (only discovery does).
    """
    if settings.device.credentials is not None:
        raise ValueError(
            "device.credentials: credential sets live in the YAML file; "
            "give username and password"
        )
    if settings.expect_mac:
        raise ValueError("expect_mac: only discovery pins a plug's MAC")
    if settings.on_scrape or settings.original_refresh_interval is not None:
        raise ValueError(
            "on_scrape, original_refresh_interval: only the original's config.yaml "
            "sets them"
        )
    if not settings.username.get_secret_value():
        username, password = env_credentials()
        if username:
            settings = settings.model_copy(
                update={
                    "username": SecretStr(username),
                    "password": SecretStr(password),
                }
            )
    return to_target(settings)


KasaPlugin.stored = StoredKind(
    kind=KasaPlugin.kind,
    title="TP-Link Tapo/Kasa plug",
    model=KasaTargetSettings,
    to_target=stored_target,
    name_path=("device", "name"),
    key_metrics=("tapo_power_watts", "tapo_relay_on"),
    summary="One smart plug, strip or switch (legacy XOR or SMART over KLAP/AES).",
    hidden=(
        "expect_mac",
        "device.credentials",
        "on_scrape",
        "original_refresh_interval",
    ),
)

PLUGIN: Final = KasaPlugin()
