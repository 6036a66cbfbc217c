"""Fixtures for tests that run real exporters against their real simulators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.app import HubState, create_app
from exporterhub.core.clock import Clock
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.testing import FakeClock, running_server, wait_until
from exporterhub.exporters.phd2.plugin import PLUGIN, to_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.hub import build_hub
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

FAST = {
    "state_interval": 0.2,
    "equipment_interval": 0.2,
    "rpc_timeout": 0.5,
    "connect_timeout": 2.0,
    "reconnect_initial": 0.05,
    "reconnect_max": 0.2,
}


@dataclass
class Scrape:
    """One parsed scrape: ``value(name, **labels)`` and ``series(name)``."""

    text: str

    def samples(self) -> list[Any]:
        return [
            s for fam in text_string_to_metric_families(self.text) for s in fam.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        for sample in self.samples():
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                return float(sample.value)
        return None

    def series(self, name: str) -> list[Any]:
        return [s for s in self.samples() if s.name == name]


@dataclass
class Exporter:
    """A running exporter: its hub state and an HTTP client on its listener."""

    state: HubState
    client: httpx.AsyncClient

    async def scrape(self) -> Scrape:
        response = await self.client.get("/metrics")
        response.raise_for_status()
        return Scrape(response.text)

    async def scrape_until(
        self, predicate: Callable[[Scrape], bool], within: float = 15.0
    ) -> Scrape:
        """Scrape until ``predicate`` holds; fail with the last body otherwise."""
        last = Scrape("")
        try:
            async with asyncio.timeout(within):
                while True:
                    last = await self.scrape()
                    if predicate(last):
                        return last
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(
                f"condition not met within {within}s; last scrape:\n{last.text}"
            )

    async def until_prepared(self, clock: FakeClock, step: float = 0.5) -> None:
        """Return once the background renderer has bytes ready for this client.

        Scrapes are answered from those bytes from then on, not rendered on the
        request: the path whose freshness the ageing tests hold to account. The
        renderer paces itself on ``clock``, so time moves by ``step`` meanwhile.
        """
        await self.scrape()  # asks for this client's variant: text format, gzip
        exposition = self.state.exposition
        clock.advance(step)
        await wait_until(lambda: exposition.served(False, True) is not None)

    async def scrape_advancing(
        self,
        clock: FakeClock,
        predicate: Callable[[Scrape], bool],
        *,
        step: float,
        within: float = 30.0,
    ) -> Scrape:
        """Scrape until ``predicate`` holds, moving ``clock`` by ``step`` between.

        For exporters on a fake clock whose workers must run again (retry, next
        poll) before the condition can hold; bounded in real time by ``within``.
        """
        last = Scrape("")
        try:
            async with asyncio.timeout(within):
                while True:
                    last = await self.scrape()
                    if predicate(last):
                        return last
                    clock.advance(step)
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(
                f"condition not met within {within}s; last scrape:\n{last.text}"
            )


def phd2_target(port: int, name: str = "rig", **overrides: Any) -> Target:
    return to_target(
        Phd2TargetSettings(name=name, host="127.0.0.1", port=port, **(FAST | overrides))
    )


@pytest.fixture
async def simulator() -> AsyncIterator[Phd2Simulator]:
    sim = Phd2Simulator(Phd2SimConfig(port=0, scripted=True, seed=7))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@asynccontextmanager
async def running_exporter(
    plugin: ExporterPlugin, targets: Sequence[Target], clock: Clock | None = None
) -> AsyncIterator[Exporter]:
    """Run one exporter's real hub and app on loopback for ``targets``.

    ``clock`` (a ``FakeClock`` in tests of ageing) drives the workers, the
    renderer and freshness; the system clock by default.
    """
    wanted = list(targets)

    async def load() -> Sequence[Target]:
        return wanted

    state = build_hub({plugin.kind: plugin}, load, title="test", clock=clock)
    async with (
        running_server(create_app(state)) as url,
        httpx.AsyncClient(base_url=url, timeout=5) as client,
    ):
        yield Exporter(state, client)


@pytest.fixture
def make_exporter() -> Callable[[Sequence[Target]], Any]:
    """Return an async context manager factory running the PHD2 exporter."""
    return partial(running_exporter, PLUGIN)
