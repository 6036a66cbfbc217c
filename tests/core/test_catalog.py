"""The catalog: file and stored targets, validation, secrets, shadowing, export/import.

Every test runs on a real store, SQLite and PostgreSQL; a second ``TargetStore`` on
the same database plays another process or replica.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from exporterhub.core.catalog import (
    EXPORT_VERSION,
    Catalog,
    InvalidTargetError,
    TargetConflictError,
    UnknownTargetError,
    check_name,
    redacted,
)
from exporterhub.core.errors import ConfigError
from exporterhub.core.store import TargetStore

from .helpers import DEMO_KIND, VALIDATIONS, finder, stored_demo_target

SECRET = "s3cret-catalog-7f2a"


@pytest.fixture
async def catalog(store) -> Catalog:
    found = Catalog({"demo": DEMO_KIND}, store)
    await found.load()
    return found


@pytest.fixture
def bare() -> Catalog:
    """A catalog without a store (validation needs none)."""
    return Catalog({"demo": DEMO_KIND}, None)


@pytest.fixture
async def other(location, key_file) -> AsyncIterator[TargetStore]:
    """Another process's connection to the same store."""
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield opened
    finally:
        await opened.close()


def fields(info: pytest.ExceptionInfo[InvalidTargetError]) -> list[str]:
    return [p.field for p in info.value.problems]


class TestNames:
    """Names are printable text without surrounding spaces, at most 128 long."""

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("rig", id="plain"),
            pytest.param("Guide rig #2 (roof)", id="spaces-inside"),
            pytest.param("Dach-Schüssel", id="unicode"),
            pytest.param("x" * 128, id="128-long"),
        ],
    )
    def test_valid(self, name):
        """Printable names up to 128 characters are taken as they are."""
        assert check_name(name) == name

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            pytest.param("", "a non-empty string is required", id="empty"),
            pytest.param(7, "a non-empty string is required", id="not-a-string"),
            pytest.param("x" * 129, "at most 128 characters", id="too-long"),
            pytest.param(" rig", "no leading or trailing spaces", id="leading"),
            pytest.param("rig\u3000", "no leading or trailing spaces", id="trailing"),
            pytest.param("rig\t", "no control characters", id="tab"),
            pytest.param("a\nb", "no control characters", id="newline"),
            pytest.param("a\x00b", "no control characters", id="nul"),
        ],
    )
    def test_invalid(self, name, message):
        """Each bad name is refused with the field "name" and why."""
        with pytest.raises(InvalidTargetError) as info:
            check_name(name)
        assert [(p.field, p.message) for p in info.value.problems] == [
            ("name", message)
        ]


class TestValidation:
    """Settings are validated by the kind's own model; problems are dotted paths."""

    def test_valid_settings_become_the_stored_form(self, bare):
        """Defaults are filled in, the name left out, secrets kept as SecretStr."""
        target, stored = bare.validate("demo", "rig", {"password": SECRET})
        assert target.name == "rig"
        assert target.settings.password.get_secret_value() == SECRET
        assert "name" not in stored
        assert stored["port"] == 1
        assert isinstance(stored["password"], SecretStr)

    def test_each_bad_field_by_dotted_path(self, bare):
        """Every bad field is named under settings., nested ones with dots."""
        with pytest.raises(InvalidTargetError) as info:
            bare.validate(
                "demo",
                "rig",
                {
                    "port": 0,
                    "bogus": 1,
                    "extra": {"window": 0, "accounts": [{"password": "x"}]},
                },
            )
        assert sorted(fields(info)) == [
            "settings.bogus",
            "settings.extra.accounts.0.user",
            "settings.extra.window",
            "settings.port",
        ]

    def test_unknown_kind_names_the_known_ones(self, bare):
        """An unknown kind is the field "kind", listing the kinds there are."""
        with pytest.raises(InvalidTargetError) as info:
            bare.validate("nope", "rig", {})
        assert fields(info) == ["kind"]
        assert "known: demo" in info.value.problems[0].message

    def test_settings_must_be_an_object(self, bare):
        """Settings that are not an object are refused as "settings"."""
        with pytest.raises(InvalidTargetError) as info:
            bare.validate("demo", "rig", ["port", 1])  # type: ignore[arg-type]
        assert fields(info) == ["settings"]

    def test_model_rule_is_settings(self, bare):
        """A rule over the whole model (no field of its own) is named "settings"."""
        with pytest.raises(InvalidTargetError) as info:
            bare.validate("demo", "rig", {"value": 13})
        assert [(p.field, p.message) for p in info.value.problems] == [
            ("settings", "13 is not a value this demo takes")
        ]


