"""Tests of StoredKind with every exporter's real settings model."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from exporterhub.core.kinds import StoredKind
from exporterhub.exporters import KINDS, load_plugin

SAMPLES = {
    "phd2": {"host": "192.0.2.10", "port": 4401, "rms_samples": 50},
    "chaos": {"control_login": "exmpl@a", "control_password": SecretStr("pw")},
    "starlink": {"config": {"mode": "simulation", "seed": 7}},
    "tapo": {
        "device": {"host": "192.0.2.20", "connection_type": "klap"},
        "username": SecretStr("me@example.com"),
        "password": SecretStr("pw"),
    },
    "snp": {
        "restapi": "https://192.0.2.21:9089/api/auth",
        "websocket": "wss://192.0.2.21/smm",
        "username": "monitor",
        "password": SecretStr("pw"),
        "objects_ids": [{"elementIP": "127.0.0.1", "objectType": "ptp"}],
    },
}


def stored(kind: str) -> StoredKind:
    kind_spec: StoredKind = load_plugin(kind).stored  # type: ignore[attr-defined]
    return kind_spec


@pytest.mark.parametrize("kind", KINDS)
class TestEveryKind:
    def test_round_trip(self, kind):
        """settings() of a target validated by target() gives the same target back."""
        spec = stored(kind)
        target = spec.target("my-target", SAMPLES[kind])
        assert (target.kind, target.name) == (kind, "my-target")
        again = spec.target("my-target", spec.settings(target))
        assert again == target

    def test_name_is_not_in_the_settings(self, kind):
        """The stored settings never carry the name; the row's column does."""
        spec = stored(kind)
        settings = spec.settings(spec.target("n", SAMPLES[kind]))
        node = settings
        for part in spec.name_path[:-1]:
            node = node[part]
        assert spec.name_path[-1] not in node

    def test_schema_leaves_the_name_out(self, kind):
        """The form's schema has no name field (it is asked for on its own)."""
        spec = stored(kind)
        schema = spec.schema()
        if spec.name_path == ("name",):
            assert "name" not in schema["properties"]
        assert spec.title
        assert spec.key_metrics

    def test_secrets_stay_secret_objects(self, kind):
        """Secret fields come out as SecretStr, for the store to encrypt."""
        spec = stored(kind)
        settings = spec.settings(spec.target("n", SAMPLES[kind]))
        flat = repr(settings)
        assert "'pw'" not in flat


def test_invalid_settings_name_the_field():
    """A bad value is a pydantic error located at its dotted path."""
    with pytest.raises(ValidationError) as info:
        stored("phd2").target("x", {"port": 70000})
    assert [e["loc"] for e in info.value.errors()] == [("port",)]


def test_plug_schema_hides_what_discovery_sets():
    """Plug forms leave out the MAC discovery pins and YAML-only credential sets."""
    schema = stored("tapo").schema()
    assert "expect_mac" not in schema["properties"]
    device = schema["$defs"]["KasaDevice"]["properties"]
    assert "credentials" not in device
    assert "name" not in device
    assert "host" in device


def test_plug_with_a_credential_set_is_refused():
    """Credential sets live in the YAML file; a stored plug gives its account."""
    with pytest.raises(ValueError, match="credential sets live in the YAML file"):
        stored("tapo").target(
            "p", {"device": {"host": "192.0.2.1", "credentials": "home"}}
        )


def test_plug_without_account_takes_the_environment(monkeypatch):
    """A stored plug with no account uses TP_LINK_USERNAME/PASSWORD, as the CLI."""
    monkeypatch.setenv("TP_LINK_USERNAME", "env@example.com")
    monkeypatch.setenv("TP_LINK_PASSWORD", "env-pw")
    target = stored("tapo").target("p", {"device": {"host": "192.0.2.1"}})
    assert target.settings.username.get_secret_value() == "env@example.com"  # type: ignore[attr-defined]
