"""Tests of stored target statuses, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from exporterhub.core.store import TargetStatus, TargetStore

from ...databases import raw_query

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def status(name: str = "rig", **changes: object) -> TargetStatus:
    values: dict[str, object] = {
        "kind": "phd2",
        "name": name,
        "link": "connected",
        "up": True,
        "changed_at": T0,
        "last_success": T0 + timedelta(seconds=5),
    }
    values.update(changes)
    return TargetStatus(**values)  # type: ignore[arg-type]


class TestStatus:
    """Statuses are upserted by kind and name, read back whole, and deleted."""

    async def test_round_trip(self, store):
        """A stored status reads back equal, timestamps aware UTC."""
        first = status()
        failing = status(
            "other",
            link="backoff",
            up=False,
            last_error_kind="refused",
            last_error="connection refused by 10.0.0.5:4400",
            last_success=None,
        )
        await store.set_status(first)
        await store.set_status(failing)
        assert await store.statuses() == {
            ("phd2", "rig"): first,
            ("phd2", "other"): failing,
        }

    async def test_upsert_replaces(self, store):
        """A second status for the same target replaces the first."""
        await store.set_status(status())
        later = status(link="stalled", up=False, changed_at=T0 + timedelta(minutes=1))
        await store.set_status(later)
        assert await store.statuses() == {("phd2", "rig"): later}

    async def test_non_utc_changed_at_stored_as_utc(self, store):
        """An aware time in another zone comes back as the same instant in UTC."""
        zone = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
        await store.set_status(status(changed_at=zone))
        stored = (await store.statuses())[("phd2", "rig")]
        assert stored.changed_at == zone
        assert stored.changed_at.utcoffset() == timedelta(0)

    async def test_unchanged_status_not_written(self, store, location):
        """Setting the status last written is no write (the row is left alone)."""
        await store.set_status(status())
        await raw_query(location, "UPDATE target_status SET link = 'edited'")
        await store.set_status(status())
        assert (await store.statuses())[("phd2", "rig")].link == "edited"
        await store.set_status(status(link="backoff"))
        assert (await store.statuses())[("phd2", "rig")].link == "backoff"

    async def test_without_target_row(self, store):
        """File-configured targets have no row, but their status is stored."""
        assert await store.list() == []
        await store.set_status(status("from-yaml"))
        assert ("phd2", "from-yaml") in await store.statuses()

    async def test_delete_status(self, store):
        """delete_status forgets one status; deleting none is no error."""
        await store.set_status(status())
        await store.set_status(status("other"))
        await store.delete_status("phd2", "rig")
        await store.delete_status("phd2", "never")
        assert list(await store.statuses()) == [("phd2", "other")]
        await store.set_status(status())  # written again after the delete
        assert ("phd2", "rig") in await store.statuses()

    async def test_deleting_target_deletes_status(self, store):
        """Deleting a target removes its status row too."""
        await store.create("phd2", "rig", {})
        await store.set_status(status())
        await store.delete("phd2", "rig")
        assert await store.statuses() == {}
        await store.set_status(status())
        assert ("phd2", "rig") in await store.statuses()

    async def test_status_writes_leave_change_token(self, store):
        """Status writes are not target writes: the change token stays."""
        token = await store.change_token()
        await store.set_status(status())
        await store.delete_status("phd2", "rig")
        assert await store.change_token() == token

    async def test_survives_reopen(self, store, location, key_file):
        """A status written before a restart is there after it."""
        await store.set_status(status())
        reopened = await TargetStore.open(location, key_file=key_file)
        try:
            assert await reopened.statuses() == {("phd2", "rig"): status()}
        finally:
            await reopened.close()

    async def test_readable_with_plain_sql(self, store, location):
        """A sqlite3 or psql user reads the status with a plain SELECT."""
        await store.set_status(
            status(last_error="timed out", last_error_kind="timeout")
        )
        rows = await raw_query(
            location,
            "SELECT kind, name, link, last_error_kind, last_error FROM target_status",
        )
        assert rows == [("phd2", "rig", "connected", "timeout", "timed out")]
