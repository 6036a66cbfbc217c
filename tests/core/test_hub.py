"""Tests of the hub wiring: settings precedence, target validation, building."""

from __future__ import annotations

import platform
import subprocess
import sys
import types
from pathlib import Path

import pytest

from exporterhub import __version__
from exporterhub.core.errors import ConfigError
from exporterhub.exporters import load_plugins
from exporterhub.hub import (
    DEFAULT_LISTEN_ADDRESS,
    HubSettings,
    StoreSettings,
    _revision,
    build_hub,
    config_loader,
    load_hub_settings,
    open_store,
    serve,
    targets_from_settings,
)

from .helpers import DemoPlugin

GOOD_YAML = """\
web:
  listen_address: ":1111"
log:
  level: debug
  format: json
"""


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "exporterhub.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


class TestLoadHubSettings:
    """Hub settings come from defaults < YAML < env < CLI overrides."""

    def test_defaults_without_file(self):
        """Without a file every default applies."""
        settings = load_hub_settings(None)
        assert type(settings) is HubSettings
        assert settings.web.listen_address == DEFAULT_LISTEN_ADDRESS == ":8750"
        assert (settings.log.level, settings.log.format) == ("info", "auto")
        assert settings.exporters == {}

    def test_yaml_over_defaults(self, write):
        """Values from the YAML file replace the defaults."""
        settings = load_hub_settings(write(GOOD_YAML))
        assert settings.web.listen_address == ":1111"
        assert (settings.log.level, settings.log.format) == ("debug", "json")

    def test_env_over_yaml(self, write, monkeypatch):
        """EXPORTERHUB_WEB__LISTEN_ADDRESS beats the file; other keys stay."""
        monkeypatch.setenv("EXPORTERHUB_WEB__LISTEN_ADDRESS", ":2222")
        settings = load_hub_settings(write(GOOD_YAML))
        assert settings.web.listen_address == ":2222"
        assert settings.log.level == "debug"

    def test_cli_over_env(self, write, monkeypatch):
        """CLI overrides beat the environment; untouched nested keys keep theirs."""
        monkeypatch.setenv("EXPORTERHUB_WEB__LISTEN_ADDRESS", ":2222")
        monkeypatch.setenv("EXPORTERHUB_LOG__LEVEL", "error")
        settings = load_hub_settings(
            write(GOOD_YAML),
            {"web": {"listen_address": ":3333"}, "log": {"format": "console"}},
        )
        assert settings.web.listen_address == ":3333"
        assert settings.log.level == "error"
        assert settings.log.format == "console"

    def test_revision_variable_is_not_a_setting(self, monkeypatch):
        """EXPORTERHUB_REVISION (read by build_hub) does not upset the settings."""
        monkeypatch.setenv("EXPORTERHUB_REVISION", "abc123")
        assert load_hub_settings(None).web.listen_address == DEFAULT_LISTEN_ADDRESS

    def test_invalid_level_one_line(self, write):
        """A bad log level is one line naming the file and the key log.level."""
        path = write("log:\n  level: loud\n")
        with pytest.raises(ConfigError) as info:
            load_hub_settings(path)
        message = str(info.value)
        assert message.startswith(f"{path}: log.level: Input should be ")
        assert "\n" not in message

    def test_unknown_key(self, write):
        """An unknown top-level key is rejected by name."""
        path = write("bogus: 1\n")
        with pytest.raises(ConfigError) as info:
            load_hub_settings(path)
        assert str(info.value) == f"{path}: bogus: Extra inputs are not permitted"

    def test_unknown_nested_key(self, write):
        """A misspelt nested key is rejected with its dotted path."""
        path = write("web:\n  listen_adress: ':1'\n")
        with pytest.raises(ConfigError, match=r"web\.listen_adress: Extra inputs"):
            load_hub_settings(path)

    def test_yaml_errors_pass_through(self, tmp_path):
        """A missing file raises the read_yaml ConfigError naming it."""
        path = tmp_path / "nope.yaml"
        with pytest.raises(ConfigError, match=f"^{path}: cannot read"):
            load_hub_settings(path)

    def test_env_error_names_environment(self, write, monkeypatch):
        """A bad value from the environment is attributed to the environment."""
        monkeypatch.setenv("EXPORTERHUB_LOG__LEVEL", "loud")
        with pytest.raises(ConfigError) as info:
            load_hub_settings(write(GOOD_YAML))
        message = str(info.value)
        assert "EXPORTERHUB_LOG__LEVEL" in message or "environment" in message


