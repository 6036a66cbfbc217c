"""One model, one truth: a kind's served settings schema against its validation.

Shared by each exporter's ``test_schema.py``. ``leaves`` walks the JSON schema
the API serves for a kind (``StoredKind.schema()``, ``$ref`` and nullable
``anyOf`` resolved, list items as ``0``), so a new field is swept without
touching the tests. ``Truth`` validates a document both ways: with a JSON Schema
validator and as the API does (``StoredKind.target``: the model, then the
kind's own wrapping). The only disagreement allowed is a rule no JSON Schema
keyword can state, refused by the model as a whole (an error located at the
settings object, as the API's ``settings`` problem). ``Truth.documents``
generates schema-valid documents from the schema itself.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from exporterhub.core.kinds import StoredKind

Path = tuple[str, ...]
"""Dotted key as parts; ``"0"`` is the first item of a list."""

PROBES: list[Any] = [
    True,
    False,
    None,
    "1",
    "",
    "abc",
    " ",
    "\x00",
    "é",
    "x" * 300,
    [],
    {},
    [1],
    0,
    1,
    -1,
    0.5,
    -0.5,
    5.0,
    1e308,
    -1e308,
    2**53,
    2**64,
]
"""Values of every JSON type and the usual suspects, tried at every leaf."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Any JSON value."""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One scalar setting as the schema states it."""

    path: Path
    node: dict[str, Any]
    nullable: bool

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def type(self) -> str | None:
        kind = self.node.get("type")
        return kind if isinstance(kind, str) else None

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "number")

    @property
    def low(self) -> float:
        return self.node.get("minimum", self.node.get("exclusiveMinimum", -math.inf))

    @property
    def high(self) -> float:
        return self.node.get("maximum", self.node.get("exclusiveMaximum", math.inf))

    @property
    def step(self) -> int:
        """The integer step: ``multipleOf`` when the schema states one, else 1."""
        return int(self.node.get("multipleOf", 1))

    def smallest(self) -> float:
        if "exclusiveMinimum" not in self.node:
            return self.low
        if self.type == "integer":
            return self.low + self.step
        return math.nextafter(self.low, math.inf)

    def largest(self) -> float:
        if "exclusiveMaximum" not in self.node:
            return self.high
        if self.type == "integer":
            return self.high - self.step
        return math.nextafter(self.high, -math.inf)

    def inside(self) -> list[float]:
        """The bounds and the values just inside them."""
        low, high = self.smallest(), self.largest()
        if self.type == "integer":
            step = self.step
            return sorted({low, low + step, high - step, high})
        up, down = math.nextafter(low, math.inf), math.nextafter(high, -math.inf)
        return sorted({low, up, down, high})

    def outside(self) -> list[float]:
        """The values just beyond the bounds."""
        low, high = self.smallest(), self.largest()
        if self.type == "integer":
            return [low - self.step, high + self.step]
        return [math.nextafter(low, -math.inf), math.nextafter(high, math.inf)]

    def strings(self) -> list[str]:
        """Near misses of an enum: padded, re-cased."""
        out: list[str] = []
        for choice in self.node.get("enum", []):
            out += [f" {choice}", f"{choice} ", choice.upper(), choice.title()]
        return out


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return schema["$defs"][ref.rsplit("/", 1)[-1]]


def _non_null(schema: dict[str, Any], node: dict[str, Any]) -> tuple[Any, bool]:
    """Return the node without a ``null`` alternative, and whether it had one."""
    choices = node.get("anyOf")
    if choices is None:
        return _resolve(schema, node), False
    rest = [c for c in choices if c.get("type") != "null"]
    assert len(rest) == 1, node  # the walk knows only nullable anyOfs
    return _resolve(schema, rest[0]), len(rest) < len(choices)


def leaves(schema: dict[str, Any], node: Any = None, prefix: Path = ()) -> list[Leaf]:
    """Return every scalar reachable from ``node`` (the whole schema by default)."""
    node = schema if node is None else node
    found: list[Leaf] = []
    for key, child in node.get("properties", {}).items():
        inner, nullable = _non_null(schema, child)
        if inner.get("type") == "object":
            found += leaves(schema, inner, (*prefix, key))
        elif inner.get("type") == "array":
            item, _ = _non_null(schema, inner["items"])
            found.append(Leaf((*prefix, key, "0"), item, nullable=False))
        else:
            found.append(Leaf((*prefix, key), inner, nullable))
    return found


def set_at(data: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``value`` at ``path``, creating mappings and one-item lists on the way."""
    node: Any = data
    for part, after in itertools.pairwise(path):
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if not isinstance(node.get(part), list | dict):
            node[part] = [None] if after == "0" else {}
        node = node[part]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value


