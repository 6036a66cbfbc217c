"""``starlink-exporter`` start-up: which configuration file, and when it must exist."""

from __future__ import annotations

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.starlink.__main__ import config_path, load_with_env, main


class TestConfigFile:
    def test_missing_file_named_by_flag_is_an_error(self, tmp_path, capsys):
        """--config naming a file that does not exist stops the start (exit 2)."""
        missing = tmp_path / "typo.yaml"
        assert main(["--config", str(missing), "--port", "0"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert str(missing) in line
        assert "no such configuration file" in line

    def test_missing_file_named_by_environment_is_an_error(
        self, tmp_path, capsys, monkeypatch
    ):
        """STARLINK_CONFIG (the original's variable) naming no file is an error too."""
        missing = tmp_path / "gone.yaml"
        monkeypatch.setenv("STARLINK_CONFIG", str(missing))
        assert main(["--port", "0"]) == 2
        assert str(missing) in capsys.readouterr().err

    def test_environment_names_the_file(self, tmp_path, monkeypatch):
        """STARLINK_CONFIG is read when --config is not given; the flag wins."""
        named = tmp_path / "starlink.yaml"
        named.write_text("network:\n  latency_min_ms: 25\n")
        monkeypatch.setenv("STARLINK_CONFIG", str(named))
        path, required = config_path(None, {"STARLINK_CONFIG": str(named)})
        assert (path, required) == (named, True)
        config, existed = load_with_env(path, required=required)
        assert existed
        assert config.network.latency_min_ms == 25
        flag = tmp_path / "flag.yaml"
        assert config_path(flag, {"STARLINK_CONFIG": str(named)}) == (flag, True)

    def test_default_file_may_be_missing(self, tmp_path, monkeypatch):
        """Only the default config.yaml may be absent: then the defaults apply."""
        monkeypatch.chdir(tmp_path)
        path, required = config_path(None, {})
        assert not required
        config, existed = load_with_env(path, required=required)
        assert not existed
        assert config.mode == "simulation"
        with pytest.raises(ConfigError, match="no such configuration file"):
            load_with_env(path, required=True)
