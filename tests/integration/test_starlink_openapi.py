"""The Starlink exporter's served OpenAPI document: valid, resolvable, and true.

A real Starlink exporter (``build_hub`` + ``create_app``) runs on 127.0.0.1 in a
thread of its own, so schemathesis' blocking client talks to it over HTTP. The
document it serves must resolve every ``$ref`` inside itself and load in
schemathesis; then ``/api/status`` and ``/api/config`` are exercised with
generated valid and invalid requests, and every answer must conform: no server
error, a documented status, content type and body, schema-valid data accepted
and schema-invalid data refused.

schemathesis needs the document when pytest collects the tests, before any
server runs, so the tests are generated from the app's own ``openapi()`` (what
FastAPI serves at ``/openapi.json``) and a test checks that the running
exporter serves exactly that document. (Its lazy ``from_fixture`` loader does
not work with pytest 9.)

Two allowances, both narrower than switching a check off:

- a schema-valid update may still be refused for a rule JSON Schema cannot
  state (``min <= max``, two waypoints, no antipodal leg, an alert event names
  its alert; the request body's description lists them), but only with 400
  ``invalid_body`` whose every field problem is such a rule;
- generated bodies never switch the exporter to live mode, which would make it
  dial whatever dish address was generated: tests never leave loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from exporterhub.core.plugin import Target
from exporterhub.exporters.starlink.plugin import PLUGIN
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.hub import build_hub

from .served import ServedExporter
from .test_starlink_exporter import dish_target

CROSS_FIELD_RULES = (
    "must be >= ",
    "the waypoints pattern needs at least two waypoints",
    "are nearly antipodal",
    "an alert event needs the alert to raise",
)
"""Messages of the rules the request body's description names."""

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20_261_207,
        "generation": {"mode": "all", "deterministic": True},
        "phases": {
            "stateful": {"enabled": False},
            # Methods the document does not list are the core app's business.
            "coverage": {"unexpected-methods": []},
        },
    }
)


@pytest.fixture(scope="module")
def exporter_url() -> Iterator[str]:
    targets = [dish_target(update_interval_seconds=0.2)]
    with ServedExporter({PLUGIN.kind: PLUGIN}, targets, "Starlink exporter") as served:
        yield served.url


@pytest.fixture(scope="module")
def openapi_document(exporter_url) -> dict[str, Any]:
    reply = httpx.get(f"{exporter_url}/openapi.json", timeout=10)
    assert reply.status_code == 200
    return reply.json()


def _document() -> dict[str, Any]:
    """Return the document the app serves at /openapi.json."""

    async def load() -> list[Target]:
        return []

    state = build_hub({PLUGIN.kind: PLUGIN}, load, title="Starlink exporter")
    document: dict[str, Any] = create_app(state).app.openapi()
    return document


DOCUMENT = _document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _rules(node: Any) -> Any:
    """Return a schema without its ``default`` annotations."""
    if isinstance(node, dict):
        return {k: _rules(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_rules(item) for item in node]
    return node


STARLINK_OPERATIONS = [
    ("/api/status", "get"),
    ("/api/config", "get"),
    ("/api/config", "post"),
    ("/api/config", "put"),
]


class TestDocument:
    def test_every_ref_resolves_inside_the_document(self, openapi_document):
        """Each $ref points at a schema in components/schemas; none is left dangling."""
        refs = set(_refs(openapi_document))
        schemas = openapi_document["components"]["schemas"]
        assert "#/components/schemas/StarlinkConfig" in refs
        dangling = {
            r for r in refs if r.removeprefix("#/components/schemas/") not in schemas
        }
        assert dangling == set()
        assert all(r.startswith("#/components/schemas/") for r in refs)

    @pytest.mark.parametrize(("path", "method"), STARLINK_OPERATIONS)
    def test_operations_have_real_models(self, openapi_document, path, method):
        """Every Starlink answer has a named schema, errors the core's ErrorBody."""
        operation = openapi_document["paths"][path][method]
        for status, answer in operation["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            expected = "ErrorBody" if status.startswith(("4", "5")) else None
            assert "$ref" in schema, (status, schema)
            if expected:
                assert schema["$ref"].endswith(f"/{expected}")
        assert "422" not in operation["responses"]
        if method in ("post", "put"):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/StarlinkConfig"}
            assert {"400", "413", "415", "503"} <= set(operation["responses"])

    def test_request_body_lets_every_key_be_left_out(self, openapi_document):
        """A partial update is schema-valid: no section of the config is required."""
        schemas = openapi_document["components"]["schemas"]
        for name in (
            "StarlinkConfig",
            "RouteSettings",
            "NetworkSettings",
            "ObstructionSettings",
            "WeatherSettings",
            "ScenarioSettings",
            "LiveSettings",
        ):
            assert schemas[name].get("required", []) == [], name

    def test_config_component_is_what_validation_uses(self):
        """The shared StarlinkConfig component is the model's validation schema.

        FastAPI builds it from the response model (serialisation mode); the
        request body refers to it too, so both must state the same rules.
        (FastAPI spells some ``default`` annotations differently; they do not
        take part in validation.)
        """
        template = "#/components/schemas/{model}"
        wanted = StarlinkConfig.model_json_schema(ref_template=template)
        defs = wanted.pop("$defs")
        schemas = DOCUMENT["components"]["schemas"]
        assert _rules(schemas["StarlinkConfig"]) == _rules(wanted)
        for name, definition in defs.items():
            assert _rules(schemas[name]) == _rules(definition), name

    def test_served_document_is_the_tested_one(self, openapi_document):
        """The running exporter serves the document the generated tests come from."""
        assert openapi_document == DOCUMENT

    def test_schemathesis_loads_and_validates_it(self, exporter_url):
        """schemathesis loads the served document (OpenAPI 3.1) and its routes."""
        served = schemathesis.openapi.from_url(
            f"{exporter_url}/openapi.json", config=CONFIG
        )
        assert served.raw_schema["openapi"].startswith("3.1")
        served.validate()
        found = {(op.ok().path, op.ok().method) for op in served.get_all_operations()}
        assert set(STARLINK_OPERATIONS) <= found


def positive_data_accepted(ctx, response, case):
    """``positive_data_acceptance``, allowing only the cross-field rules' 400."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            answer = response.json()
            messages = [problem["message"] for problem in answer["fields"]]
            if (
                answer["error"] == "invalid_body"
                and messages
                and all(any(r in m for r in CROSS_FIELD_RULES) for m in messages)
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

schema = SCHEMA.include(path_regex=r"^/api/(status|config)$")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_starlink_api_conforms(case, exporter_url):
    """Generated requests get conforming answers: valid accepted, invalid refused."""
    body = case.body
    if isinstance(body, dict) and body.get("mode") == "live":
        body["mode"] = "simulation"  # never dial a generated address
    case.call_and_validate(base_url=exporter_url, checks=CHECKS)
