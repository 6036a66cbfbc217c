"""Tests for the chaos metric table rendered through the core exposition."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import Section
from exporterhub.core.metrics import Kind
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.chaos.collector import (
    CHAOS_SPECS,
    PERIODS,
    PREFIX,
    UNAVAILABLE,
)
from exporterhub.exporters.chaos.protocol import (
    InfoLine,
    QuotaLine,
    info_lines,
    login_services,
    quota_lines,
    ratecard,
    services_list,
)
from exporterhub.exporters.chaos.state import ChaosSnapshot, ChaosState
from tests.reference import golden, normalise

FIXTURES = Path(__file__).parents[2] / "fixtures" / "chaos"
NOW = 1_741_615_300.0
TARGET = "exmpl@a"
QUOTA_TIME = 1741615200.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def example_state(*, extras: bool = False) -> ChaosState:
    """The §11 account: services, then info, then quota (start-up order)."""
    state = ChaosState(fast_max_age=120, medium_max_age=600, slow_max_age=1800)
    state.apply_services(services_list(load("broadband_services.json")), NOW)
    state.apply_info(info_lines(load("broadband_info_all.json")), NOW, complete=True)
    state.apply_quota(quota_lines(load("broadband_quota_all.json")), NOW, complete=True)
    if extras:
        state.apply_ratecard(ratecard(load("telephony_ratecard.json")), NOW)
        state.apply_login_services(login_services(load("login_services.json")), NOW)
        state.set_telephony_services(0, NOW)
    return state


def publish(
    snapshot: ChaosSnapshot | None, *, taken_at: float = NOW, max_age: float = 120
) -> tuple[Section, TargetRecord[ChaosSnapshot]]:
    section = Section("chaos", PREFIX, CHAOS_SPECS)
    record: TargetRecord[ChaosSnapshot] = TargetRecord(
        name=TARGET,
        identity=(("target", TARGET),),
        data=snapshot,
        taken_at=taken_at,
        max_age=max_age,
        link=LinkState.CONNECTED,
        healthy=True,
        last_success=taken_at,
    )
    section.publish(record)
    return section, record


def render(section: Section, openmetrics: bool = False, now: float = NOW) -> str:
    body = b"".join(section.render(now, openmetrics=openmetrics))
    if openmetrics:
        body += b"# EOF\n"
    return body.decode()


def values(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parse_text(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset({"target": TARGET, **labels}.items())))


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample, labels in samples if sample == name]


LOGINS = {"40211": "exmpl@a.1", "40212": "exmpl@a.2", "40213": "exmpl@a.3"}

# The table of protocols/chaos.md §11; None = absent.
WORKED_EXAMPLE: dict[str, dict[str, float | None]] = {
    "aaisp_broadband_quota_total_bytes": {
        "40211": None,
        "40212": 500000000000,
        "40213": 100000000000,
    },
    "aaisp_broadband_quota_remaining_bytes": {
        "40211": None,
        "40212": 611402873310,
        "40213": 37654120448,
    },
    "aaisp_broadband_quota_used_bytes": {
        "40211": None,
        "40212": 0,
        "40213": 62345879552,
    },
    "aaisp_broadband_quota_percentage": {
        "40211": None,
        "40212": 0,
        "40213": 62.345879552,
    },
    "aaisp_broadband_quota_timestamp_seconds": {
        "40211": None,
        "40212": 1741615200,
        "40213": 1741615200,
    },
    "aaisp_broadband_line_sync_download_bps": {
        "40211": 1000000000,
        "40212": 67496000,
        "40213": None,
    },
    "aaisp_broadband_line_sync_upload_bps": {
        "40211": 115000000,
        "40212": 19987000,
        "40213": None,
    },
    "aaisp_broadband_line_sync_download_adjusted_bps": {
        "40211": 944960000,
        "40212": 64121000,
        "40213": None,
    },
    "aaisp_broadband_service_up": {"40211": 1, "40212": 1, "40213": 1},
}


class TestWorkedExample:
    @pytest.mark.parametrize("name", list(WORKED_EXAMPLE))
    def test_values(self, name):
        """Each §11 series has the table's value per line, or is absent."""
        section, _ = publish(example_state().snapshot(NOW))
        samples = values(render(section))
        for service, expected in WORKED_EXAMPLE[name].items():
            got = value(samples, name, service=service, login=LOGINS[service])
            if expected is None:
                assert got is None, (name, service)
                assert not [s for s in series(samples, name) if s["service"] == service]
            else:
                assert got == pytest.approx(expected, rel=1e-9, abs=0), (name, service)

    def test_service_info(self):
        """service_info carries login and stripped postcode, empty for the tunnel."""
        section, _ = publish(example_state().snapshot(NOW))
        samples = values(render(section))
        rows = sorted(
            (s["service"], s["login"], s["postcode"])
            for s in series(samples, "aaisp_broadband_service_info")
        )
        assert rows == [
            ("40211", "exmpl@a.1", "ZZ1 1AA"),
            ("40212", "exmpl@a.2", "ZZ1 1AA"),
            ("40213", "exmpl@a.3", ""),
        ]
        assert {
            v for (n, _), v in samples.items() if n == "aaisp_broadband_service_info"
        } == {1.0}

    def test_no_control_login_label(self):
        """No series carries login="exmpl@a" and every line series has a login."""
        section, _ = publish(example_state(extras=True).snapshot(NOW))
        samples = values(render(section))
        for name, labels in samples:
            got = dict(labels)
            assert got.get("login") != TARGET, name
            assert got["target"] == TARGET
            if "service" in got:
                assert got["login"] == LOGINS[got["service"]]

    def test_quota_before_info_is_absent(self):
        """Quota answered before any info answer produces no quota series."""
        state = ChaosState(fast_max_age=120, medium_max_age=600, slow_max_age=1800)
        state.apply_quota(
            quota_lines(load("broadband_quota_all.json")), NOW, complete=True
        )
        section, _ = publish(state.snapshot(NOW))
        names = {name for name, _ in values(render(section))}
        assert not {n for n in names if n.startswith("aaisp_broadband_")}

    def test_failed_line_without_info(self):
        """A line failing before any info shows service_up 0 with an empty login."""
        state = ChaosState(fast_max_age=120, medium_max_age=600, slow_max_age=1800)
        state.service_failed("40299", NOW)
        section, _ = publish(state.snapshot(NOW))
        samples = values(render(section))
        assert series(samples, "aaisp_broadband_service_up") == [
            {"target": TARGET, "service": "40299", "login": ""}
        ]
        assert (
            value(samples, "aaisp_broadband_service_up", service="40299", login="") == 0
        )
        assert series(samples, "aaisp_broadband_service_info") == []

    def test_negative_remaining(self):
        """Negative remaining gives used above the total and a percentage over 100."""
        state = ChaosState(fast_max_age=120, medium_max_age=600, slow_max_age=1800)
        state.apply_info([InfoLine(service_id="1", login="a@a.1")], NOW, complete=True)
        state.apply_quota(
            [QuotaLine(service_id="1", quota_monthly=100, quota_remaining=-50)],
            NOW,
            complete=True,
        )
        samples = values(render(publish(state.snapshot(NOW))[0]))
        labels = {"service": "1", "login": "a@a.1"}
        assert value(samples, "aaisp_broadband_quota_used_bytes", **labels) == 150.0
        assert value(samples, "aaisp_broadband_quota_percentage", **labels) == 150.0
        assert value(samples, "aaisp_broadband_quota_remaining_bytes", **labels) == -50
        assert series(samples, "aaisp_broadband_quota_timestamp_seconds") == []

    def test_quota_without_remaining(self):
        """A quota line without remaining keeps only its total."""
        state = ChaosState(fast_max_age=120, medium_max_age=600, slow_max_age=1800)
        state.apply_info(
            [InfoLine(service_id="1", login="a@a.1", quota_monthly=100)],
            NOW,
            complete=True,
        )
        samples = values(render(publish(state.snapshot(NOW))[0]))
        assert (
            value(
                samples, "aaisp_broadband_quota_total_bytes", service="1", login="a@a.1"
            )
            == 100.0
        )
        for name in (
            "aaisp_broadband_quota_remaining_bytes",
            "aaisp_broadband_quota_used_bytes",
            "aaisp_broadband_quota_percentage",
        ):
            assert series(samples, name) == [], name


