"""One exporter's share of `/metrics`: its table, its targets' records, their blocks.

A ``Section`` holds the latest ``TargetRecord`` of each target and renders each into
a block of lines, one entry per table row. A block is kept until its record is
replaced or the clock crosses the next instant of the record's ``schedule`` (its max
age, or a part of ``AgeingData`` expiring), so a scrape between two such instants
re-renders nothing, and one after an instant re-renders only the targets it
concerns. A row whose spec names the ``part`` of the snapshot it reads keeps its
line from the target's previous block while that part is the very same object, so a
stream that replaces one status object re-renders only the rows reading it. Each
block knows the window of time it is valid for; the exposition carries the
narrowest window with the bytes it prepares. This module must not await
anything but its own yields, do I/O, or take a lock a worker holds.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import structlog

from exporterhub.core.metrics import (
    Kind,
    MetricSpec,
    Sample,
    label_block,
    render_samples,
    validate_table,
)
from exporterhub.core.snapshot import (
    LinkState,
    TargetRecord,
    is_fresh,
    schedule,
    view,
    within_max_age,
)

__all__ = ["RecordView", "Section", "Window", "health_specs"]

_log = structlog.get_logger(__name__)


class RecordView(NamedTuple):
    """What a health row reads: the record and whether its data counts as fresh."""

    record: TargetRecord[Any]
    fresh: bool


class Window(NamedTuple):
    """The wall-clock span in which rendered bytes stay exact: ``since < now <= until``.

    ``until`` is the earliest instant at which anything the bytes show expires;
    ``since`` the latest instant already crossed when they were rendered (a clock
    set back before it makes them wrong too).
    """

    since: float
    until: float

    def holds(self, now: float) -> bool:
        """Say whether bytes rendered for this window are still exact at ``now``."""
        return self.since < now <= self.until


ALWAYS = Window(-math.inf, math.inf)
"""The window of something no clock can change (no targets, no expiries)."""


def _up(view: RecordView) -> Iterable[Sample]:
    return (((), 1.0 if view.record.healthy and view.fresh else 0.0),)


def _last_success(view: RecordView) -> Iterable[Sample]:
    if view.record.last_success is None:
        return ()
    return (((), view.record.last_success),)


def _reconnects(view: RecordView) -> Iterable[Sample]:
    return (((), float(view.record.reconnects)),)


_LINK_STATES: Final = tuple((state, (state.value,)) for state in LinkState)


def _link_state(view: RecordView) -> Iterable[Sample]:
    current = view.record.link
    return [(values, 1.0 if s is current else 0.0) for s, values in _LINK_STATES]


def health_specs(prefix: str) -> list[MetricSpec[RecordView]]:
    """Return the per-target health rows every exporter gets, under ``prefix``."""
    return [
        MetricSpec(
            name=f"{prefix}_up",
            help="1 when the target's last poll or stream read succeeded and its data "
            "is fresh, else 0.",
            kind=Kind.GAUGE,
            value_fn=_up,
            keep_when_stale=True,
            on_record=True,
        ),
        MetricSpec(
            name=f"{prefix}_last_success_timestamp_seconds",
            help="Unix time of the target's last successful poll or stream read.",
            kind=Kind.GAUGE,
            value_fn=_last_success,
            keep_when_stale=True,
            on_record=True,
        ),
        MetricSpec(
            name=f"{prefix}_exporter_reconnects_total",
            help="Connections the exporter re-opened to the target after losing one.",
            kind=Kind.COUNTER,
            value_fn=_reconnects,
            keep_when_stale=True,
            on_record=True,
        ),
        MetricSpec(
            name=f"{prefix}_exporter_link_state",
            help="The exporter's link to the target: 1 for the current state, else 0.",
            kind=Kind.GAUGE,
            value_fn=_link_state,
            labels=("state",),
            keep_when_stale=True,
            on_record=True,
        ),
    ]


@dataclass(slots=True)
class _Block:
    """A target's rendered lines for one phase of its record's schedule.

    ``phase`` counts the schedule's instants already passed; the lines hold from
    the last of those (exclusive) to the next one (inclusive).
    """

    record: TargetRecord[Any]
    schedule: tuple[float, ...]
    phase: int
    lines: list[bytes]
    identity: str
    """The record's identity labels as rendered (``label_block``)."""
    data: object
    """What the value rows read: the record's data as ``view`` showed it."""

    @property
    def window(self) -> Window:
        instants, phase = self.schedule, self.phase
        return Window(
            instants[phase - 1] if phase else -math.inf,
            instants[phase] if phase < len(instants) else math.inf,
        )


