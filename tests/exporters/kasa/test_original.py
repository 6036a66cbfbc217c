"""The original pyprom-exporters config.yaml, read as the original meant it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.kasa.collector import KASA_SPECS, renamed_specs
from exporterhub.exporters.kasa.command_settings import (
    load_tapo_command,
    log_level_name,
)
from exporterhub.exporters.kasa.original import (
    ORIGINAL_METRICS,
    LegacyMetric,
    is_original,
    read_original,
)
from exporterhub.exporters.kasa.plugin import PLUGIN, stored_target
from exporterhub.exporters.kasa.section import ON_SCRAPE_MAX_AGE
from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings
from exporterhub.exporters.kasa.state import KasaReading, KasaSnapshot

FIXTURES = (
    Path(__file__).parent.parent.parent / "fixtures" / "kasa" / "pyprom-exporters"
)
WRITTEN = yaml.safe_load((FIXTURES / "config.yaml").read_text())
MINIMAL = yaml.safe_load((FIXTURES / "config-minimal.yaml").read_text())
ENV = (
    "TAPO_USERNAME",
    "TAPO_PASSWORD",
    "TP_LINK_USERNAME",
    "TP_LINK_PASSWORD",
    "LOG_LEVEL",
    "PYPROM_EXPORTERS_LOG_LEVEL",
    "PROMETHEUS_PORT",
    "TAPO_PLUG_DEVICES",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def written(**tapo: Any) -> dict[str, Any]:
    """The original's file with some ``exporters.tapo`` keys replaced."""
    data = copy.deepcopy(WRITTEN)
    data["exporters"]["tapo"].update(tapo)
    return data


def older(data: dict[str, Any]) -> dict[str, Any]:
    """The same file in the layout without ``exporters``."""
    top = {k: v for k, v in data.items() if k != "exporters"}
    return {**top, **data["exporters"]["tapo"]}


def save(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class TestTheWrittenFile:
    def test_every_key_is_read(self):
        """The file every install has: port, level, 1 s, plugs, discovery on."""
        original = read_original(WRITTEN, "config.yaml")
        assert original.prometheus_port == 8090
        assert original.log_level == "INFO"
        assert original.refresh_interval == 1.0
        assert original.plug_family is True
        assert [m.name for m in original.metrics] == list(ORIGINAL_METRICS.values())
        assert all(m.enabled and m.documentation is None for m in original.metrics)
        assert (original.username_env, original.password_env) == (
            "TP_LINK_USERNAME",
            "TP_LINK_PASSWORD",
        )
        assert original.ignored == ()
        section = original.section
        assert section["devices"] == ["192.0.2.10", "192.0.2.11"]
        assert section["prometheus_options"] == {"legacy_metrics": True}
        assert section["discovery_options"]["perform_discovery"] is True
        assert section["discovery_options"]["target"] == "255.255.255.255"
        assert "timeout" not in section  # null: python-kasa's default stays

    def test_older_layout_reads_alike(self):
        """Without exporters, the same keys at the top level mean the same."""
        assert read_original(older(WRITTEN), "c") == read_original(WRITTEN, "c")

    def test_minimal_file_takes_the_originals_defaults(self):
        """write_non_default_config: what is missing is the original's default."""
        original = read_original(MINIMAL, "config.yaml")
        assert original.prometheus_port == 9123
        assert original.log_level == "10"
        assert original.refresh_interval == 1.0
        assert original.section["discovery_options"] == {"perform_discovery": True}
        assert original.ignored == (
            "write_non_default_config (config.yaml is never written)",
        )

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            pytest.param(WRITTEN, True, id="written"),
            pytest.param(older(WRITTEN), True, id="older-layout"),
            pytest.param(MINIMAL, True, id="minimal"),
            pytest.param({"exporters": {"tapo": {"devices": ["a"]}}}, False, id="ours"),
            pytest.param(
                {"exporters": {"tapo": {"discovery_options": {"with_update": True}}}},
                True,
                id="original-discovery-key",
            ),
            pytest.param({"exporters": {"tapo": None}}, False, id="empty-section"),
            pytest.param({}, False, id="empty-file"),
            pytest.param({"web": {}}, False, id="hub-keys-only"),
            pytest.param({"prometheus_port": 9000}, True, id="older-top-key"),
            pytest.param(
                {"exporters": {"tapo": {"discovery_options": {"timeout": 3}}}},
                False,
                id="timeout-alone",
            ),
        ],
    )
    def test_is_original(self, data, expected):
        """The original's keys (or its older layout) mark its file; ours do not."""
        assert is_original(data) is expected


