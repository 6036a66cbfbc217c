"""Tests of the SNP metric table rendered through the core exposition."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from shutil import which

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub.core.exposition import Section
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.snp.collector import PREFIX, SNP_SPECS
from exporterhub.exporters.snp.state import SnpSnapshot, SnpState
from tests.reference import golden, normalise

from .conftest import frame, obj, status_frame

NOW = 1_773_064_937.0
ROOT = Path(__file__).resolve().parents[3]

ORIGINAL = (
    "ic_snp_api_status",
    "ic_snp_received_count_total",
    "ic_snp_last_received_duration_seconds",
    "ic_snp_mainboard_temperature",
    "ic_snp_ioboard_temperature",
    "ic_snp_powersupply_status",
    "ic_snp_hardware_info",
    "ic_snp_major_alarms",
    "ic_snp_minor_alarms",
    "ic_snp_fpga_temperature",
    "ic_snp_fpga_fan_status",
    "ic_snp_front_fan_status",
    "ic_snp_qsfp_temperature",
    "ic_snp_ptp_status",
    "ic_snp_ptp_master_offset",
    "ic_snp_ptp_master_delay",
    "ic_snp_video_rx_info",
    "ic_snp_aco_abstatus",
    "ic_snp_processor_personality_info",
)
"""§6.1: the 19 exposed names users of the original rely on."""

HEALTH = (
    "ic_snp_up",
    "ic_snp_last_success_timestamp_seconds",
    "ic_snp_active_alarms",
    "ic_snp_exporter_parse_errors_total",
    "ic_snp_exporter_reconnects_total",
    "ic_snp_exporter_auth_failures_total",
    "ic_snp_exporter_rest_errors_total",
)
"""§6.2."""

ADDITIONS = (
    "ic_snp_ptp_master_offset_seconds",
    "ic_snp_ptp_master_delay_seconds",
    "ic_snp_ptp_is_master",
    "ic_snp_ptp_info",
    "ic_snp_ptp_biggest_sys_time_update_seconds",
    "ic_snp_ptp_sys_time_updates_total",
    "ic_snp_fpga_temp_alarm",
    "ic_snp_fpga_fan_alarm",
    "ic_snp_fpga_config_alarm",
    "ic_snp_front_fan_rpm",
    "ic_snp_qsfp_present",
    "ic_snp_qsfp_data_valid",
    "ic_snp_qsfp_temp_alarm",
    "ic_snp_sfp_present",
    "ic_snp_sfp_mismatch",
    "ic_snp_fcs_primary_errors_exceeded",
    "ic_snp_fcs_secondary_errors_exceeded",
    "ic_snp_qsfp_rx_power_dbm",
    "ic_snp_qsfp_tx_power_dbm",
    "ic_snp_powersupply_present",
    "ic_snp_powersupply_enabled",
    "ic_snp_powersupply_fan_ok",
    "ic_snp_wan_receive_packets_total",
    "ic_snp_wan_transmit_packets_total",
    "ic_snp_wan_receive_errors_total",
    "ic_snp_wan_receive_bytes_per_second",
    "ic_snp_wan_transmit_bytes_per_second",
    "ic_snp_wan_over_bandwidth",
    "ic_snp_wan_configured_bytes_per_second",
    "ic_snp_video_rx_missing_packets_total",
    "ic_snp_video_rx_out_of_range_packets_total",
    "ic_snp_video_rx_switches_total",
    "ic_snp_video_rx_network_jitter_seconds",
    "ic_snp_video_rx_path_difference_seconds",
    "ic_snp_channel_input_present",
    "ic_snp_channel_input_frozen",
    "ic_snp_channel_input_black",
    "ic_snp_genlock_reference_locked",
    "ic_snp_object_last_update_timestamp_seconds",
)
"""§6.3 (the optional console poll's boot timestamp is not implemented)."""

KEPT = {
    "ic_snp_up",
    "ic_snp_api_status",
    "ic_snp_last_success_timestamp_seconds",
    "ic_snp_exporter_reconnects_total",
    "ic_snp_exporter_link_state",
    "ic_snp_received_count_total",
    "ic_snp_last_received_duration_seconds",
    "ic_snp_hardware_info",
    "ic_snp_processor_personality_info",
    "ic_snp_exporter_parse_errors_total",
    "ic_snp_exporter_auth_failures_total",
    "ic_snp_exporter_rest_errors_total",
    "ic_snp_exporter_unhandled_objects_total",
}
"""What stays while the stream is down (§7): identity, counters, health."""


def full_state() -> SnpState:
    state = SnpState()
    for name in (
        "server_statusState_initial.json",
        "server_activeAlarmStatus.json",
        "server_objectsState_processorC.json",
    ):
        state.apply_frame(frame(name), NOW)
    state.apply_frame(status_frame(obj("ipWan"), obj("videoGenLock")), NOW)
    state.set_personality("processorA", "Sync")
    state.set_decode_seconds(0.0012)
    return state


def publish(
    snapshot: SnpSnapshot, *, fresh: bool = True
) -> tuple[Section, TargetRecord[SnpSnapshot]]:
    section = Section("snp", PREFIX, SNP_SPECS)
    record: TargetRecord[SnpSnapshot] = TargetRecord(
        name="SNP-LAB-1",
        identity=(("target", "SNP-LAB-1"),),
        data=snapshot,
        taken_at=NOW if fresh else None,
        max_age=30.0,
        healthy=fresh,
        last_success=NOW - 5,
        link=LinkState.CONNECTED if fresh else LinkState.DISCONNECTED,
        reconnects=2,
    )
    section.publish(record)
    return section, record


def render(section: Section, *, openmetrics: bool = False) -> str:
    body = b"".join(section.render(NOW + 1, openmetrics))
    return (body + b"# EOF\n" if openmetrics else body).decode()


def families(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in parse_text(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    for sample in families(text).get(name, []):
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    return None


class TestNames:
    def test_every_documented_name_is_exposed(self):
        """Every §6.1, §6.2 and §6.3 name appears, spelled exactly, from fixtures."""
        text = render(publish(full_state().snapshot())[0])
        exposed = set(families(text))
        missing = set(ORIGINAL + HEALTH + ADDITIONS) - exposed
        assert not missing

    def test_no_created_series_and_no_ptp_info_info(self):
        """No *_created series, and PTP info is not ic_snp_ptp_info_info (§6.3)."""
        text = render(publish(full_state().snapshot())[0])
        assert "_created" not in text
        assert "ic_snp_ptp_info_info" not in text

    def test_counter_and_info_types(self):
        """Counters are typed counter, info families gauge (0.0.4) = 1."""
        text = render(publish(full_state().snapshot())[0])
        assert "# TYPE ic_snp_received_count_total counter" in text
        assert "# TYPE ic_snp_hardware_info gauge" in text
        assert "# TYPE ic_snp_processor_personality_info gauge" in text

    def test_labels_never_carry_addresses_or_times(self):
        """Only ptp_info carries addresses (it is the identity row); no ptpUTC."""
        text = render(publish(full_state().snapshot())[0])
        for name, samples in families(text).items():
            for sample in samples:
                joined = " ".join(sample.labels.values())
                if name != "ic_snp_ptp_info":
                    assert "198.51.100" not in joined, name
                    assert "239." not in joined, name
                assert "2026" not in joined, name


class TestCatalogue:
    def test_the_doc_lists_exactly_the_emitted_names(self):
        """docs/metrics/snp.md names every series name a full render emits, and
        no other."""
        doc = (ROOT / "docs" / "metrics" / "snp.md").read_text(encoding="utf-8")
        listed = set(re.findall(r"^\| `(ic_snp_[a-z0-9_]+)` \|", doc, re.M))
        emitted = set(families(render(publish(full_state().snapshot())[0])))
        assert listed == emitted
        assert len(listed) == len(SNP_SPECS) + 4  # and the core's health rows


class TestValues:
    def test_the_readme_examples(self):
        """The values the fixtures' README promises."""
        text = render(publish(full_state().snapshot())[0])
        assert value(text, "ic_snp_mainboard_temperature") == 46.0
        assert value(text, "ic_snp_ioboard_temperature") == 41.5
        assert value(text, "ic_snp_fpga_temperature", index="3") == 78.5
        assert value(text, "ic_snp_qsfp_temperature", index="1") == 36.8
        assert value(text, "ic_snp_qsfp_temperature", index="2") is None
        assert value(text, "ic_snp_ptp_master_offset") == -0.087
        assert value(text, "ic_snp_aco_abstatus", index="A-HD-1") == 1.0
        assert value(text, "ic_snp_aco_abstatus", index="B-HD-2") == 0.0
        assert len(families(text)["ic_snp_video_rx_info"]) == 36

    def test_info_rows(self):
        text = render(publish(full_state().snapshot())[0])
        assert (
            value(
                text,
                "ic_snp_hardware_info",
                firmware="3.2.0.35",
                hardware="1.0",
                serial="2119004417",
            )
            == 1.0
        )
        assert (
            value(text, "ic_snp_processor_personality_info", processor="processorC")
            == 1.0
        )
        rows = families(text)["ic_snp_processor_personality_info"]
        assert {s.labels["personality"] for s in rows} == {"Remap", "Sync"}
        assert (
            value(
                text,
                "ic_snp_video_rx_info",
                index="6",
                video="Not Present",
                colorimetry="Rec 709",
            )
            == 1.0
        )

    def test_base_units(self):
        text = render(publish(full_state().snapshot())[0])
        assert value(text, "ic_snp_ptp_master_offset_seconds") == pytest.approx(-8.7e-8)
        assert value(text, "ic_snp_ptp_biggest_sys_time_update_seconds") == 1.003
        assert value(
            text, "ic_snp_wan_transmit_bytes_per_second", link="primary"
        ) == pytest.approx(19.9909e9 / 8)
        assert value(
            text,
            "ic_snp_wan_configured_bytes_per_second",
            direction="transmit",
            lane="D",
        ) == pytest.approx(10363.1e6 / 8)
        assert value(text, "ic_snp_qsfp_rx_power_dbm", index="1", lane="2") == -2.4

    def test_health_and_counters(self):
        text = render(publish(full_state().snapshot())[0])
        assert value(text, "ic_snp_api_status") == 1.0
        assert value(text, "ic_snp_up") == 1.0
        assert value(text, "ic_snp_active_alarms") == 3.0
        assert value(text, "ic_snp_received_count_total") == 4.0
        assert value(text, "ic_snp_exporter_reconnects_total") == 2.0
        assert value(text, "ic_snp_exporter_rest_errors_total", call="auth") == 0.0
        assert value(text, "ic_snp_last_received_duration_seconds") == 0.0012

    def test_unlocked_ptp(self):
        state = full_state()
        state.apply_frame(frame("server_statusState_ptp_unlocked.json"), NOW)
        text = render(publish(state.snapshot())[0])
        assert value(text, "ic_snp_ptp_status") == 0.0
        assert value(text, "ic_snp_ptp_is_master") == 1.0
        assert value(text, "ic_snp_ptp_master_offset") == 0.0
        info = families(text)["ic_snp_ptp_info"][0].labels
        assert info["controller_state"] == "Unlocked-Free Run"
        assert info["master_ip"] == "0.0.0.0"

    def test_missing_values_have_no_row(self):
        """A member the SNP did not send gives no series, never 0 (§5.1)."""
        state = SnpState()
        state.apply_frame(frame("malformed/system_odd_values.json"), NOW)
        text = render(publish(state.snapshot())[0])
        assert value(text, "ic_snp_mainboard_temperature") is None
        assert value(text, "ic_snp_front_fan_rpm", index="2") is None
        assert "ic_snp_fpga_temperature" not in text
        assert value(text, "ic_snp_minor_alarms") == 12.0
        assert "ic_snp_active_alarms" not in text  # absent until one arrives

    def test_before_any_object(self):
        """A connection that sent nothing yet: counters and health only."""
        text = render(publish(SnpState().snapshot())[0])
        names = set(families(text))
        assert names == {
            "ic_snp_up",
            "ic_snp_api_status",
            "ic_snp_last_success_timestamp_seconds",
            "ic_snp_exporter_reconnects_total",
            "ic_snp_exporter_link_state",
            "ic_snp_received_count_total",
            "ic_snp_exporter_parse_errors_total",
            "ic_snp_exporter_auth_failures_total",
            "ic_snp_exporter_rest_errors_total",
            "ic_snp_exporter_unhandled_objects_total",
        }


class TestFreshness:
    def test_stream_down_keeps_only_identity_counters_and_health(self):
        """§7: values omitted; identity, counters and stream status kept."""
        section, _ = publish(full_state().snapshot(), fresh=False)
        text = render(section)
        assert set(families(text)) == KEPT
        assert value(text, "ic_snp_up") == 0.0
        assert value(text, "ic_snp_api_status") == 0.0
        assert value(text, "ic_snp_last_success_timestamp_seconds") == NOW - 5

    def test_silent_past_stale_after(self):
        """A record older than stale_after is read as down, without a publish."""
        section, _ = publish(full_state().snapshot())
        text = b"".join(section.render(NOW + 31, False)).decode()
        assert set(families(text)) == KEPT
        assert value(text, "ic_snp_api_status") == 0.0


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "stale"])
class TestGolden:
    def test_text_format_matches_prometheus_client(self, fresh):
        """The cached text render parses identically to prometheus_client's."""
        section, record = publish(full_state().snapshot(), fresh=fresh)
        ours = normalise(list(parse_text(render(section))))
        theirs = normalise(list(parse_text(golden(section, record, fresh, om=False))))
        assert ours == theirs
        assert len(ours) > (60 if fresh else 10)

    def test_openmetrics_matches_prometheus_client(self, fresh):
        section, record = publish(full_state().snapshot(), fresh=fresh)
        ours = normalise(list(parse_openmetrics(render(section, openmetrics=True))))
        theirs = normalise(
            list(parse_openmetrics(golden(section, record, fresh, om=True)))
        )
        assert ours == theirs
        names = {name for name, *_ in ours}
        assert "ic_snp_hardware" in names
        assert "ic_snp_received_count" in names
        assert ("ic_snp_ptp" in names) == fresh


def _changed_system() -> bytes:
    system = obj("system")
    system["Board_Temperatures"]["Main_Board"] = "61"
    system["SNP_HW_Stats"]["FWRev"] = "3.2.0.36"
    return status_frame(system)


def _changed_receivers() -> bytes:
    receivers = obj("ipVidRx")
    receivers["ipVidRxStatus"][0]["VidRxStd"] = "1080p/50"
    return status_frame(receivers)


def _changed_wan() -> bytes:
    wan = obj("ipWan")
    wan["ipWanStatus"]["priRxPkts"] = "123456789"
    return status_frame(wan)


def _frame_at(name: str, at: float) -> Callable[[SnpState], object]:
    return lambda s: s.apply_frame(frame(name), at)


STEPS: list[tuple[str, Callable[[SnpState], object]]] = [
    ("ptp", _frame_at("server_statusState_ptp_update.json", NOW + 1)),
    ("system", lambda s: s.apply_frame(_changed_system(), NOW + 2)),
    ("ipVidRx", lambda s: s.apply_frame(_changed_receivers(), NOW + 3)),
    ("ipWan", lambda s: s.apply_frame(_changed_wan(), NOW + 4)),
    ("channel", _frame_at("server_statusState_aco_switch.json", NOW + 5)),
    ("unlocked", _frame_at("server_statusState_ptp_unlocked.json", NOW + 6)),
    ("alarms", _frame_at("server_activeAlarmStatus_empty.json", NOW + 7)),
    ("personality", lambda s: s.set_personality("processorB", "Conv")),
    ("same personality", lambda s: s.set_personality("processorB", "Conv")),
    ("rest error", lambda s: s.count_rest_error("auth")),
    ("new connection", SnpState.begin_connection),
    ("resubscribed", _frame_at("server_statusState_initial.json", NOW + 8)),
]
"""Changes one at a time, as a stream makes them."""


class TestReuse:
    """Rows reading an unchanged status object keep their lines (``part``)."""

    def test_every_step_renders_as_a_fresh_section_would(self):
        """Reused lines never differ from a render from scratch, after any change."""
        state = full_state()
        kept, _ = publish(state.snapshot())
        render(kept)
        for name, step in STEPS:
            step(state)
            snapshot = state.snapshot()
            kept.publish(replace(kept.get("SNP-LAB-1"), data=snapshot))
            fresh, _ = publish(snapshot)
            assert render(kept) == render(fresh), name

    def test_a_ptp_frame_keeps_the_system_lines(self):
        """A PTP-only update keeps the very bytes of the system rows."""
        state = full_state()
        section, record = publish(state.snapshot())
        before = b"".join(section.render(NOW + 1, False))
        system_lines = section._blocks["SNP-LAB-1"].lines
        state.apply_frame(frame("server_statusState_ptp_update.json"), NOW + 1)
        section.publish(replace(record, data=state.snapshot()))
        after = b"".join(section.render(NOW + 1, False))
        lines = section._blocks["SNP-LAB-1"].lines
        for index, spec in enumerate(section.specs):
            if spec.name in {"ic_snp_mainboard_temperature", "ic_snp_video_rx_info"}:
                assert lines[index], spec.name
                assert lines[index] is system_lines[index], spec.name
            if spec.name == "ic_snp_ptp_master_offset":
                assert lines[index] != system_lines[index]
        assert after != before


@pytest.mark.skipif(which("promtool") is None, reason="promtool not installed")
def test_promtool_finds_nothing():
    """promtool check metrics is clean on a full render (no COMPAT exceptions)."""
    text = render(publish(full_state().snapshot())[0])
    result = subprocess.run(
        ["promtool", "check", "metrics"],  # noqa: S607 - found on PATH above
        input=text.encode(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip()
    assert not result.stderr.strip()
