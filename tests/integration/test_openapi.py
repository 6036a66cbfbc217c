"""Every exporter's served OpenAPI document: valid, resolvable, and true.

Each exporter kind runs alone (as its standalone command serves it) on 127.0.0.1,
its document must resolve every ``$ref`` inside itself and validate as OpenAPI 3.1,
and schemathesis exercises every operation with generated valid and invalid
requests: no server error, documented status codes, content types and bodies,
schema-valid data accepted and schema-invalid data refused. The Starlink
exporter's own routes have their own file (``test_starlink_openapi.py``) with the
allowances their cross-field rules need; here its core routes are covered.

schemathesis needs the documents at collection time, so the cases come from each
app's own ``openapi()`` and a test checks the running exporter serves exactly it.
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
from exporterhub.exporters import KINDS, load_plugin
from exporterhub.hub import build_hub

from .served import ServedExporter
from .test_starlink_openapi import CROSS_FIELD_RULES

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20_261_207,
        "generation": {"mode": "all", "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
    }
)
OWN_FILE = r"^/api/(status|config)$"
"""Starlink's routes, tested with their allowances in test_starlink_openapi.py."""


def _document(kind: str) -> dict[str, Any]:
    async def load() -> list[Target]:
        return []

    state = build_hub({kind: load_plugin(kind)}, load, title=f"{kind} exporter")
    document: dict[str, Any] = create_app(state).app.openapi()
    return document


DOCUMENTS = {kind: _document(kind) for kind in KINDS}


@pytest.fixture(scope="module", params=KINDS)
def served(request) -> Iterator[tuple[str, str]]:
    kind = request.param
    with ServedExporter({kind: load_plugin(kind)}, [], f"{kind} exporter") as server:
        yield kind, server.url


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


class TestDocuments:
    def test_served_document_is_the_tested_one(self, served):
        """The running exporter serves the document the generated cases come from."""
        kind, url = served
        assert httpx.get(f"{url}/openapi.json", timeout=10).json() == DOCUMENTS[kind]

    @pytest.mark.parametrize("kind", KINDS)
    def test_every_ref_resolves(self, kind):
        """Each $ref points at a schema in components/schemas."""
        document = DOCUMENTS[kind]
        schemas = document.get("components", {}).get("schemas", {})
        dangling = {
            ref
            for ref in _refs(document)
            if ref.removeprefix("#/components/schemas/") not in schemas
        }
        assert dangling == set()

    @pytest.mark.parametrize("kind", KINDS)
    def test_every_answer_has_a_schema(self, kind):
        """No JSON answer is documented as {}; errors use ErrorBody; never 422."""
        for path, operations in DOCUMENTS[kind]["paths"].items():
            for method, operation in operations.items():
                assert "422" not in operation["responses"], (path, method)
                for status, answer in operation["responses"].items():
                    content = answer.get("content", {})
                    for media, body in content.items():
                        assert body.get("schema"), (path, method, status, media)
                    json_body = content.get("application/json")
                    if status.startswith(("4", "5")) and json_body:
                        assert json_body["schema"]["$ref"].endswith("/ErrorBody")

    @pytest.mark.parametrize("kind", KINDS)
    def test_schemathesis_validates_it(self, kind):
        """schemathesis loads each document as valid OpenAPI 3.1."""
        schema = schemathesis.openapi.from_dict(DOCUMENTS[kind], config=CONFIG)
        assert schema.raw_schema["openapi"].startswith("3.1")
        schema.validate()


def _cases(kind: str) -> Any:
    schema = schemathesis.openapi.from_dict(DOCUMENTS[kind], config=CONFIG)
    return schema.exclude(path_regex=OWN_FILE)


def positive_data_accepted(ctx, response, case):
    """``positive_data_acceptance``, allowing 400s for rules no schema can state.

    A kind's model checks one field against another (``reconnect_max >=
    reconnect_initial``, a login or an account number); JSON Schema cannot say
    that, so a schema-valid body may still be refused, but only with 400
    ``invalid_body`` whose every problem is such a rule: one on the settings as
    a whole, or one of Starlink's listed cross-field rules.
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
                    p["field"] == "settings"
                    or any(rule in p["message"] for rule in CROSS_FIELD_RULES)
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


def _conforms(case: Any, url: str) -> None:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("settings"), dict):
        config = body["settings"].get("config")
        if isinstance(config, dict) and config.get("mode") == "live":
            config["mode"] = "simulation"  # never dial a generated address
    case.call_and_validate(base_url=url, checks=CHECKS)


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def phd2_url() -> Iterator[str]:
    with ServedExporter({"phd2": load_plugin("phd2")}, [], "phd2 exporter") as s:
        yield s.url


@pytest.fixture(scope="module")
def chaos_url() -> Iterator[str]:
    with ServedExporter({"chaos": load_plugin("chaos")}, [], "chaos exporter") as s:
        yield s.url


@pytest.fixture(scope="module")
def tapo_url() -> Iterator[str]:
    with ServedExporter({"tapo": load_plugin("tapo")}, [], "tapo exporter") as s:
        yield s.url


@pytest.fixture(scope="module")
def starlink_url() -> Iterator[str]:
    plugin = load_plugin("starlink")
    with ServedExporter({"starlink": plugin}, [], "starlink exporter") as s:
        yield s.url


@_cases("phd2").parametrize()
@SETTINGS
def test_phd2_api_conforms(case, phd2_url):
    """The PHD2 exporter's API answers every generated request as documented."""
    _conforms(case, phd2_url)


@_cases("chaos").parametrize()
@SETTINGS
def test_chaos_api_conforms(case, chaos_url):
    """The CHAOS exporter's API answers every generated request as documented."""
    _conforms(case, chaos_url)


@_cases("tapo").parametrize()
@SETTINGS
def test_tapo_api_conforms(case, tapo_url):
    """The plug exporter's API answers every generated request as documented."""
    _conforms(case, tapo_url)


@_cases("starlink").parametrize()
@SETTINGS
def test_starlink_core_api_conforms(case, starlink_url):
    """The Starlink exporter's core routes answer as documented."""
    _conforms(case, starlink_url)
