"""Tests of the target runner with the demo test plugin."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Exposition
from exporterhub.core.metrics import Kind, MetricSpec
from exporterhub.core.plugin import Target
from exporterhub.core.targets import ApplyResult, TargetRunner

from .helpers import (
    DemoPlugin,
    DemoSnapshot,
    DiscoveringDemoPlugin,
    demo_target,
    finder,
    settle,
)


class OtherPlugin(DemoPlugin):
    """A second exporter kind with its own metric names."""

    kind = "other"
    prefix = "other"
    specs: Sequence[MetricSpec[Any]] = (
        MetricSpec(
            name="other_value",
            help="The other value.",
            kind=Kind.GAUGE,
            value_fn=lambda s: [((), s.value)],
        ),
    )


@pytest.fixture
def exposition(clock) -> Exposition:
    return Exposition(clock, CollectorRegistry())


@pytest.fixture
async def runner(plugin, exposition, clock):
    runner = TargetRunner({"demo": plugin}, exposition, clock)
    yield runner
    await runner.stop_all()


def body(exposition: Exposition) -> str:
    return exposition.body().decode()


async def started(plugin: DemoPlugin, *names: str) -> None:
    """Wait until every named worker has published its first data."""
    await settle(lambda: all(plugin.started(n) for n in names))


class TestApply:
    """apply() makes the running set equal to the wanted one, surgically."""

    async def test_starts_new_targets(self, runner, plugin, exposition):
        """New targets start a worker each and their series appear."""
        result = await runner.apply([demo_target("a"), demo_target("b", value=2.0)])
        assert result == ApplyResult(started=["demo/a", "demo/b"])
        await started(plugin, "a", "b")
        text = body(exposition)
        assert 'demo_value{target="a"} 1.0\n' in text
        assert 'demo_value{target="b"} 2.0\n' in text
        assert [t.name for t in runner.targets] == ["a", "b"]

    async def test_registers_a_section_per_plugin(self, plugin, exposition, clock):
        """Constructing the runner adds each plugin's section to the exposition."""
        TargetRunner({"demo": plugin, "other": OtherPlugin()}, exposition, clock)
        assert [s.kind for s in exposition.sections()] == ["demo", "other"]
        assert exposition.section("other").prefix == "other"

    async def test_unchanged_target_keeps_its_task(self, runner, plugin):
        """Applying an equal target again leaves its worker task alone."""
        await runner.apply([demo_target("a")])
        await started(plugin, "a")
        task = plugin.current("a")
        result = await runner.apply([demo_target("a")])
        assert result == ApplyResult(unchanged=["demo/a"])
        await asyncio.sleep(0)
        assert plugin.started("a") == 1
        assert plugin.current("a") is task
        assert not task.done()

    async def test_changed_target_restarts(self, runner, plugin, exposition):
        """A target whose settings differ restarts: the old worker is cancelled."""
        await runner.apply([demo_target("a", value=1.0)])
        await started(plugin, "a")
        old = plugin.current("a")
        result = await runner.apply([demo_target("a", value=5.0)])
        assert result == ApplyResult(restarted=["demo/a"])
        assert old.cancelled()
        await settle(lambda: plugin.started("a") == 2)
        assert plugin.current("a") is not old
        assert 'demo_value{target="a"} 5.0\n' in body(exposition)
        assert 'demo_value{target="a"} 1.0\n' not in body(exposition)

    async def test_removed_target_stops_and_withdraws(self, runner, plugin, exposition):
        """A target no longer wanted is cancelled and its series vanish."""
        await runner.apply([demo_target("a"), demo_target("b")])
        await started(plugin, "a", "b")
        assert 'target="b"' in body(exposition)
        old = plugin.current("b")
        result = await runner.apply([demo_target("a")])
        assert result == ApplyResult(stopped=["demo/b"], unchanged=["demo/a"])
        assert old.cancelled()
        assert "b" in plugin.finished
        assert 'target="b"' not in body(exposition)
        assert 'target="a"' in body(exposition)
        assert runner.publisher("demo", "b") is None

    async def test_mixed_change(self, runner, plugin):
        """One apply can start, stop, restart and keep targets at once."""
        await runner.apply([demo_target("keep"), demo_target("mod"), demo_target("rm")])
        await started(plugin, "keep", "mod", "rm")
        result = await runner.apply(
            [demo_target("keep"), demo_target("mod", port=2), demo_target("new")]
        )
        assert result == ApplyResult(
            started=["demo/new"],
            stopped=["demo/rm"],
            restarted=["demo/mod"],
            unchanged=["demo/keep"],
        )
        assert sorted(t.name for t in runner.targets) == ["keep", "mod", "new"]

    async def test_empty_apply_stops_everything(self, runner, plugin, exposition):
        """Applying no targets stops every worker."""
        await runner.apply([demo_target("a")])
        await started(plugin, "a")
        result = await runner.apply([])
        assert result == ApplyResult(stopped=["demo/a"])
        assert runner.targets == []
        assert "demo_value" not in body(exposition)

    async def test_same_name_in_two_kinds(self, plugin, exposition, clock):
        """Names are unique per kind: 'x' may exist for two exporters."""
        other = OtherPlugin()
        runner = TargetRunner({"demo": plugin, "other": other}, exposition, clock)
        try:
            a = demo_target("x")
            b = Target(kind="other", name="x", settings=a.settings)
            result = await runner.apply([a, b])
            assert result.started == ["demo/x", "other/x"]
            await settle(lambda: bool(plugin.started("x") and other.started("x")))
            assert 'other_value{target="x"} 1.0\n' in body(exposition)
        finally:
            await runner.stop_all()


