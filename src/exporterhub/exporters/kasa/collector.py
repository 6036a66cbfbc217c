"""The plug metric table: what each ``tapo_*`` family says and where it comes from.

Reads a ``KasaSnapshot`` only; the core renders the table and adds the health rows
(``tapo_up``, ``tapo_last_success_timestamp_seconds``, …) and the identity label
``target`` in front of every series. No I/O, no prometheus_client objects.

Rows follow ``protocols/kasa.md`` §4: a value the plug did not give has no row
(a plug without a meter has no power, voltage, current or energy rows at all;
never zeros). ``alias`` appears only in ``tapo_device_info`` (and the outlet
info). Power strips get ``tapo_outlet_*`` rows labelled ``outlet`` = the child's
position (0, 1, …), which is stable while the user's alias is not.

With ``legacy_metrics`` on, the original pyprom-exporters names are served too,
labelled ``host`` and ``alias`` like the original, with its values: watts, volts,
amperes, dBm and **kilowatt-hours** for the today/month energy (the original
documented watt-hours; python-kasa returns kWh). ``tapo_discovered_devices`` is a
section-wide figure owned by the discovery worker, not by this per-plug table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.kasa.state import KasaReading, KasaSnapshot, OutletReading

if TYPE_CHECKING:
    from exporterhub.exporters.kasa.original import LegacyMetric

__all__ = ["INFO_LABELS", "KASA_SPECS", "LEGACY_NAMES", "PREFIX", "renamed_specs"]

PREFIX: Final = "tapo"

INFO_LABELS: Final = (
    "alias",
    "model",
    "hardware_version",
    "firmware_version",
    "mac",
    "device_id",
    "family",
    "protocol",
    "host",
)
"""Labels of ``tapo_device_info`` after ``target``, in output order."""

LEGACY_NAMES: Final = (
    "current_consumption",
    "current_voltage",
    "current_current",
    "current_consumption_today",
    "current_month_consumption",
    "current_rssi",
)
"""The original's names, served only with ``legacy_metrics: true``."""

_SRC: Final = "python-kasa"


def _value(
    read: Callable[[KasaReading], float | bool | None],
) -> Callable[[KasaSnapshot], Iterable[Sample]]:
    """Make a value_fn yielding one unlabelled row when the value is known."""

    def value_fn(s: KasaSnapshot) -> Iterable[Sample]:
        return () if s.reading is None else one(read(s.reading))

    return value_fn


def _outlets(
    read: Callable[[OutletReading], float | bool | None],
) -> Callable[[KasaSnapshot], Iterable[Sample]]:
    """Make a value_fn yielding one row per outlet with a known value."""

    def value_fn(s: KasaSnapshot) -> Iterable[Sample]:
        if s.reading is None:
            return
        for outlet in s.reading.children:
            value = read(outlet)
            if value is not None:
                yield (str(outlet.index),), float(value)

    return value_fn


def _legacy(
    read: Callable[[KasaReading], float | None],
) -> Callable[[KasaSnapshot], Iterable[Sample]]:
    """Make a value_fn for an original-name row: only with ``legacy`` on."""

    def value_fn(s: KasaSnapshot) -> Iterable[Sample]:
        if not s.legacy or s.reading is None:
            return ()
        value = read(s.reading)
        if value is None:
            return ()
        return (((s.reading.host, s.reading.alias), float(value)),)

    return value_fn


def _device_info(s: KasaSnapshot) -> Iterable[Sample]:
    r = s.reading
    if r is None:
        return ()
    values = (
        r.alias,
        r.model,
        r.hardware_version,
        r.firmware_version,
        r.mac,
        r.device_id,
        r.family,
        r.protocol,
        r.host,
    )
    return ((values, 1.0),)


def _outlet_info(s: KasaSnapshot) -> Iterable[Sample]:
    if s.reading is None:
        return ()
    return (((str(o.index), o.id, o.alias), 1.0) for o in s.reading.children)


