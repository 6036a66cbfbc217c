"""aaisp-exporter's environment: messages name the variable set, .env, aliases."""

from __future__ import annotations

import os

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.chaos.environ import env_names, load_env_settings

from .original_env import ORIGINAL_VARIABLES

LOGIN = {
    "AAISP_EXPORTER_CONTROL_LOGIN": "a@a",
    "AAISP_EXPORTER_CONTROL_PASSWORD": "pw-not-shown",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("AAISP_EXPORTER_") or name.upper() in {
            "MODE",
            "LOG_LEVEL",
            "CONTROL_LOGIN",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout


def load(monkeypatch, **env: str):
    for name, value in {**LOGIN, **env}.items():
        monkeypatch.setenv(name, value)
    return load_env_settings({}, os.environ)


class TestErrorsNameTheVariable:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            pytest.param("AAISP_EXPORTER_SERVER__PORT", "abc", id="nested-port"),
            pytest.param("AAISP_EXPORTER_INTERVALS__FAST", "abc", id="alias"),
            pytest.param("AAISP_EXPORTER_FAST_INTERVAL", "-1", id="canonical"),
            pytest.param("aaisp_exporter_slow_interval", "0", id="lower-case"),
            pytest.param("AAISP_EXPORTER_COLLECTORS__ENABLE_TELEPHONY", "maybe",
                         id="toggle-alias"),
            pytest.param("AAISP_EXPORTER_LOGGING__LEVEL", "loud", id="level-alias"),
            pytest.param("AAISP_EXPORTER_API__CONCURRENCY_LIMIT", "99",
                         id="concurrency-alias"),
            pytest.param("AAISP_EXPORTER_MODE", "fast", id="mode"),
            pytest.param("AAISP_EXPORTER_API__BASE_URL", "ftp://x", id="url-alias"),
            pytest.param("AAISP_EXPORTER_SERVER__HOST", "", id="empty-host"),
        ],
    )  # fmt: skip
    def test_message_names_what_the_user_set(self, monkeypatch, name, value):
        """The error names the variable as set, not the canonical or field name."""
        with pytest.raises(ConfigError) as caught:
            load(monkeypatch, **{name: value})
        assert str(caught.value).startswith(f"environment: {name}: ")

    def test_bad_login_names_the_alias(self, monkeypatch):
        """A malformed login given by the original's name is named by it."""
        monkeypatch.setenv("AAISP_EXPORTER_CONTROL_PASSWORD", "pw-not-shown")
        monkeypatch.setenv("AAISP_EXPORTER_AUTH__CONTROL_LOGIN", "not a login")
        with pytest.raises(ConfigError) as caught:
            load_env_settings({}, os.environ)
        assert str(caught.value).startswith(
            "environment: AAISP_EXPORTER_AUTH__CONTROL_LOGIN: must look like abc@a"
        )

    def test_rules_across_settings_use_the_names_set(self, monkeypatch):
        """'control_login needs control_password' speaks of the variables."""
        monkeypatch.setenv("AAISP_EXPORTER_AUTH__CONTROL_LOGIN", "a@a")
        with pytest.raises(ConfigError) as caught:
            load_env_settings({}, os.environ)
        assert str(caught.value) == (
            "environment: AAISP_EXPORTER_AUTH__CONTROL_LOGIN needs "
            "AAISP_EXPORTER_CONTROL_PASSWORD"
        )

    def test_no_credentials_names_the_variables(self):
        """With nothing set the message names the variables to set."""
        with pytest.raises(ConfigError, match="set AAISP_EXPORTER_CONTROL_LOGIN"):
            load_env_settings({}, os.environ)

    def test_password_value_is_never_repeated(self, monkeypatch):
        """A bad setting's message does not carry the password."""
        with pytest.raises(ConfigError) as caught:
            load(monkeypatch, AAISP_EXPORTER_SERVER__PORT="abc")
        assert "pw-not-shown" not in str(caught.value)


class TestDotenv:
    def test_dotenv_in_the_working_directory_is_read(self, tmp_path):
        """A .env next to the command configures it, as in the original."""
        (tmp_path / ".env").write_text(
            "AAISP_EXPORTER_AUTH__CONTROL_LOGIN=b@a\n"
            "AAISP_EXPORTER_AUTH__CONTROL_PASSWORD=pw\n"
            "AAISP_EXPORTER_SERVER__PORT=9100\n"
        )
        settings, target = load_env_settings({}, os.environ)
        assert target.control_login == "b@a"
        assert settings.server.port == 9100

    def test_environment_wins_over_dotenv(self, monkeypatch, tmp_path):
        """A variable set in the environment beats the same one in .env."""
        (tmp_path / ".env").write_text("AAISP_EXPORTER_SERVER__PORT=9100\n")
        settings, _ = load(monkeypatch, AAISP_EXPORTER_SERVER__PORT="9200")
        assert settings.server.port == 9200

    def test_bad_value_in_dotenv_names_the_file(self, monkeypatch, tmp_path):
        """A bad value from .env is reported against .env."""
        (tmp_path / ".env").write_text("AAISP_EXPORTER_INTERVALS__SLOW=soon\n")
        with pytest.raises(ConfigError) as caught:
            load(monkeypatch)
        assert str(caught.value).startswith(".env: AAISP_EXPORTER_INTERVALS__SLOW: ")

    def test_unreadable_dotenv_is_a_config_error(self, tmp_path):
        """A .env that is not UTF-8 stops the start with one line naming it."""
        (tmp_path / ".env").write_bytes(b"AAISP_EXPORTER_MODE=\xff\xfe\n")
        with pytest.raises(ConfigError, match=r"^\.env: cannot read: "):
            load_env_settings({}, os.environ)


class TestOriginalSurface:
    def test_canonical_name_wins_over_the_alias(self, monkeypatch):
        """With both spellings set, the canonical variable is used."""
        settings, _ = load(
            monkeypatch,
            AAISP_EXPORTER_INTERVALS__FAST="30",
            AAISP_EXPORTER_FAST_INTERVAL="45",
        )
        assert settings.fast_interval == 45.0

    def test_unprefixed_variables_are_ignored(self, monkeypatch):
        """MODE or LOG_LEVEL meant for another program do not configure us."""
        monkeypatch.setenv("MODE", "per_service")
        monkeypatch.setenv("LOG_LEVEL", "debug")
        monkeypatch.setenv("CONTROL_LOGIN", "x@a")
        settings, target = load(monkeypatch)
        assert settings.mode == "bulk"
        assert settings.log_level == "info"
        assert target.control_login == "a@a"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("true", "json", id="true"),
            pytest.param("false", "auto", id="false"),
            pytest.param("console", "console", id="format-name"),
        ],
    )
    def test_json_format_toggle(self, monkeypatch, value, expected):
        """The original's LOGGING__JSON_FORMAT picks the log format."""
        settings, _ = load(monkeypatch, AAISP_EXPORTER_LOGGING__JSON_FORMAT=value)
        assert settings.log_format == expected

    def test_original_concurrency_is_accepted_and_capped(self, monkeypatch):
        """CONCURRENCY_LIMIT up to the original's 50 loads; more than 16 is 16."""
        settings, target = load(monkeypatch, AAISP_EXPORTER_API__CONCURRENCY_LIMIT="50")
        assert settings.concurrency == 50
        assert target.concurrency == 16

    def test_every_original_readme_variable_is_accepted(self):
        """Each AAISP_EXPORTER_* name in the original's README is a known name."""
        original = set(ORIGINAL_VARIABLES)
        known = {name for names in env_names().values() for name in names}
        assert original - known == set()