class TestRejected:
    """Invalid target sets are refused before anything changes."""

    async def test_duplicate_names(self, runner, plugin):
        """Two targets of one kind with one name raise ConfigError; nothing changes."""
        await runner.apply([demo_target("a")])
        await started(plugin, "a")
        task = plugin.current("a")
        with pytest.raises(ConfigError, match="duplicate target name demo/b"):
            await runner.apply([demo_target("b"), demo_target("b", value=3.0)])
        assert [t.name for t in runner.targets] == ["a"]
        assert not task.done()
        assert plugin.started("b") == 0

    async def test_unknown_kind(self, runner, plugin):
        """A target of an unknown kind raises ConfigError; running targets stay."""
        await runner.apply([demo_target("a")])
        await started(plugin, "a")
        stranger = Target(kind="nope", name="z", settings=demo_target("z").settings)
        with pytest.raises(ConfigError, match="unknown exporter kind 'nope'"):
            await runner.apply([stranger])
        assert [t.name for t in runner.targets] == ["a"]
        assert not plugin.current("a").done()


class TestCrashes:
    """A crashing worker never takes the process down."""

    async def test_crash_marks_target_unhealthy(
        self, runner, plugin, exposition, clock
    ):
        """After a crash the target is down and logged, others run, it restarts."""
        with capture_logs() as logs:
            await runner.apply([demo_target("ok"), demo_target("bad", crash=True)])
            await started(plugin, "ok", "bad")
            crashed = plugin.current("bad")
            await settle(lambda: "bad" in plugin.finished and clock.sleeping > 0)
        assert not crashed.done()  # the guard swallowed the crash and waits
        publisher = runner.publisher("demo", "bad")
        assert publisher is not None
        assert publisher.record.healthy is False
        assert publisher.record.data == DemoSnapshot(1.0)
        text = body(exposition)
        assert 'demo_up{target="bad"} 0.0\n' in text
        assert 'demo_up{target="ok"} 1.0\n' in text
        assert not plugin.current("ok").done()
        events = [e for e in logs if e["event"] == "worker_crashed"]
        assert [(e["kind"], e["target"]) for e in events] == [("demo", "bad")]
        assert plugin.started("bad") == 1
        clock.advance(1.5)  # past the first restart pause (1 s +/- 10 %)
        await settle(lambda: plugin.started("bad") == 2)
        assert plugin.started("ok") == 1

    async def test_crashed_target_can_be_removed(self, runner, plugin, exposition):
        """Stopping a crashed worker withdraws its series without error."""
        await runner.apply([demo_target("bad", crash=True)])
        await settle(lambda: "bad" in plugin.finished)
        result = await runner.apply([])
        assert result.stopped == ["demo/bad"]
        assert 'target="bad"' not in body(exposition)


class TestStopAll:
    """stop_all cancels every worker and withdraws every series."""

    async def test_stop_all(self, runner, plugin, exposition):
        """After stop_all no task runs and no target series remain."""
        await runner.apply([demo_target("a"), demo_target("b")])
        await started(plugin, "a", "b")
        tasks = [plugin.current("a"), plugin.current("b")]
        await runner.stop_all()
        assert all(t.cancelled() for t in tasks)
        assert runner.targets == []
        assert exposition.section("demo").records() == []
        assert "demo_" not in body(exposition)
        assert sorted(plugin.finished) == ["a", "b"]

    async def test_stop_all_when_empty(self, runner):
        """stop_all with nothing running is a no-op."""
        await runner.stop_all()
        assert runner.targets == []

    async def test_publisher_lookup(self, runner, plugin):
        """publisher() finds running targets only."""
        await runner.apply([demo_target("a")])
        assert runner.publisher("demo", "a") is not None
        assert runner.publisher("demo", "zz") is None
        assert runner.publisher("other", "a") is None


