"""The SNP table's §6.3 rows: fields the original ignored or exported later.

``shared/protocols/snp.md`` §6.3, in base units (seconds, bytes per second), with
the spellings later versions of the original used (``ic_snp_fpga_temp_alarm`` …)
kept. Every row here is a device value, omitted while the stream is not up.
Reads an ``SnpSnapshot`` only; no I/O.
"""

from __future__ import annotations

from typing import Final

from exporterhub.core.metrics import MetricSpec
from exporterhub.exporters.snp.readers import (
    channels,
    configured,
    counter,
    gauge,
    genlock,
    info,
    objects,
    optics,
    ptp,
    ptp_info,
    system,
    system_rows,
    video,
    wan,
)
from exporterhub.exporters.snp.state import SnpSnapshot

__all__ = ["ADDITIONS"]


ADDITIONS: Final[list[MetricSpec[SnpSnapshot]]] = [
    gauge(
        "ic_snp_ptp_master_offset_seconds",
        "Offset from the PTP master in seconds (ptp ptpMasterOffset).",
        ptp(lambda v: v.offset_seconds),
    ),
    gauge(
        "ic_snp_ptp_master_delay_seconds",
        "Delay to the PTP master in seconds (ptp ptpMasterDelay).",
        ptp(lambda v: v.delay_seconds),
    ),
    gauge(
        "ic_snp_ptp_is_master",
        "1 when the SNP is the PTP master (free-running), else 0 "
        "(ptp ptpUcipIsMaster).",
        ptp(lambda v: v.is_master),
    ),
    info(
        "ic_snp_ptp_info",
        "PTP identity: clockIdentity, ptpCtlrState, ptpMasterIP, "
        "ptpMasterInterfaceIP, ptpMasterUUID, ptpMasterPresent (ptp); always 1.",
        ptp_info,
        (
            "clock_identity",
            "controller_state",
            "master_ip",
            "master_interface_ip",
            "master_uuid",
            "master_present",
        ),
        kept=False,
    ),
    gauge(
        "ic_snp_ptp_biggest_sys_time_update_seconds",
        "Biggest system time update in seconds (ptp biggestSysTimeUpdate).",
        ptp(lambda v: v.biggest_update_seconds),
    ),
    counter(
        "ic_snp_ptp_sys_time_updates_total",
        "System time updates the SNP counted (ptp numSysTimeUpdates).",
        ptp(lambda v: v.sys_time_updates),
    ),
    gauge(
        "ic_snp_fpga_temp_alarm",
        "1 while the FPGA's temperature alarm is raised, by idx "
        "(system FPGA_HW_Stats[].Temp_Alarm).",
        system_rows(lambda v: v.fpga_temp_alarm),
        ("index",),
    ),
    gauge(
        "ic_snp_fpga_fan_alarm",
        "1 while the FPGA's fan alarm is raised, by idx "
        "(system FPGA_HW_Stats[].Fan_Alarm).",
        system_rows(lambda v: v.fpga_fan_alarm),
        ("index",),
    ),
    gauge(
        "ic_snp_fpga_config_alarm",
        "1 while the FPGA's configuration alarm is raised, by idx "
        "(system FPGA_HW_Stats[].Configuration_Alarm).",
        system_rows(lambda v: v.fpga_config_alarm),
        ("index",),
    ),
    gauge(
        "ic_snp_front_fan_rpm",
        "Front fan speed in revolutions per minute, by idx "
        "(system Front_Fan_Stats[].RotationalSpeed).",
        system_rows(lambda v: v.fan_rpm),
        ("index",),
    ),
    gauge(
        "ic_snp_qsfp_present",
        "1 when a QSFP module is plugged in, by idx (system QSFP_Stats[].present).",
        system_rows(lambda v: v.qsfp_present),
        ("index",),
    ),
    gauge(
        "ic_snp_qsfp_data_valid",
        "1 when the QSFP module's diagnostics are valid, by idx "
        "(system QSFP_Stats[].dataValid).",
        system_rows(lambda v: v.qsfp_data_valid),
        ("index",),
    ),
    gauge(
        "ic_snp_qsfp_temp_alarm",
        "1 while the QSFP module's temperature alarm is raised, by idx "
        "(system QSFP_Stats[].Temp_Alarm).",
        system_rows(lambda v: v.qsfp_temp_alarm),
        ("index",),
    ),
    gauge(
        "ic_snp_qsfp_rx_power_dbm",
        "QSFP received optical power per lane in dBm, by idx and lane 1-4 "
        "(system QSFP_Stats[].RxPower1..4); absent while N/A.",
        optics(receive=True),
        ("index", "lane"),
    ),
    gauge(
        "ic_snp_qsfp_tx_power_dbm",
        "QSFP transmitted optical power per lane in dBm, by idx and lane 1-4 "
        "(system QSFP_Stats[].TxPower1..4); absent while N/A.",
        optics(receive=False),
        ("index", "lane"),
    ),
    gauge(
        "ic_snp_sfp_present",
        "1 when an SFP module is plugged in, by idx (system SFP_Stats[].SFP_Present).",
        system_rows(lambda v: v.sfp_present),
        ("index",),
    ),
    gauge(
        "ic_snp_sfp_mismatch",
        "1 when the SFP module does not match the port, by idx "
        "(system SFP_Stats[].SFP_Mismatch).",
        system_rows(lambda v: v.sfp_mismatch),
        ("index",),
    ),
    gauge(
        "ic_snp_fcs_primary_errors_exceeded",
        "1 while the primary media port's FCS errors exceed their threshold "
        "(system FCS_Stats.priFCSerrorsExceeded).",
        system(lambda v: v.fcs_primary),
    ),
    gauge(
        "ic_snp_fcs_secondary_errors_exceeded",
        "1 while the secondary media port's FCS errors exceed their threshold "
        "(system FCS_Stats.secFCSerrorsExceeded).",
        system(lambda v: v.fcs_secondary),
    ),
    gauge(
        "ic_snp_powersupply_present",
        "1 when power supply psu is present (system Power_Supply_Stats."
        "PS_Present_1/2).",
        system_rows(lambda v: v.psu_present),
        ("psu",),
    ),
    gauge(
        "ic_snp_powersupply_enabled",
        "1 when power supply psu is enabled (system Power_Supply_Stats.PS_EN_1/2).",
        system_rows(lambda v: v.psu_enabled),
        ("psu",),
    ),
    gauge(
        "ic_snp_powersupply_fan_ok",
        "1 when power supply psu's fan is good (system Power_Supply_Stats."
        "PS_Fan_Status_1/2).",
        system_rows(lambda v: v.psu_fan_ok),
        ("psu",),
    ),
    counter(
        "ic_snp_wan_receive_packets_total",
        "Packets received on the media link (ipWan priRxPkts, secRxPkts).",
        wan(lambda v: v.receive_packets),
        ("link",),
    ),
    counter(
        "ic_snp_wan_transmit_packets_total",
        "Packets sent on the media link (ipWan priTxPkts, secTxPkts).",
        wan(lambda v: v.transmit_packets),
        ("link",),
    ),
    counter(
        "ic_snp_wan_receive_errors_total",
        "Receive errors on the media link (ipWan priRxErrs, secRxErrs).",
        wan(lambda v: v.receive_errors),
        ("link",),
    ),
    gauge(
        "ic_snp_wan_receive_bytes_per_second",
        "Receive rate of the media link in bytes per second (ipWan priRxRate, "
        "secRxRate, converted from Mbps/Gbps).",
        wan(lambda v: v.receive_rate),
        ("link",),
    ),
    gauge(
        "ic_snp_wan_transmit_bytes_per_second",
        "Transmit rate of the media link in bytes per second (ipWan priTxRate, "
        "secTxRate, converted from Mbps/Gbps).",
        wan(lambda v: v.transmit_rate),
        ("link",),
    ),
    gauge(
        "ic_snp_wan_over_bandwidth",
        "1 while the media link receives more than its configured bandwidth "
        "(ipWan priRxOverBandwidth, secRxOverBandwidth).",
        wan(lambda v: v.over_bandwidth),
        ("link",),
    ),
    gauge(
        "ic_snp_wan_configured_bytes_per_second",
        "Configured bandwidth per 25G lane A-D and direction in bytes per second "
        "(ipWan rxConfigBw25G, txConfigBw25G, Mbps).",
        configured,
        ("direction", "lane"),
    ),
    counter(
        "ic_snp_video_rx_missing_packets_total",
        "Missing packets of a present IP video receiver, by idx "
        "(ipVidRx VidRxMissingPktCnt).",
        video(lambda v: v.missing_packets),
        ("index",),
    ),
    counter(
        "ic_snp_video_rx_out_of_range_packets_total",
        "Out-of-range packets of a present IP video receiver, by idx "
        "(ipVidRx VidRxOORPktCnt).",
        video(lambda v: v.out_of_range_packets),
        ("index",),
    ),
    counter(
        "ic_snp_video_rx_switches_total",
        "Source switches of a present IP video receiver, by idx "
        "(ipVidRx VidRxSwitchCount).",
        video(lambda v: v.switches),
        ("index",),
    ),
    gauge(
        "ic_snp_video_rx_network_jitter_seconds",
        "Network jitter of a present IP video receiver in seconds, by idx "
        "(ipVidRx VidRxNetworkJitter).",
        video(lambda v: v.jitter_seconds),
        ("index",),
    ),
    gauge(
        "ic_snp_video_rx_path_difference_seconds",
        "ST 2022-7 path difference of a present IP video receiver in seconds, by "
        "idx (ipVidRx VidRxNetworkPathDiff).",
        video(lambda v: v.path_difference_seconds),
        ("index",),
    ),
    gauge(
        "ic_snp_channel_input_present",
        "1 when the channel's frame synchronizer sees an input, by object_ID "
        "(procChannelHD FrameSync.FsVidInputPresent).",
        channels(lambda v: v.input_present),
        ("channel",),
    ),
    gauge(
        "ic_snp_channel_input_frozen",
        "1 while the channel's input is frozen, by object_ID "
        "(procChannelHD FrameSync.InputFrozen).",
        channels(lambda v: v.input_frozen),
        ("channel",),
    ),
    gauge(
        "ic_snp_channel_input_black",
        "1 while the channel's input is black, by object_ID "
        "(procChannelHD FrameSync.InputBlack).",
        channels(lambda v: v.input_black),
        ("channel",),
    ),
    gauge(
        "ic_snp_genlock_reference_locked",
        "1 when the video genlock is locked to its reference "
        "(videoGenLock GenLock.GL_RefLocked).",
        genlock,
    ),
    gauge(
        "ic_snp_object_last_update_timestamp_seconds",
        "Unix time on the exporter's clock when the status object last arrived on "
        "the current connection (objects are only re-sent when they change).",
        objects,
        ("object_type", "object_id"),
    ),
]
"""§6.3: fields the original ignored or added later, in base units."""
