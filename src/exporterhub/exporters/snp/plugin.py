"""Wires the SNP client, state and collector into a core exporter plugin.

Per connection (``shared/protocols/snp.md`` §4, §7): a ``StreamSupervisor`` runs
sessions with capped exponential backoff and jitter (``interval`` the base). A
session logs in for a fresh token, opens the WebSocket, sends the token and the
subscription, and then folds every frame into ``SnpState`` as it arrives,
publishing a snapshot per frame; the stream counts as up from the first frame
and for ``stale_after`` seconds after each. Beside it the personality poller
(§3.1) asks each processor on its own, right away and every
``personality_interval`` seconds. A stream silent for ``stale_after`` seconds is
closed (pings catch a half-open socket too); when a stream ends its objects are
discarded and its values vanish. The link state and a short error kind
(``auth``, ``tls``, ``refused``, ``timeout``, ``unreachable``, ``rejected``,
``unavailable``, ``closed``, ``stale``) go into the target's record, which the
control plane stores and serves. No parsing and no metric naming here.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

import httpx
import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.snapshot import LinkState
from exporterhub.core.supervisor import StreamSupervisor
from exporterhub.exporters.snp.client import (
    SnpAuthError,
    SnpError,
    SnpLinkError,
    SnpRest,
    SnpStream,
    open_stream,
    tls_context,
)
from exporterhub.exporters.snp.collector import CATALOGUE_NOTES, PREFIX, SNP_SPECS
from exporterhub.exporters.snp.protocol import (
    MsgType,
    personality_from_config,
    subscription_frame,
)
from exporterhub.exporters.snp.settings import SnpSection, SnpTargetSettings, notices
from exporterhub.exporters.snp.state import PROCESSORS, SnpState

__all__ = ["PLUGIN", "SnpPlugin", "to_target"]

_log = structlog.get_logger(__name__)

_STATUS_TYPES: Final = frozenset({MsgType.STATUS_STATE, MsgType.ALL_STATUSES})
_NO_STATUS_WARNING_AFTER: Final = 10.0
"""Seconds after subscribing without a statusState (but with keepalives) after
which a wrong ``elementIP`` is the likely cause (§4.2)."""
_LOGOUT_TIMEOUT: Final = 2.0
_SUPERVISOR_KINDS: Final = {"SnpAuthError": "auth", "SnpTlsError": "tls"}


class _Worker:
    """One SNP connection's state, sessions and personality poller."""

    def __init__(
        self,
        settings: SnpTargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.state = SnpState()
        self.supervisor = StreamSupervisor(
            settings.name,
            self.session,
            backoff=Backoff(
                initial=settings.interval,
                maximum=settings.reconnect_max,
                reset_after=max(30.0, 2 * settings.stale_after),
            ),
            clock=clock,
            on_link=self._on_link,
        )
        self._context: ssl.SSLContext | None = None
        self._failure: tuple[str, str] | None = None
        self._connected: Callable[[], None] | None = None
        self._token: str | None = None
        self._last_frame = 0.0
        self._frames = 0
        self._statuses = 0

    # -- publishing -------------------------------------------------------------

    def _publish_counts(self) -> None:
        """Publish changed counters or identity without calling it a success."""
        self.publisher.update(self.state.snapshot())

    def _on_link(self, link: LinkState, error: str | None) -> None:
        lost = link in (LinkState.DISCONNECTED, LinkState.ERROR)
        if lost:
            # §7: no value of a stream that is down; the next one rebuilds them.
            self.state.begin_connection()
            self._publish_counts()
            self.publisher.expire()
        kind, detail = self._failure or (
            _SUPERVISOR_KINDS.get(error or "", error),
            None,
        )
        self.publisher.link(
            link,
            reconnects=max(0, self.supervisor.sessions - 1),
            error=kind if lost else None,
            detail=detail,
        )

    def _on_message(self, data: bytes) -> None:
        """Fold one data message, as it arrives (called inside the socket read)."""
        started = time.perf_counter()
        kind = self.state.apply_frame(data, self.clock.time())
        if kind in _STATUS_TYPES:
            self.state.set_decode_seconds(time.perf_counter() - started)
            self._statuses += 1
        self._frames += 1
        self._last_frame = self.clock.monotonic()
        connected = self._connected
        if connected is not None:
            # The SNP never acknowledges the token: its first frame is the sign
            # that the stream works (§4.1).
            self._connected = None
            connected()
        self.publisher.data(self.state.snapshot())

    # -- a session --------------------------------------------------------------

    async def session(self, connected: Callable[[], None]) -> None:
        """Run one connection; record the kind of its failure for the link state."""
        self._failure = None
        try:
            await self._session(connected)
        except SnpError as exc:
            self._failure = (exc.kind, str(exc))
            raise

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = tls_context(self.settings)
        return self._context

    async def _session(self, connected: Callable[[], None]) -> None:
        settings = self.settings
        rest = SnpRest(settings, self._tls())
        async with rest.client() as http:
            token = await self._login(rest, http)
        self._frames = self._statuses = 0
        self._last_frame = self.clock.monotonic()
        stream = await open_stream(settings, self._tls(), self._on_message)
        self._token = token
        try:
            stream.send(token)  # §4.1: the first frame, verbatim
            stream.send(
                subscription_frame(
                    (o.wire() for o in settings.objects_ids), settings.frequency
                )
            )
            self._last_frame = self.clock.monotonic()
            self._connected = connected
            async with asyncio.TaskGroup() as group:
                group.create_task(self._poll_personalities(rest))
                group.create_task(self._watch(stream))
        except* SnpError as failed:
            raise failed.exceptions[0] from None
        finally:
            self._connected = None
            stream.close()
            await self._logout(rest)

    async def _login(self, rest: SnpRest, http: httpx.AsyncClient) -> str:
        try:
            return await rest.login(http)
        except SnpAuthError:
            self.state.count_auth_failure()
            self._publish_counts()
            raise
        except SnpError:
            self.state.count_rest_error("auth")
            self._publish_counts()
            raise

    async def _logout(self, rest: SnpRest) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            async with asyncio.timeout(_LOGOUT_TIMEOUT), rest.client() as http:
                await rest.logout(http, token)
        except TimeoutError:
            _log.debug("snp_logout_timed_out", target=self.settings.name)

    async def _watch(self, stream: SnpStream) -> None:
        """Wait for the end of the stream, or its silence (§7); always raises."""
        settings = self.settings
        subscribed = self.clock.monotonic()
        warned = False
        closed = asyncio.ensure_future(stream.wait_closed())
        try:
            while not closed.done():
                now = self.clock.monotonic()
                silent = now - self._last_frame
                if silent >= settings.stale_after:
                    raise SnpLinkError(f"no frame for {silent:.0f} s", "stale")
                deadline = self._last_frame + settings.stale_after
                if not warned:
                    check = subscribed + _NO_STATUS_WARNING_AFTER
                    if now >= check:
                        warned = True
                        self._warn_without_statuses()
                    else:
                        deadline = min(deadline, check)
                sleep = asyncio.ensure_future(self.clock.sleep(deadline - now))
                try:
                    await asyncio.wait(
                        (closed, sleep), return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    sleep.cancel()
        finally:
            closed.cancel()
        code = stream.close_code
        if stream.closed_for_auth or self._frames == 0:
            # §4.1: a close code meaning "bad token", or a close before any frame
            # after the token, is a refused token, not a flap.
            self.state.count_auth_failure()
            self._publish_counts()
            raise SnpAuthError(f"the WebSocket refused the token (close code {code})")
        raise SnpLinkError(f"the SNP closed the WebSocket (code {code})", "closed")

    def _warn_without_statuses(self) -> None:
        if self._frames and not self._statuses:
            _log.warning(
                "snp_no_status_after_subscribe",
                target=self.settings.name,
                seconds=_NO_STATUS_WARNING_AFTER,
                hint="keepalives arrive but no statusState: with the SMM on the SNP "
                "every elementIP must be 127.0.0.1",
            )

    # -- personality poller -----------------------------------------------------

    async def _poll_personalities(self, rest: SnpRest) -> None:
        """Poll each processor's personality now and every interval (§3.1)."""
        while True:
            await self._personality_round(rest)
            await self.clock.sleep(self.settings.personality_interval)

    async def _personality_round(self, rest: SnpRest) -> None:
        async with rest.client() as http:
            token = self._token
            if token is None:
                return
            outcomes = await asyncio.gather(
                *(self._poll_processor(rest, http, token, p) for p in PROCESSORS)
            )
            expired = [
                p for p, outcome in zip(PROCESSORS, outcomes, strict=True) if outcome
            ]
            if expired:
                # §2: reuse the token until a 401, then log in once more.
                try:
                    token = await self._login(rest, http)
                except SnpError:
                    for _ in expired:
                        self.state.count_rest_error("processor_config")
                else:
                    self._token = token
                    await asyncio.gather(
                        *(
                            self._poll_processor(rest, http, token, p, retry=False)
                            for p in expired
                        )
                    )
        self._publish_counts()

    async def _poll_processor(
        self,
        rest: SnpRest,
        http: httpx.AsyncClient,
        token: str,
        processor: str,
        *,
        retry: bool = True,
    ) -> bool:
        """Poll one processor; return True when its token was refused (retry)."""
        try:
            envelope = await rest.processor_config(http, token, processor)
        except SnpAuthError:
            if retry:
                return True
            self.state.count_rest_error("processor_config")
            return False
        except SnpError as exc:
            _log.debug(
                "snp_personality_failed",
                target=self.settings.name,
                processor=processor,
                error=str(exc),
            )
            self.state.count_rest_error("processor_config")
            return False
        personality = personality_from_config(envelope)
        if personality is None:
            self.state.count_rest_error("processor_config")
        else:
            self.state.set_personality(processor, personality)
        return False


class SnpPlugin:
    """The SNP exporter as the core sees it."""

    stored: ClassVar[StoredKind]
    """How the control plane stores, validates and describes this kind."""

    kind: str = "snp"
    prefix: str = PREFIX
    specs: Sequence[MetricSpec[Any]] = SNP_SPECS
    identity_labels: tuple[str, ...] = ("target",)
    catalogue_notes: str = CATALOGUE_NOTES

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.snp`` section and return its targets.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        section = validate_model(
            SnpSection, data, source=source, prefix="exporters.snp."
        )
        if not section.enabled:
            return []
        return [to_target(t) for t in section.targets]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the connection's name as its only identity label."""
        return (("target", target.name),)

    def max_age(self, target: Target) -> float:
        """Return how long the stream counts as up after its last frame."""
        return _settings(target).stale_after

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Run the connection's supervisor until cancelled."""
        worker = _Worker(_settings(target), publisher, clock)
        await worker.supervisor.run()


def to_target(settings: SnpTargetSettings) -> Target:
    """Wrap one SNP connection's settings as a core ``Target``."""
    return Target(kind=SnpPlugin.kind, name=settings.name, settings=settings)


def _settings(target: Target) -> SnpTargetSettings:
    settings = target.settings
    if not isinstance(settings, SnpTargetSettings):
        raise TypeError(f"target {target.name} has no SNP settings")
    return settings


SnpPlugin.stored = StoredKind(
    kind=SnpPlugin.kind,
    title="Imagine SNP",
    model=SnpTargetSettings,
    to_target=to_target,
    key_metrics=("ic_snp_ptp_master_offset_seconds", "ic_snp_mainboard_temperature"),
    summary="One Imagine Communications SNP's SMM: REST login and WebSocket status "
    "stream.",
    notices=notices,
)

PLUGIN: Final = SnpPlugin()