class TestOptionalRows:
    def test_absent_by_default(self):
        """Without the optional collectors there are no rate card or login rows."""
        samples = values(render(publish(example_state().snapshot(NOW))[0]))
        names = {name for name, _ in samples}
        assert not {n for n in names if n.startswith("aaisp_telephony_")}
        assert "aaisp_login_info" not in names
        assert series(samples, "aaisp_login_services_total") == [
            {"target": TARGET, "subsystem": "broadband"}
        ]

    def test_ratecard_and_login(self):
        """Rate card prices per period, minimum charge, prefixes and logins render."""
        snapshot = example_state(extras=True).snapshot(NOW)
        samples = values(render(publish(snapshot)[0]))
        ppm = "aaisp_telephony_rate_pence_per_minute"
        assert value(samples, ppm, rate="UK", period="peak") == 1.0
        assert value(samples, ppm, rate="UK", period="offpeak") == 0.5
        assert value(samples, ppm, rate="North America", period="weekend") == 1.5
        assert len(series(samples, ppm)) == 5 * len(PERIODS)
        assert value(samples, "aaisp_telephony_rate_min_charge_pence", rate="UK") == 0
        assert value(samples, "aaisp_telephony_rate_prefixes", rate="UK") == 3.0
        assert value(samples, "aaisp_telephony_rate_prefixes", rate="Ireland") == 1.0
        assert value(samples, "aaisp_login_info", control_login=TARGET) == 1.0
        counts = {
            s["subsystem"]: value(samples, "aaisp_login_services_total", **s)
            for s in series(samples, "aaisp_login_services_total")
        }
        assert counts == {
            "broadband": 3.0,
            "login": 1.0,
            "telephony": 0.0,
        }

    def test_unknown_prices_are_absent(self):
        """A rate known only from prefix codes has a prefix row and no prices."""
        state = example_state()
        state.apply_ratecard(
            ratecard({"rate_card": {"codes": {"code": [{"rate": "Q"}]}}}), NOW
        )
        samples = values(render(publish(state.snapshot(NOW))[0]))
        assert series(samples, "aaisp_telephony_rate_pence_per_minute") == []
        assert series(samples, "aaisp_telephony_rate_min_charge_pence") == []
        assert value(samples, "aaisp_telephony_rate_prefixes", rate="Q") == 1.0


