"""A few minutes of each target's key metrics, kept in memory for the target page.

``History`` samples every ``interval`` seconds the series of each kind's
``key_metrics`` from the exposition's cached per-target blocks (what ``/probe``
serves), and keeps the last ``points`` values of each series in a ring of floats.
Memory is bounded: at most ``max_targets`` targets (the first seen; a slot frees
when its target goes), at most ``max_series`` series per key family (the first
seen), ``points`` values each, 8 bytes a value; see ``History.bound_bytes``. A
target that leaves the exposition (deleted, disabled) is forgotten at the next
sample, and a series that stayed absent for a whole window is dropped. Nothing
here talks to a device or survives a restart; sampling never awaits anything but
its own pacing.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from exporterhub.core.clock import Clock
from exporterhub.core.exposition import Exposition
from exporterhub.core.ui.samples import finite, parse_sample, unit_of

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_POINTS", "History"]

_log = structlog.get_logger(__name__)

DEFAULT_INTERVAL: Final = 5.0
"""Seconds between two samples."""
DEFAULT_POINTS: Final = 120
"""Values kept per series: 120 x 5 s = the last 10 minutes."""
DEFAULT_MAX_TARGETS: Final = 1000
DEFAULT_MAX_SERIES: Final = 6
"""A chart with more lines than this is unreadable anyway."""
_NAN: Final = math.nan
_BUDGET: Final = 0.002
"""Seconds of sampling after which the event loop gets a turn."""
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class _Track:
    """One target's rings: sample times and each series' values, same slots."""

    times: array[float]
    series: dict[SeriesKey, array[float]] = field(default_factory=dict)
    head: int = 0
    """The slot the next sample goes into."""
    count: int = 0
    """Samples taken so far (capped at the ring's size)."""
    dropped: int = 0
    """Series not kept because their family had ``max_series`` already."""


def _ring(points: int) -> array[float]:
    return array("d", [_NAN]) * points


class History:
    """The last minutes of every target's key metrics.

    Args:
        exposition: where the values are read from.
        key_metrics: the families to keep, by kind.
        clock: time of each sample, and the pacing of ``run``.
        interval: seconds between samples.
        points: values kept per series.
        max_targets: targets tracked at most.
        max_series: series kept per key family of a target at most.
    """

    def __init__(
        self,
        exposition: Exposition,
        key_metrics: Mapping[str, Sequence[str]],
        clock: Clock,
        *,
        interval: float = DEFAULT_INTERVAL,
        points: int = DEFAULT_POINTS,
        max_targets: int = DEFAULT_MAX_TARGETS,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if points < 2 or interval <= 0 or max_targets < 1 or max_series < 1:
            raise ValueError("points >= 2, interval > 0, max_* >= 1")
        self._exposition = exposition
        self.key_metrics = {k: tuple(v) for k, v in key_metrics.items() if v}
        self._clock = clock
        self.interval = interval
        self.points = points
        self.max_targets = max_targets
        self.max_series = max_series
        self._tracks: dict[tuple[str, str], _Track] = {}

    @property
    def bound_bytes(self) -> int:
        """Return the most memory the value rings can take, in bytes."""
        families = max((len(f) for f in self.key_metrics.values()), default=0)
        return self.max_targets * (1 + families * self.max_series) * self.points * 8

    def __len__(self) -> int:
        """Return the number of targets tracked."""
        return len(self._tracks)

    async def run(self) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.sample()
            except Exception:  # a bad sample must not end the history
                _log.exception("history_sample_failed")
            await self._clock.sleep(self.interval)

    async def sample(self) -> None:
        """Take one sample of every tracked target; forget targets that went."""
        now = self._clock.time()
        seen: set[tuple[str, str]] = set()
        started = time.perf_counter()
        for section in self._exposition.sections():
            families = self.key_metrics.get(section.kind)
            if not families:
                continue
            wanted = frozenset(families)
            for record in section.records():
                key = (section.kind, record.name)
                track = self._tracks.get(key)
                if track is None:
                    if len(self._tracks) >= self.max_targets:
                        continue
                    track = self._tracks[key] = _Track(_ring(self.points))
                seen.add(key)
                identity = {name for name, _ in record.identity}
                parts = section.render_target(record.name, now, False)
                self._record(track, now, parts, wanted, identity)
                if time.perf_counter() - started > _BUDGET:
                    await asyncio.sleep(0)
                    started = time.perf_counter()
        for key in [k for k in self._tracks if k not in seen]:
            del self._tracks[key]

    def _record(
        self,
        track: _Track,
        now: float,
        parts: Sequence[bytes],
        wanted: frozenset[str],
        identity: set[str],
    ) -> None:
        slot = track.head
        track.times[slot] = now
        for ring in track.series.values():
            ring[slot] = _NAN
        for part in parts:
            if part.startswith(b"#"):
                continue
            for line in part.decode().splitlines():
                sample = parse_sample(line)
                if sample is None or sample.name not in wanted:
                    continue
                labels = tuple(p for p in sample.labels if p[0] not in identity)
                series_key = (sample.name, labels)
                found = track.series.get(series_key)
                if found is None:
                    if self._count(track, sample.name) >= self.max_series:
                        track.dropped += 1
                        continue
                    found = track.series[series_key] = _ring(self.points)
                found[slot] = sample.value
        track.head = (slot + 1) % self.points
        track.count = min(track.count + 1, self.points)
        if track.count == self.points:  # a series absent for a whole window goes
            for gone in [k for k, r in track.series.items() if all(map(math.isnan, r))]:
                del track.series[gone]

    @staticmethod
    def _count(track: _Track, family: str) -> int:
        return sum(1 for known, _ in track.series if known == family)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """Return a target's history as JSON data, oldest first; None if untracked.

        ``times`` are Unix seconds; each family lists its series with their extra
        labels (identity labels left out) and values, null where absent.
        """
        track = self._tracks.get((kind, name))
        if track is None:
            return None
        order = [
            (track.head - track.count + i) % self.points for i in range(track.count)
        ]
        families: dict[str, list[dict[str, Any]]] = {
            family: [] for family in self.key_metrics.get(kind, ())
        }
        for (family, labels), ring in sorted(track.series.items()):
            families.setdefault(family, []).append(
                {
                    "labels": dict(labels),
                    "values": finite(ring[i] for i in order),
                }
            )
        return {
            "interval": self.interval,
            "points": self.points,
            "times": [track.times[i] for i in order],
            "dropped_series": track.dropped,
            "metrics": [
                {"family": family, "unit": unit_of(family), "series": series}
                for family, series in families.items()
            ],
        }

    def status(self) -> dict[str, Any]:
        """Return what the history holds and its bound (for the UI's footnote)."""
        return {
            "tracked": len(self._tracks),
            "max_targets": self.max_targets,
            "interval": self.interval,
            "points": self.points,
            "bound_bytes": self.bound_bytes,
        }