class TestKeysNotHonoured:
    @pytest.mark.parametrize(
        ("change", "named"),
        [
            pytest.param(
                {"discovery_options": {"with_update": False}},
                "exporters.tapo.discovery_options.with_update",
                id="with_update",
            ),
            pytest.param(
                {"discovery_options": {"current_consumption_key": "power"}},
                "exporters.tapo.discovery_options.current_consumption_key",
                id="current_consumption_key",
            ),
            pytest.param(
                {"supported_device_families": {"PLUG": True, "BULB": True}},
                "exporters.tapo.supported_device_families.BULB",
                id="unknown-family",
            ),
            pytest.param(
                {"per_device_family_metrics": {"plug": {"CURRENT_POWER": {}}}},
                "exporters.tapo.per_device_family_metrics.plug.CURRENT_POWER",
                id="unknown-metric",
            ),
            pytest.param(
                {"per_device_family_metrics": {"bulb": {}}},
                "exporters.tapo.per_device_family_metrics.bulb",
                id="unknown-metric-family",
            ),
            pytest.param(
                {"prometheus_options": {"refresh_interval": 0}},
                "exporters.tapo.prometheus_options.refresh_interval",
                id="zero-interval",
            ),
            pytest.param(
                {"prometheus_options": {"scrape": 1}},
                "exporters.tapo.prometheus_options.scrape",
                id="unknown-prometheus-option",
            ),
            pytest.param({"colour": "red"}, "exporters.tapo.colour", id="unknown-key"),
        ],
    )
    def test_named(self, change, named):
        """A key that cannot be honoured is named, never silently dropped."""
        original = read_original(written(**change), "config.yaml")
        assert [i for i in original.ignored if i.startswith(f"{named} (")]

    def test_config_file_naming_another_file(self):
        """config_file naming another file is named (the original ignored it too)."""
        data = {**WRITTEN, "config_file": "other.yaml"}
        assert read_original(data, "/etc/tapo/config.yaml").ignored == (
            "config_file (this file is /etc/tapo/config.yaml; --config names another)",
        )
        assert read_original(WRITTEN, "/etc/tapo/config.yaml").ignored == ()

    def test_unknown_top_level_key(self):
        """An unknown top-level key is named too; exporterhub's own are not."""
        data = {**WRITTEN, "colour": "red", "web": {}}
        assert read_original(data, "config.yaml").ignored == ("colour (unknown key)",)

    @pytest.mark.parametrize(
        ("entry", "why"),
        [
            pytest.param({"labels": ["ip"]}, "labels", id="one-label"),
            pytest.param({"labels": ["ip", "ip"]}, "labels", id="same-twice"),
            pytest.param({"labels": ["target", "x"]}, "labels", id="ours"),
            pytest.param({"labels": "ip"}, "labels", id="not-a-list"),
            pytest.param({"name": "bad name"}, "name", id="bad-name"),
            pytest.param({"name": "tapo_up"}, "name", id="our-prefix"),
            pytest.param({"name": "current_rssi"}, "name", id="another-metrics"),
            pytest.param({"unit": "W"}, "unit", id="unknown-key"),
        ],
    )
    def test_bad_metric_entry_keeps_the_default(self, entry, why):
        """A bad name or label list is named; the original's default is used."""
        metrics = {"plug": {"CURRENT_CONSUMPTION": {"name": "current_consumption"}}}
        metrics["plug"]["CURRENT_CONSUMPTION"].update(entry)
        original = read_original(
            written(per_device_family_metrics=metrics), "config.yaml"
        )
        (metric,) = [m for m in original.metrics if m.key == "current_consumption"]
        assert metric.name == "current_consumption"
        assert metric.labels == ("host", "alias")
        key = "exporters.tapo.per_device_family_metrics.plug.CURRENT_CONSUMPTION"
        assert [i for i in original.ignored if i.startswith(f"{key}.{why} (")]

    @pytest.mark.parametrize(
        ("change", "key"),
        [
            pytest.param(
                {"prometheus_options": {"refresh_interval": "soon"}},
                "exporters.tapo.prometheus_options.refresh_interval",
                id="interval-text",
            ),
            pytest.param(
                {"prometheus_options": {"refresh_interval": 100000}},
                "exporters.tapo.prometheus_options.refresh_interval",
                id="interval-too-long",
            ),
            pytest.param(
                {"supported_device_families": {"plug": "yes please"}},
                "exporters.tapo.supported_device_families.plug",
                id="family-not-bool",
            ),
            pytest.param(
                {"per_device_family_metrics": ["current_rssi"]},
                "exporters.tapo.per_device_family_metrics",
                id="metrics-not-mapping",
            ),
            pytest.param(
                {"per_device_family_metrics": {"plug": {"CURRENT_RSSI": 3}}},
                "exporters.tapo.per_device_family_metrics.plug.CURRENT_RSSI",
                id="metric-not-mapping",
            ),
            pytest.param(
                {"discovery_options": {"tapo_username_env_key": ""}},
                "exporters.tapo.discovery_options.tapo_username_env_key",
                id="empty-env-name",
            ),
            pytest.param(
                {"discovery_options": {"credentials": {"username": 5}}},
                "exporters.tapo.discovery_options.credentials",
                id="credentials-not-text",
            ),
        ],
    )
    def test_wrong_kind_names_file_and_key(self, change, key):
        """A value of the wrong kind is a config error naming the file and key."""
        with pytest.raises(ConfigError, match=rf"^config\.yaml: {key}: "):
            read_original(written(**change), "config.yaml")


