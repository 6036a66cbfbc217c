"""Value readers of the SNP metric table: how a row reads an ``SnpSnapshot``.

Small factories the table in ``collector`` and ``additions`` is written with: each
returns a ``value_fn`` that yields nothing when the object it reads has not
arrived on the current connection, and one sample per value the device sent.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Final, NamedTuple

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
    "counted",
    "counter",
    "gauge",
    "genlock",
    "hardware",
    "info",
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


class Reader(NamedTuple):
    """A ``value_fn`` and the part of the snapshot it reads (one status object).

    The renderer reuses a row's lines while its part is the same object: a PTP
    update re-renders the PTP rows only, not the system's or the receivers'.
    """

    value_fn: ValueFn
    part: Callable[[SnpSnapshot], object] | None


SYSTEM: Final = attrgetter("system")
PTP: Final = attrgetter("ptp")
VIDEO_RX: Final = attrgetter("video_rx")
WAN: Final = attrgetter("wan")
CHANNELS: Final = attrgetter("channels")


def rows(pairs: Rows) -> Iterable[Sample]:
    """Return one-label samples from ``(label value, value)`` pairs."""
    return (((label,), value) for label, value in pairs)


def system(read: Callable[[SystemValues], float | None]) -> Reader:
    """Read one unlabelled value of the ``system`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.system is None else one(read(s.system))

    return Reader(value_fn, SYSTEM)


def system_rows(read: Callable[[SystemValues], Rows]) -> Reader:
    """Read one labelled family of the ``system`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.system is None else rows(read(s.system))

    return Reader(value_fn, SYSTEM)


def ptp(read: Callable[[PtpValues], float | None]) -> Reader:
    """Read one value of the ``ptp`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.ptp is None else one(read(s.ptp))

    return Reader(value_fn, PTP)


def video(read: Callable[[VideoRxValues], Rows]) -> Reader:
    """Read one per-receiver family of the ``ipVidRx`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.video_rx is None else rows(read(s.video_rx))

    return Reader(value_fn, VIDEO_RX)


def wan(read: Callable[[WanValues], Rows]) -> Reader:
    """Read one per-link family of the ``ipWan`` object."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return () if s.wan is None else rows(read(s.wan))

    return Reader(value_fn, WAN)


def channels(read: Callable[[ChannelValues], float | None]) -> Reader:
    """Read one value of every channel object, labelled by its ``object_ID``."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        for object_id, values in s.channels:
            value = read(values)
            if value is not None:
                yield (object_id,), value

    return Reader(value_fn, CHANNELS)


def stream_up(view: RecordView) -> Iterable[Sample]:
    """Read the record: 1 while the stream is healthy and fresh, else 0."""
    return (((), 1.0 if view.record.healthy and view.fresh else 0.0),)


def _hardware(s: SnpSnapshot) -> Iterable[Sample]:
    return () if s.hardware is None else ((s.hardware, 1.0),)


hardware: Final = Reader(_hardware, attrgetter("hardware"))
"""Read the last known hardware identity."""


def _personalities(s: SnpSnapshot) -> Iterable[Sample]:
    return (((processor, p), 1.0) for processor, p in s.personalities)


personalities: Final = Reader(_personalities, attrgetter("personalities"))
"""Read the last known personality of each processor."""


def _video_info(s: SnpSnapshot) -> Iterable[Sample]:
    return () if s.video_rx is None else ((row, 1.0) for row in s.video_rx.info)


video_info: Final = Reader(_video_info, VIDEO_RX)
"""Read one info row per video receiver."""


def _ptp_info(s: SnpSnapshot) -> Iterable[Sample]:
    if s.ptp is None or s.ptp.info is None:
        return ()
    return ((s.ptp.info, 1.0),)


ptp_info: Final = Reader(_ptp_info, PTP)
"""Read the PTP identity row."""


def optics(*, receive: bool) -> Reader:
    """Read the QSFP optical power per module and lane, received or sent."""

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        if s.system is None:
            return ()
        found = s.system.qsfp_rx if receive else s.system.qsfp_tx
        return (((index, lane), value) for index, lane, value in found)

    return Reader(value_fn, SYSTEM)


def _configured(s: SnpSnapshot) -> Iterable[Sample]:
    if s.wan is None:
        return ()
    return (((direction, lane), v) for direction, lane, v in s.wan.configured)


configured: Final = Reader(_configured, WAN)
"""Read the configured 25G lane bandwidth by direction and lane."""


def counted(name: str) -> Reader:
    """Read one unlabelled number of the snapshot (a counter or a count).

    Its own value is the part: unchanged counts keep their lines.
    """
    read = attrgetter(name)

    def value_fn(s: SnpSnapshot) -> Iterable[Sample]:
        return one(read(s))

    return Reader(value_fn, read)


def _genlock(s: SnpSnapshot) -> Iterable[Sample]:
    return () if s.genlock is None else one(s.genlock.reference_locked)


genlock: Final = Reader(_genlock, attrgetter("genlock"))
"""Read whether the video genlock is locked to its reference."""


def objects(s: SnpSnapshot) -> Iterable[Sample]:
    """Read when each status object last arrived."""
    return (((kind, object_id), at) for kind, object_id, at in s.objects)


def _rest_errors(s: SnpSnapshot) -> Iterable[Sample]:
    return (((call,), float(count)) for call, count in s.rest_errors)


rest_errors: Final = Reader(_rest_errors, attrgetter("rest_errors"))
"""Read the failed REST calls by call."""


def _split(read: Reader | ValueFn) -> Reader:
    return read if isinstance(read, Reader) else Reader(read, None)


def gauge(
    name: str, help_: str, read: Reader | ValueFn, labels: tuple[str, ...] = ()
) -> MetricSpec[SnpSnapshot]:
    """Return a device-value gauge row: omitted while the stream is not up."""
    value_fn, part = _split(read)
    return MetricSpec(
        name=name,
        help=help_,
        kind=Kind.GAUGE,
        value_fn=value_fn,
        labels=labels,
        part=part,
    )


def counter(
    name: str,
    help_: str,
    read: Reader | ValueFn,
    labels: tuple[str, ...] = (),
    *,
    kept: bool = False,
) -> MetricSpec[SnpSnapshot]:
    """Return a counter row; ``kept`` ones (the exporter's own) stay when stale."""
    value_fn, part = _split(read)
    return MetricSpec(
        name=name,
        help=help_,
        kind=Kind.COUNTER,
        value_fn=value_fn,
        labels=labels,
        keep_when_stale=kept,
        part=part,
    )


def info(
    name: str, help_: str, read: Reader, labels: tuple[str, ...], *, kept: bool
) -> MetricSpec[SnpSnapshot]:
    """Return an ``_info`` row (value 1): kept when stale only for identity."""
    return MetricSpec(
        name=name,
        help=help_,
        kind=Kind.INFO,
        value_fn=read.value_fn,
        labels=labels,
        keep_when_stale=kept,
        part=read.part,
    )