class TestStale:
    def test_stale_record_keeps_service_info(self):
        """Past max_age only service_info and the health rows remain."""
        section, _ = publish(
            example_state(extras=True).snapshot(NOW), taken_at=NOW - 600
        )
        samples = values(render(section))
        names = {name for name, _ in samples}
        assert names == {
            "aaisp_broadband_service_info",
            "aaisp_up",
            "aaisp_last_success_timestamp_seconds",
            "aaisp_exporter_reconnects_total",
            "aaisp_exporter_link_state",
        }
        assert value(samples, "aaisp_up") == 0.0
        assert len(series(samples, "aaisp_broadband_service_info")) == 3

    def test_no_data_has_health_only(self):
        """A record without data renders only the core's health rows."""
        section, _ = publish(None)
        names = {name for name, _ in values(render(section))}
        assert all(
            not n.startswith(("aaisp_broadband", "aaisp_telephony")) for n in names
        )
        assert "aaisp_up" in names


QUOTA_FAMILIES = (
    "aaisp_broadband_quota_total_bytes",
    "aaisp_broadband_quota_remaining_bytes",
    "aaisp_broadband_quota_used_bytes",
    "aaisp_broadband_quota_percentage",
    "aaisp_broadband_quota_timestamp_seconds",
)
SYNC_FAMILIES = (
    "aaisp_broadband_line_sync_download_bps",
    "aaisp_broadband_line_sync_upload_bps",
    "aaisp_broadband_line_sync_download_adjusted_bps",
)