class TestConcurrentApply:
    """Two applies at once (two POST /-/reload) must not leak workers."""

    async def test_concurrent_restarts_leave_one_worker(self, runner, plugin):
        """After two overlapping applies exactly one worker per target is alive."""
        await runner.apply([demo_target("a", value=1.0)])
        await started(plugin, "a")
        try:
            await asyncio.gather(
                runner.apply([demo_target("a", value=2.0)]),
                runner.apply([demo_target("a", value=2.0)]),
            )
            await settle(lambda: plugin.started("a") >= 2)
            await runner.stop_all()
            alive = [t for t in plugin.tasks["a"] if not t.done()]
            assert alive == []
        finally:
            for task in plugin.tasks["a"]:
                task.cancel()
            await asyncio.gather(*plugin.tasks["a"], return_exceptions=True)


@pytest.fixture
async def finders(exposition, clock):
    """A runner whose demo exporter can discover."""
    plugin = DiscoveringDemoPlugin()
    runner = TargetRunner({"demo": plugin}, exposition, clock)
    yield runner, plugin
    await runner.stop_all()


def names(runner: TargetRunner) -> list[str]:
    return sorted(t.name for t in runner.targets)


class TestDiscoverySources:
    """Targets marked ``discovers`` find further targets and offer them."""

    async def test_offered_targets_run(self, finders, exposition):
        """A source's offer starts its targets; the source itself has no series."""
        runner, plugin = finders
        await runner.apply([demo_target("conf"), finder("finder", "x", "y")])
        await settle(lambda: names(runner) == ["conf", "x", "y"])
        await started(plugin, "conf", "x", "y")
        assert [s.name for s in runner.sources] == ["finder"]
        text = body(exposition)
        assert 'demo_value{target="x"} 1.0\n' in text
        assert 'target="finder"' not in text

    async def test_new_offer_changes_only_the_difference(self, finders):
        """A later offer starts new targets, stops gone ones, keeps the rest."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x", "y")])
        await settle(lambda: "finder" in plugin.offers and names(runner) == ["x", "y"])
        await started(plugin, "x", "y")
        kept = plugin.current("x")
        await plugin.offers["finder"].offer(
            [demo_target("x"), demo_target("z", value=3.0)]
        )
        assert names(runner) == ["x", "z"]
        assert plugin.current("x") is kept
        await settle(lambda: "y" in plugin.finished)

    async def test_offer_replaces_configured_target_of_same_name(self, finders):
        """A device found at a new address replaces its configured target."""
        runner, plugin = finders
        await runner.apply([demo_target("plug", port=1), finder("finder")])
        await settle(lambda: "finder" in plugin.offers)
        offers = plugin.offers["finder"]
        await offers.offer([demo_target("plug", port=2)])
        [running] = runner.targets
        assert running.settings.port == 2  # type: ignore[attr-defined]
        await offers.offer([])
        [running] = runner.targets
        assert running.settings.port == 1  # type: ignore[attr-defined]

    async def test_configured_lists_configured_targets_with_records(self, finders):
        """configured() shows the configured targets, not the discovered ones."""
        runner, plugin = finders
        await runner.apply([demo_target("conf", value=7.0), finder("finder", "x")])
        await started(plugin, "conf", "x")
        seen = plugin.offers["finder"].configured()
        assert [(t.name, r.data) for t, r in seen] == [("conf", DemoSnapshot(7.0))]

    async def test_offered_lists_the_sources_running_targets(self, finders):
        """offered() shows what the source found, with records; not the configured."""
        runner, plugin = finders
        await runner.apply([demo_target("conf"), finder("finder", "x")])
        await started(plugin, "conf", "x")
        seen = plugin.offers["finder"].offered()
        assert [(t.name, r.data) for t, r in seen] == [("x", DemoSnapshot(1.0))]

    async def test_removing_the_source_stops_its_targets(self, finders, exposition):
        """When a source leaves the configuration its targets go with it."""
        runner, plugin = finders
        await runner.apply([demo_target("conf"), finder("finder", "x")])
        await settle(lambda: names(runner) == ["conf", "x"])
        offers = plugin.offers["finder"]
        await runner.apply([demo_target("conf")])
        assert names(runner) == ["conf"]
        assert runner.sources == []
        assert 'target="x"' not in body(exposition)
        await offers.offer([demo_target("late")])  # a stopped source is not heard
        assert names(runner) == ["conf"]

    async def test_changed_source_restarts_and_offers_again(self, finders):
        """New source settings restart it; its old offer is dropped."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x")])
        await settle(lambda: names(runner) == ["x"])
        await runner.apply([finder("finder", "y")])
        await settle(lambda: names(runner) == ["y"])
        assert plugin.rounds["finder"] == 2

    async def test_restarted_source_keeps_its_targets_until_it_offers(self, finders):
        """A changed source setting does not blank what the source had found."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x")])
        await started(plugin, "x")
        worker = plugin.current("x")
        result = await runner.apply([finder("finder", "x", note="new interval")])
        assert result.unchanged == ["demo/x"]  # kept while the new source starts
        await settle(lambda: plugin.rounds["finder"] == 2)
        assert names(runner) == ["x"]
        assert plugin.current("x") is worker  # its offer matched: never restarted

    async def test_replaced_source_is_not_heard(self, finders):
        """An offer from a source that was replaced changes nothing."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x")])
        await settle(lambda: names(runner) == ["x"])
        stale = plugin.offers["finder"]
        await runner.apply([finder("finder", "y")])
        await settle(lambda: plugin.rounds["finder"] == 2 and names(runner) == ["y"])
        await stale.offer([demo_target("stale")])
        assert names(runner) == ["y"]

    async def test_unchanged_source_keeps_running(self, finders):
        """Re-applying the same source leaves it and its targets alone."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x")])
        await settle(lambda: names(runner) == ["x"])
        result = await runner.apply([finder("finder", "x")])
        assert result.unchanged == ["demo/x"]
        assert plugin.rounds["finder"] == 1

    async def test_a_source_may_share_a_targets_name(self, finders):
        """Sources and targets are named apart: both run."""
        runner, _ = finders
        await runner.apply([demo_target("finder"), finder("finder", "x")])
        await settle(lambda: names(runner) == ["finder", "x"])
        assert [s.name for s in runner.sources] == ["finder"]

    async def test_improper_offers_are_ignored(self, finders):
        """Other kinds, sources and repeated names are logged and skipped."""
        runner, plugin = finders
        await runner.apply([finder("finder")])
        await settle(lambda: "finder" in plugin.offers)
        stranger = Target(kind="other", name="o", settings=demo_target("o").settings)
        with capture_logs() as logs:
            await plugin.offers["finder"].offer(
                [stranger, finder("nested"), demo_target("x"), demo_target("x")]
            )
        assert names(runner) == ["x"]
        ignored = [
            e["target"] for e in logs if e["event"] == "discovered_target_ignored"
        ]
        assert ignored == ["other/o", "demo/nested", "demo/x"]

    async def test_duplicate_sources_are_refused(self, finders):
        """Two sources with one name are a configuration error."""
        runner, _ = finders
        with pytest.raises(ConfigError, match="duplicate target name demo/f"):
            await runner.apply([finder("f"), finder("f", "x")])

    async def test_exporter_without_discovery_refuses_sources(self, runner):
        """A source for an exporter that cannot discover is a configuration error."""
        with pytest.raises(ConfigError, match="cannot discover"):
            await runner.apply([finder("finder")])

    async def test_crashing_source_restarts_after_a_pause(self, finders, clock):
        """A source that crashes is logged and started again after a backoff."""
        runner, plugin = finders
        with capture_logs() as logs:
            await runner.apply([finder("finder", crash=True)])
            await settle(
                lambda: plugin.rounds.get("finder") == 1 and clock.sleeping > 0
            )
        assert [e["target"] for e in logs if e["event"] == "worker_crashed"] == [
            "finder"
        ]
        clock.advance(1.5)
        await settle(lambda: plugin.rounds["finder"] == 2)

    async def test_stop_all_stops_sources(self, finders):
        """stop_all ends sources and their targets."""
        runner, plugin = finders
        await runner.apply([finder("finder", "x")])
        await settle(lambda: names(runner) == ["x"])
        await runner.stop_all()
        assert runner.sources == []
        assert runner.targets == []
        assert "x" in plugin.finished
