"""Tests of the SNP fold: frames and REST answers into an SnpSnapshot (state.py)."""

from __future__ import annotations

import copy

import orjson
import pytest

from exporterhub.exporters.snp.state import REST_CALLS, SnpSnapshot, SnpState

from .conftest import frame, obj, status_frame

NOW = 1_773_064_937.0


def folded(*names: str) -> SnpState:
    state = SnpState()
    for name in names:
        state.apply_frame(frame(name), NOW)
    return state


class TestInitialStatus:
    """server_statusState_initial.json, as the fixtures' README spells it out."""

    def test_system(self):
        system = folded("server_statusState_initial.json").snapshot().system
        assert system is not None
        assert (system.main_board, system.io_board) == (46.0, 41.5)
        assert dict(system.fpga_temperature)["3"] == 78.5
        assert dict(system.qsfp_temperature) == {"1": 36.8}  # 2 is N/A: absent
        assert (system.major_alarms, system.minor_alarms) == (1.0, 12.0)
        assert system.power_ok == 1.0
        assert system.hardware == ("3.2.0.35", "1.0", "2119004417")

    def test_optics_per_lane(self):
        """QSFP 1 has four lanes each way; QSFP 2 (copper, N/A) has none."""
        system = folded("server_statusState_initial.json").snapshot().system
        assert system is not None
        assert system.qsfp_rx == (
            ("1", "1", -2.1),
            ("1", "2", -2.4),
            ("1", "3", -1.9),
            ("1", "4", -2.2),
        )
        assert [row[:2] for row in system.qsfp_tx] == [
            ("1", str(i)) for i in range(1, 5)
        ]

    def test_ptp(self):
        ptp = folded("server_statusState_initial.json").snapshot().ptp
        assert ptp is not None
        assert (ptp.locked, ptp.is_master) == (1.0, 0.0)
        assert ptp.offset_us == -0.087
        assert ptp.offset_seconds == pytest.approx(-0.087e-6)
        assert ptp.delay_us == 0.161
        assert ptp.biggest_update_seconds == pytest.approx(1.003)
        assert ptp.sys_time_updates == 7.0
        assert ptp.info == (
            "00 90 F9 FF FE 3A 10 22",
            "Locked",
            "198.51.100.1",
            "198.51.100.21",
            "08-00-11-FF-FE-21-4A-07",
            "Primary/Secondary",
        )

    def test_channels(self):
        """ACO on A is 1 for A-HD-1, B-HD-2 is on B: 0."""
        channels = dict(folded("server_statusState_initial.json").snapshot().channels)
        assert channels["A-HD-1"].aco_on_a == 1.0
        assert channels["B-HD-2"].aco_on_a == 0.0
        assert channels["A-HD-1"].input_present == 1.0

    def test_video_receivers(self):
        video = folded("server_statusState_initial.json").snapshot().video_rx
        assert video is not None
        assert len(video.info) == 36
        present = {i for i, std, _ in video.info if std != "Not Present"}
        assert {i for i, _ in video.missing_packets} == present
        assert len(video.jitter_seconds) == len(present)

    def test_every_object_timestamped(self):
        snapshot = folded("server_statusState_initial.json").snapshot()
        assert {(k, i) for k, i, _ in snapshot.objects} == {
            ("ptp", "ptp"),
            ("system", "system"),
            ("ipVidRx", "ipVidRx"),
            ("procChannelHD", "A-HD-1"),
            ("procChannelHD", "B-HD-2"),
        }
        assert {at for _, _, at in snapshot.objects} == {NOW}


