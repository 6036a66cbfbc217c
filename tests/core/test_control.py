"""The control plane over real HTTP with a real store, on SQLite and PostgreSQL.

An API change applies at once; another process's change (a second ``TargetStore``
on the same database) is picked up when the fake clock passes ``poll_interval``;
only targets whose settings changed restart; a file target added later shadows a
stored one (logged once); status is written to the store on change only and
survives a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from exporterhub.core.snapshot import LinkState
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import FakeClock, wait_until

from ..databases import raw_query
from .helpers import DEMO_KIND, DemoSnapshot, StoredDemoPlugin, settle
from .helpers import stored_demo_target as file_target
from .plane import serving, tick

T0 = 1_700_000_000.0


@pytest.fixture
def plugin() -> StoredDemoPlugin:
    return StoredDemoPlugin()


@pytest.fixture
async def other(location, key_file) -> AsyncIterator[TargetStore]:
    """Another process's (or replica's) connection to the same store."""
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield opened
    finally:
        await opened.close()


def stored(name: str, **settings: object) -> dict[str, object]:
    """Return settings in the stored form, as another exporterhub would write them."""
    return DEMO_KIND.settings(DEMO_KIND.target(name, settings))


class TestApplyAtOnce:
    """An API change starts, restarts or stops its worker before the answer."""

    async def test_create_starts_before_any_poll(self, store, plugin, clock):
        """A created target runs and is scraped without the clock moving at all."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig", settings={"value": 4.0})
            await settle(lambda: plugin.started("rig") == 1)
            assert await plane.values() == {"rig": 4.0}
            assert clock.monotonic() == 0.0

    async def test_delete_removes_series_at_the_next_scrape(self, store, plugin, clock):
        """A deleted target's worker stops and its series are gone at once."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("a")
            await plane.create("b", settings={"value": 2.0})
            await settle(lambda: plugin.started("b") == 1)
            assert await plane.values() == {"a": 1.0, "b": 2.0}
            response = await plane.client.delete("/api/targets/demo/a")
            assert response.status_code == 204
            assert plugin.finished == ["a"]
            assert await plane.values() == {"b": 2.0}


class TestPoll:
    """Changes made elsewhere are picked up every poll_interval, not before."""

    async def test_other_process_changes(self, store, other, plugin, clock):
        """Create, update and delete by another process apply at the next poll."""
        async with serving(store, plugin, clock, poll_interval=10) as plane:
            await plane.create("mine")
            await settle(lambda: plugin.started("mine") == 1)
            await other.create("demo", "theirs", stored("theirs", value=3.0))
            await tick(clock, 9)
            assert plugin.started("theirs") == 0
            listed = (await plane.client.get("/api/targets")).json()
            assert [t["name"] for t in listed] == ["mine"]

            await tick(clock, 1)
            await wait_until(lambda: plugin.started("theirs") == 1)
            assert await plane.values() == {"mine": 1.0, "theirs": 3.0}

            await other.update(
                "demo", "theirs", stored("theirs", value=5.0), enabled=True, revision=1
            )
            await tick(clock, 10)
            await wait_until(lambda: plugin.started("theirs") == 2)
            assert await plane.values() == {"mine": 1.0, "theirs": 5.0}

            await other.delete("demo", "theirs")
            await tick(clock, 10)
            await wait_until(
                lambda: "theirs" not in plane.state.exposition.body().decode()
            )
            assert await plane.values() == {"mine": 1.0}
            assert plugin.started("mine") == 1

    async def test_patch_without_revision_applies_to_the_latest(
        self, store, other, plugin, clock
    ):
        """A PATCH without a revision merges into what another process wrote last."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig", settings={"value": 1.0})
            await other.update(
                "demo", "rig", stored("rig", value=8.0), enabled=True, revision=1
            )
            response = await plane.client.patch(
                "/api/targets/demo/rig", json={"enabled": False}
            )
            assert response.status_code == 200, response.text
            assert response.json()["revision"] == 3
            row = await other.get("demo", "rig")
            assert row is not None
            assert (row.enabled, row.settings["value"]) == (False, 8.0)


class TestPollFailure:
    """A store that cannot be reached keeps the targets running; logged once."""

    async def test_unreachable_then_back(
        self, postgres_server, key_file, plugin, clock
    ):
        """Failed polls log one warning, the return one info; targets keep running.

        A status that could not be written meanwhile is written when it can be.
        """
        database = await postgres_server.create_database()
        location = postgres_server.url(database)
        store = await TargetStore.open(location, key_file=key_file)
        admin = postgres_server.url("postgres")
        try:
            async with serving(store, plugin, clock, poll_interval=10) as plane:
                await plane.create("rig")
                await settle(lambda: plugin.started("rig") == 1)
                await raw_query(
                    admin, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'
                )
                await raw_query(
                    admin,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 - a name the test made
                    f"WHERE datname = '{database}'",
                )
                with capture_logs() as logs:
                    plugin.publishers["rig"].link(LinkState.ERROR, error="refused")
                    await tick(clock, 10)
                    await tick(clock, 10)
                    failed = [e for e in logs if e["event"] == "store_poll_failed"]
                    assert len(failed) == 1
                    assert failed[0]["log_level"] == "warning"
                    assert "status_write_failed" in [e["event"] for e in logs]
                    await raw_query(
                        admin, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'
                    )
                    await tick(clock, 10)
                    events = [e["event"] for e in logs]
                assert events.count("store_reachable_again") == 1
                assert await plane.values() == {"rig": 1.0}
                assert plugin.started("rig") == 1
                # The status that could not be written is written once it can be.
                assert (await status_row(location))[:3] == ("error", False, "refused")
        finally:
            await store.close()
            await postgres_server.drop_database(database)