def _errors(s: KasaSnapshot) -> Iterable[Sample]:
    return (((kind,), float(count)) for kind, count in s.errors)


def _poll_seconds(s: KasaSnapshot) -> Iterable[Sample]:
    return one(s.poll_seconds)


_TOTAL_WINDOW: Final = (
    "IOT plugs count from the last meter reset (power loss or erase stats), SMART "
    "plugs have no lifetime figure so this is this month's energy, which resets "
    "at each month start"
)

_OUTLET: Final = ("outlet",)

KASA_SPECS: Final[list[MetricSpec[KasaSnapshot]]] = [
    MetricSpec(
        name="tapo_device_info",
        help=f"Plug identity from {_SRC} device_info, mac, device_id and the "
        "configured address and transport; always 1.",
        kind=Kind.INFO,
        labels=INFO_LABELS,
        value_fn=_device_info,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="tapo_relay_on",
        help=f"1 when the relay is on, else 0 ({_SRC} is_on).",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.is_on),
    ),
    MetricSpec(
        name="tapo_wifi_rssi_dbm",
        help=f"Wi-Fi received signal strength in dBm ({_SRC} rssi).",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.rssi),
    ),
    MetricSpec(
        name="tapo_wifi_signal_level",
        help="Wi-Fi signal bars 0-3 (feature signal_level), SMART plugs only.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.signal_level),
    ),
    MetricSpec(
        name="tapo_relay_on_since_timestamp_seconds",
        help=f"Unix time the relay was switched on ({_SRC} on_since); absent "
        "while off.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.on_since),
    ),
    MetricSpec(
        name="tapo_power_watts",
        help=f"Instantaneous power in watts ({_SRC} energy current_consumption); "
        "absent without a meter.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.power_watts),
    ),
    MetricSpec(
        name="tapo_voltage_volts",
        help=f"Mains voltage in volts ({_SRC} energy voltage); absent when the "
        "plug does not report it.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.voltage_volts),
    ),
    MetricSpec(
        name="tapo_current_amperes",
        help=f"Load current in amperes ({_SRC} energy current); absent when the "
        "plug does not report it.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.current_amperes),
    ),
    MetricSpec(
        name="tapo_energy_joules_total",
        help="Energy in joules from kWh x 3.6e6 (IOT consumption_total, SMART "
        f"consumption_this_month): {_TOTAL_WINDOW}.",
        kind=Kind.COUNTER,
        value_fn=_value(lambda r: r.energy_total_joules),
    ),
    MetricSpec(
        name="tapo_energy_today_joules",
        help=f"Energy used today in joules ({_SRC} consumption_today, kWh x "
        "3.6e6); falls to 0 at midnight.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.energy_today_joules),
    ),
    MetricSpec(
        name="tapo_energy_this_month_joules",
        help=f"Energy used this month in joules ({_SRC} consumption_this_month, "
        "kWh x 3.6e6); falls to 0 at each month start.",
        kind=Kind.GAUGE,
        value_fn=_value(lambda r: r.energy_month_joules),
    ),
    MetricSpec(
        name="tapo_outlet_info",
        help="Power strip outlet by position with its device id and alias from "
        f"{_SRC} children; always 1.",
        kind=Kind.INFO,
        labels=("outlet", "device_id", "alias"),
        value_fn=_outlet_info,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="tapo_outlet_relay_on",
        help=f"1 when the strip outlet's relay is on, else 0 ({_SRC} child is_on).",
        kind=Kind.GAUGE,
        labels=_OUTLET,
        value_fn=_outlets(lambda o: o.is_on),
    ),
    MetricSpec(
        name="tapo_outlet_power_watts",
        help=f"Strip outlet power in watts ({_SRC} child energy current_consumption).",
        kind=Kind.GAUGE,
        labels=_OUTLET,
        value_fn=_outlets(lambda o: o.power_watts),
    ),
    MetricSpec(
        name="tapo_outlet_energy_joules_total",
        help="Strip outlet energy in joules from kWh x 3.6e6, window as for "
        "tapo_energy_joules_total.",
        kind=Kind.COUNTER,
        labels=_OUTLET,
        value_fn=_outlets(lambda o: o.energy_total_joules),
    ),
    MetricSpec(
        name="tapo_outlet_energy_today_joules",
        help=f"Strip outlet energy used today in joules ({_SRC} child "
        "consumption_today, kWh x 3.6e6).",
        kind=Kind.GAUGE,
        labels=_OUTLET,
        value_fn=_outlets(lambda o: o.energy_today_joules),
    ),
    MetricSpec(
        name="tapo_outlet_energy_this_month_joules",
        help=f"Strip outlet energy used this month in joules ({_SRC} child "
        "consumption_this_month, kWh x 3.6e6).",
        kind=Kind.GAUGE,
        labels=_OUTLET,
        value_fn=_outlets(lambda o: o.energy_month_joules),
    ),
    MetricSpec(
        name="tapo_exporter_poll_errors_total",
        help="Failed polls of the plug by error kind (auth, timeout, connection, "
        "protocol, unsupported, wrong_device: the address answered as another plug).",
        kind=Kind.COUNTER,
        labels=("error",),
        value_fn=_errors,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="tapo_exporter_poll_duration_seconds",
        help="Wall time of the plug's last poll (python-kasa update) in seconds.",
        kind=Kind.GAUGE,
        value_fn=_poll_seconds,
    ),
    MetricSpec(
        name="current_consumption",
        help="Legacy name (legacy_metrics): current power in watts, as "
        "tapo_power_watts.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.power_watts),
    ),
    MetricSpec(
        name="current_voltage",
        help="Legacy name (legacy_metrics): mains voltage in volts, as "
        "tapo_voltage_volts.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.voltage_volts),
    ),
    MetricSpec(
        name="current_current",
        help="Legacy name (legacy_metrics): load current in amperes, as "
        "tapo_current_amperes.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.current_amperes),
    ),
    MetricSpec(
        name="current_consumption_today",
        help="Legacy name (legacy_metrics): energy used today in kWh (kilowatt-hours, "
        "not watt-hours), python-kasa consumption_today.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.energy_today_kwh),
    ),
    MetricSpec(
        name="current_month_consumption",
        help="Legacy name (legacy_metrics): energy used this month in kWh "
        "(kilowatt-hours, not watt-hours), python-kasa consumption_this_month.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.energy_month_kwh),
    ),
    MetricSpec(
        name="current_rssi",
        help="Legacy name (legacy_metrics): Wi-Fi RSSI in dBm, as tapo_wifi_rssi_dbm.",
        kind=Kind.GAUGE,
        labels=("host", "alias"),
        value_fn=_legacy(lambda r: r.rssi),
    ),
]
"""The tapo section's metric table, in output order."""


def renamed_specs(
    metrics: Sequence[LegacyMetric],
    specs: Sequence[MetricSpec[KasaSnapshot]] = KASA_SPECS,
) -> list[MetricSpec[KasaSnapshot]]:
    """Return ``specs`` with the original's rows named as its config.yaml says.

    The original's ``per_device_family_metrics.plug`` gave each of its metrics a
    ``name``, a ``documentation`` (HELP) and the names of its two labels (the
    plug's host and alias); a row it switched off is left out. The value still
    comes from the metric the entry is for (the original looked it up by the new
    name and so served 0 for every renamed metric).
    """
    by_key = {m.key: m for m in metrics}
    result: list[MetricSpec[KasaSnapshot]] = []
    for spec in specs:
        metric = by_key.get(spec.name) if spec.name in LEGACY_NAMES else None
        if metric is None:
            result.append(spec)
        elif metric.enabled:
            result.append(
                dataclasses.replace(
                    spec,
                    name=metric.name,
                    help=metric.documentation or spec.help,
                    labels=metric.labels,
                    _headers={},  # made again for the new name
                )
            )
    return result