class TestFrames:
    def test_every_frame_counts(self):
        """Valid or not, every data frame counts as received."""
        state = folded(
            "server_fmmStatus.json",
            "malformed/not_json.txt",
            "server_permissionsMsg.json",
        )
        snapshot = state.snapshot()
        assert (snapshot.received, snapshot.parse_errors) == (3, 1)

    @pytest.mark.parametrize(
        ("name", "errors"),
        [
            ("malformed/not_json.txt", 1),
            ("malformed/truncated_statusState.txt", 1),
            ("malformed/no_msgType.json", 1),
            ("malformed/statuses_not_a_list.json", 1),
            ("malformed/status_item_bad_json.json", 1),
            ("malformed/status_item_no_type.json", 1),
            ("malformed/status_item_is_object.json", 0),
            ("malformed/unknown_msgType.json", 0),
            ("malformed/system_odd_values.json", 0),
        ],
    )
    def test_malformed_fixtures(self, name, errors):
        """Each malformed fixture counts as the manifest says."""
        assert folded(name).snapshot().parse_errors == errors

    def test_good_item_beside_a_broken_one_is_applied(self):
        ptp = folded("malformed/status_item_bad_json.json").snapshot().ptp
        assert ptp is not None
        assert ptp.offset_us == 0.042

    def test_odd_system_values(self):
        """Main board "---" and fan 2 "N/A" absent; no FPGA list; "12" counts."""
        system = folded("malformed/system_odd_values.json").snapshot().system
        assert system is not None
        assert system.main_board is None
        assert system.io_board == 41.5
        assert "2" not in dict(system.fan_rpm)
        assert dict(system.fan_ok)["2"] == 1.0
        assert system.fpga_temperature == ()
        assert system.minor_alarms == 12.0

    def test_later_objects_replace_earlier_ones(self):
        state = folded(
            "server_statusState_initial.json", "server_statusState_ptp_unlocked.json"
        )
        ptp = state.snapshot().ptp
        assert ptp is not None
        assert (ptp.locked, ptp.is_master, ptp.offset_us) == (0.0, 1.0, 0.0)
        channels = dict(state.snapshot().channels)
        assert channels["A-HD-1"].aco_on_a == 1.0
        state.apply_frame(frame("server_statusState_aco_switch.json"), NOW + 1)
        channels = dict(state.snapshot().channels)
        assert channels["A-HD-1"].aco_on_a == 0.0
        times = {(k, i): at for k, i, at in state.snapshot().objects}
        assert times[("procChannelHD", "A-HD-1")] == NOW + 1
        assert times[("ptp", "ptp")] == NOW

    def test_all_statuses_is_folded_like_status_state(self):
        snapshot = folded("server_allStatuses.json").snapshot()
        assert snapshot.system is not None
        assert snapshot.wan is not None
        assert snapshot.genlock is not None
        assert snapshot.genlock.reference_locked == 0.0

    def test_unhandled_types_are_counted_and_timestamped(self):
        state = SnpState()
        state.apply_frame(
            status_frame({"type": "ipAudRx", "object_ID": "ipAudRx"}), NOW
        )
        state.apply_frame(status_frame(obj("processor_status_processorA")), NOW)
        snapshot = state.snapshot()
        assert snapshot.unhandled == 1  # processor status: known, no values
        assert {(k, i) for k, i, _ in snapshot.objects} == {
            ("ipAudRx", "ipAudRx"),
            ("processor", "processorA"),
        }

    def test_object_without_id_is_keyed_by_type(self):
        state = SnpState()
        state.apply_frame(status_frame({"type": "videoGenLock"}), NOW)
        assert state.snapshot().objects == (("videoGenLock", "videoGenLock", NOW),)

    def test_active_alarms_are_the_complete_set(self):
        state = folded("server_activeAlarmStatus.json")
        assert state.snapshot().active_alarms == 3
        state.apply_frame(frame("server_activeAlarmStatus_empty.json"), NOW)
        assert state.snapshot().active_alarms == 0

    def test_active_alarms_not_a_list(self):
        state = SnpState()
        state.apply_frame(b'{"msgType":"activeAlarmStatus","activeAlarms":5}', NOW)
        snapshot = state.snapshot()
        assert (snapshot.active_alarms, snapshot.parse_errors) == (None, 1)

    def test_objects_state_updates_a_personality(self):
        state = folded("server_objectsState_processorC.json")
        assert state.snapshot().personalities == (("processorC", "Remap"),)

    def test_objects_state_ignores_other_configurations(self):
        state = SnpState()
        other = orjson.dumps(
            {
                "msgType": "objectsState",
                "configurations": [
                    '{"type":"system","object_ID":"system"}',
                    '{"type":"processor","object_ID":"processorZ",'
                    '"general":{"personality":"Sync"}}',
                    "{broken",
                ],
            }
        )
        state.apply_frame(other, NOW)
        snapshot = state.snapshot()
        assert (snapshot.personalities, snapshot.parse_errors) == ((), 1)


