"""The snp-exporter command's settings: the original's variables and defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporterhub.core.config import load_settings
from exporterhub.core.errors import ConfigError
from exporterhub.exporters.snp.__main__ import build_parser, settings_from_args
from exporterhub.exporters.snp.command_settings import SnpExporterSettings

NAMES = ("LOGGING", "INTERVAL", "POLL_INTERVAL", "DB_PATH", "LOG_LEVEL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("SNP_EXPORTER_"):
            monkeypatch.delenv(name)


def load(**cli) -> SnpExporterSettings:
    return load_settings(SnpExporterSettings, cli=cli, source="flags")


class TestDefaults:
    def test_the_originals_defaults_and_ports(self):
        """INFO, 5, 10, /etc/snp_exporter/connections.db, :8000 and :8080."""
        settings = load()
        assert settings.log_level == "info"
        assert (settings.interval, settings.poll_interval) == (5.0, 10.0)
        assert settings.db_path == "/etc/snp_exporter/connections.db"
        assert (settings.listen_address, settings.ui_listen_address) == (
            ":8000",
            ":8080",
        )
        assert settings.web_config_file is None


class TestEnvironment:
    def test_the_originals_variables(self, monkeypatch):
        """LOGGING, INTERVAL, POLL_INTERVAL and DB_PATH, as the original read them."""
        monkeypatch.setenv("LOGGING", "DEBUG")
        monkeypatch.setenv("INTERVAL", "3")
        monkeypatch.setenv("POLL_INTERVAL", "30")
        monkeypatch.setenv("DB_PATH", "/data/connections.db")
        settings = load()
        assert settings.log_level == "debug"
        assert (settings.interval, settings.poll_interval) == (3.0, 30.0)
        assert settings.db_path == "/data/connections.db"

    def test_the_prefixed_spellings_and_new_keys(self, monkeypatch, tmp_path):
        """SNP_EXPORTER_* sets the same and what the original had no variable for."""
        monkeypatch.setenv("SNP_EXPORTER_INTERVAL", "2")
        monkeypatch.setenv("SNP_EXPORTER_LISTEN_ADDRESS", "127.0.0.1:18000")
        monkeypatch.setenv("SNP_EXPORTER_UI_LISTEN_ADDRESS", "[::1]:18080")
        monkeypatch.setenv("SNP_EXPORTER_WEB_CONFIG_FILE", str(tmp_path / "web.yml"))
        monkeypatch.setenv("SNP_EXPORTER_LOG_FORMAT", "JSON")
        settings = load()
        assert settings.interval == 2.0
        assert settings.listen_address == "127.0.0.1:18000"
        assert settings.ui_listen_address == "[::1]:18080"
        assert settings.web_config_file == tmp_path / "web.yml"
        assert settings.log_format == "json"

    @pytest.mark.parametrize(
        ("value", "level"),
        [
            pytest.param("INFO", "info", id="upper"),
            pytest.param("warn", "warning", id="warn"),
            pytest.param("FATAL", "critical", id="fatal"),
            pytest.param("10", "debug", id="number"),
            pytest.param(" Error ", "error", id="spaces"),
        ],
    )
    def test_logging_takes_what_pythons_logging_took(self, monkeypatch, value, level):
        """LOGGING accepts level names in any case and their numbers."""
        monkeypatch.setenv("LOGGING", value)
        assert load().log_level == level

    def test_a_generic_log_level_variable_is_not_ours(self, monkeypatch):
        """LOG_LEVEL belongs to other programs; only LOGGING sets the level."""
        monkeypatch.setenv("LOG_LEVEL", "error")
        assert load().log_level == "info"

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            pytest.param("LOGGING", "loud", id="logging"),
            pytest.param("INTERVAL", "0", id="interval"),
            pytest.param("POLL_INTERVAL", "0.5", id="poll"),
            pytest.param("SNP_EXPORTER_LISTEN_ADDRESS", "nowhere", id="address"),
        ],
    )
    def test_a_bad_value_names_its_variable(self, monkeypatch, name, value):
        """An invalid variable stops the start with one line naming it."""
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load()
        message = str(caught.value)
        assert "environment" in message
        assert name.removeprefix("SNP_EXPORTER_").lower() in message.lower()


class TestFlags:
    def test_flags_win_over_the_environment(self, monkeypatch):
        """--web.listen-address and --log.level beat their variables."""
        monkeypatch.setenv("SNP_EXPORTER_LISTEN_ADDRESS", "127.0.0.1:1")
        monkeypatch.setenv("LOGGING", "ERROR")
        args = build_parser().parse_args(
            [
                "--web.listen-address", "127.0.0.1:2",
                "--ui.listen-address", "127.0.0.1:3",
                "--web.config.file", "web.yml",
                "--log.level", "debug",
            ]
        )  # fmt: skip
        settings = settings_from_args(args)
        assert settings.listen_address == "127.0.0.1:2"
        assert settings.ui_listen_address == "127.0.0.1:3"
        assert settings.web_config_file == Path("web.yml")
        assert settings.log_level == "debug"


def test_a_bad_variable_exits_2_in_one_line(monkeypatch, capsys):
    """snp-exporter with an invalid INTERVAL exits 2 with one line, no trace."""
    from exporterhub.exporters.snp.__main__ import main

    monkeypatch.setenv("INTERVAL", "-1")
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("snp-exporter: ")
    assert "INTERVAL" in err[0]
