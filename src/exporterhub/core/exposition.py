"""The `/metrics` body: cached per-target blocks joined per family, plus self-metrics.

Each exporter owns a ``Section``: its metric table and the latest ``TargetRecord`` of
each of its targets. A target's lines are rendered once per (record, freshness) and
kept; a scrape joins the cached lines family by family, and the joined body (and its
gzip) is kept until a record changes or a target crosses its max age. Nothing here
awaits a device or takes a lock a worker holds; the worst case on the request path is
re-rendering the targets whose records changed since the last scrape.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_latest_openmetrics,
)

from exporterhub.core.clock import Clock
from exporterhub.core.metrics import (
    Kind,
    MetricSpec,
    Sample,
    label_block,
    render_samples,
    validate_table,
)
from exporterhub.core.snapshot import LinkState, TargetRecord, is_fresh

__all__ = ["Exposition", "RecordView", "Section", "health_specs"]

_log = structlog.get_logger(__name__)

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4"
"""Exactly what the original exporters answered (COMPAT); the body is UTF-8."""
OPENMETRICS_CONTENT_TYPE: Final = (
    "application/openmetrics-text; version=1.0.0; charset=utf-8"
)
_GZIP_LEVEL: Final = 5
_SELF_REFRESH_SECONDS: Final = 1.0
_VARIANT_HORIZON_SECONDS: Final = 60.0


class RecordView(NamedTuple):
    """What a health row reads: the record and whether its data is fresh."""

    record: TargetRecord[Any]
    fresh: bool


def _up(view: RecordView) -> Iterable[Sample]:
    return (((), 1.0 if view.record.healthy and view.fresh else 0.0),)


def _last_success(view: RecordView) -> Iterable[Sample]:
    if view.record.last_success is None:
        return ()
    return (((), view.record.last_success),)


def _reconnects(view: RecordView) -> Iterable[Sample]:
    return (((), float(view.record.reconnects)),)


def _link_state(view: RecordView) -> Iterable[Sample]:
    current = view.record.link
    return (((s.value,), 1.0 if s is current else 0.0) for s in LinkState)


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
    record: TargetRecord[Any]
    fresh: bool
    lines: list[bytes]


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
        """Return each target's freshness, in record order."""
        return tuple(is_fresh(r, now) for r in self._records.values())

    def _block(self, record: TargetRecord[Any], fresh: bool) -> list[bytes]:
        cached = self._blocks.get(record.name)
        if cached is not None and cached.record is record and cached.fresh == fresh:
            return cached.lines
        identity = label_block(record.identity)
        view = RecordView(record, fresh)
        lines: list[bytes] = []
        for spec in self.specs:
            source: object
            if spec.on_record:
                source = view
            elif record.data is not None and (fresh or spec.keep_when_stale):
                source = record.data
            else:
                lines.append(b"")
                continue
            try:
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
        self._blocks[record.name] = _Block(record, fresh, lines)
        return lines

    async def prerender(self, now: float, budget: float = 0.002) -> None:
        """Render every changed target's block, yielding to the loop between them.

        Args:
            now: wall-clock seconds that decide freshness.
            budget: seconds of rendering after which to let other tasks run.
        """
        started = time.perf_counter()
        for record in list(self._records.values()):
            self._block(record, is_fresh(record, now))
            if time.perf_counter() - started > budget:
                await asyncio.sleep(0)
                started = time.perf_counter()

    def render(self, now: float, openmetrics: bool) -> list[bytes]:
        """Return this section's exposition parts, family by family."""
        blocks = [
            self._block(record, is_fresh(record, now))
            for record in self._records.values()
        ]
        parts: list[bytes] = []
        for index, spec in enumerate(self.specs):
            lines = [block[index] for block in blocks if block[index]]
            if lines:
                parts.append(spec.header(openmetrics))
                parts.extend(lines)
        return parts