class TestWrites:
    """Create, replace, patch and delete go to the store and into the entries."""

    async def test_create_stores_and_lists(self, catalog, other):
        """A created target is stored at revision 1 and listed as from the store."""
        entry = await catalog.create("demo", "rig", {"value": 2.5}, enabled=True)
        assert (entry.source, entry.revision, entry.enabled) == ("store", 1, True)
        assert entry.target is not None
        assert entry.target.settings.value == 2.5
        row = await other.get("demo", "rig")
        assert row is not None
        assert row.settings["value"] == 2.5
        assert [e.name for e in catalog.entries()] == ["rig"]

    async def test_a_write_validates_only_its_own_row(self, catalog, other):
        """Writes and reloads do not validate the unchanged rows again."""
        for n in range(30):
            await other.create(
                "demo", f"t{n}", DEMO_KIND.settings(DEMO_KIND.target(f"t{n}", {}))
            )
        await catalog.load()
        VALIDATIONS.clear()
        await catalog.create("demo", "new", {}, enabled=True)
        await catalog.patch("demo", "t7", {"value": 2.0}, enabled=None, revision=1)
        await catalog.load()
        assert set(VALIDATIONS) == {"new", "t7"}

    async def test_create_invalid_stores_nothing(self, catalog, other):
        """An invalid target is refused before the store is touched."""
        with pytest.raises(InvalidTargetError):
            await catalog.create("demo", "rig", {"port": 70000}, enabled=True)
        assert await other.list() == []

    async def test_create_taken_name_is_a_conflict(self, catalog):
        """A second target of the same kind and name is refused."""
        await catalog.create("demo", "rig", {}, enabled=True)
        with pytest.raises(TargetConflictError, match="exists already"):
            await catalog.create("demo", "rig", {"value": 3}, enabled=True)

    async def test_create_over_a_file_target_is_a_conflict(self, catalog, other):
        """A name a file declares cannot be stored."""
        catalog.set_file_targets([stored_demo_target("rig")])
        with pytest.raises(TargetConflictError, match="configuration file"):
            await catalog.create("demo", "rig", {}, enabled=True)
        assert await other.list() == []

    async def test_replace_checks_the_revision(self, catalog):
        """A replace naming a stale revision is refused with the current one."""
        await catalog.create("demo", "rig", {}, enabled=True)
        first = await catalog.replace(
            "demo", "rig", {"value": 2}, enabled=True, revision=1
        )
        assert first.revision == 2
        with pytest.raises(TargetConflictError) as info:
            await catalog.replace("demo", "rig", {"value": 3}, enabled=True, revision=1)
        assert info.value.revision == 2
        entry = catalog.entry("demo", "rig")
        assert entry is not None
        assert entry.settings["value"] == 2

    async def test_replace_sees_another_process_write(self, catalog, other):
        """A revision moved on by another process is a conflict, then reloaded."""
        await catalog.create("demo", "rig", {}, enabled=True)
        row = await other.get("demo", "rig")
        assert row is not None
        await other.update("demo", "rig", row.settings, enabled=False, revision=1)
        with pytest.raises(TargetConflictError) as info:
            await catalog.replace("demo", "rig", {}, enabled=True, revision=1)
        assert info.value.revision == 2
        entry = catalog.entry("demo", "rig")
        assert entry is not None
        assert (entry.revision, entry.enabled) == (2, False)

    async def test_replace_of_a_row_deleted_elsewhere_is_unknown(self, catalog, other):
        """A target another process deleted is unknown to a replace."""
        await catalog.create("demo", "rig", {}, enabled=True)
        await other.delete("demo", "rig")
        with pytest.raises(UnknownTargetError):
            await catalog.replace("demo", "rig", {}, enabled=True, revision=1)
        assert catalog.entry("demo", "rig") is None

    async def test_unknown_and_file_targets_cannot_change(self, catalog):
        """Changing a missing target is unknown; changing a file target a conflict."""
        catalog.set_file_targets([stored_demo_target("from-file")])
        with pytest.raises(UnknownTargetError):
            await catalog.patch("demo", "nope", None, enabled=False, revision=None)
        with pytest.raises(TargetConflictError, match="configuration file"):
            await catalog.patch("demo", "from-file", None, enabled=False, revision=None)
        with pytest.raises(UnknownTargetError):
            await catalog.delete("demo", "nope", revision=None)

    async def test_patch_merges_and_toggles(self, catalog):
        """A patch deep-merges settings and sets enabled; the rest is kept."""
        await catalog.create(
            "demo", "rig", {"value": 2, "extra": {"window": 5}}, enabled=True
        )
        entry = await catalog.patch(
            "demo", "rig", {"extra": {"token": "t"}}, enabled=False, revision=None
        )
        assert entry.enabled is False
        assert entry.settings["value"] == 2
        assert entry.settings["extra"]["window"] == 5
        assert entry.settings["extra"]["token"].get_secret_value() == "t"
        assert entry.revision == 2
        assert catalog.wanted() == []

    async def test_delete_checks_the_revision(self, catalog, other):
        """A delete naming a stale revision is refused; a current one deletes."""
        await catalog.create("demo", "rig", {}, enabled=True)
        await catalog.patch("demo", "rig", {"value": 9}, enabled=None, revision=None)
        with pytest.raises(TargetConflictError) as info:
            await catalog.delete("demo", "rig", revision=1)
        assert info.value.revision == 2
        await catalog.delete("demo", "rig", revision=2)
        assert catalog.entries() == []
        assert await other.list() == []

    async def test_delete_of_a_row_deleted_elsewhere_is_unknown(self, catalog, other):
        """Deleting what another process deleted already is unknown, then forgotten."""
        await catalog.create("demo", "rig", {}, enabled=True)
        await other.delete("demo", "rig")
        with pytest.raises(UnknownTargetError):
            await catalog.delete("demo", "rig", revision=None)
        assert catalog.entry("demo", "rig") is None

    async def test_without_a_store_nothing_can_be_added(self):
        """A process on files alone refuses writes and says how to get a store."""
        catalog = Catalog({"demo": DEMO_KIND}, None)
        await catalog.load()
        await catalog.reload_one("demo", "rig")
        with pytest.raises(TargetConflictError, match="--store"):
            await catalog.create("demo", "rig", {}, enabled=True)
        with pytest.raises(TargetConflictError, match="--store"):
            await catalog.import_targets(
                [{"kind": "demo", "name": "rig"}], dry_run=False
            )


