"""``aaisp-exporter``'s settings, read from the environment (and ``./.env``).

``ChaosExporterSettings`` is the standalone command's model: the env names are the
original aaisp-exporter's (COMPAT), flat and canonical, with the original code's
nested spellings accepted as aliases; ``target()`` turns it into the one login's
``ChaosTargetSettings``.

Like the original, the standalone command reads ``AAISP_EXPORTER_*`` variables,
and a ``.env`` file in the working directory for the ones not set (the original's
README has users copy ``.env.example`` to ``.env``). A bad value's message names
the variable the user actually set — the canonical name or the original's alias —
and the file when it came from ``.env``. ``env_names`` lists every accepted name
per setting, for the docs and their tests. Nothing here starts anything; values
of password variables are never repeated in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.chaos.settings import (
    DEFAULT_API_URL,
    DEFAULT_PORT,
    MAX_CONCURRENCY,
    ChaosTargetSettings,
)

__all__ = [
    "DOTENV",
    "ChaosExporterSettings",
    "ServerSettings",
    "env_names",
    "format_env_error",
    "load_env_settings",
]

DOTENV: Final = Path(".env")
"""Read from the working directory, as the original did."""

_PREFIX: Final = "AAISP_EXPORTER_"


def _env(*names: str) -> AliasChoices:
    """Accept the canonical env name (first) and the original's aliases.

    Only prefixed names: a bare field name here would make an unprefixed
    variable (``MODE``, ``LOG_LEVEL``) configure the exporter. Flags still reach
    fields by name (``populate_by_name``).
    """
    return AliasChoices(*names)


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class ServerSettings(BaseModel):
    """Where ``aaisp-exporter`` listens (``AAISP_EXPORTER_SERVER__HOST``/``PORT``).

    Attributes:
        host: address to listen on; ``0.0.0.0`` is every IPv4 interface, as in
            the original.
        port: TCP port, 0..65535 (0: any free port).
    """

    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - the original listens on all interfaces
        min_length=1,
    )
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)


class ChaosExporterSettings(BaseSettings):
    """The standalone ``aaisp-exporter`` command's settings (env as in COMPAT).

    Attributes:
        control_login: the bare control pages login (``abc@a``), not a per-line
            login (``abc@a.1``).
        control_password: the control login's password.
        account_number: the account (``A1234A``), used only without a control
            login.
        account_password: the account's password.
        api_url: the CHAOS API base; point it at the simulator to try the
            exporter.
        log_level: debug, info, warning, error or critical (any case).
        log_format: ``auto`` (console on a terminal, else JSON), ``json`` or
            ``console``; the original's ``LOGGING__JSON_FORMAT`` true means
            json, false means auto.
        enable_broadband: poll broadband services, info and quota.
        enable_telephony: poll telephony/services.
        enable_telephony_ratecard: poll telephony/ratecard.
        enable_control_login: poll login/services.
        fast_interval: quota tier (broadband/quota), seconds, up to 86400.
        medium_interval: info tier (broadband/info), seconds, up to 86400.
        slow_interval: services, login and telephony tier, seconds, up to 86400.
        request_timeout: seconds one HTTP request may take, over 0 up to 300.
        max_retries: retries of a retryable failure within one collection, 0..10.
        concurrency: requests in flight at once in per-service mode, 1..50
            (above 16 is used as 16, with a warning).
        mode: ``bulk`` (one request for all lines) or ``per_service``.
        server: where the exporter listens.
    """

    model_config = SettingsConfigDict(
        env_prefix="AAISP_EXPORTER_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    control_login: str = Field(
        default="",
        validation_alias=_env(
            "AAISP_EXPORTER_CONTROL_LOGIN",
            "AAISP_EXPORTER_AUTH__CONTROL_LOGIN",
        ),
    )
    control_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=_env(
            "AAISP_EXPORTER_CONTROL_PASSWORD",
            "AAISP_EXPORTER_AUTH__CONTROL_PASSWORD",
        ),
    )
    account_number: str = Field(
        default="",
        validation_alias=_env(
            "AAISP_EXPORTER_ACCOUNT_NUMBER",
            "AAISP_EXPORTER_AUTH__ACCOUNT_NUMBER",
        ),
    )
    account_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=_env(
            "AAISP_EXPORTER_ACCOUNT_PASSWORD",
            "AAISP_EXPORTER_AUTH__ACCOUNT_PASSWORD",
        ),
    )
    api_url: str = Field(
        default=DEFAULT_API_URL,
        validation_alias=_env("AAISP_EXPORTER_API_URL", "AAISP_EXPORTER_API__BASE_URL"),
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info",
        validation_alias=_env(
            "AAISP_EXPORTER_LOG_LEVEL", "AAISP_EXPORTER_LOGGING__LEVEL"
        ),
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        validation_alias=_env(
            "AAISP_EXPORTER_LOG_FORMAT", "AAISP_EXPORTER_LOGGING__JSON_FORMAT"
        ),
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _json_format(cls, value: object) -> object:
        """Read the original's boolean ``JSON_FORMAT``: true is json, false auto.

        False is auto, not console: the original logged JSON whatever this said
        (a bug), so pipelines fed by it expect JSON when not on a terminal.
        """
        if isinstance(value, bool):
            return "json" if value else "auto"
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return "json"
            if word in _FALSE:
                return "auto"
            return word
        return value

    enable_broadband: bool = Field(
        default=True,
        validation_alias=_env(
            "AAISP_EXPORTER_ENABLE_BROADBAND",
            "AAISP_EXPORTER_COLLECTORS__ENABLE_BROADBAND",
        ),
    )
    enable_telephony: bool = Field(
        default=False,
        validation_alias=_env(
            "AAISP_EXPORTER_ENABLE_TELEPHONY",
            "AAISP_EXPORTER_COLLECTORS__ENABLE_TELEPHONY",
        ),
    )
    enable_telephony_ratecard: bool = Field(
        default=False,
        validation_alias=_env(
            "AAISP_EXPORTER_ENABLE_TELEPHONY_RATECARD",
            "AAISP_EXPORTER_COLLECTORS__ENABLE_TELEPHONY_RATECARD",
        ),
    )
    enable_control_login: bool = Field(
        default=False,
        validation_alias=_env(
            "AAISP_EXPORTER_ENABLE_CONTROL_LOGIN",
            "AAISP_EXPORTER_COLLECTORS__ENABLE_CONTROL_LOGIN",
            "AAISP_EXPORTER_COLLECTORS__ENABLE_LOGIN",  # the original code's spelling
        ),
    )
    fast_interval: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        validation_alias=_env(
            "AAISP_EXPORTER_FAST_INTERVAL",
            "AAISP_EXPORTER_INTERVALS__FAST",
        ),
    )
    medium_interval: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        validation_alias=_env(
            "AAISP_EXPORTER_MEDIUM_INTERVAL",
            "AAISP_EXPORTER_INTERVALS__MEDIUM",
        ),
    )
    slow_interval: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        validation_alias=_env(
            "AAISP_EXPORTER_SLOW_INTERVAL",
            "AAISP_EXPORTER_INTERVALS__SLOW",
        ),
    )
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=300,
        validation_alias=_env(
            "AAISP_EXPORTER_REQUEST_TIMEOUT",
            "AAISP_EXPORTER_API__TIMEOUT",
        ),
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        validation_alias=_env(
            "AAISP_EXPORTER_MAX_RETRIES",
            "AAISP_EXPORTER_API__MAX_RETRIES",
        ),
    )
    concurrency: int = Field(
        default=2,
        ge=1,
        le=50,
        validation_alias=_env(
            "AAISP_EXPORTER_CONCURRENCY",
            "AAISP_EXPORTER_API__CONCURRENCY_LIMIT",
        ),
    )
    mode: Literal["bulk", "per_service"] = Field(
        default="bulk", validation_alias=_env("AAISP_EXPORTER_MODE")
    )
    server: ServerSettings = Field(default_factory=ServerSettings)

    def target(self) -> ChaosTargetSettings:
        """Return the one target these settings describe.

        Raises:
            ValueError: no credentials configured.
        """
        return ChaosTargetSettings(
            control_login=self.control_login,
            control_password=self.control_password,
            account_number=self.account_number,
            account_password=self.account_password,
            api_url=self.api_url,
            enable_broadband=self.enable_broadband,
            enable_telephony=self.enable_telephony,
            enable_telephony_ratecard=self.enable_telephony_ratecard,
            enable_control_login=self.enable_control_login,
            fast_interval=self.fast_interval,
            medium_interval=self.medium_interval,
            slow_interval=self.slow_interval,
            request_timeout=self.request_timeout,
            max_retries=self.max_retries,
            concurrency=min(self.concurrency, MAX_CONCURRENCY),
            mode=self.mode,
        )


def env_names(
    model: type[BaseModel] = ChaosExporterSettings,
) -> dict[str, tuple[str, ...]]:
    """Return every setting's accepted env names, canonical first, by dotted key.

    >>> env_names()["server.port"]
    ('AAISP_EXPORTER_SERVER__PORT',)
    >>> env_names()["fast_interval"]
    ('AAISP_EXPORTER_FAST_INTERVAL', 'AAISP_EXPORTER_INTERVALS__FAST')
    """
    names: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        nested = field.annotation
        if isinstance(alias, AliasChoices):
            names[name] = tuple(str(choice) for choice in alias.choices)
        elif isinstance(nested, type) and issubclass(nested, BaseModel):
            for sub in nested.model_fields:
                names[f"{name}.{sub}"] = (f"{_PREFIX}{name}__{sub}".upper(),)
        else:
            names[name] = (f"{_PREFIX}{name}".upper(),)
    return names


def _key(loc: tuple[int | str, ...], names: Mapping[str, tuple[str, ...]]) -> str:
    """Return the dotted setting key of an error location (aliases mapped back)."""
    head = str(loc[0]) if loc else ""
    for key, choices in names.items():
        if head in choices:
            return key
    return ".".join(str(part) for part in loc)


def _used(
    key: str,
    names: Mapping[str, tuple[str, ...]],
    environ: Mapping[str, str],
    dotenv: Mapping[str, str],
) -> tuple[str, str] | None:
    """Return (where, variable) the value of ``key`` came from, if from the env.

    The first accepted name present wins, as pydantic-settings reads them; names
    are matched without regard to case, as the original did.
    """
    for where, source in (("environment", environ), (str(DOTENV), dotenv)):
        present = {name.upper(): name for name in source}
        for choice in names.get(key, ()):
            if choice.upper() in present:
                return where, present[choice.upper()]
    return None


def format_env_error(
    exc: ValidationError,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str] | None = None,
) -> str:
    """Return one line naming, per problem, the variable (or file) and the fault.

    Errors about the settings as a whole ("control_login needs control_password")
    have the field names in them replaced by the variables' names.
    """
    names = env_names()
    dotenv = dotenv or {}
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:
            for key in sorted(names, key=len, reverse=True):
                used = _used(key, names, environ, dotenv)
                shown = used[1] if used else names[key][0]
                message = re.sub(rf"\b{re.escape(key)}\b", shown, message)
            problems.append(f"environment: {message}")
            continue
        key = _key(loc, names)
        used = _used(key, names, environ, dotenv)
        if used is None:
            problems.append(f"environment: {names.get(key, (key,))[0]}: {message}")
        else:
            problems.append(f"{used[0]}: {used[1]}: {message}")
    return "; ".join(problems)


def load_env_settings(
    cli: Mapping[str, Any],
    environ: Mapping[str, str],
    dotenv_path: Path = DOTENV,
) -> tuple[ChaosExporterSettings, ChaosTargetSettings]:
    """Read the command's settings and its one login from env, ``.env`` and flags.

    Precedence: flags > environment > ``.env`` > defaults.

    Raises:
        ConfigError: one line naming each bad variable as the user spelled it.
    """
    dotenv: dict[str, str] = {}
    if dotenv_path.is_file():
        try:
            values = dotenv_values(dotenv_path, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{dotenv_path}: cannot read: {exc}") from exc
        dotenv = {k: v for k, v in values.items() if v is not None}
    try:
        settings = ChaosExporterSettings(
            _env_file=dotenv_path if dotenv else None,  # type: ignore[call-arg]
            **cli,
        )
    except SettingsError as exc:  # a nested value that is not valid JSON
        raise ConfigError(f"environment: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(format_env_error(exc, environ, dotenv)) from exc
    try:
        target = settings.target()
    except ValidationError as exc:
        raise ConfigError(format_env_error(exc, environ, dotenv)) from exc
    return settings, target
