"""The original snp-exporter's REST API over the control plane, in one process.

The app is built as ``snp-exporter`` builds its UI listener (``build_hub`` with a
real SQLite store, ``compat.install``, ``create_app``) and served on 127.0.0.1;
the connections point at the project's SNP simulator over loopback, so their
status words come from real sessions. Every call goes over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest

from exporterhub.core.app import HubState, create_app, create_metrics_app
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import running_server, wait_until
from exporterhub.core.webconfig import BasicAuthCheck
from exporterhub.exporters.snp.compat import install
from exporterhub.exporters.snp.plugin import PLUGIN
from exporterhub.hub import build_hub
from exporterhub.simulators.snp import SnpFleet

from .conftest import Scrape
from .snp_hub import quiet_fleet

pytestmark = pytest.mark.timeout(60)

SECRETS = ("Lab-One-Secret-4Qz", "Lab-Two-Secret-9Wx")
USER, USER_PASSWORD = "admin", "Ui-Admin-Pass-77"
OBJECTS = [
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "A-HD-1"},
]
LIST_KEYS = [
    "id",
    "name",
    "restapi",
    "websocket",
    "username",
    "password",
    "objects_ids",
    "enabled",
    "legacy_tls",
    "created_at",
    "updated_at",
    "status",
    "last_update",
]
ERROR_KEYS = {"error", "detail", "fields"}


@pytest.fixture
async def fleet() -> AsyncIterator[SnpFleet]:
    async with quiet_fleet({"SNP-A": SECRETS[0], "SNP-B": SECRETS[1]}) as running:
        yield running


def record(fleet: SnpFleet, index: int, **changes: Any) -> dict[str, Any]:
    """A device as the original's API took a connection (plain http/ws)."""
    return {**fleet.devices[index].connection(OBJECTS), **changes}


@dataclass
class Compat:
    state: HubState
    client: httpx.AsyncClient

    async def add(self, body: dict[str, Any]) -> int:
        reply = await self.client.post("/api/connections", json=body)
        assert reply.status_code == 200, reply.text
        assert reply.json()["message"] == "Connection added"
        conn_id: int = reply.json()["id"]
        return conn_id

    async def listing(self) -> list[dict[str, Any]]:
        reply = await self.client.get("/api/connections")
        assert reply.status_code == 200, reply.text
        answer: list[dict[str, Any]] = reply.json()
        return answer

    async def until(
        self, predicate: Callable[[list[dict[str, Any]]], bool], within: float = 15
    ) -> list[dict[str, Any]]:
        """Poll the list until ``predicate`` holds (real sessions, real time)."""
        last: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(within):
                while not predicate(last := await self.listing()):  # noqa: ASYNC110 - another process's state
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pytest.fail(f"not within {within}s: {last}")
        return last


@contextlib.asynccontextmanager
async def served(
    tmp_path: Path, *, users: dict[str, str] | None = None, interval: float = 1.0
) -> AsyncIterator[Compat]:
    store = await TargetStore.open(
        str(tmp_path / "connections.db"), key_file=tmp_path / "key"
    )

    async def no_files() -> list[Any]:
        return []

    try:
        state = build_hub({PLUGIN.kind: PLUGIN}, no_files, store=store)
        install(state, interval=interval)
        if users:  # what a web config's basic_auth_users gives the app
            state.auth = BasicAuthCheck(
                {
                    u: bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()
                    for u, p in users.items()
                }
            )
        async with (
            running_server(create_app(state)) as url,
            httpx.AsyncClient(base_url=url, timeout=20, trust_env=False) as client,
        ):
            yield Compat(state, client)
    finally:
        await store.close()


@pytest.fixture
async def hub(tmp_path) -> AsyncIterator[Compat]:
    async with served(tmp_path) as compat:
        yield compat


