"""The snp-exporter's API (the original's connection routes over the control
plane) and the control plane with a real store, fuzzed from their OpenAPI.

``test_openapi.py`` serves every kind without a store, so the writes of the
control plane never reach a kind's model there, and the SNP compatibility routes
(``/api/connections``, the original's ``/api/export`` and ``/api/import``) are
not served at all. Here two apps run on 127.0.0.1 from threads of their own,
each with a real SQLite store: the one ``snp-exporter`` serves (``compat``
installed) and ``exporterhub serve``'s with every kind. schemathesis exercises
every operation with generated valid and invalid requests: no server error,
documented status codes, content types and bodies, schema-valid data accepted
(but for the rules JSON Schema cannot state, as in ``test_openapi``) and
schema-invalid data refused.

Generated connections and targets must never make a worker dial a generated
address (tests never leave loopback): ``enabled`` is forced off wherever it is a
boolean (or 0/1) or absent, so no worker starts on generated settings; the
validation the routes run is the same either way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from exporterhub.core.app import create_app
from exporterhub.core.catalog import NAME_PATTERN
from exporterhub.core.plugin import ExporterPlugin, Target
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import running_server
from exporterhub.exporters import KINDS, load_plugin
from exporterhub.exporters.snp.compat import install
from exporterhub.exporters.snp.plugin import PLUGIN as SNP
from exporterhub.hub import build_hub

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20_261_207,
        "generation": {"mode": "all", "deterministic": True},
        # The coverage phase (boundary cases, built when pytest collects: ~40 s
        # of CPU here) found every defect the random examples missed: a bodiless
        # POST, a PATCH list item, a PUT without its secret. It stays on.
        "phases": {"stateful": {"enabled": False}},
    }
)
CROSS_FIELD = (
    "must be >= ",
    "reconnect_max",
    # Starlink's, as test_starlink_openapi.CROSS_FIELD_RULES lists them.
    "the waypoints pattern needs at least two waypoints",
    "are nearly antipodal",
    "an alert event needs the alert to raise",
)
"""Messages of the rules across fields JSON Schema cannot state."""


def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, allowing 400s only for rules no schema states.

    A settings model checks one field against another (``reconnect_max >=
    interval``); a schema-valid body may still be refused for such a rule, but
    only with 400 ``invalid_body`` whose every problem is on the record as a whole
    (``(body)``/``settings``) or names such a rule.
    """
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            answer = response.json()
            problems = answer["fields"]
            if (
                answer["error"] == "invalid_body"
                and problems
                and all(
                    p["field"] in ("(body)", "settings")
                    or any(rule in p["message"] for rule in CROSS_FIELD)
                    for p in problems
                )
            ):
                return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_accepted,
    negative_data_rejection,
]

pytestmark = pytest.mark.timeout(300)

ALL = {kind: load_plugin(kind) for kind in KINDS}
SEEDED = {
    "name": "seed", "restapi": "http://127.0.0.1:9/api/auth",
    "websocket": "ws://127.0.0.1:9/smm", "username": "admin", "password": "pw-seed",
    "objects_ids": [{"elementIP": "127.0.0.1", "objectType": "ptp"}], "enabled": False,
}  # fmt: skip
"""A stored connection, so generated ids and names sometimes find one."""


def _state(plugins: dict[str, ExporterPlugin], compat: bool, store: Any) -> Any:
    async def no_files() -> list[Target]:
        return []

    state = build_hub(plugins, no_files, title="exporter", store=store)
    if compat:
        install(state, interval=1.0)
    return state


def _document(plugins: dict[str, ExporterPlugin], compat: bool) -> dict[str, Any]:
    document: dict[str, Any] = create_app(_state(plugins, compat, None)).app.openapi()
    return document


SNP_DOCUMENT = _document({SNP.kind: SNP}, compat=True)
HUB_DOCUMENT = _document(ALL, compat=False)


class StoredExporter:
    """An app with a real SQLite store, served from a thread until ``__exit__``."""

    def __init__(self, plugins: dict[str, ExporterPlugin], compat: bool, where: Path):
        self._plugins, self._compat, self._where = plugins, compat, where
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self.url = ""
        self.document: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._main, name="stored-exporter")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        store = await TargetStore.open(
            str(self._where / "store.db"), key_file=self._where / "key"
        )
        try:
            app = create_app(_state(self._plugins, self._compat, store))
            self.document = app.app.openapi()
            async with running_server(app) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()
        finally:
            await store.close()

    def __enter__(self) -> StoredExporter:
        self._thread.start()
        assert self._ready.wait(60), "the exporter did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        assert not self._thread.is_alive()


@pytest.fixture(scope="module")
def snp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with StoredExporter({SNP.kind: SNP}, True, tmp_path_factory.mktemp("snp")) as s:
        reply = httpx.post(f"{s.url}/api/connections", json=SEEDED, timeout=10)
        assert reply.status_code == 200, reply.text
        assert s.document == SNP_DOCUMENT
        yield s.url


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with StoredExporter(ALL, False, tmp_path_factory.mktemp("hub")) as s:
        seeded = {"kind": "snp", "name": "seed", "enabled": False, "settings": SEEDED}
        del seeded["settings"]["name"], seeded["settings"]["enabled"]  # type: ignore[attr-defined]
        reply = httpx.post(f"{s.url}/api/targets", json=seeded, timeout=10)
        assert reply.status_code in (200, 201), reply.text
        assert s.document == HUB_DOCUMENT
        yield s.url


def _switched_off(node: Any) -> None:
    """Force ``enabled`` off where it is a boolean, 0/1 or absent (in place).

    Import documents carry their entries under ``targets``; the original's
    import is a list of records.
    """
    if isinstance(node, list):
        for item in node:
            _switched_off(item)
    elif isinstance(node, dict):
        enabled = node.get("enabled", False)
        if isinstance(enabled, bool):
            node["enabled"] = False
        elif type(enabled) is int and enabled in (0, 1):
            node["enabled"] = 0
        _switched_off(node.get("targets"))


