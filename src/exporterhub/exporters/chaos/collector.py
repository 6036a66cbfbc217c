"""The chaos metric table: what each ``aaisp_*`` family says and where it comes from.

Reads a ``ChaosSnapshot`` only; the core renders the table (``exporterhub.core``).
No I/O, no prometheus_client objects. Names fixed by COMPAT (``protocols/chaos.md``
§8.1): ``aaisp_broadband_quota_{total,remaining,used}_bytes``,
``aaisp_broadband_quota_percentage``,
``aaisp_broadband_line_sync_{download,upload}_bps``,
``aaisp_broadband_service_info``, ``aaisp_broadband_service_up``; §8.2 names
``aaisp_login_info`` and ``aaisp_login_services_total`` (a gauge despite its suffix,
as the requirements name it). Health rows (``aaisp_up`` …) are added by the core, and
the core puts the target identity label ``target`` first on every series.

Rows appear only when their value is known: no quota rows for lines without a quota
(``quota_monthly`` 0 or missing), no sync rows for lines without those fields (never
0 for missing), no quota rows before an info answer gave the line's ``login``, and
no rate card or login rows unless those optional collectors ran.
``aaisp_login_services_total`` has a row per subsystem whose ``services`` answer
the state holds and is within the SLOW tier's age, so its ``broadband`` row is
there whenever a current service list is. Every value row leaves at its tier's
age (see ``state``): the snapshot it reads is already the core's view at ``now``.
The exporter self-metrics of §8.3 live in the worker's registry, not here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, Sample
from exporterhub.exporters.chaos.payloads import Rate
from exporterhub.exporters.chaos.state import ChaosSnapshot, LineSnapshot

__all__ = ["CHAOS_SPECS", "PERIODS", "PREFIX", "UNAVAILABLE"]

PREFIX: Final = "aaisp"

PERIODS: Final = ("peak", "offpeak", "weekend")
"""``period`` label values of ``aaisp_telephony_rate_pence_per_minute``."""

_LINE_LABELS: Final = ("service", "login")
_FAST: Final = "broadband/quota (or broadband/info), refreshed every 60 s"
_MEDIUM: Final = "broadband/info, refreshed every 300 s"
_SLOW: Final = "refreshed every 900 s"

UNAVAILABLE: Final[tuple[tuple[str, str], ...]] = (
    (
        "aaisp_broadband_throughput_download_bps",
        "CHAOS reports no traffic counters or throughput (§4.2).",
    ),
    (
        "aaisp_broadband_throughput_upload_bps",
        "CHAOS reports no traffic counters or throughput (§4.2).",
    ),
    (
        "aaisp_broadband_line_state",
        "No CHAOS field reports line or PPP state; see aaisp_broadband_service_up.",
    ),
    (
        "line SNR, attenuation, FEC/CRC/HEC error and session/uptime metrics",
        "broadband/info carries no line statistics (§4.2).",
    ),
    ("IPv6 and QoS metrics", "broadband/info carries no addressing or QoS (§4.2)."),
    ("aaisp_broadband_usage_*", "broadband/usage answer format unknown (§4.4)."),
    ("label account_number", "The API returns no account number (§8)."),
    ("label line_type", "The API returns no line type or technology (§4.2)."),
    ("label package", "The API returns no package (§4.2)."),
    ("label care_level", "The API returns no care level (§4.2)."),
    ("label router_type", "The API returns no router (§4.2)."),
    ("label ipv4_address", "The API returns no IP addresses (§4.2)."),
    ("label ipv6_prefix", "The API returns no IP addresses (§4.2)."),
    (
        "aaisp_telephony_service_info, aaisp_telephony_calls_total, "
        "aaisp_telephony_call_duration_seconds_total, "
        "aaisp_telephony_call_cost_total, aaisp_telephony_active_calls",
        "The original aaisp-exporter's call metrics: no telephony/info answer "
        "format is known and CHAOS gives no call statistics (§4.7, §8.2).",
    ),
    (
        "aaisp_telephony_ratecard_last_updated_timestamp_seconds",
        "The original set it from the local clock; CHAOS gives no update time "
        "(§8.2). Use aaisp_exporter_last_successful_collection_timestamp.",
    ),
)
"""Requirement metrics and labels CHAOS cannot provide, with the reason (§8.1)."""


def _labels(line: LineSnapshot) -> tuple[str, str]:
    return (line.service_id, line.login or "")


def _per_line(
    read: Callable[[LineSnapshot], float | None],
) -> Callable[[ChaosSnapshot], Iterable[Sample]]:
    """Make a value_fn yielding one row per described line with a known value."""

    def value_fn(s: ChaosSnapshot) -> Iterable[Sample]:
        for line in s.lines:
            if line.login is None:
                continue
            value = read(line)
            if value is not None:
                yield _labels(line), float(value)

    return value_fn


def _quota(
    read: Callable[[LineSnapshot], float | None],
) -> Callable[[LineSnapshot], float | None]:
    """Wrap a quota read so it yields nothing for lines without a quota."""
    return lambda line: read(line) if line.has_quota else None


def _used(line: LineSnapshot) -> float | None:
    if line.quota_monthly is None or line.quota_remaining is None:
        return None
    return float(max(0, line.quota_monthly - line.quota_remaining))


def _percentage(line: LineSnapshot) -> float | None:
    used = _used(line)
    if used is None or not line.quota_monthly:
        return None
    return 100.0 * used / line.quota_monthly


def _service_info(s: ChaosSnapshot) -> Iterable[Sample]:
    return (
        ((line.service_id, line.login, line.postcode), 1.0)
        for line in s.lines
        if line.login is not None
    )


def _service_up(s: ChaosSnapshot) -> Iterable[Sample]:
    return (
        (_labels(line), 1.0 if line.up else 0.0)
        for line in s.lines
        if line.up is not None
    )


def _rates(
    read: Callable[[Rate], Iterable[tuple[tuple[str, ...], float | None]]],
) -> Callable[[ChaosSnapshot], Iterable[Sample]]:
    def value_fn(s: ChaosSnapshot) -> Iterable[Sample]:
        if s.ratecard is None:
            return
        for rate in s.ratecard.rates:
            for labels, value in read(rate):
                if value is not None:
                    yield labels, value

    return value_fn


def _ppm(rate: Rate) -> Iterable[tuple[tuple[str, ...], float | None]]:
    prices = (rate.peak_ppm, rate.offpeak_ppm, rate.weekend_ppm)
    return (((rate.name, p), v) for p, v in zip(PERIODS, prices, strict=True))


def _login_info(s: ChaosSnapshot) -> Iterable[Sample]:
    return (((login,), 1.0) for login in s.control_logins or ())


def _service_counts(s: ChaosSnapshot) -> Iterable[Sample]:
    return (((name,), float(count)) for name, count in s.service_counts)


CHAOS_SPECS: Final[list[MetricSpec[ChaosSnapshot]]] = [
    MetricSpec(
        name="aaisp_broadband_service_info",
        help="Broadband line known to CHAOS, with its login and stripped postcode "
        f"from {_MEDIUM}; always 1.",
        kind=Kind.INFO,
        labels=("service", "login", "postcode"),
        value_fn=_service_info,
        keep_when_stale=True,
    ),
    MetricSpec(
        name="aaisp_broadband_service_up",
        help="1 when the latest broadband/info or broadband/quota poll of the line "
        "returned data, 0 when it returned an error (not the line's sync state).",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_service_up,
    ),
    MetricSpec(
        name="aaisp_broadband_quota_total_bytes",
        help=f"Monthly quota in bytes (quota_monthly) from {_FAST}; absent when "
        "the line has no quota.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(_quota(lambda line: line.quota_monthly)),
    ),
    MetricSpec(
        name="aaisp_broadband_quota_remaining_bytes",
        help=f"Quota left in bytes, may exceed the total (quota_remaining) from "
        f"{_FAST}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(_quota(lambda line: line.quota_remaining)),
    ),
    MetricSpec(
        name="aaisp_broadband_quota_used_bytes",
        help="Quota used in bytes, max(0, quota_monthly - quota_remaining), from "
        f"{_FAST}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(_quota(_used)),
    ),
    MetricSpec(
        name="aaisp_broadband_quota_percentage",
        help="Quota used in percent of quota_monthly (0-100, above 100 when "
        f"remaining is negative) from {_FAST}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(_quota(_percentage)),
    ),
    MetricSpec(
        name="aaisp_broadband_quota_timestamp_seconds",
        help="Unix time the quota figures were computed (quota_timestamp, "
        f"Europe/London) from {_FAST}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(_quota(lambda line: line.quota_timestamp)),
    ),
    MetricSpec(
        name="aaisp_broadband_line_sync_download_bps",
        help=f"Download sync rate in bits per second (tx_rate) from {_MEDIUM}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(lambda line: line.tx_rate),
    ),
    MetricSpec(
        name="aaisp_broadband_line_sync_upload_bps",
        help=f"Upload sync rate in bits per second (rx_rate) from {_MEDIUM}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(lambda line: line.rx_rate),
    ),
    MetricSpec(
        name="aaisp_broadband_line_sync_download_adjusted_bps",
        help="Download rate A&A shapes the line to in bits per second "
        f"(tx_rate_adjusted) from {_MEDIUM}.",
        kind=Kind.GAUGE,
        labels=_LINE_LABELS,
        value_fn=_per_line(lambda line: line.tx_rate_adjusted),
    ),
    MetricSpec(
        name="aaisp_telephony_rate_pence_per_minute",
        help="Call price in pence per minute by rate and period (peak_ppm, "
        f"offpeak_ppm, weekend_ppm) from telephony/ratecard, {_SLOW}.",
        kind=Kind.GAUGE,
        labels=("rate", "period"),
        value_fn=_rates(_ppm),
    ),
    MetricSpec(
        name="aaisp_telephony_rate_min_charge_pence",
        help=f"Minimum call charge in pence (min_charge) from telephony/ratecard, "
        f"{_SLOW}.",
        kind=Kind.GAUGE,
        labels=("rate",),
        value_fn=_rates(lambda r: ((((r.name,), r.min_charge)),)),
    ),
    MetricSpec(
        name="aaisp_telephony_rate_prefixes",
        help="Dial prefixes mapped to the rate (rate_card codes) from "
        f"telephony/ratecard, {_SLOW}.",
        kind=Kind.GAUGE,
        labels=("rate",),
        value_fn=_rates(lambda r: (((r.name,), float(r.prefixes)),)),
    ),
    MetricSpec(
        name="aaisp_login_info",
        help=f"Control login reachable with the credentials from login/services, "
        f"{_SLOW}; always 1.",
        kind=Kind.INFO,
        labels=("control_login",),
        value_fn=_login_info,
    ),
    MetricSpec(
        name="aaisp_login_services_total",
        help="Number of services a subsystem lists (a gauge) from broadband/, "
        f"login/ and telephony/services, {_SLOW}.",
        kind=Kind.GAUGE,
        labels=("subsystem",),
        value_fn=_service_counts,
    ),
]
"""The chaos section's metric table, in output order."""
