"""The `/metrics` body: cached per-target blocks joined per family, plus self-metrics.

Each exporter owns a ``Section`` (``exporterhub.core.section``): its metric table and
the latest ``TargetRecord`` of each of its targets, rendered into blocks that are
kept until the record changes or the clock crosses an instant of its schedule. The
joined body (and its gzip, built from each family's kept DEFLATE stream) is kept
until a record changes or the clock leaves the body's window, the span in which
nothing it shows expires. The background renderer prepares the bodies scrapers ask
for, just before a steady scraper is due, and wakes at the end of their window; a
scrape gets the prepared bytes only while their window holds and they are current
(see ``served``), so no value is served past its max age whatever the renderer and
the workers are doing. Nothing here awaits a
device or takes a lock a worker holds; the worst case on the request path is
re-rendering the targets whose records changed or expired since the last scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, NamedTuple

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_latest_openmetrics,
)

from exporterhub.core.chunks import Chunk, gzip_join, join
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
    "ScrapeHook",
    "Section",
    "Window",
    "health_specs",
    "render_pause",
]

_log = structlog.get_logger(__name__)

_SELF_REFRESH_SECONDS: Final = 1.0
_VARIANT_HORIZON_SECONDS: Final = 300.0
_SCRAPES_KEPT: Final = 7
"""Scrape instants kept to learn a scraper's interval (six gaps)."""
_LEAD_SLACK_SECONDS: Final = 0.05
_LAG_SLACK_SECONDS: Final = 0.1
_SHARED_RENDER_SECONDS: Final = 0.05
"""A render that took longer is waited for by scrapes rather than done again."""
_RENDER_SHARE: Final = 0.2
"""The largest share of real time the background renderer spends preparing bodies
of changing targets: a body that takes longer to build is rebuilt less often. At
1,000 streaming SNPs (a 15 MB body, ~50 ms to join and gzip, changing all the
time) rebuilding it every 0.1 s took half a core."""


ScrapeHook = Callable[[], Awaitable[bool]]
"""Runs before a ``/metrics`` scrape is answered; True when it changed something
the scrape must show (then the body is made exact for it). It bounds its own wait."""


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


def _timed_gzip(chunks: list[Chunk], body: bytes) -> tuple[bytes, float]:
    """Run ``gzip_join`` (in a worker thread) and say how long it took."""
    started = time.perf_counter()
    packed = gzip_join(chunks, body)
    return packed, time.perf_counter() - started