async def copy_row(location: str, template: str, count: int) -> list[str]:
    """Store ``count`` copies of one row, named t1..t<count>, in one statement.

    As another process would have written them, without ``count`` round trips
    of sealing and committing (the names live in their own column).
    """
    await raw_query(
        location,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "  # noqa: S608 - the test's own number and name
        f"WHERE i < {count}) INSERT INTO targets (kind, name, settings, enabled, "
        "created_at, updated_at, revision) SELECT kind, 't' || i, settings, enabled, "
        f"created_at, updated_at, revision FROM targets, n WHERE name = '{template}'",
    )
    return [f"t{i}" for i in range(1, count + 1)]


@pytest.fixture
async def pg_store(postgres_server, key_file) -> AsyncIterator[tuple[str, TargetStore]]:
    """A store on PostgreSQL alone, and where it lives."""
    name = await postgres_server.create_database()
    location = postgres_server.url(name)
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield location, opened
    finally:
        await opened.close()
        await postgres_server.drop_database(name)


class TestOnlyChangedRestart:
    """With 1,000 stored targets, a change restarts exactly the changed one."""

    async def test_one_of_a_thousand(self, pg_store, plugin, clock):
        """A PUT changing one value restarts that target alone; a same one, none.

        On PostgreSQL only: the runner is what is tested, and the first status
        flush of 1,000 targets (one transaction each) takes SQLite, under
        coverage, longer than the server's shutdown allows.
        """
        location, store = pg_store
        await store.create("demo", "t0", stored("t0"))
        names = ["t0", *await copy_row(location, "t0", 999)]
        async with serving(store, plugin, clock) as plane:
            await settle(lambda: all(plugin.started(n) == 1 for n in names), rounds=50)
            response = await plane.client.put(
                "/api/targets/demo/t500",
                json={"settings": {"value": 7.0}, "revision": 1},
            )
            assert response.status_code == 200, response.text
            await settle(lambda: plugin.started("t500") == 2)
            # The same settings again: a new revision, but nothing to restart.
            response = await plane.client.put(
                "/api/targets/demo/t501",
                json={"settings": {"value": 1.0}, "revision": 1},
            )
            assert response.status_code == 200, response.text
            assert response.json()["revision"] == 2
            await settle(lambda: True)
            assert plugin.finished == ["t500"]
            restarted = [n for n in names if plugin.started(n) != 1]
            assert restarted == ["t500"]
            values = await plane.values()
            assert len(values) == 1000
            assert values["t500"] == 7.0
            assert values["t501"] == 1.0


