"""Settings of the Tapo/Kasa plug exporter: devices, the YAML section, the command.

Validation only; nothing here talks to a plug, and nothing here ever writes the
user's config file (the original rewrote it on every start; COMPAT forbids that).
Names fixed by COMPAT: the ``exporters.tapo`` section with ``devices``,
``discovery_options`` and ``prometheus_options.refresh_interval``; env
``TP_LINK_USERNAME``/``TP_LINK_PASSWORD`` (also ``TAPO_USERNAME``,
``TAPO_PASSWORD``), ``TAPO_PLUG_DEVICES``, ``PROMETHEUS_PORT`` and ``LOG_LEVEL``;
port 8090. Precedence: command line > environment > YAML > defaults.

A device is ``host[:port]`` (``[::1]:9999`` for IPv6) on the command line and in
``TAPO_PLUG_DEVICES`` (a space or comma separated list); in YAML a ``devices``
entry is either that string or a mapping ``{host, port, connection_type, name,
credentials}``. Credentials are ``SecretStr``: never in ``repr``, logs or the API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from exporterhub.core.config import load_settings, read_yaml, validate_model
from exporterhub.core.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_PORT",
    "ConnectionType",
    "CredentialSet",
    "DiscoveryOptions",
    "KasaDevice",
    "KasaDiscoverySettings",
    "KasaTargetSettings",
    "PrometheusOptions",
    "TapoExporterSettings",
    "TapoSection",
    "load_tapo_settings",
    "parse_device",
]

DEFAULT_PORT: Final = 8090
DEFAULT_CONFIG_FILE: Final = Path("config.yaml")
"""The original's config file, read from the working directory when present."""

MIN_REFRESH_INTERVAL: Final = 5.0
"""Plugs answer flakily when polled faster (``protocols/kasa.md`` §6)."""

ConnectionType = Literal["auto", "iot", "klap", "aes"]
"""``auto`` probes; ``iot`` = legacy XOR; ``klap``/``aes`` = SMART transports."""

_BRACKETED: Final = re.compile(r"^\[(?P<host>[^\[\]]+)\](?::(?P<port>[^:]*))?$")
_SPLIT: Final = re.compile(r"[\s,]+")


def _port(text: str, device: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"device {device!r}: port must be a number 1-65535")
    return int(text)


def parse_device(text: str) -> KasaDevice:
    """Parse ``host[:port]`` (``[v6addr]:port`` for IPv6) into a ``KasaDevice``.

    A bare IPv6 address without brackets is taken as a host without port.

    >>> parse_device("192.168.1.20:9999").port
    9999
    >>> parse_device("[::1]:9999").host, parse_device("plug.lan").port
    ('::1', None)

    Raises:
        ValueError: empty text, an empty host or a port that is not 1-65535.
    """
    device = text.strip()
    if not device:
        raise ValueError("device: empty device string")
    port: int | None = None
    match = _BRACKETED.match(device)
    if match is not None:
        host = match["host"]
        if match["port"] is not None:
            port = _port(match["port"], device)
    elif device.count(":") > 1:
        host = device  # bare IPv6 address: no port possible without brackets
    else:
        host, sep, port_text = device.partition(":")
        if sep:
            port = _port(port_text, device)
    if not host or any(c in host for c in "[] /"):
        raise ValueError(f"device {device!r}: invalid host")
    return KasaDevice(host=host, port=port)


