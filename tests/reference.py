"""The reference exposition tests compare the fast renderer with.

``golden`` renders a section's record through prometheus_client's own metric families
(``GaugeMetricFamily``, ``CounterMetricFamily``, ``InfoMetricFamily``) on a fresh
registry; ``normalise`` turns parsed families into comparable tuples. Shared by the
exporters' collector tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_latest_openmetrics,
)

from exporterhub.core.exposition import RecordView, Section
from exporterhub.core.metrics import Kind
from exporterhub.core.snapshot import TargetRecord

__all__ = ["golden", "normalise"]


class _SpecCollector:
    """The same record as prometheus_client families, for the golden comparison."""

    def __init__(self, section: Section, record: TargetRecord[Any], fresh: bool):
        self.section = section
        self.record = record
        self.fresh = fresh

    def collect(self) -> Iterator[Metric]:
        names = [name for name, _ in self.record.identity]
        ids = [label for _, label in self.record.identity]
        view = RecordView(self.record, self.fresh)
        for spec in self.section.specs:
            if spec.on_record:
                source: Any = view
            elif self.record.data is not None and (self.fresh or spec.keep_when_stale):
                source = self.record.data
            else:
                continue
            samples = list(spec.value_fn(source))
            if not samples:
                continue
            family: Metric
            if spec.kind is Kind.INFO:
                family = InfoMetricFamily(
                    spec.name.removesuffix("_info"), spec.help, labels=names
                )
                for extra, _ in samples:
                    family.add_metric(ids, dict(zip(spec.labels, extra, strict=True)))
            else:
                factory = (
                    CounterMetricFamily
                    if spec.kind is Kind.COUNTER
                    else GaugeMetricFamily
                )
                family = factory(spec.name, spec.help, labels=[*names, *spec.labels])
                for extra, number in samples:
                    family.add_metric([*ids, *extra], number)
            yield family


def normalise(families: list[Metric]) -> list[tuple]:
    return [
        (
            family.name,
            family.type,
            family.documentation,
            sorted(
                (sample.name, sorted(sample.labels.items()), sample.value)
                for sample in family.samples
            ),
        )
        for family in families
    ]


def golden(section: Section, record: TargetRecord[Any], fresh: bool, om: bool) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SpecCollector(section, record, fresh))
    if om:
        return generate_latest_openmetrics(registry).decode()
    return generate_latest(registry).decode()