class _Body(NamedTuple):
    """A joined body, what it was built from, and the window it is exact in."""

    key: object
    window: Window
    body: bytes
    chunks: list[Chunk]
    """The runs ``body`` joins, each compressed at most once (``gzip_join``)."""


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
        self._self_blocks: dict[bool, tuple[int, Chunk]] = {}
        self._bodies: dict[bool, _Body] = {}
        self._gzips: dict[bool, tuple[object, bytes]] = {}
        self._served: dict[tuple[bool, bool], bytes] = {}
        self._served_key: object = None
        self._served_window = ALWAYS
        self._requested: dict[tuple[bool, bool], float] = {}
        self._served_at = -math.inf
        self._served_at_real = -math.inf
        """The same on the real clock: under a clock that stands still (tests), no
        change waits longer than ``max_lag`` of real time either."""
        """The clock's monotonic time when the served bytes were swapped in."""
        self._published = [0]
        """Publishes and removals in every section (shared with them)."""
        self._served_count = -1
        """``_published`` when the served bytes were prepared."""
        self._served_layouts: tuple[int, ...] | None = None
        self._scrapes: deque[float] = deque(maxlen=_SCRAPES_KEPT)
        """The clock's monotonic time of the last scrapes (any variant)."""
        self._interval = 0.1
        self._render_busy = 0.0
        """Seconds the last render computed (its slices and its gzip)."""
        self._render_wall = 0.0
        """Seconds from the last render's start to its swap, waits included."""
        self._renderer_running = False
        """Whether ``run_renderer`` runs: without it, no change waits for one."""
        self._rendering = asyncio.Lock()
        """Held while bodies are prepared: one render at a time."""
        self._scrape_hooks: list[ScrapeHook] = []

    def add_scrape_hook(self, hook: ScrapeHook) -> None:
        """Run ``hook`` before each ``/metrics`` scrape is answered (``before_scrape``).

        For workers that read their device when scraped rather than on a timer
        (the original Tapo exporter's ``refresh_interval: null``).
        """
        self._scrape_hooks.append(hook)

    async def before_scrape(self) -> bool:
        """Run the scrape hooks together; True when one changed something.

        Nothing to await without hooks. A hook that raises is logged and counts
        as having changed nothing: the scrape is answered all the same.
        """
        hooks = self._scrape_hooks
        if not hooks:
            return False
        results: list[bool | BaseException]
        if len(hooks) == 1:  # the usual case: no task per scrape
            try:
                results = [await hooks[0]()]
            except Exception as exc:  # logged below: the scrape goes on
                results = [exc]
        else:
            results = await asyncio.gather(
                *(hook() for hook in hooks), return_exceptions=True
            )
        for result in results:
            if isinstance(result, BaseException):
                _log.error("scrape_hook_failed", error=repr(result))
        return any(result is True for result in results)

    def add_section(
        self, kind: str, prefix: str, specs: Sequence[MetricSpec[Any]]
    ) -> Section:
        """Create (or return the existing) section for an exporter kind."""
        section = self._sections.get(kind)
        if section is None:
            section = Section(kind, prefix, specs, self._published)
            self._sections[kind] = section
        return section

    def section(self, kind: str) -> Section:
        """Return the section of an exporter kind; KeyError when absent."""
        return self._sections[kind]

    def sections(self) -> list[Section]:
        """Return every section, in registration order."""
        return list(self._sections.values())

    def _self_block(self, openmetrics: bool) -> Chunk:
        """Return the self-metrics, re-rendered at most once a second.

        The chunk itself keys the body cache, so an unchanged registry does not
        invalidate the body (nor its compressed stream).
        """
        tick = int(self._clock.monotonic() / _SELF_REFRESH_SECONDS)
        cached = self._self_blocks.get(openmetrics)
        if cached is not None and cached[0] == tick:
            return cached[1]
        text: bytes
        if openmetrics:
            text = generate_latest_openmetrics(self.registry)  # type: ignore[no-untyped-call]
            text = text.removesuffix(b"# EOF\n") + b"# EOF\n"
        else:
            text = generate_latest(self.registry)
        if cached is not None and cached[1].text == text:
            chunk = cached[1]  # same content: keep the object the key compares
        else:
            chunk = Chunk(text)
        self._self_blocks[openmetrics] = (tick, chunk)
        return chunk

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
        chunks: list[Chunk] = []
        since, until = ALWAYS
        for section in self._sections.values():
            rendered, window = section.render_window(now, openmetrics)
            chunks.extend(rendered)
            since, until = max(since, window.since), min(until, window.until)
        chunks.append(self._self_block(openmetrics))
        body = join(chunks)
        entry = _Body(key, Window(since, until), body, chunks)
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
        """Return the body gzipped, built once per change of the body.

        Only the chunks that changed since the last gzip are compressed again
        (``exporterhub.core.chunks``).
        """
        entry = self._body(openmetrics)
        cached = self._gzips.get(openmetrics)
        if cached is not None and cached[0] is entry.body:
            return cached[1]
        packed = gzip_join(entry.chunks, entry.body)
        self._gzips[openmetrics] = (entry.body, packed)
        return packed

    def served(self, openmetrics: bool, compressed: bool) -> bytes | None:
        """Return the bytes the background renderer prepared, if they are current.

        Two dict operations and two comparisons, never a render. The prepared
        bytes are current while their window holds (nothing they show has passed
        its max age) and either nothing was published since they were made or
        only values were (no target came or went), the bytes are at most
        ``max_lag`` seconds old and the renderer runs (it brings the change
        soon). None means "render now"
        (``prepare``): the variant was not asked for before (the renderer
        prepares it from then on), or the bytes are out of date.
        """
        variant = (openmetrics, compressed)
        now = self._clock.time()
        self._requested[variant] = now
        self._scrapes.append(self._clock.monotonic())
        return self._current(variant, now)

    def _current(self, variant: tuple[bool, bool], now: float) -> bytes | None:
        if not self._served_window.holds(now):
            return None
        body = self._served.get(variant)
        if body is None or self._served_count == self._published[0]:
            return body
        if (
            self._renderer_running
            and self._served_layouts == self._layouts()
            and self._clock.monotonic() - self._served_at <= self.max_lag()
            and time.monotonic() - self._served_at_real <= self.max_lag()
        ):
            return body  # only values changed since, only just, and a render comes
        return None

    async def current(self, openmetrics: bool, compressed: bool) -> bytes:
        """Return what a scrape serves: the prepared bytes, or bytes made for it."""
        body = self.served(openmetrics, compressed)
        if body is not None:
            return body
        return await self.prepare(openmetrics, compressed)

    async def prepare(self, openmetrics: bool, compressed: bool) -> bytes:
        """Return bytes for a scrape ``served`` had nothing current for.

        A render under way of a large body (one that took the renderer more than
        ``_SHARED_RENDER_SECONDS``) is waited for, up to ``max_lag`` seconds: its
        bytes are the newest there can be, and making them twice at once would
        hold the loop longer. Otherwise, or when they are still not current, the
        body is made here at once (``prepare_now``): a small body costs less to
        make than to wait for.
        """
        if self._rendering.locked() and self._render_wall > _SHARED_RENDER_SECONDS:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.max_lag()), self._rendering:
                    pass
            body = self._current((openmetrics, compressed), self._clock.time())
            if body is not None:
                return body
        return self.prepare_now(openmetrics, compressed)

    def prepare_now(self, openmetrics: bool, compressed: bool) -> bytes:
        """Make the body for a scrape ``served`` had nothing current for.

        Rendered here, without waiting for the renderer (whose gzip may queue
        behind other threads' work): the targets that changed and the families
        they touch, then the body, or its gzip from the families' kept streams.
        The bytes are served to the next scrapes too, as the renderer's are,
        until it prepares every variant again.
        """
        count, layouts = self._published[0], self._layouts()
        body = self.gzip_body(openmetrics) if compressed else self.body(openmetrics)
        self._served = {(openmetrics, compressed): body}
        self._served_key = None  # the renderer prepares every variant next time
        self._served_window = self._bodies[openmetrics].window
        self._served_count, self._served_layouts = count, layouts
        self._served_at = self._clock.monotonic()
        self._served_at_real = time.monotonic()
        return body

    async def _packed(self, entry: _Body) -> tuple[bytes, float]:
        """Return the gzip of a body (in a thread, timed), or the one made already."""
        for body, packed in self._gzips.values():
            if body is entry.body:
                return packed, 0.0
        return await asyncio.to_thread(_timed_gzip, entry.chunks, entry.body)

    def max_lag(self) -> float:
        """Return how old prepared bytes may be when something changed since.

        Two render intervals, or longer where a render takes long: half its last
        duration plus 100 ms, so bytes prepared ahead of a scrape (``lead``) are
        still served when it comes, even from a render that ended early.
        """
        return max(2 * self._interval, 0.5 * self._render_wall + _LAG_SLACK_SECONDS)

    def lead(self) -> float:
        """Return how long before an expected scrape a render starts.

        Its last duration and a quarter more, plus 50 ms: the bytes are swapped
        in shortly before the scrape, and what they show is as recent as a
        render that long can make it.
        """
        return 1.25 * self._render_wall + _LEAD_SLACK_SECONDS

    def _layouts(self) -> tuple[int, ...]:
        return tuple(s.layout for s in self._sections.values())

    def render_due_in(self) -> float:
        """Return the seconds until a render should start for the next scrape.

        Scrapers come at a steady interval (Prometheus does): the median of the
        last gaps between scrapes. Zero when that is unknown, irregular, or
        shorter than two render intervals (the renderer then follows changes).
        """
        scrapes = self._scrapes
        if len(scrapes) < 3:
            return 0.0
        gaps = sorted(b - a for a, b in itertools.pairwise(scrapes))
        period = gaps[len(gaps) // 2]
        now = self._clock.monotonic()
        if period <= 2 * self._interval or now - scrapes[-1] > 2 * period:
            return 0.0
        due = scrapes[-1] + period - self.lead()
        while due <= now:
            due += period
        return min(due - now, period)

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
        async with self._rendering:
            return await self._refresh()

    async def _refresh(self) -> bool:
        started = self._clock.monotonic()
        now = self._clock.time()
        variants = self._variants()
        if not variants:
            self._served, self._served_key = {}, None
            return False
        formats = sorted({openmetrics for openmetrics, _ in variants})
        count, layouts = self._published[0], self._layouts()
        key = (variants, tuple(self._key(om) for om in formats))
        if key == self._served_key and self._served_window.holds(now):
            return False
        busy = 0.0
        for section in list(self._sections.values()):
            busy += await section.prerender(now)
        mark = time.perf_counter()
        entries = [self._body(om) for om in formats]
        busy += time.perf_counter() - mark
        window = Window(
            max(e.window.since for e in entries), min(e.window.until for e in entries)
        )
        by_format = dict(zip(formats, entries, strict=True))
        served = {(om, False): entry.body for om, entry in by_format.items()}
        compress = [om for om, gz in sorted(variants) if gz]
        packed = await asyncio.gather(*(self._packed(by_format[om]) for om in compress))
        busy += sum(seconds for _, seconds in packed)
        served.update(
            {(om, True): data for om, (data, _) in zip(compress, packed, strict=True)}
        )
        self._served = served
        self._served_key = key
        self._served_window = window
        self._served_count = count
        self._served_layouts = layouts
        self._served_at = self._clock.monotonic()
        self._served_at_real = time.monotonic()
        self._render_busy = busy
        self._render_wall = self._served_at - started
        return True

    async def run_renderer(self, interval: float = 0.1) -> None:
        """Keep the served bytes current until cancelled.

        Renders after a publish or removal, at most once per ``interval`` seconds
        of real time and less often for a body whose render takes long (see
        ``render_pause``); for a scraper that comes at a steady interval, once
        per scrape, just before it is due (``render_due_in``), and a scrape that
        comes early renders for itself (``prepare``). Also wakes at the instant
        the prepared bytes' window ends (a value passing its max age, on the
        clock given) and, while it follows changes, at least once a second for
        the self-metrics. Does nothing while nobody scrapes.
        """
        self._interval = interval
        self._renderer_running = True
        try:
            await self._render_forever(interval)
        finally:
            self._renderer_running = False

    async def _render_forever(self, interval: float) -> None:
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
            if await self._wait(self._served_window.until - self._clock.time()):
                continue  # a deadline is no chatty stream: render at once
            if not rendered:
                continue  # nothing was rendered: nothing to pace
            # Pacing bounds the CPU spent on renders: real time, the loop's.
            remaining = render_pause(interval, self._render_busy, loop.time() - started)
            remaining = max(remaining, self.render_due_in())
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