class TestAgeingAtRenderTime:
    """One snapshot, rendered later: each tier's rows go at their own age.

    The record's max age is the plugin's (2 x the slow interval), so anything that
    goes earlier goes because the snapshot's parts expired, not the record.
    """

    def test_quota_goes_at_fast_max_age_and_up_drops(self):
        """At 120 s quota rows and up=1 are shown; just past it both are gone."""
        section, _ = publish(example_state().snapshot(NOW), max_age=1800)
        at_age = values(render(section, now=NOW + 120))
        assert value(at_age, "aaisp_up") == 1.0
        assert value(
            at_age, "aaisp_broadband_quota_remaining_bytes",
            service="40213", login="exmpl@a.3",
        ) == 37_654_120_448  # fmt: skip
        past = values(render(section, now=NOW + 120.5))
        for name in QUOTA_FAMILIES:
            assert series(past, name) == [], name
        assert value(past, "aaisp_up") == 0.0
        assert value(
            past, "aaisp_broadband_line_sync_download_bps",
            service="40211", login="exmpl@a.1",
        ) == 1_000_000_000  # fmt: skip
        assert len(series(past, "aaisp_broadband_service_up")) == 3
        assert len(series(past, "aaisp_broadband_service_info")) == 3
        assert value(past, "aaisp_last_success_timestamp_seconds") == NOW

    def test_sync_rates_and_service_up_go_at_medium_max_age(self):
        """Past 600 s sync rows and service_up go; service_info and counts stay."""
        section, _ = publish(example_state(extras=True).snapshot(NOW), max_age=1800)
        assert series(values(render(section, now=NOW + 600)), SYNC_FAMILIES[0])
        past = values(render(section, now=NOW + 600.5))
        for name in (*SYNC_FAMILIES, "aaisp_broadband_service_up"):
            assert series(past, name) == [], name
        assert len(series(past, "aaisp_broadband_service_info")) == 3
        assert value(past, "aaisp_login_services_total", subsystem="broadband") == 3
        assert series(past, "aaisp_telephony_rate_pence_per_minute")
        assert value(past, "aaisp_up") == 0.0

    def test_slow_extras_go_at_slow_max_age(self):
        """Past 1800 s the rate card, logins and counts go; service_info stays."""
        section, _ = publish(example_state(extras=True).snapshot(NOW), max_age=3600)
        assert series(values(render(section, now=NOW + 1800)), "aaisp_login_info")
        past = values(render(section, now=NOW + 1800.5))
        for name in (
            "aaisp_telephony_rate_pence_per_minute",
            "aaisp_telephony_rate_min_charge_pence",
            "aaisp_telephony_rate_prefixes",
            "aaisp_login_info",
            "aaisp_login_services_total",
        ):
            assert series(past, name) == [], name
        assert len(series(past, "aaisp_broadband_service_info")) == 3


