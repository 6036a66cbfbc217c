"""Decodes one SNP status object into typed values in base units. Pure: no I/O.

One decoder per status type the exporter exports (``shared/protocols/snp.md``
§5.2-§5.6); each reads members tolerantly (every value may be missing or odd: a
missing member gives no row, never 0) and converts at the edge: times to
seconds, rates to bytes per second, flags to 0/1, labels stripped. The state
keeps the result per (type, object_ID); the collector only reads it.

Field glossary (device member → attribute):

- ``system``: ``SNP_HW_Stats.FWRev/HWRev/Serial`` → ``hardware``;
  ``Alarm_Stats.majorInstances/minorInstances`` → ``major_alarms``/
  ``minor_alarms``; ``Board_Temperatures.Main_Board/IO_Board`` (°C) →
  ``main_board``/``io_board``; ``Power_Supply_Stats.PS_Status`` → ``power_ok``
  (it stayed "OK" with a supply absent, so it is no per-supply flag),
  ``PS_Present_n/PS_EN_n/PS_Fan_Status_n`` → ``psu_*`` by ``n``;
  ``FPGA_HW_Stats[]`` (``Temp``, ``Fan_Status``, ``Temp_Alarm``, ``Fan_Alarm``,
  ``Configuration_Alarm``) → ``fpga_*`` by ``idx``; ``Front_Fan_Stats[]``
  (``RotationalSpeed`` in RPM, ``Status``) → ``fan_*``; ``QSFP_Stats[]``
  (``Temperature``, ``present``, ``dataValid``, ``Temp_Alarm``,
  ``RxPower1..4``/``TxPower1..4`` in dBm) → ``qsfp_*``; ``SFP_Stats[]``
  (``SFP_Present``, ``SFP_Mismatch``) → ``sfp_*``; ``FCS_Stats`` →
  ``fcs_primary``/``fcs_secondary``. ``SFP_Tx_Stats``, ``LED_Stats``,
  ``License_Info`` and the rest are not exported.
- ``ptp`` (``ptpStatus``): ``ptpCtlrState`` ("Locked"), ``ptpMasterOffset`` and
  ``ptpMasterDelay`` ("0.132 us"), ``ptpUcipIsMaster`` ("Master"/"Slave"),
  ``biggestSysTimeUpdate`` ("1001 ms"), ``numSysTimeUpdates`` ("23"), and the
  identity strings of ``ic_snp_ptp_info``. ``ptpUTC``/``rtcTime`` change every
  update: never labels.
- ``ipVidRx`` (``ipVidRxStatus[]``): ``idx``, ``VidRxStd``, ``VidRxColorimetry``;
  for present receivers the packet counters and ``VidRxNetworkJitter``/
  ``VidRxNetworkPathDiff`` ("0.000 ms"). Multicast sources are never labels.
- ``procChannelHD``/``procChannelUHD``: ``ACO.ABStatus`` ("A"/"B"; the UHD ACO
  block is a guess), ``FrameSync.FsVidInputPresent/InputFrozen/InputBlack``.
- ``ipWan`` (``ipWanStatus``): ``pri``/``sec`` ``RxPkts``, ``TxPkts``,
  ``RxErrs`` (counts as strings), ``RxRate``/``TxRate`` ("1319.14 Mbps",
  "19.9909 Gbps"), ``RxOverBandwidth``; ``rx/txConfigBw25G`` (four Mbps strings,
  lanes A-D). ``rx/txConfigBw100G`` is their sum and not exported again.
- ``videoGenLock`` (``GenLock``): ``GL_RefLocked``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from exporterhub.exporters.snp.protocol import (
    as_bool,
    as_count,
    as_index,
    as_number,
    microseconds,
    ok_string,
    rate_bytes_per_second,
    seconds,
    text,
)

__all__ = [
    "LANES",
    "LINKS",
    "ChannelValues",
    "GenlockValues",
    "PtpValues",
    "Rows",
    "SystemValues",
    "VideoRxValues",
    "WanValues",
    "decode_channel",
    "decode_genlock",
    "decode_ptp",
    "decode_system",
    "decode_video_rx",
    "decode_wan",
]

Rows = tuple[tuple[str, float], ...]
"""(label value, value) pairs of a family with one extra label, in device order."""

LINKS: Final = (("primary", "pri"), ("secondary", "sec"))
"""``link`` label values of the WAN families and the member prefix of each."""
LANES: Final = ("A", "B", "C", "D")
"""``lane`` label values of the configured 25G lane bandwidths, in list order."""
_OPTICAL_LANES: Final = ("1", "2", "3", "4")


def _flag(value: object) -> float | None:
    flag = as_bool(value)
    return None if flag is None else float(flag)


def _ok(value: object) -> float | None:
    ok = ok_string(value)
    return None if ok is None else float(ok)


def _member(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _entries(obj: dict[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(idx label, entry)`` of a list member; odd entries are skipped."""
    value = obj.get(key)
    if not isinstance(value, list):
        return
    for entry in value:
        if isinstance(entry, dict):
            index = as_index(entry.get("idx"))
            if index is not None:
                yield index, entry