class TestLenientAsTheOriginal:
    def test_interval_as_text_and_repeated_devices(self):
        """ "5" is 5 (OmegaConf converted it); a repeated address is one plug."""
        data = written(
            prometheus_options={"refresh_interval": "5"},
            devices=["192.0.2.10", "192.0.2.10", "192.0.2.11"],
        )
        original = read_original(data, "config.yaml")
        assert original.refresh_interval == 5.0
        assert original.section["devices"] == ["192.0.2.10", "192.0.2.11"]


class TestMetricNames:
    def test_keys_by_name_or_value_in_any_case(self):
        """CURRENT_VOLTAGE (as written) and current_voltage (value) both work."""
        metrics = {
            "PLUG": {
                "CURRENT_VOLTAGE": {"name": "volts"},
                "current_consumption_today": {"name": "today_kwh"},
                "current_rssi": None,
            }
        }
        original = read_original(
            written(per_device_family_metrics=metrics), "config.yaml"
        )
        names = {m.key: (m.name, m.enabled) for m in original.metrics}
        assert names["current_voltage"] == ("volts", True)
        assert names["current_consumption_today"] == ("today_kwh", True)
        assert names["current_rssi"][1] is False
        assert names["current_current"] == ("current_current", True)

    def test_names_may_swap(self):
        """Two metrics may trade names: each name is free once its owner moved."""
        metrics = {
            "plug": {
                "CURRENT_VOLTAGE": {"name": "current_current"},
                "CURRENT_CURRENT": {"name": "current_voltage"},
            }
        }
        original = read_original(
            written(per_device_family_metrics=metrics), "config.yaml"
        )
        names = {m.key: m.name for m in original.metrics}
        assert names["current_voltage"] == "current_current"
        assert names["current_current"] == "current_voltage"
        assert original.ignored == ()

    def test_renamed_specs_serve_the_value_under_the_new_name(self):
        """The value is the metric's own (the original served 0 when renamed)."""
        metrics = [
            LegacyMetric(
                key="current_consumption",
                name="plug_power_w",
                documentation="Power, W.",
                labels=("ip", "name"),
            ),
            LegacyMetric(key="current_rssi", name="current_rssi", enabled=False),
        ]
        specs = renamed_specs(metrics)
        names = [s.name for s in specs]
        assert "plug_power_w" in names
        assert "current_consumption" not in names
        assert "current_rssi" not in names
        assert len(specs) == len(KASA_SPECS) - 1
        (spec,) = [s for s in specs if s.name == "plug_power_w"]
        assert spec.labels == ("ip", "name")
        assert spec.help == "Power, W."
        assert spec.header(False).startswith(b"# HELP plug_power_w Power, W.\n")
        reading = KasaReading(host="10.0.0.5", alias="Kettle", power_watts=1200.0)
        snapshot = KasaSnapshot(reading=reading, legacy=True)
        assert list(spec.value_fn(snapshot)) == [(("10.0.0.5", "Kettle"), 1200.0)]
        # the table the hub serves by default is untouched
        assert "current_consumption" in [s.name for s in PLUGIN.specs]


