"""The `/metrics` body: cached per-target blocks joined per family, plus self-metrics.

Each exporter owns a ``Section`` (``exporterhub.core.section``): its metric table and
the latest ``TargetRecord`` of each of its targets, rendered into blocks that are
kept until the record changes or the clock crosses an instant of its schedule. The
joined body (and its gzip) is kept until a record changes or the clock leaves the
body's window, the span in which nothing it shows expires. The background renderer
prepares the bodies scrapers ask for and wakes at the end of their window; a scrape
gets the prepared bytes only while their window holds, so no value is served past
its max age whatever the renderer and the workers are doing. Nothing here awaits a
device or takes a lock a worker holds; the worst case on the request path is
re-rendering the targets whose records changed or expired since the last scrape.
"""

from __future__ import annotations

import asyncio
import gzip
import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_latest_openmetrics,
)

from exporterhub.core.clock import Clock
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.section import (
    ALWAYS,
    RecordView,
    Section,
    Window,
    health_specs,
)

__all__ = [
    "Exposition",
    "RecordView",
    "Section",
    "Window",
    "health_specs",
    "render_pause",
]

_log = structlog.get_logger(__name__)

_GZIP_LEVEL: Final = 1
"""zlib's fast level: 2.1 ms of CPU for a 900 KB body against 5.1 ms at level 5, for
a body 20 % larger (88 KB against 73 KB); a scraper asking for gzip every second
pays the difference on every change."""
_SELF_REFRESH_SECONDS: Final = 1.0
_VARIANT_HORIZON_SECONDS: Final = 300.0
_RENDER_SHARE: Final = 0.2
"""The largest share of real time the background renderer spends preparing bodies
of changing targets: a body that takes longer to build is rebuilt less often. At
1,000 streaming SNPs (a 15 MB body, ~50 ms to join and gzip, changing all the
time) rebuilding it every 0.1 s took half a core."""


def render_pause(interval: float, cost: float, elapsed: float) -> float:
    """Return how long the renderer waits before preparing changed bytes again.

    At least ``interval`` between two renders, and at least ``cost`` divided by
    ``_RENDER_SHARE`` (a render taking ``cost`` seconds), less the ``elapsed``
    seconds since the last render began.

    >>> render_pause(0.1, 0.005, 0.005)  # a small body: the interval decides
    0.095
    >>> render_pause(0.1, 0.05, 0.05)  # 50 ms to render: 250 ms apart
    0.2
    >>> render_pause(0.1, 0.01, 0.3)  # already waited longer
    0.0
    """
    return max(0.0, max(interval, cost / _RENDER_SHARE) - elapsed)


