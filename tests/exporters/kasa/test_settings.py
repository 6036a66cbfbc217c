"""Tests of the plug exporter's settings: device strings, YAML section, env, flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr, TypeAdapter, ValidationError

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.kasa.devices import DeviceEntry
from exporterhub.exporters.kasa.settings import (
    DEFAULT_PORT,
    KasaDevice,
    KasaTargetSettings,
    TapoExporterSettings,
    TapoSection,
    load_tapo_settings,
    parse_device,
)

ENV_NAMES = (
    "TP_LINK_USERNAME",
    "TP_LINK_PASSWORD",
    "TAPO_USERNAME",
    "TAPO_PASSWORD",
    "TAPO_PLUG_DEVICES",
    "PROMETHEUS_PORT",
    "LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No inherited env and no config.yaml in the working directory."""
    for name in list(os.environ):
        if name in ENV_NAMES or name.startswith("TAPO_EXPORTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_yaml(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestParseDevice:
    @pytest.mark.parametrize(
        ("text", "host", "port", "name"),
        [
            pytest.param("192.168.1.20", "192.168.1.20", None, "192.168.1.20", id="v4"),
            pytest.param("10.0.0.5:9999", "10.0.0.5", 9999, "10.0.0.5:9999", id="port"),
            pytest.param(" plug.lan:80 ", "plug.lan", 80, "plug.lan:80", id="dns"),
            pytest.param("[::1]:9999", "::1", 9999, "[::1]:9999", id="v6-port"),
            pytest.param("[fe80::1]", "fe80::1", None, "[fe80::1]", id="v6-bracket"),
            pytest.param("fe80::1", "fe80::1", None, "[fe80::1]", id="v6-bare"),
        ],
    )
    def test_valid(self, text, host, port, name):
        """host[:port] and bracketed IPv6 parse; the name defaults to host:port."""
        device = parse_device(text)
        assert (device.host, device.port, device.name) == (host, port, name)
        assert device.connection_type == "auto"
        assert device.address == name

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            pytest.param("", "empty", id="empty"),
            pytest.param("host:", "port", id="no-port"),
            pytest.param("host:abc", "port", id="text-port"),
            pytest.param("host:0", "port", id="zero"),
            pytest.param("host:70000", "port", id="too-big"),
            pytest.param("[::1]:x", "port", id="v6-bad-port"),
            pytest.param(":9999", "invalid host", id="no-host"),
        ],
    )
    def test_invalid(self, text, problem):
        """Bad device strings are refused with a message naming the problem."""
        with pytest.raises(ValueError, match=problem):
            parse_device(text)


class TestKasaDevice:
    def test_mapping_and_case(self):
        """A mapping takes a name, port, connection type (any case), credentials."""
        # Any case is the YAML entry's convenience; KasaDevice itself (the API's
        # model) takes exactly the values its schema lists.
        device = TypeAdapter(DeviceEntry).validate_python(
            {"host": "127.0.0.1", "port": 9999, "connection_type": "IOT"}
        )
        assert device.connection_type == "iot"
        assert device.name == "127.0.0.1:9999"
        assert KasaDevice(host="h", name="kitchen").name == "kitchen"

    def test_bad_connection_type(self):
        """An unknown connection type names the field."""
        with pytest.raises(ValidationError, match="connection_type"):
            KasaDevice(host="h", connection_type="tpap")  # type: ignore[arg-type]


class TestTargetSettings:
    def test_defaults(self):
        """30 s refresh, 5 s timeout, deadline timeout*3+3, legacy off."""
        target = KasaTargetSettings(device=parse_device("h"))
        assert target.refresh_interval == 30
        assert target.timeout == 5
        assert target.poll_deadline == 18
        assert target.deadline == 18
        assert target.max_age == 60
        assert target.legacy_metrics is False
        assert target.name == "h"

    def test_refresh_interval_floor(self):
        """Polling faster than every 5 s is refused."""
        with pytest.raises(ValidationError, match="refresh_interval"):
            KasaTargetSettings(device=parse_device("h"), refresh_interval=1)

    def test_secrets_hidden(self):
        """Credentials never appear in repr or str."""
        target = KasaTargetSettings(
            device=parse_device("h"), username="me@x.org", password="hunter2"
        )
        assert "hunter2" not in repr(target)
        assert "me@x.org" not in repr(target)
        assert "hunter2" not in str(target)
        assert target.password.get_secret_value() == "hunter2"