class TestConnections:
    async def test_add_list_and_read_in_the_originals_shapes(self, fleet, hub):
        """POST answers id and message; the list has the original's keys and status."""
        conn_id = await hub.add(record(fleet, 0))
        listing = await hub.until(lambda c: c and c[0]["status"] == "connected")
        (item,) = listing
        assert list(item) == LIST_KEYS
        assert item["id"] == conn_id
        assert item["name"] == "SNP-A"
        assert item["password"] is None
        assert item["objects_ids"] == OBJECTS
        assert (item["enabled"], item["legacy_tls"]) == (True, False)
        assert len(item["created_at"]) == len("2026-02-03 20:31:19")
        assert len(item["last_update"]) == len("2026-02-03 20:31:19")
        one = (await hub.client.get(f"/api/connections/{conn_id}")).json()
        assert list(one) == LIST_KEYS[:-2]
        assert {k: v for k, v in item.items() if k in one} == one
        assert SECRETS[0] not in (await hub.client.get("/api/connections")).text

    async def test_the_first_status_is_connecting_or_better(self, fleet, hub):
        """A connection's status is one of the original's four words throughout."""
        await hub.add(record(fleet, 0))
        seen: set[str] = set()

        def note(listing: list[dict[str, Any]]) -> bool:
            seen.update(c["status"] for c in listing)
            return "connected" in seen

        await hub.until(note)
        assert seen <= {"connecting", "connected", "disconnected", "error"}

    async def test_a_refused_password_shows_error(self, fleet, hub):
        """Wrong credentials: status error, as the original showed a failed login."""
        await hub.add(record(fleet, 0, password="wrong"))
        listing = await hub.until(lambda c: c and c[0]["status"] == "error")
        assert listing[0]["status"] == "error"

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    @pytest.mark.parametrize("conn_id", ["999", "abc", "-1"])
    async def test_unknown_id_is_404(self, hub, method, conn_id):
        """An id no connection has: 404 in the error shape."""
        reply = await hub.client.request(method, f"/api/connections/{conn_id}", json={})
        assert reply.status_code == 404
        assert set(reply.json()) == ERROR_KEYS
        assert reply.json()["error"] == "not_found"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            pytest.param({"password": None}, "password", id="no-password"),
            pytest.param({"websocket": "ftp://x/smm"}, "websocket", id="bad-ws"),
            pytest.param({"restapi": None}, "restapi", id="no-restapi"),
            pytest.param({"enabled": "yes"}, "enabled", id="enabled"),
            pytest.param({"surprise": 1}, "surprise", id="unknown-key"),
            pytest.param({"name": ""}, "name", id="empty-name"),
            pytest.param(
                {"objects_ids": [{"elementIP": "x", "objectType": "ptp"}]},
                "objects_ids.0.elementIP",
                id="object",
            ),
        ],
    )
    async def test_a_bad_body_is_400_naming_the_field(self, fleet, hub, change, field):
        """An invalid connection: 400, the field named as in the record."""
        body = {k: v for k, v in record(fleet, 0, **change).items() if v is not None}
        reply = await hub.client.post("/api/connections", json=body)
        assert reply.status_code == 400, reply.text
        assert set(reply.json()) == ERROR_KEYS
        assert field in [f["field"] for f in reply.json()["fields"]]
        assert await hub.listing() == []

    @pytest.mark.parametrize(
        ("content", "error"),
        [
            pytest.param(b"{not json", "malformed_json", id="malformed"),
            pytest.param(b"[1, 2]", "invalid_body", id="array"),
        ],
    )
    async def test_a_body_that_is_no_object_is_400(self, hub, content, error):
        """Malformed JSON or a non-object: 400 with the error code."""
        reply = await hub.client.post(
            "/api/connections",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert reply.status_code == 400
        assert reply.json()["error"] == error

    async def test_a_taken_name_is_409(self, fleet, hub):
        """Adding a name twice: 409, nothing changed."""
        await hub.add(record(fleet, 0))
        reply = await hub.client.post("/api/connections", json=record(fleet, 0))
        assert reply.status_code == 409
        assert reply.json()["error"] == "conflict"
        assert len(await hub.listing()) == 1

    async def test_put_changes_only_what_it_sends_and_keeps_the_password(
        self, fleet, hub
    ):
        """A PUT without a password (or with null) keeps the stored one."""
        conn_id = await hub.add(record(fleet, 0))
        await hub.until(lambda c: c[0]["status"] == "connected")
        reply = await hub.client.put(
            f"/api/connections/{conn_id}",
            json={
                "name": "SNP-A",
                "password": None,
                "objects_ids": OBJECTS[:1],
                "status": "ignored",
                "id": 12345,
            },
        )
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"message": "Connection updated"}
        one = (await hub.client.get(f"/api/connections/{conn_id}")).json()
        assert one["objects_ids"] == OBJECTS[:1]
        assert one["id"] == conn_id
        assert one["restapi"] == record(fleet, 0)["restapi"]
        # Restarted with the new objects, it logs in with the kept password.
        device = fleet.devices[0]
        await wait_until(
            lambda: (
                bool(device.subscriptions) and len(device.subscriptions[-1].refs) == 1
            ),
            within=15,
        )
        assert device.logins == 2
        await hub.until(lambda c: c[0]["status"] == "connected")

    async def test_put_may_not_rename(self, fleet, hub):
        """A new name is refused (409): the name is the series' target label."""
        conn_id = await hub.add(record(fleet, 0))
        reply = await hub.client.put(
            f"/api/connections/{conn_id}", json={"name": "renamed"}
        )
        assert reply.status_code == 409
        assert reply.json()["fields"] == [{"field": "name", "message": "cannot change"}]
        assert [c["name"] for c in await hub.listing()] == ["SNP-A"]

    async def test_put_with_nothing_to_change_changes_nothing(self, fleet, hub):
        """An empty PUT answers as the original and leaves the revision alone."""
        conn_id = await hub.add(record(fleet, 0))
        before = (await hub.client.get("/api/targets/snp/SNP-A")).json()["revision"]
        reply = await hub.client.put(f"/api/connections/{conn_id}", json={})
        assert reply.json() == {"message": "Connection updated"}
        after = (await hub.client.get("/api/targets/snp/SNP-A")).json()["revision"]
        assert after == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"enabled": "no"}, "enabled", id="enabled"),
            pytest.param({"websocket": "nope"}, "websocket", id="websocket"),
        ],
    )
    async def test_a_bad_put_is_400(self, fleet, hub, body, field):
        """An invalid change: 400 naming the field, the connection as it was."""
        conn_id = await hub.add(record(fleet, 0))
        reply = await hub.client.put(f"/api/connections/{conn_id}", json=body)
        assert reply.status_code == 400
        assert [f["field"] for f in reply.json()["fields"]] == [field]
        one = (await hub.client.get(f"/api/connections/{conn_id}")).json()
        assert one["websocket"] == record(fleet, 0)["websocket"]

    async def test_a_put_body_that_is_no_object_is_400(self, fleet, hub):
        """A PUT of a list is 400 in the error shape."""
        conn_id = await hub.add(record(fleet, 0))
        reply = await hub.client.put(f"/api/connections/{conn_id}", json=[1])
        assert reply.status_code == 400
        assert reply.json()["error"] == "invalid_body"

    async def test_disable_then_delete(self, fleet, hub):
        """enabled false stops the series; DELETE removes the connection."""
        conn_id = await hub.add(record(fleet, 0))
        await hub.until(lambda c: c[0]["status"] == "connected")
        reply = await hub.client.put(f"/api/connections/{conn_id}", json={"enabled": 0})
        assert reply.status_code == 200
        (item,) = await hub.listing()
        assert (item["enabled"], item["status"]) == (False, "disconnected")
        scrape = Scrape((await hub.client.get("/metrics")).text)
        assert scrape.series("ic_snp_up") == []
        reply = await hub.client.delete(f"/api/connections/{conn_id}")
        assert reply.json() == {"message": "Connection deleted"}
        assert await hub.listing() == []
        assert (await hub.client.get(f"/api/connections/{conn_id}")).status_code == 404


