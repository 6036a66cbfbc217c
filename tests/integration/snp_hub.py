"""A served hub whose SNP targets live in a real target store, for the SNP tests.

``serving`` builds the hub as ``exporterhub serve`` does (``build_hub`` with a
``TargetStore``, ``create_app``, ``running_server`` on 127.0.0.1) around the real
SNP plugin, on a ``FakeClock`` the test moves; targets are created through the
control plane's API (``POST /api/targets``), as a user would. The SNP devices
are the project's simulator, over loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from exporterhub.core.app import HubState, create_app
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import FakeClock, running_server
from exporterhub.exporters.snp.plugin import PLUGIN
from exporterhub.hub import build_hub
from exporterhub.simulators.snp import DeviceSpec, SnpDevice, SnpFleet, SnpSimConfig

from .conftest import Scrape

FAST: dict[str, Any] = {
    "interval": 1.0,
    "reconnect_max": 4.0,
    "timeout": 3.0,
    "stale_after": 30.0,
}
"""Settings that keep retries short on the fake clock."""


@contextlib.asynccontextmanager
async def quiet_fleet(devices: dict[str, str]) -> AsyncIterator[SnpFleet]:
    """Run simulated SNPs named as ``devices``' keys, each with its password;
    first statuses at once, values still (no drift)."""
    config = SnpSimConfig(
        devices=[DeviceSpec(name=n, password=p) for n, p in devices.items()],
        first_status_delay=0.05,
        drift=False,
    )
    async with SnpFleet(config) as running:
        yield running


EVERY_OBJECT: list[dict[str, str]] = [
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
    {"elementIP": "127.0.0.1", "objectType": "ipVidRx"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "A-HD-1"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "B-HD-2"},
    {"elementIP": "127.0.0.1", "objectType": "ipWan"},
    {"elementIP": "127.0.0.1", "objectType": "videoGenLock"},
]
"""A subscription to every status type the exporter exports."""


def settings_for(device: SnpDevice, **overrides: Any) -> dict[str, Any]:
    """Return a device's connection as stored settings (the record's fields)."""
    record = device.connection(EVERY_OBJECT)
    fields = ("restapi", "websocket", "username", "password", "objects_ids")
    return {key: record[key] for key in fields} | FAST | overrides


@dataclass
class SnpHub:
    """A served hub: state, store, clock and an HTTP client on its listener."""

    state: HubState
    store: TargetStore
    clock: FakeClock
    client: httpx.AsyncClient

    async def add(self, name: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Create an SNP target through the API; fail unless 201."""
        response = await self.client.post(
            "/api/targets", json={"kind": "snp", "name": name, "settings": settings}
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def target(self, name: str) -> dict[str, Any]:
        """Return ``GET /api/targets/snp/{name}``."""
        response = await self.client.get(f"/api/targets/snp/{name}")
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def scrape(self) -> Scrape:
        response = await self.client.get("/metrics")
        response.raise_for_status()
        return Scrape(response.text)

    async def until(
        self,
        predicate: Callable[[Scrape], bool],
        *,
        within: float = 10.0,
        step: float = 0.0,
    ) -> Scrape:
        """Scrape until ``predicate`` holds, moving the clock by ``step`` between.

        Bounded in real time by ``within``; fails with the last scrape.
        """
        last = Scrape("")
        try:
            async with asyncio.timeout(within):
                while True:
                    last = await self.scrape()
                    if predicate(last):
                        return last
                    if step:
                        self.clock.advance(step)
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(f"not met within {within}s; last scrape:\n{last.text}")

    async def until_link(
        self, name: str, link: str, *, within: float = 10.0, step: float = 0.0
    ) -> dict[str, Any]:
        """Poll the API until the target's link is ``link``; return the answer."""
        answer: dict[str, Any] = {}
        try:
            async with asyncio.timeout(within):
                while True:
                    answer = await self.target(name)
                    if answer["link"] == link:
                        return answer
                    if step:
                        self.clock.advance(step)
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(f"link not {link} within {within}s: {answer}")


def up(name: str = "lab") -> Callable[[Scrape], bool]:
    """A predicate: the target's stream is up and its first status arrived."""
    return lambda s: (
        s.value("ic_snp_up", target=name) == 1.0
        and s.value("ic_snp_ptp_status", target=name) is not None
    )


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, clock: FakeClock | None = None
) -> AsyncIterator[SnpHub]:
    """Serve a hub with an empty SQLite store and the SNP plugin."""
    clock = clock or FakeClock()
    store = await TargetStore.open(
        str(tmp_path / "store.db"), key_file=tmp_path / "key"
    )

    async def load() -> list[Any]:
        return []

    try:
        state = build_hub({PLUGIN.kind: PLUGIN}, load, clock=clock, store=store)
        state.render_interval = 0  # render in the scrape: what a scrape sees is current
        async with (
            running_server(create_app(state)) as url,
            httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as client,
        ):
            yield SnpHub(state, store, clock, client)
    finally:
        await store.close()
