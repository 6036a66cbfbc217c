"""The control plane's REST API over real HTTP, with a real store on both dialects.

``/api/kinds``, ``/api/targets`` (create, read, replace, patch, delete, filters),
``/api/export``, ``/api/import``, ``/api/sd`` and ``/probe``: status codes, the one
JSON error shape, secrets write-only, and workers started and stopped at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from exporterhub.core.store import TargetStore, generate_key

from .helpers import (
    DEMO_KIND,
    StoredDemoPlugin,
    StoredDiscoveringDemoPlugin,
    finder,
    settle,
)
from .helpers import stored_demo_target as file_target
from .plane import PASSWORD, USER, Plane, basic_auth, serving

SECRET = "zebra-api-secret-51c0"


@pytest.fixture
def plugin() -> StoredDemoPlugin:
    return StoredDemoPlugin()


@pytest.fixture
async def plane(store, plugin, clock) -> AsyncIterator[Plane]:
    async with serving(store, plugin, clock, files=[file_target("from-file")]) as p:
        await settle(lambda: plugin.started("from-file") == 1)
        yield p


@pytest.fixture
async def quick(plugin, clock, tmp_path) -> AsyncIterator[Plane]:
    """The same plane on SQLite alone, for what does not depend on the dialect."""
    store = await TargetStore.open(
        str(tmp_path / "quick.db"), key_file=tmp_path / "quick.key"
    )
    try:
        async with serving(
            store, plugin, clock, files=[file_target("from-file")]
        ) as served:
            await settle(lambda: plugin.started("from-file") == 1)
            yield served
    finally:
        await store.close()


@pytest.fixture
async def other(location, key_file) -> AsyncIterator[TargetStore]:
    """Another process's connection to the same store."""
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield opened
    finally:
        await opened.close()


