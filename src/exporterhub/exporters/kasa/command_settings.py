"""Settings of the standalone ``tapo-exporter``/``prom-exporter`` command.

``load_tapo_settings`` merges, in this order of precedence, the command line, the
environment (COMPAT names: ``TAPO_USERNAME``/``TAPO_PASSWORD``, which win over
``TP_LINK_USERNAME``/``TP_LINK_PASSWORD`` as in the original, ``TAPO_PLUG_DEVICES``,
``PROMETHEUS_PORT``, ``PYPROM_EXPORTERS_LOG_LEVEL`` or ``LOG_LEVEL``, names or
numbers; other options take ``TAPO_EXPORTER_<FIELD>``), the YAML file (its top-level
``prometheus_port`` and ``log_level`` and its ``exporters.tapo`` section) and the
defaults (port 8090) into ``TapoExporterSettings``. A file the original
pyprom-exporters wrote (``original``) is read as that program meant it, and
``load_tapo_command`` also returns what it said (metric names, keys not honoured).

It only reads: it must never write the user's config file (the original rewrote it
on every start; COMPAT forbids that), never parse arguments (``__main__`` does) and
never talk to a plug. Section validation and target resolution live in
``section``; this module must not duplicate them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from exporterhub.core.config import load_settings, read_yaml, validate_model
from exporterhub.core.errors import ConfigError
from exporterhub.exporters.kasa.devices import DeviceEntry, split_devices
from exporterhub.exporters.kasa.original import OriginalFile, is_original, read_original
from exporterhub.exporters.kasa.section import (
    MIN_REFRESH_INTERVAL,
    CredentialSet,
    DiscoveryOptions,
    KasaDiscoverySettings,
    KasaTargetSettings,
    PlugPolling,
    TapoSection,
    build_discovery,
    build_targets,
    check_devices,
    check_discovery,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_PORT",
    "TapoExporterSettings",
    "load_tapo_command",
    "load_tapo_settings",
    "log_level_name",
]

DEFAULT_PORT: Final = 8090
DEFAULT_CONFIG_FILE: Final = Path("config.yaml")
"""The original's config file, read from the working directory when present."""


_NUMERIC_LEVELS: Final = ((10, "debug"), (20, "info"), (30, "warning"), (40, "error"))
_LEVEL_ALIASES: Final = {"warn": "warning", "fatal": "critical", "notset": "debug"}


def log_level_name(value: object) -> object:
    """Return a log level as one of ``core.logging.LEVELS`` where it is one.

    Names in any case (``WARN``, ``FATAL`` too) and numbers (``10``, ``"20"``, as
    the original's ``LOG_LEVEL=10``): a number takes the first level at or above
    it. Anything else is returned as given, for validation to refuse.

    >>> log_level_name("10"), log_level_name(30), log_level_name("WARN")
    ('debug', 'warning', 'warning')
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        return next((name for top, name in _NUMERIC_LEVELS if value <= top), "critical")
    if isinstance(value, str):
        name = value.strip().lower()
        return _LEVEL_ALIASES.get(name, name)
    return value


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
        validation_alias=_env("TAPO_USERNAME", "TP_LINK_USERNAME", "tapo_username"),
    )
    tapo_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=_env("TAPO_PASSWORD", "TP_LINK_PASSWORD", "tapo_password"),
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
        default="info",
        validation_alias=_env("PYPROM_EXPORTERS_LOG_LEVEL", "LOG_LEVEL", "log_level"),
    )
    config: Path | None = None
    refresh_interval: float = Field(default=30.0, ge=MIN_REFRESH_INTERVAL, le=86400)
    legacy_metrics: bool = False
    timeout: float = Field(default=5.0, gt=0, le=60)
    poll_deadline: float | None = Field(default=None, gt=0, le=3600)
    discovery_options: DiscoveryOptions = Field(default_factory=DiscoveryOptions)
    credentials: dict[str, CredentialSet] | None = None
    on_scrape: bool = False
    original_refresh_interval: float | None = Field(default=None, ge=1, le=86400)

    @field_validator("tapo_plug_devices", mode="before")
    @classmethod
    def _split_devices(cls, value: object) -> object:
        return split_devices(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return log_level_name(value)

    @model_validator(mode="after")
    def _check(self) -> TapoExporterSettings:
        check_devices(self.tapo_plug_devices, self.credentials)
        check_discovery(self.discovery_options, self.credentials)
        return self

    def polling(self) -> PlugPolling:
        """Return how plugs are polled, with the default account."""
        return PlugPolling(
            username=self.tapo_username,
            password=self.tapo_password,
            refresh_interval=self.refresh_interval,
            legacy_metrics=self.legacy_metrics,
            timeout=self.timeout,
            poll_deadline=self.poll_deadline,
            on_scrape=self.on_scrape,
            original_refresh_interval=self.original_refresh_interval,
        )

    def discovery(self) -> KasaDiscoverySettings | None:
        """Return the discovery worker's settings, or None when it is not needed."""
        return build_discovery(self.discovery_options, self.credentials, self.polling())

    def targets(self) -> list[KasaTargetSettings]:
        """Return one target per configured device."""
        return build_targets(self.tapo_plug_devices, self.credentials, self.polling())


