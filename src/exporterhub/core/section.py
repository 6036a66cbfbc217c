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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import structlog

from exporterhub.core.chunks import Chunk
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

__all__ = ["RecordView", "Section", "Window", "health_specs", "is_up"]

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


def is_up(view: RecordView) -> bool:
    """Say whether the target counts as up: its last read succeeded, data fresh."""
    return view.record.healthy and view.fresh


def _up(view: RecordView) -> Iterable[Sample]:
    return (((), 1.0 if is_up(view) else 0.0),)


def _reconnect_count(view: RecordView) -> int:
    return view.record.reconnects


def _link(view: RecordView) -> LinkState:
    return view.record.link


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
            part=is_up,
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
            part=_reconnect_count,
        ),
        MetricSpec(
            name=f"{prefix}_exporter_link_state",
            help="The exporter's link to the target: 1 for the current state, else 0.",
            kind=Kind.GAUGE,
            value_fn=_link_state,
            labels=("state",),
            keep_when_stale=True,
            on_record=True,
            part=_link,
        ),
    ]


def _same(part: Callable[[Any], object], before: object, now: object) -> bool:
    """Say whether ``part`` reads the very same object from both data.

    A part that cannot be read counts as changed: the row is rendered, and a
    failure there is counted and logged.
    """
    try:
        return part(before) is part(now)
    except Exception:  # the row's render reports it
        return False


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
    sourced: list[bool]
    """Per row: its line was rendered from the source (True), or left out as
    stale or failed (False); only a sourced line, empty or not, is reused."""
    identity: str
    """The record's identity labels as rendered (``label_block``)."""
    data: object
    """What the value rows read: the record's data as ``view`` showed it."""
    health: RecordView
    """What the record rows read."""
    fresh: bool
    """Whether the data was within its max age when the block was rendered."""
    failed: bool
    """Whether a row failed to render (it is tried again next time)."""

    @property
    def window(self) -> Window:
        instants, phase = self.schedule, self.phase
        return Window(
            instants[phase - 1] if phase else -math.inf,
            instants[phase] if phase < len(instants) else math.inf,
        )


@dataclass(slots=True)
class _Family:
    """One family's joined lines over every target, for one format."""

    key: tuple[int, int]
    """(the section's layout, the row's version) the chunk was joined at."""
    chunk: Chunk


