"""Test peers and loop helpers shared by the core tests.

``DemoPlugin`` is a test peer implementing the ``ExporterPlugin`` protocol: its worker
publishes through the real ``TargetPublisher`` and then waits until cancelled.
``StoredDemoPlugin`` is the same exporter with a ``StoredKind``, so the control plane
can store, validate and run demo targets without real devices. Nothing here replaces
project code; the helpers only yield to the event loop, never sleep.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from exporterhub.core.clock import Clock
from exporterhub.core.config import validate_model
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.core.plugin import Target, TargetOffers, TargetPublisher
from exporterhub.core.snapshot import LinkState
from exporterhub.core.testing import FakeClock

HIDDEN = "hunter2-never-shown"
"""A settings value the API and logs must never reveal."""


class DemoSettings(BaseModel):
    """One demo target's settings, frozen like every exporter's target settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    host: str = "127.0.0.1"
    port: int = Field(default=1, ge=1, le=65535)
    value: float = 1.0
    password: str = HIDDEN
    crash: bool = False
    max_age: float = 60.0


class DemoSection(BaseModel):
    """The ``exporters.demo`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: list[DemoSettings] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DemoSnapshot:
    """The demo exporter's snapshot."""

    value: float


def _value(snapshot: DemoSnapshot) -> Iterable[Sample]:
    return one(snapshot.value)


DEMO_SPECS: list[MetricSpec[Any]] = [
    MetricSpec(
        name="demo_value",
        help="The value configured for the target.",
        kind=Kind.GAUGE,
        value_fn=_value,
    ),
]


def demo_target(name: str, **settings: Any) -> Target:
    """Return a demo ``Target`` with the given settings."""
    return Target(kind="demo", name=name, settings=DemoSettings(name=name, **settings))


class DemoPlugin:
    """A tiny exporter: publishes its configured value once, then waits."""

    kind: str = "demo"
    prefix: str = "demo"
    specs: Sequence[MetricSpec[Any]] = DEMO_SPECS
    identity_labels: tuple[str, ...] = ("target",)

    def __init__(self) -> None:
        self.tasks: dict[str, list[asyncio.Task[Any]]] = {}
        self.finished: list[str] = []

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        section = validate_model(
            DemoSection, data, source=source, prefix="exporters.demo."
        )
        return [
            Target(kind=self.kind, name=t.name, settings=t) for t in section.targets
        ]

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        return (("target", target.name),)

    def max_age(self, target: Target) -> float:
        settings = target.settings
        assert isinstance(settings, DemoSettings)
        return settings.max_age

    def started(self, name: str) -> int:
        """Return how many workers were started for ``name``."""
        return len(self.tasks.get(name, []))

    def current(self, name: str) -> asyncio.Task[Any]:
        """Return the task of the latest worker of ``name``."""
        return self.tasks[name][-1]

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        settings = target.settings
        assert isinstance(settings, DemoSettings)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.setdefault(target.name, []).append(task)
        try:
            publisher.link(LinkState.CONNECTED)
            publisher.data(DemoSnapshot(settings.value))
            if settings.crash:
                raise RuntimeError("the demo worker crashed on purpose")
            await asyncio.Event().wait()  # until cancelled
        finally:
            self.finished.append(target.name)