class TestTheCommandReadsIt:
    def test_port_level_interval_and_discovery(self, tmp_path, monkeypatch):
        """The file's port and level; its 1 s interval as given; its discovery."""
        monkeypatch.chdir(tmp_path)
        save(tmp_path, written())
        settings, original = load_tapo_command({})
        assert original is not None
        assert settings.prometheus_port == 8090
        assert settings.log_level == "info"
        assert settings.legacy_metrics is True
        (plug, _) = settings.targets()
        assert plug.interval == 1.0
        assert plug.refresh_interval == 30.0  # ours, which the file's wins over
        assert plug.max_age == 10.0
        discovery = settings.discovery()
        assert discovery is not None
        assert discovery.options.enabled is True
        assert discovery.options.target == "255.255.255.255"

    def test_minimal_file(self, tmp_path):
        """The minimal file: port 9123, LOG_LEVEL 10 as written, its one plug."""
        settings, _ = load_tapo_command({}, save(tmp_path, MINIMAL))
        assert settings.prometheus_port == 9123
        assert settings.log_level == "debug"
        assert [d.name for d in settings.tapo_plug_devices] == ["192.0.2.10"]

    def test_older_layout_top_level_port(self, tmp_path):
        """The older layout with a top-level port (which the original refused)."""
        data = older(written())
        data["prometheus_port"] = 9555
        settings, original = load_tapo_command({}, save(tmp_path, data))
        assert settings.prometheus_port == 9555
        assert original is not None

    def test_our_file_reads_the_top_level_port_too(self, tmp_path):
        """Top-level prometheus_port and log_level are read in our layout too."""
        data = {
            "prometheus_port": 9556,
            "log_level": "WARNING",
            "exporters": {"tapo": {"devices": ["a"]}},
        }
        settings, original = load_tapo_command({}, save(tmp_path, data))
        assert (settings.prometheus_port, settings.log_level) == (9556, "warning")
        assert original is None

    def test_environment_and_flags_win(self, tmp_path, monkeypatch):
        """PROMETHEUS_PORT beats the file; the flag beats both."""
        path = save(tmp_path, written())
        monkeypatch.setenv("PROMETHEUS_PORT", "9100")
        assert load_tapo_command({}, path)[0].prometheus_port == 9100
        assert load_tapo_command({"prometheus_port": 9200}, path)[
            0
        ].prometheus_port == (9200)

    @pytest.mark.parametrize(
        ("interval", "on_scrape", "every", "max_age"),
        [
            pytest.param(None, True, 30.0, ON_SCRAPE_MAX_AGE, id="null"),
            pytest.param(2, False, 2.0, 10.0, id="2s"),
            pytest.param(60, False, 60.0, 120.0, id="60s"),
        ],
    )
    def test_refresh_interval_as_given(
        self, tmp_path, interval, on_scrape, every, max_age
    ):
        """null reads on scrape; any interval of 1 s or more is used as given."""
        data = written(prometheus_options={"refresh_interval": interval})
        settings, _ = load_tapo_command({}, save(tmp_path, data))
        (plug, _) = settings.targets()
        assert plug.on_scrape is on_scrape
        assert plug.interval == every
        assert plug.max_age == max_age

    def test_legacy_names_can_be_switched_off(self, tmp_path):
        """legacy_metrics: false in the file wins over the original's default."""
        data = written(prometheus_options={"legacy_metrics": False})
        settings, _ = load_tapo_command({}, save(tmp_path, data))
        assert settings.legacy_metrics is False