class TestWan:
    def test_links_and_lanes(self):
        state = SnpState()
        state.apply_frame(status_frame(obj("ipWan")), NOW)
        wan = state.snapshot().wan
        assert wan is not None
        assert dict(wan.receive_packets) == {
            "primary": 1221876063.0,
            "secondary": 1115705355.0,
        }
        assert dict(wan.transmit_rate)["primary"] == pytest.approx(19.9909e9 / 8)
        assert dict(wan.receive_rate)["secondary"] == pytest.approx(1319.14e6 / 8)
        assert dict(wan.over_bandwidth) == {"primary": 0.0, "secondary": 0.0}
        assert wan.configured[:2] == (
            ("receive", "A", pytest.approx(2429.1e6 / 8)),
            ("receive", "B", pytest.approx(10570.5e6 / 8)),
        )
        assert len(wan.configured) == 8

    def test_missing_wan_members(self):
        state = SnpState()
        state.apply_frame(
            status_frame({"type": "ipWan", "ipWanStatus": {"rxConfigBw25G": "x"}}), NOW
        )
        wan = state.snapshot().wan
        assert wan is not None
        assert (wan.receive_packets, wan.configured) == ((), ())


class TestLifetimes:
    def test_begin_connection_discards_the_objects(self):
        """§7: the next stream rebuilds its objects; identity and counters stay."""
        state = folded(
            "server_statusState_initial.json",
            "server_activeAlarmStatus.json",
            "server_objectsState_processorC.json",
            "malformed/not_json.txt",
        )
        state.count_auth_failure()
        state.count_rest_error("auth")
        state.set_decode_seconds(0.002)
        state.begin_connection()
        snapshot = state.snapshot()
        assert snapshot == SnpSnapshot(
            hardware=("3.2.0.35", "1.0", "2119004417"),
            personalities=(("processorC", "Remap"),),
            received=4,
            parse_errors=1,
            auth_failures=1,
            rest_errors=(("auth", 1), ("processor_config", 0)),
            decode_seconds=0.002,
        )

    def test_snapshot_is_reused_until_a_change(self):
        state = folded("server_statusState_initial.json")
        first = state.snapshot()
        assert state.snapshot() is first
        state.set_personality("processorA", "Sync")
        second = state.snapshot()
        assert second is not first
        state.set_personality("processorA", "Sync")  # no change
        assert state.snapshot() is second

    def test_rest_errors_start_at_zero_for_every_call(self):
        assert SnpState().snapshot().rest_errors == tuple((c, 0) for c in REST_CALLS)

    def test_hardware_kept_when_a_later_system_lacks_it(self):
        state = folded("server_statusState_initial.json")
        bare = copy.deepcopy(obj("system"))
        del bare["SNP_HW_Stats"]
        state.apply_frame(status_frame(bare), NOW)
        snapshot = state.snapshot()
        assert snapshot.system is not None
        assert snapshot.system.hardware is None
        assert snapshot.hardware == ("3.2.0.35", "1.0", "2119004417")


class TestOddObjects:
    """Every member may be missing or odd (§9): no crash, no made-up value."""

    @pytest.mark.parametrize(
        "kind", ["system", "ptp", "ipVidRx", "procChannelHD", "ipWan", "videoGenLock"]
    )
    def test_bare_objects(self, kind):
        state = SnpState()
        state.apply_frame(status_frame({"type": kind, "object_ID": "x"}), NOW)
        snapshot = state.snapshot()
        assert snapshot.parse_errors == 0
        assert (kind, "x", NOW) in snapshot.objects

    def test_odd_members(self):
        odd = {
            "type": "system",
            "SNP_HW_Stats": {"FWRev": 3},
            "FPGA_HW_Stats": [5, {"idx": "x"}, {"idx": "2", "Temp": "N/A"}],
            "QSFP_Stats": {"idx": 1},
            "Power_Supply_Stats": {"PS_Present_1": "maybe", "PS_EN_2": 1},
        }
        state = SnpState()
        state.apply_frame(status_frame(odd), NOW)
        system = state.snapshot().system
        assert system is not None
        assert system.hardware is None
        assert system.fpga_temperature == ()
        assert system.qsfp_temperature == ()
        assert system.psu_present == ()
        assert system.psu_enabled == (("2", 1.0),)

    def test_ptp_without_status(self):
        state = SnpState()
        state.apply_frame(status_frame({"type": "ptp", "ptpStatus": "x"}), NOW)
        ptp = state.snapshot().ptp
        assert ptp is not None
        assert (ptp.locked, ptp.info, ptp.offset_us) == (None, None, None)

    def test_receiver_without_standard_has_no_row(self):
        state = SnpState()
        video = {
            "type": "ipVidRx",
            "ipVidRxStatus": [{"idx": 1}, {"idx": 2, "VidRxStd": "1080p/50"}],
        }
        state.apply_frame(status_frame(video), NOW)
        rx = state.snapshot().video_rx
        assert rx is not None
        assert rx.info == (("2", "1080p/50", ""),)
