"""Wires the CHAOS client, state and collector into a core exporter plugin.

Per set of credentials: one ``httpx.AsyncClient``, one ``ChaosClient`` and a
``PollScheduler`` with three tiers (§9 of the protocol notes): SLOW (services, login,
telephony), MEDIUM (``broadband/info``) and FAST (``broadband/quota``), started in
that order so quota series have their ``login`` label from the start. Bulk mode asks
for every line at once and then asks individually for listed lines the answer lacked;
per-service mode asks line by line. An authentication failure stops all polling of the
credentials for ``auth_backoff`` seconds (logged once); a long rate-limit pause stops
it until ``Retry-After``. Each login's collectors report to the hub's ``HealthBook``
(``/health``) and count in the self-metrics under the login's ``target``; both go
when the worker stops. No parsing and no metric naming here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

import httpx
import structlog
from prometheus_client import CollectorRegistry

from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import MetricSpec
from exporterhub.core.plugin import Target, TargetPublisher
from exporterhub.core.scheduler import PollScheduler, Tier
from exporterhub.core.snapshot import LinkState
from exporterhub.exporters.chaos.answers import Answer, ErrorType, Failure
from exporterhub.exporters.chaos.client import ChaosClient, first_request
from exporterhub.exporters.chaos.collector import CHAOS_SPECS, PREFIX, UNAVAILABLE
from exporterhub.exporters.chaos.health import HealthBook
from exporterhub.exporters.chaos.instruments import (
    COLLECTORS,
    ChaosInstruments,
    register_build_info,
)
from exporterhub.exporters.chaos.instruments import (
    catalogue_notes as self_metrics_notes,
)
from exporterhub.exporters.chaos.payloads import (
    info_lines,
    login_services,
    quota_lines,
    ratecard,
    service_choices,
    services_list,
)
from exporterhub.exporters.chaos.settings import ChaosSection, ChaosTargetSettings
from exporterhub.exporters.chaos.state import ChaosState

if TYPE_CHECKING:
    from exporterhub.core.app import HubState

__all__ = ["PLUGIN", "ChaosPlugin", "to_target"]

_log = structlog.get_logger(__name__)
_HTTP_INTERNAL_ERROR: Final = 500


class _Worker:
    """One set of credentials: its client, state and tiers."""

    def __init__(
        self,
        settings: ChaosTargetSettings,
        publisher: TargetPublisher[Any],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.instruments = ChaosInstruments.for_registry(publisher.registry)
        self.instruments.precreate(settings.name, self.collectors())
        self.book = HealthBook.for_registry(publisher.registry)
        self.health = self.book.add(
            settings.name,
            settings.control_login or settings.account_number,
            self.collectors(),
            owner=self,
        )
        if self.health.hint is not None:
            _log.warning(
                "chaos_line_login", target=settings.name, hint=self.health.hint
            )
        self.state = ChaosState(
            fast_max_age=2 * settings.fast_interval,
            medium_max_age=2 * settings.medium_interval,
            slow_max_age=2 * settings.slow_interval,
        )
        self.paused_until = 0.0
        self._last_ok: dict[str, bool] = {}
        self._last_error: tuple[str | None, str | None] = (None, None)
        self._auth_reported = False
        self._no_telephony_reported = False
        self.client: ChaosClient | None = None

    def collectors(self) -> list[str]:
        """Return the enabled collectors, by their metric label."""
        s = self.settings
        names = []
        if s.enable_broadband:
            names += ["broadband_services", "broadband_info", "broadband_quota"]
        if s.enable_control_login:
            names.append("login")
        if s.enable_telephony:
            names.append("telephony_services")
        if s.enable_telephony_ratecard:
            names.append("telephony_ratecard")
        return names

    # -- outcomes -------------------------------------------------------------

    def _publish(self, ok: bool) -> None:
        """Publish after a tier run: fresh if it succeeded, healthy only if all are.

        Values of each tier age out on their own (each carries its expiry in the
        snapshot and the core applies it at scrape time, published or not), so a
        success of any tier refreshes the record; ``aaisp_up`` stays 0 while any
        enabled collector's latest run failed or any enabled data is past its age.
        """
        snapshot = self.state.snapshot(self.clock.time())
        if ok:
            self.publisher.data(snapshot)
        else:
            self.publisher.update(snapshot)
        healthy = ok and all(self._last_ok.values())
        error, detail = self._last_error
        if not healthy:
            self.publisher.failed(error=error, detail=detail)
        link = LinkState.CONNECTED if healthy else LinkState.ERROR
        if self.publisher.record.link is not link:
            self.publisher.link(link, error=None if healthy else error, detail=detail)

    def _succeeded(self, collector: str) -> None:
        now = self.clock.time()
        self.instruments.last_success.labels(self.settings.name, collector).set(now)
        self.health.succeeded(collector, now)
        self._auth_reported = False
        if self._last_ok.get(collector) is False:
            _log.info("chaos_collector_recovered", target=self.settings.name,
                      collector=collector)  # fmt: skip
        self._last_ok[collector] = True

    def _failed(self, collector: str, failure: Failure) -> None:
        error_type = failure.error_type.value
        self.instruments.error(self.settings.name, collector, error_type)
        self.health.failed(collector, error_type, self.clock.time())
        detail = f"{collector}: {failure.detail}"
        if failure.error_type is ErrorType.AUTH and self.health.hint is not None:
            detail = f"{detail} ({self.health.hint})"
        self._last_error = (error_type, detail)
        if self._last_ok.get(collector, True):
            # News once, when a collector goes from working to failing; repeats
            # of the same failure stay at DEBUG.
            _log.warning(
                "chaos_collector_failed",
                target=self.settings.name,
                collector=collector,
                error_type=failure.error_type.value,
                status=failure.status,
            )
        self._last_ok[collector] = False
        if failure.error_type is ErrorType.AUTH:
            self.paused_until = self.clock.monotonic() + self.settings.auth_backoff
            self.health.paused_until = self.clock.time() + self.settings.auth_backoff
            if not self._auth_reported:
                self._auth_reported = True
                _log.warning(
                    "chaos_auth_failed",
                    target=self.settings.name,
                    pause_seconds=self.settings.auth_backoff,
                    hint=self.health.hint,
                )
            return
        if failure.error_type is ErrorType.RATE_LIMITED:
            wait = failure.retry_after or 60.0
            self.paused_until = max(self.paused_until, self.clock.monotonic() + wait)
            self.health.paused_until = max(
                self.health.paused_until or 0.0, self.clock.time() + wait
            )
            if self.client is not None:
                self.client.hold(wait)
            _log.warning("chaos_rate_limited", target=self.settings.name, wait=wait)
            return
        _log.debug(
            "chaos_collector_failed",
            target=self.settings.name,
            collector=collector,
            error_type=failure.error_type.value,
            status=failure.status,
        )

    def _paused(self) -> bool:
        return self.clock.monotonic() < self.paused_until

    async def _collect(
        self, collector: str, run: Callable[[ChaosClient], Awaitable[bool]]
    ) -> bool:
        """Run one collector unless the credentials are paused; time it.

        The time counts from the collection's first request getting its slot:
        waiting for the login's request spacing (another collector's requests,
        a rate limit's hold) is not the collection's own duration.
        """
        if self._paused() or self.client is None:
            return False
        with first_request() as start:
            try:
                # Own deadline, inside the tier's: a timed-out collection is
                # counted here, not silently cancelled by the scheduler.
                async with asyncio.timeout(self._budget(collector)):
                    ok = await run(self.client)
            except TimeoutError:
                self._failed(
                    collector,
                    Failure(
                        error_type=ErrorType.TIMEOUT,
                        retryable=True,
                        retry_after=None,
                        detail="collection ran out of time",
                    ),
                )
                ok = False
            finally:
                ended = self.clock.monotonic()
                began = ended if start.at is None else start.at
                self.instruments.collector_duration.labels(
                    self.settings.name, collector, COLLECTORS[collector]
                ).observe(ended - began)
        if ok:
            self._succeeded(collector)
        return ok

    def _budget(self, collector: str) -> float:
        """Seconds one run of a collector may take: its tier's interval, at least."""
        s = self.settings
        interval = {
            "broadband_info": s.medium_interval,
            "broadband_quota": s.fast_interval,
        }.get(collector, s.slow_interval)
        return max(interval, 4 * s.request_timeout)

    # -- collectors -----------------------------------------------------------

    async def _services(self, client: ChaosClient) -> bool:
        result = await client.call("broadband", "services")
        if isinstance(result, Failure):
            self._failed("broadband_services", result)
            return False
        self.state.apply_services(services_list(result.payload), self.clock.time())
        return True

    async def _lines(
        self,
        client: ChaosClient,
        collector: str,
        command: str,
        apply: Callable[[Answer, bool], list[str]],
    ) -> bool:
        """Info or quota: bulk with per-service fallback, or per service."""
        services = self.state.services()
        if self.settings.mode == "bulk" or not services:
            # Per-service mode knows no lines yet: one bulk request finds them.
            result = await client.call("broadband", command)
            if isinstance(result, Failure):
                self._failed(collector, result)
                return False
            seen = set(apply(result, True))
            # The Service choices are a second inventory (§4.1): some lines appear
            # only there.
            self.state.apply_choices(service_choices(result.payload))
            missing = [s for s in self.state.services() if s not in seen]
        else:
            missing = services
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(service: str) -> bool:
            async with limit:
                if self._paused():  # an auth failure or rate limit stops the round
                    return False
                answer = await client.call("broadband", command, service=service)
            if isinstance(answer, Failure):
                self._failed(collector, answer)
                self.state.service_failed(service, self.clock.time())
                return False
            apply(answer, False)
            return True

        results = await asyncio.gather(*(one(s) for s in missing))
        if self.settings.mode == "bulk" or not services:
            return True  # the bulk answer came; failed lines show in service_up
        return any(results)

    def _apply_info(self, answer: Answer, complete: bool) -> list[str]:
        lines = info_lines(answer.payload)
        self.state.apply_info(lines, self.clock.time(), complete=complete)
        return [line.service_id for line in lines]

    def _apply_quota(self, answer: Answer, complete: bool) -> list[str]:
        lines = quota_lines(answer.payload)
        self.state.apply_quota(lines, self.clock.time(), complete=complete)
        return [line.service_id for line in lines]

    async def _login(self, client: ChaosClient) -> bool:
        result = await client.call("login", "services")
        if isinstance(result, Failure):
            self._failed("login", result)
            return False
        self.state.apply_login_services(
            login_services(result.payload), self.clock.time()
        )
        return True

    async def _telephony(self, client: ChaosClient) -> bool:
        # A 500 here means "no telephony numbers" (§4.7): not retried, logged once.
        result = await client.call(
            "telephony", "services", final_statuses=frozenset({_HTTP_INTERNAL_ERROR})
        )
        if isinstance(result, Failure):
            self._failed("telephony_services", result)
            if result.status == _HTTP_INTERNAL_ERROR:
                if not self._no_telephony_reported:
                    self._no_telephony_reported = True
                    _log.info("chaos_no_telephony", target=self.settings.name)
                self.state.set_telephony_services(0, self.clock.time())
                return True
            return False
        count = len(services_list(result.payload))
        self.state.set_telephony_services(count, self.clock.time())
        return True

    async def _ratecard(self, client: ChaosClient) -> bool:
        result = await client.call("telephony", "ratecard")
        if isinstance(result, Failure):
            self._failed("telephony_ratecard", result)
            return False
        card = ratecard(result.payload)
        if self.settings.ratecard_rates:  # bound cardinality to the rates wanted
            card = card.only(self.settings.ratecard_rates)
        self.state.apply_ratecard(card, self.clock.time())
        return True

    # -- tiers ----------------------------------------------------------------

    async def slow(self) -> None:
        """Services, login and telephony: inventory that changes rarely."""
        s = self.settings
        outcomes: list[bool] = []
        if s.enable_broadband:
            outcomes.append(await self._collect("broadband_services", self._services))
        if s.enable_control_login:
            outcomes.append(await self._collect("login", self._login))
        if s.enable_telephony:
            outcomes.append(await self._collect("telephony_services", self._telephony))
        if s.enable_telephony_ratecard:
            outcomes.append(await self._collect("telephony_ratecard", self._ratecard))
        self._publish(all(outcomes) if outcomes else True)

    async def medium(self) -> None:
        """Line details (sync rates, login, postcode)."""

        async def run(client: ChaosClient) -> bool:
            return await self._lines(client, "broadband_info", "info", self._apply_info)

        self._publish(await self._collect("broadband_info", run))

    async def fast(self) -> None:
        """Quota, which users watch most."""

        async def run(client: ChaosClient) -> bool:
            return await self._lines(
                client, "broadband_quota", "quota", self._apply_quota
            )

        self._publish(await self._collect("broadband_quota", run))

    async def run(self) -> None:
        """Run the tiers until cancelled."""
        s = self.settings
        tiers = [
            Tier(
                name="slow",
                interval=s.slow_interval,
                timeout=max(s.slow_interval, 4 * s.request_timeout) * 4 + 60,
                poll=self.slow,
            )
        ]
        if s.enable_broadband:
            tiers += [
                Tier(
                    name="medium",
                    interval=s.medium_interval,
                    timeout=max(s.medium_interval, 4 * s.request_timeout) + 60,
                    poll=self.medium,
                ),
                Tier(
                    name="fast",
                    interval=s.fast_interval,
                    timeout=max(s.fast_interval, 4 * s.request_timeout) + 60,
                    poll=self.fast,
                ),
            ]
        async with httpx.AsyncClient(
            timeout=s.request_timeout,
            follow_redirects=False,
            headers={"User-Agent": "exporterhub-aaisp-exporter"},
        ) as http:
            self.client = ChaosClient(s, http, self.instruments, clock=self.clock)
            await PollScheduler(s.name, tiers, clock=self.clock).run()


