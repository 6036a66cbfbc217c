"""One model, one truth: the plug's served settings schema accepts what validation does.

The walk over every leaf is ``schema_truth``'s; here are the plug's base
settings, the device's host and connection type, the fields the schema hides
(refused through the API), and the YAML file, flags and environment that must
still load: they keep their conveniences (``IOT`` in any case, ``host:port``
strings, env strings) before the strict per-plug model is built.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from exporterhub.core.address import HOST_PATTERN, MAX_HOST_LENGTH
from exporterhub.core.config import validate_model
from exporterhub.exporters.kasa.devices import DeviceEntry
from exporterhub.exporters.kasa.plugin import PLUGIN
from exporterhub.exporters.kasa.settings import (
    DiscoveryOptions,
    TapoSection,
    load_tapo_settings,
)

from ..schema_truth import SchemaTruthTests, Truth, pytest_generate_tests

__all__ = ["pytest_generate_tests"]

BASE = {
    "device": {"host": "192.0.2.20", "connection_type": "klap"},
    "username": "me@example.com",
    "password": "pw",
}
TRUTH = Truth(PLUGIN.stored, BASE)  # type: ignore[attr-defined]


class TestSchemaTruth(SchemaTruthTests):
    truth = TRUTH


def with_device(**device: object) -> dict:
    return BASE | {"device": BASE["device"] | device}


def refused_at(doc: dict, field: str) -> None:
    """The model refuses ``doc`` at ``field`` and the schema refuses it too."""
    errors = TRUTH.refusal(doc)
    assert errors is not None, doc
    assert [".".join(map(str, e["loc"])) for e in errors] == [field], errors
    assert not TRUTH.schema_accepts(doc), doc


class TestDevice:
    def test_host_states_its_rule(self):
        """The device host's schema carries the pattern and length the model uses."""
        host = TRUTH.schema["$defs"]["KasaDevice"]["properties"]["host"]
        assert host["pattern"] == HOST_PATTERN
        assert host["maxLength"] == MAX_HOST_LENGTH

    @pytest.mark.parametrize("host", ["plug.lan", "192.0.2.1", "::1", "fe80::1"])
    def test_hosts(self, host):
        """Names, IPv4 and bare IPv6 addresses are plug hosts."""
        doc = with_device(host=host)
        assert TRUTH.refusal(doc) is None
        assert TRUTH.schema_accepts(doc)

    @pytest.mark.parametrize(
        "host", ["", "[::1]", "plug_1", " plug", "plug\n", "10.0.0.0/24", "h:80"]
    )
    def test_bad_hosts(self, host):
        """Brackets, underscores, spaces, subnets and ports are not hosts."""
        refused_at(with_device(host=host), "device.host")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("connection_type", "IOT", id="upper-case-type"),
            pytest.param("connection_type", " iot", id="padded-type"),
            pytest.param("port", "9999", id="string-port"),
            pytest.param("port", True, id="bool-port"),
            pytest.param("login_version", 2.5, id="fraction"),
        ],
    )
    def test_lax_values_are_refused_by_both(self, field, value):
        """The API takes the values the schema states, nothing coerced."""
        refused_at(with_device(**{field: value}), f"device.{field}")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("legacy_metrics", 1, id="int-flag"),
            pytest.param("refresh_interval", "30", id="string-float"),
            pytest.param("poll_deadline", False, id="bool-float"),
        ],
    )
    def test_lax_polling_values_are_refused_by_both(self, field, value):
        """The polling fields are strict too."""
        refused_at(BASE | {field: value}, field)

    def test_whole_floats_are_integers(self):
        """5.0 is an integer in JSON Schema, and for the model."""
        doc = with_device(port=9999.0, login_version=2.0)
        assert TRUTH.schema_accepts(doc)
        target = PLUGIN.stored.target("p", doc)  # type: ignore[attr-defined]
        assert (target.settings.device.port, target.settings.device.login_version) == (
            9999,
            2,
        )

    @pytest.mark.parametrize(
        "doc",
        [
            pytest.param(with_device(credentials="home"), id="credential-set"),
            pytest.param(BASE | {"expect_mac": "AA:BB:CC:DD:EE:FF"}, id="mac"),
        ],
    )
    def test_hidden_fields_are_refused_by_both(self, doc):
        """A credential set's name (YAML only) and a pinned MAC (discovery's) are
        not in the schema, and the API refuses them on the settings as a whole."""
        assert not TRUTH.schema_accepts(doc)
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [()]