class Exposition:
    """Everything `/metrics` serves, cached until something changes.

    Args:
        clock: the wall clock that decides freshness.
        registry: the exporter's own metrics (build info, error counters); rendered
            with prometheus_client at most once a second.
    """

    def __init__(self, clock: Clock, registry: CollectorRegistry) -> None:
        self._clock = clock
        self.registry = registry
        self._sections: dict[str, Section] = {}
        self._self_blocks: dict[bool, tuple[int, bytes]] = {}
        self._bodies: dict[bool, tuple[object, bytes]] = {}
        self._gzips: dict[bool, tuple[object, bytes]] = {}
        self._served: dict[tuple[bool, bool], bytes] = {}
        self._served_key: object = None
        self._requested: dict[tuple[bool, bool], float] = {(False, False): 0.0}

    def add_section(
        self, kind: str, prefix: str, specs: Sequence[MetricSpec[Any]]
    ) -> Section:
        """Create (or return the existing) section for an exporter kind."""
        section = self._sections.get(kind)
        if section is None:
            section = Section(kind, prefix, specs)
            self._sections[kind] = section
        return section

    def section(self, kind: str) -> Section:
        """Return the section of an exporter kind; KeyError when absent."""
        return self._sections[kind]

    def sections(self) -> list[Section]:
        """Return every section, in registration order."""
        return list(self._sections.values())

    def _self_block(self, openmetrics: bool) -> bytes:
        """Return the self-metrics, re-rendered at most once a second.

        The bytes themselves key the body cache, so an unchanged registry does
        not invalidate the body.
        """
        tick = int(self._clock.monotonic() / _SELF_REFRESH_SECONDS)
        cached = self._self_blocks.get(openmetrics)
        if cached is not None and cached[0] == tick:
            return cached[1]
        text: bytes
        if openmetrics:
            text = generate_latest_openmetrics(self.registry)  # type: ignore[no-untyped-call]
            text = text.removesuffix(b"# EOF\n")
        else:
            text = generate_latest(self.registry)
        if cached is not None and cached[1] == text:
            text = cached[1]  # same content: keep the object the key compares
        self._self_blocks[openmetrics] = (tick, text)
        return text

    def _key(self, now: float, openmetrics: bool) -> object:
        return (
            self._self_block(openmetrics),
            tuple((s.generation, s.freshness(now)) for s in self._sections.values()),
        )

    def body(self, openmetrics: bool = False) -> bytes:
        """Return the full exposition in the text format or OpenMetrics."""
        now = self._clock.time()
        key = self._key(now, openmetrics)
        cached = self._bodies.get(openmetrics)
        if cached is not None and cached[0] == key:
            return cached[1]
        parts: list[bytes] = []
        for section in self._sections.values():
            parts.extend(section.render(now, openmetrics))
        parts.append(self._self_block(openmetrics))
        if openmetrics:
            parts.append(b"# EOF\n")
        body = b"".join(parts)
        self._bodies[openmetrics] = (key, body)
        return body

    def gzip_body(self, openmetrics: bool = False) -> bytes:
        """Return the body gzipped, compressed once per change of the body."""
        body = self.body(openmetrics)
        cached = self._gzips.get(openmetrics)
        if cached is not None and cached[0] is body:
            return cached[1]
        packed = gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)
        self._gzips[openmetrics] = (body, packed)
        return packed

    def served(self, openmetrics: bool, compressed: bool) -> bytes | None:
        """Return the bytes the background renderer prepared, if it has.

        This is all a scrape does while ``run_renderer`` is running: two dict
        operations, never a render. Asking for a variant (OpenMetrics, gzip) makes
        the renderer prepare it from then on; until it has, this returns None and
        the caller renders once itself.
        """
        variant = (openmetrics, compressed)
        self._requested[variant] = self._clock.monotonic()
        return self._served.get(variant)

    def _variants(self) -> frozenset[tuple[bool, bool]]:
        """Return the variants scraped in the last minute (plain text always)."""
        horizon = self._clock.monotonic() - _VARIANT_HORIZON_SECONDS
        wanted = {v for v, at in self._requested.items() if at >= horizon}
        wanted.add((False, False))
        return frozenset(wanted)

    async def refresh(self) -> bool:
        """Prepare the bodies scrapers ask for, if anything changed.

        Blocks are rendered in slices that yield to the event loop, and gzip runs
        in a thread (zlib releases the GIL), so scrapes keep being answered from
        the previous bytes meanwhile. Returns True when new bytes were swapped in.
        """
        now = self._clock.time()
        variants = self._variants()
        formats = sorted({openmetrics for openmetrics, _ in variants})
        key = (variants, tuple(self._key(now, om) for om in formats))
        if key == self._served_key:
            return False
        for section in list(self._sections.values()):
            await section.prerender(now)
        bodies = {om: self.body(om) for om in formats}
        served = {(om, False): body for om, body in bodies.items()}
        compress = [om for om, gz in sorted(variants) if gz]
        packed = await asyncio.gather(
            *(
                asyncio.to_thread(gzip.compress, bodies[om], _GZIP_LEVEL, mtime=0)
                for om in compress
            )
        )
        served.update(
            {(om, True): data for om, data in zip(compress, packed, strict=True)}
        )
        self._served = served
        self._served_key = key
        return True

    async def run_renderer(self, interval: float = 0.1) -> None:
        """Keep the served bytes current until cancelled.

        Wakes on any publish or removal (at most once per ``interval`` seconds,
        so a chatty stream costs at most that many renders) and at least once a
        second for targets turning stale and for the self-metrics.
        """
        while True:
            started = self._clock.monotonic()
            for section in self._sections.values():
                section.changed.clear()
            try:
                await self.refresh()
            except Exception:  # keep serving the last bytes; try again next pass
                _log.exception("refresh_failed")
            waits = [
                asyncio.ensure_future(section.changed.wait())
                for section in self._sections.values()
            ]
            try:
                if waits:
                    await asyncio.wait(
                        waits,
                        timeout=_SELF_REFRESH_SECONDS,
                        return_when="FIRST_COMPLETED",
                    )
                else:
                    await asyncio.sleep(_SELF_REFRESH_SECONDS)
            finally:
                for wait in waits:
                    wait.cancel()
            remaining = interval - (self._clock.monotonic() - started)
            if remaining > 0:
                await self._clock.sleep(remaining)
