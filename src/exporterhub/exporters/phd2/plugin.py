"""Wires the PHD2 client, state and collector into a core exporter plugin.

Per target: a ``StreamSupervisor`` keeps a session open; inside a session the read
loop folds events into ``Phd2State`` and a ``PollScheduler`` asks PHD2 for its app
state (liveness and reconciliation) and its equipment and pixel scale (no event exists
for them). Every read batch and every successful poll publishes a new snapshot. No
protocol parsing and no metric naming here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.errors import ConnectionLostError
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.scheduler import PollResult, PollScheduler, Tier
from exporterhub.core.snapshot import LinkState
from exporterhub.core.supervisor import StreamSupervisor
from exporterhub.exporters.phd2.client import (
    Phd2Connection,
    RpcError,
    open_connection,
)
from exporterhub.exporters.phd2.collector import ALL_SPECS, PREFIX, identity
from exporterhub.exporters.phd2.protocol import EventFields
from exporterhub.exporters.phd2.settings import Phd2Section, Phd2TargetSettings
from exporterhub.exporters.phd2.snapshot import Phd2Snapshot
from exporterhub.exporters.phd2.state import Phd2State

__all__ = ["PLUGIN", "Phd2Plugin", "to_target"]

_log = structlog.get_logger(__name__)
_DEAD_AFTER_TIMEOUTS: Final = 2
_EQUIPMENT_DEVICES: Final = ("camera", "mount", "aux_mount", "AO", "rotator")


class _Worker:
    """One PHD2 target's state and sessions."""

    def __init__(
        self,
        settings: Phd2TargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.state = Phd2State(
            rms_samples=settings.rms_samples, legacy=settings.legacy_metrics
        )
        self.supervisor = StreamSupervisor(
            settings.name,
            self.session,
            backoff=Backoff(
                initial=settings.reconnect_initial,
                maximum=settings.reconnect_max,
                reset_after=max(10.0, 2 * settings.state_interval),
            ),
            clock=clock,
            on_link=self._on_link,
        )
        self._timeouts = 0
        self._dead = asyncio.Event()
        self._connected: Callable[[], None] | None = None
        self._applied = 0
        self._conn: Phd2Connection | None = None
        self._lines_counted = 0
        self._unreachable = False
        """A failed connect was logged at WARNING; the next ones go to DEBUG."""

    def _identity(self, snapshot: Phd2Snapshot) -> tuple[tuple[str, str], ...]:
        settings = self.settings
        found = identity(snapshot, settings.host.lower(), settings.fallback_instance)
        return (("target", settings.name), *found)

    def _count_lines(self) -> None:
        conn = self._conn
        if conn is not None:
            self.state.count_received(conn.lines - self._lines_counted)
            self._lines_counted = conn.lines

    def publish(self) -> None:
        """Publish a snapshot as a success: PHD2 just said something usable."""
        self._count_lines()
        if self._connected is not None:
            # The link counts as up from PHD2's first line, not from the TCP
            # accept: a host that accepts and then says nothing is not healthy.
            self._connected()
        snapshot = self.state.snapshot()
        self.publisher.data(snapshot, identity=self._identity(snapshot))

    def publish_counts(self) -> None:
        """Publish changed counters without calling it a success."""
        self._count_lines()
        snapshot = self.state.snapshot()
        self.publisher.update(snapshot, identity=self._identity(snapshot))

    def _on_link(self, link: LinkState, error: str | None) -> None:
        if link in (LinkState.ERROR, LinkState.DISCONNECTED):
            if error != "eof":  # PHD2 closing its server is not an error
                self.state.count_error("connection")
            self.publish_counts()
            self.publisher.expire()  # no value is current without a link
        lost = link in (LinkState.ERROR, LinkState.DISCONNECTED)
        self.publisher.link(
            link,
            reconnects=max(0, self.supervisor.connections - 1),
            error=error if lost else None,
        )

    def _on_events(self, events: list[EventFields]) -> None:
        if not events:  # a read of unusable lines only: show the error counts
            self.publish_counts()
            return
        # One clock read, one fold and one snapshot per read, not per event.
        self.state.apply_batch(events, self.clock.time())
        self._applied += len(events)
        self.publish()

    def _on_malformed(self, reason: str) -> None:
        if reason == "overlong":
            self.state.count_error("overlong")
        elif reason == "unexpected_response":
            self.state.count_error("rpc")  # a late answer to a request given up on
        else:
            self.state.count_error("parse")

    def _on_poll(self, result: PollResult) -> None:
        if result.ok:
            self._timeouts = 0
            return
        if result.error == "timeout":
            self.state.count_error("timeout")
            self._timeouts += 1
            if self._timeouts >= _DEAD_AFTER_TIMEOUTS:
                self._dead.set()
        elif result.error != "RpcError":
            self.state.count_error("rpc")

    async def _rpc(self, conn: Phd2Connection, method: str) -> object:
        """Call a read-only method; an error answer means "unknown" (None)."""
        try:
            return await conn.call(method)
        except RpcError as exc:
            _log.debug("phd2_rpc_error", target=self.settings.name, error=str(exc))
            self.state.count_error("rpc")
            return None

    async def _watch_dead(self) -> None:
        await self._dead.wait()
        raise ConnectionLostError("PHD2 stopped answering requests", "stalled")

    async def session(self, connected: Callable[[], None]) -> None:
        """Connect, catch up, read and poll until the connection fails."""
        settings = self.settings
        reader, writer = await self._open()
        conn = Phd2Connection(
            reader,
            writer,
            on_events=self._on_events,
            on_malformed=self._on_malformed,
            max_line=settings.max_line_bytes,
            rpc_timeout=settings.rpc_timeout,
        )
        self.state.begin_connection()
        self._timeouts = 0
        self._dead = asyncio.Event()
        self._connected = connected
        self._applied = 0
        self._conn = conn
        self._lines_counted = 0

        async def poll_state() -> None:
            value = await self._rpc(conn, "get_app_state")
            # The answer is PHD2's state at its place in the stream; an event that
            # came after it is newer, and then the event-derived state stands.
            if isinstance(value, str) and conn.events_before_answer == self._applied:
                self.state.apply_app_state(value)
            self.publish()

        async def poll_equipment() -> None:
            connected_value = await self._rpc(conn, "get_connected")
            self.state.set_connected(
                connected_value if isinstance(connected_value, bool) else None
            )
            equipment = await self._rpc(conn, "get_current_equipment")
            self.state.set_equipment(_equipment(equipment))
            scale = await self._rpc(conn, "get_pixel_scale")
            self.state.set_pixel_scale(
                float(scale)
                if isinstance(scale, int | float) and not isinstance(scale, bool)
                else None
            )
            self.publish()

        scheduler = PollScheduler(
            settings.name,
            [
                # Each RPC has its own timeout, which is what detects a dead
                # PHD2; a tier's timeout only has to cover queueing behind the
                # other tier's requests (one request in flight at a time).
                Tier(
                    name="equipment",
                    interval=settings.equipment_interval,
                    timeout=4 * settings.rpc_timeout + 1,
                    poll=poll_equipment,
                ),
                Tier(
                    name="state",
                    interval=settings.state_interval,
                    timeout=4 * settings.rpc_timeout + 1,
                    poll=poll_state,
                ),
            ],
            clock=self.clock,
            on_result=self._on_poll,
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(conn.read_loop())
                group.create_task(scheduler.run())
                group.create_task(self._watch_dead())
        except* ConnectionLostError as group_error:
            raise group_error.exceptions[0] from None
        finally:
            self._count_lines()
            self._conn = None
            self._connected = None
            await conn.close()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect; say so at WARNING once while PHD2 stays unreachable.

        The original printed "Failed to connect to PHD2. Server is down or
        unreachable. Retrying silently..." once and nothing more until a connect
        succeeded; the same here, with the retries at DEBUG.
        """
        settings = self.settings
        address = f"{settings.host}:{settings.port}"
        try:
            streams = await open_connection(
                settings.host, settings.port, settings.connect_timeout
            )
        except ConnectionLostError as exc:
            log = _log.debug if self._unreachable else _log.warning
            log(
                "phd2_unreachable",
                target=settings.name,
                address=address,
                reason=exc.reason,
                detail="PHD2 is down or unreachable; retrying quietly (debug)",
            )
            self._unreachable = True
            raise
        if self._unreachable:
            _log.info("phd2_reachable", target=settings.name, address=address)
            self._unreachable = False
        return streams


def _equipment(value: object) -> dict[str, bool] | None:
    if not isinstance(value, dict):
        return None
    result: dict[str, bool] = {}
    for device in _EQUIPMENT_DEVICES:
        entry = value.get(device)
        if isinstance(entry, dict) and isinstance(entry.get("connected"), bool):
            result[device] = entry["connected"]
    return result


class Phd2Plugin:
    """The PHD2 exporter as the core sees it."""

    stored: ClassVar[StoredKind]
    """How the control plane stores, validates and describes this kind."""

    kind: str = "phd2"
    prefix: str = PREFIX
    specs: Sequence[MetricSpec[Any]] = ALL_SPECS
    identity_labels: tuple[str, ...] = ("target", "host", "inst")

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.phd2`` section and return its targets.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        section = validate_model(
            Phd2Section, data, source=source, prefix="exporters.phd2."
        )
        if not section.enabled:
            return []
        return [to_target(t) for t in section.targets]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the target name, configured host and instance implied by the port."""
        settings = _settings(target)
        return (
            ("target", target.name),
            ("host", settings.host.lower()),
            ("inst", str(settings.fallback_instance)),
        )

    def max_age(self, target: Target) -> float:
        """Return how long data stays current without a read or poll."""
        return _settings(target).max_age

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Run the target's supervisor until cancelled."""
        worker = _Worker(_settings(target), publisher, clock)
        await worker.supervisor.run()


def to_target(settings: Phd2TargetSettings) -> Target:
    """Wrap one PHD2 target's settings as a core ``Target``."""
    return Target(kind=Phd2Plugin.kind, name=settings.name, settings=settings)


def _settings(target: Target) -> Phd2TargetSettings:
    settings = target.settings
    if not isinstance(settings, Phd2TargetSettings):
        raise TypeError(f"target {target.name} has no PHD2 settings")
    return settings


Phd2Plugin.stored = StoredKind(
    kind=Phd2Plugin.kind,
    title="PHD2 autoguider",
    model=Phd2TargetSettings,
    to_target=to_target,
    key_metrics=("phd2_rms", "phd2_guide_step_snr"),
    summary="One PHD2 instance's event server (TCP 4400 + instance - 1).",
)

PLUGIN: Final = Phd2Plugin()
