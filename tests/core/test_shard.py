"""Rendezvous hashing (core/shard.py) and replicas that share one store by --shard.

The hashing properties are checked with hypothesis over arbitrary kinds and
names: exactly one owner for any count; from N to N+1 replicas only targets
moving to the new replica move, about 1/(N+1) of them; the placement is the same
in another interpreter with another hash seed. Two served hubs on one real store
(SQLite and PostgreSQL), shards 0/2 and 1/2, each run, render and list in
/api/sd only their own targets, while the API of both lists and edits all.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.cli import main
from exporterhub.core.shard import (
    MAX_REPLICAS,
    Placement,
    Shard,
    owner,
    parse_shard,
    weight,
)
from exporterhub.core.store import TargetStore
from exporterhub.core.targets import TargetRunner
from exporterhub.core.testing import FakeClock, wait_until
from exporterhub.hub import load_hub_settings

from .helpers import (
    DiscoveringDemoPlugin,
    StoredDemoPlugin,
    demo_target,
    finder,
    settle,
)
from .plane import Plane, serving, tick

KINDS = st.sampled_from(["phd2", "starlink", "tapo", "chaos", "snp", "demo"])
NAMES = st.text(min_size=1, max_size=40)
COUNTS = st.integers(min_value=1, max_value=40)
FIXED = [("demo", f"target-{i:04d}") for i in range(2000)]
"""A fixed target set: the moved share is deterministic, checked against a bound."""


class TestRendezvous:
    """Every target has one owner; adding a replica moves only its share."""

    @given(KINDS, NAMES, COUNTS)
    def test_exactly_one_owner(self, kind, name, count):
        """Of COUNT replicas, exactly one owns a target: the one owner() names."""
        owners = [i for i in range(count) if Shard(i, count).owns(kind, name)]
        assert owners == [owner(kind, name, count)]

    @given(KINDS, NAMES, COUNTS)
    def test_adding_a_replica_moves_only_to_it(self, kind, name, count):
        """From N to N+1 a target stays where it was or goes to the new replica."""
        before, after = owner(kind, name, count), owner(kind, name, count + 1)
        assert after in (before, count)

    @given(st.integers(min_value=1, max_value=12))
    @settings(max_examples=12, deadline=None)
    def test_about_one_share_moves(self, count):
        """Of 2,000 fixed targets, N to N+1 moves 1/(N+1) of them, within 4 sigma."""
        moved = sum(owner(k, n, count) != owner(k, n, count + 1) for k, n in FIXED)
        share = 1 / (count + 1)
        sigma = math.sqrt(len(FIXED) * share * (1 - share))
        assert abs(moved - len(FIXED) * share) <= 4 * sigma, moved

    def test_replicas_get_even_shares(self):
        """3 replicas each own a third of 2,000 targets, within 4 sigma."""
        counts = [sum(owner(k, n, 3) == i for k, n in FIXED) for i in range(3)]
        sigma = math.sqrt(len(FIXED) * (1 / 3) * (2 / 3))
        assert all(abs(c - len(FIXED) / 3) <= 4 * sigma for c in counts), counts

    def test_no_replicas_is_an_error(self):
        """owner() of zero replicas is refused, not a silent replica 0."""
        with pytest.raises(ValueError, match="at least 1"):
            owner("phd2", "rig", 0)

    def test_kind_and_name_are_not_run_together(self):
        """kind a, name b/c and kind a/b, name c are different targets."""
        assert weight("a", "b/c", 0) != weight("a/b", "c", 0)

    def test_same_placement_in_another_process(self):
        """A fresh interpreter with another hash seed places targets identically."""
        code = (
            "from exporterhub.core.shard import owner;"
            "print([owner('demo', f'target-{i:04d}', 5) for i in range(200)])"
        )
        result = subprocess.run(  # noqa: S603 - our interpreter
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "12345"},
        )
        here = [owner("demo", f"target-{i:04d}", 5) for i in range(200)]
        assert result.stdout.strip() == str(here)
        assert len(set(here)) == 5

    def test_known_placement(self):
        """The hash is fixed: a changed function would reshuffle every fleet."""
        assert weight("phd2", "rig", 0) == 2832459853109292824
        assert [owner("phd2", f"rig-{i}", 3) for i in range(12)] == KNOWN


KNOWN = [1, 2, 1, 2, 1, 1, 2, 1, 1, 2, 0, 0]
"""Placements computed once, when the function was written: they must not change."""


class TestPlacement:
    """Placement remembers owner()'s answers and forgets targets that are gone."""

    @given(st.lists(st.tuples(KINDS, NAMES), max_size=30), COUNTS)
    def test_same_answers_as_owner(self, keys, count):
        """Every remembered placement is owner()'s, asked again or not."""
        placement = Placement(Shard(0, count))
        for _ in range(2):
            for kind, name in keys:
                assert placement.owner(kind, name) == owner(kind, name, count)
                assert placement.owns(kind, name) == (owner(kind, name, count) == 0)

    def test_keep_forgets_the_rest(self):
        """keep() drops placements of targets not named (bounded by the targets)."""
        placement = Placement(Shard(1, 3))
        for name in ("a", "b", "c"):
            placement.owner("demo", name)
        placement.keep([("demo", "b")])
        assert placement.remembered() == {("demo", "b")}


