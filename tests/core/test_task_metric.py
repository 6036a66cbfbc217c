"""``exporterhub_asyncio_tasks``: the loop's task count on /metrics (soak probe)."""

from __future__ import annotations

import asyncio
import threading

from prometheus_client import CollectorRegistry, generate_latest

from exporterhub.core.metrics import TASKS_METRIC, asyncio_tasks
from exporterhub.hub import build_hub


def _count(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value(TASKS_METRIC)


class TestTaskCount:
    async def test_counts_the_running_loops_tasks(self):
        """The value is len(asyncio.all_tasks()) when scraped, and follows it."""
        registry = CollectorRegistry()
        asyncio_tasks(registry)
        before = _count(registry)
        assert before == len(asyncio.all_tasks())
        gate = asyncio.Event()
        extra = [asyncio.create_task(gate.wait()) for _ in range(3)]
        assert _count(registry) == before + 3
        gate.set()
        await asyncio.gather(*extra)
        assert _count(registry) == before

    def test_omitted_without_a_running_loop(self):
        """Collected from a thread with no loop: no sample, never a made-up 0."""
        registry = CollectorRegistry()
        asyncio_tasks(registry)
        found: list[bytes] = []
        thread = threading.Thread(
            target=lambda: found.append(generate_latest(registry))
        )
        thread.start()
        thread.join()
        assert _count(registry) is None
        assert f"{TASKS_METRIC} ".encode() not in found[0]

    async def test_the_hub_registers_it(self):
        """build_hub's self-metrics include the task count."""

        async def load():
            return []

        state = build_hub({}, load)
        assert _count(state.exposition.registry) == len(asyncio.all_tasks())