def _section_data(data: Mapping[str, Any], source: str) -> TapoSection:
    exporters = data.get("exporters") or {}
    if not isinstance(exporters, Mapping):
        raise ConfigError(f"{source}: exporters: must be a mapping")
    raw = exporters.get("tapo") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: exporters.tapo: must be a mapping")
    return validate_model(TapoSection, raw, source=source, prefix="exporters.tapo.")


def _original_data(
    original: OriginalFile, source: str, wrapped: bool, cli: dict[str, Any]
) -> dict[str, Any]:
    """Return the settings an original ``config.yaml`` gives (see ``original``).

    Credentials as the original took them: ``TAPO_USERNAME``/``TAPO_PASSWORD``,
    else ``discovery_options.credentials`` written in the file, else the
    variables its ``tapo_*_env_key`` name; the flags win over all. They go in
    with the flags' precedence, so ``TP_LINK_*`` cannot win over the variables
    the file named instead.
    """
    prefix = "exporters.tapo." if wrapped else ""
    section = validate_model(
        TapoSection, original.section, source=source, prefix=prefix
    )
    data = _section_settings(section)
    data["legacy_metrics"] = section.prometheus_options.legacy_metrics
    refresh = original.refresh_interval
    if refresh is None:
        data["on_scrape"] = True
    elif refresh >= MIN_REFRESH_INTERVAL:
        data["refresh_interval"] = refresh
    else:
        data["original_refresh_interval"] = refresh
    for field, env, written in (
        ("tapo_username", original.username_env, original.username),
        ("tapo_password", original.password_env, original.password),
    ):
        tapo = "TAPO_USERNAME" if field == "tapo_username" else "TAPO_PASSWORD"
        if field in cli or os.environ.get(tapo):
            continue
        value = written if written is not None else os.environ.get(env)
        if value:
            cli[field] = value
    return data


def _section_settings(section: TapoSection) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tapo_plug_devices": list(section.devices),
        "refresh_interval": section.prometheus_options.refresh_interval,
        "legacy_metrics": section.prometheus_options.legacy_metrics,
        "discovery_options": section.discovery_options,
        "credentials": section.credentials,
        "timeout": section.timeout,
        "poll_deadline": section.poll_deadline,
    }
    # Keep only what the file set, so env/defaults of the rest stay visible.
    fields_set = section.model_fields_set
    if "devices" not in fields_set:
        del data["tapo_plug_devices"]
    if "credentials" not in fields_set:
        del data["credentials"]
    return data


def load_tapo_command(
    cli: Mapping[str, Any],
    yaml_path: Path | None = None,
    *,
    default_path: Path | None = DEFAULT_CONFIG_FILE,
) -> tuple[TapoExporterSettings, OriginalFile | None]:
    """Build the command's settings: CLI > environment > YAML > defaults.

    The file is ``yaml_path``, else the ``config`` flag, else ``default_path``
    (``config.yaml`` in the working directory) when it exists. Its top-level
    ``prometheus_port`` and ``log_level`` and its ``exporters.tapo`` section are
    read (a file of the original pyprom-exporters, either layout, as that
    program meant it); the file is never written.

    Args:
        cli: the flags the user gave, by field name (unset flags left out).
        yaml_path: an explicit config file (``--config``); must exist.
        default_path: the file read when present and none was named.

    Returns:
        The settings, and what an original file said (None for any other file).

    Raises:
        ConfigError: an unreadable file or any invalid value, naming its origin.
    """
    path = yaml_path
    if path is None and cli.get("config") is not None:
        path = Path(cli["config"])
    if path is None and default_path is not None and default_path.is_file():
        path = default_path
    flags = dict(cli)
    yaml_data: dict[str, Any] = {}
    source = "configuration"
    original: OriginalFile | None = None
    if path is not None:
        source = str(path)
        data = read_yaml(path)
        if is_original(data):
            original = read_original(data, source)
            wrapped = "exporters" in data
            yaml_data = _original_data(original, source, wrapped, flags)
        else:
            yaml_data = _section_settings(_section_data(data, source))
        for key in ("prometheus_port", "log_level"):
            if data.get(key) is not None:
                yaml_data[key] = data[key]
        yaml_data["config"] = path
    settings = load_settings(
        TapoExporterSettings, yaml_data=yaml_data, cli=flags, source=source
    )
    return settings, original


def load_tapo_settings(
    cli: Mapping[str, Any],
    yaml_path: Path | None = None,
    *,
    default_path: Path | None = DEFAULT_CONFIG_FILE,
) -> TapoExporterSettings:
    """Return ``load_tapo_command``'s settings alone (see there)."""
    return load_tapo_command(cli, yaml_path, default_path=default_path)[0]
