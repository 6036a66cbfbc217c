"""How an exporter plugs into the core: its kind, metric table, settings and worker.

The core runs targets it knows only as ``Target`` data; the plugin turns one into a
worker coroutine that publishes records through a ``TargetPublisher``. A target
marked ``discovers`` is a discovery source instead: its worker (the plugin's
``discover``) finds further targets and hands them over through ``TargetOffers``.
This module holds interfaces and the publisher, and must not import any exporter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from exporterhub.core.clock import Clock
from exporterhub.core.exposition import Section
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.snapshot import LinkState, TargetRecord

__all__ = [
    "DiscoveringPlugin",
    "ExporterPlugin",
    "Target",
    "TargetOffers",
    "TargetPublisher",
    "WorkerFactory",
]

S = TypeVar("S")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One thing to watch: plain validated data.

    Attributes:
        kind: the exporter that watches it (``phd2`` …).
        name: unique within its kind; the stable identity in the store and API.
        settings: the exporter's validated, frozen settings model for this target.
        discovers: a discovery source, not a thing to watch: its worker is the
            plugin's ``discover`` and it publishes no series of its own.
    """

    kind: str
    name: str
    settings: BaseModel
    discovers: bool = False


_DETAIL_LIMIT = 300


def _line(detail: str | None) -> str | None:
    """Return ``detail`` as one bounded line (it reaches the API and the store)."""
    if detail is None:
        return None
    text = " ".join(detail.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


class TargetPublisher(Generic[S]):
    """A worker's only way to make its results visible: swap its target's record.

    Args:
        section: the exporter's section in the exposition.
        name: the target's name.
        identity: the label pairs identifying the target until the worker learns
            better ones (PHD2 reports its own host and instance, for example).
        max_age: seconds after which published data counts as stale.
        clock: wall clock for ``taken_at`` and ``last_success``.
        registry: the hub's registry, for a plugin's own activity metrics.
    """

    def __init__(
        self,
        section: Section,
        name: str,
        identity: tuple[tuple[str, str], ...],
        *,
        max_age: float,
        clock: Clock,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._section = section
        self._clock = clock
        self.registry = registry if registry is not None else CollectorRegistry()
        self._closed = False
        self.record: TargetRecord[S] = TargetRecord(
            name=name, identity=identity, max_age=max_age
        )
        section.publish(self.record)

    def _swap(self, record: TargetRecord[S]) -> None:
        self.record = record
        if not self._closed:  # a withdrawn target never comes back by itself
            self._section.publish(record)

    def data(
        self, data: S, *, identity: tuple[tuple[str, str], ...] | None = None
    ) -> None:
        """Publish fresh data (a success), optionally with a learned identity."""
        record = self.record.with_data(data, self._clock.time())
        if identity is not None and identity != record.identity:
            record = replace(record, identity=identity)
        self._swap(record)

    def update(
        self, data: S, *, identity: tuple[tuple[str, str], ...] | None = None
    ) -> None:
        """Publish data without calling it a success (counters after a failure).

        Freshness and health stay as they were, so rows that are not kept when
        stale stay hidden until a real success.
        """
        record = replace(self.record, data=data)
        if identity is not None and identity != record.identity:
            record = replace(record, identity=identity)
        self._swap(record)

    def set_max_age(self, seconds: float) -> None:
        """Change how long published data stays fresh (a new poll interval)."""
        if seconds != self.record.max_age:
            self._swap(replace(self.record, max_age=seconds))

    def expire(self) -> None:
        """Declare the data out of date now (the link is gone): value rows vanish.

        Counters and info rows marked ``keep_when_stale`` stay.
        """
        if self.record.taken_at is not None or self.record.healthy:
            self._swap(replace(self.record, taken_at=None, healthy=False))

    def link(
        self,
        state: LinkState,
        *,
        reconnects: int | None = None,
        error: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Publish a link state change and, when given, the reconnect count.

        ``error`` (a short fixed kind) and ``detail`` (one line for people)
        describe why the link left CONNECTED; they are kept as the last error.
        """
        record = self.record.with_link(state, now=self._clock.time())
        if reconnects is not None:
            record = replace(record, reconnects=reconnects)
        if error is not None:
            record = replace(record, error=error, error_detail=_line(detail))
        self._swap(record)

    def failed(self, *, error: str | None = None, detail: str | None = None) -> None:
        """Mark the target unhealthy without touching its data.

        ``error`` is the failure's short fixed kind, ``detail`` one line for people.
        """
        record = self.record
        changed = record.healthy or not record.attempted
        if error is not None and (error, _line(detail)) != (
            record.error,
            record.error_detail,
        ):
            record = replace(record, error=error, error_detail=_line(detail))
            changed = True
        if changed:
            self._swap(replace(record, healthy=False, attempted=True))

    def withdraw(self) -> None:
        """Remove the target's series; publishes after this are ignored."""
        self._closed = True
        self._section.remove(self.record.name)


class TargetOffers:
    """A discovery worker's way to add targets, and to see the configured ones.

    Args:
        offer: replaces the set of targets this source offers (the runner's).
        configured: returns the configured targets of the source's kind, each with
            its current record (what the worker learned: a MAC, a serial number).
        registry: the hub's registry, for the source's own activity metrics.
        offered: returns the targets this source offered that run now, each with
            its current record (how the source's finds are doing).
    """

    def __init__(
        self,
        offer: Callable[[Sequence[Target]], Awaitable[None]],
        configured: Callable[[], list[tuple[Target, TargetRecord[Any]]]],
        registry: CollectorRegistry | None = None,
        offered: Callable[[], list[tuple[Target, TargetRecord[Any]]]] | None = None,
    ) -> None:
        self._offer = offer
        self._configured = configured
        self._offered = offered or list
        self.registry = registry if registry is not None else CollectorRegistry()

    async def offer(self, targets: Sequence[Target]) -> None:
        """Run exactly these targets for this source (the whole set, every time).

        An offered target with a configured target's name replaces that one (a
        device found at a new address); the rest start, stop or restart like
        configured targets do. When the source stops, its targets stop with it.
        """
        await self._offer(targets)

    def configured(self) -> list[tuple[Target, TargetRecord[Any]]]:
        """Return the configured targets of this kind with their current records."""
        return self._configured()

    def offered(self) -> list[tuple[Target, TargetRecord[Any]]]:
        """Return this source's running targets with their current records."""
        return self._offered()


WorkerFactory = Callable[[Target, TargetPublisher[Any], Clock], Awaitable[None]]
"""Builds and runs a target's worker: ``await factory(target, publisher, clock)``."""


class ExporterPlugin(Protocol):
    """What the core needs from an exporter."""

    kind: str
    prefix: str
    specs: Sequence[MetricSpec[Any]]
    identity_labels: tuple[str, ...]

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate this exporter's config section and return its targets.

        Raises:
            ConfigError: one line naming ``source`` and the bad key.
        """
        ...

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the label pairs for a target before it has reported anything."""
        ...

    def max_age(self, target: Target) -> float:
        """Return how long the target's data stays fresh, in seconds."""
        ...

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Run the target's worker until cancelled."""
        ...


class DiscoveringPlugin(ExporterPlugin, Protocol):
    """An exporter whose configuration may hold discovery sources (``discovers``)."""

    async def discover(
        self, target: Target, offers: TargetOffers, clock: Clock
    ) -> None:
        """Find targets until cancelled, offering the current set on each change."""
        ...