class TestCredentialsAndLevels:
    def test_variables_the_file_names(self, tmp_path, monkeypatch):
        """tapo_*_env_key name the variables; TP_LINK_* is then not read."""
        data = written(
            discovery_options={
                "tapo_username_env_key": "HOME_PLUG_USER",
                "tapo_password_env_key": "HOME_PLUG_PASS",
            }
        )
        monkeypatch.setenv("HOME_PLUG_USER", "me@home")
        monkeypatch.setenv("HOME_PLUG_PASS", "pw")
        monkeypatch.setenv("TP_LINK_USERNAME", "other@home")
        settings, _ = load_tapo_command({}, save(tmp_path, data))
        assert settings.tapo_username.get_secret_value() == "me@home"
        assert settings.tapo_password.get_secret_value() == "pw"
        assert settings.targets()[0].username.get_secret_value() == "me@home"

    def test_tapo_variables_win(self, tmp_path, monkeypatch):
        """TAPO_USERNAME/TAPO_PASSWORD win over the variables the file names."""
        data = written(discovery_options={"tapo_username_env_key": "HOME_PLUG_USER"})
        monkeypatch.setenv("HOME_PLUG_USER", "me@home")
        monkeypatch.setenv("TAPO_USERNAME", "tapo@home")
        settings, _ = load_tapo_command({}, save(tmp_path, data))
        assert settings.tapo_username.get_secret_value() == "tapo@home"

    def test_flags_win_and_written_credentials_count(self, tmp_path, monkeypatch):
        """Credentials written in the file beat TP_LINK_*; the flag beats them."""
        data = written(
            discovery_options={
                "credentials": {"username": "file@home", "password": "f"}
            }
        )
        path = save(tmp_path, data)
        monkeypatch.setenv("TP_LINK_USERNAME", "env@home")
        settings, _ = load_tapo_command({}, path)
        assert settings.tapo_username.get_secret_value() == "file@home"
        settings, _ = load_tapo_command({"tapo_username": "flag@home"}, path)
        assert settings.tapo_username.get_secret_value() == "flag@home"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("10", "debug", id="10"),
            pytest.param("20", "info", id="20"),
            pytest.param("30", "warning", id="30"),
            pytest.param("40", "error", id="40"),
            pytest.param("50", "critical", id="50"),
            pytest.param("15", "info", id="15"),
            pytest.param("0", "debug", id="notset"),
            pytest.param("WARN", "warning", id="warn"),
            pytest.param("Error", "error", id="mixed-case"),
        ],
    )
    def test_log_level_numbers_and_names(self, monkeypatch, value, expected):
        """LOG_LEVEL takes the original's numbers and names."""
        monkeypatch.setenv("LOG_LEVEL", value)
        assert load_tapo_command({}, default_path=None)[0].log_level == expected

    def test_pyprom_variable_wins(self, monkeypatch):
        """PYPROM_EXPORTERS_LOG_LEVEL wins over LOG_LEVEL, as in the original."""
        monkeypatch.setenv("LOG_LEVEL", "ERROR")
        monkeypatch.setenv("PYPROM_EXPORTERS_LOG_LEVEL", "10")
        assert load_tapo_command({}, default_path=None)[0].log_level == "debug"

    def test_level_of_another_type_is_left_for_validation(self):
        """Something that is no level is handed on unchanged (and then refused)."""
        assert log_level_name(None) is None
        assert log_level_name(True) is True