class _Body(NamedTuple):
    """A joined body, what it was built from, and the window it is exact in."""

    key: object
    window: Window
    body: bytes


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
        self._bodies: dict[bool, _Body] = {}
        self._gzips: dict[bool, tuple[object, bytes]] = {}
        self._served: dict[tuple[bool, bool], bytes] = {}
        self._served_key: object = None
        self._served_window = ALWAYS
        self._requested: dict[tuple[bool, bool], float] = {}

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

    def _key(self, openmetrics: bool) -> object:
        """Return what a body is built from, apart from the time: records and self."""
        return (
            self._self_block(openmetrics),
            tuple(s.generation for s in self._sections.values()),
        )

    def _body(self, openmetrics: bool) -> _Body:
        now = self._clock.time()
        key = self._key(openmetrics)
        cached = self._bodies.get(openmetrics)
        if cached is not None and cached.key == key and cached.window.holds(now):
            return cached
        parts: list[bytes] = []
        since, until = ALWAYS
        for section in self._sections.values():
            rendered, window = section.render_window(now, openmetrics)
            parts.extend(rendered)
            since, until = max(since, window.since), min(until, window.until)
        parts.append(self._self_block(openmetrics))
        if openmetrics:
            parts.append(b"# EOF\n")
        entry = _Body(key, Window(since, until), b"".join(parts))
        self._bodies[openmetrics] = entry
        return entry

    def target_body(
        self, kind: str, name: str, openmetrics: bool = False
    ) -> bytes | None:
        """Return one target's series only (``/probe``); None for an unknown target.

        Rendered from the same cached blocks as ``/metrics``, exact now; no
        self-metrics (those belong to the exporter, not the target).
        """
        section = self._sections.get(kind)
        if section is None or section.get(name) is None:
            return None
        parts = section.render_target(name, self._clock.time(), openmetrics)
        if openmetrics:
            parts.append(b"# EOF\n")
        return b"".join(parts)

    def body(self, openmetrics: bool = False) -> bytes:
        """Return the full exposition in the text format or OpenMetrics, exact now."""
        return self._body(openmetrics).body

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
        """Return the bytes the background renderer prepared, if they are still exact.

        This is all a scrape does while ``run_renderer`` is running: two dict
        operations and a comparison with the prepared bytes' window, never a
        render. None means "render it yourself" (``body()`` or ``gzip_body()``):
        the variant (OpenMetrics, gzip) was not asked for before, and the
        renderer prepares it from then on; or something the prepared bytes show
        has passed its max age since they were made.
        """
        variant = (openmetrics, compressed)
        now = self._clock.time()
        self._requested[variant] = now
        since, until = self._served_window
        if since < now <= until:
            return self._served.get(variant)
        return None

    def _variants(self) -> frozenset[tuple[bool, bool]]:
        """Return the variants scraped in the last minutes; none when nobody scrapes.

        A format nobody asked for lately is not prepared ahead: with nobody
        scraping the renderer does nothing, and the first scrape of a variant
        renders it once itself. Measured on the wall clock ``served`` reads
        anyway; a clock step only changes which variants are prepared ahead,
        never what is served.
        """
        horizon = self._clock.time() - _VARIANT_HORIZON_SECONDS
        return frozenset(v for v, at in self._requested.items() if at >= horizon)

    async def refresh(self) -> bool:
        """Prepare the bodies scrapers ask for, if anything changed.

        Blocks are rendered in slices that yield to the event loop, and gzip runs
        in a thread (zlib releases the GIL), so scrapes keep being answered from
        the previous bytes meanwhile. Returns True when new bytes were swapped in.
        """
        now = self._clock.time()
        variants = self._variants()
        if not variants:
            self._served, self._served_key = {}, None
            return False
        formats = sorted({openmetrics for openmetrics, _ in variants})
        key = (variants, tuple(self._key(om) for om in formats))
        if key == self._served_key and self._served_window.holds(now):
            return False
        for section in list(self._sections.values()):
            await section.prerender(now)
        entries = [self._body(om) for om in formats]
        window = Window(
            max(e.window.since for e in entries), min(e.window.until for e in entries)
        )
        bodies = {om: entry.body for om, entry in zip(formats, entries, strict=True)}
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
        self._served_window = window
        return True

    async def run_renderer(self, interval: float = 0.1) -> None:
        """Keep the served bytes current until cancelled.

        Wakes on any publish or removal (at most once per ``interval`` seconds
        of real time, so a chatty stream costs at most that many renders, and
        less often for a body whose render takes long: see ``render_pause``), at
        the instant the prepared bytes' window ends (a value passing its max
        age, on the clock given), and at least once a second for the
        self-metrics. Does nothing while nobody scrapes.
        """
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            for section in self._sections.values():
                section.changed.clear()
            rendered = False
            try:
                rendered = await self.refresh()
            except Exception:  # keep serving the last bytes; try again next pass
                _log.exception("refresh_failed")
            cost = loop.time() - started
            if await self._wait(self._served_window.until - self._clock.time()):
                continue  # a deadline is no chatty stream: render at once
            if not rendered:
                continue  # nothing was rendered: nothing to pace
            # Pacing bounds the CPU spent on renders: real time, the loop's.
            remaining = render_pause(interval, cost, loop.time() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)

    async def _wait(self, deadline: float) -> bool:
        """Wait for a change, ``deadline`` seconds or a second; True on the deadline.

        The deadline is slept on the injected clock (a fake one in tests: the
        renderer then wakes when the test moves time past it), the one-second cap
        on the event loop's.
        """
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(section.changed.wait())
            for section in self._sections.values()
        ]
        timer: asyncio.Future[None] | None = None
        if deadline != math.inf:
            timer = asyncio.ensure_future(self._clock.sleep(max(0.0, deadline)))
            waits.append(timer)
        try:
            if waits:
                await asyncio.wait(
                    waits, timeout=_SELF_REFRESH_SECONDS, return_when="FIRST_COMPLETED"
                )
            else:
                await asyncio.sleep(_SELF_REFRESH_SECONDS)
        finally:
            for wait in waits:
                wait.cancel()
        return timer is not None and timer.done() and not timer.cancelled()
