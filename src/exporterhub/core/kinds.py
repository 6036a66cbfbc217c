"""What the control plane knows of an exporter kind: one settings model, declared once.

A ``StoredKind`` ties a kind to the per-target settings model its YAML section
already uses, so a target added through the API, the CLI or the UI is validated by
exactly the rules a file target is, and forms are generated from that model's JSON
Schema. The model holds the target's name somewhere (``name`` for most kinds,
``device.name`` for plugs); the store keeps the name in its own column, so the
settings here never carry it. Pure data handling: no I/O, no store, no HTTP.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pydantic import BaseModel, SecretStr
from pydantic_core import to_jsonable_python

from exporterhub.core.plugin import Target

__all__ = ["Notice", "StoredKind", "Tree", "jsonable"]


def _without(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """Return ``schema`` with the property at ``path`` removed (through $defs)."""
    schema = copy.deepcopy(schema)
    defs: dict[str, Any] = schema.get("$defs", {})
    node = schema
    for part in path[:-1]:
        child = node.get("properties", {}).get(part, {})
        ref = child.get("$ref") or next(
            (c["$ref"] for c in child.get("allOf", []) if "$ref" in c), None
        )
        node = defs[ref.rsplit("/", 1)[-1]] if ref else child
    node.get("properties", {}).pop(path[-1], None)
    if path[-1] in node.get("required", []):
        node["required"] = [r for r in node["required"] if r != path[-1]]
    return schema


Tree: TypeAlias = Any
"""A settings tree: JSON values (dicts, lists, scalars), ``SecretStr`` for secrets."""


def jsonable(value: Tree) -> Tree:
    """Return a python-mode dump as JSON values, keeping ``SecretStr`` objects.

    >>> jsonable({"a": (1, 2), "s": SecretStr("x")})
    {'a': [1, 2], 's': SecretStr('**********')}
    """
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return to_jsonable_python(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """Something a person should know about a target's settings, shown as a badge.

    Attributes:
        badge: one or two words for the badge ("legacy TLS").
        detail: one or two sentences: what it means and how to change it.
    """

    badge: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredKind:
    """A kind the control plane can store, validate and describe.

    Attributes:
        kind: the exporter kind (``phd2`` …).
        title: what people call it ("PHD2 autoguider").
        model: the per-target settings model the YAML section uses.
        to_target: wraps a validated model as a core ``Target``.
        name_path: where the model keeps the target's name.
        key_metrics: metric families the UI charts for one target.
        summary: one sentence for the UI: what a target of this kind is.
    """

    kind: str
    title: str
    model: type[BaseModel]
    to_target: Callable[[Any], Target]
    name_path: tuple[str, ...] = ("name",)
    key_metrics: tuple[str, ...] = ()
    summary: str = ""
    hidden: tuple[str, ...] = field(default=())
    """Fields the forms leave out (set by the exporter itself, e.g. discovery's)."""
    notices: Callable[[Mapping[str, Any]], Sequence[Notice]] | None = None
    """Reads stored settings and names what the UI should flag (a connection
    that does not verify certificates); none when not given."""

    def notices_for(self, settings: Mapping[str, Any]) -> list[Notice]:
        """Return the notices of stored ``settings``.

        Any stored dict is read, also one that no longer validates.
        """
        return [] if self.notices is None else list(self.notices(settings))

    def target(self, name: str, settings: Mapping[str, Any]) -> Target:
        """Validate stored settings under ``name`` with the kind's own model.

        Raises:
            pydantic.ValidationError: a field is invalid; locations are dotted
                paths inside ``settings``.
        """
        data: dict[str, Any] = copy.deepcopy(dict(settings))
        node = data
        for part in self.name_path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                break  # the model reports the missing or malformed section
            node = child
        else:
            node[self.name_path[-1]] = name
        return self.to_target(self.model.model_validate(data))

    def settings(self, target: Target) -> dict[str, Any]:
        """Return a target's settings as stored: a python-mode dump without its name.

        JSON values throughout, except that secrets stay ``SecretStr`` objects
        (the store encrypts them).
        """
        data: dict[str, Any] = jsonable(target.settings.model_dump())
        node = data
        for part in self.name_path[:-1]:
            node = node[part]
        node.pop(self.name_path[-1], None)
        return data

    def schema(self) -> dict[str, Any]:
        """Return the JSON Schema of the settings (name and hidden fields left out)."""
        schema = _without(self.model.model_json_schema(), self.name_path)
        for hidden in self.hidden:
            schema = _without(schema, tuple(hidden.split(".")))
        return schema
