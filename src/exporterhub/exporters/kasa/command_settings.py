"""Settings of the standalone ``tapo-exporter``/``prom-exporter`` command.

``load_tapo_settings`` merges, in this order of precedence, the command line, the
environment (COMPAT names: ``TP_LINK_USERNAME``/``TP_LINK_PASSWORD``, also
``TAPO_USERNAME``/``TAPO_PASSWORD``, ``TAPO_PLUG_DEVICES``, ``PROMETHEUS_PORT``,
``LOG_LEVEL``; other options take ``TAPO_EXPORTER_<FIELD>``), the ``exporters.tapo``
section of the YAML file and the defaults (port 8090) into ``TapoExporterSettings``.

It only reads: it must never write the user's config file (the original rewrote it
on every start; COMPAT forbids that), never parse arguments (``__main__`` does) and
never talk to a plug. Section validation and target resolution live in
``section``; this module must not duplicate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from exporterhub.core.config import load_settings, read_yaml, validate_model
from exporterhub.core.errors import ConfigError
from exporterhub.exporters.kasa.devices import DeviceEntry, split_devices
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
    "load_tapo_settings",
]

DEFAULT_PORT: Final = 8090
DEFAULT_CONFIG_FILE: Final = Path("config.yaml")
"""The original's config file, read from the working directory when present."""


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
        return split_devices(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

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
