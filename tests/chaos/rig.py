"""The hub under fault: all five exporters in one process, measured from outside.

``Rig`` runs the real hub (``build_hub`` with every exporter's plugin, the real app
on 127.0.0.1) for a list of targets and scrapes it over HTTP. ``JumpClock`` is the
system clock whose wall time can be stepped (an NTP step, a VM resume), with
sleeps and the monotonic clock left alone. ``Footprint`` takes the process's
memory, open files and asyncio tasks, for "memory stays bounded".

Nothing here fakes an exporter or a device: the tests pick simulators and faults
(``proxy.FaultProxy``, the simulators' own switches).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from exporterhub.core.app import HubState, create_app
from exporterhub.core.clock import SystemClock
from exporterhub.core.plugin import Target
from exporterhub.core.testing import running_server
from exporterhub.exporters.chaos.plugin import PLUGIN as CHAOS
from exporterhub.exporters.kasa.plugin import PLUGIN as KASA
from exporterhub.exporters.phd2.plugin import PLUGIN as PHD2
from exporterhub.exporters.snp.plugin import PLUGIN as SNP
from exporterhub.exporters.starlink.plugin import PLUGIN as STARLINK
from exporterhub.hub import build_hub
from tests.integration.conftest import Scrape

__all__ = ["PLUGINS", "Footprint", "JumpClock", "Rig", "running_rig"]

PLUGINS: dict[str, Any] = {p.kind: p for p in (PHD2, STARLINK, KASA, CHAOS, SNP)}


class JumpClock(SystemClock):
    """The system clock with a wall-clock offset a test may step (``jump``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        """Return the wall clock, stepped by ``offset``."""
        return time.time() + self.offset

    def jump(self, seconds: float) -> None:
        """Step the wall clock by ``seconds`` (negative: backwards)."""
        self.offset += seconds


@dataclass(frozen=True)
class Footprint:
    """What the process holds: resident memory, open files, asyncio tasks."""

    rss_bytes: int
    open_files: int
    tasks: int

    @classmethod
    def now(cls) -> Footprint:
        """Measure the running process."""
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return cls(
            rss_bytes=pages * os.sysconf("SC_PAGE_SIZE"),
            open_files=len(os.listdir("/proc/self/fd")),
            tasks=len(asyncio.all_tasks()),
        )


@dataclass
class Rig:
    """A running hub: its state, its clock and an HTTP client on its listener."""

    state: HubState
    clock: JumpClock
    client: httpx.AsyncClient

    async def scrape(self) -> Scrape:
        """Scrape /metrics; fail on anything but 200."""
        response = await self.client.get("/metrics")
        assert response.status_code == 200, response.text
        return Scrape(response.text)

    async def until(
        self, predicate: Callable[[Scrape], bool], *, within: float, what: str
    ) -> tuple[Scrape, float]:
        """Scrape until ``predicate`` holds; return the scrape and the seconds taken.

        Fails naming ``what`` with the last scrape when ``within`` passes first.
        """
        started = time.monotonic()
        last = Scrape("")
        try:
            async with asyncio.timeout(within):
                while True:
                    last = await self.scrape()
                    if predicate(last):
                        return last, time.monotonic() - started
                    await asyncio.sleep(0.05)
        except TimeoutError:
            errors = [
                f"{kind}/{name}: {running.publisher.record.error} "
                f"({running.publisher.record.error_detail})"
                for (kind, name), running in self.state.runner._running.items()
            ]
            pytest.fail(
                f"{what}: not within {within:.1f} s; last errors: {errors}; "
                f"last scrape:\n{last.text}"
            )

    def workers_alive(self) -> list[str]:
        """Return the running targets whose worker task has ended (should be none)."""
        runner = self.state.runner
        dead = []
        for key, running in runner._running.items():
            if running.task.done():
                dead.append("/".join(key))
        return dead

    def record(self, kind: str, name: str) -> Any:
        """Return the target's published record (its last error kind, link)."""
        publisher = self.state.runner.publisher(kind, name)
        assert publisher is not None, f"{kind}/{name} is not running"
        return publisher.record


@contextlib.asynccontextmanager
async def running_rig(targets: Sequence[Target]) -> AsyncIterator[Rig]:
    """Serve every exporter in one hub for ``targets`` until the block ends."""
    wanted = list(targets)
    clock = JumpClock()

    async def load() -> Sequence[Target]:
        return wanted

    state = build_hub(PLUGINS, load, title="chaos", clock=clock)
    state.render_interval = 0  # render in the scrape: what a scrape sees is current
    async with (
        running_server(create_app(state)) as url,
        httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client,
    ):
        yield Rig(state, clock, client)
