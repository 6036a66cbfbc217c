"""The smart plug dashboard (tapo/kasa): power, energy per day and month, relay, signal.

One dashboard for every plug, chosen by job, instance and target (the plug's
name, or its MAC when discovery found it). Series come from docs/metrics/tapo.md;
nothing else.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from . import _common as c

__all__ = ["UID", "build"]

UID = "exporterhub-plugs"
SEL = 'job=~"$job",instance=~"$instance",target=~"$target"'
KWH = 3.6e6
"""Joules in a kilowatt-hour: the exporter counts energy in joules."""


def _now() -> list[c.Item]:
    return [
        c.row("Now"),
        c.stat(
            "Plugs",
            "tapo_up: the plug answered the last poll and its data is fresh.",
            [c.query(f"tapo_up{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[c.UP_MAP],
            width=8,
        ),
        c.stat(
            "Relay",
            "Relay state (tapo_relay_on).",
            [c.query(f"tapo_relay_on{{{SEL}}}", "{{target}}", instant=True)],
            mappings=[c.ON_OFF],
            width=8,
        ),
        c.stat(
            "Power now",
            "Total power of the selected plugs.",
            [c.query(f"sum(tapo_power_watts{{{SEL}}})", "total", instant=True)],
            unit="watt",
            width=8,
        ),
    ]


def _power() -> list[c.Item]:
    return [
        c.row("Power"),
        c.timeseries(
            "Power",
            "Instantaneous power by plug.",
            [c.query(f"tapo_power_watts{{{SEL}}}", "{{target}}")],
            unit="watt",
            width=24,
        ),
        c.timeseries(
            "Voltage",
            "Mains voltage, where the plug reports it.",
            [c.query(f"tapo_voltage_volts{{{SEL}}}", "{{target}}")],
            unit="volt",
        ),
        c.timeseries(
            "Current",
            "Load current, where the plug reports it.",
            [c.query(f"tapo_current_amperes{{{SEL}}}", "{{target}}")],
            unit="amp",
        ),
    ]


def _energy() -> list[c.Item]:
    return [
        c.row("Energy"),
        c.stat(
            "Today",
            "Energy used today, as the plug counts it (resets at midnight).",
            [
                c.query(
                    f"tapo_energy_today_joules{{{SEL}}} / {KWH:g}",
                    "{{target}}",
                    instant=True,
                )
            ],
            unit="kwatth",
            width=12,
        ).decimals(2),
        c.stat(
            "This month",
            "Energy used this month, as the plug counts it.",
            [
                c.query(
                    f"tapo_energy_this_month_joules{{{SEL}}} / {KWH:g}",
                    "{{target}}",
                    instant=True,
                )
            ],
            unit="kwatth",
            width=12,
        ).decimals(1),
        c.timeseries(
            "Energy per day",
            "Energy used in each day (increase of the energy counter over 1 d).",
            [
                c.query(
                    f"increase(tapo_energy_joules_total{{{SEL}}}[1d]) / {KWH:g}",
                    "{{target}}",
                )
            ],
            unit="kwatth",
            bars=True,
        ).interval("1d"),
        c.timeseries(
            "Energy today and this month",
            "The plug's own day and month counters.",
            [
                c.query(
                    f"tapo_energy_today_joules{{{SEL}}} / {KWH:g}", "{{target}} today"
                ),
                c.query(
                    f"tapo_energy_this_month_joules{{{SEL}}} / {KWH:g}",
                    "{{target}} month",
                ),
            ],
            unit="kwatth",
        ),
    ]


def _plug() -> list[c.Item]:
    return [
        c.row("Plug"),
        c.state_timeline(
            "Relay",
            "Relay on or off over time.",
            [c.query(f"tapo_relay_on{{{SEL}}}", "{{target}}")],
            mappings=[c.ON_OFF],
        ),
        c.timeseries(
            "Wi-Fi signal",
            "Received signal strength (dBm).",
            [c.query(f"tapo_wifi_rssi_dbm{{{SEL}}}", "{{target}}")],
            unit="dBm",
        ),
        c.table(
            "Plugs",
            "Identity of each plug and the age of its last good poll.",
            [
                c.query(f"tapo_device_info{{{SEL}}}", instant=True),
                c.query(
                    f"time() - tapo_last_success_timestamp_seconds{{{SEL}}}",
                    instant=True,
                ),
            ],
            hide=("Time", "__name__", "job", "instance", "Value #A", "device_id"),
            rename={"Value #B": "last good poll (s ago)"},
        ),
        c.timeseries(
            "Poll errors",
            "Failed polls by error kind.",
            [
                c.query(
                    "sum by (target, error) "
                    f"(increase(tapo_exporter_poll_errors_total{{{SEL}}}"
                    "[$__rate_interval]))",
                    "{{target}} {{error}}",
                )
            ],
            bars=True,
            width=24,
        ),
    ]


def build() -> db.Dashboard:
    """The plugs dashboard."""
    dash = (
        c.base(
            UID,
            "Smart plugs",
            "Tapo and Kasa plugs from exporterhub's tapo exporter: power, energy, "
            "relay and signal.",
            ["tapo", "kasa"],
        )
        .with_variable(c.label_variable("job", "Job", "tapo_up"))
        .with_variable(
            c.label_variable("instance", "Instance", "tapo_up", 'job=~"$job"')
        )
        .with_variable(
            c.label_variable(
                "target", "Plug", "tapo_up", 'job=~"$job",instance=~"$instance"'
            )
        )
    )
    return c.layout(dash, [*_now(), *_power(), *_energy(), *_plug()])
