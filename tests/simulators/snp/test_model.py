"""The device model without sockets: control methods, drift, alarms, listeners."""

from __future__ import annotations

import pytest

from exporterhub.simulators.snp import SnpAlarm, SnpModel
from exporterhub.simulators.snp.drift import leading_number

from .conftest import fixture


class Recorder:
    """A ModelListener that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def status_changed(self, key) -> None:
        self.events.append(("status", key))

    def alarms_changed(self) -> None:
        self.events.append(("alarms", None))

    def config_changed(self, object_id) -> None:
        self.events.append(("config", object_id))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def model(clock, recorder) -> SnpModel:
    model = SnpModel(clock=clock, seed=1)
    model.listener = recorder
    return model


SYSTEM = ("status", ("system", "system"))
PTP = ("status", ("ptp", "ptp"))


class TestIdentity:
    def test_first_device_is_the_fixture(self, model):
        """Device 0 starts exactly as the fixture objects."""
        assert model.get("system") == fixture("objects/system.json")
        assert model.get("ptp") == fixture("objects/ptp_locked.json")
        assert model.get("videoGenLock") == fixture("objects/videoGenLock.json")
        assert len(model.objects.all_keys()) == 45

    def test_other_devices_differ(self, clock):
        """Later devices have their own serial, MACs, clock identity and address."""
        other = SnpModel(clock=clock, index=3, fme_ip="10.20.0.4")
        hw = other.get("system")["SNP_HW_Stats"]
        assert (hw["Serial"], hw["MAC_0"]) == ("2119004420", "00:90:f9:3A:10:2C")
        assert other.get("ptp")["ptpStatus"]["clockIdentity"].endswith("3A 10 2E")
        assert other.get("ipVidRx")["fme_ip"] == "10.20.0.4"
        assert '"fme_ip":"10.20.0.4"' in other.objects.item(("ipVidRx", "ipVidRx"))
        first = SnpModel(clock=clock)
        assert first.get("system")["SNP_HW_Stats"]["Serial"] == "2119004417"

    def test_unknown_objects(self, model):
        """Unknown types and ids are KeyErrors."""
        with pytest.raises(KeyError):
            model.get("nothing")
        with pytest.raises(KeyError):
            model.get("procChannelHD", "Z-HD-1")
        with pytest.raises(KeyError):
            model.objects.obj(("nothing", "x"))


class TestHardware:
    def test_temperatures(self, model, recorder):
        """set_*_temperature writes '°C' strings and notifies once each."""
        model.set_temperature("Main_Board", 51.25)
        model.set_fpga_temperature(3, 90)
        model.set_qsfp_temperature(1, 40.04)
        system = model.get("system")
        assert system["Board_Temperatures"]["Main_Board"] == "51.2 °C"
        assert system["FPGA_HW_Stats"][2]["Temp"] == "90.0 °C"
        assert system["QSFP_Stats"][0]["Temperature"] == "40.0 °C"
        assert recorder.events == [SYSTEM] * 3
        with pytest.raises(KeyError):
            model.set_temperature("Exp1_Board", 30)

    def test_unchanged_value_is_not_a_change(self, model, recorder):
        """Setting a temperature to its current text notifies nobody."""
        model.set_temperature("IO_Board", 41.5)
        assert recorder.events == []

    def test_front_fan_failure(self, model, recorder):
        """A failed front fan reads 'Failed', '0 RPM' and raises alarm 53."""
        model.fail_fan("front", 3)
        fan = model.get("system")["Front_Fan_Stats"][2]
        assert fan == {"idx": 3, "RotationalSpeed": "0 RPM", "Status": "Failed"}
        assert ("alarms", None) in recorder.events
        assert any(a["id"] == 53 for a in model.alarms)
        stats = model.get("system")["Alarm_Stats"]
        assert stats["majorInstances"] == 2
        model.drift_system()
        assert model.get("system")["Front_Fan_Stats"][2]["RotationalSpeed"] == "0 RPM"
        model.restore_fan("front", 3)
        fan = model.get("system")["Front_Fan_Stats"][2]
        assert fan["Status"] == "OK"
        assert leading_number(fan["RotationalSpeed"]) > 10000
        assert not any(a["id"] == 53 for a in model.alarms)

    def test_fpga_fan_failure(self, model):
        """A failed FPGA fan sets Fan_Status and Fan_Alarm."""
        model.fail_fan("fpga", 2)
        entry = model.get("system")["FPGA_HW_Stats"][1]
        assert (entry["Fan_Status"], entry["Fan_Alarm"]) == ("Failed", True)
        model.restore_fan("fpga", 2)
        assert model.get("system")["FPGA_HW_Stats"][1]["Fan_Status"] == "OK"
        with pytest.raises(ValueError, match="fan kind"):
            model.fail_fan("rear", 1)  # type: ignore[arg-type]

    def test_fan_speed(self, model):
        """set_fan_speed writes whole RPM."""
        model.set_fan_speed(1, 9000.4)
        assert (
            model.get("system")["Front_Fan_Stats"][0]["RotationalSpeed"] == "9000 RPM"
        )

    def test_power_supply(self, model):
        """A pulled supply is absent, disabled, alarm 55 raised; PS_Status stays OK."""
        model.pull_power_supply(2)
        stats = model.get("system")["Power_Supply_Stats"]
        assert (stats["PS_Present_2"], stats["PS_EN_2"], stats["PS_Status"]) == (
            False,
            False,
            "OK",
        )
        assert any("Power supply B" in a["reason"] for a in model.alarms)
        model.insert_power_supply(2)
        assert model.get("system")["Power_Supply_Stats"]["PS_Present_2"] is True
        assert not any("Power supply B" in a["reason"] for a in model.alarms)
        model.set_power_supply_status("Fault")
        assert model.get("system")["Power_Supply_Stats"]["PS_Status"] == "Fault"
        with pytest.raises(ValueError, match="1 or 2"):
            model.pull_power_supply(3)

    def test_qsfp_na(self, model):
        """set_qsfp_na makes temperature and powers 'N/A'; drift keeps them so."""
        model.set_qsfp_na(1)
        model.drift_system()
        qsfp = model.get("system")["QSFP_Stats"][0]
        assert qsfp["Temperature"] == qsfp["RxPower1"] == qsfp["TxPower4"] == "N/A"


class TestPtp:
    def test_unlock_and_relock(self, model, clock):
        """Unlocked values follow §5.3; relock restores the master."""
        model.unlock_ptp()
        status = model.get("ptp")["ptpStatus"]
        expected = fixture("objects/ptp_unlocked.json")["ptpStatus"]
        assert {k: v for k, v in status.items() if k != "ptpUTC"} == {
            k: v for k, v in expected.items() if k != "ptpUTC"
        }
        clock.advance(1)
        model.drift_ptp()  # only the time moves while unlocked
        assert model.get("ptp")["ptpStatus"]["ptpMasterOffset"] == "0.000 us"
        model.relock_ptp()
        status = model.get("ptp")["ptpStatus"]
        assert status["ptpCtlrState"] == "Locked"
        assert status["ptpMasterIP"] == "198.51.100.1"

    def test_drift_moves_offset_and_time(self, model, clock, recorder):
        """A drift step changes offset/delay within bounds and ptpUTC."""
        before = model.get("ptp")["ptpStatus"]
        clock.advance(1)
        model.drift_ptp()
        after = model.get("ptp")["ptpStatus"]
        assert after["ptpUTC"] != before["ptpUTC"]
        assert abs(leading_number(after["ptpMasterOffset"])) <= 1.0
        assert leading_number(after["ptpMasterDelay"]) >= 0
        assert recorder.events == [PTP]

    def test_set_ptp(self, model):
        """set_ptp writes microsecond strings."""
        model.set_ptp(offset_us=-0.0874, delay_us=0.2)
        status = model.get("ptp")["ptpStatus"]
        assert (status["ptpMasterOffset"], status["ptpMasterDelay"]) == (
            "-0.087 us",
            "0.200 us",
        )

    def test_system_drift_stays_near_base(self, model):
        """Many drift steps keep temperatures near their base and strings valid."""
        for _ in range(200):
            model.drift_system()
        system = model.get("system")
        main = leading_number(system["Board_Temperatures"]["Main_Board"])
        assert 43 < main < 49
        assert system["Board_Temperatures"]["Exp1_Board"] == "N/A"
        assert system["QSFP_Stats"][1]["Temperature"] == "N/A"


class TestAlarmsAndChannels:
    def test_set_alarms_updates_stats(self, model):
        """set_alarms replaces the set and recomputes Alarm_Stats."""
        model.set_alarms(
            [
                SnpAlarm(id=53, reason="fan", major=True),
                {
                    "id": 35,
                    "reason": "rx",
                    "location": "ProcessorA",
                    "object_id": "ipVidRx",
                },
                SnpAlarm(id=35, reason="rx 2", location="ProcessorB"),
            ]
        )
        assert model.get("system")["Alarm_Stats"] == {
            "majorInstances": 1,
            "minorInstances": 2,
            "uniqueTypes": 2,
        }
        assert [a["fme_ip_address"] for a in model.alarms] == ["192.0.2.21"] * 3
        model.clear_alarm(35, "ProcessorB")
        assert len(model.alarms) == 2
        model.clear_alarm(99)
        assert len(model.alarms) == 2

    def test_raise_alarm_once(self, model, recorder, clock):
        """raise_alarm stamps the time and ignores a duplicate."""
        alarm = SnpAlarm(id=88, reason="Feature not licensed.")
        model.raise_alarm(alarm)
        model.raise_alarm(alarm)
        assert recorder.events.count(("alarms", None)) == 1
        assert model.alarms[-1]["time_stamp"] == "2023-11-14T22:13:20Z"

    def test_aco(self, model, recorder):
        """flip_aco toggles ABStatus and notifies that channel."""
        assert model.flip_aco("A-HD-1") == "B"
        assert model.flip_aco("A-HD-1") == "A"
        assert model.get("procChannelHD", "A-HD-1")["ACO"]["ABStatus"] == "A"
        assert recorder.events == [("status", ("procChannelHD", "A-HD-1"))] * 2
        with pytest.raises(KeyError):
            model.set_aco("Z-HD-1", "A")

    def test_video_standard(self, model):
        """set_video_standard changes one receiver; unknown idx is a KeyError."""
        model.set_video_standard(2, "Not Present")
        rx = model.get("ipVidRx")["ipVidRxStatus"]
        assert (rx[0]["VidRxStd"], rx[1]["VidRxStd"]) == ("1080i/50", "Not Present")
        with pytest.raises(KeyError):
            model.set_video_standard(99, "1080p/50")

    def test_personality(self, model, recorder):
        """set_personality changes the config and notifies; others are KeyErrors."""
        model.set_personality("processorB", "Quad Conversion")
        assert model.personality("processorB") == "Quad Conversion"
        assert model.config("processorA")["general"]["personality"] == "Sync"
        assert recorder.events == [("config", "processorB")]
        with pytest.raises(KeyError):
            model.set_personality("processorE", "Sync")
        with pytest.raises(KeyError):
            model.personality("system")

    def test_set_object(self, model, recorder):
        """set_object replaces an object or adds a new one, keeping its order."""
        model.set_object({"type": "ipAudRx", "object_ID": "ipAudRx", "x": 1})
        assert model.get("ipAudRx") == {
            "type": "ipAudRx",
            "object_ID": "ipAudRx",
            "x": 1,
        }
        assert model.objects.all_keys()[-1] == ("ipAudRx", "ipAudRx")
        model.set_object({**fixture("objects/videoGenLock.json"), "fme_ip": "x"})
        assert model.get("videoGenLock")["fme_ip"] == "x"
        assert len(model.objects.all_keys()) == 46

    def test_no_listener(self, clock):
        """A model without listener changes silently."""
        model = SnpModel(clock=clock)
        model.set_personality("processorA", "Conv")
        model.set_alarms([])
        model.drift_ptp()
        assert model.personality("processorA") == "Conv"