class DemoAccount(BaseModel):
    """One account of a stored demo target: a secret inside a list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    password: SecretStr = SecretStr("")


class DemoExtra(BaseModel):
    """A nested section of a stored demo target (dotted paths in errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(default=10, ge=1, le=1000)
    token: SecretStr = SecretStr("")
    accounts: tuple[DemoAccount, ...] = ()


VALIDATIONS: collections.Counter[str] = collections.Counter()
"""How many stored demo settings were validated, by target name."""


class StoredDemoSettings(DemoSettings):
    """A stored demo target's settings: the password is a real secret here."""

    password: SecretStr = SecretStr("")  # type: ignore[assignment]
    extra: DemoExtra = DemoExtra()

    @model_validator(mode="after")
    def _unlucky(self) -> StoredDemoSettings:
        """A rule over the whole model, as real kinds have (no field of its own)."""
        VALIDATIONS[self.name] += 1
        if self.value == 13:
            raise ValueError("13 is not a value this demo takes")
        return self


class StoredDemoSection(BaseModel):
    """The ``exporters.demo`` section when the demo kind can be stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: list[StoredDemoSettings] = Field(default_factory=list)


def stored_demo_target(name: str, **settings: Any) -> Target:
    """Return a demo ``Target`` as the stored kind validates it (a file target)."""
    return Target(
        kind="demo", name=name, settings=StoredDemoSettings(name=name, **settings)
    )


DEMO_KIND = StoredKind(
    kind="demo",
    title="Demo device",
    model=StoredDemoSettings,
    to_target=lambda s: Target(kind="demo", name=s.name, settings=s),
    key_metrics=("demo_value",),
    summary="A test peer that publishes its configured value.",
)


class StoredDemoPlugin(DemoPlugin):
    """The demo exporter the control plane can store.

    ``publishers`` keeps each target's latest publisher so a test can publish
    frames and link changes as a real worker would; while ``gate`` is set and not
    yet open, workers wait before reporting anything (a device not answered yet).
    """

    stored = DEMO_KIND

    def __init__(self) -> None:
        super().__init__()
        self.publishers: dict[str, TargetPublisher[Any]] = {}
        self.gate: asyncio.Event | None = None

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        section = validate_model(
            StoredDemoSection, data, source=source, prefix="exporters.demo."
        )
        return [
            Target(kind=self.kind, name=t.name, settings=t) for t in section.targets
        ]

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        self.publishers[target.name] = publisher
        if self.gate is not None:
            await self.gate.wait()
        await super().run(target, publisher, clock)


class FinderSettings(BaseModel):
    """A demo discovery source: the target names it "finds"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    found: tuple[str, ...] = ()
    crash: bool = False
    note: str = ""


def finder(
    name: str = "finder", *found: str, crash: bool = False, note: str = ""
) -> Target:
    """Return a demo discovery source that offers ``found`` demo targets."""
    settings = FinderSettings(found=found, crash=crash, note=note)
    return Target(kind="demo", name=name, settings=settings, discovers=True)


class DiscoveringDemoPlugin(DemoPlugin):
    """The demo exporter with discovery: offers its source's names, then waits.

    ``offers`` keeps each source's handle so a test can offer more, as a real
    discovery round would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.offers: dict[str, TargetOffers] = {}
        self.rounds: dict[str, int] = {}

    async def discover(
        self, target: Target, offers: TargetOffers, clock: Clock
    ) -> None:
        settings = target.settings
        assert isinstance(settings, FinderSettings)
        self.offers[target.name] = offers
        self.rounds[target.name] = self.rounds.get(target.name, 0) + 1
        if settings.crash:
            raise RuntimeError("the demo discovery crashed on purpose")
        await offers.offer([demo_target(name) for name in settings.found])
        await asyncio.Event().wait()  # until cancelled


class StoredDiscoveringDemoPlugin(StoredDemoPlugin):
    """The storable demo exporter with discovery: offers its source's names."""

    async def discover(
        self, target: Target, offers: TargetOffers, clock: Clock
    ) -> None:
        settings = target.settings
        assert isinstance(settings, FinderSettings)
        await offers.offer([stored_demo_target(name) for name in settings.found])
        await asyncio.Event().wait()  # until cancelled


async def settle(condition: Callable[[], bool], *, rounds: int = 1000) -> None:
    """Yield to the event loop (no timed sleep) until ``condition()`` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail(f"condition not met after {rounds} event-loop rounds")


async def until_sleeping(clock: FakeClock, count: int = 1) -> None:
    """Yield to the loop until ``count`` coroutines wait on the fake clock."""
    await settle(lambda: clock.sleeping >= count)


@contextlib.asynccontextmanager
async def running(
    factory: Callable[[], Awaitable[None]],
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``factory()`` as a task; on exit cancel it and check that it propagates."""
    task: asyncio.Task[None] = asyncio.ensure_future(factory())
    try:
        yield task
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