def _call(case: Any, url: str) -> None:
    _switched_off(case.body)
    case.call_and_validate(base_url=url, checks=CHECKS)


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SNP_SCHEMA = schemathesis.openapi.from_dict(SNP_DOCUMENT, config=CONFIG)
HUB_SCHEMA = schemathesis.openapi.from_dict(HUB_DOCUMENT, config=CONFIG).include(
    path_regex=r"^/api/(targets|import)", method=["POST", "PUT", "PATCH", "DELETE"]
)
"""The writes: what test_openapi (no store) cannot reach; its reads are covered."""


@SNP_SCHEMA.include(path_regex=r"^/api/(connections|import|export)").parametrize()
@SETTINGS
def test_snp_compat_routes_conform(case: Any, snp_url: str) -> None:
    """The original's connection routes answer every generated request as documented."""
    _call(case, snp_url)


@HUB_SCHEMA.parametrize()
@settings(SETTINGS, max_examples=15)
def test_stored_control_plane_conforms(case: Any, hub_url: str) -> None:
    """The control plane with a store answers every generated write as documented."""
    _call(case, hub_url)


class TestDocumentFixes:
    """What the fuzzing above found wrong in the documents, one test each."""

    @pytest.mark.parametrize(
        ("path", "method"),
        [
            ("/api/connections", "post"),
            ("/api/connections/{conn_id}", "put"),
            ("/api/import", "post"),
        ],
    )
    def test_compat_writes_document_their_body(self, path: str, method: str) -> None:
        """The original's write routes say they take a JSON body (they did not).

        Found by ``test_snp_compat_routes_conform``: without a documented body a
        bodiless POST counted as valid and was refused with 415.
        """
        body = SNP_DOCUMENT["paths"][path][method]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"]["type"] == "object"

    def test_compat_record_name_is_checked_as_every_name(self) -> None:
        """A connection's name has the control plane's name rule (no controls)."""
        schema = SNP_DOCUMENT["paths"]["/api/connections"]["post"]["requestBody"]
        name = schema["content"]["application/json"]["schema"]["properties"]["name"]
        assert name["pattern"] == NAME_PATTERN

    @pytest.mark.parametrize(
        ("path", "model"),
        [("/api/import", "ImportAnswer"), ("/api/export", "ExportDocument")],
    )
    def test_compat_answers_with_format_targets_are_documented(
        self, path: str, model: str
    ) -> None:
        """``format=targets`` answers the core's document; the schema says so."""
        method = "post" if path == "/api/import" else "get"
        answer = SNP_DOCUMENT["paths"][path][method]["responses"]["200"]
        refs = str(answer["content"]["application/json"]["schema"])
        assert f"#/components/schemas/{model}" in refs

    def test_patch_list_items_keep_their_full_schema(self) -> None:
        """A PATCH replaces a list whole, so its items are documented complete.

        Found by ``test_stored_control_plane_conforms``: ``objects_ids: [{}]``
        was schema-valid in a PATCH (items of the patch view required nothing)
        and refused with 400.
        """
        patch = HUB_DOCUMENT["components"]["schemas"]["SnpSettingsPatch"]
        items = patch["properties"]["objects_ids"]["items"]
        assert items == {"$ref": "#/components/schemas/SnpObject"}

    def test_replace_may_leave_secrets_out(self) -> None:
        """A PUT keeps a secret it leaves out, so the schema does not require it.

        Found by ``test_stored_control_plane_conforms``: an SNP PUT without its
        password was schema-invalid yet (rightly) accepted.
        """
        put = HUB_DOCUMENT["paths"]["/api/targets/snp/{name}"]["put"]
        schema = put["requestBody"]["content"]["application/json"]["schema"]
        assert schema["properties"]["settings"] == {
            "$ref": "#/components/schemas/SnpSettingsReplace"
        }
        replace = HUB_DOCUMENT["components"]["schemas"]["SnpSettingsReplace"]
        assert "password" not in replace["required"]
        assert "restapi" in replace["required"]
        assert {"type": "null"} in replace["properties"]["password"]["anyOf"]


@pytest.mark.parametrize("conn_id", ["%C2%B2", "%D9%A1", "1%C2%B2"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_connection_id_of_other_digits_is_not_found(
    snp_url: str, conn_id: str, method: str
) -> None:
    """An id of non-ASCII digits ("²", Arabic-Indic one) is an unknown connection.

    Found reading the route while fuzzing it: ``str.isdigit`` accepts "²", which
    ``int()`` refuses (a 500), and U+0661, which it reads as 1 (the seeded one).
    """
    reply = httpx.request(
        method, f"{snp_url}/api/connections/{conn_id}", json={}, timeout=10
    )
    assert reply.status_code == 404, reply.text
    assert reply.json()["error"] == "not_found"


@pytest.mark.parametrize("name", [["x"], {"a": 1}], ids=["list", "object"])
def test_import_of_a_record_named_by_a_non_string_skips_it(
    snp_url: str, name: Any
) -> None:
    """An imported record whose name is a list or object is skipped and listed.

    Found reading ``_import`` while fuzzing it: such a name passed the required
    check and then, unhashable, raised TypeError (a 500) out of the import.
    """
    record = {**SEEDED, "name": name}
    reply = httpx.post(
        f"{snp_url}/api/import",
        params={"dry_run": "true"},
        json={"connections": [record]},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["imported"], answer["skipped"]) == (0, 1)
    assert answer["errors"] == [
        "Connection 'unknown' name: a non-empty string is required"
    ]
