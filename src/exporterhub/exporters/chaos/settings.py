"""Settings of the AAISP CHAOS exporter: one model per login, and its YAML section.

Validation only; nothing here talks to the API. The standalone command's
environment model lives in ``environ``. Passwords are ``SecretStr``: they never
reach a log, an API answer or ``repr``.

``ChaosTargetSettings`` is what the YAML file's targets and the REST API validate,
and its JSON schema is what the API serves, so it is strict: JSON's types as the
schema states them (``core.fields``), and every string rule a pattern in the
schema.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

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
    "ChaosSection",
    "ChaosTargetSettings",
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