SECTION_YAML = """
exporters:
  tapo:
    devices:
      - 192.168.1.20
      - "[::1]:9999"
      - host: 127.0.0.1
        port: 9999
        connection_type: iot
      - {host: 127.0.0.2, port: 80, connection_type: klap, name: tv,
         credentials: second}
    discovery_options:
      enabled: true
      target: 192.168.1.255
      interval: 600
      something_else: kept
    prometheus_options:
      refresh_interval: 15
      legacy_metrics: true
    credentials:
      second: {username: other@x.org, password: s3cond}
"""


class TestSection:
    def test_strings_and_mappings(self, tmp_path):
        """Devices mix strings and mappings; options and credentials are kept."""
        import yaml

        data = yaml.safe_load(SECTION_YAML)["exporters"]["tapo"]
        section = TapoSection.model_validate(data)
        assert [d.name for d in section.devices] == [
            "192.168.1.20",
            "[::1]:9999",
            "127.0.0.1:9999",
            "tv",
        ]
        assert section.devices[2].connection_type == "iot"
        assert section.discovery_options.enabled is True
        assert section.discovery_options.target == "192.168.1.255"
        assert section.discovery_options.interval == 600
        assert section.discovery_options.model_extra == {"something_else": "kept"}
        targets = section.targets("me@x.org", SecretStr("default-pw"))
        assert [t.refresh_interval for t in targets] == [15] * 4
        assert all(t.legacy_metrics for t in targets)
        assert targets[0].username.get_secret_value() == "me@x.org"
        assert targets[0].password.get_secret_value() == "default-pw"
        assert targets[3].username.get_secret_value() == "other@x.org"
        assert targets[3].password.get_secret_value() == "s3cond"
        assert "s3cond" not in repr(section)

    def test_defaults(self):
        """An empty section: no devices, discovery off, 30 s, legacy off."""
        section = TapoSection()
        assert section.devices == []
        assert section.discovery_options.enabled is False
        assert section.prometheus_options.refresh_interval == 30
        assert section.prometheus_options.legacy_metrics is False
        assert section.credentials is None

    @pytest.mark.parametrize(
        ("data", "problem"),
        [
            pytest.param({"devices": ["h:x"]}, "devices.0", id="bad-port"),
            pytest.param(
                {"devices": [{"host": "h", "credentials": "nope"}]},
                "unknown credentials",
                id="unknown-credentials",
            ),
            pytest.param({"devices": ["h", "h"]}, "used twice", id="duplicate"),
            pytest.param(
                {"prometheus_options": {"refresh_interval": 1}},
                "prometheus_options.refresh_interval",
                id="too-fast",
            ),
            pytest.param({"devcies": []}, "devcies", id="typo"),
        ],
    )
    def test_invalid_names_field(self, data, problem):
        """Each invalid section names the offending key."""
        with pytest.raises(ValidationError, match=problem):
            TapoSection.model_validate(data)