def _hostport(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


class KasaDevice(BaseModel):
    """One plug to poll, as configured.

    Attributes:
        name: the target name (``target`` label); defaults to ``host:port`` (or
            ``host`` without a port, ``[v6]:port`` for IPv6).
        host: address or DNS name.
        port: TCP port (XOR) or HTTP port (KLAP/AES); None = protocol default.
        connection_type: ``auto`` (probe), ``iot`` (legacy XOR), ``klap``, ``aes``.
        login_version: the SMART login version (KLAP v1 or v2); None = 2 for
            KLAP. Discovery fills it in from the plug's answer.
        credentials: name of a set in the section's ``credentials``; None = the
            default username and password.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="", max_length=128)
    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(default=None, ge=1, le=65535)
    connection_type: ConnectionType = "auto"
    login_version: int | None = Field(default=None, ge=1, le=3)
    credentials: str | None = None

    @field_validator("connection_type", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _default_name(self) -> KasaDevice:
        if not self.name:
            object.__setattr__(self, "name", _hostport(self.host, self.port))
        return self

    @property
    def address(self) -> str:
        """Return ``host[:port]`` as a user would write it."""
        return _hostport(self.host, self.port)


def _devices(value: object) -> object:
    """Split a space or comma separated device string into a list."""
    if isinstance(value, str):
        return [part for part in _SPLIT.split(value) if part]
    return value


def _device_item(value: object) -> object:
    """Parse one ``host[:port]`` entry; mappings and devices pass through."""
    return parse_device(value) if isinstance(value, str) else value


DeviceEntry = Annotated[KasaDevice, BeforeValidator(_device_item)]
"""A ``devices`` entry: ``host[:port]`` or a mapping (errors name the index)."""


class CredentialSet(BaseModel):
    """One TP-Link cloud account (plugs bound to different accounts need several)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: SecretStr
    password: SecretStr


def _addresses(value: object) -> object:
    """Accept one address or a space/comma separated string as a list."""
    return _devices(value)


class DiscoveryOptions(BaseModel):
    """``discovery_options``: find plugs by UDP discovery (off by default).

    Keys follow python-kasa's ``Discover.discover`` arguments (as the original's
    did); the original's other keys (``with_update`` …) are accepted and ignored.

    Attributes:
        enabled: send discovery to ``target`` on every round (the original's
            ``perform_discovery``). Off by default: broadcasts never cross
            routers, VLANs or Docker bridges, and not everyone wants them.
        target: where ``enabled`` discovery goes: ``255.255.255.255`` (this
            network), a subnet's broadcast address, or one plug's address.
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
    target: str = Field(default="255.255.255.255", min_length=1, max_length=253)
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
        return _addresses(value)

    @field_validator("target")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(c in value for c in " /[]"):
            raise ValueError(f"invalid address {value!r}")
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


class KasaTargetSettings(BaseModel):
    """Everything one plug's worker needs.

    Attributes:
        device: the plug.
        username: TP-Link account e-mail (ignored by XOR plugs).
        password: its password.
        refresh_interval: seconds between polls (at least 5).
        timeout: python-kasa's per-attempt timeout, seconds.
        poll_deadline: the exporter's bound on one whole ``update()`` (python-kasa
            retries inside it); defaults to ``timeout * 3 + 3``.
        legacy_metrics: also serve the original's metric names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: KasaDevice
    username: SecretStr = SecretStr("")
    password: SecretStr = SecretStr("")
    refresh_interval: float = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    timeout: float = Field(default=5.0, gt=0, le=60)
    poll_deadline: float | None = Field(default=None, gt=0, le=3600)
    legacy_metrics: bool = False

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
        """Seconds after a poll past which its values are no longer served."""
        return 2 * self.refresh_interval


def _build_targets(
    devices: list[KasaDevice],
    credentials: Mapping[str, CredentialSet] | None,
    default_username: SecretStr | str,
    default_password: SecretStr | str,
    *,
    refresh_interval: float,
    legacy_metrics: bool,
    timeout: float,
    poll_deadline: float | None,
) -> list[KasaTargetSettings]:
    targets = []
    for device in devices:
        username, password = _secret(default_username), _secret(default_password)
        if device.credentials is not None:
            # _check_devices vetted the name when the model was validated.
            chosen = (credentials or {})[device.credentials]
            username, password = chosen.username, chosen.password
        targets.append(
            KasaTargetSettings(
                device=device,
                username=username,
                password=password,
                refresh_interval=refresh_interval,
                timeout=timeout,
                poll_deadline=poll_deadline,
                legacy_metrics=legacy_metrics,
            )
        )
    return targets


