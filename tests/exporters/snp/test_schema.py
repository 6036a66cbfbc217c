"""One model, one truth: SNP's served settings schema accepts what validation does.

The walk over every leaf is ``schema_truth``'s; here are an SNP connection's base
settings, its cross-field rules (TLS options, the reconnect cap: refused by the
model as a whole and named in the schema's description) and its string rules
(URLs, subscription entries, fingerprint).
"""

from __future__ import annotations

import pytest

from exporterhub.core.address import HTTP_URL_PATTERN
from exporterhub.exporters.snp.plugin import PLUGIN
from exporterhub.exporters.snp.settings import FINGERPRINT_PATTERN, WS_URL_PATTERN

from ..schema_truth import SchemaTruthTests, Truth, pytest_generate_tests

__all__ = ["pytest_generate_tests"]

BASE = {
    "restapi": "https://192.0.2.21:9089/api/auth",
    "websocket": "wss://192.0.2.21/smm",
    "username": "monitor",
    "password": "example-only-password",
}
TRUTH = Truth(PLUGIN.stored, BASE, ordered=[("interval", "reconnect_max")])
PIN = "AB" * 32
RULES = (
    "legacy_tls goes with tls_verify false and no ca_file or tls_fingerprint",
    "ca_file and tls_fingerprint need tls_verify",
    "ca_file and tls_fingerprint exclude each other",
    "reconnect_max must be >= interval",
)


class TestSchemaTruth(SchemaTruthTests):
    truth = TRUTH


def refused_at(doc: dict, field: str) -> None:
    """The model refuses ``doc`` at ``field`` and the schema refuses it too."""
    errors = TRUTH.refusal(doc)
    assert errors is not None, doc
    located = [".".join(map(str, e["loc"])) for e in errors]
    assert located, errors
    assert all(loc.startswith(field) for loc in located), errors
    assert not TRUTH.schema_accepts(doc), doc


def accepted(doc: dict) -> None:
    assert TRUTH.refusal(doc) is None, doc
    assert TRUTH.schema_accepts(doc), doc


class TestStrings:
    def test_patterns_are_the_rules(self):
        """The URL and fingerprint schemas carry the patterns the model applies."""
        props = TRUTH.schema["properties"]
        assert props["restapi"]["pattern"] == HTTP_URL_PATTERN
        assert props["websocket"]["pattern"] == WS_URL_PATTERN
        fingerprint = props["tls_fingerprint"]["anyOf"][0]
        assert fingerprint["pattern"] == FINGERPRINT_PATTERN

    @pytest.mark.parametrize(
        "url", ["ws://127.0.0.1:8765/smm", "wss://snp.example/smm", "wss://[::1]/smm"]
    )
    def test_websocket_urls(self, url):
        """ws:// and wss:// URLs with a host, port and path are accepted."""
        accepted(BASE | {"websocket": url})

    @pytest.mark.parametrize(
        "url",
        ["https://h/smm", "ws://h/smm?x=1", "ws://user@h/smm", "ws:// h", "ws://h:0"],
    )
    def test_bad_websocket_urls(self, url):
        """Another scheme, a query, a user or a bad port is refused by both."""
        refused_at(BASE | {"websocket": url}, "websocket")

    @pytest.mark.parametrize("url", ["wss://h/api/auth", "https://h/api/auth?x"])
    def test_bad_rest_urls(self, url):
        """The login URL is http(s) without a query."""
        refused_at(BASE | {"restapi": url}, "restapi")

    @pytest.mark.parametrize(
        "entry",
        [
            {"objectType": "ptp", "elementIP": "10.0.0.300"},
            {"objectType": "proc Channel"},
            {"objectType": "procChannelHD", "objectId": "A HD 1"},
            {"objectType": "ptp", "elementIp": "127.0.0.1"},
            {"elementIP": "127.0.0.1"},
        ],
    )
    def test_bad_subscription_entries(self, entry):
        """A subscription entry is spelled as the wire spells it, with sane values."""
        refused_at(BASE | {"objects_ids": [entry]}, "objects_ids")

    def test_empty_subscription_is_refused(self):
        """An SNP sends nothing without a subscription: at least one entry."""
        refused_at(BASE | {"objects_ids": []}, "objects_ids")

    @pytest.mark.parametrize("pin", [PIN, ":".join(["ab"] * 32)])
    def test_fingerprints(self, pin):
        """A SHA-256 fingerprint is 64 hex digits, bare or in colon pairs."""
        accepted(BASE | {"tls_fingerprint": pin})

    @pytest.mark.parametrize("pin", ["AB" * 31, "GG" * 32, "AB:" * 32])
    def test_bad_fingerprints(self, pin):
        """Anything else is refused by both."""
        refused_at(BASE | {"tls_fingerprint": pin}, "tls_fingerprint")

    @pytest.mark.parametrize("frequency", [1500, 999, 0])
    def test_frequency_is_whole_seconds(self, frequency):
        """The SNP takes multiples of 1000 ms only (§4.2)."""
        refused_at(BASE | {"frequency": frequency}, "frequency")

    def test_username_has_no_control_characters(self):
        """A user name with a newline is refused by both."""
        refused_at(BASE | {"username": "mon\nitor"}, "username")


class TestCrossFieldRules:
    @pytest.mark.parametrize(
        ("doc", "rule"),
        [
            pytest.param({"legacy_tls": True}, RULES[0], id="legacy-verifying"),
            pytest.param(
                {"legacy_tls": True, "tls_verify": False, "ca_file": "/ca.pem"},
                RULES[0],
                id="legacy-ca",
            ),
            pytest.param(
                {"tls_verify": False, "tls_fingerprint": PIN}, RULES[1], id="pin-off"
            ),
            pytest.param(
                {"ca_file": "/ca.pem", "tls_fingerprint": PIN}, RULES[2], id="both"
            ),
            pytest.param(
                {"interval": 30, "reconnect_max": 10}, RULES[3], id="cap-below-base"
            ),
        ],
    )
    def test_refused_as_a_whole(self, doc, rule):
        """Each rule is the model's: the schema accepts, the model refuses the
        settings as a whole, and the description names the rule."""
        doc = BASE | doc
        assert TRUTH.schema_accepts(doc)
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [()]
        assert rule in errors[0]["msg"]
        assert rule in TRUTH.schema["description"]

    def test_legacy_connection(self):
        """A migrated connection: verification off, marked legacy."""
        accepted(BASE | {"legacy_tls": True, "tls_verify": False})