def original_document(fleet: SnpFleet) -> dict[str, Any]:
    """An export of the original: its seven keys per connection, passwords in."""
    return {"version": "1.0", "connections": [record(fleet, 0), record(fleet, 1)]}


class TestExport:
    async def test_without_passwords_by_default(self, fleet, hub):
        """The original's document, every key but the password."""
        await hub.add(record(fleet, 0))
        reply = await hub.client.get("/api/export")
        assert reply.status_code == 200
        document = reply.json()
        assert list(document) == ["version", "exported_at", "connections"]
        assert document["version"] == "1.0"
        assert len(document["exported_at"]) == len("2026-02-03 20:31:19")
        (entry,) = document["connections"]
        assert list(entry)[:6] == [
            "name",
            "restapi",
            "websocket",
            "username",
            "objects_ids",
            "enabled",
        ]
        assert "password" not in entry
        assert entry["tls_verify"] is True
        assert SECRETS[0] not in reply.text
        assert "snp-connections-" in reply.headers["content-disposition"]

    async def test_passwords_refused_without_credentials(self, fleet, hub):
        """include_secrets without basic auth configured: 403, nothing revealed."""
        await hub.add(record(fleet, 0))
        for fmt in ("connections", "targets"):
            reply = await hub.client.get(
                "/api/export", params={"include_secrets": "true", "format": fmt}
            )
            assert reply.status_code == 403
            assert SECRETS[0] not in reply.text

    async def test_passwords_for_an_authenticated_caller_who_asks(
        self, fleet, tmp_path
    ):
        """With basic auth: asked, the password is there; not asked, it is not."""
        async with served(tmp_path, users={USER: USER_PASSWORD}) as hub:
            auth = (USER, USER_PASSWORD)
            reply = await hub.client.post(
                "/api/connections", json=record(fleet, 0), auth=auth
            )
            assert reply.status_code == 200
            anonymous = await hub.client.get("/api/export")
            assert anonymous.status_code == 401
            plain = await hub.client.get("/api/export", auth=auth)
            assert "password" not in plain.json()["connections"][0]
            full = await hub.client.get(
                "/api/export", params={"include_secrets": "true"}, auth=auth
            )
            assert full.status_code == 200
            assert full.json()["connections"][0]["password"] == SECRETS[0]

    async def test_the_core_format_for_the_ui(self, fleet, hub):
        """format=targets is the control plane's document (what the UI downloads)."""
        await hub.add(record(fleet, 0))
        document = (
            await hub.client.get("/api/export", params={"format": "targets"})
        ).json()
        assert document["version"] == 1
        assert [(t["kind"], t["name"]) for t in document["targets"]] == [
            ("snp", "SNP-A")
        ]