class TestEnvironment:
    @pytest.mark.parametrize(
        ("user_env", "pass_env"),
        [
            pytest.param("TP_LINK_USERNAME", "TP_LINK_PASSWORD", id="tp-link"),
            pytest.param("TAPO_USERNAME", "TAPO_PASSWORD", id="tapo"),
        ],
    )
    def test_credentials(self, monkeypatch, user_env, pass_env):
        """Both COMPAT spellings of the credentials are read."""
        monkeypatch.setenv(user_env, "me@x.org")
        monkeypatch.setenv(pass_env, "pw")
        settings = load_tapo_settings({})
        assert settings.tapo_username.get_secret_value() == "me@x.org"
        assert settings.tapo_password.get_secret_value() == "pw"
        assert "pw'" not in repr(settings)

    def test_tapo_wins(self, monkeypatch):
        """TAPO_* wins over TP_LINK_*, as in the original (its override)."""
        monkeypatch.setenv("TP_LINK_USERNAME", "first")
        monkeypatch.setenv("TAPO_USERNAME", "second")
        monkeypatch.setenv("TP_LINK_PASSWORD", "first-pw")
        monkeypatch.setenv("TAPO_PASSWORD", "second-pw")
        settings = load_tapo_settings({})
        assert settings.tapo_username.get_secret_value() == "second"
        assert settings.tapo_password.get_secret_value() == "second-pw"

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("a:9999 b [::1]:80", id="spaces"),
            pytest.param("a:9999,b,[::1]:80", id="commas"),
            pytest.param(" a:9999 , b,  [::1]:80 ", id="mixed"),
        ],
    )
    def test_plug_devices(self, monkeypatch, value):
        """TAPO_PLUG_DEVICES is a space or comma separated list."""
        monkeypatch.setenv("TAPO_PLUG_DEVICES", value)
        settings = load_tapo_settings({})
        assert [d.name for d in settings.tapo_plug_devices] == [
            "a:9999",
            "b",
            "[::1]:80",
        ]

    def test_port_and_log_level(self, monkeypatch):
        """PROMETHEUS_PORT and a LOG_LEVEL in any case are read."""
        monkeypatch.setenv("PROMETHEUS_PORT", "9100")
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        settings = load_tapo_settings({})
        assert settings.prometheus_port == 9100
        assert settings.log_level == "debug"

    def test_defaults(self):
        """Port 8090, info logging, no devices, no credentials."""
        settings = load_tapo_settings({})
        assert settings.prometheus_port == DEFAULT_PORT == 8090
        assert settings.log_level == "info"
        assert settings.tapo_plug_devices == []
        assert settings.tapo_username.get_secret_value() == ""
        assert settings.config is None

    def test_bad_env_device_names_origin(self, monkeypatch):
        """A bad TAPO_PLUG_DEVICES entry is reported with its name and index."""
        monkeypatch.setenv("TAPO_PLUG_DEVICES", "good:1 bad:port")
        with pytest.raises(ConfigError, match=r"TAPO_PLUG_DEVICES\.1: .*'bad:port'"):
            load_tapo_settings({})

    def test_bad_log_level(self, monkeypatch):
        """An unknown log level is refused naming the source."""
        monkeypatch.setenv("LOG_LEVEL", "loud")
        with pytest.raises(ConfigError, match="environment"):
            load_tapo_settings({})


FILE_YAML = """
exporters:
  tapo:
    devices: [file-plug:9999]
    prometheus_options: {refresh_interval: 60}
"""


