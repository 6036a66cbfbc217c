"""Tests of the tapo metric table rendered through the core exposition."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import Section
from exporterhub.core.metrics import Kind
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.kasa.collector import (
    INFO_LABELS,
    KASA_SPECS,
    LEGACY_NAMES,
    PREFIX,
)
from exporterhub.exporters.kasa.state import (
    KasaReading,
    KasaSnapshot,
    KasaState,
    OutletReading,
)
from tests.exporters.kasa import FIXTURE_FILES, expected, is_iot, load, served
from tests.reference import golden, normalise

NOW = 1_741_615_300.0
TARGET = "plug-1"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

VALUE_NAMES = (
    "tapo_relay_on",
    "tapo_wifi_rssi_dbm",
    "tapo_wifi_signal_level",
    "tapo_relay_on_since_timestamp_seconds",
    "tapo_power_watts",
    "tapo_voltage_volts",
    "tapo_current_amperes",
    "tapo_energy_joules_total",
    "tapo_energy_today_joules",
    "tapo_energy_this_month_joules",
)
METER_NAMES = (
    "tapo_power_watts",
    "tapo_voltage_volts",
    "tapo_current_amperes",
    "tapo_energy_joules_total",
    "tapo_energy_today_joules",
    "tapo_energy_this_month_joules",
)

METER = KasaReading(
    alias="Kettle",
    model="HS110",
    hardware_version="1.0",
    firmware_version="1.2.5",
    mac="50:C7:BF:00:00:01",
    device_id="50:C7:BF:00:00:01",
    family="IOT.SMARTPLUGSWITCH",
    protocol="xor",
    host="127.0.0.1:9999",
    is_iot=True,
    is_on=True,
    rssi=-71,
    on_since=NOW - 3600,
    has_energy=True,
    power_watts=0.928511,
    voltage_volts=231.067823,
    current_amperes=0.014937,
    energy_total_kwh=55.139,
    energy_today_kwh=0.125,
    energy_month_kwh=1.5,
)
NO_VOLTAGE = KasaReading(
    model="P110",
    family="SMART.TAPOPLUG",
    protocol="klap",
    host="h",
    is_on=False,
    rssi=-53,
    signal_level=2,
    has_energy=True,
    power_watts=3.0,
    energy_total_kwh=0.004,
    energy_today_kwh=0.0,
    energy_month_kwh=0.004,
)
STRIP = KasaReading(
    alias="Desk",
    model="HS300",
    family="IOT.SMARTSTRIP",
    protocol="xor",
    host="strip",
    is_iot=True,
    is_on=True,
    rssi=-40,
    children=(
        OutletReading(index=0, id="X00", alias="Lamp", is_on=True, power_watts=5.5),
        OutletReading(
            index=1,
            id="X01",
            alias='Odd "name"',
            is_on=False,
            power_watts=0.0,
            energy_total_kwh=2.0,
            energy_today_kwh=0.5,
            energy_month_kwh=1.0,
        ),
    ),
)


def snapshot_of(reading: KasaReading | None, *, legacy: bool = False) -> KasaSnapshot:
    state = KasaState(legacy=legacy)
    if reading is not None:
        state.apply(reading, 0.125)
    state.failed("timeout")
    return state.snapshot()


def publish(
    snapshot: KasaSnapshot | None, *, taken_at: float = NOW
) -> tuple[Section, TargetRecord[KasaSnapshot]]:
    section = Section("tapo", PREFIX, KASA_SPECS)
    record: TargetRecord[KasaSnapshot] = TargetRecord(
        name=TARGET,
        identity=(("target", TARGET),),
        data=snapshot,
        taken_at=taken_at,
        max_age=60,
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


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample, labels in samples if sample == name]


class TestFixtures:
    """Every shared fixture, read through python-kasa, renders its own values."""

    @pytest.mark.parametrize(
        "path", [pytest.param(p, id=p.stem) for p in FIXTURE_FILES]
    )
    @pytest.mark.parametrize("legacy", [False, True], ids=["clean", "legacy"])
    async def test_rendered_values(self, path, legacy):
        """Relay, RSSI, energy in joules; no meter rows without a meter."""
        pytest.importorskip("kasa")
        from exporterhub.exporters.kasa.state import read_device

        profile = load(path)
        exp = expected(profile)
        async with served(path) as (device, protocol):
            reading = read_device(device, host="127.0.0.1", protocol=protocol)
        samples = values(render(publish(snapshot_of(reading, legacy=legacy))[0]))
        (info,) = series(samples, "tapo_device_info")
        assert info["model"] == exp["model"]
        assert info["mac"] == exp["mac"]
        assert info["protocol"] == protocol
        assert info["family"] == exp["family"]
        assert value(samples, "tapo_relay_on") == float(exp["is_on"])
        assert value(samples, "tapo_wifi_rssi_dbm") == exp["rssi"]
        assert value(samples, "tapo_up") == 1.0
        if is_iot(profile):
            assert "tapo_wifi_signal_level" not in names(samples)
        else:
            assert value(samples, "tapo_wifi_signal_level") == exp["signal_level"]
        if "power" not in exp:
            assert not names(samples) & set(METER_NAMES)
            assert "current_consumption" not in names(samples)
        else:
            joules = {
                "tapo_energy_joules_total": exp["total"],
                "tapo_energy_today_joules": exp["today"],
                "tapo_energy_this_month_joules": exp["month"],
            }
            for name, kwh in joules.items():
                assert value(samples, name) == pytest.approx(kwh * 3.6e6, rel=1e-9)
            assert value(samples, "tapo_power_watts") == pytest.approx(
                exp["power"], rel=1e-9
            )
            assert value(samples, "tapo_voltage_volts") == pytest.approx(
                exp["voltage"], rel=1e-9
            )
        legacy_present = names(samples) & set(LEGACY_NAMES)
        if not legacy:
            assert not legacy_present
            return
        assert "current_rssi" in legacy_present
        ident = {"host": "127.0.0.1", "alias": exp["alias"]}
        assert value(samples, "current_rssi", **ident) == exp["rssi"]
        if "power" in exp:
            assert value(samples, "current_month_consumption", **ident) == (
                pytest.approx(exp["month"], rel=1e-9)
            )
            assert value(samples, "current_consumption", **ident) == pytest.approx(
                exp["power"], rel=1e-9
            )


class TestRows:
    def test_all_values(self):
        """A metering IOT plug shows every §4 value; kWh are joules."""
        samples = values(render(publish(snapshot_of(METER))[0]))
        assert value(samples, "tapo_energy_joules_total") == pytest.approx(
            55.139 * 3.6e6, rel=1e-9
        )
        assert value(samples, "tapo_energy_today_joules") == pytest.approx(450000.0)
        assert value(samples, "tapo_energy_this_month_joules") == pytest.approx(5.4e6)
        assert value(samples, "tapo_relay_on_since_timestamp_seconds") == NOW - 3600
        assert value(samples, "tapo_exporter_poll_duration_seconds") == 0.125
        assert value(samples, "tapo_exporter_poll_errors_total", error="timeout") == 1
        assert value(samples, "tapo_exporter_poll_errors_total", error="auth") == 0
        assert "tapo_wifi_signal_level" not in names(samples)
        (info,) = series(samples, "tapo_device_info")
        assert info == {
            "target": TARGET,
            "alias": "Kettle",
            "model": "HS110",
            "hardware_version": "1.0",
            "firmware_version": "1.2.5",
            "mac": "50:C7:BF:00:00:01",
            "device_id": "50:C7:BF:00:00:01",
            "family": "IOT.SMARTPLUGSWITCH",
            "protocol": "xor",
            "host": "127.0.0.1:9999",
        }

    def test_voltage_absent_when_not_reported(self):
        """A meter without voltage or current has no such rows, not zeros."""
        samples = values(render(publish(snapshot_of(NO_VOLTAGE))[0]))
        assert "tapo_voltage_volts" not in names(samples)
        assert "tapo_current_amperes" not in names(samples)
        assert value(samples, "tapo_power_watts") == 3.0
        assert value(samples, "tapo_wifi_signal_level") == 2
        assert "tapo_relay_on_since_timestamp_seconds" not in names(samples)

    def test_legacy_rows_in_kwh(self):
        """Legacy rows carry host and alias and today/month in kWh, not joules."""
        samples = values(render(publish(snapshot_of(METER, legacy=True))[0]))
        ident = {"host": "127.0.0.1:9999", "alias": "Kettle"}
        assert value(samples, "current_consumption_today", **ident) == 0.125
        assert value(samples, "current_month_consumption", **ident) == 1.5
        assert value(samples, "current_consumption", **ident) == 0.928511
        assert value(samples, "current_voltage", **ident) == 231.067823
        assert value(samples, "current_current", **ident) == 0.014937
        assert value(samples, "current_rssi", **ident) == -71

    def test_legacy_off_by_default(self):
        """Without legacy_metrics none of the original's names appear."""
        samples = values(render(publish(snapshot_of(METER))[0]))
        assert not names(samples) & set(LEGACY_NAMES)

    def test_strip_outlets(self):
        """A strip has one row per outlet labelled by position; alias only in info."""
        samples = values(render(publish(snapshot_of(STRIP))[0]))
        assert value(samples, "tapo_outlet_power_watts", outlet="0") == 5.5
        assert value(samples, "tapo_outlet_power_watts", outlet="1") == 0.0
        assert value(samples, "tapo_outlet_relay_on", outlet="1") == 0.0
        assert series(samples, "tapo_outlet_energy_joules_total") == [
            {"target": TARGET, "outlet": "1"}
        ]
        assert value(
            samples, "tapo_outlet_energy_today_joules", outlet="1"
        ) == pytest.approx(1.8e6)
        assert value(
            samples, "tapo_outlet_info", outlet="1", device_id="X01", alias='Odd "name"'
        ) == (1.0)
        assert "tapo_power_watts" not in names(samples)

    def test_stale_keeps_info_errors_and_health(self):
        """Past max age only info, error counts and health rows remain."""
        section, _ = publish(snapshot_of(STRIP, legacy=True), taken_at=NOW - 600)
        samples = values(render(section))
        assert names(samples) == {
            "tapo_device_info",
            "tapo_outlet_info",
            "tapo_exporter_poll_errors_total",
            "tapo_up",
            "tapo_last_success_timestamp_seconds",
            "tapo_exporter_reconnects_total",
            "tapo_exporter_link_state",
        }
        assert value(samples, "tapo_up") == 0.0

    def test_no_reading_yet(self):
        """Before any success only error counts and health rows render."""
        samples = values(render(publish(snapshot_of(None))[0]))
        tapo = {n for n in names(samples) if not n.startswith(("tapo_up", "tapo_last"))}
        assert tapo == {
            "tapo_exporter_poll_errors_total",
            "tapo_exporter_reconnects_total",
            "tapo_exporter_link_state",
        }
        assert len(series(samples, "tapo_exporter_poll_errors_total")) == 6

    def test_no_data_has_health_only(self):
        """A record without data renders only the core's health rows."""
        samples = values(render(publish(None)[0]))
        assert all(n.startswith("tapo_") for n in names(samples))
        assert "tapo_device_info" not in names(samples)
        assert "tapo_up" in names(samples)