class TestApiKeepsItsFloor:
    def test_stored_targets_cannot_ask_for_the_originals_modes(self):
        """The API refuses on_scrape and the original's short interval."""
        device = KasaDevice(host="127.0.0.1", port=9999)
        for extra in ({"on_scrape": True}, {"original_refresh_interval": 1.0}):
            settings = KasaTargetSettings(device=device, **extra)
            with pytest.raises(ValueError, match="only the original"):
                stored_target(settings)
        schema = PLUGIN.stored.schema()
        text = str(schema)
        assert "on_scrape" not in text
        assert "original_refresh_interval" not in text


class TestTheHubReadsTheSection:
    """exporterhub serve: the original's section under exporters.tapo works too."""

    def test_interval_discovery_and_named_variables(self, monkeypatch):
        """Its 1 s, its discovery and the variables it names, as tapo-exporter."""
        section = written(
            discovery_options={"tapo_username_env_key": "HOME_PLUG_USER"}
        )["exporters"]["tapo"]
        monkeypatch.setenv("HOME_PLUG_USER", "me@home")
        monkeypatch.setenv("TP_LINK_USERNAME", "other@home")
        with capture_logs() as logs:
            targets = PLUGIN.targets_from_config(section, "hub.yaml")
        plugs = [t for t in targets if not t.discovers]
        assert [t.name for t in plugs] == ["192.0.2.10", "192.0.2.11"]
        settings = plugs[0].settings
        assert isinstance(settings, KasaTargetSettings)
        assert settings.interval == 1.0
        assert settings.legacy_metrics is True
        assert settings.username.get_secret_value() == "me@home"
        (source,) = [t for t in targets if t.discovers]
        assert source.settings.options.enabled is True
        assert not [e for e in logs if e["event"] == "config_keys_not_honoured"]

    def test_renames_are_named_and_null_reads_on_scrape(self, monkeypatch):
        """Renamed metrics are named in the warning; null reads when scraped."""
        monkeypatch.setenv("TAPO_USERNAME", "tapo@home")
        section = written(
            prometheus_options={"refresh_interval": None},
            per_device_family_metrics={"plug": {"CURRENT_RSSI": {"name": "rssi"}}},
        )["exporters"]["tapo"]
        with capture_logs() as logs:
            targets = PLUGIN.targets_from_config(section, "hub.yaml")
        settings = targets[0].settings
        assert isinstance(settings, KasaTargetSettings)
        assert settings.on_scrape is True
        assert settings.username.get_secret_value() == "tapo@home"
        (warning,) = [e for e in logs if e["event"] == "config_keys_not_honoured"]
        assert warning["log_level"] == "warning"
        assert any("per_device_family_metrics" in key for key in warning["keys"])

    def test_plug_family_off_reads_nothing(self):
        """supported_device_families.plug false: no target at all, and it is said."""
        section = written(supported_device_families={"PLUG": False})["exporters"][
            "tapo"
        ]
        with capture_logs() as logs:
            assert PLUGIN.targets_from_config(section, "hub.yaml") == []
        assert [e["event"] for e in logs] == ["plugs_not_read"]

    def test_our_section_is_unchanged(self):
        """A section in this project's format keeps its 5 s floor and defaults."""
        with pytest.raises(ConfigError, match="refresh_interval"):
            PLUGIN.targets_from_config(
                {"devices": ["a"], "prometheus_options": {"refresh_interval": 1}},
                "hub.yaml",
            )


class TestTheOriginalsFlags:
    def test_numeric_level_empty_devices_and_no_write(self, tmp_path):
        """--log-level 10, --tapo-plug-devices with nothing, --no-write-config."""
        from exporterhub.exporters.kasa.__main__ import _cli, build_parser

        path = save(tmp_path, written())
        args = build_parser().parse_args(
            ["--log-level", "10", "--no-write-config", "--tapo-plug-devices"]
        )
        assert args.no_write_config is True
        settings, _ = load_tapo_command(_cli(args), path)
        assert settings.log_level == "debug"
        assert settings.tapo_plug_devices == []  # the flag wins over the file's two
