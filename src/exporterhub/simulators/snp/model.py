"""One simulated SNP's state: status objects, alarms, personalities, drift.

Starts from the bundled object set (``catalog``; ``snp.md`` §5) with the device's
own address, serial and MACs, and changes only through the control methods below
or the drift steps a fleet timer calls. Every change tells the
:class:`ModelListener` (the device's server), which pushes ``statusState``,
``activeAlarmStatus`` or ``objectsState`` to its sessions as the real SMM would.

Drift (``drift``; clock injected, seeded random): PTP offset and delay every step
while locked and ``ptpUTC`` always; board, FPGA and QSFP temperatures (°C) and
front fan speeds (RPM) wander around their base values on the slower system step.
A value set through a control method becomes the new base. Failed fans read
``"0 RPM"`` and do not drift.

Alarms and ``system.Alarm_Stats`` change together (``alarms``): failing a front
fan raises alarm 53, pulling a power supply alarm 55, and ``set_alarms`` replaces
the set. The initial state keeps the fixture's numbers until the first change.

Objects are copy-on-write over shared templates (``objects``), so thousands of
devices cost little. This module must not do I/O, sleep or read time except
through ``clock``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, Protocol

from exporterhub.simulators.snp.alarms import AlarmSet, SnpAlarm
from exporterhub.simulators.snp.catalog import (
    FIXTURE_FME_IP,
    PROCESSORS,
    Catalog,
    ObjectKey,
    identity,
    load_catalog,
)
from exporterhub.simulators.snp.configs import ConfigStore
from exporterhub.simulators.snp.drift import Drift
from exporterhub.simulators.snp.objects import ObjectStore
from exporterhub.simulators.snp.timers import Clock
from exporterhub.simulators.snp.wire import celsius_text, micros_text, ptp_utc, rpm_text

__all__ = ["ModelListener", "SnpModel"]

SYSTEM: Final = ("system", "system")
PTP: Final = ("ptp", "ptp")
VIDEO_RX: Final = ("ipVidRx", "ipVidRx")
FAILED: Final = "Failed"  # failure strings are unknown (§5.2); anything but "OK"
BOOTED_BEFORE_S: Final = 14 * 86400 + 3600 + 26 * 60 + 9  # the fixture's pwrOnTime
_PSU_LETTER: Final = {1: "A", 2: "B"}
_DRIFTING: Final = ("Board_Temperatures", "FPGA_HW_Stats", "Front_Fan_Stats")


class ModelListener(Protocol):
    """Told about every change; the device's server pushes the frames."""

    def status_changed(self, key: ObjectKey) -> None:
        """A status object changed."""

    def alarms_changed(self) -> None:
        """The active alarm set changed."""

    def config_changed(self, object_id: str) -> None:
        """A configuration (a processor's personality) changed."""


