"""The CHAOS exporter's only network code: form POSTs to the CHAOS v2 API with httpx.

One ``ChaosClient`` per set of credentials, reusing one ``httpx.AsyncClient``. Every
attempt is counted and timed; retryable failures (timeouts, connection errors, 5xx,
rate limits) are retried with capped exponential backoff and jitter, honouring
``Retry-After``; authentication failures are never retried here. Requests of one
login are spaced so the API sees about one request per second at most. The form
carries the password: it is never logged. ``broadband/kill`` cannot be sent.

A collection (one collector's run) can ask, through ``first_request``, when its
first request got its slot: the time spent waiting for that slot is politeness,
not the collection, and ``aaisp_collector_duration_seconds`` leaves it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Final

import httpx
import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.exporters.chaos.answers import (
    Answer,
    ErrorType,
    Failure,
    parse_answer,
)
from exporterhub.exporters.chaos.instruments import ChaosInstruments
from exporterhub.exporters.chaos.settings import ChaosTargetSettings

__all__ = ["ChaosClient", "CollectionStart", "ForbiddenCommandError", "first_request"]

_log = structlog.get_logger(__name__)
_FORBIDDEN: Final = frozenset({("broadband", "kill")})
_RATE_LIMIT_DEFAULT_WAIT: Final = 60.0


@dataclasses.dataclass(slots=True)
class CollectionStart:
    """When a collection's first request got its slot (clock monotonic), if yet."""

    at: float | None = None


_COLLECTION: ContextVar[CollectionStart | None] = ContextVar(
    "chaos_collection", default=None
)


@contextlib.contextmanager
def first_request() -> Iterator[CollectionStart]:
    """Note when the first request made inside this block got its request slot.

    Tasks started inside the block (per-service requests) share the note.
    """
    start = CollectionStart()
    token = _COLLECTION.set(start)
    try:
        yield start
    finally:
        _COLLECTION.reset(token)


class ForbiddenCommandError(ValueError):
    """A command the exporter must never send (it changes the customer's line)."""


class ChaosClient:
    """Calls CHAOS commands for one set of credentials.

    Args:
        settings: the target's settings (API URL, credentials, timeouts, retries).
        http: a shared ``httpx.AsyncClient`` (its lifetime is the caller's).
        instruments: where attempts are counted and timed.
        clock: for sleeps between attempts and request spacing.
        rng: random source for backoff jitter.
    """

    def __init__(
        self,
        settings: ChaosTargetSettings,
        http: httpx.AsyncClient,
        instruments: ChaosInstruments,
        *,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._instruments = instruments
        self._clock = clock
        self._rng = rng or random.Random()
        self._backoff = Backoff(
            initial=settings.retry_initial,
            maximum=max(settings.retry_initial, settings.retry_max),
        )
        self._turn = asyncio.Lock()
        self._next_slot = 0.0
        self.attempts = 0

    def hold(self, seconds: float) -> None:
        """Send no request of this login for ``seconds`` (a rate limit's wait)."""
        self._next_slot = max(self._next_slot, self._clock.monotonic() + seconds)

    async def _wait_turn(self) -> None:
        """Space requests of this login by ``min_request_interval`` seconds."""
        async with self._turn:
            now = self._clock.monotonic()
            wait = self._next_slot - now
            if wait > 0:
                await self._clock.sleep(wait)
                now = self._clock.monotonic()
            self._next_slot = now + self._settings.min_request_interval
        start = _COLLECTION.get()
        if start is not None and start.at is None:
            start.at = now

    async def _attempt(
        self, subsystem: str, command: str, form: dict[str, str]
    ) -> Answer | Failure:
        url = f"{self._settings.api_url}/{subsystem}/{command}/json"
        status = 0
        started = time.perf_counter()
        try:
            # httpx's timeouts apply per read; this bounds the whole request, so a
            # server trickling bytes cannot hold a collection for ever.
            async with asyncio.timeout(self._settings.request_timeout):
                response = await self._http.post(
                    url, data=form, timeout=self._settings.request_timeout
                )
            status = response.status_code
            result = parse_answer(
                status,
                response.headers.get("content-type"),
                response.content,
                response.headers,
                now=self._clock.time(),
            )
            if isinstance(result, Failure):
                return dataclasses.replace(result, status=status)
            return result
        except (httpx.TimeoutException, TimeoutError):
            return Failure(
                error_type=ErrorType.TIMEOUT,
                retryable=True,
                retry_after=None,
                detail="no answer in time",
            )
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return Failure(
                error_type=ErrorType.CONNECTION,
                retryable=True,
                retry_after=None,
                detail=type(exc).__name__,
            )
        finally:
            self.attempts += 1
            target = self._settings.name
            self._instruments.requests.labels(
                target, subsystem, command, str(status)
            ).inc()
            self._instruments.request_duration.labels(
                target, subsystem, command
            ).observe(time.perf_counter() - started)

    async def call(
        self,
        subsystem: str,
        command: str,
        *,
        service: str | None = None,
        retry: bool = True,
        final_statuses: frozenset[int] = frozenset(),
    ) -> Answer | Failure:
        """Call one command; return its payload or a classified failure.

        Args:
            subsystem: ``broadband``, ``telephony``, ``login`` …
            command: ``services``, ``info``, ``quota`` …
            service: the line to ask about; all lines when None.
            retry: retry retryable failures.
            final_statuses: HTTP statuses that are an answer, not a fault, for this
                command (500 from telephony/services means "no telephony").

        Raises:
            ForbiddenCommandError: the command would change the customer's service.
        """
        if (subsystem, command) in _FORBIDDEN:
            raise ForbiddenCommandError(f"{subsystem}/{command} is never sent")
        form = self._settings.credentials()
        if service is not None:
            form["service"] = service
        attempt = 0
        while True:
            attempt += 1
            await self._wait_turn()
            result = await self._attempt(subsystem, command, form)
            if isinstance(result, Answer):
                return result
            if (
                not (retry and result.retryable)
                or result.status in final_statuses
                or attempt > self._settings.max_retries
            ):
                return result
            if result.retry_after is not None:
                delay = result.retry_after
            elif result.error_type is ErrorType.RATE_LIMITED:
                delay = _RATE_LIMIT_DEFAULT_WAIT
            else:
                delay = self._backoff.delay(attempt, self._rng)
            if result.error_type is ErrorType.RATE_LIMITED:
                self.hold(delay)  # every request of this login waits, not just this
            if delay > self._settings.retry_max:
                return result  # too long to hold a collection: the caller pauses
            _log.debug(
                "chaos_retry",
                target=self._settings.name,
                command=f"{subsystem}/{command}",
                error_type=result.error_type.value,
                attempt=attempt,
                delay=round(delay, 3),
            )
            await self._clock.sleep(delay)
