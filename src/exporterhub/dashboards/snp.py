"""The SNP dashboard: a rack of temperatures, fans, PSUs, PTP, alarms, ACO, video.

One dashboard for a rack of Imagine Communications SNPs, chosen by job, instance
and target (the SNP's name). Series come from docs/metrics/snp.md; nothing else.
A down stream omits every device value, so the first panel is the stream itself.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from . import _common as c

__all__ = ["UID", "build"]

UID = "exporterhub-snp"
SEL = 'job=~"$job",instance=~"$instance",target=~"$target"'
CELSIUS = "celsius"
_HIDE = ("Time", "__name__", "job", "instance")


def _rack() -> list[c.Item]:
    return [
        c.row("Rack"),
        c.stat(
            "Stream",
            "ic_snp_up: the WebSocket stream is open and fresh;"
            " while it is down every value is hidden.",
            [c.query(f"ic_snp_up{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[c.UP_MAP],
            width=6,
        ),
        c.stat(
            "PTP",
            "1 when the PTP controller is locked.",
            [c.query(f"ic_snp_ptp_status{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[
                c.value_map({"0": ("UNLOCKED", "red"), "1": ("locked", "green")})
            ],
            width=6,
        ),
        c.stat(
            "Major alarms",
            "Major alarm instances.",
            [c.query(f"ic_snp_major_alarms{{{SEL}}}", "{{target}}", instant=True)],
            steps=c.thresholds((None, "green"), (1, "red")),
            width=6,
        ),
        c.stat(
            "Power supplies",
            "1 when the SNP reports its power supplies OK.",
            [
                c.query(
                    f"ic_snp_powersupply_status{{{SEL}}}", "{{target}}", instant=True
                )
            ],
            mappings=[c.OK_FAIL],
            width=6,
        ),
    ]


def _thermal() -> list[c.Item]:
    return [
        c.row("Temperatures and fans"),
        c.timeseries(
            "Board temperatures",
            "Main board and IO board.",
            [
                c.query(f"ic_snp_mainboard_temperature{{{SEL}}}", "{{target}} main"),
                c.query(f"ic_snp_ioboard_temperature{{{SEL}}}", "{{target}} IO"),
            ],
            unit=CELSIUS,
            width=8,
        ),
        c.timeseries(
            "FPGA temperatures",
            "Each FPGA's temperature.",
            [c.query(f"ic_snp_fpga_temperature{{{SEL}}}", "{{target}} FPGA {{index}}")],
            unit=CELSIUS,
            width=8,
        ),
        c.timeseries(
            "QSFP temperatures",
            "QSFP module temperatures (absent for copper cables).",
            [c.query(f"ic_snp_qsfp_temperature{{{SEL}}}", "{{target}} QSFP {{index}}")],
            unit=CELSIUS,
            width=8,
        ),
        c.timeseries(
            "Front fans",
            "Front fan speeds.",
            [c.query(f"ic_snp_front_fan_rpm{{{SEL}}}", "{{target}} fan {{index}}")],
            unit="rotrpm",
        ),
        c.state_timeline(
            "Fans",
            "Front and FPGA fan status: 1 OK.",
            [
                c.query(
                    f"ic_snp_front_fan_status{{{SEL}}}", "{{target}} front {{index}}"
                ),
                c.query(
                    f"ic_snp_fpga_fan_status{{{SEL}}}", "{{target}} FPGA {{index}}"
                ),
            ],
            mappings=[c.OK_FAIL],
        ),
    ]


def _power_ptp() -> list[c.Item]:
    return [
        c.row("Power and PTP"),
        c.table(
            "Power supplies",
            "Each supply: present, enabled, fan good (1 yes).",
            [
                c.query(f"ic_snp_powersupply_present{{{SEL}}}", instant=True),
                c.query(f"ic_snp_powersupply_enabled{{{SEL}}}", instant=True),
                c.query(f"ic_snp_powersupply_fan_ok{{{SEL}}}", instant=True),
            ],
            hide=_HIDE,
            rename={"Value #A": "present", "Value #B": "enabled", "Value #C": "fan OK"},
            width=12,
        ),
        c.timeseries(
            "PTP offset and delay",
            "Offset from and delay to the PTP master.",
            [
                c.query(
                    f"ic_snp_ptp_master_offset_seconds{{{SEL}}}", "{{target}} offset"
                ),
                c.query(
                    f"ic_snp_ptp_master_delay_seconds{{{SEL}}}", "{{target}} delay"
                ),
            ],
            unit="s",
        ),
        c.state_timeline(
            "PTP lock",
            "PTP controller locked over time.",
            [c.query(f"ic_snp_ptp_status{{{SEL}}}", "{{target}}")],
            mappings=[
                c.value_map({"0": ("unlocked", "red"), "1": ("locked", "green")})
            ],
            width=12,
            height=6,
        ),
        c.table(
            "PTP",
            "PTP identity and master.",
            [c.query(f"ic_snp_ptp_info{{{SEL}}}", instant=True)],
            hide=(*_HIDE, "Value"),
            width=12,
            height=6,
        ),
    ]


def _alarms() -> list[c.Item]:
    return [
        c.row("Alarms and change-over"),
        c.timeseries(
            "Alarms",
            "Major, minor and active alarms.",
            [
                c.query(f"ic_snp_major_alarms{{{SEL}}}", "{{target}} major"),
                c.query(f"ic_snp_minor_alarms{{{SEL}}}", "{{target}} minor"),
                c.query(f"ic_snp_active_alarms{{{SEL}}}", "{{target}} active"),
            ],
        ),
        c.state_timeline(
            "Hardware alarms",
            "FPGA temperature, fan and configuration alarms, QSFP temperature alarms.",
            [
                c.query(
                    f"max by (target) (ic_snp_fpga_temp_alarm{{{SEL}}})",
                    "{{target}} FPGA temp",
                ),
                c.query(
                    f"max by (target) (ic_snp_fpga_fan_alarm{{{SEL}}})",
                    "{{target}} FPGA fan",
                ),
                c.query(
                    f"max by (target) (ic_snp_fpga_config_alarm{{{SEL}}})",
                    "{{target}} FPGA config",
                ),
                c.query(
                    f"max by (target) (ic_snp_qsfp_temp_alarm{{{SEL}}})",
                    "{{target}} QSFP temp",
                ),
            ],
            mappings=[c.RAISED],
        ),
        c.state_timeline(
            "ACO",
            "Automatic change-over per channel: on input A or B.",
            [c.query(f"ic_snp_aco_abstatus{{{SEL}}}", "{{target}} ch {{index}}")],
            mappings=[c.value_map({"0": ("B", "orange"), "1": ("A", "green")})],
            width=24,
        ),
    ]


def _video() -> list[c.Item]:
    return [
        c.row("Video receivers"),
        c.table(
            "Receivers",
            "Each IP video receiver's standard and colorimetry.",
            [c.query(f"ic_snp_video_rx_info{{{SEL}}}", instant=True)],
            hide=(*_HIDE, "Value"),
            width=8,
        ),
        c.timeseries(
            "Missing packets",
            "Missing and out-of-range packets per receiver.",
            [
                c.query(
                    "rate(ic_snp_video_rx_missing_packets_total"
                    f"{{{SEL}}}[$__rate_interval])",
                    "{{target}} rx {{index}} missing",
                ),
                c.query(
                    "rate(ic_snp_video_rx_out_of_range_packets_total"
                    f"{{{SEL}}}[$__rate_interval])",
                    "{{target}} rx {{index}} out of range",
                ),
            ],
            unit="pps",
            width=8,
        ),
        c.timeseries(
            "Jitter and path difference",
            "Network jitter and ST 2022-7 path difference per receiver.",
            [
                c.query(
                    f"ic_snp_video_rx_network_jitter_seconds{{{SEL}}}",
                    "{{target}} rx {{index}} jitter",
                ),
                c.query(
                    f"ic_snp_video_rx_path_difference_seconds{{{SEL}}}",
                    "{{target}} rx {{index}} path diff",
                ),
            ],
            unit="s",
            width=8,
        ),
    ]


def build() -> db.Dashboard:
    """The SNP dashboard."""
    dash = (
        c.base(
            UID,
            "SNP rack",
            "Imagine SNPs from exporterhub's snp exporter: temperatures, fans, PSUs, "
            "PTP, alarms, ACO and video receivers.",
            ["snp"],
        )
        .with_variable(c.label_variable("job", "Job", "ic_snp_up"))
        .with_variable(
            c.label_variable("instance", "Instance", "ic_snp_up", 'job=~"$job"')
        )
        .with_variable(
            c.label_variable(
                "target", "SNP", "ic_snp_up", 'job=~"$job",instance=~"$instance"'
            )
        )
    )
    return c.layout(dash, [*_rack(), *_thermal(), *_power_ptp(), *_alarms(), *_video()])
