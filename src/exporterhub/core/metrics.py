"""Metric tables and the fast text renderer for device metrics.

Exporters describe their device values once, as a table of ``MetricSpec`` rows; the
renderer turns a snapshot into exposition lines per row. Output follows the Prometheus
text format 0.0.4 and OpenMetrics 1.0 exactly as prometheus_client would write the
equivalent ``GaugeMetricFamily``/``CounterMetricFamily``/``InfoMetricFamily`` (a golden
test holds the two together). Also the hub's ``exporterhub_asyncio_tasks`` collector
(the running loop's task count, for leak checks). This module must not do I/O or touch
the global registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = [
    "Kind",
    "MetricSpec",
    "Sample",
    "asyncio_tasks",
    "build_info",
    "family_header",
    "format_value",
    "label_block",
    "one",
    "render_samples",
]

S = TypeVar("S")

Sample = tuple[tuple[str, ...], float]
"""One series: its extra label values (in the spec's label order) and its value."""


class Kind(StrEnum):
    """The metric types a device table may use."""

    GAUGE = "gauge"
    COUNTER = "counter"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec(Generic[S]):
    """One row of an exporter's metric table.

    Attributes:
        name: the exposed name: counters end in ``_total``, info families in ``_info``.
        help: one sentence with unit and source field.
        kind: gauge, counter or info.
        value_fn: reads a snapshot, yields ``(label values, value)`` pairs; yield
            nothing for values the device did not provide.
        labels: names of the extra labels, after the target's identity labels.
        keep_when_stale: render even when the snapshot is older than its max age
            (for ``_info`` and timestamps).
        on_record: ``value_fn`` reads the whole ``TargetRecord``, not only its data
            (health rows owned by the core).
        part: returns the part of the snapshot ``value_fn`` reads (an immutable
            object that, with the target's identity, decides the row's samples
            alone); while a target's new snapshots return the very same object,
            the row's rendered lines are reused instead of rendered again (for
            streams whose snapshots change one part at a time). An
            ``on_record`` row's part reads the ``RecordView`` instead: a bool,
            an enum member or a small count (objects Python keeps one of), so
            the row is rendered again only when its value changes.
    """

    name: str
    help: str
    kind: Kind
    value_fn: Callable[[S], Iterable[Sample]]
    labels: tuple[str, ...] = ()
    keep_when_stale: bool = False
    on_record: bool = False
    part: Callable[[S], object] | None = None
    _headers: dict[bool, bytes] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind is Kind.COUNTER and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name} must end in _total")
        if self.kind is Kind.INFO and not self.name.endswith("_info"):
            raise ValueError(f"info metric {self.name} must end in _info")
        self._headers[False] = family_header(self, openmetrics=False)
        self._headers[True] = family_header(self, openmetrics=True)

    def header(self, openmetrics: bool) -> bytes:
        """Return the cached HELP/TYPE lines for the given format."""
        return self._headers[openmetrics]


def one(value: float | bool | None) -> Iterable[Sample]:
    """Yield a single unlabelled sample, or nothing when the value is unknown.

    >>> list(one(1.5)), list(one(None))
    ([((), 1.5)], [])
    """
    if value is None:
        return ()
    return (((), float(value)),)


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    # OpenMetrics escapes double quotes in HELP too; the 0.0.4 text format does not.
    return text.replace('"', '\\"') if openmetrics else text


_ESCAPED: dict[str, str] = {}
_ESCAPED_MAX: Final = 65536


def _escape_label(value: str) -> str:
    # Label values repeat (states, directions, channel names): remember escapes.
    escaped = _ESCAPED.get(value)
    if escaped is None:
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        if len(_ESCAPED) >= _ESCAPED_MAX:
            _ESCAPED.clear()
        _ESCAPED[value] = escaped
    return escaped


def family_header(spec: MetricSpec[Any], *, openmetrics: bool) -> bytes:
    """Return the ``# HELP`` and ``# TYPE`` lines for a spec in one format.

    The text format names a counter family with its ``_total`` and an info family as a
    gauge; OpenMetrics names both without the suffix and uses the ``info`` type.
    """
    name = spec.name
    kind = spec.kind.value
    if openmetrics:
        if spec.kind is Kind.COUNTER:
            name = name.removesuffix("_total")
        elif spec.kind is Kind.INFO:
            name = name.removesuffix("_info")
    elif spec.kind is Kind.INFO:
        kind = "gauge"
    text = (
        f"# HELP {name} {_escape_help(spec.help, openmetrics)}\n# TYPE {name} {kind}\n"
    )
    return text.encode()


