"""A served hub with a real target store, for the control plane's tests over HTTP.

``serving`` builds the hub exactly as ``exporterhub serve`` does (``build_hub`` with
a store, ``create_app``) and serves it on 127.0.0.1 with ``running_server``; the
exporter is the stored demo kind, the clock a ``FakeClock`` the test moves. ``tick``
moves that clock and waits until every loop it woke (store poll, status writer)
has finished its round and sleeps again: a bounded wait on a real condition.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import bcrypt
import httpx
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.app import HubState, create_app
from exporterhub.core.control import ControlPlane
from exporterhub.core.plugin import Target
from exporterhub.core.shard import Shard
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import FakeClock, running_server, wait_until
from exporterhub.core.webconfig import BasicAuthCheck
from exporterhub.hub import build_hub

from .helpers import StoredDemoPlugin

USER = "admin"
PASSWORD = "correct horse"


@dataclass
class Plane:
    """A served hub: its state, the demo plugin, the clock and an HTTP client."""

    state: HubState
    plugin: StoredDemoPlugin
    clock: FakeClock
    client: httpx.AsyncClient
    files: list[Target] = field(default_factory=list)

    @property
    def control(self) -> ControlPlane:
        return self.state.plane

    async def values(self, path: str = "/metrics") -> dict[str, float]:
        """Scrape ``path``; return ``demo_value`` by target name."""
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return {
            sample.labels["target"]: sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name == "demo_value"
        }

    async def create(self, name: str, **body: Any) -> dict[str, Any]:
        """POST a demo target; fail unless the answer is 201."""
        response = await self.client.post(
            "/api/targets", json={"kind": "demo", "name": name, **body}
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer


def basic_auth() -> BasicAuthCheck:
    """Return the check ``--web.config.file`` builds for USER/PASSWORD."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    return BasicAuthCheck({USER: hashed})


@contextlib.asynccontextmanager
async def serving(
    store: TargetStore | None,
    plugin: StoredDemoPlugin,
    clock: FakeClock,
    *,
    files: Sequence[Target] = (),
    poll_interval: float = 10.0,
    auth: BasicAuthCheck | None = None,
    external_address: str | None = None,
    shard: Shard | None = None,
) -> AsyncIterator[Plane]:
    """Serve a hub whose targets are ``files`` plus the store's; yield its Plane."""
    wanted = list(files)

    async def load() -> Sequence[Target]:
        return list(wanted)

    state = build_hub(
        {"demo": plugin},
        load,
        clock=clock,
        store=store,
        poll_interval=poll_interval,
        shard=shard,
    )
    state.render_interval = 0  # render in the scrape: what a scrape sees is current
    state.auth = auth
    state.external_address = external_address
    credentials = (USER, PASSWORD) if auth is not None else None
    async with (
        running_server(create_app(state)) as url,
        httpx.AsyncClient(
            base_url=url, trust_env=False, timeout=30, auth=credentials
        ) as client,
    ):
        yield Plane(state, plugin, clock, client, wanted)


async def tick(clock: FakeClock, seconds: float) -> None:
    """Advance ``clock``; return once every loop it woke sleeps on it again."""
    before = clock.sleeping
    calls = len(clock.sleeps)
    clock.advance(seconds)
    woken = before - clock.sleeping
    await wait_until(
        lambda: len(clock.sleeps) >= calls + woken and clock.sleeping >= before
    )
