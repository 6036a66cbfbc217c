"""One model, one truth: CHAOS's served settings schema accepts what validation does.

The walk over every leaf is ``schema_truth``'s; here are CHAOS's base settings,
its credential rules (a login or an account, each with its password: refused by
the model as a whole and named in the schema's description), the string rules
(control login, account number, API URL) and the YAML file and environment that
must still load.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import yaml

from exporterhub.core.address import HTTP_URL_PATTERN, MAX_URL_LENGTH
from exporterhub.core.config import validate_model
from exporterhub.exporters.chaos.environ import ChaosExporterSettings
from exporterhub.exporters.chaos.plugin import PLUGIN
from exporterhub.exporters.chaos.settings import ChaosSection

from ..schema_truth import SchemaTruthTests, Truth, pytest_generate_tests

__all__ = ["pytest_generate_tests"]

BASE = {"control_login": "exmpl@a", "control_password": "pw"}
TRUTH = Truth(PLUGIN.stored, BASE)  # type: ignore[attr-defined]
RULES = (
    "set control_login (preferred) or account_number",
    "control_login needs control_password",
    "account_number needs account_password",
)


class TestSchemaTruth(SchemaTruthTests):
    truth = TRUTH


def refused_at(doc: dict, field: str) -> None:
    """The model refuses ``doc`` at ``field`` and the schema refuses it too."""
    errors = TRUTH.refusal(doc)
    assert errors is not None, doc
    assert [".".join(map(str, e["loc"])) for e in errors] == [field], errors
    assert not TRUTH.schema_accepts(doc), doc


def accepted(doc: dict) -> None:
    assert TRUTH.refusal(doc) is None, doc
    assert TRUTH.schema_accepts(doc), doc


class TestStrings:
    @pytest.mark.parametrize(
        "login", ["exmpl@a", "abc@a.1", "a.b-c_d@a", "ABC123@a", "x" * 64 + "@a"]
    )
    def test_logins(self, login):
        """A control login is ``name@realm``; a per-line login is one too."""
        accepted(BASE | {"control_login": login})

    @pytest.mark.parametrize(
        "login",
        [
            "abc",
            "@a",
            "abc@",
            "abc@@a",
            "a@b@c",
            " abc@a",
            "abc@a ",
            "a bc@a",
            "abc@a\n",
            "abc@a\x00",
            "äbc@a",
            "abc@.a",
            "x" * 200 + "@a",
        ],
    )
    def test_bad_logins(self, login):
        """Anything not shaped like ``abc@a`` is refused by the model and schema."""
        refused_at(BASE | {"control_login": login}, "control_login")

    @pytest.mark.parametrize("number", ["A1234A", "a1234a", "12345"])
    def test_account_numbers(self, number):
        """An account number is letters and digits."""
        accepted({"account_number": number, "account_password": "pw"})

    @pytest.mark.parametrize(
        "number", [" A1234A", "A1234A ", "A-1234", "A1234A\n", "A" * 40]
    )
    def test_bad_account_numbers(self, number):
        """Spaces, punctuation and control characters are refused by both."""
        doc = {"account_number": number, "account_password": "pw"}
        refused_at(doc, "account_number")

    def test_api_url_states_its_rule(self):
        """The URL's schema carries the pattern and length the model applies."""
        url = TRUTH.schema["properties"]["api_url"]
        assert url["pattern"] == HTTP_URL_PATTERN
        assert url["maxLength"] == MAX_URL_LENGTH

    @pytest.mark.parametrize(
        "url",
        [
            "http://[::1",
            "https://h?x=1",
            "https://user:pw@h",
            "https://h:0",
            "https:// h",
            "ftp://h",
            "https://h/a b",
        ],
    )
    def test_bad_urls(self, url):
        """What httpx cannot use, or a base that cannot take a path, is refused
        by both (the old pattern let the schema accept some of them)."""
        refused_at(BASE | {"api_url": url}, "api_url")

    @pytest.mark.parametrize(
        ("url", "kept"),
        [
            ("https://chaos2.aa.net.uk/", "https://chaos2.aa.net.uk"),
            ("http://127.0.0.1:8099", "http://127.0.0.1:8099"),
            ("http://[::1]:8099/chaos//", "http://[::1]:8099/chaos"),
        ],
    )
    def test_urls(self, url, kept):
        """A URL the schema accepts is accepted, its trailing slashes dropped."""
        accepted(BASE | {"api_url": url})
        target = PLUGIN.stored.target("t", BASE | {"api_url": url})  # type: ignore[attr-defined]
        assert target.settings.api_url == kept
        assert httpx.URL(kept + "/broadband/info/json").host