class TestTableRules:
    def test_section4_names(self):
        """The table holds §4's rows in order, with no health rows of the core."""
        got = [spec.name for spec in KASA_SPECS]
        assert [n for n in got if not n.startswith("tapo_outlet_")][:13] == [
            "tapo_device_info",
            *VALUE_NAMES,
            "tapo_exporter_poll_errors_total",
            "tapo_exporter_poll_duration_seconds",
        ]
        assert got[-6:] == list(LEGACY_NAMES)
        assert "tapo_up" not in got
        assert "tapo_last_success_timestamp_seconds" not in got

    def test_labels_and_kinds(self):
        """Labels never repeat target; only info and errors survive staleness."""
        for spec in KASA_SPECS:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name), spec.name
            assert "target" not in spec.labels
            assert spec.name.endswith("_info") == (spec.kind is Kind.INFO)
            assert spec.name.endswith("_total") == (spec.kind is Kind.COUNTER)
            if "alias" in spec.labels:
                assert spec.kind is Kind.INFO or spec.name in LEGACY_NAMES, spec.name
            if spec.name.startswith("tapo_outlet_"):
                assert spec.labels[0] == "outlet"
            if spec.name in LEGACY_NAMES:
                assert spec.labels == ("host", "alias")
        device_info = next(s for s in KASA_SPECS if s.name == "tapo_device_info")
        assert device_info.labels == INFO_LABELS
        kept = [spec.name for spec in KASA_SPECS if spec.keep_when_stale]
        assert kept == [
            "tapo_device_info",
            "tapo_outlet_info",
            "tapo_exporter_poll_errors_total",
        ]

    def test_help_texts(self):
        """HELP is one line; the counter states its window; legacy energy says kWh."""
        helps = {spec.name: spec.help for spec in KASA_SPECS}
        for name, text in helps.items():
            assert text.endswith("."), name
            assert "\n" not in text
        assert "IOT" in helps["tapo_energy_joules_total"]
        assert "month" in helps["tapo_energy_joules_total"]
        assert "kWh" in helps["current_consumption_today"]
        assert "kWh" in helps["current_month_consumption"]