class TestImport:
    async def test_duplicates_by_name_are_skipped_and_counted(self, fleet, hub):
        """New names imported; taken, incomplete and invalid ones skipped, each said."""
        await hub.add(record(fleet, 0))
        document = {
            "version": "1.0",
            "connections": [
                record(fleet, 0),  # taken
                record(fleet, 1),  # new
                record(fleet, 1),  # repeated in the file
                {**record(fleet, 0, name="no-password"), "password": None},
                record(fleet, 0, name="bad-url", restapi="gopher://x"),
                record(fleet, 0, name="bad-enabled", enabled="yes"),
                "not an object",
            ],
        }
        reply = await hub.client.post("/api/import", json=document)
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        assert list(answer) == ["message", "imported", "skipped", "errors"]
        assert answer["message"] == "Import completed"
        assert (answer["imported"], answer["skipped"]) == (1, 6)
        assert answer["errors"][:2] == [
            "Connection 'SNP-A' already exists, skipped",
            "Connection 'SNP-B' already exists, skipped",
        ]
        assert (
            "Connection 'no-password' missing required fields: password"
            in (answer["errors"])
        )
        assert (
            "Connection 'bad-enabled' enabled must be true or false"
            in (answer["errors"])
        )
        assert "Connection #7 is not an object, skipped" in answer["errors"]
        assert any(
            e.startswith("Failed to import 'bad-url': restapi:")
            for e in answer["errors"]
        )
        listing = {c["name"]: c for c in await hub.listing()}
        assert sorted(listing) == ["SNP-A", "SNP-B"]
        assert listing["SNP-B"]["legacy_tls"] is True  # the original's TLS
        assert listing["SNP-A"]["legacy_tls"] is False

    async def test_an_imported_connection_runs(self, fleet, hub):
        """What the import stores starts at once with the imported password."""
        reply = await hub.client.post("/api/import", json=original_document(fleet))
        assert reply.json()["imported"] == 2
        await hub.until(lambda c: [x["status"] for x in c] == ["connected"] * 2)
        targets = (await hub.client.get("/api/targets")).json()
        # Marked legacy (verification off if they move to TLS), but on http/ws
        # there is no certificate to check, so no badge (test_snp_tls has one).
        assert all(t["settings"]["legacy_tls"] for t in targets)
        assert {t["name"]: [n["badge"] for n in t["notices"]] for t in targets} == {
            "SNP-A": [],
            "SNP-B": [],
        }

    @pytest.mark.parametrize(
        "document",
        [
            pytest.param({"version": "1.0"}, id="no-connections"),
            pytest.param({"connections": {"a": 1}}, id="not-a-list"),
            pytest.param([1], id="array"),
        ],
    )
    async def test_a_document_without_connections_is_400(self, hub, document):
        """The original's 400 for an invalid format, in the error shape."""
        reply = await hub.client.post("/api/import", json=document)
        assert reply.status_code == 400
        assert reply.json()["detail"] == (
            "Invalid import format: 'connections' key required"
        )

    async def test_a_dry_run_stores_nothing(self, fleet, hub):
        """dry_run counts what would be imported and stores nothing."""
        reply = await hub.client.post(
            "/api/import", params={"dry_run": "true"}, json=original_document(fleet)
        )
        assert reply.json()["imported"] == 2
        assert reply.json()["message"].startswith("Dry run")
        assert await hub.listing() == []

    async def test_export_with_passwords_imports_back_as_it_was(self, fleet, tmp_path):
        """An export with passwords, imported into an empty store, is the same."""
        auth = (USER, USER_PASSWORD)
        async with served(tmp_path, users={USER: USER_PASSWORD}) as hub:
            await hub.client.post("/api/connections", json=record(fleet, 0), auth=auth)
            exported = (
                await hub.client.get(
                    "/api/export", params={"include_secrets": "true"}, auth=auth
                )
            ).json()
            before = (await hub.client.get("/api/connections", auth=auth)).json()
            conn_id = before[0]["id"]
            await hub.client.delete(f"/api/connections/{conn_id}", auth=auth)
            reply = await hub.client.post("/api/import", json=exported, auth=auth)
            assert reply.json()["imported"] == 1
            after = (await hub.client.get("/api/connections", auth=auth)).json()
        keep = ("name", "restapi", "websocket", "objects_ids", "legacy_tls")
        assert [{k: c[k] for k in keep} for c in after] == [
            {k: c[k] for k in keep} for c in before
        ]
        assert after[0]["legacy_tls"] is False  # it carried its TLS settings

    async def test_the_core_format_with_either_document(self, fleet, hub):
        """format=targets answers as the core, for the original's file too."""
        reply = await hub.client.post(
            "/api/import",
            params={"format": "targets", "dry_run": "true"},
            json=original_document(fleet),
        )
        assert reply.json() == {
            "dry_run": True,
            "imported": ["snp/SNP-A", "snp/SNP-B"],
            "skipped": [],
            "errors": [],
        }
        core = {
            "targets": [
                {
                    "kind": "snp",
                    "name": "core-1",
                    "settings": {
                        k: v for k, v in record(fleet, 0).items() if k != "name"
                    },
                }
            ]
        }
        core["targets"][0]["settings"].pop("enabled")
        reply = await hub.client.post(
            "/api/import", params={"format": "targets"}, json=core
        )
        assert reply.json()["imported"] == ["snp/core-1"]
        bad = await hub.client.post(
            "/api/import", params={"format": "targets"}, json={"targets": 1}
        )
        assert bad.status_code == 400