class KasaDiscoverySettings(BaseModel):
    """What the discovery worker needs, and the settings of each plug it finds.

    Attributes:
        options: the ``discovery_options`` section.
        username: account for discovered plugs (from the chosen credential set).
        password: its password.
        refresh_interval: poll interval of discovered plugs.
        timeout: python-kasa's per-attempt timeout for discovered plugs.
        poll_deadline: bound on one ``update()`` of a discovered plug.
        legacy_metrics: serve the original's names (and ``tapo_discovered_devices``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    options: DiscoveryOptions
    username: SecretStr = SecretStr("")
    password: SecretStr = SecretStr("")
    refresh_interval: float = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    timeout: float = Field(default=5.0, gt=0, le=60)
    poll_deadline: float | None = Field(default=None, gt=0, le=3600)
    legacy_metrics: bool = False

    def plug(self, device: KasaDevice) -> KasaTargetSettings:
        """Return the settings of one discovered plug."""
        return KasaTargetSettings(
            device=device,
            username=self.username,
            password=self.password,
            refresh_interval=self.refresh_interval,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
            legacy_metrics=self.legacy_metrics,
        )


def _build_discovery(
    options: DiscoveryOptions,
    credentials: Mapping[str, CredentialSet] | None,
    default_username: SecretStr | str,
    default_password: SecretStr | str,
    *,
    refresh_interval: float,
    legacy_metrics: bool,
    timeout: float,
    poll_deadline: float | None,
) -> KasaDiscoverySettings | None:
    """Return the discovery worker's settings; None when it has nothing to do.

    It also runs without discovery when ``legacy_metrics`` asks for the original's
    ``tapo_discovered_devices``.
    """
    if not options.active and not legacy_metrics:
        return None
    username, password = _secret(default_username), _secret(default_password)
    if options.credentials is not None:
        chosen = (credentials or {})[options.credentials]
        username, password = chosen.username, chosen.password
    return KasaDiscoverySettings(
        options=options,
        username=username,
        password=password,
        refresh_interval=refresh_interval,
        timeout=timeout,
        poll_deadline=poll_deadline,
        legacy_metrics=legacy_metrics,
    )


def _check_discovery(
    options: DiscoveryOptions, credentials: Mapping[str, CredentialSet] | None
) -> None:
    if options.credentials is not None and options.credentials not in (
        credentials or {}
    ):
        raise ValueError(
            f"discovery_options.credentials: unknown credentials "
            f"{options.credentials!r}"
        )


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


def _check_devices(
    devices: list[KasaDevice], credentials: Mapping[str, CredentialSet] | None
) -> None:
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
        return _devices(value)

    @model_validator(mode="after")
    def _check(self) -> TapoSection:
        _check_devices(self.devices, self.credentials)
        _check_discovery(self.discovery_options, self.credentials)
        return self

    def discovery(
        self, default_username: SecretStr | str, default_password: SecretStr | str
    ) -> KasaDiscoverySettings | None:
        """Return the discovery worker's settings, or None when it is not needed."""
        return _build_discovery(
            self.discovery_options,
            self.credentials,
            default_username,
            default_password,
            refresh_interval=self.prometheus_options.refresh_interval,
            legacy_metrics=self.prometheus_options.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
        )

    def targets(
        self, default_username: SecretStr | str, default_password: SecretStr | str
    ) -> list[KasaTargetSettings]:
        """Return one target per device, with its credential set resolved.

        Args:
            default_username: for devices that name no credential set (from env).
            default_password: likewise.
        """
        return _build_targets(
            self.devices,
            self.credentials,
            default_username,
            default_password,
            refresh_interval=self.prometheus_options.refresh_interval,
            legacy_metrics=self.prometheus_options.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
        )


def _env(*names: str) -> AliasChoices:
    """Accept the COMPAT env names (first wins) and the field name."""
    return AliasChoices(*names)