class TestPromtool:
    @pytest.mark.parametrize(
        ("reading", "legacy"),
        [
            pytest.param(METER, False, id="meter"),
            pytest.param(METER, True, id="meter-legacy"),
            pytest.param(NO_VOLTAGE, True, id="smart-legacy"),
            pytest.param(STRIP, True, id="strip-legacy"),
        ],
    )
    def test_promtool_on_render(self, reading, legacy):
        """promtool 2.42 accepts every render, the original's legacy names too."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail("promtool is missing: apt-get install prometheus")
        section, _ = publish(snapshot_of(reading, legacy=legacy))
        text = render(section)
        assert ("current_rssi{" in text) == legacy
        result = subprocess.run(  # noqa: S603 - fixed binary, our own text
            [promtool, "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        assert (result.stdout + result.stderr).decode().strip() == ""
        assert result.returncode == 0


@pytest.mark.parametrize(
    ("reading", "legacy", "taken_at"),
    [
        pytest.param(METER, False, NOW, id="meter"),
        pytest.param(METER, True, NOW, id="meter-legacy"),
        pytest.param(NO_VOLTAGE, True, NOW, id="smart-legacy"),
        pytest.param(STRIP, False, NOW, id="strip"),
        pytest.param(STRIP, True, NOW - 600, id="stale"),
        pytest.param(None, False, NOW, id="no-reading"),
    ],
)
class TestGolden:
    def test_text_format_matches_prometheus_client(self, reading, legacy, taken_at):
        """The cached text render parses identically to prometheus_client's."""
        section, record = publish(
            snapshot_of(reading, legacy=legacy), taken_at=taken_at
        )
        fresh = taken_at == NOW
        ours = normalise(list(parse_text(render(section))))
        theirs = normalise(list(parse_text(golden(section, record, fresh, om=False))))
        assert ours == theirs
        assert len(ours) >= 5

    def test_openmetrics_matches_prometheus_client(self, reading, legacy, taken_at):
        """The OpenMetrics render parses identically to prometheus_client's."""
        section, record = publish(
            snapshot_of(reading, legacy=legacy), taken_at=taken_at
        )
        fresh = taken_at == NOW
        ours = normalise(list(parse_openmetrics(render(section, openmetrics=True))))
        theirs = normalise(
            list(parse_openmetrics(golden(section, record, fresh, om=True)))
        )
        assert ours == theirs
        family_names = {name for name, *_ in ours}
        assert "tapo_exporter_poll_errors" in family_names
        assert ("tapo_relay_on" in family_names) == (fresh and reading is not None)