def _rows(
    entries: list[tuple[str, dict[str, Any]]],
    key: str,
    read: Callable[[object], float | None],
) -> Rows:
    out: list[tuple[str, float]] = []
    for index, entry in entries:
        value = read(entry.get(key))
        if value is not None:
            out.append((index, value))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemValues:
    """The ``system`` object: board health, fans, optics, alarms (§5.2).

    Temperatures in °C, fan speeds in RPM, optical power in dBm, flags 0/1;
    ``Rows`` are keyed by ``idx`` (``psu_*`` by supply number, ``qsfp_rx``/
    ``qsfp_tx`` by ``(idx, lane)``).
    """

    hardware: tuple[str, str, str] | None
    major_alarms: float | None
    minor_alarms: float | None
    main_board: float | None
    io_board: float | None
    power_ok: float | None
    psu_present: Rows
    psu_enabled: Rows
    psu_fan_ok: Rows
    fpga_temperature: Rows
    fpga_fan_ok: Rows
    fpga_temp_alarm: Rows
    fpga_fan_alarm: Rows
    fpga_config_alarm: Rows
    fan_ok: Rows
    fan_rpm: Rows
    qsfp_temperature: Rows
    qsfp_present: Rows
    qsfp_data_valid: Rows
    qsfp_temp_alarm: Rows
    qsfp_rx: tuple[tuple[str, str, float], ...]
    qsfp_tx: tuple[tuple[str, str, float], ...]
    sfp_present: Rows
    sfp_mismatch: Rows
    fcs_primary: float | None
    fcs_secondary: float | None


def _hardware(stats: dict[str, Any]) -> tuple[str, str, str] | None:
    parts = tuple(text(stats.get(key)) for key in ("FWRev", "HWRev", "Serial"))
    if all(part is None for part in parts):
        return None
    firmware, hardware, serial = (part or "" for part in parts)
    return firmware, hardware, serial


def _power(name: str, ps: dict[str, Any]) -> Rows:
    rows: list[tuple[str, float]] = []
    for psu in ("1", "2"):
        value = _flag(ps.get(f"{name}_{psu}"))
        if value is not None:
            rows.append((psu, value))
    return tuple(rows)


def _optics(
    entries: list[tuple[str, dict[str, Any]]], prefix: str
) -> tuple[tuple[str, str, float], ...]:
    out: list[tuple[str, str, float]] = []
    for index, entry in entries:
        for lane in _OPTICAL_LANES:
            value = as_number(entry.get(f"{prefix}{lane}"))
            if value is not None:
                out.append((index, lane, value))
    return tuple(out)