class SnpModel:
    """The state of one simulated SNP and the methods that change it.

    Attributes:
        fme_ip: the device's address, in every object's ``fme_ip``.
        serial: ``SNP_HW_Stats.Serial``.
        clock_identity: ``ptpStatus.clockIdentity``.
        objects: the status objects (read them with :meth:`get`).
        configs: the configurations (personalities) and other SMM answers.
        listener: told about changes; ``None`` = nobody.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        fme_ip: str = FIXTURE_FME_IP,
        index: int = 0,
        seed: int | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.fme_ip = fme_ip
        self.listener: ModelListener | None = None
        self._clock = clock
        self._catalog = catalog or load_catalog()
        self.objects = ObjectStore(self._catalog, fme_ip)
        self._booted = clock.time() - BOOTED_BEFORE_S
        self._alarms = AlarmSet(
            SnpAlarm.from_wire(a, major=a["id"] == 55) for a in self._catalog.alarms
        )
        hardware, self.clock_identity = identity(index)
        self.serial = hardware["Serial"]
        self.configs = ConfigStore(self._catalog, fme_ip=fme_ip, serial=self.serial)
        if index:
            self.objects.edit(SYSTEM, "SNP_HW_Stats")["SNP_HW_Stats"].update(hardware)
            status = self.objects.edit(PTP, "ptpStatus")["ptpStatus"]
            status["clockIdentity"] = self.clock_identity
        self._locked_ptp = dict(self.objects.obj(PTP)["ptpStatus"])
        self.drift = Drift(
            self.objects.obj(SYSTEM), self._locked_ptp, random.Random(seed)
        )

    # ------------------------------------------------------------ reading

    def get(self, object_type: str, object_id: str | None = None) -> dict[str, Any]:
        """Return a status object (read-only); a singleton by type alone.

        Raises:
            KeyError: no such object.
        """
        return self.objects.obj(self.objects.find(object_type, object_id))

    def config(self, object_id: str) -> dict[str, Any] | None:
        """Return the configuration ``processorA`` … ``processorD`` or ``system``."""
        return self.configs.get(object_id)

    def personality(self, processor: str) -> str:
        """Return a processor's current personality.

        Raises:
            KeyError: no such processor.
        """
        config = self.configs.get(processor) if processor in PROCESSORS else None
        if config is None:
            raise KeyError(processor)
        return str(config["general"]["personality"])

    @property
    def alarms(self) -> list[dict[str, Any]]:
        """Return the ``activeAlarms`` entries as sent on the wire."""
        return self._alarms.wire(fme_ip=self.fme_ip, now=self._now_iso())

    def console_status(self) -> dict[str, Any]:
        """Return the ``GET /api/console/status`` answer; uptime from the clock."""
        return self.configs.console_status(self._clock.time() - self._booted)

    # ------------------------------------------------------------ hardware

    def set_temperature(self, board: str, celsius: float) -> None:
        """Set a ``Board_Temperatures`` member (``Main_Board``, ``IO_Board`` …), °C.

        Raises:
            KeyError: the board has no temperature (``Exp1_Board`` reads "N/A").
        """
        if board not in self.drift.boards:
            raise KeyError(f"no board temperature {board!r}")
        self.drift.set_board(board, celsius)
        self._write_system()

    def set_fpga_temperature(self, idx: int, celsius: float) -> None:
        """Set ``FPGA_HW_Stats[idx].Temp``, °C (``idx`` from 1)."""
        self.drift.set_fpga(idx - 1, celsius)
        self._write_system()

    def set_qsfp_temperature(self, idx: int, celsius: float) -> None:
        """Set ``QSFP_Stats[idx].Temperature``, °C (``idx`` from 1)."""
        self.drift.set_qsfp(idx - 1, celsius)
        self._write_system()

    def set_fan_speed(self, idx: int, rpm: float) -> None:
        """Set front fan ``idx``'s speed, RPM."""
        self.drift.set_fan(idx - 1, rpm)
        self._write_system()

    def set_qsfp_na(self, idx: int) -> None:
        """Make QSFP ``idx`` read "N/A" (temperature and powers), like a copper DAC."""
        self.drift.set_qsfp(idx - 1, None)
        entry = self.objects.edit(SYSTEM, "QSFP_Stats")["QSFP_Stats"][idx - 1]
        for lane in range(1, 5):
            entry[f"RxPower{lane}"] = entry[f"TxPower{lane}"] = "N/A"
        self._write_system(force=True)

    def fail_fan(self, kind: Literal["front", "fpga"], idx: int) -> None:
        """Fail a front fan (status "Failed", "0 RPM", alarm 53) or an FPGA fan.

        Raises:
            ValueError: ``kind`` is neither ``"front"`` nor ``"fpga"``.
        """
        self._set_fan(kind, idx, ok=False)

    def restore_fan(self, kind: Literal["front", "fpga"], idx: int) -> None:
        """Undo :meth:`fail_fan`."""
        self._set_fan(kind, idx, ok=True)

    def _set_fan(self, kind: str, idx: int, *, ok: bool) -> None:
        if kind == "front":
            if ok:
                self.drift.failed_fans.discard(idx)
            else:
                self.drift.failed_fans.add(idx)
            entry = self.objects.edit(SYSTEM, "Front_Fan_Stats")["Front_Fan_Stats"]
            entry[idx - 1]["Status"] = "OK" if ok else FAILED
            self._write_system(force=True)
            reason = f"Front panel fan {idx} failure detected."
            alarm = SnpAlarm(id=53, reason=reason, location="System Fan", major=True)
            self._toggle_alarm(alarm, raised=not ok)
        elif kind == "fpga":
            entry = self.objects.edit(SYSTEM, "FPGA_HW_Stats")["FPGA_HW_Stats"]
            entry[idx - 1].update(Fan_Status="OK" if ok else FAILED, Fan_Alarm=not ok)
            self._changed(SYSTEM)
        else:
            raise ValueError(f"fan kind must be 'front' or 'fpga', not {kind!r}")

    def pull_power_supply(self, n: int) -> None:
        """Remove power supply ``n`` (1 or 2): alarm 55; ``PS_Status`` stays "OK".

        Raises:
            ValueError: ``n`` is not 1 or 2.
        """
        self._set_supply(n, present=False)

    def insert_power_supply(self, n: int) -> None:
        """Undo :meth:`pull_power_supply`."""
        self._set_supply(n, present=True)

    def _set_supply(self, n: int, *, present: bool) -> None:
        if n not in _PSU_LETTER:
            raise ValueError(f"power supply must be 1 or 2, not {n}")
        stats = self.objects.edit(SYSTEM, "Power_Supply_Stats")["Power_Supply_Stats"]
        for member in ("PS_Present", "PS_EN", "PS_Fan_Status"):
            stats[f"{member}_{n}"] = present
        self._changed(SYSTEM)
        reason = f"Power supply {_PSU_LETTER[n]} is bad or AC power is not connected."
        alarm = SnpAlarm(id=55, reason=reason, location="System Power Supply")
        self._toggle_alarm(alarm, raised=not present)

    def set_power_supply_status(self, text: str) -> None:
        """Set ``Power_Supply_Stats.PS_Status`` ("OK", or any failure string)."""
        stats = self.objects.edit(SYSTEM, "Power_Supply_Stats")["Power_Supply_Stats"]
        stats["PS_Status"] = text
        self._changed(SYSTEM)

    # ------------------------------------------------------------ PTP

    def unlock_ptp(self) -> None:
        """Lose PTP lock: "Unlocked-Free Run", master 0.0.0.0, own UUID (§5.3)."""
        self.drift.locked = False
        self.objects.edit(PTP)["ptpStatus"] = {
            **self._catalog.ptp_unlocked,
            "clockIdentity": self.clock_identity,
            "ptpMasterUUID": self.clock_identity.replace(" ", "-"),
            "ptpUTC": ptp_utc(self._clock.time()),
        }
        self._changed(PTP)

    def relock_ptp(self) -> None:
        """Regain PTP lock with the locked master's values."""
        self.drift.locked = True
        self.objects.edit(PTP)["ptpStatus"] = dict(self._locked_ptp)
        self._write_ptp()

    def set_ptp(self, *, offset_us: float, delay_us: float | None = None) -> None:
        """Set the PTP master offset (and delay), microseconds."""
        self.drift.offset = offset_us
        if delay_us is not None:
            self.drift.delay = self.drift.base_delay = delay_us
        self._write_ptp()

    # ------------------------------------------------------------ alarms

    def set_alarms(self, alarms: Iterable[SnpAlarm | Mapping[str, Any]]) -> None:
        """Replace the active alarm set (entries as :class:`SnpAlarm` or wire dicts)."""
        self._alarms.replace(alarms)
        self._alarms_changed()

    def raise_alarm(self, alarm: SnpAlarm) -> None:
        """Add one active alarm (nothing happens if the same one is active)."""
        self._toggle_alarm(alarm, raised=True)

    def clear_alarm(self, alarm_id: int, location: str | None = None) -> None:
        """Remove the active alarms with this id (and location, when given)."""
        if self._alarms.remove(alarm_id, location):
            self._alarms_changed()

    def _toggle_alarm(self, alarm: SnpAlarm, *, raised: bool) -> None:
        if not raised:
            self.clear_alarm(alarm.id, alarm.location)
        elif self._alarms.add(alarm, now=self._now_iso()):
            self._alarms_changed()

    def _alarms_changed(self) -> None:
        self.objects.edit(SYSTEM)["Alarm_Stats"] = self._alarms.stats()
        if self.listener is not None:
            self.listener.alarms_changed()
        self._changed(SYSTEM)

    def _now_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock.time()))

    # ------------------------------------------------------------ channels, video

    def flip_aco(self, object_id: str) -> str:
        """Switch a channel's ACO between A and B; return the new side."""
        side = self.get("procChannelHD", object_id)["ACO"]["ABStatus"]
        new = "B" if side == "A" else "A"
        self.set_aco(object_id, new)
        return new

    def set_aco(self, object_id: str, side: str) -> None:
        """Set a channel's ``ACO.ABStatus`` (``"A"``, ``"B"``).

        Raises:
            KeyError: no such channel.
        """
        key = self.objects.find("procChannelHD", object_id)
        self.objects.edit(key, "ACO")["ACO"]["ABStatus"] = side
        self._changed(key)

    def set_video_standard(self, idx: int, standard: str) -> None:
        """Set receiver ``idx``'s ``VidRxStd`` (``"1080p/50"``, ``"Not Present"``).

        Raises:
            KeyError: no receiver ``idx``.
        """
        if not any(e.get("idx") == idx for e in self.get(*VIDEO_RX)["ipVidRxStatus"]):
            raise KeyError(f"no video receiver {idx}")
        rx = self.objects.edit(VIDEO_RX, "ipVidRxStatus")["ipVidRxStatus"]
        next(e for e in rx if e.get("idx") == idx)["VidRxStd"] = standard
        self._changed(VIDEO_RX)

    def set_personality(self, processor: str, personality: str) -> None:
        """Change a processor's personality; sessions get an ``objectsState``.

        Raises:
            KeyError: no such processor.
        """
        self.configs.set_personality(processor, personality)
        if self.listener is not None:
            self.listener.config_changed(processor)

    def set_object(self, obj: Mapping[str, Any]) -> None:
        """Replace (or add) a whole status object, keyed by ``type``/``object_ID``."""
        self._changed(self.objects.replace(obj))

    # ------------------------------------------------------------ drift

    def drift_ptp(self) -> None:
        """One PTP step: new offset and delay while locked, and a new ``ptpUTC``."""
        if self.drift.locked:
            self.drift.step_ptp()
            self._write_ptp()
        else:
            status = self.objects.edit(PTP, "ptpStatus")["ptpStatus"]
            status["ptpUTC"] = ptp_utc(self._clock.time())
            self._changed(PTP)

    def drift_system(self) -> None:
        """One system step: temperatures and fan speeds wander; push if changed."""
        self.drift.step_system()
        self._write_system()

    def _write_ptp(self) -> None:
        status = self.objects.edit(PTP, "ptpStatus")["ptpStatus"]
        status["ptpMasterOffset"] = micros_text(self.drift.offset)
        status["ptpMasterDelay"] = micros_text(self.drift.delay)
        status["ptpUTC"] = ptp_utc(self._clock.time())
        self._changed(PTP)

    def _write_system(self, *, force: bool = False) -> None:
        """Write the drift values into ``system``; notify if a string changed."""
        d = self.drift
        boards = {k: celsius_text(v) for k, v in d.boards.items()}
        columns = {
            ("FPGA_HW_Stats", "Temp"): [celsius_text(v) for v in d.fpga],
            ("Front_Fan_Stats", "RotationalSpeed"): [
                rpm_text(0 if i + 1 in d.failed_fans else v)
                for i, v in enumerate(d.fans)
            ],
            ("QSFP_Stats", "Temperature"): [
                "N/A" if v is None else celsius_text(v) for v in d.qsfp
            ],
        }
        current = self.objects.obj(SYSTEM)
        changed = force or any(
            current["Board_Temperatures"][k] != v for k, v in boards.items()
        )
        for (member, field), values in columns.items():
            changed = changed or [e[field] for e in current[member]] != values
        if not changed:
            return
        obj = self.objects.edit(SYSTEM, *_DRIFTING, "QSFP_Stats")
        obj["Board_Temperatures"].update(boards)
        for (member, field), values in columns.items():
            for entry, value in zip(obj[member], values, strict=True):
                entry[field] = value
        self._changed(SYSTEM)

    def _changed(self, key: ObjectKey) -> None:
        if self.listener is not None:
            self.listener.status_changed(key)