class TestTableRules:
    def test_fixed_names_present(self):
        """Every §8.1 requirement name and the two new metrics are in the table."""
        names = [spec.name for spec in CHAOS_SPECS]
        assert names[:10] == [
            "aaisp_broadband_service_info",
            "aaisp_broadband_service_up",
            "aaisp_broadband_quota_total_bytes",
            "aaisp_broadband_quota_remaining_bytes",
            "aaisp_broadband_quota_used_bytes",
            "aaisp_broadband_quota_percentage",
            "aaisp_broadband_quota_timestamp_seconds",
            "aaisp_broadband_line_sync_download_bps",
            "aaisp_broadband_line_sync_upload_bps",
            "aaisp_broadband_line_sync_download_adjusted_bps",
        ]
        assert "aaisp_up" not in names
        assert "aaisp_login_services_total" in names

    def test_labels_and_kinds(self):
        """Per-line rows use service and login; only service_info survives staleness."""
        for spec in CHAOS_SPECS:
            assert re.fullmatch(r"aaisp_[a-z0-9_]+", spec.name), spec.name
            assert "target" not in spec.labels
            if spec.name.startswith("aaisp_broadband_"):
                assert spec.labels[:2] == ("service", "login"), spec.name
            assert spec.kind is not Kind.COUNTER
            assert spec.name.endswith("_info") == (spec.kind is Kind.INFO)
        kept = [spec.name for spec in CHAOS_SPECS if spec.keep_when_stale]
        assert kept == ["aaisp_broadband_service_info"]
        login_total = next(
            s for s in CHAOS_SPECS if s.name == "aaisp_login_services_total"
        )
        assert login_total.kind is Kind.GAUGE

    def test_help_is_one_sentence(self):
        """Every HELP is one line ending in a full stop and names its source."""
        for spec in CHAOS_SPECS:
            assert spec.help.endswith("."), spec.name
            assert "\n" not in spec.help
            assert re.search(r"broadband/|telephony/|login/", spec.help), spec.name

    def test_unavailable_list(self):
        """UNAVAILABLE names every §8.1 metric and label CHAOS cannot give."""
        names = {name for name, _ in UNAVAILABLE}
        for required in (
            "aaisp_broadband_throughput_download_bps",
            "aaisp_broadband_throughput_upload_bps",
            "aaisp_broadband_line_state",
            "label line_type",
            "label package",
            "label care_level",
            "label router_type",
            "label ipv4_address",
            "label ipv6_prefix",
        ):
            assert required in names
        assert all(why.endswith(".") for _, why in UNAVAILABLE)
        assert not names & {spec.name for spec in CHAOS_SPECS}


class TestPromtool:
    def test_promtool_on_render(self):
        """promtool's only complaint is the requirement-fixed gauge ending _total."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail(
                "promtool is missing; install Debian's package: "
                "apt-get install prometheus"
            )
        section, _ = publish(example_state(extras=True).snapshot(NOW))
        result = subprocess.run(  # noqa: S603 - fixed binary, our own text
            [promtool, "check", "metrics"],
            input=render(section).encode(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        output = (result.stdout + result.stderr).decode().strip().splitlines()
        assert output == [
            'aaisp_login_services_total non-counter metrics should not have "_total" '
            "suffix"
        ]


@pytest.mark.parametrize(
    ("extras", "taken_at"),
    [
        pytest.param(True, NOW, id="fresh-extras"),
        pytest.param(False, NOW, id="fresh"),
        pytest.param(True, NOW - 600, id="stale"),
    ],
)
class TestGolden:
    def test_text_format_matches_prometheus_client(self, extras, taken_at):
        """The cached text render parses identically to prometheus_client's."""
        snapshot = example_state(extras=extras).snapshot(NOW)
        section, record = publish(snapshot, taken_at=taken_at)
        fresh = taken_at == NOW
        ours = normalise(list(parse_text(render(section))))
        theirs = normalise(list(parse_text(golden(section, record, fresh, om=False))))
        assert ours == theirs
        assert len(ours) > (12 if fresh else 4)

    def test_openmetrics_matches_prometheus_client(self, extras, taken_at):
        """The OpenMetrics render parses identically to prometheus_client's."""
        snapshot = example_state(extras=extras).snapshot(NOW)
        section, record = publish(snapshot, taken_at=taken_at)
        fresh = taken_at == NOW
        ours = normalise(list(parse_openmetrics(render(section, openmetrics=True))))
        theirs = normalise(
            list(parse_openmetrics(golden(section, record, fresh, om=True)))
        )
        assert ours == theirs
        names = {name for name, *_ in ours}
        assert "aaisp_broadband_service" in names
        assert ("aaisp_broadband_quota_total_bytes" in names) == fresh
        assert ("aaisp_login" in names) == (fresh and extras)
