"""The CHAOS (Andrews & Arnold) dashboard: quota, exhaustion, sync, API health.

Lines are chosen by job, instance, target (the control login) and service. The
projected exhaustion date extrapolates this billing month's average use: quota
left divided by (quota used / seconds since the month began). Series come from
docs/metrics/chaos.md; nothing else.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from . import _common as c

__all__ = ["UID", "build"]

UID = "exporterhub-chaos"
SEL = 'job=~"$job",instance=~"$instance",target=~"$target"'
LINE = f'{SEL},service=~"$service"'
MONTH_SECONDS = "scalar((day_of_month() - 1) * 86400 + hour() * 3600 + minute() * 60)"
"""Seconds since the calendar month began (UTC), as a scalar."""
RATE = f"(aaisp_broadband_quota_used_bytes{{{LINE}}} / {MONTH_SECONDS})"
"""This month's average use in bytes per second."""


def _quota() -> list[c.Item]:
    return [
        c.row("Quota"),
        c.stat(
            "Quota left",
            "Quota left per line (may exceed the monthly quota).",
            [
                c.query(
                    f"aaisp_broadband_quota_remaining_bytes{{{LINE}}}",
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="bytes",
            width=8,
        ),
        c.stat(
            "Quota used",
            "Share of the monthly quota used.",
            [
                c.query(
                    f"aaisp_broadband_quota_percentage{{{LINE}}}",
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="percent",
            steps=c.thresholds((None, "green"), (80, "yellow"), (95, "red")),
            width=8,
        ),
        c.stat(
            "Projected exhaustion",
            "When the quota runs out at this month's average use"
            " (empty when nothing was used yet).",
            [
                c.query(
                    f"(time() + aaisp_broadband_quota_remaining_bytes{{{LINE}}}"
                    f" / {RATE}) * 1000",
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="dateTimeAsIso",
            width=8,
        ),
        c.timeseries(
            "Quota left",
            "Quota left per line over time.",
            [
                c.query(
                    f"aaisp_broadband_quota_remaining_bytes{{{LINE}}}",
                    "{{service}} left",
                ),
                c.query(
                    f"aaisp_broadband_quota_total_bytes{{{LINE}}}",
                    "{{service}} monthly",
                ),
            ],
            unit="bytes",
        ),
        c.timeseries(
            "Days of quota left",
            "Days until the quota runs out at this month's average use.",
            [
                c.query(
                    f"aaisp_broadband_quota_remaining_bytes{{{LINE}}} / {RATE} / 86400",
                    "{{service}}",
                )
            ],
            unit="d",
        ),
    ]


def _lines() -> list[c.Item]:
    return [
        c.row("Lines"),
        c.timeseries(
            "Sync rates",
            "Download and upload sync, and the rate A&A shapes the line to.",
            [
                c.query(
                    f"aaisp_broadband_line_sync_download_bps{{{LINE}}}",
                    "{{service}} down",
                ),
                c.query(
                    f"aaisp_broadband_line_sync_upload_bps{{{LINE}}}", "{{service}} up"
                ),
                c.query(
                    f"aaisp_broadband_line_sync_download_adjusted_bps{{{LINE}}}",
                    "{{service}} down (shaped)",
                ),
            ],
            unit="bps",
        ),
        c.table(
            "Lines",
            "Lines CHAOS knows and whether the last poll of each returned data.",
            [
                c.query(f"aaisp_broadband_service_info{{{LINE}}}", instant=True),
                c.query(f"aaisp_broadband_service_up{{{LINE}}}", instant=True),
            ],
            hide=("Time", "__name__", "job", "instance", "Value #A"),
            rename={"Value #B": "answering"},
            width=12,
        ),
    ]


def _api() -> list[c.Item]:
    return [
        c.row("API health per login"),
        c.stat(
            "Login",
            "aaisp_up per control login: its last poll succeeded and data is fresh.",
            [c.query(f"aaisp_up{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[c.UP_MAP],
            width=8,
        ),
        c.stat(
            "Last good collection",
            "Seconds since each collector last succeeded.",
            [
                c.query(
                    "time() - aaisp_exporter_last_successful_collection_timestamp"
                    f"{{{SEL}}}",
                    "{{target}} {{collector_name}}",
                    instant=True,
                )
            ],
            unit="s",
            width=16,
        ),
        c.timeseries(
            "API requests",
            "CHAOS API HTTP attempts by login and status (0: no answer).",
            [
                c.query(
                    "sum by (target, status_code) "
                    f"(rate(aaisp_api_requests_total{{{SEL}}}[$__rate_interval]))",
                    "{{target}} {{status_code}}",
                )
            ],
            unit="reqps",
        ),
        c.timeseries(
            "Collector errors",
            "Collector failures by class.",
            [
                c.query(
                    "sum by (target, error_type) "
                    f"(increase(aaisp_collector_errors_total{{{SEL}}}"
                    "[$__rate_interval]))",
                    "{{target}} {{error_type}}",
                )
            ],
            bars=True,
        ),
        c.timeseries(
            "API latency (p90)",
            "90th percentile of one CHAOS API attempt.",
            [
                c.query(
                    "histogram_quantile(0.9, sum by (target, le) (rate("
                    f"aaisp_api_request_duration_seconds_bucket{{{SEL}}}"
                    "[$__rate_interval])))",
                    "{{target}}",
                )
            ],
            unit="s",
            width=24,
        ),
    ]


def build() -> db.Dashboard:
    """The CHAOS dashboard."""
    dash = (
        c.base(
            UID,
            "Andrews & Arnold (CHAOS)",
            "Broadband lines from exporterhub's chaos exporter: quota, projected "
            "exhaustion, sync rates, API health.",
            ["chaos", "aaisp"],
        )
        .with_variable(c.label_variable("job", "Job", "aaisp_up"))
        .with_variable(
            c.label_variable("instance", "Instance", "aaisp_up", 'job=~"$job"')
        )
        .with_variable(
            c.label_variable(
                "target", "Login", "aaisp_up", 'job=~"$job",instance=~"$instance"'
            )
        )
        .with_variable(
            c.label_variable(
                "service",
                "Line",
                "aaisp_broadband_service_info",
                f"{SEL}",
            )
        )
    )
    return c.layout(dash, [*_quota(), *_lines(), *_api()])
