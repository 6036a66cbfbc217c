"""Reads made when ``/metrics`` is scraped (the original's ``refresh_interval: null``).

A plug whose settings say ``on_scrape`` is not polled on a timer: its worker joins
``ScrapeReads`` for its hub (keyed by the hub's registry), and the hub's scrape
hook asks every such worker for a read before the scrape is answered. Each worker
keeps at most one read in flight: concurrent scrapes share it, so they never pile
up on a plug. A scrape waits for the reads at most ``SCRAPE_WAIT`` seconds (below
Prometheus's default 10 s scrape timeout) and then answers with what is there; a
read still running goes on and shows in the next scrape.

No device I/O here (the workers do it), no rendering; the waiting is bounded.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from prometheus_client import CollectorRegistry

__all__ = ["SCRAPE_WAIT", "Reader", "ScrapeReads"]

SCRAPE_WAIT: Final = 5.0
"""Seconds a scrape waits at most for the reads it asked for."""


class Reader(Protocol):
    """A plug worker that reads when asked."""

    def read(self) -> asyncio.Future[None]:
        """Start a read unless one is in flight; return the one in flight."""
        ...


class ScrapeReads:
    """The workers that read when scraped, per hub registry.

    Args:
        wait: seconds a scrape waits at most for the reads.
    """

    def __init__(self, wait: float = SCRAPE_WAIT) -> None:
        self.wait = wait
        self._readers: weakref.WeakKeyDictionary[CollectorRegistry, set[Reader]] = (
            weakref.WeakKeyDictionary()
        )

    def join(self, registry: CollectorRegistry, reader: Reader) -> None:
        """Read ``reader`` on every scrape of the hub owning ``registry``."""
        self._readers.setdefault(registry, set()).add(reader)

    def leave(self, registry: CollectorRegistry, reader: Reader) -> None:
        """Stop reading ``reader`` on scrapes (its target stopped)."""
        self._readers.get(registry, set()).discard(reader)

    def hook(self, registry: CollectorRegistry) -> Callable[[], Awaitable[bool]]:
        """Return the scrape hook of the hub owning ``registry``.

        The hook returns False at once when no worker reads on scrape (the
        scrape is then served from the prepared bytes as usual), else True after
        the reads finished or ``wait`` passed.
        """

        async def before_scrape() -> bool:
            readers = list(self._readers.get(registry, ()))
            if not readers:
                return False
            reads = [reader.read() for reader in readers]
            # asyncio.wait never cancels what it waits for: a read outlives a
            # scrape that gave up on it (or whose client went away).
            await asyncio.wait(reads, timeout=self.wait)
            return True

        return before_scrape
