"""Runs one worker task per target and applies target-set changes surgically.

``TargetRunner.apply`` compares the wanted targets with the running ones: new targets
start, removed ones stop (their series vanish), changed ones restart, unchanged ones are
left alone. Targets may come from YAML, flags, or a store behind an API; the runner does
not care. It must not know any exporter's protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Exposition
from exporterhub.core.plugin import ExporterPlugin, Target, TargetPublisher

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


class TargetRunner:
    """Owns the worker tasks of every target of every exporter in the process.

    Args:
        plugins: exporters by kind.
        exposition: where the workers publish.
        clock: handed to every worker.
    """

    def __init__(
        self,
        plugins: Mapping[str, ExporterPlugin],
        exposition: Exposition,
        clock: Clock,
    ) -> None:
        self._plugins = dict(plugins)
        self._exposition = exposition
        self._clock = clock
        self._running: dict[tuple[str, str], _Running] = {}
        # One apply at a time: two overlapping reloads must not both start a target.
        self._lock = asyncio.Lock()
        for plugin in self._plugins.values():
            exposition.add_section(plugin.kind, plugin.prefix, plugin.specs)

    @property
    def targets(self) -> list[Target]:
        """Return the targets currently running."""
        return [r.target for r in self._running.values()]

    def publisher(self, kind: str, name: str) -> TargetPublisher[Any] | None:
        """Return the publisher of a running target (for the API and tests)."""
        running = self._running.get((kind, name))
        return running.publisher if running else None

    async def apply(self, targets: Sequence[Target]) -> ApplyResult:
        """Make the running set equal to ``targets``.

        Raises:
            ConfigError: two targets share a kind and name, or a kind is unknown.
        """
        async with self._lock:
            return await self._apply(targets)

    async def _apply(self, targets: Sequence[Target]) -> ApplyResult:
        wanted: dict[tuple[str, str], Target] = {}
        for target in targets:
            key = (target.kind, target.name)
            if target.kind not in self._plugins:
                raise ConfigError(f"unknown exporter kind {target.kind!r}")
            if key in wanted:
                raise ConfigError(f"duplicate target name {target.kind}/{target.name}")
            wanted[key] = target
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
            self._guard(plugin, target, publisher),
            name=f"{target.kind}/{target.name}",
        )
        self._running[(target.kind, target.name)] = _Running(target, task, publisher)

    async def _guard(
        self, plugin: ExporterPlugin, target: Target, publisher: TargetPublisher[Any]
    ) -> None:
        crashes = 0
        while True:
            try:
                await plugin.run(target, publisher, self._clock)
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
                publisher.failed()
            # A bug met again and again must not spin: restart after a growing pause.
            await self._clock.sleep(_RESTART_BACKOFF.delay(crashes))

    async def _stop(self, key: tuple[str, str]) -> None:
        running = self._running.pop(key)
        running.task.cancel()
        try:
            async with asyncio.timeout(_STOP_TIMEOUT):
                await asyncio.gather(running.task, return_exceptions=True)
        except TimeoutError:
            _log.warning("worker_stop_timeout", target="/".join(key))
        running.publisher.withdraw()

    async def stop_all(self) -> None:
        """Stop every worker concurrently and withdraw their series."""
        async with self._lock:
            keys = list(self._running)
            await asyncio.gather(*(self._stop(k) for k in keys))
