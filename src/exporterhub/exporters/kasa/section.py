"""The ``exporters.tapo`` YAML section and the per-plug settings it resolves to.

``TapoSection`` validates the section (``devices``, ``discovery_options``,
``prometheus_options.refresh_interval``, named ``credentials``); its ``targets()``
and ``discovery()`` resolve it into one ``KasaTargetSettings`` per plug and the
discovery worker's ``KasaDiscoverySettings``. The ``check_*`` and ``build_*``
helpers are shared with the standalone command (``command_settings``), so both
entry points validate and resolve alike.

Validation only: nothing here reads the environment, the command line or a file
(that is ``command_settings``), parses ``host[:port]`` (that is ``devices``) or
talks to a plug. Credentials are ``SecretStr``: never in ``repr``, logs or the API.

``PlugPolling`` and ``KasaTargetSettings`` (the API's) take JSON's types exactly
(``core.fields``); the section's own models also take the command's environment
strings, so they parse them before the strict models are built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from exporterhub.core.address import IPV4_HOST_PATTERN, MAX_HOST_LENGTH
from exporterhub.core.fields import FROZEN, Flag, Number, on_mismatch
from exporterhub.exporters.kasa.devices import DeviceEntry, KasaDevice, split_devices

__all__ = [
    "MIN_REFRESH_INTERVAL",
    "ON_SCRAPE_MAX_AGE",
    "CredentialSet",
    "DiscoveryOptions",
    "KasaDiscoverySettings",
    "KasaTargetSettings",
    "PlugPolling",
    "PrometheusOptions",
    "TapoSection",
    "as_secret",
    "build_discovery",
    "build_targets",
    "check_devices",
    "check_discovery",
]

MIN_REFRESH_INTERVAL: Final = 5.0
"""Plugs answer flakily when polled faster (``protocols/kasa.md`` §6); only the
original pyprom-exporters ``config.yaml`` may ask for less (its default was 1 s)."""
ON_SCRAPE_MAX_AGE: Final = 600.0
"""How long a read made for a scrape stays current (``on_scrape``): a failed read
withdraws the values at once, so this only bounds a scraper that went away."""


class CredentialSet(BaseModel):
    """One TP-Link cloud account (plugs bound to different accounts need several)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: SecretStr
    password: SecretStr


def _ipv4_only(host: str) -> str:
    """Refuse an IPv6 address: plug discovery (python-kasa) speaks IPv4 only."""
    if ":" in host:
        raise ValueError(f"{host!r}: discovery works over IPv4 only")
    return host


DiscoveryTarget = Annotated[
    str,
    StringConstraints(max_length=MAX_HOST_LENGTH, pattern=IPV4_HOST_PATTERN),
    on_mismatch("invalid address: a host name or IPv4 address (IPv4 only)"),
]
"""Where discovery is sent: ``core.address.IPV4_HOST_PATTERN``."""