def error_shape(response, status: int, error: str) -> dict[str, Any]:
    """Check the one JSON error shape; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == error
    assert "Traceback" not in response.text
    return body


def field_names(body: dict[str, Any]) -> list[str]:
    return sorted(f["field"] for f in body["fields"])


class TestKinds:
    """/api/kinds describes each kind with the schema its forms are built from."""

    async def test_storable_kind_with_schema(self, quick):
        """The demo kind is storable; its schema has no name and secrets writeOnly."""
        [kind] = (await quick.client.get("/api/kinds")).json()
        assert (kind["kind"], kind["title"], kind["storable"]) == (
            "demo",
            "Demo device",
            True,
        )
        assert kind["key_metrics"] == ["demo_value"]
        schema = kind["settings_schema"]
        assert "name" not in schema["properties"]
        assert schema["properties"]["password"]["writeOnly"] is True

    async def test_not_storable_without_a_store(self, plugin, clock):
        """Without a store nothing is storable and a create says how to get one."""
        async with serving(None, plugin, clock) as plane:
            [kind] = (await plane.client.get("/api/kinds")).json()
            assert kind["storable"] is False
            response = await plane.client.post(
                "/api/targets", json={"kind": "demo", "name": "rig"}
            )
            body = error_shape(response, 409, "conflict")
            assert "--store" in body["detail"]
            document = {"targets": [{"kind": "demo", "name": "rig"}]}
            dry = await plane.client.post("/api/import?dry_run=true", json=document)
            assert dry.json()["imported"] == ["demo/rig"]
            response = await plane.client.post("/api/import", json=document)
            assert "--store" in error_shape(response, 409, "conflict")["detail"]


class TestCreate:
    """POST /api/targets validates, stores, answers 201 and starts the worker."""

    async def test_created_and_running(self, plane, plugin, other):
        """The answer has source, revision and secrets set; the worker runs at once."""
        answer = await plane.create("rig", settings={"value": 3.0, "password": SECRET})
        assert answer["source"] == "store"
        assert (answer["enabled"], answer["revision"]) == (True, 1)
        assert answer["settings"]["password"] is None
        assert answer["secrets"] == {"password": True, "extra.token": False}
        assert SECRET not in str(answer)
        await settle(lambda: plugin.started("rig") == 1)
        read = (await plane.client.get("/api/targets/demo/rig")).json()
        assert (read["link"], read["up"], read["labels"]) == (
            "connected",
            True,
            {"target": "rig"},
        )
        assert read["last_success"] == plane.clock.time()
        assert read["last_error"] is None
        row = await other.get("demo", "rig")
        assert row is not None
        assert row.settings["password"].get_secret_value() == SECRET

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            pytest.param(
                {"kind": "demo", "name": "x", "settings": {"port": 0}},
                ["settings.port"],
                id="bad-setting",
            ),
            pytest.param(
                {
                    "kind": "demo",
                    "name": "x",
                    "settings": {"extra": {"window": 0}, "bogus": True},
                },
                ["settings.bogus", "settings.extra.window"],
                id="nested-and-unknown",
            ),
            pytest.param(
                {"kind": "demo", "name": "x", "settings": {"value": 13}},
                ["settings"],
                id="model-rule",
            ),
            pytest.param({"kind": "nope", "name": "x"}, ["kind"], id="unknown-kind"),
            pytest.param({"kind": "demo", "name": " x"}, ["name"], id="bad-name"),
            pytest.param({"name": "x"}, ["kind"], id="no-kind"),
            pytest.param(
                {"kind": "demo", "name": "x", "owner": "me"}, ["owner"], id="extra-key"
            ),
            pytest.param(
                {"kind": "demo", "name": "x", "settings": [1]},
                ["settings"],
                id="settings-not-object",
            ),
            pytest.param(
                {"kind": "demo", "name": "x", "enabled": "yes"},
                ["enabled"],
                id="enabled-not-bool",
            ),
        ],
    )
    async def test_invalid_is_400_naming_each_field(self, quick, plugin, body, fields):
        """Each bad field is named by dotted path; nothing is stored or started."""
        response = await quick.client.post("/api/targets", json=body)
        assert field_names(error_shape(response, 400, "invalid_body")) == fields
        assert await quick.control.store.list() == []
        assert plugin.started("x") == 0

    async def test_malformed_json(self, quick):
        """A body that is not JSON is a 400 saying so."""
        response = await quick.client.post(
            "/api/targets",
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        )
        error_shape(response, 400, "malformed_json")

    async def test_body_over_the_limit_is_413(self, quick):
        """A body over 16 MiB is refused, declared or streamed, and never parsed."""
        big = b" " * (16 * 1024 * 1024 + 1)
        response = await quick.client.post(
            "/api/targets",
            content=big,
            headers={"Content-Type": "application/json"},
        )
        error_shape(response, 413, "body_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(17):
                yield b" " * (1024 * 1024)

        response = await quick.client.post(
            "/api/targets",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        error_shape(response, 413, "body_too_large")

    async def test_taken_name_and_file_name_are_409(self, plane):
        """A stored name again, or a name a file declares, is a conflict."""
        await plane.create("rig")
        for name in ("rig", "from-file"):
            response = await plane.client.post(
                "/api/targets", json={"kind": "demo", "name": name}
            )
            error_shape(response, 409, "conflict")

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({"Content-Type": "text/plain"}, id="text"),
            pytest.param(
                {"Content-Type": "application/x-www-form-urlencoded"}, id="form"
            ),
        ],
    )
    async def test_non_json_is_415(self, quick, headers):
        """A body that does not say it is JSON is refused before it is read."""
        response = await quick.client.post(
            "/api/targets",
            content=b'{"kind": "demo", "name": "x"}',
            headers=headers,
        )
        error_shape(response, 415, "unsupported_media_type")
        assert await quick.control.store.list() == []


class TestReplace:
    """PUT replaces a stored target whole, at the revision the caller read."""

    async def test_stale_revision_is_409_and_changes_nothing(self, plane):
        """Two browsers read revision 1; the second PUT is refused, the first kept."""
        await plane.create("rig")
        first = await plane.client.put(
            "/api/targets/demo/rig", json={"settings": {"value": 2.0}, "revision": 1}
        )
        assert first.status_code == 200
        assert first.json()["revision"] == 2
        second = await plane.client.put(
            "/api/targets/demo/rig", json={"settings": {"value": 9.0}, "revision": 1}
        )
        body = error_shape(second, 409, "conflict")
        assert "revision 2" in body["detail"]
        read = (await plane.client.get("/api/targets/demo/rig")).json()
        assert (read["revision"], read["settings"]["value"]) == (2, 2.0)
        assert await plane.values() == {"from-file": 1.0, "rig": 2.0}

    async def test_omitted_secrets_are_kept(self, plane, plugin, other):
        """A PUT without the password keeps it, in the store and in the worker."""
        await plane.create("rig", settings={"password": SECRET})
        response = await plane.client.put(
            "/api/targets/demo/rig",
            json={"settings": {"value": 5.0, "password": None}, "revision": 1},
        )
        assert response.status_code == 200, response.text
        assert response.json()["secrets"]["password"] is True
        [running] = [t for t in plane.state.runner.targets if t.name == "rig"]
        assert running.settings.password.get_secret_value() == SECRET
        assert running.settings.value == 5.0
        row = await other.get("demo", "rig")
        assert row is not None
        assert row.settings["password"].get_secret_value() == SECRET

    async def test_invalid_changes_nothing(self, plane):
        """An invalid PUT is a 400 naming the field; the revision stays."""
        await plane.create("rig")
        response = await plane.client.put(
            "/api/targets/demo/rig", json={"settings": {"port": "x"}, "revision": 1}
        )
        assert field_names(error_shape(response, 400, "invalid_body")) == [
            "settings.port"
        ]
        response = await plane.client.put(
            "/api/targets/demo/rig", json={"settings": {}}
        )
        assert field_names(error_shape(response, 400, "invalid_body")) == ["revision"]
        read = (await plane.client.get("/api/targets/demo/rig")).json()
        assert read["revision"] == 1

    async def test_unknown_file_and_foreign_targets(self, plane):
        """Unknown is 404; a file target 409; a kind the store lacks 404."""
        body = {"settings": {}, "revision": 1}
        error_shape(
            await plane.client.put("/api/targets/demo/nope", json=body),
            404,
            "not_found",
        )
        error_shape(
            await plane.client.put("/api/targets/demo/from-file", json=body),
            409,
            "conflict",
        )
        error_shape(
            await plane.client.put("/api/targets/other/x", json=body),
            404,
            "not_found",
        )
        error_shape(await plane.client.get("/api/targets/demo/nope"), 404, "not_found")
        error_shape(await plane.client.get("/api/targets/other/x"), 404, "not_found")

    async def test_file_target_reads_as_file(self, quick):
        """A file target is read-only: source file, no revision."""
        read = (await quick.client.get("/api/targets/demo/from-file")).json()
        assert (read["source"], read["revision"], read["up"]) == ("file", None, True)


class TestPatch:
    """PATCH enables, disables and edits; the worker follows at once."""

    async def test_disable_and_enable(self, plane, plugin):
        """Disabled, the worker stops and its series vanish; enabled, both return."""
        await plane.create("rig", settings={"value": 4.0})
        await settle(lambda: plugin.started("rig") == 1)
        assert await plane.values() == {"from-file": 1.0, "rig": 4.0}

        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"enabled": False}
        )
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is False
        assert plugin.finished == ["rig"]
        assert await plane.values() == {"from-file": 1.0}
        probe = await plane.client.get("/probe", params={"target": "demo/rig"})
        error_shape(probe, 400, "bad_request")
        disabled = (await plane.client.get("/api/targets?state=disabled")).json()
        assert [t["name"] for t in disabled] == ["rig"]

        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"enabled": True, "revision": 2}
        )
        assert response.status_code == 200, response.text
        await settle(lambda: plugin.started("rig") == 2)
        assert await plane.values() == {"from-file": 1.0, "rig": 4.0}

    async def test_edit_merges_and_restarts(self, plane, plugin):
        """A settings patch merges into the stored ones and restarts the worker."""
        await plane.create("rig", settings={"value": 4.0, "port": 4400})
        await settle(lambda: plugin.started("rig") == 1)
        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"settings": {"value": 6.0}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"]["port"] == 4400
        await settle(lambda: plugin.started("rig") == 2)
        assert (await plane.values())["rig"] == 6.0

    async def test_bad_patch(self, plane):
        """A bad value is 400 by field; a stale revision 409; a bad key 400."""
        await plane.create("rig")
        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"settings": {"extra": {"window": -1}}}
        )
        assert field_names(error_shape(response, 400, "invalid_body")) == [
            "settings.extra.window"
        ]
        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"enabled": False, "revision": 5}
        )
        error_shape(response, 409, "conflict")
        response = await plane.client.patch(
            "/api/targets/demo/rig", json={"enable": False}
        )
        assert field_names(error_shape(response, 400, "invalid_body")) == ["enable"]


class TestList:
    """GET /api/targets lists every target with its state; filters by kind, state."""

    async def test_filters(self, store, other, plugin, clock):
        """Each state filter returns exactly the targets in that state."""
        await other.create("demo", "broken", {"port": 0})  # an older rule's row
        async with serving(store, plugin, clock, files=[file_target("f")]) as plane:
            await plane.create("on")
            await plane.create("off", enabled=False)
            await plane.create("crashy", settings={"crash": True})
            await settle(lambda: plugin.started("crashy") == 1)
            await settle(lambda: plane.control.record("demo", "crashy").attempted)

            async def names(query: str) -> list[str]:
                response = await plane.client.get(f"/api/targets{query}")
                assert response.status_code == 200, response.text
                return [t["name"] for t in response.json()]

            assert await names("") == ["f", "broken", "crashy", "off", "on"]
            assert await names("?state=up") == ["f", "on"]
            assert await names("?state=down") == ["crashy"]
            assert await names("?state=disabled") == ["off"]
            assert await names("?state=invalid") == ["broken"]
            assert await names("?kind=demo&state=up") == ["f", "on"]
            assert await names("?kind=phd2") == []
            every = (await plane.client.get("/api/targets")).json()
            for answer in every:
                assert {
                    "source",
                    "enabled",
                    "link",
                    "up",
                    "last_error",
                    "last_error_kind",
                    "last_success",
                } <= set(answer)
            [broken] = [a for a in every if a["name"] == "broken"]
            assert broken["invalid"].startswith("port: ")
            response = await plane.client.get("/api/targets?state=sleepy")
            assert field_names(error_shape(response, 400, "invalid_body")) == [
                "query.state"
            ]


class TestDiscovered:
    """Targets a discovery source finds are listed, read and scraped, not stored."""

    async def test_listed_as_discovery(self, clock, tmp_path):
        """A found target shows source discovery; it is in /api/sd; writes 404."""
        plugin = StoredDiscoveringDemoPlugin()
        store = await TargetStore.open(
            str(tmp_path / "d.db"), key_file=tmp_path / "d.key"
        )
        try:
            async with serving(
                store, plugin, clock, files=[finder("finder", "found")]
            ) as plane:
                await settle(lambda: plugin.started("found") == 1)
                listed = (await plane.client.get("/api/targets")).json()
                assert [(t["name"], t["source"]) for t in listed] == [
                    ("found", "discovery")
                ]
                read = await plane.client.get("/api/targets/demo/found")
                assert read.status_code == 200
                assert (read.json()["source"], read.json()["up"]) == (
                    "discovery",
                    True,
                )
                assert listed[0]["secrets"] == {"password": False, "extra.token": False}
                sd = (await plane.client.get("/api/sd")).json()
                assert [g["labels"]["__param_target"] for g in sd] == ["demo/found"]
                response = await plane.client.delete("/api/targets/demo/found")
                error_shape(response, 404, "not_found")
                assert plugin.started("found") == 1
        finally:
            await store.close()


class TestDelete:
    """DELETE removes a stored target; file targets and stale revisions cannot."""

    async def test_statuses(self, plane, other):
        """204 once; then 404; a stale revision 409; a file target 409."""
        await plane.create("rig")
        error_shape(
            await plane.client.delete("/api/targets/demo/rig?revision=7"),
            409,
            "conflict",
        )
        error_shape(
            await plane.client.delete("/api/targets/demo/rig?revision=0"),
            400,
            "invalid_body",
        )
        response = await plane.client.delete("/api/targets/demo/rig?revision=1")
        assert response.status_code == 204
        assert await other.list() == []
        error_shape(
            await plane.client.delete("/api/targets/demo/rig"), 404, "not_found"
        )
        error_shape(
            await plane.client.delete("/api/targets/demo/from-file"), 409, "conflict"
        )


class TestExport:
    """GET /api/export: stored targets; secrets only to an authenticated caller."""

    async def test_default_leaves_secrets_out(self, quick):
        """The default export has no secret and no file target; it is a download."""
        await quick.create("rig", settings={"password": SECRET}, enabled=False)
        response = await quick.client.get("/api/export")
        assert response.status_code == 200
        assert SECRET not in response.text
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["cache-control"] == "no-store"
        [target] = response.json()["targets"]
        assert (target["name"], target["enabled"]) == ("rig", False)
        assert "password" not in target["settings"]

    async def test_secrets_refused_without_auth(self, quick):
        """Asking for secrets without basic auth configured is 403."""
        await quick.create("rig", settings={"password": SECRET})
        response = await quick.client.get("/api/export?include_secrets=true")
        body = error_shape(response, 403, "forbidden")
        assert "basic_auth_users" in body["detail"]
        assert SECRET not in response.text

    async def test_secrets_to_an_authenticated_caller(self, store, plugin, clock):
        """With credentials the export holds the secrets; without them 401."""
        async with serving(store, plugin, clock, auth=basic_auth()) as plane:
            await plane.create("rig", settings={"password": SECRET})
            response = await plane.client.get("/api/export?include_secrets=true")
            assert response.status_code == 200
            [target] = response.json()["targets"]
            assert target["settings"]["password"] == SECRET
            anonymous = await plane.client.get(
                "/api/export?include_secrets=true", auth=None
            )
            error_shape(anonymous, 401, "unauthorized")
            wrong = await plane.client.get(
                "/api/export?include_secrets=true", auth=(USER, PASSWORD + "x")
            )
            error_shape(wrong, 401, "unauthorized")


class TestImport:
    """POST /api/import validates all, skips duplicates, reports each entry."""

    DOCUMENT: ClassVar[dict[str, Any]] = {
        "version": 1,
        "targets": [
            {"kind": "demo", "name": "a", "settings": {"value": 2.0}},
            {"kind": "demo", "name": "from-file"},
            {"kind": "demo", "name": "a"},
            {"kind": "demo", "name": "bad", "settings": {"port": 0}},
            {"kind": "demo", "name": "b", "enabled": False},
        ],
    }

    async def test_dry_run(self, quick, plugin):
        """A dry run reports, stores nothing and starts nothing."""
        response = await quick.client.post(
            "/api/import?dry_run=true", json=self.DOCUMENT
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["dry_run"] is True
        assert report["imported"] == ["demo/a", "demo/b"]
        assert await quick.control.store.list() == []
        assert plugin.started("a") == 0

    async def test_import(self, plane, plugin, other):
        """Valid new entries are stored and start; the rest reported per entry."""
        response = await plane.client.post("/api/import", json=self.DOCUMENT)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report == {
            "dry_run": False,
            "imported": ["demo/a", "demo/b"],
            "skipped": ["demo/from-file", "demo/a"],
            "errors": [
                {
                    "index": 3,
                    "kind": "demo",
                    "name": "bad",
                    "fields": [report["errors"][0]["fields"][0]],
                }
            ],
        }
        assert report["errors"][0]["fields"][0]["field"] == "settings.port"
        assert sorted(t.name for t in await other.list()) == ["a", "b"]
        await settle(lambda: plugin.started("a") == 1)
        assert plugin.started("b") == 0
        assert (await plane.values())["a"] == 2.0

    async def test_not_a_document(self, quick):
        """A body without a target list is a 400 naming it."""
        response = await quick.client.post("/api/import", json={"targets": "all"})
        assert field_names(error_shape(response, 400, "invalid_body")) == ["targets"]

    async def test_round_trip_with_secrets(self, store, plugin, clock, tmp_path):
        """An authenticated export imported elsewhere runs the same settings."""
        async with serving(store, plugin, clock, auth=basic_auth()) as plane:
            await plane.create("rig", settings={"password": SECRET, "value": 3.0})
            document = (await plane.client.get("/api/export?include_secrets=1")).json()
        fresh = await TargetStore.open(
            str(tmp_path / "b.db"), key_file=tmp_path / "b.key"
        )
        second = StoredDemoPlugin()
        try:
            async with serving(fresh, second, clock) as plane:
                response = await plane.client.post("/api/import", json=document)
                assert response.json()["imported"] == ["demo/rig"]
                await settle(lambda: second.started("rig") == 1)
                [target] = plane.state.runner.targets
                assert target.settings.password.get_secret_value() == SECRET
                assert await plane.values() == {"rig": 3.0}
        finally:
            await fresh.close()


class TestErrorShapes:
    """405, 404 and unexpected failures answer the JSON shape, never a traceback."""

    async def test_405_and_404(self, quick):
        """A wrong method names the allowed ones; an unknown path is 404."""
        response = await quick.client.delete("/api/targets")
        error_shape(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
        error_shape(await quick.client.get("/api/nope"), 404, "not_found")

    async def test_store_failure_is_a_json_500(self, plane, other, plugin):
        """A write the store refuses (key rotated elsewhere) is a logged JSON 500."""
        await other.rotate_key(generate_key())
        with capture_logs() as logs:
            response = await plane.client.post(
                "/api/targets", json={"kind": "demo", "name": "rig"}
            )
        body = error_shape(response, 500, "internal_error")
        assert body["detail"] == "The server failed; see its log."
        assert "SecretKeyError" not in response.text
        assert [e["event"] for e in logs if e["log_level"] == "error"] == [
            "request_failed"
        ]
        assert plugin.started("rig") == 0
        listed = await plane.client.get("/api/targets")
        assert listed.status_code == 200


def samples(text: str) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    return [
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


class TestProbe:
    """/probe answers one target's series; an unknown target is a JSON 400."""

    async def test_only_that_target(self, quick, plugin):
        """Only the named target's series, no self-metrics; unknown or none 400."""
        await quick.create("rig", settings={"value": 9.0})
        await settle(lambda: plugin.started("rig") == 1)
        response = await quick.client.get("/probe", params={"target": "demo/rig"})
        assert response.status_code == 200
        probed = samples(response.text)
        everything = samples((await quick.client.get("/metrics")).text)
        assert ("demo_value", (("target", "rig"),), 9.0) in probed
        assert probed == [s for s in everything if ("target", "rig") in s[1]]
        assert any(name.endswith("build_info") for name, _, _ in everything)
        assert {labels for _, labels, _ in everything} > {(("target", "rig"),)}
        for params in ({"target": "demo/nope"}, {"target": "rig"}, {}):
            response = await quick.client.get("/probe", params=params)
            error_shape(response, 400, "bad_request")


