"""The CHAOS exporter's own activity metrics, with the names COMPAT fixes.

Direct instrumentation (prometheus_client ``Counter``/``Histogram``) is right here:
these count what the exporter does, not what a device reports. One set per registry
(one per running hub); nothing here talks to the network.

Every series carries ``target`` (the login's target name) beside the labels §8.3
of the protocol notes fixes, so one login whose password is refused shows next to
a healthy one instead of being summed into it. A login's series go when its
worker stops (``forget``).
"""

from __future__ import annotations

import platform
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "COLLECTORS",
    "ERROR_TYPES",
    "SELF_METRICS",
    "ChaosInstruments",
    "SelfMetric",
    "catalogue_notes",
    "register_build_info",
]

COLLECTORS: Final = {
    "broadband_services": "broadband",
    "broadband_info": "broadband",
    "broadband_quota": "broadband",
    "broadband_usage": "broadband",
    "telephony_services": "telephony",
    "telephony_ratecard": "telephony",
    "login": "login",
}
"""Collector name → CHAOS subsystem (§8.3)."""

ERROR_TYPES: Final = (
    "auth",
    "api_error",
    "http_error",
    "rate_limited",
    "timeout",
    "connection",
    "parse",
)

_REQUEST_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_COLLECTOR_BUCKETS: Final = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ChaosInstruments] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfMetric:
    """One self-metric family as exposed: name, type, labels, help."""

    name: str
    kind: str
    labels: tuple[str, ...]
    help: str


REQUESTS: Final = SelfMetric(
    name="aaisp_api_requests_total",
    kind="counter",
    labels=("target", "subsystem", "command", "status_code"),
    help="CHAOS API HTTP attempts (retries included) by login, subsystem, command "
    "and HTTP status (0 when no answer arrived).",
)
REQUEST_DURATION: Final = SelfMetric(
    name="aaisp_api_request_duration_seconds",
    kind="histogram",
    labels=("target", "subsystem", "command"),
    help="Duration of one CHAOS API HTTP attempt in seconds.",
)
COLLECTOR_DURATION: Final = SelfMetric(
    name="aaisp_collector_duration_seconds",
    kind="histogram",
    labels=("target", "collector_name", "subsystem"),
    help="Duration of one run of a collector in seconds, from its first request "
    "to its end (the wait for the login's request slot before it excluded).",
)
COLLECTOR_ERRORS: Final = SelfMetric(
    name="aaisp_collector_errors_total",
    kind="counter",
    labels=("target", "collector_name", "subsystem", "error_type"),
    help="Collector failures by class (auth, api_error, http_error, rate_limited, "
    "timeout, connection, parse).",
)
LAST_SUCCESS: Final = SelfMetric(
    name="aaisp_exporter_last_successful_collection_timestamp",
    kind="gauge",
    labels=("target", "collector_name"),
    help="Unix time of the collector's last successful run.",
)
BUILD_INFO: Final = SelfMetric(
    name="aaisp_exporter_build_info",
    kind="gauge",
    labels=("version", "python_version", "commit_sha"),
    help="Build of the running exporter; always 1.",
)
EXPORTER_UP: Final = SelfMetric(
    name="aaisp_exporter_up",
    kind="gauge",
    labels=(),
    help="1 while the exporter process runs (per-login health is aaisp_up).",
)
SELF_METRICS: Final = (
    REQUESTS,
    REQUEST_DURATION,
    COLLECTOR_DURATION,
    COLLECTOR_ERRORS,
    LAST_SUCCESS,
    BUILD_INFO,
    EXPORTER_UP,
)
"""Every self-metric family, for the instruments and the metrics catalogue."""


def _counter(metric: SelfMetric) -> str:
    """Return the name to give prometheus_client, which appends ``_total``."""
    return metric.name.removesuffix("_total")


class ChaosInstruments:
    """The request, collector and error metrics of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            _counter(REQUESTS), REQUESTS.help, REQUESTS.labels, registry=registry
        )
        self.request_duration = Histogram(
            REQUEST_DURATION.name,
            REQUEST_DURATION.help,
            REQUEST_DURATION.labels,
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.collector_duration = Histogram(
            COLLECTOR_DURATION.name,
            COLLECTOR_DURATION.help,
            COLLECTOR_DURATION.labels,
            buckets=_COLLECTOR_BUCKETS,
            registry=registry,
        )
        self.collector_errors = Counter(
            _counter(COLLECTOR_ERRORS),
            COLLECTOR_ERRORS.help,
            COLLECTOR_ERRORS.labels,
            registry=registry,
        )
        self.last_success = Gauge(
            LAST_SUCCESS.name, LAST_SUCCESS.help, LAST_SUCCESS.labels, registry=registry
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> ChaosInstruments:
        """Return the registry's instruments, creating them on first use."""
        found = _BY_REGISTRY.get(registry)
        if found is None:
            found = cls(registry)
            _BY_REGISTRY[registry] = found
        return found

    def precreate(self, target: str, collectors: Iterable[str]) -> None:
        """Create every error series of the login's collectors at 0 (for rate())."""
        for name in collectors:
            subsystem = COLLECTORS[name]
            for error_type in ERROR_TYPES:
                self.collector_errors.labels(target, name, subsystem, error_type)

    def error(self, target: str, collector: str, error_type: str) -> None:
        """Count one failure of a login's collector."""
        self.collector_errors.labels(
            target, collector, COLLECTORS[collector], error_type
        ).inc()

    def forget(self, target: str) -> None:
        """Drop every series of a login (its worker stopped: removed or replaced)."""
        for metric in (
            self.requests,
            self.request_duration,
            self.collector_duration,
            self.collector_errors,
            self.last_success,
        ):
            metric.remove_by_labels({"target": target})


def register_build_info(
    registry: CollectorRegistry, *, version: str, revision: str
) -> None:
    """Register aaisp_exporter_build_info (COMPAT labels) and aaisp_exporter_up."""
    info = Gauge(BUILD_INFO.name, BUILD_INFO.help, BUILD_INFO.labels, registry=registry)
    info.labels(version, platform.python_version(), revision).set(1)
    Gauge(EXPORTER_UP.name, EXPORTER_UP.help, registry=registry).set(1)


def catalogue_notes() -> str:
    """Return the metrics catalogue's section on these self-metrics (Markdown)."""
    lines = [
        "## Exporter self-metrics",
        "",
        "The exporter's own activity. Per-login families carry `target`, so a login",
        "whose password is refused shows beside a healthy one; a login's series go",
        "when it is removed. Error series exist at 0 from the start for every",
        "enabled collector and error class.",
        "",
        "| name | type | labels | help |",
        "|---|---|---|---|",
    ]
    for metric in SELF_METRICS:
        labels = ", ".join(f"`{label}`" for label in metric.labels) or "—"
        lines.append(f"| `{metric.name}` | {metric.kind} | {labels} | {metric.help} |")
    return "\n".join(lines)