class TapoExporterSettings(BaseSettings):
    """The standalone ``tapo-exporter``/``prom-exporter`` command's settings.

    Flags map to fields by name (``--tapo-plug-devices`` → ``tapo_plug_devices``).
    Options without a COMPAT env name take ``TAPO_EXPORTER_<FIELD>``.
    """

    model_config = SettingsConfigDict(
        env_prefix="TAPO_EXPORTER_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    tapo_username: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=_env("TP_LINK_USERNAME", "TAPO_USERNAME", "tapo_username"),
    )
    tapo_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=_env("TP_LINK_PASSWORD", "TAPO_PASSWORD", "tapo_password"),
    )
    tapo_plug_devices: Annotated[list[DeviceEntry], NoDecode] = Field(
        default_factory=list,
        validation_alias=_env("TAPO_PLUG_DEVICES", "tapo_plug_devices"),
    )
    prometheus_port: int = Field(
        default=DEFAULT_PORT,
        ge=0,
        le=65535,
        validation_alias=_env("PROMETHEUS_PORT", "prometheus_port"),
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info", validation_alias=_env("LOG_LEVEL", "log_level")
    )
    config: Path | None = None
    refresh_interval: float = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    legacy_metrics: bool = False
    timeout: float = Field(default=5.0, gt=0, le=60)
    poll_deadline: float | None = Field(default=None, gt=0, le=3600)
    discovery_options: DiscoveryOptions = Field(default_factory=DiscoveryOptions)
    credentials: dict[str, CredentialSet] | None = None

    @field_validator("tapo_plug_devices", mode="before")
    @classmethod
    def _split_devices(cls, value: object) -> object:
        return _devices(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> TapoExporterSettings:
        _check_devices(self.tapo_plug_devices, self.credentials)
        _check_discovery(self.discovery_options, self.credentials)
        return self

    def discovery(self) -> KasaDiscoverySettings | None:
        """Return the discovery worker's settings, or None when it is not needed."""
        return _build_discovery(
            self.discovery_options,
            self.credentials,
            self.tapo_username,
            self.tapo_password,
            refresh_interval=self.refresh_interval,
            legacy_metrics=self.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
        )

    def targets(self) -> list[KasaTargetSettings]:
        """Return one target per configured device."""
        return _build_targets(
            self.tapo_plug_devices,
            self.credentials,
            self.tapo_username,
            self.tapo_password,
            refresh_interval=self.refresh_interval,
            legacy_metrics=self.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
        )


def _section_data(data: Mapping[str, Any], source: str) -> TapoSection:
    exporters = data.get("exporters") or {}
    if not isinstance(exporters, Mapping):
        raise ConfigError(f"{source}: exporters: must be a mapping")
    raw = exporters.get("tapo") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: exporters.tapo: must be a mapping")
    return validate_model(TapoSection, raw, source=source, prefix="exporters.tapo.")


def load_tapo_settings(
    cli: Mapping[str, Any],
    yaml_path: Path | None = None,
    *,
    default_path: Path | None = DEFAULT_CONFIG_FILE,
) -> TapoExporterSettings:
    """Build the command's settings: CLI > environment > YAML > defaults.

    The file is ``yaml_path``, else the ``config`` flag, else ``default_path``
    (``config.yaml`` in the working directory) when it exists. Only its
    ``exporters.tapo`` section is read; the file is never written.

    Args:
        cli: the flags the user gave, by field name (unset flags left out).
        yaml_path: an explicit config file (``--config``); must exist.
        default_path: the file read when present and none was named.

    Raises:
        ConfigError: an unreadable file or any invalid value, naming its origin.
    """
    path = yaml_path
    if path is None and cli.get("config") is not None:
        path = Path(cli["config"])
    if path is None and default_path is not None and default_path.is_file():
        path = default_path
    yaml_data: dict[str, Any] = {}
    source = "configuration"
    if path is not None:
        source = str(path)
        section = _section_data(read_yaml(path), source)
        yaml_data = {
            "tapo_plug_devices": list(section.devices),
            "refresh_interval": section.prometheus_options.refresh_interval,
            "legacy_metrics": section.prometheus_options.legacy_metrics,
            "discovery_options": section.discovery_options,
            "credentials": section.credentials,
            "timeout": section.timeout,
            "poll_deadline": section.poll_deadline,
            "config": path,
        }
        # Keep only what the file set, so env/defaults of the rest stay visible.
        fields_set = section.model_fields_set
        if "devices" not in fields_set:
            del yaml_data["tapo_plug_devices"]
        if "credentials" not in fields_set:
            del yaml_data["credentials"]
    return load_settings(
        TapoExporterSettings, yaml_data=yaml_data, cli=dict(cli), source=source
    )