def format_value(value: float) -> str:
    """Format a sample value the way prometheus_client does.

    >>> format_value(1.0), format_value(float("inf")), format_value(1.7e9)
    ('1.0', '+Inf', '1.7e+09')
    >>> format_value(-0.25), format_value(123456.5)
    ('-0.25', '123456.5')
    """
    text = repr(value if type(value) is float else float(value))
    # Fast path: plain finite numbers below 1e6 in magnitude, which repr and Go
    # print alike; everything else takes prometheus_client's exact formatting.
    if -1e6 < value < 1e6 and "e" not in text and "n" not in text:
        return text
    go: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return go


def label_block(pairs: Iterable[tuple[str, str]]) -> str:
    """Return ``a="x",b="y"`` with values escaped (no braces)."""
    return ",".join(f'{k}="{_escape_label(v)}"' for k, v in pairs)


def render_samples(spec: MetricSpec[Any], source: object, identity: str) -> bytes:
    """Render one spec's sample lines for one target.

    Args:
        spec: the table row.
        source: what ``spec.value_fn`` reads (a snapshot or a record).
        identity: the target's identity labels as made by ``label_block``.

    Returns:
        The lines, or ``b""`` when the spec has no value for this target.
    """
    names = spec.labels
    name = spec.name
    if not names:
        head = f"{name}{{{identity}}} " if identity else f"{name} "
        return "".join(
            f"{head}{format_value(value)}\n" for _, value in spec.value_fn(source)
        ).encode()
    open_ = f"{name}{{{identity}," if identity else f"{name}{{"
    lines: list[str] = []
    append = lines.append
    if len(names) == 1:
        (label,) = names
        head = f'{open_}{label}="'
        escaped = _ESCAPED.get
        for values, value in spec.value_fn(source):
            if len(values) != 1:
                raise ValueError(f"{name}: expected 1 label value, got {values!r}")
            text = values[0]
            append(
                f'{head}{escaped(text) or _escape_label(text)}"}} '
                f"{format_value(value)}\n"
            )
    else:
        for values, value in spec.value_fn(source):
            extra = label_block(zip(names, values, strict=True))
            append(f"{open_}{extra}}} {format_value(value)}\n")
    return "".join(lines).encode()


def build_info(
    registry: CollectorRegistry, *, name: str, version: str, revision: str
) -> None:
    """Register ``<name>{version,revision,python_version} 1`` on ``registry``."""
    import platform

    gauge = Gauge(
        name,
        "Build of the running exporter, from package metadata; always 1.",
        ["version", "revision", "python_version"],
        registry=registry,
    )
    gauge.labels(version, revision, platform.python_version()).set(1)


TASKS_METRIC: Final = "exporterhub_asyncio_tasks"
_TASKS_HELP: Final = (
    "Asyncio tasks alive in the event loop serving this scrape (workers, "
    "connections, timers); flat in a steady state, growing when tasks leak."
)


class _TaskCount(Collector):
    """``exporterhub_asyncio_tasks``: the running loop's task count, read when scraped.

    Collected outside a running loop (another thread, a plain script) it yields
    nothing: the count is omitted, never made up.
    """

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(TASKS_METRIC, _TASKS_HELP)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            tasks = asyncio.all_tasks()
        except RuntimeError:  # no running event loop in this thread
            return
        yield GaugeMetricFamily(TASKS_METRIC, _TASKS_HELP, value=len(tasks))


def asyncio_tasks(registry: CollectorRegistry) -> None:
    """Register ``exporterhub_asyncio_tasks`` (the soak watches it for leaks)."""
    registry.register(_TaskCount())


def validate_table(specs: Sequence[MetricSpec[Any]]) -> None:
    """Raise ``ValueError`` when two rows in a table expose the same family."""
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ValueError(f"duplicate metric family {spec.name}")
        seen.add(spec.name)