class TestShadowing:
    """A file target added later wins over the stored one; logged once."""

    async def test_file_added_later(self, store, plugin, clock):
        """After a reload the file's settings run; the row is listed as shadowed."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig", settings={"value": 1.0})
            await settle(lambda: plugin.started("rig") == 1)
            plane.files.append(file_target("rig", value=7.0))
            with capture_logs() as logs:
                for _ in range(2):
                    response = await plane.client.post("/-/reload")
                    assert response.status_code == 200
            shadowed = [e for e in logs if e["event"] == "stored_target_shadowed"]
            assert shadowed == [
                {
                    "event": "stored_target_shadowed",
                    "kind": "demo",
                    "target": "rig",
                    "log_level": "warning",
                }
            ]
            assert await plane.values() == {"rig": 7.0}
            listed = (await plane.client.get("/api/targets")).json()
            assert [(t["source"], t["shadowed"]) for t in listed] == [
                ("file", False),
                ("store", True),
            ]
            only = (await plane.client.get("/api/targets?state=shadowed")).json()
            assert [(t["name"], t["settings"]["value"]) for t in only] == [("rig", 1.0)]
            conflict = await plane.client.post(
                "/api/targets", json={"kind": "demo", "name": "rig"}
            )
            assert conflict.status_code == 409


async def install_write_counter(location: str) -> None:
    """Count every insert or update of a status row, inside the database."""
    await raw_query(location, "CREATE TABLE status_writes (n INTEGER)")
    if location.startswith("postgresql"):
        await raw_query(
            location,
            "CREATE FUNCTION count_status_write() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN INSERT INTO status_writes VALUES (1); RETURN NULL; END $$",
        )
        await raw_query(
            location,
            "CREATE TRIGGER status_write AFTER INSERT OR UPDATE ON target_status "
            "FOR EACH ROW EXECUTE FUNCTION count_status_write()",
        )
        return
    for event in ("INSERT", "UPDATE"):
        await raw_query(
            location,
            f"CREATE TRIGGER status_{event.lower()} AFTER {event} ON target_status "  # noqa: S608 - fixed words
            "BEGIN INSERT INTO status_writes VALUES (1); END",
        )


async def status_writes(location: str) -> int:
    [(count,)] = await raw_query(location, "SELECT count(*) FROM status_writes")
    return int(count)


async def status_row(location: str, name: str = "rig") -> tuple[object, ...]:
    [row] = await raw_query(
        location,
        "SELECT link, up, last_error_kind, last_error, last_success "  # noqa: S608 - the test's own name
        f"FROM target_status WHERE kind = 'demo' AND name = '{name}'",
    )
    link, up, kind, error, success = row
    if isinstance(success, str):  # sqlite3 reads the text a SQLite user sees
        success = datetime.fromisoformat(success)
    if success is not None and success.tzinfo is None:
        success = success.replace(tzinfo=UTC)
    return (link, bool(up), kind, error, success)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class TestStatus:
    """Status is written when it changes, never per frame, and survives restarts."""

    async def test_written_on_change_only(self, store, location, plugin, clock):
        """Fifty frames write nothing; a link change writes exactly one row update."""
        await install_write_counter(location)
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig")
            await settle(lambda: plugin.started("rig") == 1)
            await tick(clock, 1)
            assert await status_writes(location) == 1
            assert await status_row(location) == (
                "connected",
                True,
                None,
                None,
                at(T0),
            )
            publisher = plugin.publishers["rig"]
            for frame in range(50):
                publisher.data(DemoSnapshot(float(frame)))
                await tick(clock, 1)
            assert await status_writes(location) == 1
            publisher.link(
                LinkState.ERROR, error="refused", detail="connection refused"
            )
            await tick(clock, 1)
            await tick(clock, 1)
            assert await status_writes(location) == 2
            assert await status_row(location) == (
                "error",
                False,
                "refused",
                "connection refused",
                at(T0 + 50),
            )

    async def test_survives_a_restart(self, store, location, key_file, plugin, clock):
        """After a restart the saved last success and error show before any report."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig")
            await settle(lambda: plugin.started("rig") == 1)
            await tick(clock, 5)
            plugin.publishers["rig"].data(DemoSnapshot(2.0))  # at T0 + 5
            await tick(clock, 1)
            plugin.publishers["rig"].link(
                LinkState.ERROR, error="refused", detail="connection refused"
            )
            await tick(clock, 1)
        assert await status_row(location) == (
            "error",
            False,
            "refused",
            "connection refused",
            at(T0 + 5),
        )

        again = await TargetStore.open(location, key_file=key_file)
        later = StoredDemoPlugin()
        later.gate = asyncio.Event()  # the device has not answered yet
        restarted = FakeClock(start=T0 + 3600)
        try:
            async with serving(again, later, restarted) as plane:
                await settle(lambda: "rig" in later.publishers)
                answer = (await plane.client.get("/api/targets/demo/rig")).json()
                assert answer["last_success"] == T0 + 5
                assert answer["last_error_kind"] == "refused"
                assert answer["last_error"] == "connection refused"
                assert answer["up"] is False
                await tick(restarted, 1)
                saved = await status_row(location)
                assert saved[2:] == ("refused", "connection refused", at(T0 + 5))

                later.gate.set()
                await settle(lambda: later.started("rig") == 1)
                await tick(restarted, 1)
                answer = (await plane.client.get("/api/targets/demo/rig")).json()
                assert answer["last_success"] == T0 + 3601
                assert answer["up"] is True
                assert answer["last_error_kind"] == "refused"  # kept after recovery
        finally:
            await again.close()

    async def test_clean_stop_saves_the_last_success(
        self, store, location, plugin, clock
    ):
        """A clean stop writes each target's latest success (frames alone do not)."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig")
            await settle(lambda: plugin.started("rig") == 1)
            await tick(clock, 1)
            for _ in range(10):
                await tick(clock, 1)
                plugin.publishers["rig"].data(DemoSnapshot(1.0))
            assert (await status_row(location))[4] == at(T0)
        assert (await status_row(location))[4] == at(T0 + 11)

    async def test_deleted_target_forgets_its_status(
        self, store, location, plugin, clock
    ):
        """A deleted and re-created target starts without the old one's status."""
        async with serving(store, plugin, clock) as plane:
            await plane.create("rig")
            await settle(lambda: plugin.started("rig") == 1)
            plugin.publishers["rig"].link(LinkState.ERROR, error="refused")
            await tick(clock, 1)
            assert (await status_row(location))[2] == "refused"
            assert (
                await plane.client.delete("/api/targets/demo/rig")
            ).status_code == 204
            assert await raw_query(location, "SELECT name FROM target_status") == []
            plugin.gate = asyncio.Event()
            await plane.create("rig")
            answer = (await plane.client.get("/api/targets/demo/rig")).json()
            assert answer["last_error_kind"] is None
            plugin.gate.set()