class Section:
    """One exporter's metric table and its targets' latest records."""

    def __init__(
        self, kind: str, prefix: str, specs: Sequence[MetricSpec[Any]]
    ) -> None:
        self.kind = kind
        self.prefix = prefix
        self.specs: list[MetricSpec[Any]] = [*health_specs(prefix), *specs]
        validate_table(self.specs)
        self._records: dict[str, TargetRecord[Any]] = {}
        self._blocks: dict[str, _Block] = {}
        self.generation = 0
        self.render_errors = 0
        self.changed = asyncio.Event()
        """Set on every publish or removal; the background renderer waits on it."""

    def publish(self, record: TargetRecord[Any]) -> None:
        """Swap in a target's new record (one dict store)."""
        self._records[record.name] = record
        self.generation += 1
        self.changed.set()

    def remove(self, name: str) -> None:
        """Forget a target: its series vanish from the next scrape."""
        if self._records.pop(name, None) is not None:
            self.generation += 1
            self.changed.set()
        self._blocks.pop(name, None)

    def get(self, name: str) -> TargetRecord[Any] | None:
        """Return a target's latest record, if it has one."""
        return self._records.get(name)

    def records(self) -> list[TargetRecord[Any]]:
        """Return the latest record of every target, in publication order."""
        return list(self._records.values())

    def freshness(self, now: float) -> tuple[bool, ...]:
        """Return whether each target counts as fresh (``is_fresh``), in order."""
        return tuple(is_fresh(r, now) for r in self._records.values())

    def _block(self, record: TargetRecord[Any], now: float) -> _Block:
        cached = self._blocks.get(record.name)
        if cached is not None and cached.record is record:
            instants = cached.schedule
            phase = bisect_left(instants, now)
            if phase == cached.phase:
                return cached
        else:
            instants = schedule(record)
            phase = bisect_left(instants, now)
        block = self._render(record, instants, phase, now, cached)
        self._blocks[record.name] = block
        return block

    def _render(
        self,
        record: TargetRecord[Any],
        instants: tuple[float, ...],
        phase: int,
        now: float,
        previous: _Block | None,
    ) -> _Block:
        """Render one target's block as it is at ``now``.

        A row with a ``part`` reuses its line from the ``previous`` block of the
        target when that line is not empty (so it was rendered from the previous
        data, not left out as stale or failed), the identity is the same, and the
        part the row reads is the very same object in both data.
        """
        identity = label_block(record.identity)
        fresh = within_max_age(record, now)
        health = RecordView(record, is_fresh(record, now))
        data = view(record, now)
        before: _Block | None = None
        if (
            previous is not None
            and previous.identity == identity
            and previous.data is not None
        ):
            before = previous
        lines: list[bytes] = []
        for index, spec in enumerate(self.specs):
            source: object
            if spec.on_record:
                source = health
            elif data is not None and (fresh or spec.keep_when_stale):
                source = data
            else:
                lines.append(b"")
                continue
            try:
                if (
                    spec.part is not None
                    and before is not None
                    and before.lines[index]
                    and spec.part(before.data) is spec.part(source)
                ):
                    lines.append(before.lines[index])
                    continue
                lines.append(render_samples(spec, source, identity))
            except Exception:  # one bad value must not take the whole scrape down
                self.render_errors += 1
                _log.exception(
                    "render_failed",
                    kind=self.kind,
                    target=record.name,
                    metric=spec.name,
                )
                lines.append(b"")
        return _Block(record, instants, phase, lines, identity, data)

    async def prerender(self, now: float, budget: float = 0.002) -> None:
        """Render every changed target's block, yielding to the loop between them.

        Args:
            now: wall-clock seconds that decide freshness.
            budget: seconds of rendering after which to let other tasks run.
        """
        started = time.perf_counter()
        for record in list(self._records.values()):
            self._block(record, now)
            if time.perf_counter() - started > budget:
                await asyncio.sleep(0)
                started = time.perf_counter()

    def render_window(
        self, now: float, openmetrics: bool
    ) -> tuple[list[bytes], Window]:
        """Return this section's exposition parts and the window they are exact in."""
        blocks = [self._block(record, now) for record in self._records.values()]
        since, until = ALWAYS
        for block in blocks:
            window = block.window
            since = max(since, window.since)
            until = min(until, window.until)
        parts: list[bytes] = []
        for index, spec in enumerate(self.specs):
            lines = [block.lines[index] for block in blocks if block.lines[index]]
            if lines:
                parts.append(spec.header(openmetrics))
                parts.extend(lines)
        return parts, Window(since, until)

    def render_target(self, name: str, now: float, openmetrics: bool) -> list[bytes]:
        """Return one target's exposition parts (``/probe``), from the cache.

        Empty when the section has no such target.
        """
        record = self._records.get(name)
        if record is None:
            return []
        block = self._block(record, now)
        parts: list[bytes] = []
        for index, spec in enumerate(self.specs):
            if block.lines[index]:
                parts.append(spec.header(openmetrics))
                parts.append(block.lines[index])
        return parts

    def values(
        self, name: str, now: float, families: frozenset[str]
    ) -> list[tuple[str, tuple[tuple[str, str], ...], float]] | None:
        """Return a target's samples of ``families`` as a scrape at ``now`` has them.

        Each is ``(family, extra labels, value)``, identity labels left out; read
        from the record through the table, without making or parsing any text.
        None when the section has no such target.
        """
        record = self._records.get(name)
        if record is None:
            return None
        data = view(record, now)
        fresh = data is not None and within_max_age(record, now)
        found: list[tuple[str, tuple[tuple[str, str], ...], float]] = []
        for spec in self.specs:
            if spec.name not in families:
                continue
            source: object
            if spec.on_record:
                source = RecordView(record, is_fresh(record, now))
            elif data is not None and (fresh or spec.keep_when_stale):
                source = data
            else:
                continue
            try:
                found.extend(
                    [
                        (spec.name, tuple(zip(spec.labels, values, strict=True)), value)
                        for values, value in spec.value_fn(source)
                    ]
                )
            except Exception:  # as in a scrape: one bad value costs only its row
                self.render_errors += 1
                _log.exception(
                    "render_failed", kind=self.kind, target=name, metric=spec.name
                )
        return found

    def render(self, now: float, openmetrics: bool) -> list[bytes]:
        """Return this section's exposition parts, family by family."""
        return self.render_window(now, openmetrics)[0]