class TestPrecedence:
    def test_cli_over_env_over_yaml(self, monkeypatch, tmp_path):
        """Flags beat the environment, which beats the file, which beats defaults."""
        path = write_yaml(tmp_path, FILE_YAML, "other.yaml")
        monkeypatch.setenv("TAPO_PLUG_DEVICES", "env-plug")
        monkeypatch.setenv("PROMETHEUS_PORT", "9101")
        monkeypatch.setenv("TAPO_USERNAME", "env-user")
        settings = load_tapo_settings(
            {"tapo_plug_devices": "cli-plug:1,cli-plug:2", "tapo_password": "cli-pw"},
            path,
        )
        assert [d.name for d in settings.tapo_plug_devices] == [
            "cli-plug:1",
            "cli-plug:2",
        ]
        assert settings.prometheus_port == 9101
        assert settings.refresh_interval == 60
        assert settings.tapo_username.get_secret_value() == "env-user"
        assert settings.tapo_password.get_secret_value() == "cli-pw"
        assert settings.config == path

    def test_cli_over_env_scalar(self, monkeypatch):
        """--prometheus-port and --log-level beat PROMETHEUS_PORT and LOG_LEVEL."""
        monkeypatch.setenv("PROMETHEUS_PORT", "9101")
        monkeypatch.setenv("LOG_LEVEL", "error")
        settings = load_tapo_settings({"prometheus_port": 9102, "log_level": "Warning"})
        assert settings.prometheus_port == 9102
        assert settings.log_level == "warning"

    def test_yaml_over_defaults(self, tmp_path):
        """Without env or flags the file's devices and options apply."""
        path = write_yaml(tmp_path, SECTION_YAML)
        before = path.read_bytes(), path.stat().st_mtime_ns
        settings = load_tapo_settings({})
        assert settings.config == Path("config.yaml")
        assert len(settings.tapo_plug_devices) == 4
        assert settings.legacy_metrics is True
        assert settings.discovery_options.enabled is True
        targets = settings.targets()
        assert targets[3].username.get_secret_value() == "other@x.org"
        assert [t.refresh_interval for t in targets] == [15] * 4
        # The user's file is read, never rewritten.
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before

    def test_config_flag(self, tmp_path):
        """--config names another file."""
        path = write_yaml(tmp_path, FILE_YAML, "elsewhere.yaml")
        settings = load_tapo_settings({"config": str(path)})
        assert [d.name for d in settings.tapo_plug_devices] == ["file-plug:9999"]

    def test_missing_named_file(self, tmp_path):
        """A named file that does not exist is an error naming it."""
        with pytest.raises(ConfigError, match=r"missing\.yaml"):
            load_tapo_settings({}, tmp_path / "missing.yaml")

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            pytest.param(
                "exporters:\n  tapo:\n    devices: ['h:x']\n",
                "exporters.tapo.devices.0",
                id="bad-device",
            ),
            pytest.param("exporters: [1]\n", "exporters:", id="not-mapping"),
            pytest.param("exporters:\n  tapo: 3\n", "exporters.tapo:", id="tapo"),
        ],
    )
    def test_bad_yaml_names_key(self, tmp_path, text, problem):
        """Errors in the file name the file and the dotted key."""
        path = write_yaml(tmp_path, text)
        with pytest.raises(ConfigError, match=problem) as info:
            load_tapo_settings({}, path)
        assert str(path) in str(info.value)

    def test_no_section(self, tmp_path):
        """A file without an exporters.tapo section leaves the defaults."""
        path = write_yaml(tmp_path, "exporters:\n  chaos: {}\n")
        settings = load_tapo_settings({}, path)
        assert settings.tapo_plug_devices == []
        assert settings.refresh_interval == 30

    def test_direct_construction(self):
        """The settings class validates flag-style input on its own too."""
        settings = TapoExporterSettings(tapo_plug_devices="a b")  # type: ignore[arg-type]
        assert len(settings.targets()) == 2
        with pytest.raises(ValidationError, match="used twice"):
            TapoExporterSettings(tapo_plug_devices="a a")  # type: ignore[arg-type]


