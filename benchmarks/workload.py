"""The 10,000-series workload shared by the scrape benchmark and its servers.

A plugin of 100 targets; each target's snapshot is 100 floats rendered as 10
families x 10 ``channel`` series, with the identity labels ``host`` and ``inst``
(3 labels, ~90 bytes a line). The core adds its 7 health series per target. Workers
publish new values on every whole second of the wall clock, as real workers do, so
the exposition cache is invalidated once a second.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from exporterhub.core.clock import Clock, SystemClock
from exporterhub.core.kinds import StoredKind
from exporterhub.core.metrics import Kind, MetricSpec, Sample
from exporterhub.core.plugin import Target, TargetPublisher

KIND = "bench"
N_TARGETS = 100
FAMILIES = (
    "temperature_celsius",
    "humidity_ratio",
    "pressure_pascals",
    "supply_voltage_volts",
    "current_amperes",
    "power_watts",
    "fan_speed_rpm",
    "frequency_hertz",
    "position_degrees",
    "signal_strength_dbm",
)
CHANNELS = tuple(f"ch-{j:02d}" for j in range(10))


def _family(k: int) -> Any:
    def value_fn(values: tuple[float, ...]) -> Iterable[Sample]:
        base = k * 10
        return (((ch,), values[base + j]) for j, ch in enumerate(CHANNELS))

    return value_fn


SPECS: list[MetricSpec[tuple[float, ...]]] = [
    MetricSpec(
        name=f"bench_sensor_{name}",
        help=f"Synthetic {name.replace('_', ' ')} reading of one channel.",
        kind=Kind.GAUGE,
        labels=("channel",),
        value_fn=_family(k),
    )
    for k, name in enumerate(FAMILIES)
]


PERIOD = 8
"""Ticks after which a target's values repeat: every value still changes each tick."""


@functools.cache
def _values(index: int, phase: int) -> tuple[float, ...]:
    return tuple(
        round(((index * 37 + n * 11 + phase * 7) % 100_000) / 8.0 + n * 0.001, 3)
        for n in range(100)
    )


def values(index: int, tick: int) -> tuple[float, ...]:
    """Return target ``index``'s 100 values at ``tick`` (short decimals, all vary).

    Precomputed per phase, so the synthetic device costs the servers nothing: what
    is measured is publishing, rendering and serving, not making up numbers.
    """
    return _values(index, tick % PERIOD)


def identity(index: int) -> tuple[tuple[str, str], ...]:
    return (("host", f"observatory-{index:03d}"), ("inst", "1"))


class BenchSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = ""
    index: int


def targets() -> list[Target]:
    return [
        Target(kind=KIND, name=f"t{i:03d}", settings=BenchSettings(index=i))
        for i in range(N_TARGETS)
    ]


def to_target(settings: BenchSettings) -> Target:
    return Target(kind=KIND, name=settings.name, settings=settings)


STORED = StoredKind(
    kind=KIND,
    title="Bench device",
    model=BenchSettings,
    to_target=to_target,
    key_metrics=("bench_sensor_temperature_celsius",),
)


class BenchPlugin:
    """An exporter whose workers publish new values on every whole second.

    With ``changing=False`` each worker publishes once and then only waits: the
    same app with a body that never needs re-rendering (a diagnostic variant).
    """

    kind = KIND
    prefix = KIND
    specs: Sequence[MetricSpec[Any]] = SPECS
    stored = STORED

    def __init__(self, changing: bool = True, families: int = len(SPECS)) -> None:
        self.changing = changing
        self.specs = SPECS[:families]
        self.starts: dict[str, int] = {}
        """Worker starts per target (the control-plane benchmark counts restarts)."""

    def targets_from_config(self, data: Mapping[str, Any], source: str) -> list[Target]:
        return targets()

    def initial_identity(self, target: Target) -> tuple[tuple[str, str], ...]:
        return identity(_index(target))

    def max_age(self, target: Target) -> float:
        # A never-changing variant must not go stale during the run.
        return 60.0 if self.changing else 1e9

    async def run(
        self, target: Target, publisher: TargetPublisher[Any], clock: Clock
    ) -> None:
        index = _index(target)
        self.starts[target.name] = self.starts.get(target.name, 0) + 1
        if not self.changing:
            publisher.data(values(index, 0))
            await asyncio.Event().wait()
        while True:
            now = clock.time()
            publisher.data(values(index, int(now)))
            await clock.sleep(math.floor(now) + 1.0 - now)


def _index(target: Target) -> int:
    settings = target.settings
    assert isinstance(settings, BenchSettings)
    return settings.index


async def _load() -> Sequence[Target]:
    return targets()


def build_state(
    clock: Clock | None = None,
    *,
    changing: bool = True,
    store: Any = None,
    families: int = len(SPECS),
    empty: bool = False,
) -> Any:
    """Return a ``HubState`` wired by the real ``build_hub`` for the bench plugin.

    With a ``store`` the targets come from it (the control-plane benchmark);
    without one, the 100 targets come from the "file". ``families`` cuts each
    target's series to that many families of 10. ``empty``: no target at all (the
    base of the memory-per-series figure).
    """
    from exporterhub.hub import build_hub

    plugin = BenchPlugin(changing, families)

    async def no_files() -> Sequence[Target]:
        return []

    load = _load if store is None and not empty else no_files
    return build_hub({KIND: plugin}, load, title="bench", clock=clock, store=store)


def static_publishers(state: Any) -> list[TargetPublisher[Any]]:
    """Publishers for every target without running workers (render benchmarks)."""
    section = state.exposition.section(KIND)
    clock = SystemClock()
    return [
        TargetPublisher(section, f"t{i:03d}", identity(i), max_age=60.0, clock=clock)
        for i in range(N_TARGETS)
    ]


def publish_all(publishers: list[TargetPublisher[Any]], tick: int) -> None:
    for index, publisher in enumerate(publishers):
        publisher.data(values(index, tick))
