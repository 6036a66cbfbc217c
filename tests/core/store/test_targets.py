"""Repository tests of TargetStore, each on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from exporterhub.core.store import (
    StaleRevisionError,
    StoredTarget,
    TargetExistsError,
    TargetNotFoundError,
    TargetStore,
)
from exporterhub.core.testing import FakeClock

SETTINGS = {"host": "scope.local", "port": 4400, "tags": ["a", "b"]}


class TestCreateAndRead:
    """create stores a row at revision 1; get and list read it back."""

    async def test_create_returns_the_row(self, store):
        """The created target carries its settings, revision 1 and equal timestamps."""
        target = await store.create("phd2", "rig", SETTINGS)
        assert isinstance(target, StoredTarget)
        assert (target.kind, target.name, target.settings) == ("phd2", "rig", SETTINGS)
        assert target.enabled is True
        assert target.revision == 1
        assert target.created_at == target.updated_at
        assert target.created_at.tzinfo is UTC

    async def test_get(self, store):
        """get returns what create returned, and None for an unknown name."""
        created = await store.create("phd2", "rig", SETTINGS, enabled=False)
        assert await store.get("phd2", "rig") == created
        assert await store.get("phd2", "other") is None
        assert await store.get("kasa", "rig") is None

    async def test_list_ordered_and_filtered(self, store):
        """list orders by kind then name, and filters by kind."""
        for kind, name in [("kasa", "b"), ("phd2", "z"), ("kasa", "a"), ("phd2", "m")]:
            await store.create(kind, name, {})
        everything = [(t.kind, t.name) for t in await store.list()]
        assert everything == [
            ("kasa", "a"),
            ("kasa", "b"),
            ("phd2", "m"),
            ("phd2", "z"),
        ]
        assert [t.name for t in await store.list("phd2")] == ["m", "z"]
        assert await store.list("starlink") == []

    async def test_duplicate_refused(self, store):
        """A second create of the same kind and name is TargetExistsError."""
        await store.create("phd2", "rig", SETTINGS)
        with pytest.raises(TargetExistsError, match="phd2/rig"):
            await store.create("phd2", "rig", {})
        assert (await store.get("phd2", "rig")).settings == SETTINGS

    async def test_same_name_other_kind(self, store):
        """Names are unique per kind only."""
        await store.create("phd2", "rig", {})
        await store.create("kasa", "rig", {})
        assert len(await store.list()) == 2

    async def test_unicode_and_nesting_kept(self, store):
        """Nested dicts, lists, numbers, nulls and non-ASCII text round-trip."""
        settings = {"name": "Sternwarte Süd ✨", "n": {"x": [1, 2.5, None, True]}}
        await store.create("phd2", "rig", settings)
        assert (await store.get("phd2", "rig")).settings == settings

    async def test_timestamps_from_clock(self, location, key_file):
        """Timestamps come from the injected clock, in UTC."""
        clock = FakeClock(start=1_700_000_000.0)
        store = await TargetStore.open(location, key_file=key_file, clock=clock)
        try:
            created = await store.create("phd2", "rig", {})
            clock.advance(90)
            updated = await store.update(
                "phd2", "rig", {"x": 1}, enabled=True, revision=1
            )
        finally:
            await store.close()
        start = datetime.fromtimestamp(1_700_000_000.0, UTC)
        assert created.created_at == start
        assert updated.created_at == start
        assert updated.updated_at == start + timedelta(seconds=90)


class TestUpdate:
    """update is a compare-and-swap on the revision."""

    async def test_update(self, store):
        """A matching revision replaces settings and enabled, and bumps the revision."""
        await store.create("phd2", "rig", SETTINGS)
        updated = await store.update(
            "phd2", "rig", {"host": "other"}, enabled=False, revision=1
        )
        assert (updated.settings, updated.enabled, updated.revision) == (
            {"host": "other"},
            False,
            2,
        )
        assert await store.get("phd2", "rig") == updated

    async def test_stale_revision(self, store):
        """A stale revision is StaleRevisionError carrying the current one."""
        await store.create("phd2", "rig", SETTINGS)
        await store.update("phd2", "rig", {"v": 2}, enabled=True, revision=1)
        with pytest.raises(StaleRevisionError, match="revision 2, not 1") as caught:
            await store.update("phd2", "rig", {"v": 3}, enabled=True, revision=1)
        assert caught.value.current == 2
        assert (await store.get("phd2", "rig")).settings == {"v": 2}

    async def test_not_found(self, store):
        """Updating an unknown target is TargetNotFoundError."""
        with pytest.raises(TargetNotFoundError, match="phd2/ghost"):
            await store.update("phd2", "ghost", {}, enabled=True, revision=1)

    async def test_concurrent_same_revision_one_wins(self, store, location, key_file):
        """Two writers naming the same revision: exactly one wins, one is stale."""
        other = await TargetStore.open(location, key_file=key_file)
        try:
            await store.create("phd2", "rig", {"v": 1})
            results = await asyncio.gather(
                store.update("phd2", "rig", {"v": "a"}, enabled=True, revision=1),
                other.update("phd2", "rig", {"v": "b"}, enabled=True, revision=1),
                store.update("phd2", "rig", {"v": "c"}, enabled=True, revision=1),
                return_exceptions=True,
            )
        finally:
            await other.close()
        winners = [r for r in results if isinstance(r, StoredTarget)]
        losers = [r for r in results if isinstance(r, StaleRevisionError)]
        assert len(winners) == 1
        assert len(losers) == 2
        assert winners[0].revision == 2
        assert all(loser.current == 2 for loser in losers)
        assert (await store.get("phd2", "rig")).settings == winners[0].settings


class TestSetEnabled:
    """set_enabled flips one flag, with or without a revision check."""

    async def test_flip(self, store):
        """Disabling bumps the revision; the settings stay."""
        await store.create("phd2", "rig", SETTINGS)
        disabled = await store.set_enabled("phd2", "rig", False)
        assert (disabled.enabled, disabled.revision, disabled.settings) == (
            False,
            2,
            SETTINGS,
        )

    async def test_already_so_is_no_change(self, store):
        """Setting the state it already has writes nothing and keeps the revision."""
        created = await store.create("phd2", "rig", SETTINGS)
        token = await store.change_token()
        assert await store.set_enabled("phd2", "rig", True, revision=1) == created
        assert await store.change_token() == token

    async def test_revision_checked(self, store):
        """With a revision, a stale one is refused whether or not the flag differs."""
        await store.create("phd2", "rig", SETTINGS)
        await store.set_enabled("phd2", "rig", False, revision=1)
        for wanted in (True, False):
            with pytest.raises(StaleRevisionError) as caught:
                await store.set_enabled("phd2", "rig", wanted, revision=1)
            assert caught.value.current == 2
        assert (await store.set_enabled("phd2", "rig", True, revision=2)).revision == 3

    async def test_not_found(self, store):
        """An unknown target is TargetNotFoundError."""
        with pytest.raises(TargetNotFoundError):
            await store.set_enabled("phd2", "ghost", False)
        with pytest.raises(TargetNotFoundError):
            await store.set_enabled("phd2", "ghost", False, revision=4)


class TestDelete:
    """delete removes the target, optionally only at a revision."""

    async def test_delete(self, store):
        """A deleted target is gone and its name free again."""
        await store.create("phd2", "rig", SETTINGS)
        await store.delete("phd2", "rig")
        assert await store.get("phd2", "rig") is None
        assert (await store.create("phd2", "rig", {})).revision == 1

    async def test_delete_at_revision(self, store):
        """A stale revision keeps the target; the current one deletes it."""
        await store.create("phd2", "rig", SETTINGS)
        await store.set_enabled("phd2", "rig", False)
        with pytest.raises(StaleRevisionError) as caught:
            await store.delete("phd2", "rig", revision=1)
        assert caught.value.current == 2
        assert await store.get("phd2", "rig") is not None
        await store.delete("phd2", "rig", revision=2)
        assert await store.get("phd2", "rig") is None

    @pytest.mark.parametrize("revision", [None, 1], ids=["any", "at-revision"])
    async def test_not_found(self, store, revision):
        """Deleting an unknown target is TargetNotFoundError."""
        with pytest.raises(TargetNotFoundError, match="phd2/ghost"):
            await store.delete("phd2", "ghost", revision=revision)


class TestChangeToken:
    """The change token moves with every target write and with nothing else."""

    async def test_moves_on_writes_only(self, store):
        """Each write gives a new token; reads and refused writes keep it."""
        tokens = [await store.change_token()]

        async def wrote() -> None:
            token = await store.change_token()
            assert token not in tokens
            tokens.append(token)

        await store.create("phd2", "rig", SETTINGS)
        await wrote()
        await store.update("phd2", "rig", {}, enabled=True, revision=1)
        await wrote()
        await store.set_enabled("phd2", "rig", False)
        await wrote()
        await store.list()
        await store.get("phd2", "rig")
        with pytest.raises(TargetExistsError):
            await store.create("phd2", "rig", {})
        with pytest.raises(StaleRevisionError):
            await store.update("phd2", "rig", {}, enabled=True, revision=1)
        assert await store.change_token() == tokens[-1]
        await store.delete("phd2", "rig")
        await wrote()

    async def test_seen_by_another_instance(self, store, location, key_file):
        """A write through one instance moves the token another instance reads."""
        other = await TargetStore.open(location, key_file=key_file)
        try:
            before = await other.change_token()
            await store.create("phd2", "rig", {})
            assert await other.change_token() != before
            assert [t.name for t in await other.list()] == ["rig"]
        finally:
            await other.close()


class TestCreateMany:
    """An import stores many targets in one transaction, skipping taken names."""

    async def test_stores_new_and_skips_taken(self, store):
        """Existing and repeated names are skipped; the rest stored at revision 1."""
        await store.create("phd2", "a", {"port": 1})
        token = await store.change_token()
        created, skipped = await store.create_many(
            [
                ("phd2", "a", {"port": 2}, True),
                ("phd2", "b", {"port": 3}, False),
                ("phd2", "b", {"port": 4}, True),
                ("chaos", "a", {"x": 1}, True),
            ]
        )
        assert created == [("phd2", "b"), ("chaos", "a")]
        assert skipped == [("phd2", "a"), ("phd2", "b")]
        b = await store.get("phd2", "b")
        assert (b.settings, b.enabled, b.revision) == ({"port": 3}, False, 1)
        assert (await store.get("phd2", "a")).settings == {"port": 1}
        assert await store.change_token() != token

    async def test_nothing_new_changes_nothing(self, store):
        """An import of taken names only leaves the change token alone."""
        await store.create("phd2", "a", {"port": 1})
        token = await store.change_token()
        assert await store.create_many([("phd2", "a", {}, True)]) == (
            [],
            [("phd2", "a")],
        )
        assert await store.change_token() == token