class TestSecrets:
    """Secrets are write-only: kept when left out, cleared only by an empty string."""

    async def create(self, catalog) -> None:
        await catalog.create(
            "demo",
            "rig",
            {
                "password": SECRET,
                "extra": {
                    "token": "tok-1",
                    "accounts": [{"user": "a", "password": "pa"}],
                },
            },
            enabled=True,
        )

    def secrets(self, catalog) -> dict[str, str]:
        entry = catalog.entry("demo", "rig")
        settings = entry.target.settings
        return {
            "password": settings.password.get_secret_value(),
            "token": settings.extra.token.get_secret_value(),
            "account": settings.extra.accounts[0].password.get_secret_value(),
        }

    async def test_replace_keeps_omitted_and_null_secrets(self, catalog, other):
        """A replace without the secrets (absent or null) keeps every stored one."""
        await self.create(catalog)
        await catalog.replace(
            "demo",
            "rig",
            {
                "value": 4,
                "password": None,
                "extra": {"accounts": [{"user": "a"}, {"user": "b"}]},
            },
            enabled=True,
            revision=1,
        )
        assert self.secrets(catalog) == {
            "password": SECRET,
            "token": "tok-1",
            "account": "pa",
        }
        row = await other.get("demo", "rig")
        assert row is not None
        assert row.settings["password"].get_secret_value() == SECRET
        assert row.settings["value"] == 4
        accounts = row.settings["extra"]["accounts"]
        assert accounts[1]["password"].get_secret_value() == ""

    async def test_replace_keeps_the_secrets_of_an_omitted_section(self, catalog):
        """A section left out keeps its secrets; its other fields take defaults."""
        await catalog.create(
            "demo", "rig", {"extra": {"token": "tok-1", "window": 7}}, enabled=True
        )
        entry = await catalog.replace(
            "demo", "rig", {"value": 2}, enabled=True, revision=1
        )
        assert entry.target is not None
        extra = entry.target.settings.extra
        assert (extra.token.get_secret_value(), extra.window) == ("tok-1", 10)

    async def test_replace_can_change_and_clear(self, catalog):
        """A new value replaces a secret; an empty string clears it."""
        await self.create(catalog)
        await catalog.replace(
            "demo",
            "rig",
            {"password": "", "extra": {"token": "tok-2"}},
            enabled=True,
            revision=1,
        )
        entry = catalog.entry("demo", "rig")
        assert entry is not None
        settings = entry.target.settings
        assert settings.password.get_secret_value() == ""
        assert settings.extra.token.get_secret_value() == "tok-2"
        assert settings.extra.accounts == ()  # a list left out is replaced

    async def test_patch_null_keeps_a_secret(self, catalog):
        """A patch sending null for a secret keeps it; other fields change."""
        await self.create(catalog)
        await catalog.patch(
            "demo",
            "rig",
            {"password": None, "value": 3},
            enabled=None,
            revision=1,
        )
        assert self.secrets(catalog)["password"] == SECRET
        entry = catalog.entry("demo", "rig")
        assert entry is not None
        assert entry.settings["value"] == 3

    def test_redacted_says_only_whether_set(self):
        """redacted() turns every secret into null and reports set or not by path."""
        tree = {
            "password": SecretStr(SECRET),
            "extra": {
                "token": SecretStr(""),
                "accounts": [{"user": "a", "password": SecretStr("x")}],
            },
        }
        shown, secrets = redacted(tree)
        assert SECRET not in repr(shown)
        assert shown["password"] is None
        assert secrets == {
            "password": True,
            "extra.token": False,
            "extra.accounts.0.password": True,
        }