class ChaosPlugin:
    """The CHAOS exporter as the core sees it."""

    stored: ClassVar[StoredKind]
    """How the control plane stores, validates and describes this kind."""

    kind: str = "chaos"
    prefix: str = PREFIX
    specs: Sequence[MetricSpec[Any]] = CHAOS_SPECS
    identity_labels: tuple[str, ...] = ("target",)
    unavailable: tuple[tuple[str, str], ...] = UNAVAILABLE
    catalogue_notes: str = self_metrics_notes()

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        """Validate the ``exporters.chaos`` section and return its targets.

        Raises:
            ConfigError: one line naming the source and the bad key.
        """
        section = validate_model(
            ChaosSection, data, source=source, prefix="exporters.chaos."
        )
        if not section.enabled:
            return []
        return [to_target(t) for t in section.targets]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        """Return the target's name as its only identity label."""
        return (("target", target.name),)

    def max_age(self, target: Target) -> float:
        """Return how long data stays current without a successful poll."""
        return _settings(target).max_age

    def register_self_metrics(
        self, registry: CollectorRegistry, *, version: str, revision: str
    ) -> None:
        """Register the exporter's build info and up gauge with COMPAT's labels."""
        register_build_info(registry, version=version, revision=revision)

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        """Poll the target's tiers until cancelled; then drop its self-metrics."""
        worker = _Worker(_settings(target), publisher, clock)
        try:
            await worker.run()
        finally:
            if worker.book.remove(target.name, worker):
                worker.instruments.forget(target.name)

    def extend_app(self, hub: HubState) -> None:
        """Add each login's collectors (last success, last error) to /health."""
        book = HealthBook.for_registry(hub.exposition.registry)
        hub.health_fields.append(lambda: book.fields(hub.clock.time()))


def to_target(settings: ChaosTargetSettings) -> Target:
    """Wrap one login's settings as a core ``Target``."""
    return Target(kind=ChaosPlugin.kind, name=settings.name, settings=settings)


def _settings(target: Target) -> ChaosTargetSettings:
    settings = target.settings
    if not isinstance(settings, ChaosTargetSettings):
        raise TypeError(f"target {target.name} has no CHAOS settings")
    return settings


ChaosPlugin.stored = StoredKind(
    kind=ChaosPlugin.kind,
    title="AAISP CHAOS",
    model=ChaosTargetSettings,
    to_target=to_target,
    key_metrics=(
        "aaisp_broadband_quota_remaining_bytes",
        "aaisp_broadband_line_sync_download_bps",
    ),
    summary="One A&A control login (or account) read through the CHAOS API.",
)

PLUGIN: Final = ChaosPlugin()