class TestParse:
    """--shard INDEX/COUNT: 0-based index, clear errors."""

    @pytest.mark.parametrize(
        ("text", "shard"),
        [
            pytest.param("0/1", Shard(0, 1), id="one"),
            pytest.param("2/3", Shard(2, 3), id="last-of-three"),
            pytest.param(" 1 / 4 ", Shard(1, 4), id="spaces"),
        ],
    )
    def test_good(self, text, shard):
        """INDEX/COUNT parses; str() gives the canonical form back."""
        assert parse_shard(text) == shard
        assert str(parse_shard(text)) == text.replace(" ", "")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(
                "3/3", "counts from 0: 3/3 is not one of 0/3, 1/3, 2/3", id="1-based"
            ),
            pytest.param(
                "10/10", "10/10 is not one of 0/10, 1/10, 2/10, … 9/10", id="past-end"
            ),
            pytest.param("0/0", "count must be 1 to 1024", id="zero"),
            pytest.param(f"0/{MAX_REPLICAS + 1}", "count must be 1 to", id="many"),
            pytest.param("1", "is not INDEX/COUNT", id="no-slash"),
            pytest.param("-1/3", "is not INDEX/COUNT", id="negative"),
            pytest.param("a/b", "is not INDEX/COUNT", id="words"),
        ],
    )
    def test_bad(self, text, message):
        """A bad value names what is wrong and what the form is."""
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_shard(text)