class TestServiceDiscovery:
    """/api/sd lists every running target for Prometheus to scrape via /probe."""

    async def test_groups(self, store, plugin, clock):
        """One group per enabled target, with its kind, name and /probe parameter."""
        async with serving(
            store, plugin, clock, files=[file_target("f")], external_address="hub:8750"
        ) as plane:
            await plane.create("on")
            await plane.create("off", enabled=False)
            response = await plane.client.get("/api/sd")
            assert response.status_code == 200
            assert response.json() == [
                {
                    "targets": ["hub:8750"],
                    "labels": {
                        "__metrics_path__": "/probe",
                        "__param_target": f"demo/{name}",
                        "__meta_exporterhub_kind": "demo",
                        "__meta_exporterhub_target": name,
                    },
                }
                for name in ("f", "on")
            ]

    async def test_address_is_the_requests_host(self, quick):
        """Without an external address the group names the Host Prometheus used."""
        response = await quick.client.get("/api/sd", headers={"Host": "exp:1234"})
        [group] = response.json()
        assert group["targets"] == ["exp:1234"]


def test_demo_kind_keeps_the_password_secret():
    """The stored demo kind's password is a SecretStr (what these tests rely on)."""
    target = DEMO_KIND.target("x", {"password": SECRET})
    assert SECRET not in repr(DEMO_KIND.settings(target))
