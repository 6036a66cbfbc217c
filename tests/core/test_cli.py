"""Tests of the exporterhub command's check-config and error handling."""

from __future__ import annotations

import pytest

from exporterhub import __version__
from exporterhub.cli import build_parser, main

GOOD = """\
exporters:
  phd2:
    targets:
      - name: rig-a
        port: 4400
      - name: rig-b
        port: 4401
"""


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "exporterhub.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


class TestCheckConfig:
    """check-config validates a file and prints its targets."""

    def test_good_file(self, write, capsys):
        """A valid file exits 0 and lists every target."""
        path = write(GOOD)
        assert main(["check-config", str(path)]) == 0
        captured = capsys.readouterr()
        assert captured.out == f"{path}: ok, 2 target(s)\n  phd2/rig-a\n  phd2/rig-b\n"
        assert captured.err == ""

    def test_discovery_source_is_listed_apart(self, write, capsys):
        """A discovery source is listed but not counted as a watched target."""
        path = write(
            "exporters:\n  tapo:\n    devices: [127.0.0.1:9999]\n"
            "    discovery_options: {targets: [127.0.0.2]}\n"
        )
        assert main(["check-config", str(path)]) == 0
        assert capsys.readouterr().out == (
            f"{path}: ok, 1 target(s)\n  tapo/127.0.0.1:9999\n"
            "  tapo/discovery (discovery: finds further targets)\n"
        )

    def test_empty_file(self, write, capsys):
        """An empty file is valid and has no targets."""
        path = write("")
        assert main(["check-config", str(path)]) == 0
        assert capsys.readouterr().out == f"{path}: ok, 0 target(s)\n"

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            pytest.param("log:\n  level: loud\n", "log.level", id="log-level"),
            pytest.param(
                "exporters:\n  phd2:\n    targets:\n      - port: 0\n",
                "exporters.phd2.targets.0.port",
                id="phd2-port",
            ),
            pytest.param("exporters:\n  nope: {}\n", "exporters.nope", id="unknown"),
        ],
    )
    def test_bad_file(self, write, capsys, text, key):
        """An invalid file exits 2 with one stderr line naming the file and key."""
        path = write(text)
        assert main(["check-config", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"exporterhub: {path}: {key}: ")

    def test_missing_file(self, tmp_path, capsys):
        """A missing file exits 2 naming it."""
        path = tmp_path / "absent.yaml"
        assert main(["check-config", str(path)]) == 2
        assert capsys.readouterr().err == (
            f"exporterhub: {path}: cannot read: No such file or directory\n"
        )


@pytest.mark.usefixtures("restore_logging")
class TestServe:
    """serve turns configuration errors into exit code 2 before listening."""

    def test_bad_listen_address_flag(self, write, capsys):
        """A listen address without a port exits 2 naming it."""
        path = write(GOOD)
        code = main(
            [
                "serve",
                "--config",
                str(path),
                "--web.listen-address",
                "nonsense",
                "--log.level",
                "warning",
                "--log.format",
                "json",
            ]
        )
        assert code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            "exporterhub: flags: web.listen_address: Value error, "
            "listen address 'nonsense': expected host:port"
        )

    def test_bad_config_file(self, write, capsys):
        """A bad config file stops serve with exit 2 and the key named."""
        path = write("log:\n  level: loud\n")
        assert main(["serve", "--config.file", str(path)]) == 2
        assert f"{path}: log.level: " in capsys.readouterr().err

    def test_bad_web_config_file(self, write, tmp_path, capsys):
        """A web config naming a missing certificate stops serve with exit 2."""
        web = write("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n")
        code = main(
            [
                "serve",
                "--config", str(write(GOOD, "hub.yaml")),
                "--store", str(tmp_path / "targets.db"),
                "--web.config.file", str(web),
                "--log.level", "warning",
            ]
        )  # fmt: skip
        assert code == 2
        error = capsys.readouterr().err.splitlines()[-1]
        assert error.startswith(f"exporterhub: {web}: tls_server_config: cannot load")
        assert "a.crt" in error


class TestParser:
    """The argument parser's fixed behaviour."""

    def test_version(self, capsys):
        """--version prints the package version and exits 0."""
        with pytest.raises(SystemExit) as info:
            main(["--version"])
        assert info.value.code == 0
        assert capsys.readouterr().out.strip() == __version__

    def test_command_required(self, capsys):
        """Running without a command is a usage error (exit 2)."""
        with pytest.raises(SystemExit) as info:
            main([])
        assert info.value.code == 2
        assert "required" in capsys.readouterr().err

    def test_log_level_choices(self, capsys):
        """An unknown --log.level is refused by the parser."""
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(["serve", "--log.level", "loud"])
        assert info.value.code == 2
        assert "invalid choice: 'loud'" in capsys.readouterr().err

    def test_serve_flags(self):
        """serve accepts the Prometheus-style flag names."""
        args = build_parser().parse_args(
            ["serve", "--config.file", "x.yaml", "--web.listen-address", ":1"]
        )
        assert (str(args.config), args.listen_address) == ("x.yaml", ":1")


class TestSimulate:
    @pytest.mark.parametrize("kind", ["kasa", "tapo"])
    def test_plug_simulator_by_either_name(self, kind, capsys):
        """exporterhub simulate kasa (the issue's name) and tapo reach one simulator."""
        with pytest.raises(SystemExit) as info:
            main(["simulate", kind, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: kasa-simulator")
        assert "--discovery" in out
