"""Settings of the AAISP CHAOS exporter: one model per login, one for the command.

Validation only; nothing here talks to the API. The env names are the original
aaisp-exporter's (COMPAT), flat and canonical, with the original code's nested
spellings accepted as aliases. Passwords are ``SecretStr``: they never reach a log,
an API answer or ``repr``.

``ChaosTargetSettings`` is what the YAML file's targets and the REST API validate,
and its JSON schema is what the API serves, so it is strict: JSON's types as the
schema states them (``core.fields``), and every string rule a pattern in the
schema. The command's settings parse the environment's strings first.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

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
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporterhub.core.address import HttpUrl
from exporterhub.core.fields import (
    FROZEN,
    Flag,
    Number,
    WholeNumber,
    on_mismatch,
    whole_number,
)

__all__ = [
    "ACCOUNT_PATTERN",
    "DEFAULT_API_URL",
    "DEFAULT_PORT",
    "LOGIN_PATTERN",
    "MAX_CONCURRENCY",
    "ChaosExporterSettings",
    "ChaosSection",
    "ChaosTargetSettings",
    "ServerSettings",
]

DEFAULT_API_URL: Final = "https://chaos2.aa.net.uk"
DEFAULT_PORT: Final = 9099
MAX_CONCURRENCY: Final = 16
"""Most requests of one login in flight; the original allowed up to 50."""

LOGIN_PATTERN: Final = (
    r"^(?:[A-Za-z0-9._+\-]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?)?$"
)
"""A control login, ``abc@a`` (or a per-line ``abc@a.1``), or "" for none."""
ACCOUNT_PATTERN: Final = r"^[A-Za-z0-9]*$"
"""An account number, ``A1234A``, or "" for none."""

ControlLogin = Annotated[
    str,
    StringConstraints(max_length=128, pattern=LOGIN_PATTERN),
    on_mismatch(
        "must look like abc@a: a login (letters, digits, . _ + -), @ and a realm"
    ),
]
AccountNumber = Annotated[
    str,
    StringConstraints(max_length=32, pattern=ACCOUNT_PATTERN),
    on_mismatch("must be letters and digits, like A1234A"),
]


class ChaosTargetSettings(BaseModel):
    """One set of CHAOS credentials (a control login, or an account) to poll.

    Attributes:
        name: unique target name; defaults to the control login or account number.
        control_login: the bare control login (``abc@a``), preferred (read-only);
            "" for none.
        control_password: the control login's password.
        account_number: the account (``A1234A``), used only without a control
            login; "" for none.
        account_password: the account's password.
        api_url: the API base, ``http(s)://host[:port][/path]`` (no query);
            point it at the simulator to try the exporter. Trailing slashes are
            dropped.
        enable_broadband: poll broadband services, info and quota.
        enable_telephony: poll telephony/services (HTTP 500 without numbers is fine).
        enable_telephony_ratecard: poll telephony/ratecard.
        enable_control_login: poll login/services.
        ratecard_rates: rate names to export (empty: all); bounds cardinality.
        mode: ``bulk`` (one request for all lines) or ``per_service``.
        fast_interval: quota tier, seconds, over 0 up to 86400.
        medium_interval: info tier, seconds, over 0 up to 86400.
        slow_interval: services, login and telephony tier, seconds, over 0 up
            to 86400.
        request_timeout: seconds one HTTP request may take, over 0 up to 300.
        concurrency: requests in flight at once in per-service mode, 1..16.
        min_request_interval: seconds between two requests of this login
            (politeness), 0..60.
        max_retries: retries of a retryable failure within one collection, 0..10.
        retry_initial: first retry delay, seconds, 0..600.
        retry_max: longest retry delay waited inside a collection, seconds,
            0..3600; a longer one (a rate limit's Retry-After) pauses the login
            until then instead.
        auth_backoff: seconds to stop polling after the API refused the
            credentials, 0..86400.

    Rules across fields (checked on the settings as a whole):
        set control_login (preferred) or account_number;
        control_login needs control_password;
        account_number needs account_password (when there is no control_login).
    """

    model_config = FROZEN

    name: str = Field(default="", max_length=128)
    control_login: ControlLogin = ""
    control_password: SecretStr = SecretStr("")
    account_number: AccountNumber = ""
    account_password: SecretStr = SecretStr("")
    api_url: HttpUrl = DEFAULT_API_URL
    enable_broadband: Flag = True
    enable_telephony: Flag = False
    enable_telephony_ratecard: Flag = False
    enable_control_login: Flag = False
    ratecard_rates: tuple[str, ...] = ()
    mode: Literal["bulk", "per_service"] = "bulk"
    fast_interval: Number = Field(default=60.0, gt=0, le=86400)
    medium_interval: Number = Field(default=300.0, gt=0, le=86400)
    slow_interval: Number = Field(default=900.0, gt=0, le=86400)
    request_timeout: Number = Field(default=30.0, gt=0, le=300)
    concurrency: WholeNumber = Field(default=2, ge=1, le=MAX_CONCURRENCY)
    min_request_interval: Number = Field(default=1.0, ge=0, le=60)
    max_retries: WholeNumber = Field(default=3, ge=0, le=10)
    retry_initial: Number = Field(default=2.0, ge=0, le=600)
    retry_max: Number = Field(default=30.0, ge=0, le=3600)
    auth_backoff: Number = Field(default=900.0, ge=0, le=86400)

    _whole = field_validator("concurrency", "max_retries", mode="before")(
        staticmethod(whole_number)
    )

    @model_validator(mode="after")
    def _check(self) -> ChaosTargetSettings:
        if not self.control_login and not self.account_number:
            raise ValueError("set control_login (preferred) or account_number")
        if self.control_login and not self.control_password.get_secret_value():
            raise ValueError("control_login needs control_password")
        if not self.control_login and not self.account_password.get_secret_value():
            raise ValueError("account_number needs account_password")
        if not self.name:
            object.__setattr__(self, "name", self.control_login or self.account_number)
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        return self

    @property
    def max_age(self) -> float:
        """Seconds after which a target with no successful poll shows no values.

        Twice the longest enabled tier: the outer bound. Each tier's own values
        expire earlier, at twice that tier's interval after their answer (the
        snapshot carries each expiry; the core applies it at scrape time).
        """
        intervals = [self.slow_interval]
        if self.enable_broadband:
            intervals += [self.fast_interval, self.medium_interval]
        return 2 * max(intervals)

    def credentials(self) -> dict[str, str]:
        """Return the form attributes that authenticate a request (secret!)."""
        if self.control_login:
            return {
                "control_login": self.control_login,
                "control_password": self.control_password.get_secret_value(),
            }
        return {
            "account_number": self.account_number,
            "account_password": self.account_password.get_secret_value(),
        }


class ChaosSection(BaseModel):
    """The ``exporters.chaos`` section of the exporterhub YAML file.

    Attributes:
        enabled: run the CHAOS exporter's targets (false: keep them configured
            but idle).
        targets: the logins to poll.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    targets: list[ChaosTargetSettings] = Field(default_factory=list)


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
