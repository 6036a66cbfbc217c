"""Runs one worker task per target and applies target-set changes surgically.

``TargetRunner.apply`` compares the wanted targets with the running ones: new targets
start, removed ones stop (their series vanish), changed ones restart, unchanged ones are
left alone. Targets may come from YAML, flags, or a store behind an API; the runner does
not care. Discovery sources (targets marked ``discovers``) run beside them and offer
further targets; the running set is the configured one plus every source's offer
(an offered target replaces a configured one of the same name), and a source's
targets go when the source goes. With a ``Shard`` (``--shard``), only the targets
it owns run here (discovery sources run on every replica; each keeps only its
share of what they find). It must not know any exporter's protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Exposition
from exporterhub.core.plugin import (
    DiscoveringPlugin,
    ExporterPlugin,
    Target,
    TargetOffers,
    TargetPublisher,
)
from exporterhub.core.shard import Placement, Shard
from exporterhub.core.snapshot import TargetRecord

__all__ = ["ApplyResult", "TargetRunner"]

_log = structlog.get_logger(__name__)
_STOP_TIMEOUT: Final = 1.0
_RESTART_BACKOFF: Final = Backoff(initial=1.0, maximum=300.0, jitter=0.1)


@dataclass(slots=True)
class ApplyResult:
    """What one ``apply`` did, by target key ``kind/name``."""

    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Running:
    target: Target
    task: asyncio.Task[None]
    publisher: TargetPublisher[Any]


@dataclass(slots=True)
class _Source:
    target: Target
    task: asyncio.Task[None]
    offered: dict[tuple[str, str], Target] = field(default_factory=dict)


Key = tuple[str, str]


class TargetRunner:
    """Owns the worker tasks of every target of every exporter in the process.

    Args:
        plugins: exporters by kind.
        exposition: where the workers publish.
        clock: handed to every worker.
        shard: this replica's place among several; None runs every target.
    """

    def __init__(
        self,
        plugins: Mapping[str, ExporterPlugin],
        exposition: Exposition,
        clock: Clock,
        *,
        shard: Shard | None = None,
    ) -> None:
        self.shard = shard
        self._placement = Placement(shard) if shard is not None else None
        self._plugins = dict(plugins)
        self._exposition = exposition
        self._clock = clock
        self._configured: dict[Key, Target] = {}
        self._sources: dict[Key, _Source] = {}
        self._running: dict[Key, _Running] = {}
        # One change at a time: two overlapping reloads (or a reload and a
        # discovery offer) must not both start a target.
        self._lock = asyncio.Lock()
        for plugin in self._plugins.values():
            exposition.add_section(plugin.kind, plugin.prefix, plugin.specs)

    @property
    def plugins(self) -> dict[str, ExporterPlugin]:
        """Return the exporters by kind."""
        return dict(self._plugins)

    @property
    def targets(self) -> list[Target]:
        """Return the targets currently running (configured and discovered)."""
        return [r.target for r in self._running.values()]

    @property
    def sources(self) -> list[Target]:
        """Return the discovery sources currently running."""
        return [s.target for s in self._sources.values()]

    def publisher(self, kind: str, name: str) -> TargetPublisher[Any] | None:
        """Return the publisher of a running target (for the API and tests)."""
        running = self._running.get((kind, name))
        return running.publisher if running else None

    async def apply(self, targets: Sequence[Target]) -> ApplyResult:
        """Make the configured set (targets and discovery sources) ``targets``.

        Raises:
            ConfigError: two targets share a kind and name, a kind is unknown, or
                a discovery source's exporter cannot discover.
        """
        wanted: dict[Key, Target] = {}
        sources: dict[Key, Target] = {}
        for target in targets:
            key = (target.kind, target.name)
            plugin = self._plugins.get(target.kind)
            if plugin is None:
                raise ConfigError(f"unknown exporter kind {target.kind!r}")
            group = sources if target.discovers else wanted
            if key in group:
                raise ConfigError(f"duplicate target name {target.kind}/{target.name}")
            if target.discovers and not hasattr(plugin, "discover"):
                raise ConfigError(f"exporter {target.kind!r} cannot discover")
            group[key] = target
        async with self._lock:
            await self._apply_sources(sources)
            self._configured = wanted
            return await self._reconcile()

    async def _apply_sources(self, wanted: dict[Key, Target]) -> None:
        """Stop removed sources, restart changed ones, start new ones.

        A restarted source's targets keep running until its first offer, so a
        changed discovery setting does not blank what it had found.
        """
        kept: dict[Key, dict[Key, Target]] = {}
        for key in [
            k for k in self._sources if wanted.get(k) != self._sources[k].target
        ]:
            old = self._sources.pop(key)
            if key in wanted:
                kept[key] = old.offered
            await self._stop_task(key, old.task)
        for key, target in wanted.items():
            if key not in self._sources:
                self._start_source(target, kept.get(key, {}))

    @property
    def sharded(self) -> bool:
        """Say whether this runner is one replica of several (``--shard``)."""
        return self._placement is not None

    def owns(self, kind: str, name: str) -> bool:
        """Say whether this replica runs ``kind/name`` (always, unsharded)."""
        return self._placement is None or self._placement.owns(kind, name)

    def owner(self, kind: str, name: str) -> int | None:
        """Return the shard that runs ``kind/name``; None when not sharded."""
        return None if self._placement is None else self._placement.owner(kind, name)

    def _effective(self) -> dict[Key, Target]:
        effective = dict(self._configured)
        for source in self._sources.values():
            effective.update(source.offered)
        if self._placement is None:
            return effective
        self._placement.keep(effective)
        return {key: t for key, t in effective.items() if self.owns(*key)}

    async def _reconcile(self) -> ApplyResult:
        wanted = self._effective()
        result = ApplyResult()
        for key in [k for k in self._running if k not in wanted]:
            await self._stop(key)
            result.stopped.append("/".join(key))
        for key, target in wanted.items():
            running = self._running.get(key)
            if running is None:
                self._start(target)
                result.started.append("/".join(key))
            elif running.target != target:
                await self._stop(key)
                self._start(target)
                result.restarted.append("/".join(key))
            else:
                result.unchanged.append("/".join(key))
        if result.started or result.stopped or result.restarted:
            _log.info(
                "targets_applied",
                started=result.started,
                stopped=result.stopped,
                restarted=result.restarted,
            )
        return result

    async def _offer(self, source: _Source, targets: Sequence[Target]) -> None:
        """Replace one source's offer; ignore targets it may not offer.

        Only the running source is heard: one that was stopped (or replaced by a
        restarted one of the same name) while it still offered changes nothing.
        """
        source_key = (source.target.kind, source.target.name)
        offered: dict[Key, Target] = {}
        for target in targets:
            key = (target.kind, target.name)
            if target.kind != source_key[0] or target.discovers or key in offered:
                _log.warning(
                    "discovered_target_ignored",
                    source="/".join(source_key),
                    target="/".join(key),
                )
                continue
            offered[key] = target
        async with self._lock:
            if self._sources.get(source_key) is not source:  # stopped meanwhile
                return
            source.offered = offered
            await self._reconcile()

    def _configured_records(self, kind: str) -> list[tuple[Target, TargetRecord[Any]]]:
        """Return every configured target of ``kind`` with its record.

        Sharded, a configured target another replica runs is listed too, with an
        empty record: a discovery source (which runs on every replica) must not
        offer that device again under a name of its own. Such a target is
        matched by its configured address only (its MAC is in its owner's record).
        """
        found = []
        for key, target in self._configured.items():
            if key[0] != kind:
                continue
            running = self._running.get(key)
            if running is not None:
                found.append((target, running.publisher.record))
            elif self._placement is not None:
                found.append((target, TargetRecord(name=target.name, identity=())))
        return found

    def _offered_records(
        self, source: _Source | None
    ) -> list[tuple[Target, TargetRecord[Any]]]:
        found = []
        for key, target in (source.offered if source else {}).items():
            running = self._running.get(key)
            if running is not None and running.target == target:
                found.append((target, running.publisher.record))
        return found

    def _start_source(self, target: Target, offered: dict[Key, Target]) -> None:
        plugin = self._plugins[target.kind]
        source: _Source | None = None

        async def offer(targets: Sequence[Target]) -> None:
            assert source is not None  # noqa: S101 - set before the task runs
            await self._offer(source, targets)

        offers = TargetOffers(
            offer,
            lambda: self._configured_records(target.kind),
            self._exposition.registry,
            lambda: self._offered_records(source),
        )

        async def work() -> None:
            discover = cast(DiscoveringPlugin, plugin).discover
            await discover(target, offers, self._clock)

        task = asyncio.create_task(
            self._guard(target, work, None), name=f"{target.kind}/{target.name}"
        )
        source = _Source(target, task, dict(offered))
        self._sources[(target.kind, target.name)] = source

    def _start(self, target: Target) -> None:
        plugin = self._plugins[target.kind]
        section = self._exposition.section(target.kind)
        publisher: TargetPublisher[Any] = TargetPublisher(
            section,
            target.name,
            plugin.initial_identity(target),
            max_age=plugin.max_age(target),
            clock=self._clock,
            registry=self._exposition.registry,
        )
        task = asyncio.create_task(
            self._guard(
                target, lambda: plugin.run(target, publisher, self._clock), publisher
            ),
            name=f"{target.kind}/{target.name}",
        )
        self._running[(target.kind, target.name)] = _Running(target, task, publisher)

    async def _guard(
        self,
        target: Target,
        work: Callable[[], Awaitable[None]],
        publisher: TargetPublisher[Any] | None,
    ) -> None:
        crashes = 0
        while True:
            try:
                await work()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the process alive; the target shows as down
                crashes += 1
                _log.exception(
                    "worker_crashed",
                    kind=target.kind,
                    target=target.name,
                    crashes=crashes,
                )
                if publisher is not None:
                    publisher.failed()
            # A bug met again and again must not spin: restart after a growing pause.
            await self._clock.sleep(_RESTART_BACKOFF.delay(crashes))

    async def _stop_task(self, key: Key, task: asyncio.Task[None]) -> None:
        task.cancel()
        try:
            async with asyncio.timeout(_STOP_TIMEOUT):
                await asyncio.gather(task, return_exceptions=True)
        except TimeoutError:
            _log.warning("worker_stop_timeout", target="/".join(key))

    async def _stop(self, key: Key) -> None:
        running = self._running.pop(key)
        await self._stop_task(key, running.task)
        running.publisher.withdraw()

    async def stop_all(self) -> None:
        """Stop every source and worker concurrently and withdraw their series."""
        async with self._lock:
            sources = list(self._sources.items())
            self._sources.clear()
            await asyncio.gather(*(self._stop_task(k, s.task) for k, s in sources))
            self._configured = {}
            keys = list(self._running)
            await asyncio.gather(*(self._stop(k) for k in keys))