class TestTargetsFromSettings:
    """Exporter sections are validated by their plugins; names are unique per kind."""

    def _settings(self, write, text):
        path = write(text)
        return load_hub_settings(path), str(path)

    def test_demo_targets(self, write):
        """Each configured target of a known exporter becomes a Target."""
        settings, source = self._settings(
            write,
            "exporters:\n  demo:\n    targets:\n      - name: a\n"
            "      - name: b\n        value: 2.5\n",
        )
        targets = targets_from_settings(settings, {"demo": DemoPlugin()}, source)
        assert [(t.kind, t.name, t.settings.value) for t in targets] == [
            ("demo", "a", 1.0),
            ("demo", "b", 2.5),
        ]

    def test_empty_section(self, write):
        """An exporter section left empty yields no targets."""
        settings, source = self._settings(write, "exporters:\n  demo: {}\n")
        assert targets_from_settings(settings, {"demo": DemoPlugin()}, source) == []

    def test_unknown_exporter(self, write):
        """An exporter kind without a plugin is rejected naming file and key."""
        settings, source = self._settings(write, "exporters:\n  nope: {}\n")
        with pytest.raises(ConfigError) as info:
            targets_from_settings(settings, {"demo": DemoPlugin()}, source)
        assert str(info.value) == f"{source}: exporters.nope: unknown exporter"

    def test_duplicate_names(self, write):
        """Two targets of one exporter with one name are rejected."""
        settings, source = self._settings(
            write,
            "exporters:\n  demo:\n    targets:\n      - name: a\n      - name: a\n",
        )
        with pytest.raises(ConfigError) as info:
            targets_from_settings(settings, {"demo": DemoPlugin()}, source)
        assert str(info.value) == (
            f"{source}: exporters.demo.targets: duplicate name 'a'"
        )

    def test_invalid_demo_port(self, write):
        """A plugin's validation error names the file and the dotted key."""
        settings, source = self._settings(
            write,
            "exporters:\n  demo:\n    targets:\n      - name: a\n        port: 70000\n",
        )
        with pytest.raises(ConfigError) as info:
            targets_from_settings(settings, {"demo": DemoPlugin()}, source)
        assert str(info.value).startswith(f"{source}: exporters.demo.targets.0.port: ")


class TestPhd2Targets:
    """The real PHD2 plugin validates its section with file and key in errors."""

    def test_valid_targets(self, write):
        """Two PHD2 instances become two targets named host:port by default."""
        path = write(
            "exporters:\n  phd2:\n    targets:\n      - host: 127.0.0.1\n"
            "        port: 4400\n      - name: second\n        port: 4401\n"
        )
        targets = targets_from_settings(
            load_hub_settings(path), load_plugins(), str(path)
        )
        assert [(t.kind, t.name) for t in targets] == [
            ("phd2", "127.0.0.1:4400"),
            ("phd2", "second"),
        ]

    def test_invalid_port(self, write):
        """An out-of-range port is one line naming the file and the dotted key."""
        path = write("exporters:\n  phd2:\n    targets:\n      - port: 70000\n")
        with pytest.raises(ConfigError) as info:
            targets_from_settings(load_hub_settings(path), load_plugins(), str(path))
        message = str(info.value)
        assert message.startswith(f"{path}: exporters.phd2.targets.0.port: ")
        assert "\n" not in message

    def test_duplicate_names(self, write):
        """Two PHD2 targets with one name are rejected."""
        path = write(
            "exporters:\n  phd2:\n    targets:\n      - name: rig\n        port: 4400\n"
            "      - name: rig\n        port: 4401\n"
        )
        with pytest.raises(
            ConfigError, match=r"exporters\.phd2\.targets: duplicate name"
        ):
            targets_from_settings(load_hub_settings(path), load_plugins(), str(path))

    def test_plug_named_like_the_discovery_source(self, write):
        """A plug called "discovery" and the discovery source do not collide."""
        path = write(
            "exporters:\n  tapo:\n    devices:\n"
            "      - {name: discovery, host: 127.0.0.1}\n"
            "    discovery_options: {enabled: true}\n"
        )
        found = targets_from_settings(
            load_hub_settings(path), load_plugins(), str(path)
        )
        assert [(t.name, t.discovers) for t in found] == [
            ("discovery", False),
            ("discovery", True),
        ]

    def test_unknown_exporter_with_real_plugins(self, write):
        """A kind the shipped plugins do not know is rejected."""
        path = write("exporters:\n  starlinkk: {}\n")
        with pytest.raises(
            ConfigError, match=r"exporters\.starlinkk: unknown exporter"
        ):
            targets_from_settings(load_hub_settings(path), load_plugins(), str(path))


