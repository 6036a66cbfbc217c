"""Settings of the standalone ``snp-exporter`` command: the original's env and ports.

The original's environment variables keep their names and defaults (``COMPAT.md``):
``LOGGING`` (``INFO``: a level name as Python's logging spells it, any case, or
its number), ``INTERVAL`` (5: base reconnect delay in seconds), ``POLL_INTERVAL``
(10: seconds between checks of the store for changes made elsewhere) and
``DB_PATH`` (``/etc/snp_exporter/connections.db``: the store; the original's
database found there is migrated). ``SNP_EXPORTER_<KEY>`` spells each of them
too, and sets what the original had no variable for: ``LISTEN_ADDRESS`` (metrics,
``:8000``), ``UI_LISTEN_ADDRESS`` (UI and API, ``:8080``), ``WEB_CONFIG_FILE``
(TLS and basic auth in the exporter-toolkit format), ``PROTECT_METRICS`` and
``LOG_FORMAT``. Flags win over the environment. Validation only; nothing here
opens a file or a port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporterhub.core.errors import ConfigError
from exporterhub.core.server import parse_listen_address

__all__ = ["DEFAULT_DB_PATH", "SnpExporterSettings"]

DEFAULT_DB_PATH: Final = "/etc/snp_exporter/connections.db"
_LEVELS: Final = {
    "debug": "debug",
    "info": "info",
    "warning": "warning",
    "warn": "warning",
    "error": "error",
    "critical": "critical",
    "fatal": "critical",
    "10": "debug",
    "20": "info",
    "30": "warning",
    "40": "error",
    "50": "critical",
}
"""What Python's ``logging`` accepted for the original's ``LOGGING``."""

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def _env(name: str) -> AliasChoices:
    """Accept the original's variable and the ``SNP_EXPORTER_`` spelling."""
    return AliasChoices(name, f"SNP_EXPORTER_{name}")


class SnpExporterSettings(BaseSettings):
    """The ``snp-exporter`` command's settings (see the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix="SNP_EXPORTER_", extra="forbid", populate_by_name=True
    )

    log_level: LogLevel = Field(
        default="info",
        validation_alias=AliasChoices("LOGGING", "SNP_EXPORTER_LOG_LEVEL"),
    )
    interval: float = Field(
        default=5.0, gt=0, le=3600, validation_alias=_env("INTERVAL")
    )
    poll_interval: float = Field(
        default=10.0, ge=1, le=3600, validation_alias=_env("POLL_INTERVAL")
    )
    db_path: str = Field(
        default=DEFAULT_DB_PATH, min_length=1, validation_alias=_env("DB_PATH")
    )
    listen_address: str = ":8000"
    ui_listen_address: str = ":8080"
    web_config_file: Path | None = None
    protect_metrics: bool = False
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            return _LEVELS.get(value.strip().lower(), value)
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("listen_address", "ui_listen_address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            parse_listen_address(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value
