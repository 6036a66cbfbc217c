"""Value readers of the SNP metric table: how a row reads an ``SnpSnapshot``.

Small factories the table in ``collector`` and ``additions`` is written with: each
returns a ``value_fn`` that yields nothing when the object it reads has not
arrived on the current connection, and one sample per value the device sent.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from exporterhub.core.exposition import RecordView
from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.exporters.snp.objects import (
    ChannelValues,
    PtpValues,
    Rows,
    SystemValues,
    VideoRxValues,
    WanValues,
)
from exporterhub.exporters.snp.state import SnpSnapshot

__all__ = [
    "channels",
    "configured",
    "counter",
    "gauge",
    "hardware",
    "objects",
    "optics",
    "personalities",
    "ptp",
    "ptp_info",
    "rest_errors",
    "rows",
    "stream_up",
    "system",
    "system_rows",
    "video",
    "video_info",
    "wan",
]

ValueFn = Callable[[SnpSnapshot], Iterable[Sample]]
"""What a row of the table calls with the snapshot."""


def rows(pairs: Rows) -> Iterable[Sample]:
    """Return one-label samples from ``(label value, value)`` pairs."""
    return (((label,), value) for label, value in pairs)


def system(read: Callable[[SystemValues], float | None]) -> ValueFn:
    """Read one unlabelled value of the ``system`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.system is None else one(read(s.system))

    return value_fn


def system_rows(read: Callable[[SystemValues], Rows]) -> ValueFn:
    """Read one labelled family of the ``system`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.system is None else rows(read(s.system))

    return value_fn


def ptp(read: Callable[[PtpValues], float | None]) -> ValueFn:
    """Read one value of the ``ptp`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.ptp is None else one(read(s.ptp))

    return value_fn


def video(read: Callable[[VideoRxValues], Rows]) -> ValueFn:
    """Read one per-receiver family of the ``ipVidRx`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.video_rx is None else rows(read(s.video_rx))

    return value_fn


def wan(read: Callable[[WanValues], Rows]) -> ValueFn:
    """Read one per-link family of the ``ipWan`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.wan is None else rows(read(s.wan))

    return value_fn


def channels(read: Callable[[ChannelValues], float | None]) -> ValueFn:
    """Read one value of every channel object, labelled by its ``object_ID``."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        for object_id, values in s.channels:
            value = read(values)
            if value is not None:
                yield (object_id,), value

    return value_fn


def stream_up(view: RecordView) -> Iterable[Sample]:
    """Read the record: 1 while the stream is healthy and fresh, else 0."""
    return (((), 1.0 if view.record.healthy and view.fresh else 0.0),)


def hardware(s: SnpSnapshot) -> Iterable[Sample]:
    """Read the last known hardware identity."""
    return () if s.hardware is None else ((s.hardware, 1.0),)


def personalities(s: SnpSnapshot) -> Iterable[Sample]:
    """Read the last known personality of each processor."""
    return (((processor, p), 1.0) for processor, p in s.personalities)


def video_info(s: SnpSnapshot) -> Iterable[Sample]:
    """Read one info row per video receiver."""
    return () if s.video_rx is None else ((row, 1.0) for row in s.video_rx.info)


def ptp_info(s: SnpSnapshot) -> Iterable[Sample]:
    """Read the PTP identity row."""
    if s.ptp is None or s.ptp.info is None:
        return ()
    return ((s.ptp.info, 1.0),)


def optics(*, receive: bool) -> ValueFn:
    """Read the QSFP optical power per module and lane, received or sent."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        if s.system is None:
            return ()
        found = s.system.qsfp_rx if receive else s.system.qsfp_tx
        return (((index, lane), value) for index, lane, value in found)

    return value_fn


def configured(s: SnpSnapshot) -> Iterable[Sample]:
    """Read the configured 25G lane bandwidth by direction and lane."""
    if s.wan is None:
        return ()
    return (((direction, lane), v) for direction, lane, v in s.wan.configured)


def objects(s: SnpSnapshot) -> Iterable[Sample]:
    """Read when each status object last arrived."""
    return (((kind, object_id), at) for kind, object_id, at in s.objects)


def rest_errors(s: SnpSnapshot) -> Iterable[Sample]:
    """Read the failed REST calls by call."""
    return (((call,), float(count)) for call, count in s.rest_errors)


def gauge(
    name: str, help_: str, value_fn: ValueFn, labels: tuple[str, ...] = ()
) -> MetricSpec[SnpSnapshot]:
    """Return a device-value gauge row: omitted while the stream is not up."""
    return MetricSpec(
        name=name, help=help_, kind=Kind.GAUGE, value_fn=value_fn, labels=labels
    )


def counter(
    name: str,
    help_: str,
    value_fn: ValueFn,
    labels: tuple[str, ...] = (),
    *,
    kept: bool = False,
) -> MetricSpec[SnpSnapshot]:
    """Return a counter row; ``kept`` ones (the exporter's own) stay when stale."""
    return MetricSpec(
        name=name,
        help=help_,
        kind=Kind.COUNTER,
        value_fn=value_fn,
        labels=labels,
        keep_when_stale=kept,
    )
