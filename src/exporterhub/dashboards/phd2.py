"""The PHD2 guiding dashboard: one rig or many, chosen by job, instance, host, target.

Guide error over time in arcseconds, RMS, stddev and peak over PHD2's window, the star
(SNR, mass, HFD), dithers and settles as annotations on every time panel, star-lost
events and the equipment. Series come from docs/metrics/phd2.md; nothing else.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm

from . import _common as c

__all__ = ["UID", "build"]

UID = "exporterhub-phd2"
SEL = 'job=~"$job",instance=~"$instance",host=~"$host",target=~"$target"'
ARCSEC = "suffix:″"


def _now() -> list[c.Item]:
    return [
        c.row("Now"),
        c.stat(
            "Link",
            "phd2_up: the exporter reads PHD2's event stream and its data is fresh.",
            [c.query(f"phd2_up{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[c.UP_MAP],
            width=4,
        ),
        c.stat(
            "PHD2 state",
            "PHD2's application state (phd2_status).",
            [
                c.query(
                    f"phd2_status{{{SEL}}} == 1", "{{target}}: {{status}}", instant=True
                )
            ],
            width=6,
        ).text_mode(cm.BigValueTextMode.NAME),
        c.stat(
            "Total RMS",
            "Total guiding error as PHD2 shows it, over the RMS window:"
            " √(stddev RA² + stddev Dec²).",
            [
                c.query(
                    f"phd2_guide_error_combined_stddev_arcseconds{{{SEL}}}",
                    "{{target}}",
                    instant=True,
                )
            ],
            unit=ARCSEC,
            steps=c.thresholds((None, "green"), (1.0, "yellow"), (2.0, "red")),
            width=5,
        ).decimals(2),
        c.stat(
            "Star SNR",
            "Guide star signal-to-noise ratio in the last guide step.",
            [c.query(f"phd2_guide_step_snr{{{SEL}}}", "{{target}}", instant=True)],
            steps=c.thresholds((None, "red"), (6, "yellow"), (10, "green")),
            width=5,
        ).decimals(1),
        c.stat(
            "Pixel scale",
            "Guide camera pixel scale (get_pixel_scale).",
            [c.query(f"phd2_pixel_scale{{{SEL}}}", "{{target}}", instant=True)],
            unit="suffix:″/px",
            width=4,
        ).decimals(2),
    ]


def _guiding() -> list[c.Item]:
    return [
        c.row("Guiding"),
        c.timeseries(
            "Guide error (arcsec)",
            "Measured error of each guide step: RA, Dec and their vector total.",
            [
                c.query(
                    f"phd2_guide_step_ra_distance_arcseconds{{{SEL}}}",
                    "{{target}} RA",
                ),
                c.query(
                    f"phd2_guide_step_dec_distance_arcseconds{{{SEL}}}",
                    "{{target}} Dec",
                ),
                c.query(
                    f"sqrt(phd2_guide_step_ra_distance_arcseconds{{{SEL}}} ^ 2"
                    f" + phd2_guide_step_dec_distance_arcseconds{{{SEL}}} ^ 2)",
                    "{{target}} total",
                ),
            ],
            unit=ARCSEC,
            width=24,
        ),
        c.timeseries(
            "RMS and stddev (arcsec)",
            "RMS about zero (phd2_rms) and standard deviation as PHD2 and NINA show it"
            " (phd2_guide_error_*_stddev), over the RMS window.",
            [
                c.query(
                    f'phd2_rms{{{SEL},scale="arcsec",source=~"RADistanceRaw|'
                    f'DECDistanceRaw|TotalDistanceRaw"}}',
                    "{{target}} RMS {{source}}",
                ),
                c.query(
                    f"phd2_guide_error_stddev_arcseconds{{{SEL}}}",
                    "{{target}} stddev {{axis}}",
                ),
                c.query(
                    f"phd2_guide_error_combined_stddev_arcseconds{{{SEL}}}",
                    "{{target}} stddev total",
                ),
            ],
            unit=ARCSEC,
        ),
        c.timeseries(
            "Peak error (arcsec)",
            "Largest absolute measured error by axis over the RMS window.",
            [
                c.query(
                    f"phd2_guide_error_peak_arcseconds{{{SEL}}}",
                    "{{target}} peak {{axis}}",
                )
            ],
            unit=ARCSEC,
        ),
        c.timeseries(
            "Guide pulse duty",
            "Share of time spent pulsing the mount, by direction.",
            [
                c.query(
                    "sum by (target, direction) "
                    f"(rate(phd2_guide_pulse_seconds_total{{{SEL}}}[$__rate_interval]))",
                    "{{target}} {{direction}}",
                )
            ],
            unit="percentunit",
        ),
        c.timeseries(
            "RMS window",
            "Measured guide steps in the RMS window.",
            [c.query(f"phd2_rms_window_samples{{{SEL}}}", "{{target}}")],
        ),
    ]


def _star() -> list[c.Item]:
    return [
        c.row("Guide star"),
        c.timeseries(
            "Star SNR",
            "Signal-to-noise ratio of the guide star in each guide step.",
            [c.query(f"phd2_guide_step_snr{{{SEL}}}", "{{target}}")],
            width=6,
        ),
        c.timeseries(
            "Star mass",
            "Brightness of the guide star (ADU sum).",
            [c.query(f"phd2_guide_step_star_mass{{{SEL}}}", "{{target}}")],
            width=6,
        ),
        c.timeseries(
            "Star HFD",
            "Half-flux diameter of the guide star (px): focus and seeing.",
            [c.query(f"phd2_guide_step_hfd_pixels{{{SEL}}}", "{{target}}")],
            unit="suffix: px",
            width=6,
        ),
        c.timeseries(
            "Star lost",
            "StarLost events by star-finder code.",
            [
                c.query(
                    "sum by (target, code) "
                    f"(increase(phd2_star_lost_total{{{SEL}}}[$__rate_interval]))",
                    "{{target}} code {{code}}",
                )
            ],
            width=6,
            bars=True,
        ),
    ]


def _settles() -> list[c.Item]:
    return [
        c.row("Dithers and settles"),
        c.stat(
            "Dithers",
            "Dithers in the dashboard's time range.",
            [
                c.query(
                    f"round(increase(phd2_dithers_total{{{SEL}}}[$__range]))",
                    "{{target}}",
                    instant=True,
                )
            ],
            width=6,
        ),
        c.stat(
            "Settles",
            "Settles finished in the time range.",
            [
                c.query(
                    f"round(increase(phd2_settles_total{{{SEL}}}[$__range]))",
                    "{{target}}",
                    instant=True,
                )
            ],
            width=6,
        ),
        c.stat(
            "Settle failures",
            "Settles that failed or were aborted in the time range.",
            [
                c.query(
                    f"round(increase(phd2_settle_failures_total{{{SEL}}}[$__range]))",
                    "{{target}}",
                    instant=True,
                )
            ],
            steps=c.thresholds((None, "green"), (1, "red")),
            width=6,
        ),
        c.stat(
            "Stars lost",
            "StarLost events in the time range.",
            [
                c.query(
                    "round(sum by (target) "
                    f"(increase(phd2_star_lost_total{{{SEL}}}[$__range])))",
                    "{{target}}",
                    instant=True,
                )
            ],
            steps=c.thresholds((None, "green"), (1, "orange")),
            width=6,
        ),
        c.timeseries(
            "Last settle",
            "Frames the last settle took, and frames without a star.",
            [
                c.query(f"phd2_last_settle_frames{{{SEL}}}", "{{target}} frames"),
                c.query(
                    f"phd2_last_settle_dropped_frames{{{SEL}}}",
                    "{{target}} dropped",
                ),
            ],
        ),
        c.timeseries(
            "Settle distance",
            "PHD2's smoothed distance from the lock position while settling (px).",
            [c.query(f"phd2_settle_distance_pixels{{{SEL}}}", "{{target}}")],
            unit="suffix: px",
        ),
    ]


def _equipment() -> list[c.Item]:
    return [
        c.row("Equipment"),
        c.table(
            "Equipment",
            "Devices of PHD2's profile: 1 when connected.",
            [c.query(f"phd2_current_equipment{{{SEL}}}", instant=True)],
            hide=("Time", "__name__", "job", "instance", "host", "inst"),
            rename={"Value": "connected"},
            width=12,
        ),
        c.table(
            "PHD2",
            "Version, camera and mount connection, alerts in the time range.",
            [
                c.query(f"phd2_info{{{SEL}}}", instant=True),
                c.query(f"phd2_connected{{{SEL}}}", instant=True),
            ],
            hide=("Time", "__name__", "job", "instance", "Value #A"),
            rename={"Value #B": "connected"},
            width=12,
        ),
        c.timeseries(
            "Alerts",
            "Alerts PHD2 showed, by level.",
            [
                c.query(
                    "sum by (target, level) "
                    f"(increase(phd2_alerts_total{{{SEL}}}[$__rate_interval]))",
                    "{{target}} {{level}}",
                )
            ],
            bars=True,
            width=24,
        ),
    ]


def build() -> db.Dashboard:
    """The PHD2 dashboard."""
    dash = (
        c.base(
            UID,
            "PHD2 guiding",
            "PHD2 guiding from exporterhub's phd2 exporter: error, RMS, star, "
            "dithers and settles, equipment.",
            ["phd2"],
        )
        .with_variable(c.label_variable("job", "Job", "phd2_up"))
        .with_variable(
            c.label_variable("instance", "Instance", "phd2_up", 'job=~"$job"')
        )
        .with_variable(
            c.label_variable(
                "host", "PHD2 host", "phd2_up", 'job=~"$job",instance=~"$instance"'
            )
        )
        .with_variable(
            c.label_variable(
                "target",
                "Rig",
                "phd2_up",
                'job=~"$job",instance=~"$instance",host=~"$host"',
            )
        )
        .annotation(
            c.annotation(
                "Dithers",
                f"increase(phd2_dithers_total{{{SEL}}}[{c.ANNOTATION_WINDOW}]) > 0",
                "blue",
            )
        )
        .annotation(
            c.annotation(
                "Settling",
                f"max_over_time(phd2_settling{{{SEL}}}[{c.ANNOTATION_WINDOW}]) == 1",
                "yellow",
            )
        )
        .annotation(
            c.annotation(
                "Settle failed",
                "increase(phd2_settle_failures_total"
                f"{{{SEL}}}[{c.ANNOTATION_WINDOW}]) > 0",
                "red",
            )
        )
        .annotation(
            c.annotation(
                "Star lost",
                "sum by (target) "
                f"(increase(phd2_star_lost_total{{{SEL}}}[{c.ANNOTATION_WINDOW}])) > 0",
                "orange",
            )
        )
    )
    return c.layout(dash, [*_now(), *_guiding(), *_star(), *_settles(), *_equipment()])
