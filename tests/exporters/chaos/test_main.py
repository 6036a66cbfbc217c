"""aaisp-exporter's wiring: the listen address with a YAML file."""

from __future__ import annotations

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.chaos.__main__ import (
    _from_env,
    build_parser,
    file_listen_address,
    main,
)


class TestFileListenAddress:
    def test_file_without_address_gets_the_original_port(self, tmp_path):
        """A file naming no listen address listens on 9099, like the original."""
        path = tmp_path / "hub.yaml"
        path.write_text("exporters:\n  chaos:\n    targets: []\n")
        assert file_listen_address(path, None) == ":9099"

    def test_file_address_is_kept(self, tmp_path):
        """The file's own web.listen_address is left to the file."""
        path = tmp_path / "hub.yaml"
        path.write_text("web:\n  listen_address: 127.0.0.1:9200\n")
        assert file_listen_address(path, None) is None

    def test_flag_wins(self, tmp_path):
        """--web.listen-address wins over both."""
        path = tmp_path / "hub.yaml"
        path.write_text("web:\n  listen_address: 127.0.0.1:9200\n")
        assert file_listen_address(path, "127.0.0.1:9300") == "127.0.0.1:9300"

    def test_missing_file_is_a_config_error(self, tmp_path):
        """A missing file is reported as such, naming the path."""
        with pytest.raises(ConfigError, match=r"hub\.yaml"):
            file_listen_address(tmp_path / "hub.yaml", None)


@pytest.fixture
def env(monkeypatch, tmp_path):
    import os

    for name in list(os.environ):
        if name.upper().startswith("AAISP_EXPORTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AAISP_EXPORTER_CONTROL_LOGIN", "a@a")
    monkeypatch.setenv("AAISP_EXPORTER_CONTROL_PASSWORD", "pw")
    return monkeypatch


class TestFromEnv:
    @pytest.mark.parametrize(
        ("host", "flag", "expected"),
        [
            pytest.param("127.0.0.1", None, "127.0.0.1:9200", id="v4"),
            pytest.param("::1", None, "[::1]:9200", id="v6"),
            pytest.param("::1", "127.0.0.1:9300", "127.0.0.1:9300", id="flag"),
        ],
    )
    async def test_listen_address(self, env, host, flag, expected):
        """SERVER__HOST and SERVER__PORT make the address; the flag wins."""
        env.setenv("AAISP_EXPORTER_SERVER__HOST", host)
        env.setenv("AAISP_EXPORTER_SERVER__PORT", "9200")
        argv = ["--web.listen-address", flag] if flag else []
        address, load = _from_env(build_parser().parse_args(argv))
        assert address == expected
        (target,) = await load()
        assert target.name == "a@a"

    def test_bad_env_exits_2_naming_the_variable(self, env, capsys):
        """main() reports a bad variable by its name and exits 2."""
        env.setenv("AAISP_EXPORTER_API__MAX_RETRIES", "lots")
        assert main([]) == 2
        assert "AAISP_EXPORTER_API__MAX_RETRIES" in capsys.readouterr().err