def decode_system(obj: dict[str, Any]) -> SystemValues:
    """Decode a ``system`` status object."""
    alarms = _member(obj, "Alarm_Stats")
    boards = _member(obj, "Board_Temperatures")
    ps = _member(obj, "Power_Supply_Stats")
    fcs = _member(obj, "FCS_Stats")
    fpga = list(_entries(obj, "FPGA_HW_Stats"))
    fans = list(_entries(obj, "Front_Fan_Stats"))
    qsfp = list(_entries(obj, "QSFP_Stats"))
    sfp = list(_entries(obj, "SFP_Stats"))
    major, minor = (
        as_count(alarms.get(k)) for k in ("majorInstances", "minorInstances")
    )
    return SystemValues(
        hardware=_hardware(_member(obj, "SNP_HW_Stats")),
        major_alarms=None if major is None else float(major),
        minor_alarms=None if minor is None else float(minor),
        main_board=as_number(boards.get("Main_Board")),
        io_board=as_number(boards.get("IO_Board")),
        power_ok=_ok(ps.get("PS_Status")),
        psu_present=_power("PS_Present", ps),
        psu_enabled=_power("PS_EN", ps),
        psu_fan_ok=_power("PS_Fan_Status", ps),
        fpga_temperature=_rows(fpga, "Temp", as_number),
        fpga_fan_ok=_rows(fpga, "Fan_Status", _ok),
        fpga_temp_alarm=_rows(fpga, "Temp_Alarm", _flag),
        fpga_fan_alarm=_rows(fpga, "Fan_Alarm", _flag),
        fpga_config_alarm=_rows(fpga, "Configuration_Alarm", _flag),
        fan_ok=_rows(fans, "Status", _ok),
        fan_rpm=_rows(fans, "RotationalSpeed", as_number),
        qsfp_temperature=_rows(qsfp, "Temperature", as_number),
        qsfp_present=_rows(qsfp, "present", _flag),
        qsfp_data_valid=_rows(qsfp, "dataValid", _flag),
        qsfp_temp_alarm=_rows(qsfp, "Temp_Alarm", _flag),
        qsfp_rx=_optics(qsfp, "RxPower"),
        qsfp_tx=_optics(qsfp, "TxPower"),
        sfp_present=_rows(sfp, "SFP_Present", _flag),
        sfp_mismatch=_rows(sfp, "SFP_Mismatch", _flag),
        fcs_primary=_flag(fcs.get("priFCSerrorsExceeded")),
        fcs_secondary=_flag(fcs.get("secFCSerrorsExceeded")),
    )


