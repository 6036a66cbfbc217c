"""The overview: every target's health across all five exporters, and the scrape jobs.

For each exporter prefix, ``<prefix>_up`` and the age of
``<prefix>_last_success_timestamp_seconds`` per target, plus Prometheus' own
``up`` of each scrape job. Starlink series carry no target label; the overview
names its dish ``starlink``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from . import _common as c

__all__ = ["PREFIXES", "UID", "build"]

UID = "exporterhub-overview"
PREFIXES = ("phd2", "starlink", "tapo", "aaisp", "ic_snp")
"""The metric prefix of every exporter (phd2, starlink, tapo/kasa, chaos, snp)."""
_NAMES = "|".join(PREFIXES)
JOB = 'job=~"$job"'


def _per_target(suffix: str) -> str:
    """``<prefix><suffix>`` of every exporter, labelled ``exporter`` and ``target``.

    A series without a target label (the Starlink dish) gets ``target="starlink"``.
    """
    series = f'{{__name__=~"({_NAMES}){suffix}",{JOB}}}'
    named = f'label_replace({series}, "exporter", "$1", "__name__", "(.+){suffix}")'
    return f'label_replace({named}, "target", "starlink", "target", "")'


UP = _per_target("_up")
LAST_SUCCESS = _per_target("_last_success_timestamp_seconds")


def _panels() -> list[c.Item]:
    return [
        c.row("Health"),
        c.stat(
            "Targets up",
            "Targets whose <prefix>_up is 1.",
            [c.query(f"count({UP} == 1) or vector(0)", "up", instant=True)],
            steps=c.thresholds((None, "green")),
            width=6,
        ),
        c.stat(
            "Targets down",
            "Targets whose <prefix>_up is 0.",
            [c.query(f"count({UP} == 0) or vector(0)", "down", instant=True)],
            steps=c.thresholds((None, "green"), (1, "red")),
            width=6,
        ),
        c.stat(
            "Scrape jobs",
            "Prometheus' up of each scrape job and instance.",
            [c.query(f"up{{{JOB}}}", "{{job}} {{instance}}", instant=True)],
            mappings=[c.UP_MAP],
            width=12,
        ),
        c.table(
            "Targets",
            "Every target of every exporter: up, and seconds since its last success.",
            [
                c.query(
                    f"max by (exporter, target, job, instance) ({UP})", instant=True
                ),
                c.query(
                    "max by (exporter, target, job, instance) "
                    f"(time() - {LAST_SUCCESS})",
                    instant=True,
                ),
            ],
            hide=("Time",),
            rename={"Value #A": "up", "Value #B": "last success (s ago)"},
            height=12,
        ),
        c.row("History"),
        c.state_timeline(
            "Target up",
            "<prefix>_up of every target over time.",
            [c.query(UP, "{{exporter}} {{target}}")],
            mappings=[c.UP_MAP],
            width=24,
            height=12,
        ),
        c.timeseries(
            "Last success age",
            "Seconds since each target's last successful poll or stream read.",
            [c.query(f"time() - {LAST_SUCCESS}", "{{exporter}} {{target}}")],
            unit="s",
        ),
        c.timeseries(
            "Scrape duration",
            "How long Prometheus takes to scrape each job.",
            [
                c.query(
                    f"scrape_duration_seconds{{{JOB}}}", "{{job}} {{instance}} duration"
                ),
            ],
            unit="s",
        ),
        c.state_timeline(
            "Scrape jobs up",
            "Prometheus' up of each scrape job over time.",
            [c.query(f"up{{{JOB}}}", "{{job}} {{instance}}")],
            mappings=[c.UP_MAP],
            width=24,
            height=6,
        ),
    ]


def build() -> db.Dashboard:
    """The overview dashboard."""
    dash = c.base(
        UID,
        "exporterhub overview",
        "Health of every target of every exporterhub exporter, and of the scrape jobs.",
        ["overview"],
    ).with_variable(c.label_variable("job", "Job", "up"))
    return c.layout(dash, _panels())