class TestShadowing:
    """A file target of a stored target's kind and name wins; the row is shadowed."""

    async def test_file_target_shadows_a_stored_one(self, catalog):
        """The file entry is the one served; the stored row is listed as shadowed."""
        await catalog.create("demo", "rig", {"value": 1}, enabled=True)
        catalog.set_file_targets([stored_demo_target("rig", value=7)])
        entry = catalog.entry("demo", "rig")
        assert entry is not None
        assert entry.source == "file"
        assert [(e.source, e.shadowed) for e in catalog.entries()] == [
            ("file", False),
            ("store", True),
        ]
        assert [(e.name, e.settings["value"]) for e in catalog.shadowed()] == [
            ("rig", 1)
        ]
        wanted = catalog.wanted()
        assert [(t.name, t.settings.value) for t in wanted] == [("rig", 7)]

    async def test_stored_row_of_a_shadowed_target_stays_writable_after(self, catalog):
        """Once the file drops the name, the stored row runs again."""
        await catalog.create("demo", "rig", {"value": 1}, enabled=True)
        catalog.set_file_targets([stored_demo_target("rig", value=7)])
        catalog.set_file_targets([])
        assert [t.settings.value for t in catalog.wanted()] == [1]
        assert catalog.shadowed() == []

    async def test_shadowed_row_cannot_be_changed(self, catalog):
        """A write to a shadowed stored row is a conflict (change the file)."""
        await catalog.create("demo", "rig", {}, enabled=True)
        catalog.set_file_targets([stored_demo_target("rig")])
        with pytest.raises(TargetConflictError, match="configuration file"):
            await catalog.replace("demo", "rig", {}, enabled=True, revision=1)
        with pytest.raises(TargetConflictError, match="configuration file"):
            await catalog.delete("demo", "rig", revision=None)

    def test_duplicate_file_targets_are_refused(self):
        """Two file targets of one kind and name are a configuration error."""
        catalog = Catalog({"demo": DEMO_KIND}, None)
        with pytest.raises(ConfigError, match="duplicate target name demo/a"):
            catalog.set_file_targets([stored_demo_target("a"), stored_demo_target("a")])

    def test_discovery_sources_run_beside_targets(self):
        """A discovery source of the same name as a target is kept apart."""
        catalog = Catalog({"demo": DEMO_KIND}, None)
        source = finder("a")
        catalog.set_file_targets([stored_demo_target("a"), source])
        assert [e.name for e in catalog.entries()] == ["a"]
        assert source in catalog.wanted()


class TestInvalidRows:
    """A stored row that no longer validates is listed as invalid, never run."""

    async def test_row_failing_its_model(self, catalog, other):
        """A row another version wrote with a bad value names the field."""
        await other.create("demo", "bad", {"port": 0})
        await catalog.load()
        entry = catalog.entry("demo", "bad")
        assert entry is not None
        assert entry.invalid is not None
        assert entry.invalid.startswith("port: ")
        assert catalog.wanted() == []

    async def test_row_of_an_unknown_kind(self, catalog, other):
        """A row of a kind this version lacks is invalid, with the kind named."""
        await other.create("gone", "x", {})
        await catalog.load()
        entry = catalog.entry("gone", "x")
        assert entry is not None
        assert entry.invalid == "unknown kind 'gone' (an exporter this version lacks)"