class TestCrossFieldRules:
    @pytest.mark.parametrize(
        ("doc", "rule"),
        [
            pytest.param({}, RULES[0], id="nothing"),
            pytest.param({"control_login": "a@a"}, RULES[1], id="no-password"),
            pytest.param({"account_number": "A1234A"}, RULES[2], id="no-account-pw"),
        ],
    )
    def test_refused_as_a_whole(self, doc, rule):
        """Each credential rule is the model's: the schema accepts, the model
        refuses the settings as a whole, and the description names the rule."""
        assert TRUTH.schema_accepts(doc)
        errors = TRUTH.refusal(doc)
        assert errors is not None
        assert [e["loc"] for e in errors] == [()]
        assert rule in errors[0]["msg"]
        assert rule in TRUTH.schema["description"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("enable_telephony", 1, id="int-flag"),
            pytest.param("enable_broadband", "yes", id="string-flag"),
            pytest.param("concurrency", True, id="bool-int"),
            pytest.param("fast_interval", "60", id="string-float"),
            pytest.param("ratecard_rates", "UK", id="string-list"),
        ],
    )
    def test_lax_values_are_refused_by_both(self, field, value):
        """JSON's types as the schema states them: no coercion."""
        refused_at(BASE | {field: value}, field)


class TestStillLoads:
    def test_yaml_section(self, tmp_path: Path):
        """A hand-written section with yes/no flags and ints for floats loads."""
        text = (
            "targets:\n"
            "  - control_login: exmpl@a\n"
            "    control_password: pw\n"
            "    enable_telephony: yes\n"
            "    enable_broadband: off\n"
            "    fast_interval: 30\n"
            "    concurrency: 4.0\n"
            "    api_url: http://127.0.0.1:8099/\n"
            "    ratecard_rates: [UK, Mobile]\n"
            "  - {account_number: A1234A, account_password: pw2, mode: per_service}\n"
        )
        section = validate_model(ChaosSection, yaml.safe_load(text), source="c.yaml")
        first, second = section.targets
        assert (first.name, first.enable_telephony, first.enable_broadband) == (
            "exmpl@a",
            True,
            False,
        )
        assert (first.fast_interval, first.concurrency) == (30.0, 4)
        assert first.api_url == "http://127.0.0.1:8099"
        assert first.ratecard_rates == ("UK", "Mobile")
        assert (second.name, second.mode) == ("A1234A", "per_service")

    def test_environment_strings_reach_the_target(self, monkeypatch):
        """AAISP_EXPORTER_* values arrive as strings; the command parses them."""
        for name in list(os.environ):
            if name.startswith("AAISP_EXPORTER_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("AAISP_EXPORTER_CONTROL_LOGIN", "exmpl@a")
        monkeypatch.setenv("AAISP_EXPORTER_CONTROL_PASSWORD", "pw")
        monkeypatch.setenv("AAISP_EXPORTER_ENABLE_BROADBAND", "false")
        monkeypatch.setenv("AAISP_EXPORTER_COLLECTORS__ENABLE_TELEPHONY", "1")
        monkeypatch.setenv("AAISP_EXPORTER_INTERVALS__FAST", "30")
        monkeypatch.setenv("AAISP_EXPORTER_API__CONCURRENCY_LIMIT", "4")
        target = ChaosExporterSettings().target()
        assert (target.enable_broadband, target.enable_telephony) == (False, True)
        assert (target.fast_interval, target.concurrency) == (30.0, 4)