def get_at(data: Any, path: Path) -> Any:
    """Return the value at ``path``."""
    for part in path:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Truth:
    """One kind's schema and validation, side by side.

    Args:
        stored: the kind.
        base: valid settings that every probe starts from.
        ordered: pairs of dotted keys whose values must not decrease (a
            cross-field rule): ``with_value`` moves the partner along.
    """

    def __init__(
        self,
        stored: StoredKind,
        base: dict[str, Any],
        ordered: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.stored = stored
        self.schema = stored.schema()
        self.validator = jsonschema_rs.validator_for(self.schema)
        self.base = base
        self.ordered = [(tuple(a.split(".")), tuple(b.split("."))) for a, b in ordered]
        self.leaves = leaves(self.schema)
        self.numbers = [leaf for leaf in self.leaves if leaf.numeric]
        self._values: dict[Path, st.SearchStrategy[Any]] = {}

    def values(self, leaf: Leaf) -> st.SearchStrategy[Any]:
        """Return the strategy of a leaf's schema-valid values (built once)."""
        if leaf.path not in self._values:
            node: Any = leaf.node
            if leaf.nullable:
                node = {"anyOf": [node, {"type": "null"}]}
            self._values[leaf.path] = strategy(self.schema, node)
        return self._values[leaf.path]

    @functools.cached_property
    def documents(self) -> st.SearchStrategy[dict[str, Any]]:
        """Schema-valid settings: whole documents, and leaves drawn over the base."""
        return strategy(self.schema, self.schema) | over_base(self)

    def refusal(self, doc: Any) -> list[dict[str, Any]] | None:
        """Return the API validation's errors for ``doc``; None when accepted."""
        if not isinstance(doc, dict):  # the API's own check: "an object is required"
            return [{"loc": (), "type": "dict_type", "msg": "an object is required"}]
        try:
            self.stored.target("t", doc)
        except ValidationError as exc:
            return list(exc.errors())
        except ValueError as exc:  # the kind's own check: on the settings as a whole
            return [{"loc": (), "type": "value_error", "msg": str(exc)}]
        return None

    def schema_accepts(self, doc: Any) -> bool:
        return bool(self.validator.is_valid(doc))

    def assert_agree(self, doc: Any) -> None:
        """Schema and validation agree on ``doc``, up to model-level rules."""
        errors = self.refusal(doc)
        schema_ok = self.schema_accepts(doc)
        if errors is None:
            assert schema_ok, f"accepted by the model, not by the schema: {doc!r}"
        elif schema_ok:
            outside = [e for e in errors if tuple(e["loc"]) != ()]
            assert not outside, f"refused only by the model, at a field: {errors}"

    def with_value(self, leaf: Leaf, value: Any) -> dict[str, Any]:
        """Return ``base`` with ``leaf`` at ``value``, ordered partners moved along."""
        data = copy.deepcopy(self.base)
        set_at(data, leaf.path, value)
        if not is_number(value):
            return data
        for low, high in self.ordered:
            if leaf.path == low:
                set_at(data, high, max(value, self._default(high)))
            elif leaf.path == high:
                set_at(data, low, min(value, self._default(low)))
        return data

    def _default(self, path: Path) -> Any:
        try:
            return get_at(self.base, path)
        except (KeyError, IndexError):
            return get_at(self.schema, _schema_path(path))["default"]

    def probes(self, leaf: Leaf) -> Iterator[Any]:
        """Every probe value for ``leaf``: JSON types, odd strings, bounds."""
        yield from PROBES
        yield from leaf.strings()
        if leaf.numeric:
            yield from leaf.inside()
            yield from leaf.outside()


def _schema_path(path: Path) -> list[str]:
    out = []
    for part in path:
        out += ["properties", part]
    return out


def strategy(schema: dict[str, Any], node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Draw JSON values valid against ``node`` (the keywords our models use)."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        return st.one_of([strategy(schema, choice) for choice in node["anyOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        leaf = Leaf((), node, nullable=False)
        low, high = leaf.smallest(), leaf.largest()
        if kind == "integer":
            step = leaf.step  # multipleOf: draw multiples only
            return st.integers(math.ceil(low / step), int(high // step)).map(
                lambda k: k * step
            )
        whole = st.integers(math.ceil(low), math.floor(high))
        return st.floats(low, high, allow_nan=False, allow_infinity=False) | whole
    if kind == "string":
        limit = node.get("maxLength", 64)
        if "pattern" in node:
            text = st.from_regex(node["pattern"], fullmatch=True)
            return text.filter(lambda s: len(s) <= limit)
        return st.text(max_size=min(limit, 64))
    if kind == "array":
        least = node.get("minItems", 0)
        most = max(least, min(3, node.get("maxItems", 3)))
        return st.lists(strategy(schema, node["items"]), min_size=least, max_size=most)
    assert kind == "object", node
    properties = node.get("properties", {})
    required = set(node.get("required", []))
    return st.fixed_dictionaries(
        {key: strategy(schema, properties[key]) for key in required},
        optional={
            key: strategy(schema, value)
            for key, value in properties.items()
            if key not in required
        },
    )


@st.composite
def over_base(draw: st.DrawFn, truth: Truth) -> dict[str, Any]:
    """Draw a few leaves anywhere within the schema, placed over the base."""
    chosen = draw(
        st.lists(
            st.sampled_from(truth.leaves),
            min_size=1,
            max_size=6,
            unique_by=lambda leaf: leaf.path,
        )
    )
    data = copy.deepcopy(truth.base)
    for leaf in chosen:
        set_at(data, leaf.path, draw(truth.values(leaf)))
    return data


def pytest_generate_tests(metafunc: Any) -> None:
    """Parametrize ``leaf`` and ``number`` over the leaves of the class's ``truth``.

    Import it into a test module that subclasses ``SchemaTruthTests``.
    """
    truth = getattr(metafunc.cls, "truth", None)
    if not isinstance(truth, Truth):
        return
    if "leaf" in metafunc.fixturenames:
        metafunc.parametrize("leaf", truth.leaves, ids=lambda leaf: leaf.name)
    if "number" in metafunc.fixturenames:
        metafunc.parametrize("number", truth.numbers, ids=lambda leaf: leaf.name)


# Each kind's subclass runs the same hypothesis tests on its own ``truth``; they
# are derandomized (no example database to replay across kinds), so the
# differing-executors check has nothing to protect here.
GENERATED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.differing_executors],
)


class SchemaTruthTests:
    """The agreement tests every kind runs; a subclass sets ``truth``."""

    truth: Truth

    def test_base_is_valid_both_ways(self):
        """The base settings are accepted by the schema and the model."""
        assert self.truth.refusal(self.truth.base) is None
        assert self.truth.schema_accepts(self.truth.base)

    def test_every_probe_at_every_leaf(self, leaf):
        """Each JSON type, odd string and bound at each leaf: schema == model."""
        for value in self.truth.probes(leaf):
            self.truth.assert_agree(self.truth.with_value(leaf, value))

    def test_number_has_finite_bounds(self, number):
        """Each numeric leaf declares a finite minimum and maximum."""
        assert math.isfinite(number.low), number.name
        assert math.isfinite(number.high), number.name

    def test_bounds_and_just_outside(self, number):
        """At and just inside its bounds a number is accepted; just outside, refused
        by both, and the model names the field."""
        for value in number.inside():
            doc = self.truth.with_value(number, value)
            assert self.truth.refusal(doc) is None, (number.name, value)
            assert self.truth.schema_accepts(doc), (number.name, value)
        for value in number.outside():
            doc = self.truth.with_value(number, value)
            errors = self.truth.refusal(doc)
            assert errors is not None, (number.name, value)
            located = {".".join(map(str, e["loc"])) for e in errors}
            assert number.name in located, (number.name, value, located)
            assert not self.truth.schema_accepts(doc), (number.name, value)

    @pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
    def test_non_finite_is_refused(self, number, bad):
        """Infinity and NaN are refused for every number (YAML can spell them)."""
        errors = self.truth.refusal(self.truth.with_value(number, bad))
        assert errors is not None
        assert number.name in {".".join(map(str, e["loc"])) for e in errors}

    def test_booleans_are_not_numbers(self, number):
        """A boolean is never a number; an integer is one, 5.0 an integer."""
        for flag in (True, False):
            assert self.truth.refusal(self.truth.with_value(number, flag)), flag
        whole = int(number.largest())
        assert self.truth.refusal(self.truth.with_value(number, whole)) is None
        assert self.truth.refusal(self.truth.with_value(number, float(whole))) is None

    @GENERATED
    @given(data=st.data())
    def test_any_json_value_at_any_leaf(self, data):
        """Whatever JSON value lands on a leaf, schema and model agree."""
        leaf = data.draw(st.sampled_from(self.truth.leaves))
        self.truth.assert_agree(self.truth.with_value(leaf, data.draw(json_values)))

    @GENERATED
    @given(data=st.data())
    def test_generated_documents(self, data):
        """Schema-valid documents generated from the schema are accepted, up to
        the model-level rules; any JSON as the whole settings agrees too."""
        doc = data.draw(self.truth.documents)
        assert self.truth.schema_accepts(doc), doc
        errors = self.truth.refusal(doc)
        assert errors is None or all(tuple(e["loc"]) == () for e in errors), errors
        self.truth.assert_agree(data.draw(json_values))
