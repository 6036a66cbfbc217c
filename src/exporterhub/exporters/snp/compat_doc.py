"""The request bodies of the original snp-exporter's routes, for the OpenAPI document.

``compat`` reads its bodies itself (the original's loose records: 1/0 for
``enabled``, read-only keys sent back), so FastAPI cannot derive them; these
describe them from the settings model, so the served document says what the
routes take. Schemas only: nothing here validates or reads a request.
"""

from __future__ import annotations

from typing import Any, Final

from exporterhub.core.catalog import NAME_PATTERN
from exporterhub.exporters.snp.records import READ_ONLY
from exporterhub.exporters.snp.settings import SnpTargetSettings

__all__ = ["IMPORT_BODY", "record_body"]


def record_body(*, partial: bool) -> dict[str, Any]:
    """Return the request body of ``POST`` (whole) or ``PUT`` (partial) connections.

    A record is the settings model's keys (``name`` among them) plus ``enabled``
    (true/false or the original's 1/0) and the read-only keys of the original's
    answers, which are ignored. A ``PUT`` may leave out any key, and a null
    password keeps the stored one.
    """
    model = SnpTargetSettings.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    properties: dict[str, Any] = dict(model["properties"])
    # The control plane checks a name as it checks every target's (check_name).
    properties["name"] = {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": NAME_PATTERN,
        "description": "The connection's name: the target label of its series.",
    }
    properties["enabled"] = {
        "anyOf": [{"type": "boolean"}, {"enum": [0, 1]}],
        "default": True,
        "description": "Poll the connection (the original's 1/0 accepted).",
    }
    for key in READ_ONLY:
        properties[key] = {"description": "Ignored: the original's answers carry it."}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if partial:
        properties["password"] = {"anyOf": [properties["password"], {"type": "null"}]}
    else:
        schema["required"] = list(model.get("required", []))
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


IMPORT_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "The original's export document; with format=targets the "
        "control plane's (``targets``) is taken too.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "version": {"description": "Ignored."},
                        "exported_at": {"description": "Ignored."},
                        "connections": {
                            "type": "array",
                            "items": {"description": "One connection record; "
                                      "an invalid one is skipped and listed."},
                        },
                    },
                    "required": ["connections"],
                }
            }
        },
    }
}  # fmt: skip