class DiscoveryOptions(BaseModel):
    """``discovery_options``: find plugs by UDP discovery (off by default).

    Keys follow python-kasa's ``Discover.discover`` arguments (as the original's
    did); the original's other keys (``with_update`` …) are accepted and ignored.

    Attributes:
        enabled: send discovery to ``target`` on every round (the original's
            ``perform_discovery``). Off by default: broadcasts never cross
            routers, VLANs or Docker bridges, and not everyone wants them.
        target: where ``enabled`` discovery goes: ``255.255.255.255`` (this
            network), a subnet's broadcast address, or one plug's address or
            name (IPv4 only).
        targets: further addresses (``host`` or ``host:port``) asked by unicast
            on every round, even with ``enabled`` off: plugs behind a router.
        interval: seconds between discovery rounds (rediscovery).
        discovery_timeout: seconds each round waits for answers.
        discovery_packets: datagrams sent per address and round.
        port: the legacy discovery (and TCP) port when not 9999.
        interface: bind discovery to this network interface.
        credentials: the credential set for discovered plugs (default: the
            environment's username and password).
    """

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    enabled: bool = Field(
        default=False, validation_alias=AliasChoices("enabled", "perform_discovery")
    )
    target: DiscoveryTarget = "255.255.255.255"
    targets: list[DeviceEntry] = Field(default_factory=list)
    interval: float = Field(default=300.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    discovery_timeout: int = Field(default=5, ge=1, le=60)
    discovery_packets: int = Field(default=3, ge=1, le=20)
    port: int | None = Field(default=None, ge=1, le=65535)
    interface: str | None = None
    credentials: str | None = None

    @field_validator("targets", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_devices(value)

    @field_validator("targets")
    @classmethod
    def _hosts(cls, value: list[KasaDevice]) -> list[KasaDevice]:
        for device in value:
            _ipv4_only(device.host)
        return value

    @property
    def active(self) -> bool:
        """Say whether any discovery is configured."""
        return self.enabled or bool(self.targets)


class PrometheusOptions(BaseModel):
    """``prometheus_options``: how often plugs are read and which names to serve.

    Attributes:
        refresh_interval: seconds between polls of each plug (at least 5).
        legacy_metrics: also serve the original's metric names (values in kWh).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    refresh_interval: float = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    legacy_metrics: bool = False


class PlugPolling(BaseModel):
    """How a plug is polled and with which account.

    Shared by configured plugs and the template discovery applies to plugs it finds.

    Attributes:
        username: TP-Link account e-mail (ignored by XOR plugs).
        password: its password.
        refresh_interval: seconds between polls, 5..86400.
        timeout: python-kasa's per-attempt timeout, seconds, over 0 up to 60.
        poll_deadline: the exporter's bound on one whole ``update()`` (python-kasa
            retries inside it), seconds, over 0 up to 3600; defaults to
            ``timeout * 3 + 3``.
        legacy_metrics: also serve the original's metric names (and, for
            discovery, ``tapo_discovered_devices``).
        on_scrape: read the plug when ``/metrics`` is scraped instead of on a
            timer (the original's ``refresh_interval: null``); hidden from the API.
        original_refresh_interval: the original's ``refresh_interval`` as its
            file gave it (1 s and up), which wins over ``refresh_interval``;
            hidden from the API, whose floor stays 5 s.
    """

    model_config = FROZEN

    username: SecretStr = SecretStr("")
    password: SecretStr = SecretStr("")
    refresh_interval: Number = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    timeout: Number = Field(default=5.0, gt=0, le=60)
    poll_deadline: Number | None = Field(default=None, gt=0, le=3600)
    legacy_metrics: Flag = False
    on_scrape: Flag = False
    original_refresh_interval: Number | None = Field(default=None, ge=1, le=86400)

    @property
    def interval(self) -> float:
        """Return the seconds between polls: the original file's, else ours."""
        return self.original_refresh_interval or self.refresh_interval


class KasaTargetSettings(PlugPolling):
    """Everything one plug's worker needs: the plug and how to poll it.

    Attributes:
        device: the plug.
        expect_mac: the MAC the plug must answer with (``AA:BB:…``), set by
            discovery for the plugs it runs; "" = whichever plug answers.
    """

    device: KasaDevice
    expect_mac: str = ""

    @model_validator(mode="after")
    def _deadline(self) -> KasaTargetSettings:
        if self.poll_deadline is None:
            object.__setattr__(self, "poll_deadline", self.timeout * 3 + 3)
        return self

    @property
    def name(self) -> str:
        """Return the target name."""
        return self.device.name

    @property
    def deadline(self) -> float:
        """Return the poll deadline in seconds (never None after validation)."""
        return self.poll_deadline or self.timeout * 3 + 3

    @property
    def max_age(self) -> float:
        """Seconds after a poll past which its values are no longer served.

        Two intervals; at least two of the 5 s floor for the original's shorter
        ones (a poll may take longer than 1 s); ``ON_SCRAPE_MAX_AGE`` for reads
        made when scraped.
        """
        if self.on_scrape:
            return ON_SCRAPE_MAX_AGE
        if self.original_refresh_interval is not None:
            return 2 * max(self.original_refresh_interval, MIN_REFRESH_INTERVAL)
        return 2 * self.refresh_interval


def build_targets(
    devices: list[KasaDevice],
    credentials: Mapping[str, CredentialSet] | None,
    polling: PlugPolling,
) -> list[KasaTargetSettings]:
    """Return one ``KasaTargetSettings`` per device, its credential set resolved.

    ``polling`` holds the default account and the poll settings; a device naming a
    set gets that set's account instead.
    """
    targets = []
    for device in devices:
        fields = polling.model_dump()
        if device.credentials is not None:
            # check_devices vetted the name when the model was validated.
            chosen = (credentials or {})[device.credentials]
            fields.update(username=chosen.username, password=chosen.password)
        targets.append(KasaTargetSettings(device=device, **fields))
    return targets


class KasaDiscoverySettings(PlugPolling):
    """What the discovery worker needs; the polling fields apply to each plug found.

    Attributes:
        options: the ``discovery_options`` section.
        accounts: further accounts a discovered plug is tried with, in turn, when
            it refuses the first (``username``/``password``): plugs of one home
            may be bound to different TP-Link accounts.
    """

    options: DiscoveryOptions
    accounts: tuple[CredentialSet, ...] = ()

    @property
    def account_count(self) -> int:
        """Return how many accounts a discovered plug may be tried with."""
        return 1 + len(self.accounts)

    def plug(self, device: KasaDevice, account: int = 0) -> KasaTargetSettings:
        """Return the settings of one discovered plug, with account ``account``.

        Account 0 is ``username``/``password``; 1… are ``accounts`` in order.
        """
        polling = {name: getattr(self, name) for name in PlugPolling.model_fields}
        if 0 < account <= len(self.accounts):
            chosen = self.accounts[account - 1]
            polling.update(username=chosen.username, password=chosen.password)
        return KasaTargetSettings(device=device, **polling)


def build_discovery(
    options: DiscoveryOptions,
    credentials: Mapping[str, CredentialSet] | None,
    polling: PlugPolling,
) -> KasaDiscoverySettings | None:
    """Return the discovery worker's settings; None when it has nothing to do.

    ``polling`` holds the default account and the poll settings of the plugs found.
    It also runs without discovery when ``legacy_metrics`` asks for the original's
    ``tapo_discovered_devices``.
    """
    if not options.active and not polling.legacy_metrics:
        return None
    default = CredentialSet(username=polling.username, password=polling.password)
    sets = dict(credentials or {})
    first = sets.pop(options.credentials) if options.credentials else default
    # Then every other named set, then the default account (when one is set).
    accounts = [*sets.values()]
    if options.credentials and default.username.get_secret_value():
        accounts.append(default)
    fields = polling.model_dump()
    fields.update(username=first.username, password=first.password)
    return KasaDiscoverySettings(options=options, accounts=tuple(accounts), **fields)


def check_discovery(
    options: DiscoveryOptions, credentials: Mapping[str, CredentialSet] | None
) -> None:
    """Reject ``discovery_options.credentials`` naming an unknown set.

    Raises:
        ValueError: the set is not in ``credentials``.
    """
    if options.credentials is not None and options.credentials not in (
        credentials or {}
    ):
        raise ValueError(
            f"discovery_options.credentials: unknown credentials "
            f"{options.credentials!r}"
        )


def as_secret(value: SecretStr | str) -> SecretStr:
    """Return ``value`` as a ``SecretStr`` (unchanged when it already is one)."""
    return value if isinstance(value, SecretStr) else SecretStr(value)


def check_devices(
    devices: list[KasaDevice], credentials: Mapping[str, CredentialSet] | None
) -> None:
    """Reject a device name used twice or a device naming an unknown set.

    Raises:
        ValueError: naming the offending device.
    """
    seen: set[str] = set()
    for device in devices:
        if device.name in seen:
            raise ValueError(f"device name {device.name!r} is used twice")
        seen.add(device.name)
        if device.credentials is not None and device.credentials not in (
            credentials or {}
        ):
            raise ValueError(
                f"device {device.name!r}: unknown credentials {device.credentials!r}"
            )


class TapoSection(BaseModel):
    """The ``exporters.tapo`` section of the YAML file (COMPAT).

    Attributes:
        enabled: run this exporter inside ``exporterhub serve``.
        devices: plugs, each ``host[:port]`` or a mapping (see ``KasaDevice``).
        discovery_options: UDP discovery (off by default), see ``DiscoveryOptions``.
        prometheus_options: ``refresh_interval`` and ``legacy_metrics``.
        credentials: named credential sets, referred to by a device's
            ``credentials``; the default set comes from the environment.
        timeout: python-kasa's per-attempt timeout, seconds (extension).
        poll_deadline: bound on one ``update()``; default ``timeout * 3 + 3``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    devices: list[DeviceEntry] = Field(default_factory=list)
    discovery_options: DiscoveryOptions = Field(default_factory=DiscoveryOptions)
    prometheus_options: PrometheusOptions = Field(default_factory=PrometheusOptions)
    credentials: dict[str, CredentialSet] | None = None
    timeout: float = Field(default=5.0, gt=0, le=60)
    poll_deadline: float | None = Field(default=None, gt=0, le=3600)

    @field_validator("devices", mode="before")
    @classmethod
    def _parse_devices(cls, value: object) -> object:
        return split_devices(value)

    @model_validator(mode="after")
    def _check(self) -> TapoSection:
        check_devices(self.devices, self.credentials)
        check_discovery(self.discovery_options, self.credentials)
        return self

    def polling(
        self, default_username: SecretStr | str, default_password: SecretStr | str
    ) -> PlugPolling:
        """Return how plugs are polled, with the default account (from env)."""
        return PlugPolling(
            username=as_secret(default_username),
            password=as_secret(default_password),
            refresh_interval=self.prometheus_options.refresh_interval,
            legacy_metrics=self.prometheus_options.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
        )

    def discovery(
        self, default_username: SecretStr | str, default_password: SecretStr | str
    ) -> KasaDiscoverySettings | None:
        """Return the discovery worker's settings, or None when it is not needed."""
        polling = self.polling(default_username, default_password)
        return build_discovery(self.discovery_options, self.credentials, polling)

    def targets(
        self, default_username: SecretStr | str, default_password: SecretStr | str
    ) -> list[KasaTargetSettings]:
        """Return one target per device, with its credential set resolved.

        Args:
            default_username: for devices that name no credential set (from env).
            default_password: likewise.
        """
        polling = self.polling(default_username, default_password)
        return build_targets(self.devices, self.credentials, polling)