class TestSettings:
    """--shard, EXPORTERHUB_SHARD and the YAML key shard, each validated."""

    def test_flag_error_names_the_flag(self, tmp_path, capsys):
        """--shard 3/3 (1-based by mistake) exits 2 naming --shard."""
        with pytest.raises(SystemExit) as info:
            main(["serve", "--store", str(tmp_path / "t.db"), "--shard", "3/3"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --shard: the index counts from 0: 3/3" in err

    def test_env_error_names_the_variable(self, tmp_path, capsys, monkeypatch):
        """EXPORTERHUB_SHARD=2/2 stops serve with exit 2, naming the key."""
        monkeypatch.setenv("EXPORTERHUB_SHARD", "2/2")
        assert main(["serve", "--store", str(tmp_path / "t.db")]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("exporterhub: environment: shard: ")
        assert "2/2 is not one of 0/2, 1/2" in err

    def test_yaml_error_names_file_and_key(self, tmp_path, capsys, monkeypatch):
        """shard: 1/0 in the file stops serve, naming the file and the key."""
        monkeypatch.delenv("EXPORTERHUB_SHARD", raising=False)
        path = tmp_path / "hub.yaml"
        path.write_text('shard: "1/0"\n', encoding="utf-8")
        assert main(["serve", "--config", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(f"exporterhub: {path}: shard: ")

    def test_precedence(self, tmp_path, monkeypatch):
        """The flag wins over the env, which wins over the file."""
        path = tmp_path / "hub.yaml"
        path.write_text("shard: 0/2\n", encoding="utf-8")
        monkeypatch.delenv("EXPORTERHUB_SHARD", raising=False)
        assert load_hub_settings(path).replica() == Shard(0, 2)
        monkeypatch.setenv("EXPORTERHUB_SHARD", "1/2")
        assert load_hub_settings(path).replica() == Shard(1, 2)
        assert load_hub_settings(path, {"shard": "2/3"}).replica() == Shard(2, 3)

    def test_unsharded_by_default(self, monkeypatch):
        """Without any of them, a process runs every target."""
        monkeypatch.delenv("EXPORTERHUB_SHARD", raising=False)
        assert load_hub_settings(None).replica() is None


class TestRunner:
    """A sharded runner runs only its targets, files and discovered ones too."""

    async def test_runs_only_owned(self, plugin, clock):
        """Of 30 targets, shard 1/3 runs exactly those owner() gives replica 1."""
        from prometheus_client import CollectorRegistry

        from exporterhub.core.exposition import Exposition

        runner = TargetRunner(
            {"demo": plugin},
            Exposition(clock, CollectorRegistry()),
            clock,
            shard=Shard(1, 3),
        )
        names = [f"rig-{i}" for i in range(30)]
        try:
            result = await runner.apply([demo_target(n) for n in names])
            mine = sorted(n for n in names if owner("demo", n, 3) == 1)
            assert 0 < len(mine) < 30
            assert sorted(t.name for t in runner.targets) == mine
            assert sorted(k.split("/")[1] for k in result.started) == mine
        finally:
            await runner.stop_all()

    async def test_discovery_sees_every_configured_target(self, clock):
        """A source also sees the configured targets other replicas run (empty
        records): it must not offer their devices again under names of its own."""
        from prometheus_client import CollectorRegistry

        from exporterhub.core.exposition import Exposition

        plugin = DiscoveringDemoPlugin()
        runner = TargetRunner(
            {"demo": plugin},
            Exposition(clock, CollectorRegistry()),
            clock,
            shard=Shard(0, 2),
        )
        names = [f"rig-{i}" for i in range(12)]
        try:
            await runner.apply([finder("finder"), *(demo_target(n) for n in names)])
            await settle(lambda: "finder" in plugin.offers)
            seen = plugin.offers["finder"].configured()
            assert sorted(t.name for t, _ in seen) == sorted(names)
            others = [r for t, r in seen if owner("demo", t.name, 2) != 0]
            assert others
            assert all(r.taken_at is None and not r.healthy for r in others)
        finally:
            await runner.stop_all()

    async def test_discovered_targets_are_sharded_too(self, clock):
        """A discovery source runs on every replica; each keeps only its finds."""
        from prometheus_client import CollectorRegistry

        from exporterhub.core.exposition import Exposition

        found = [f"plug-{i}" for i in range(20)]
        runners = [
            TargetRunner(
                {"demo": DiscoveringDemoPlugin()},
                Exposition(clock, CollectorRegistry()),
                clock,
                shard=Shard(i, 2),
            )
            for i in range(2)
        ]
        try:
            for runner in runners:
                await runner.apply([finder("finder", *found)])
            for i, runner in enumerate(runners):
                mine = sorted(n for n in found if owner("demo", n, 2) == i)
                await settle(
                    lambda r=runner, m=mine: sorted(t.name for t in r.targets) == m
                )
                assert [t.name for t in runner.sources] == ["finder"]
                assert 0 < len(mine) < len(found)
        finally:
            for runner in runners:
                await runner.stop_all()


def names_owned(count: int, index: int, how_many: int) -> list[str]:
    """The first ``how_many`` demo names replica ``index`` of ``count`` owns."""
    found = [f"t{i}" for i in range(500) if owner("demo", f"t{i}", count) == index]
    return found[:how_many]


def scraped(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Parse an exposition: family samples by sorted labels."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[labels] = sample.value
    return found


@pytest.fixture
async def other(location, key_file) -> AsyncIterator[TargetStore]:
    """The second replica's own connection to the same store."""
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield opened
    finally:
        await opened.close()


class TestReplicas:
    """Two served hubs on one store, --shard 0/2 and 1/2."""

    async def test_each_runs_its_share_and_both_list_all(
        self, store, other, clock: FakeClock
    ):
        """Targets created on replica 0 run on their owner (replica 1's after its
        next poll), /metrics and /api/sd show only the replica's own, and the API
        of both lists every target with its shard."""
        plugins = [StoredDemoPlugin(), StoredDemoPlugin()]
        zero, one = names_owned(2, 0, 3), names_owned(2, 1, 3)
        async with (
            serving(store, plugins[0], clock, shard=Shard(0, 2)) as first,
            serving(other, plugins[1], clock, shard=Shard(1, 2)) as second,
        ):
            for name in [*zero, *one]:
                answer = await first.create(name)
                assert answer["shard"] == owner("demo", name, 2)
            await settle(lambda: all(plugins[0].started(n) for n in zero))
            assert not any(plugins[0].started(n) for n in one)
            assert not any(plugins[1].started(n) for n in [*zero, *one])
            await tick(clock, 10)  # replica 1's poll finds the new targets
            await wait_until(lambda: all(plugins[1].started(n) for n in one))
            assert not any(plugins[1].started(n) for n in zero)

            for plane, mine in ((first, zero), (second, one)):
                await check_replica(plane, mine, [*zero, *one])

    async def test_statuses_of_other_shards_follow_the_store(
        self, store, other, clock: FakeClock
    ):
        """A target another replica runs shows its owner's status after a poll."""
        plugins = [StoredDemoPlugin(), StoredDemoPlugin()]
        [theirs] = names_owned(2, 1, 1)
        async with (
            serving(store, plugins[0], clock, shard=Shard(0, 2)) as first,
            serving(other, plugins[1], clock, shard=Shard(1, 2)),
        ):
            await first.create(theirs)
            await tick(clock, 10)
            await wait_until(lambda: plugins[1].started(theirs) == 1)
            await tick(clock, 1)  # the owner writes the status it now has
            await tick(clock, 10)  # replica 0 reads it back at its poll
            answer = (await first.client.get(f"/api/targets/demo/{theirs}")).json()
            assert answer["shard"] == 1
            assert answer["link"] == "connected"
            assert answer["up"] is True  # as its owner stored it
            assert answer["labels"] == {}  # no series here: not run here

    async def test_a_stopped_owner_leaves_its_targets_down(
        self, store, other, clock: FakeClock
    ):
        """The owner's last write, as it stops, says its targets are down: the
        other replicas do not go on showing them up."""
        plugins = [StoredDemoPlugin(), StoredDemoPlugin()]
        [theirs] = names_owned(2, 1, 1)
        async with serving(store, plugins[0], clock, shard=Shard(0, 2)) as first:
            await first.create(theirs)
            async with serving(other, plugins[1], clock, shard=Shard(1, 2)):
                await wait_until(lambda: plugins[1].started(theirs) == 1)
                await tick(clock, 1)  # the owner writes the status it now has
                await tick(clock, 10)  # replica 0 reads it back at its poll
                path = f"/api/targets/demo/{theirs}"
                assert (await first.client.get(path)).json()["up"] is True
            await tick(clock, 10)  # replica 0 polls after the owner stopped
            answer = (await first.client.get(path)).json()
            assert answer["up"] is False
            assert answer["link"] == "disconnected"


async def check_replica(plane: Plane, mine: list[str], every: list[str]) -> None:
    """Only ``mine`` in /metrics and /api/sd; ``every`` in /api/targets."""
    shard = plane.state.runner.shard
    assert shard is not None
    metrics = scraped((await plane.client.get("/metrics")).text)
    rendered = {dict(labels)["target"] for labels in metrics["demo_value"]}
    assert rendered == set(mine)
    assert metrics["exporterhub_shard_info"] == {
        (("shard", str(shard.index)), ("shards", str(shard.count))): 1.0
    }
    assert metrics["exporterhub_shard_targets"] == {(): float(len(mine))}
    sd = (await plane.client.get("/api/sd")).json()
    assert sorted(g["labels"]["__meta_exporterhub_target"] for g in sd) == sorted(mine)
    listed = (await plane.client.get("/api/targets")).json()
    assert sorted(t["name"] for t in listed) == sorted(every)
    assert {t["name"]: t["shard"] for t in listed} == {
        n: owner("demo", n, shard.count) for n in every
    }
    probe = await plane.client.get("/probe", params={"target": f"demo/{every[-1]}"})
    assert probe.status_code == (200 if every[-1] in mine else 400)