class TestConfigLoader:
    """config_loader re-reads the file on every call (for reload)."""

    async def test_rereads_file(self, write):
        """Changing the file between calls changes the loaded targets."""
        path = write("exporters:\n  demo:\n    targets:\n      - name: a\n")
        load = config_loader(path, {"demo": DemoPlugin()})
        assert [t.name for t in await load()] == ["a"]
        path.write_text("exporters:\n  demo:\n    targets:\n      - name: b\n")
        assert [t.name for t in await load()] == ["b"]
        path.write_text("log:\n  level: loud\n")
        with pytest.raises(ConfigError, match=r"log\.level"):
            await load()

    async def test_without_file(self):
        """Without a file there are no targets."""
        load = config_loader(None, {"demo": DemoPlugin()})
        assert list(await load()) == []


class TestBuildHub:
    """build_hub wires exposition, runner and state with build-info metrics."""

    async def test_build_info_and_state(self, clock, monkeypatch):
        """The self registry carries hub and per-exporter build info."""
        monkeypatch.setenv("EXPORTERHUB_REVISION", "abc123")

        async def load():
            return []

        state = build_hub({"demo": DemoPlugin()}, load, title="T", clock=clock)
        assert state.title == "T"
        assert state.clock is clock
        assert state.load_targets is load
        assert state.ready is False
        labels = {
            "version": __version__,
            "revision": "abc123",
            "python_version": platform.python_version(),
        }
        registry = state.exposition.registry
        assert registry.get_sample_value("exporterhub_build_info", labels) == 1.0
        assert registry.get_sample_value("demo_exporter_build_info", labels) == 1.0
        assert [s.kind for s in state.exposition.sections()] == ["demo"]

    async def test_revision_from_git_or_unknown(self):
        """Without EXPORTERHUB_REVISION the revision is git's or 'unknown'."""

        async def load():
            return []

        state = build_hub({}, load)
        text = state.exposition.body().decode()
        line = next(x for x in text.splitlines() if x.startswith("exporterhub_build"))
        revision = line.split('revision="')[1].split('"')[0]
        assert revision == "unknown" or len(revision) == 12

    async def test_serve_rejects_bad_listen_address(self, clock):
        """serve() fails with ConfigError before binding on a bad address."""

        async def load():
            return []

        state = build_hub({}, load, clock=clock)
        with pytest.raises(ConfigError, match="expected host:port"):
            await serve(state, "no-port-here")


class TestStore:
    """Where the store lives, and a store that cannot be opened is a ConfigError."""

    def test_location(self, tmp_path):
        """A URL wins, then a path; by default the file sits beside the config."""
        config = tmp_path / "conf" / "exporterhub.yaml"
        assert StoreSettings().location(config) == str(
            tmp_path / "conf" / "exporterhub.db"
        )
        assert StoreSettings().location(None) == "exporterhub.db"
        assert StoreSettings(path=tmp_path / "t.db").location(config) == str(
            tmp_path / "t.db"
        )
        url = "postgresql://u:p@db/hub"
        assert StoreSettings(url=url, path=tmp_path / "t.db").location(config) == url

    async def test_bad_key_is_a_config_error(self, tmp_path):
        """A malformed key file stops the start with one line naming the store."""
        key = tmp_path / "t.key"
        key.write_text("not a key\n", encoding="utf-8")
        settings = StoreSettings(path=tmp_path / "t.db", key_file=key)
        with pytest.raises(ConfigError, match="key"):
            await open_store(settings, None)
        assert not (tmp_path / "t.db").exists()  # a bad key creates nothing


class TestRevision:
    def test_baked_revision_is_used_without_git(self, monkeypatch):
        """An installed wheel's baked exporterhub._build.REVISION is reported."""
        baked = types.ModuleType("exporterhub._build")
        baked.REVISION = "0123456789ab"  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "exporterhub._build", baked)
        monkeypatch.delenv("EXPORTERHUB_REVISION", raising=False)
        monkeypatch.setenv("PATH", "")  # no git to be found
        assert _revision() == "0123456789ab"

    def test_variable_beats_the_baked_revision(self, monkeypatch):
        """EXPORTERHUB_REVISION wins over the baked module."""
        baked = types.ModuleType("exporterhub._build")
        baked.REVISION = "0123456789ab"  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "exporterhub._build", baked)
        monkeypatch.setenv("EXPORTERHUB_REVISION", "feedface")
        assert _revision() == "feedface"

    def test_checkout_without_baked_module_asks_git(self, monkeypatch):
        """In a source checkout (no _build module) the revision is git's HEAD."""
        monkeypatch.delenv("EXPORTERHUB_REVISION", raising=False)
        monkeypatch.setitem(sys.modules, "exporterhub._build", None)
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            cwd=Path(__file__).parent, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert _revision() == head
