"""CHAOS settings: COMPAT env names and aliases, and credential checks."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from exporterhub.exporters.chaos.environ import ChaosExporterSettings
from exporterhub.exporters.chaos.settings import ChaosTargetSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("AAISP_EXPORTER_"):
            monkeypatch.delenv(name)


class TestEnvironment:
    @pytest.mark.parametrize(
        ("name", "value", "field", "expected"),
        [
            pytest.param("AAISP_EXPORTER_CONTROL_LOGIN", "a@a", "control_login", "a@a",
                         id="canonical"),
            pytest.param("AAISP_EXPORTER_AUTH__CONTROL_LOGIN", "b@a", "control_login",
                         "b@a", id="auth-alias"),
            pytest.param("AAISP_EXPORTER_LOGGING__LEVEL", "DEBUG", "log_level", "debug",
                         id="upper-case-level"),
            pytest.param("AAISP_EXPORTER_COLLECTORS__ENABLE_LOGIN", "true",
                         "enable_control_login", True, id="original-login-toggle"),
            pytest.param("AAISP_EXPORTER_INTERVALS__FAST", "30", "fast_interval", 30.0,
                         id="intervals"),
            pytest.param("AAISP_EXPORTER_API__TIMEOUT", "12", "request_timeout", 12.0,
                         id="api-timeout"),
            pytest.param("AAISP_EXPORTER_API__BASE_URL", "http://127.0.0.1:1",
                         "api_url", "http://127.0.0.1:1", id="api-url"),
            pytest.param("AAISP_EXPORTER_MODE", "per_service", "mode", "per_service",
                         id="mode"),
        ],
    )  # fmt: skip
    def test_names(self, monkeypatch, name, value, field, expected):
        """Every COMPAT name and the original's aliases reach the same setting."""
        monkeypatch.setenv(name, value)
        assert getattr(ChaosExporterSettings(), field) == expected

    def test_target_carries_the_tuning(self, monkeypatch):
        """The env's mode, timeout and intervals reach the polled target."""
        monkeypatch.setenv("AAISP_EXPORTER_CONTROL_LOGIN", "a@a")
        monkeypatch.setenv("AAISP_EXPORTER_CONTROL_PASSWORD", "pw")
        monkeypatch.setenv("AAISP_EXPORTER_MODE", "per_service")
        monkeypatch.setenv("AAISP_EXPORTER_API__MAX_RETRIES", "1")
        target = ChaosExporterSettings().target()
        assert target.mode == "per_service"
        assert target.max_retries == 1
        assert "pw" not in repr(target)


class TestCredentials:
    def test_login_without_password_is_refused(self):
        """A control login with no password fails at start, not after 15 minutes."""
        with pytest.raises(ValidationError, match="control_password"):
            ChaosTargetSettings(control_login="a@a")

    def test_bad_url_is_refused(self):
        """An API URL httpx cannot use is rejected when the config is read."""
        with pytest.raises(ValidationError, match="api_url"):
            ChaosTargetSettings(
                control_login="a@a",
                control_password=SecretStr("pw"),
                api_url="http://[::1",
            )

    def test_account_needs_its_password(self):
        """Account credentials need the account password."""
        with pytest.raises(ValidationError, match="account_password"):
            ChaosTargetSettings(account_number="A1234A")