class Section:
    """One exporter's metric table and its targets' latest records.

    Besides each target's block, it keeps each family's lines joined over every
    target (and, once a gzip is asked for, compressed: ``Chunk``) until one of
    those lines changes or a target comes or goes, so a render after a few
    targets changed joins and compresses only the families they changed.
    """

    def __init__(
        self,
        kind: str,
        prefix: str,
        specs: Sequence[MetricSpec[Any]],
        published: list[int] | None = None,
    ) -> None:
        self.kind = kind
        self.prefix = prefix
        self.specs: list[MetricSpec[Any]] = [*health_specs(prefix), *specs]
        validate_table(self.specs)
        self._records: dict[str, TargetRecord[Any]] = {}
        self._blocks: dict[str, _Block] = {}
        self._layout = 0
        """Bumped when a target comes or goes: every family is joined again."""
        self._versions = [0] * len(self.specs)
        """Per row: bumped when any target's line of the row changes."""
        self._families: dict[bool, list[_Family | None]] = {}
        groups: dict[tuple[object, bool], list[int]] = {}
        for index, spec in enumerate(self.specs):
            part: object = spec.part if spec.part is not None else ("row", index)
            groups.setdefault((part, spec.on_record), []).append(index)
        self._groups: list[tuple[Any, bool, list[int]]] = [
            (None if isinstance(part, tuple) else part, on_record, indexes)
            for (part, on_record), indexes in groups.items()
        ]
        """Row indexes by the part they read and whether they read the record
        (rows without a part: a group each)."""
        self.generation = 0
        self.render_errors = 0
        self.changed = asyncio.Event()
        """Set on every publish or removal; the background renderer waits on it."""
        self._published = published if published is not None else [0]
        """A count of publishes and removals, shared by an exposition's sections."""

    @property
    def layout(self) -> int:
        """A number that changes whenever a target comes or goes."""
        return self._layout

    def publish(self, record: TargetRecord[Any]) -> None:
        """Swap in a target's new record (one dict store)."""
        if record.name not in self._records:
            self._layout += 1
        self._records[record.name] = record
        self.generation += 1
        self._published[0] += 1
        self.changed.set()

    def remove(self, name: str) -> None:
        """Forget a target: its series vanish from the next scrape."""
        if self._records.pop(name, None) is not None:
            self.generation += 1
            self._published[0] += 1
            self._layout += 1
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
        if cached is not None:  # a new target's block: publish changed the layout
            versions = self._versions
            for index, (old, new) in enumerate(
                zip(cached.lines, block.lines, strict=True)
            ):
                if old != new:
                    versions[index] += 1
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
        target when that line was rendered from the previous data (not left out
        as stale or failed), the identity is the same, and the part the row reads
        is the very same object in both data. When nothing but data changed since
        the previous block (same freshness, no failed row), rows are taken by
        part: one check per part, and only the rows of changed parts (and rows
        without one) are rendered.
        """
        if previous is not None and previous.record.identity is record.identity:
            identity = previous.identity
        else:
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
        if (
            before is not None
            and data is not None
            and before.fresh == fresh
            and not before.failed
        ):
            lines = before.lines.copy()
            sourced = before.sourced.copy()
            failed = False
            for part, on_record, indexes in self._groups:
                if part is not None and (
                    _same(part, before.health, health)
                    if on_record
                    else _same(part, before.data, data)
                ):
                    continue
                for index in indexes:  # the group's rows all read the same source
                    if sourced[index] or on_record:
                        failed |= not self._row(
                            index,
                            health if on_record else data,
                            identity,
                            record,
                            lines,
                            sourced,
                        )
        else:
            lines = [b""] * len(self.specs)
            sourced = [False] * len(self.specs)
            failed = False
            for index, spec in enumerate(self.specs):
                source: object
                if spec.on_record:
                    source = health
                elif data is not None and (fresh or spec.keep_when_stale):
                    source = data
                else:
                    continue
                if (
                    spec.part is not None
                    and before is not None
                    and before.sourced[index]
                    and _same(
                        spec.part,
                        before.health if spec.on_record else before.data,
                        source,
                    )
                ):
                    lines[index] = before.lines[index]
                    sourced[index] = True
                    continue
                failed |= not self._row(index, source, identity, record, lines, sourced)
        return _Block(
            record,
            instants,
            phase,
            lines,
            sourced,
            identity,
            data,
            health,
            fresh,
            failed,
        )

    def _row(
        self,
        index: int,
        source: object,
        identity: str,
        record: TargetRecord[Any],
        lines: list[bytes],
        sourced: list[bool],
    ) -> bool:
        """Render row ``index`` into ``lines``; False (counted, logged) on failure."""
        spec = self.specs[index]
        try:
            lines[index] = render_samples(spec, source, identity)
        except Exception:  # one bad value must not take the whole scrape down
            self.render_errors += 1
            _log.exception(
                "render_failed", kind=self.kind, target=record.name, metric=spec.name
            )
            lines[index] = b""
            sourced[index] = False
            return False
        sourced[index] = True
        return True

    async def prerender(self, now: float, budget: float = 0.002) -> float:
        """Render every changed target's block, yielding to the loop between them.

        Args:
            now: wall-clock seconds that decide freshness.
            budget: seconds of rendering after which to let other tasks run.

        Returns:
            The seconds spent rendering (waits for other tasks left out).
        """
        busy = 0.0
        started = time.perf_counter()
        for record in list(self._records.values()):
            self._block(record, now)
            if time.perf_counter() - started > budget:
                busy += time.perf_counter() - started
                await asyncio.sleep(0)
                started = time.perf_counter()
        return busy + time.perf_counter() - started

    def render_window(
        self, now: float, openmetrics: bool
    ) -> tuple[list[Chunk], Window]:
        """Return this section's families as chunks and the window they are exact in.

        A family none of whose lines changed since it was last joined (and no
        target came or went) is the same ``Chunk`` as then, compressed at most
        once; an empty family has no chunk.
        """
        blocks = [self._block(record, now) for record in self._records.values()]
        since, until = ALWAYS
        for block in blocks:
            window = block.window
            since = max(since, window.since)
            until = min(until, window.until)
        families = self._families.get(openmetrics)
        if families is None:
            families = self._families[openmetrics] = [None] * len(self.specs)
        layout, versions = self._layout, self._versions
        chunks: list[Chunk] = []
        for index, spec in enumerate(self.specs):
            key = (layout, versions[index])
            family = families[index]
            if family is None or family.key != key:
                lines = [block.lines[index] for block in blocks if block.lines[index]]
                text = b"".join([spec.header(openmetrics), *lines]) if lines else b""
                family = families[index] = _Family(key, Chunk(text))
            if family.chunk.text:
                chunks.append(family.chunk)
        return chunks, Window(since, until)

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
        return [bytes(chunk.text) for chunk in self.render_window(now, openmetrics)[0]]
