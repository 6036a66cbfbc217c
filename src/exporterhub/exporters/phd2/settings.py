"""Settings of the PHD2 exporter: one model per PHD2 instance, one for the command.

Validation only; nothing here connects. Flag and env names are the original
phd2-exporter's (``--phd2host``, ``--phd2port``, ``--port``, ``--rms_samples``).

``Phd2TargetSettings`` is what the YAML file's targets and the REST API validate,
and its JSON schema is what the API serves, so it is strict: JSON's types as the
schema states them (``core.fields``) and the host as ``core.address`` writes it.
The command's settings parse its flags' and environment's strings first.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from exporterhub.core.address import Host
from exporterhub.core.fields import FROZEN, Flag, Number, WholeNumber, whole_number

__all__ = ["DEFAULT_PORT", "Phd2ExporterSettings", "Phd2Section", "Phd2TargetSettings"]

DEFAULT_PORT: Final = 9753
DEFAULT_PHD2_PORT: Final = 4400


class Phd2TargetSettings(BaseModel):
    """One PHD2 instance to watch.

    Attributes:
        name: unique target name; defaults to ``host:port``.
        host: where PHD2 runs: a host name, an IPv4 address or a bare IPv6
            address (``core.address.Host``).
        port: PHD2's event-server port (4400 + instance - 1), 1..65535.
        rms_samples: guide steps in the RMS window, 1..100000.
        state_interval: seconds between ``get_app_state`` polls (liveness and
            reconciliation), over 0 up to 3600.
        equipment_interval: seconds between equipment and pixel-scale polls,
            over 0 up to 86400.
        rpc_timeout: seconds to wait for one JSON-RPC answer, over 0 up to 300.
        connect_timeout: seconds to wait for the TCP connection, over 0 up to 300.
        reconnect_initial: first reconnect delay, seconds, 0..3600.
        reconnect_max: cap on the reconnect delay, seconds, over 0 up to 86400.
        max_line_bytes: longer lines are rejected and counted, 1024..16 MiB.
        legacy_metrics: also serve the original phd2-exporter's event families
            (``phd2_<Event>_<Field>``, ``phd2_<Event>_total``, ``phd2_total``).

    Rules across fields (checked on the settings as a whole):
        reconnect_max >= reconnect_initial.
    """

    model_config = FROZEN

    name: str = Field(default="", max_length=128)
    host: Host = "127.0.0.1"
    port: WholeNumber = Field(default=DEFAULT_PHD2_PORT, ge=1, le=65535)
    rms_samples: WholeNumber = Field(default=10, ge=1, le=100_000)
    state_interval: Number = Field(default=5.0, gt=0, le=3600)
    equipment_interval: Number = Field(default=30.0, gt=0, le=86400)
    rpc_timeout: Number = Field(default=5.0, gt=0, le=300)
    connect_timeout: Number = Field(default=5.0, gt=0, le=300)
    reconnect_initial: Number = Field(default=1.0, ge=0, le=3600)
    reconnect_max: Number = Field(default=30.0, gt=0, le=86400)
    max_line_bytes: WholeNumber = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    legacy_metrics: Flag = False

    _whole = field_validator("port", "rms_samples", "max_line_bytes", mode="before")(
        staticmethod(whole_number)
    )

    @model_validator(mode="after")
    def _defaults(self) -> Phd2TargetSettings:
        if not self.name:
            object.__setattr__(self, "name", f"{self.host}:{self.port}")
        if self.reconnect_max < self.reconnect_initial:
            raise ValueError("reconnect_max must be >= reconnect_initial")
        return self

    @property
    def fallback_instance(self) -> int:
        """PHD2's instance number guessed from the port until PHD2 says it.

        PHD2 listens on 4400 + instance - 1; a port outside that range (forwarded,
        or a simulator's) gives no hint, and instance 1 stands in.
        """
        offset = self.port - DEFAULT_PHD2_PORT
        return offset + 1 if 0 <= offset < 100 else 1

    @property
    def max_age(self) -> float:
        """Seconds the last data stays current without a successful read or poll."""
        return 3 * self.state_interval + self.rpc_timeout


class Phd2Section(BaseModel):
    """The ``exporters.phd2`` section of the exporterhub YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    targets: list[Phd2TargetSettings] = Field(default_factory=list)


class Phd2ExporterSettings(BaseSettings):
    """The standalone ``phd2-exporter`` command's settings (env ``PHD2_EXPORTER_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="PHD2_EXPORTER_", extra="forbid", env_nested_delimiter="__"
    )

    phd2host: Host = "127.0.0.1"
    # NoDecode: the env var is "4400,4401" like the flag, not a JSON list.
    phd2port: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_PHD2_PORT], min_length=1
    )
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    rms_samples: int = Field(default=10, ge=1, le=100_000)
    legacy_metrics: bool = False
    listen_address: str = ""
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("phd2port", mode="before")
    @classmethod
    def _split_ports(cls, value: object) -> object:
        if isinstance(value, str):
            return [p for p in value.replace(" ", ",").split(",") if p]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("phd2port")
    @classmethod
    def _check_ports(cls, ports: list[int]) -> list[int]:
        for port in ports:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is outside 1..65535")
        if len(set(ports)) != len(ports):
            raise ValueError("a port is listed twice")
        return ports

    def targets(self) -> list[Phd2TargetSettings]:
        """Return one target per ``--phd2port``."""
        return [
            Phd2TargetSettings(
                host=self.phd2host,
                port=p,
                rms_samples=self.rms_samples,
                legacy_metrics=self.legacy_metrics,
            )
            for p in self.phd2port
        ]