class TestDiscoveryOptions:
    """discovery_options: the original's keys, unicast targets, worker settings."""

    def test_original_keys(self):
        """perform_discovery, discovery_timeout, discovery_packets, port, interface."""
        options = TapoSection.model_validate(
            {
                "discovery_options": {
                    "perform_discovery": True,
                    "discovery_timeout": 2,
                    "discovery_packets": 1,
                    "port": 9998,
                    "interface": "eth0",
                    "with_update": True,
                }
            }
        ).discovery_options
        assert options.enabled is True
        assert (options.discovery_timeout, options.discovery_packets) == (2, 1)
        assert (options.port, options.interface) == (9998, "eth0")
        assert options.active is True

    def test_unicast_targets_alone_make_it_active(self):
        """targets as a string list: discovery runs without broadcast."""
        options = TapoSection.model_validate(
            {"discovery_options": {"targets": "10.0.0.5, 10.0.1.7:9998"}}
        ).discovery_options
        assert options.enabled is False
        assert [(d.host, d.port) for d in options.targets] == [
            ("10.0.0.5", None),
            ("10.0.1.7", 9998),
        ]
        assert options.active is True

    def test_off_by_default(self):
        """No discovery and no legacy names: no discovery worker at all."""
        section = TapoSection()
        assert section.discovery_options.active is False
        assert section.discovery("u", "p") is None

    def test_legacy_metrics_alone_runs_the_worker(self):
        """tapo_discovered_devices needs the worker even without discovery."""
        section = TapoSection.model_validate(
            {"prometheus_options": {"legacy_metrics": True}}
        )
        found = section.discovery("u", "p")
        assert found is not None
        assert found.options.active is False

    def test_discovered_plugs_use_the_chosen_credentials(self):
        """discovery_options.credentials names a credential set."""
        section = TapoSection.model_validate(
            {
                "discovery_options": {"enabled": True, "credentials": "second"},
                "credentials": {"second": {"username": "o@x.org", "password": "pw2"}},
                "prometheus_options": {"refresh_interval": 20},
                "timeout": 3,
            }
        )
        found = section.discovery("me@x.org", "default-pw")
        assert found is not None
        plug = found.plug(KasaDevice(name="AA", host="10.0.0.5"))
        assert plug.username.get_secret_value() == "o@x.org"
        assert plug.password.get_secret_value() == "pw2"
        assert (plug.refresh_interval, plug.timeout) == (20, 3)
        assert "pw2" not in repr(found)

    def test_default_credentials(self):
        """Without a named set, discovered plugs get the default account."""
        found = TapoSection.model_validate(
            {"discovery_options": {"enabled": True}}
        ).discovery("me@x.org", SecretStr("default-pw"))
        assert found is not None
        assert found.username.get_secret_value() == "me@x.org"
        assert found.password.get_secret_value() == "default-pw"

    @pytest.mark.parametrize(
        ("options", "problem"),
        [
            ({"credentials": "nope"}, "unknown credentials 'nope'"),
            ({"target": "10.0.0.0/24"}, "invalid address"),
            ({"targets": ["10.0.0.5:99999"]}, "port must be a number"),
            ({"interval": 1}, "interval"),
            ({"discovery_timeout": 0}, "discovery_timeout"),
            ({"target": "ff02::1"}, "IPv4 only"),
            ({"targets": ["[::1]:9999"]}, "IPv4 only"),
        ],
    )
    def test_bad_options_name_the_key(self, tmp_path, options, problem):
        """A bad discovery option is a config error naming the file and the key."""
        import yaml

        path = tmp_path / "config.yaml"
        path.write_text(
            yaml.safe_dump({"exporters": {"tapo": {"discovery_options": options}}})
        )
        with pytest.raises(ConfigError) as info:
            load_tapo_settings({}, path)
        message = str(info.value)
        assert str(path) in message
        assert "discovery_options" in message
        assert problem in message

    def test_command_settings_build_the_worker(self, monkeypatch):
        """The standalone command reads discovery from env like everything else."""
        monkeypatch.setenv("TAPO_EXPORTER_DISCOVERY_OPTIONS__ENABLED", "true")
        monkeypatch.setenv("TP_LINK_USERNAME", "env@x.org")
        settings = load_tapo_settings({})
        found = settings.discovery()
        assert found is not None
        assert found.options.enabled is True
        assert found.username.get_secret_value() == "env@x.org"


class TestDiscoveryAccounts:
    """Discovered plugs may be bound to any of the configured accounts."""

    SETS: ClassVar = {
        "home": {"username": "home@x.org", "password": "pw-home"},
        "work": {"username": "work@x.org", "password": "pw-work"},
    }

    def users(self, found, count):
        device = KasaDevice(name="AA", host="10.0.0.5")
        return [found.plug(device, i).username.get_secret_value() for i in count]

    def test_default_first_then_every_set(self):
        """Without a chosen set: the default account, then each set in order."""
        section = TapoSection.model_validate(
            {"discovery_options": {"enabled": True}, "credentials": self.SETS}
        )
        found = section.discovery("me@x.org", "pw-me")
        assert found is not None
        assert found.account_count == 3
        assert self.users(found, range(3)) == ["me@x.org", "home@x.org", "work@x.org"]

    def test_chosen_set_first_then_the_others_then_default(self):
        """A chosen set goes first; the default account comes last."""
        section = TapoSection.model_validate(
            {
                "discovery_options": {"enabled": True, "credentials": "work"},
                "credentials": self.SETS,
            }
        )
        found = section.discovery("me@x.org", "pw-me")
        assert found is not None
        assert self.users(found, range(3)) == ["work@x.org", "home@x.org", "me@x.org"]
        plug = found.plug(KasaDevice(name="AA", host="10.0.0.5"), 2)
        assert plug.password.get_secret_value() == "pw-me"

    def test_out_of_range_account_is_the_first(self):
        """An account number past the last falls back to the first account."""
        found = TapoSection.model_validate(
            {"discovery_options": {"enabled": True}}
        ).discovery("me@x.org", "pw-me")
        assert found is not None
        assert found.account_count == 1
        assert self.users(found, [5]) == ["me@x.org"]
