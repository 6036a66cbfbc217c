"""One model, one truth: PHD2's served settings schema accepts what validation does.

The walk over every leaf is ``schema_truth``'s; here are PHD2's base settings,
its one cross-field rule (``reconnect_max >= reconnect_initial``, refused by the
model as a whole and named in the schema's description), the host rule, and
the YAML file and environment that must still load.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from exporterhub.core.address import HOST_PATTERN, MAX_HOST_LENGTH
from exporterhub.core.config import validate_model
from exporterhub.exporters.phd2.plugin import PLUGIN
from exporterhub.exporters.phd2.settings import Phd2ExporterSettings, Phd2Section

from ..schema_truth import SchemaTruthTests, Truth, pytest_generate_tests

__all__ = ["pytest_generate_tests"]

BASE = {"host": "phd2.example", "port": 4401, "rms_samples": 50}
TRUTH = Truth(
    PLUGIN.stored,  # type: ignore[attr-defined]
    BASE,
    ordered=[("reconnect_initial", "reconnect_max")],
)


class TestSchemaTruth(SchemaTruthTests):
    truth = TRUTH


class TestRules:
    def test_host_states_its_rule(self):
        """The host's schema carries the pattern and length the model applies."""
        host = TRUTH.schema["properties"]["host"]
        assert host["pattern"] == HOST_PATTERN
        assert host["maxLength"] == MAX_HOST_LENGTH

    @pytest.mark.parametrize(
        "host",
        ["", " 127.0.0.1", "127.0.0.1 ", "phd2_rig", "[::1]", "rig\n", "1.2.3.04"],
    )
    def test_bad_hosts_are_refused_by_both(self, host):
        """What the model refuses as a host, the schema refuses too."""
        doc = BASE | {"host": host}
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [("host",)]
        assert not TRUTH.schema_accepts(doc)

    @pytest.mark.parametrize("host", ["localhost", "192.0.2.1", "::1", "rig.lan"])
    def test_hosts_sockets_take_are_accepted(self, host):
        """Names, IPv4 and bare IPv6 addresses (as sockets take them) pass."""
        doc = BASE | {"host": host}
        assert TRUTH.refusal(doc) is None
        assert TRUTH.schema_accepts(doc)

    def test_reconnect_rule_is_the_model_s_and_described(self):
        """reconnect_max below reconnect_initial is refused at the model level,
        and the schema's description names the rule."""
        doc = BASE | {"reconnect_initial": 60, "reconnect_max": 30}
        assert TRUTH.schema_accepts(doc)
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [()]
        assert "reconnect_max must be >= reconnect_initial" in errors[0]["msg"]
        assert "reconnect_max >= reconnect_initial" in TRUTH.schema["description"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("rms_samples", "50", id="string-int"),
            pytest.param("port", True, id="bool-port"),
            pytest.param("state_interval", "5", id="string-float"),
            pytest.param("rpc_timeout", False, id="bool-float"),
        ],
    )
    def test_lax_values_are_refused_by_both(self, field, value):
        """JSON's types as the schema states them: no strings or booleans."""
        doc = BASE | {field: value}
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [(field,)]
        assert not TRUTH.schema_accepts(doc)


class TestStillLoads:
    def test_yaml_section(self, tmp_path: Path):
        """A hand-written section with ints for floats loads as before."""
        text = (
            "targets:\n"
            "  - {name: main-rig, host: 192.0.2.10, port: 4400}\n"
            "  - host: rig.lan\n"
            "    port: 4401\n"
            "    rms_samples: 50\n"
            "    state_interval: 2\n"
            "    reconnect_initial: 0\n"
            "    reconnect_max: 60.5\n"
            "    max_line_bytes: 2048.0\n"
            "enabled: yes\n"
        )
        data = yaml.safe_load(text)
        section = validate_model(Phd2Section, data, source="phd2.yaml")
        first, second = section.targets
        assert (first.name, first.port) == ("main-rig", 4400)
        assert second.name == "rig.lan:4401"
        assert second.state_interval == 2.0
        assert second.max_line_bytes == 2048
        assert isinstance(second.max_line_bytes, int)

    def test_environment_strings_reach_the_targets(self, monkeypatch):
        """PHD2_EXPORTER_* values arrive as strings; the command parses them."""
        monkeypatch.setenv("PHD2_EXPORTER_RMS_SAMPLES", "50")
        monkeypatch.setenv("PHD2_EXPORTER_PHD2PORT", "4400,4401")
        monkeypatch.setenv("PHD2_EXPORTER_PHD2HOST", "rig.lan")
        targets = Phd2ExporterSettings().targets()
        assert [(t.host, t.port, t.rms_samples) for t in targets] == [
            ("rig.lan", 4400, 50),
            ("rig.lan", 4401, 50),
        ]

    def test_settings_round_trip_through_the_store(self):
        """Stored settings (a dump without the name) validate to the same target."""
        stored = PLUGIN.stored  # type: ignore[attr-defined]
        target = stored.target("rig", copy.deepcopy(BASE))
        again = stored.target("rig", stored.settings(target))
        assert again == target
        assert TRUTH.schema_accepts(stored.settings(target))
