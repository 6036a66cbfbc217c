"""Runs what the catalog wants: file targets plus enabled stored targets, kept in step.

``ControlPlane`` owns the catalog (files + store) and hands the wanted targets to
the ``TargetRunner``, which restarts only targets whose validated settings changed.
An API change applies at once; the store is also polled every ``poll_interval``
seconds (one cheap change-token query) so another process or replica's changes are
picked up. Runtime status (link, up, last error, last success) lives in memory and
is written to the store only when it changes, never per frame, so it survives a
restart and a ``sqlite3`` user can read it (with ``--shard``, the statuses of
targets other replicas run are read back at each poll, for the API). Changes
are serialised by one lock: a write and the apply that follows it are never
interleaved with another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

import structlog

from exporterhub.core.catalog import Catalog, Entry, ImportReport
from exporterhub.core.clock import Clock
from exporterhub.core.kinds import StoredKind
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.snapshot import LinkState, TargetRecord, is_fresh
from exporterhub.core.store import TargetStatus

if TYPE_CHECKING:
    from exporterhub.core.store import TargetStore
from exporterhub.core.targets import ApplyResult, TargetRunner

__all__ = ["DEFAULT_POLL_INTERVAL", "ControlPlane", "storable_kinds"]

_log = structlog.get_logger(__name__)
DEFAULT_POLL_INTERVAL: Final = 10.0
_STATUS_INTERVAL: Final = 1.0
T = TypeVar("T")
Key = tuple[str, str]


def storable_kinds(plugins: Mapping[str, ExporterPlugin]) -> dict[str, StoredKind]:
    """Return the kinds whose plugins declare how they are stored."""
    kinds: dict[str, StoredKind] = {}
    for kind, plugin in plugins.items():
        stored = getattr(plugin, "stored", None)
        if isinstance(stored, StoredKind):
            kinds[kind] = stored
    return kinds


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class ControlPlane:
    """The targets of every exporter in the process, from files and the store.

    Args:
        runner: runs the targets.
        catalog: file and stored targets.
        load_files: re-reads the configuration file's (and flags') targets.
        clock: wall clock for freshness and status times.
        poll_interval: seconds between checks of the store for changes made
            elsewhere.
    """

    def __init__(
        self,
        runner: TargetRunner,
        catalog: Catalog,
        load_files: Callable[[], Awaitable[Sequence[Target]]],
        clock: Clock,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.runner = runner
        self.catalog = catalog
        self._load_files = load_files
        self._clock = clock
        self.poll_interval = poll_interval
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._token: object = None
        self._written: dict[Key, tuple[Any, ...]] = {}
        self.saved: dict[Key, TargetStatus] = {}
        """Statuses read from the store at start (what the last run knew)."""
        self._shadow_logged: set[Key] = set()

    @property
    def store(self) -> TargetStore | None:
        """The target store, if the process has one."""
        return self.catalog.store

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> ApplyResult:
        """Load files and store, start the targets, then poll and persist status."""
        result = await self.reload()
        if self.store is not None:
            self.saved = await self.store.statuses()
            self._tasks = [
                asyncio.create_task(self._poll(), name="store-poll"),
                asyncio.create_task(self._persist(), name="status-writer"),
            ]
        return result

    async def stop(self) -> None:
        """Stop polling and writing status (the runner stops the targets)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):  # a store gone at exit loses nothing
            await self._write_statuses(final=True)

    async def reload(self) -> ApplyResult:
        """Re-read the configuration file and the store; apply the difference.

        Raises:
            ConfigError: the configuration file is invalid (nothing changes).
        """
        files = await self._load_files()
        async with self._lock:
            self.catalog.set_file_targets(files)
            if self.store is not None:
                self._token = await self.store.change_token()
                await self.catalog.load()
            return await self._apply()

    async def _apply(self) -> ApplyResult:
        for entry in self.catalog.shadowed():
            key = (entry.kind, entry.name)
            if key not in self._shadow_logged:
                self._shadow_logged.add(key)
                _log.warning(
                    "stored_target_shadowed", kind=entry.kind, target=entry.name
                )
        return await self.runner.apply(self.catalog.wanted())

    async def _locked(self, change: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            result = await change()
            await self._apply()
            return result

    # -- changes from the API, the UI and imports ----------------------------

    async def create(
        self, kind: str, name: str, settings: Mapping[str, Any], *, enabled: bool
    ) -> Entry:
        """Store a new target and start it at once (see ``Catalog.create``)."""
        return await self._locked(
            lambda: self.catalog.create(kind, name, settings, enabled=enabled)
        )

    async def replace(
        self,
        kind: str,
        name: str,
        settings: Mapping[str, Any],
        *,
        enabled: bool,
        revision: int,
    ) -> Entry:
        """Replace a stored target; it restarts only if its settings changed."""
        return await self._locked(
            lambda: self.catalog.replace(
                kind, name, settings, enabled=enabled, revision=revision
            )
        )

    async def patch(
        self,
        kind: str,
        name: str,
        settings: Mapping[str, Any] | None,
        *,
        enabled: bool | None,
        revision: int | None,
    ) -> Entry:
        """Merge changes into a stored target (enable, disable, edit a field)."""
        return await self._locked(
            lambda: self.catalog.patch(
                kind, name, settings, enabled=enabled, revision=revision
            )
        )

    async def delete(self, kind: str, name: str, *, revision: int | None) -> None:
        """Delete a stored target; its series are gone at the next scrape."""
        await self._locked(lambda: self.catalog.delete(kind, name, revision=revision))
        self._written.pop((kind, name), None)
        self.saved.pop((kind, name), None)

    async def import_targets(
        self, targets: Sequence[Any], *, dry_run: bool
    ) -> ImportReport:
        """Import targets (see ``Catalog.import_targets``) and start them."""
        return await self._locked(
            lambda: self.catalog.import_targets(targets, dry_run=dry_run)
        )

    # -- status --------------------------------------------------------------

    def record(self, kind: str, name: str) -> TargetRecord[Any] | None:
        """Return a running target's current record."""
        publisher = self.runner.publisher(kind, name)
        return publisher.record if publisher is not None else None

    def up(self, record: TargetRecord[Any]) -> bool:
        """Say whether a record counts as up now (healthy and fresh)."""
        return record.healthy and is_fresh(record, self._clock.time())

    def status(self, kind: str, name: str) -> TargetStatus | None:
        """Return a target's status now, or the last saved one when not running.

        A running target that has not succeeded (or failed) yet in this process
        keeps the last success (or error) saved before, so a restart loses
        neither: not in answers, nor in the next status written.
        """
        record = self.record(kind, name)
        saved = self.saved.get((kind, name))
        if record is None:
            return saved
        changed = record.changed_at
        error_kind, error = record.error, record.error_detail
        if error_kind is None and saved is not None:
            error_kind, error = saved.last_error_kind, saved.last_error
        last_success = _when(record.last_success)
        if last_success is None and saved is not None:
            last_success = saved.last_success
        return TargetStatus(
            kind=kind,
            name=name,
            link=record.link.value,
            up=self.up(record),
            changed_at=datetime.fromtimestamp(
                self._clock.time() if changed is None else changed, UTC
            ),
            last_error_kind=error_kind,
            last_error=error,
            last_success=last_success,
        )

    async def _poll(self) -> None:
        """Pick up changes another process or replica made to the store."""
        assert self.store is not None  # noqa: S101 - started only with a store
        failing = False
        while True:
            await self._clock.sleep(self.poll_interval)
            try:
                if self.runner.shard is not None:
                    await self._read_others()
                token = await self.store.change_token()
                if token != self._token:
                    async with self._lock:
                        self._token = token
                        await self.catalog.load()
                        result = await self._apply()
                    if result.started or result.stopped or result.restarted:
                        _log.info(
                            "store_changes_applied",
                            started=result.started,
                            stopped=result.stopped,
                            restarted=result.restarted,
                        )
                if failing:
                    _log.info("store_reachable_again")
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the running targets; try again later
                if not failing:
                    _log.warning("store_poll_failed", error=type(exc).__name__)
                failing = True

    async def _read_others(self) -> None:
        """Refresh the statuses of targets other replicas run (for the API)."""
        assert self.store is not None  # noqa: S101 - polled only with a store
        stored = await self.store.statuses()
        owns = self.runner.owns
        self.saved = {k: v for k, v in self.saved.items() if owns(*k)} | {
            k: v for k, v in stored.items() if not owns(*k)
        }

    async def _persist(self) -> None:
        """Write each target's status to the store when it changes."""
        while True:
            await self._clock.sleep(_STATUS_INTERVAL)
            try:
                await self._write_statuses()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # status is best effort; targets keep running
                _log.debug("status_write_failed", error=type(exc).__name__)

    async def _write_statuses(self, *, final: bool = False) -> None:
        """Write the statuses that changed; ``final`` (at stop): last successes too."""
        if self.store is None:
            return
        for target in self.runner.targets:
            status = self.status(target.kind, target.name)
            if status is None:
                continue
            if final and self.runner.sharded and status.up:
                # Other replicas show this replica's targets from these rows:
                # once it stops, nothing here collects them any more.
                status = replace(
                    status,
                    up=False,
                    link=LinkState.DISCONNECTED.value,
                    changed_at=datetime.fromtimestamp(self._clock.time(), UTC),
                )
            key = (target.kind, target.name)
            # Only what changes on a state change: never per frame.
            fingerprint = (
                status.link,
                status.up,
                status.last_error_kind,
                status.last_error,
            )
            saved = self.saved.get(key)
            if self._written.get(key) == fingerprint and (
                not final or saved is None or saved.last_success == status.last_success
            ):
                continue
            await self.store.set_status(status)
            self._written[key] = fingerprint
            self.saved[key] = status
