"""The discovery worker's own metrics, one set per registry (per hub).

Created on the first finished round, so nothing reads 0 before discovery has
answered anything, and removed when the discovery source stops.
``tapo_discovered_devices`` (the original's name, a count of every plug the
exporter knows: configured and discovered) only with ``legacy_metrics``.
No I/O and no discovery logic here.
"""

from __future__ import annotations

import weakref
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["PROCESS_METRICS", "DiscoveryInstruments", "legacy_inventory"]

_DEVICES_HELP: Final = "Plugs that answered the last discovery round (one per MAC)."
_ROUNDS_HELP: Final = "Discovery rounds run (every address asked once per round)."
_ERRORS_HELP: Final = (
    "Discovery asks that failed: an address could not be asked (no route, no "
    "interface, a name that does not resolve)."
)
_LAST_ROUND_HELP: Final = "Unix time the last discovery round ended."
_LEGACY_HELP: Final = (
    "Legacy name (legacy_metrics): plugs the exporter knows, configured and "
    "discovered, answering or not."
)

PROCESS_METRICS: Final = (
    ("tapo_exporter_discovery_devices", "gauge", "", _DEVICES_HELP),
    ("tapo_exporter_discovery_rounds_total", "counter", "", _ROUNDS_HELP),
    ("tapo_exporter_discovery_errors_total", "counter", "", _ERRORS_HELP),
    (
        "tapo_exporter_discovery_last_round_timestamp_seconds",
        "gauge",
        "",
        _LAST_ROUND_HELP,
    ),
    ("tapo_discovered_devices", "gauge", "", _LEGACY_HELP),
)
"""The catalogue's rows for these metrics: name, type, labels, help."""

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, DiscoveryInstruments] = (
    weakref.WeakKeyDictionary()
)


class DiscoveryInstruments:
    """The discovery metrics of one registry, while a discovery source runs."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self.rounds = Counter(
            "tapo_exporter_discovery_rounds", _ROUNDS_HELP, registry=registry
        )
        self.errors = Counter(
            "tapo_exporter_discovery_errors", _ERRORS_HELP, registry=registry
        )
        self.last_round = Gauge(
            "tapo_exporter_discovery_last_round_timestamp_seconds",
            _LAST_ROUND_HELP,
            registry=registry,
        )
        self._devices: Gauge | None = None

    def devices(self, count: int | None) -> None:
        """Serve ``tapo_exporter_discovery_devices`` = ``count``; None removes it.

        None means nothing could be asked this round: the count is unknown.
        """
        if count is None:
            if self._devices is not None:
                self._registry.unregister(self._devices)
                self._devices = None
            return
        if self._devices is None:
            self._devices = Gauge(
                "tapo_exporter_discovery_devices",
                _DEVICES_HELP,
                registry=self._registry,
            )
        self._devices.set(count)

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> DiscoveryInstruments:
        """Return the registry's instruments, creating them on first use."""
        found = _BY_REGISTRY.get(registry)
        if found is None:
            found = cls(registry)
            _BY_REGISTRY[registry] = found
        return found

    @classmethod
    def drop(cls, registry: CollectorRegistry) -> None:
        """Remove the registry's discovery metrics (the source stopped)."""
        found = _BY_REGISTRY.pop(registry, None)
        if found is None:
            return
        found.devices(None)
        registry.unregister(found.rounds)
        registry.unregister(found.errors)
        registry.unregister(found.last_round)


_LEGACY: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = (
    weakref.WeakKeyDictionary()
)


def legacy_inventory(registry: CollectorRegistry, count: int | None) -> None:
    """Serve the original's ``tapo_discovered_devices`` = ``count``; None removes it."""
    gauge = _LEGACY.get(registry)
    if count is None:
        if gauge is not None:
            registry.unregister(gauge)
            del _LEGACY[registry]
        return
    if gauge is None:
        gauge = Gauge("tapo_discovered_devices", _LEGACY_HELP, registry=registry)
        _LEGACY[registry] = gauge
    gauge.set(count)