_PTP_INFO: Final = (
    "clockIdentity",
    "ptpCtlrState",
    "ptpMasterIP",
    "ptpMasterInterfaceIP",
    "ptpMasterUUID",
    "ptpMasterPresent",
)
"""Members behind ``ic_snp_ptp_info``'s labels, in the collector's label order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PtpValues:
    """The ``ptp`` object (§5.3): lock state, offset and delay, identity."""

    locked: float | None
    offset_us: float | None
    delay_us: float | None
    offset_seconds: float | None
    delay_seconds: float | None
    is_master: float | None
    biggest_update_seconds: float | None
    sys_time_updates: float | None
    info: tuple[str, ...] | None


def decode_ptp(obj: dict[str, Any]) -> PtpValues:
    """Decode a ``ptp`` status object."""
    status = _member(obj, "ptpStatus")
    state = text(status.get("ptpCtlrState"))
    role = text(status.get("ptpUcipIsMaster"))
    offset, delay = status.get("ptpMasterOffset"), status.get("ptpMasterDelay")
    updates = as_count(status.get("numSysTimeUpdates"))
    info = None
    if status:
        info = tuple(text(status.get(key)) or "" for key in _PTP_INFO)
    return PtpValues(
        locked=None if state is None else float(state == "Locked"),
        offset_us=microseconds(offset),
        delay_us=microseconds(delay),
        offset_seconds=seconds(offset),
        delay_seconds=seconds(delay),
        is_master=None if role is None else float(role == "Master"),
        biggest_update_seconds=seconds(
            status.get("biggestSysTimeUpdate"), default_unit="ms"
        ),
        sys_time_updates=None if updates is None else float(updates),
        info=info,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoRxValues:
    """The ``ipVidRx`` object (§5.4), by receiver ``idx``.

    One info row per receiver; counts, times and switches only for receivers
    whose standard is not "Not Present".
    """

    info: tuple[tuple[str, str, str], ...]
    missing_packets: Rows
    out_of_range_packets: Rows
    switches: Rows
    jitter_seconds: Rows
    path_difference_seconds: Rows


def _count(value: object) -> float | None:
    count = as_count(value)
    return None if count is None else float(count)


def _ms(value: object) -> float | None:
    return seconds(value, default_unit="ms")


def decode_video_rx(obj: dict[str, Any]) -> VideoRxValues:
    """Decode an ``ipVidRx`` status object."""
    entries = list(_entries(obj, "ipVidRxStatus"))
    info: list[tuple[str, str, str]] = []
    present: list[tuple[str, dict[str, Any]]] = []
    for index, entry in entries:
        standard = text(entry.get("VidRxStd"))
        if standard is None:
            continue
        info.append((index, standard, text(entry.get("VidRxColorimetry")) or ""))
        if standard != "Not Present":
            present.append((index, entry))
    return VideoRxValues(
        info=tuple(info),
        missing_packets=_rows(present, "VidRxMissingPktCnt", _count),
        out_of_range_packets=_rows(present, "VidRxOORPktCnt", _count),
        switches=_rows(present, "VidRxSwitchCount", _count),
        jitter_seconds=_rows(present, "VidRxNetworkJitter", _ms),
        path_difference_seconds=_rows(present, "VidRxNetworkPathDiff", _ms),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelValues:
    """A ``procChannelHD``/``procChannelUHD`` object (§5.5), flags as 0/1."""

    aco_on_a: float | None
    input_present: float | None
    input_frozen: float | None
    input_black: float | None


def decode_channel(obj: dict[str, Any]) -> ChannelValues:
    """Decode a processing channel's status object."""
    aco = _member(obj, "ACO")
    sync = _member(obj, "FrameSync")
    side = text(aco.get("ABStatus"))
    return ChannelValues(
        aco_on_a=None if side is None else float(side == "A"),
        input_present=_flag(sync.get("FsVidInputPresent")),
        input_frozen=_flag(sync.get("InputFrozen")),
        input_black=_flag(sync.get("InputBlack")),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WanValues:
    """The ``ipWan`` object (§5.6): per link, and the configured lane bandwidth."""

    receive_packets: Rows
    transmit_packets: Rows
    receive_errors: Rows
    receive_rate: Rows
    transmit_rate: Rows
    over_bandwidth: Rows
    configured: tuple[tuple[str, str, float], ...]


def _links(
    status: dict[str, Any], suffix: str, read: Callable[[object], float | None]
) -> Rows:
    rows: list[tuple[str, float]] = []
    for link, prefix in LINKS:
        value = read(status.get(f"{prefix}{suffix}"))
        if value is not None:
            rows.append((link, value))
    return tuple(rows)


def decode_wan(obj: dict[str, Any]) -> WanValues:
    """Decode an ``ipWan`` status object."""
    status = _member(obj, "ipWanStatus")
    configured: list[tuple[str, str, float]] = []
    for direction, key in (("receive", "rxConfigBw25G"), ("transmit", "txConfigBw25G")):
        lanes = status.get(key)
        if not isinstance(lanes, list):
            continue
        for lane, value in zip(LANES, lanes, strict=False):
            rate = rate_bytes_per_second(value)
            if rate is not None:
                configured.append((direction, lane, rate))
    return WanValues(
        receive_packets=_links(status, "RxPkts", _count),
        transmit_packets=_links(status, "TxPkts", _count),
        receive_errors=_links(status, "RxErrs", _count),
        receive_rate=_links(status, "RxRate", rate_bytes_per_second),
        transmit_rate=_links(status, "TxRate", rate_bytes_per_second),
        over_bandwidth=_links(status, "RxOverBandwidth", _flag),
        configured=tuple(configured),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GenlockValues:
    """The ``videoGenLock`` object (§5.6)."""

    reference_locked: float | None


def decode_genlock(obj: dict[str, Any]) -> GenlockValues:
    """Decode a ``videoGenLock`` status object."""
    return GenlockValues(
        reference_locked=_flag(_member(obj, "GenLock").get("GL_RefLocked"))
    )
