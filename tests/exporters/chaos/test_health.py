"""Per-login health book, the per-line login hint, and forgetting a login's series."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from exporterhub.exporters.chaos.health import HealthBook, line_login_hint
from exporterhub.exporters.chaos.instruments import ChaosInstruments


class TestLineLoginHint:
    @pytest.mark.parametrize(
        ("login", "bare"),
        [
            pytest.param("abc@a.1", "abc@a", id="first-line"),
            pytest.param("x.y@a.12", "x.y@a", id="dotted-name"),
        ],
    )
    def test_line_logins_get_the_bare_login(self, login, bare):
        """A login ending in .<digits> gets a hint naming the bare login."""
        hint = line_login_hint(login)
        assert hint is not None
        assert hint.startswith(f"{login} looks like a per-line")
        assert hint.endswith(f": {bare}")

    @pytest.mark.parametrize(
        "login",
        [
            pytest.param("abc@a", id="control-login"),
            pytest.param("A1234A", id="account"),
            pytest.param("abc@a.b", id="dotted-realm"),
            pytest.param("", id="empty"),
        ],
    )
    def test_other_logins_get_none(self, login):
        """Control logins, account numbers and other realms get no hint."""
        assert line_login_hint(login) is None


class TestHealthBook:
    def test_entry_reports_last_success_and_error(self):
        """A login's entry shows each collector's last success and error kind."""
        book = HealthBook()
        entry = book.add("a", "a@a", ["broadband_info", "broadband_quota"], owner=1)
        entry.succeeded("broadband_info", 100.0)
        entry.failed("broadband_quota", "timeout", 101.0)
        entry.paused_until = 50.0  # already over at now=102
        fields = book.fields(102.0)["chaos"]["logins"]["a"]
        assert fields["ok"] is False
        assert fields["paused_until"] is None
        assert fields["collectors"]["broadband_info"] == {
            "ok": True,
            "last_success": 100.0,
            "last_error": None,
            "last_error_at": None,
        }
        assert fields["collectors"]["broadband_quota"]["last_error"] == "timeout"
        assert "hint" not in fields

    def test_only_the_owner_removes_an_entry(self):
        """A replaced worker's exit leaves its successor's entry alone."""
        book = HealthBook()
        book.add("a", "a@a", [], owner="old")
        book.add("a", "a@a", [], owner="new")
        assert book.remove("a", "old") is False
        assert "a" in book.logins
        assert book.remove("a", "new") is True
        assert book.logins == {}

    def test_one_book_per_registry(self):
        """Two hubs (registries) never share logins."""
        one, two = CollectorRegistry(), CollectorRegistry()
        assert HealthBook.for_registry(one) is HealthBook.for_registry(one)
        assert HealthBook.for_registry(one) is not HealthBook.for_registry(two)


class TestForget:
    def test_forget_drops_only_that_logins_series(self):
        """A stopped login's series go; the other login's stay."""
        registry = CollectorRegistry()
        instruments = ChaosInstruments.for_registry(registry)
        instruments.precreate("a", ["broadband_info"])
        instruments.precreate("b", ["broadband_info"])
        instruments.last_success.labels("a", "broadband_info").set(1)
        instruments.requests.labels("a", "broadband", "info", "200").inc()
        instruments.forget("a")

        def errors(target: str) -> float | None:
            return registry.get_sample_value(
                "aaisp_collector_errors_total",
                {
                    "target": target,
                    "collector_name": "broadband_info",
                    "subsystem": "broadband",
                    "error_type": "auth",
                },
            )

        assert errors("a") is None
        assert errors("b") == 0.0
        assert (
            registry.get_sample_value(
                "aaisp_exporter_last_successful_collection_timestamp",
                {"target": "a", "collector_name": "broadband_info"},
            )
            is None
        )