class TestExport:
    """An export holds stored targets only, secrets only when asked."""

    async def test_without_secrets(self, catalog):
        """By default secrets are left out entirely; file targets are not exported."""
        catalog.set_file_targets([stored_demo_target("from-file")])
        await catalog.create(
            "demo",
            "rig",
            {
                "password": SECRET,
                "extra": {"accounts": [{"user": "a", "password": "x"}]},
            },
            enabled=False,
        )
        document = catalog.export(include_secrets=False)
        assert document["version"] == EXPORT_VERSION
        assert SECRET not in repr(document)
        [target] = document["targets"]
        assert (target["kind"], target["name"], target["enabled"]) == (
            "demo",
            "rig",
            False,
        )
        assert "password" not in target["settings"]
        assert target["settings"]["extra"]["accounts"] == [{"user": "a"}]

    async def test_with_secrets(self, catalog):
        """Asked for, secrets are in the document as plain strings."""
        await catalog.create("demo", "rig", {"password": SECRET}, enabled=True)
        [target] = catalog.export(include_secrets=True)["targets"]
        assert target["settings"]["password"] == SECRET


class TestImport:
    """An import validates every entry, then stores the new valid ones."""

    async def test_report_per_entry(self, catalog, other):
        """Imported, skipped (stored, file, repeated) and errors, each by entry."""
        catalog.set_file_targets([stored_demo_target("from-file")])
        await catalog.create("demo", "stored", {}, enabled=True)
        report = await catalog.import_targets(
            [
                {"kind": "demo", "name": "new", "settings": {"value": 5}},
                {"kind": "demo", "name": "off", "enabled": False},
                {"kind": "demo", "name": "stored"},
                {"kind": "demo", "name": "from-file"},
                {"kind": "demo", "name": "new"},
                {"kind": "demo", "name": "bad", "settings": {"port": -1}},
                {"kind": "nope", "name": "x"},
                {"kind": 3, "name": "x"},
                {"kind": "demo", "name": " x"},
                {"kind": "demo", "name": "y", "enabled": "yes"},
                "not an object",
            ],
            dry_run=False,
        )
        assert report.imported == ["demo/new", "demo/off"]
        assert report.skipped == ["demo/stored", "demo/from-file", "demo/new"]
        assert [
            (e["index"], [f["field"] for f in e["fields"]]) for e in report.errors
        ] == [
            (5, ["settings.port"]),
            (6, ["kind"]),
            (7, ["kind"]),
            (8, ["name"]),
            (9, ["enabled"]),
            (10, ["(entry)"]),
        ]
        stored = {t.name: t for t in await other.list("demo")}
        assert sorted(stored) == ["new", "off", "stored"]
        assert stored["new"].settings["value"] == 5
        assert stored["off"].enabled is False

    async def test_dry_run_stores_nothing(self, catalog, other):
        """A dry run reports what it would import and writes nothing."""
        report = await catalog.import_targets(
            [{"kind": "demo", "name": "a"}, {"kind": "demo", "name": "b"}],
            dry_run=True,
        )
        assert (report.dry_run, report.imported) == (True, ["demo/a", "demo/b"])
        assert await other.list() == []
        assert catalog.entries() == []

    async def test_name_taken_meanwhile_is_skipped(self, catalog, other):
        """A name another process stored after our last read is skipped, not lost."""
        await other.create("demo", "raced", {"value": 9})
        report = await catalog.import_targets(
            [{"kind": "demo", "name": "raced"}, {"kind": "demo", "name": "fresh"}],
            dry_run=False,
        )
        assert report.imported == ["demo/fresh"]
        assert report.skipped == ["demo/raced"]
        row = await other.get("demo", "raced")
        assert row is not None
        assert row.settings["value"] == 9

    async def test_round_trip_keeps_secrets(
        self, catalog, location, key_file, tmp_path
    ):
        """An export with secrets imported into an empty store gives equal targets."""
        await catalog.create(
            "demo", "rig", {"password": SECRET, "value": 2}, enabled=False
        )
        document = catalog.export(include_secrets=True)
        fresh = await TargetStore.open(
            str(tmp_path / "second.db"), key_file=tmp_path / "second.key"
        )
        try:
            second = Catalog({"demo": DEMO_KIND}, fresh)
            await second.load()
            report = await second.import_targets(document["targets"], dry_run=False)
            assert report.imported == ["demo/rig"]
            before, after = catalog.entry("demo", "rig"), second.entry("demo", "rig")
            assert before is not None
            assert after is not None
            assert after.target == before.target
            assert after.enabled is False
        finally:
            await fresh.close()
