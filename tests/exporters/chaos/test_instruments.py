"""The self-metric table (catalogue) matches what the instruments expose."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from exporterhub.exporters.chaos.instruments import (
    SELF_METRICS,
    ChaosInstruments,
    register_build_info,
)


def test_table_matches_the_exposed_families():
    """Every table row is an exposed family with exactly those labels and type."""
    registry = CollectorRegistry()
    instruments = ChaosInstruments.for_registry(registry)
    register_build_info(registry, version="1", revision="abc")
    instruments.requests.labels("a@a", "broadband", "info", "200").inc()
    instruments.request_duration.labels("a@a", "broadband", "info").observe(0.1)
    instruments.collector_duration.labels("a@a", "broadband_info", "broadband").observe(
        0.1
    )
    instruments.error("a@a", "broadband_info", "auth")
    instruments.last_success.labels("a@a", "broadband_info").set(1)
    exposed = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith(("_bucket", "_sum", "_created")):
                continue
            name = sample.name.removesuffix("_count")
            labels = tuple(sample.labels)
            exposed[name] = (family.type, labels)
    table = {m.name: (m.kind, m.labels) for m in SELF_METRICS}
    assert exposed == table
