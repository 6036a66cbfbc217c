"""A whole hub (every exporter, a real target store) served from a thread of its own.

Playwright's sync API cannot run inside an asyncio loop, so the hub runs on its own
loop in a thread, exactly as ``exporterhub serve`` runs it: ``build_hub`` with a
``TargetStore`` on a SQLite file, the real app on 127.0.0.1, and a PHD2 simulator
on loopback for targets to point at. The test thread talks to it over HTTP (and a
browser), and may run a function on the hub's loop with ``call``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import bcrypt

from exporterhub.core.app import HubState, create_app
from exporterhub.core.plugin import Target
from exporterhub.core.store import TargetStore, store_url
from exporterhub.core.testing import running_server
from exporterhub.core.webconfig import BasicAuthCheck
from exporterhub.exporters import load_plugins
from exporterhub.hub import build_hub
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

T = TypeVar("T")


class ServedHub:
    """The hub, its store and a PHD2 simulator, served until ``__exit__``.

    Args:
        directory: where the store's SQLite file and key go; None = no store
            (the UI is read-only).
        exposed: pretend the listener accepts changes from other machines.
        file_targets: builds the targets "from the configuration file", given
            the simulator's port.
        users: basic-auth users and their passwords (as a web config would).
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        exposed: bool = False,
        file_targets: Callable[[int], Sequence[Target]] | None = None,
        title: str = "exporterhub test",
        users: dict[str, str] | None = None,
    ) -> None:
        self._directory = directory
        self._exposed = exposed
        self._file_targets = file_targets
        self._title = title
        self._users = users
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.url = ""
        self.phd2_port = 0
        self.state: HubState | None = None
        self._thread = threading.Thread(target=self._main, name="served-hub")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # Ten times real time: guiding (and so the RMS chart) starts within seconds.
        simulator = Phd2Simulator(Phd2SimConfig(port=0, speed=10.0, seed=7))
        await simulator.start()
        self.phd2_port = simulator.port
        targets = list(self._file_targets(simulator.port)) if self._file_targets else []

        async def load() -> Sequence[Target]:
            return targets

        store = None
        if self._directory is not None:
            store = await TargetStore.open(
                store_url(str(self._directory / "targets.db")),
                key_file=self._directory / "targets.key",
            )
        try:
            state = build_hub(load_plugins(), load, title=self._title, store=store)
            state.exposed = self._exposed
            if self._users:
                state.auth = BasicAuthCheck(
                    {
                        user: bcrypt.hashpw(
                            password.encode(), bcrypt.gensalt(rounds=4)
                        ).decode()
                        for user, password in self._users.items()
                    }
                )
            self.state = state
            async with running_server(create_app(state)) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()
        finally:
            if store is not None:
                await store.close()
            await simulator.stop()

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine function on the hub's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(30)

    def __enter__(self) -> ServedHub:
        self._thread.start()
        assert self._ready.wait(60), "the hub did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive()
        if self._error is not None:
            raise self._error


def running_settings(hub: ServedHub, kind: str, name: str) -> Any:
    """Return the validated settings a running target was started with, or None."""

    async def read() -> Any:
        assert hub.state is not None
        for target in hub.state.runner.targets:
            if (target.kind, target.name) == (kind, name):
                return target.settings
        return None

    return hub.call(read)