class TestPages:
    async def test_the_ui_lists_connections_and_marks_legacy_ones(self, fleet, hub):
        """/ is the control plane's UI: every connection, legacy TLS ones badged."""
        plain = record(fleet, 0)
        on_tls = record(
            fleet,
            0,
            restapi=plain["restapi"].replace("http://", "https://"),
            websocket=plain["websocket"].replace("ws://", "wss://"),
        )
        await hub.client.post("/api/import", json={"connections": [on_tls]})
        await hub.add(record(fleet, 1))
        page = (await hub.client.get("/")).text
        assert "SNP-A" in page
        assert "SNP-B" in page
        assert page.count('class="badge notice"') == 1
        assert 'data-import-url="/api/import?format=targets"' in page
        assert 'href="/api/export?format=targets"' in page
        target = (await hub.client.get("/ui/targets/snp/SNP-A")).text
        assert "legacy TLS" in target


class TestMetricsListener:
    async def test_metrics_reload_and_probes(self, fleet, hub):
        """The second listener: /metrics, /-/reload by GET and POST, probes."""
        await hub.add(record(fleet, 0))
        await hub.until(lambda c: c[0]["status"] == "connected")
        app = create_metrics_app(hub.state, reload_methods=("GET", "POST"))
        async with (
            running_server(app) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            scrape = Scrape((await client.get("/metrics")).text)
            assert scrape.value("ic_snp_up", target="SNP-A") == 1.0
            for method in ("GET", "POST"):
                reply = await client.request(method, "/-/reload")
                assert reply.status_code == 200
                assert reply.json()["unchanged"] == ["snp/SNP-A"]
            assert (await client.get("/-/healthy")).text == "Healthy\n"
            assert (await client.get("/-/ready")).status_code == 200
            assert (await client.delete("/-/reload")).status_code == 405
            assert (await client.get("/api/connections")).status_code == 404
        hub.state.ready = False
        async with (
            running_server(create_metrics_app(hub.state)) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            assert (await client.get("/-/ready")).status_code == 503
            assert (await client.get("/-/reload")).status_code == 405


class TestInterval:
    async def test_interval_is_every_new_connections_default(self, fleet, tmp_path):
        """INTERVAL is the default reconnect delay however a connection is added."""
        async with served(tmp_path, interval=90.0) as hub:
            kinds = (await hub.client.get("/api/kinds")).json()
            schema = next(k for k in kinds if k["kind"] == "snp")["settings_schema"]
            assert schema["properties"]["interval"]["default"] == 90.0
            assert schema["properties"]["reconnect_max"]["default"] == 90.0
            settings = {k: v for k, v in record(fleet, 0).items() if k != "name"}
            settings.pop("enabled")
            reply = await hub.client.post(
                "/api/targets",
                json={"kind": "snp", "name": "via-core", "settings": settings},
            )
            assert reply.status_code == 201, reply.text
            assert reply.json()["settings"]["interval"] == 90.0
            await hub.add(record(fleet, 1))
            exported = (await hub.client.get("/api/export")).json()["connections"]
        assert [(c["name"], c["interval"], c["reconnect_max"]) for c in exported] == [
            ("via-core", 90.0, 90.0),
            ("SNP-B", 90.0, 90.0),
        ]


class TestDocument:
    async def test_the_openapi_document_describes_what_answers(self, hub):
        """/openapi.json documents the original's export, not the shadowed core one."""
        reply = await hub.client.get("/openapi.json")
        assert reply.status_code == 200
        paths = reply.json()["paths"]
        assert {"/api/connections", "/api/connections/{conn_id}"} <= set(paths)
        export = paths["/api/export"]["get"]
        assert export["operationId"] == "export_connections"
        schema = export["responses"]["200"]["content"]["application/json"]["schema"]
        # format=targets answers the core's document: both are documented.
        assert schema["anyOf"] == [
            {"$ref": "#/components/schemas/ConnectionsDocument"},
            {"$ref": "#/components/schemas/ExportDocument"},
        ]
        assert paths["/api/import"]["post"]["operationId"] == "import_connections"
