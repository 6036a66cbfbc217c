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
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["COLLECTORS", "ERROR_TYPES", "ChaosInstruments", "register_build_info"]

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


class ChaosInstruments:
    """The request, collector and error metrics of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "aaisp_api_requests",
            "CHAOS API HTTP attempts (retries included) by subsystem, command and "
            "HTTP status (0 when no answer arrived).",
            ["target", "subsystem", "command", "status_code"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "aaisp_api_request_duration_seconds",
            "Duration of one CHAOS API HTTP attempt in seconds.",
            ["target", "subsystem", "command"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.collector_duration = Histogram(
            "aaisp_collector_duration_seconds",
            "Duration of one run of a collector in seconds, from its first request "
            "to its end (the wait for the login's request slot before it excluded).",
            ["target", "collector_name", "subsystem"],
            buckets=_COLLECTOR_BUCKETS,
            registry=registry,
        )
        self.collector_errors = Counter(
            "aaisp_collector_errors",
            "Collector failures by class (auth, api_error, http_error, rate_limited, "
            "timeout, connection, parse).",
            ["target", "collector_name", "subsystem", "error_type"],
            registry=registry,
        )
        self.last_success = Gauge(
            "aaisp_exporter_last_successful_collection_timestamp",
            "Unix time of the collector's last successful run.",
            ["target", "collector_name"],
            registry=registry,
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
    info = Gauge(
        "aaisp_exporter_build_info",
        "Build of the running exporter; always 1.",
        ["version", "python_version", "commit_sha"],
        registry=registry,
    )
    info.labels(version, platform.python_version(), revision).set(1)
    Gauge(
        "aaisp_exporter_up",
        "1 while the exporter process runs (per-login health is aaisp_up).",
        registry=registry,
    ).set(1)
