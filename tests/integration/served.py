"""A real exporter app served on 127.0.0.1 from a thread of its own.

For clients that block (schemathesis' HTTP client, a browser driver): the app runs
on its own event loop with ``running_server``, exactly as in the other integration
tests, and the test thread talks to it over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence

from exporterhub.core.app import create_app
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.testing import running_server
from exporterhub.hub import build_hub


class ServedExporter:
    """An exporter app with ``plugins`` and ``targets``, served until ``__exit__``."""

    def __init__(
        self,
        plugins: Mapping[str, ExporterPlugin],
        targets: Sequence[Target],
        title: str = "exporter",
    ) -> None:
        self._plugins = dict(plugins)
        self._targets = list(targets)
        self._title = title
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.url = ""
        self._thread = threading.Thread(target=self._main, name=f"served-{title}")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        targets = self._targets

        async def load() -> list[Target]:
            return targets

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        state = build_hub(self._plugins, load, title=self._title)
        async with running_server(create_app(state)) as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServedExporter:
        self._thread.start()
        assert self._ready.wait(30), "the exporter did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive()
