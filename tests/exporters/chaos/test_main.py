"""aaisp-exporter's wiring: the listen address with a YAML file."""

from __future__ import annotations

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.chaos.__main__ import file_listen_address


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