class TestStillLoads:
    def test_yaml_section(self):
        """A section with strings, mappings, IOT in capitals and ints loads."""
        text = (
            "devices:\n"
            "  - 192.168.1.20\n"
            "  - '[::1]:9999'\n"
            "  - {host: 127.0.0.1, port: 9999, connection_type: IOT}\n"
            "  - {host: plug.lan, port: 80, connection_type: Klap, login_version: 2}\n"
            "prometheus_options: {refresh_interval: 15, legacy_metrics: yes}\n"
            "discovery_options: {perform_discovery: true, target: 192.168.1.255}\n"
            "timeout: 3\n"
        )
        section = validate_model(TapoSection, yaml.safe_load(text), source="c.yaml")
        targets = section.targets("me@x.org", "pw")
        assert [t.device.connection_type for t in targets] == [
            "auto",
            "auto",
            "iot",
            "klap",
        ]
        assert [t.name for t in targets][:2] == ["192.168.1.20", "[::1]:9999"]
        assert targets[1].device.host == "::1"
        assert (targets[0].refresh_interval, targets[0].timeout) == (15.0, 3.0)
        assert targets[0].legacy_metrics is True

    def test_entry_lowercases_the_connection_type(self):
        """A YAML or flag entry takes any case; the plug model itself does not."""
        entry = TypeAdapter(DeviceEntry).validate_python(
            {"host": "127.0.0.1", "connection_type": "AES"}
        )
        assert entry.connection_type == "aes"

    @pytest.mark.parametrize("text", ["plug_1:9999", "[::1:80", "a b:80x"])
    def test_bad_device_strings_name_the_problem(self, text):
        """A flag or YAML string with a bad host says so in one sentence."""
        with pytest.raises(ValidationError, match="device") as info:
            TypeAdapter(list[DeviceEntry]).validate_python([text])
        assert "\n" not in info.value.errors()[0]["msg"]

    def test_flags_and_environment(self, monkeypatch, tmp_path: Path):
        """Flag lists and env strings reach strict per-plug settings."""
        for name in list(os.environ):
            if name.startswith(("TAPO_", "TP_LINK_")):
                monkeypatch.delenv(name)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("TAPO_EXPORTER_REFRESH_INTERVAL", "60")
        monkeypatch.setenv("TAPO_EXPORTER_LEGACY_METRICS", "true")
        monkeypatch.setenv("TAPO_EXPORTER_TIMEOUT", "2")
        monkeypatch.setenv("TAPO_EXPORTER_DISCOVERY_OPTIONS__INTERVAL", "600")
        settings = load_tapo_settings({"tapo_plug_devices": "a:9999, [fe80::1]"})
        targets = settings.targets()
        assert [t.name for t in targets] == ["a:9999", "[fe80::1]"]
        assert {(t.refresh_interval, t.timeout, t.legacy_metrics) for t in targets} == {
            (60.0, 2.0, True)
        }
        assert settings.discovery_options.interval == 600


class TestDiscoveryTarget:
    @pytest.mark.parametrize("target", ["255.255.255.255", "192.168.1.255", "lan"])
    def test_ipv4_or_name(self, target):
        """Discovery goes to a broadcast, a plug's IPv4 address or a name."""
        assert DiscoveryOptions(target=target).target == target

    @pytest.mark.parametrize(
        ("target", "problem"),
        [
            ("ff02::1", "IPv4 only"),
            ("10.0.0.0/24", "invalid address"),
            ("bcast_lan", "invalid address"),
            (" 10.0.0.255", "invalid address"),
        ],
    )
    def test_refused(self, target, problem):
        """IPv6, subnets and malformed names are refused, saying why."""
        with pytest.raises(ValidationError, match=problem):
            DiscoveryOptions(target=target)
