"""OpenAPI schemas of stored targets' settings, one per kind, from its own model.

The control plane's write routes take a kind's settings as JSON; their request
bodies are documented with that kind's settings schema (``StoredKind.schema``), so
a client generator or a fuzzer sees exactly what validation accepts: the kind's
fields, types and bounds. ``$defs`` are moved into ``components/schemas`` so every
``$ref`` resolves; a PATCH body gets a variant with nothing required, as a patch
names only what changes. Rules a JSON Schema cannot state (one field against
another) are listed in each schema's description as the model's validators. Pure
data: no routes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI

from exporterhub.core.api.errors import without_422
from exporterhub.core.catalog import NAME_PATTERN
from exporterhub.core.kinds import StoredKind

__all__ = ["KindSchemas", "component_name", "install_document"]

_PREFIX: Final = "#/components/schemas/"
_DEFS: Final = "#/$defs/"
REVISION_MAX: Final = 2**31 - 1
"""Revisions are 32-bit on every store (PostgreSQL's integer)."""
_SHAPES: Final = (("Settings", ""), ("SettingsPatch", "Patch"))
"""Each kind's settings schema as written, and its patch view (nothing required)."""


def component_name(kind: str, suffix: str = "Settings") -> str:
    """Return the component name of a kind's settings schema.

    >>> component_name("phd2"), component_name("tapo", "SettingsPatch")
    ('Phd2Settings', 'TapoSettingsPatch')
    """
    return re.sub(r"[^A-Za-z0-9]", "", kind.title()) + suffix


def _relinked(node: Any, renames: Mapping[str, str]) -> Any:  # noqa: ANN401 - JSON
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if (
                key == "$ref"
                and isinstance(value, str)
                and value.startswith("#/$defs/")
            ):
                name = value.removeprefix("#/$defs/")
                out[key] = _PREFIX + renames.get(name, name)
            else:
                out[key] = _relinked(value, renames)
        return out
    if isinstance(node, list):
        return [_relinked(item, renames) for item in node]
    return node


def _optional(node: Any) -> Any:  # noqa: ANN401 - JSON
    """Return a schema with nothing required, at any depth (a patch's view).

    A list replaces the stored one whole (``catalog._merge``), so its items keep
    the full schema: their references point at the settings' own components.
    """
    if isinstance(node, dict):
        return {
            k: _relinked(v, {}) if k in ("items", "prefixItems") else _optional(v)
            for k, v in node.items()
            if k != "required"
        }
    if isinstance(node, list):
        return [_optional(item) for item in node]
    return node


def _secrets_kept(node: Any) -> Any:  # noqa: ANN401 - JSON
    """Return a schema whose secrets may be left out or null (a ``PUT``'s view).

    A replace keeps a stored secret the body leaves out or sends as null
    (``Catalog.replace``), so a write-only property is neither required there.
    """
    if isinstance(node, list):
        return [_secrets_kept(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _secrets_kept(v) for k, v in node.items()}
    properties = node.get("properties")
    if isinstance(properties, dict):
        secret = {k for k, v in properties.items() if v.get("writeOnly") is True}
        for name in secret:
            out["properties"][name] = {
                "anyOf": [out["properties"][name], {"type": "null"}]
            }
        if "required" in out:
            out["required"] = [k for k in out["required"] if k not in secret]
    return out


class KindSchemas:
    """The settings schemas of every storable kind, ready for the document.

    Args:
        kinds: the storable kinds.
    """

    def __init__(self, kinds: Mapping[str, StoredKind]) -> None:
        self.kinds = dict(kinds)
        self.components: dict[str, Any] = {}
        for kind, stored in self.kinds.items():
            schema = stored.schema()
            defs: dict[str, Any] = schema.pop("$defs", {})
            for suffix, shape in (
                ("Settings", copy.deepcopy),
                ("SettingsPatch", _optional),
                ("SettingsReplace", _secrets_kept),
            ):
                renames = {
                    name: f"{name}{suffix.removeprefix('Settings')}" for name in defs
                }
                for name, definition in defs.items():
                    self.components.setdefault(
                        renames[name], _relinked(shape(definition), renames)
                    )
                root = _relinked(shape(schema), renames)
                root["title"] = f"{stored.title} settings"
                self.components[component_name(kind, suffix)] = root

    def _required(self, kind: str) -> bool:
        """Say whether a kind's settings have required fields (so must be sent)."""
        return bool(self.components[component_name(kind)].get("required"))

    def ref(self, kind: str, suffix: str = "Settings") -> dict[str, str]:
        """Return a ``$ref`` to a kind's settings (or patch) schema."""
        return {"$ref": _PREFIX + component_name(kind, suffix)}

    def new_target_body(self) -> dict[str, Any]:
        """Return the ``POST /api/targets`` body: one shape per kind, by ``kind``."""
        shapes = [
            {
                "type": "object",
                "title": f"New {stored.title}",
                "properties": {
                    "kind": {"const": kind},
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 128,
                        "pattern": NAME_PATTERN,
                    },
                    "enabled": {"type": "boolean", "default": True},
                    "settings": self.ref(kind),
                },
                "required": ["kind", "name"]
                + (["settings"] if self._required(kind) else []),
                "additionalProperties": False,
            }
            for kind, stored in self.kinds.items()
        ]
        return _body({"oneOf": shapes} if shapes else {"type": "object"})

    def replace_body(self, kind: str) -> dict[str, Any]:
        """Return the ``PUT`` body of one kind's target."""
        return _body(
            {
                "type": "object",
                "properties": {
                    "enabled": {"type": "boolean", "default": True},
                    "settings": self.ref(kind, "SettingsReplace"),
                    "revision": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": REVISION_MAX,
                    },
                },
                "required": ["settings", "revision"],
                "additionalProperties": False,
            }
        )

    def patch_body(self, kind: str) -> dict[str, Any]:
        """Return the ``PATCH`` body of one kind's target (only what changes)."""
        return _body(
            {
                "type": "object",
                "properties": {
                    "enabled": {"type": ["boolean", "null"]},
                    "settings": {
                        "anyOf": [self.ref(kind, "SettingsPatch"), {"type": "null"}]
                    },
                    "revision": {
                        "type": ["integer", "null"],
                        "minimum": 1,
                        "maximum": REVISION_MAX,
                    },
                },
                "additionalProperties": False,
            }
        )


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def install_document(app: FastAPI, schemas: KindSchemas) -> None:
    """Make the app's OpenAPI document true: 400 not 422, kinds' settings added."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = without_422(generate())
            found = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.components.items():
                found.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
