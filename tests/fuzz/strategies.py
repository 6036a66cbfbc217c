"""Strategies and settings shared by the fuzz tests.

The values are "structured but wrong": JSON-shaped data whose keys are right and
whose values are anything JSON (or a lenient parser) can carry — wrong types,
NaN and infinities, integers past 64 bits, odd unicode, deep nesting — and raw
bytes. ``budget`` gives a test its settings under the selected profile.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz")
"""``fuzz`` (make test) or ``long`` (make fuzz); see ``conftest``."""

_SCALE = int(os.environ.get("FUZZ_SCALE", "100")) if PROFILE == "long" else 1
"""How many times the short budget the long profile runs (``FUZZ_SCALE``)."""


def budget(examples: int) -> settings:
    """Return the profile's settings with ``examples`` examples (more when long)."""
    return settings(settings.get_profile(PROFILE), max_examples=examples * _SCALE)


EDGE_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        1,
        2**31,
        2**63 - 1,
        2**63,
        -(2**63) - 1,
        2**64,
        10**30,
        -(10**30),
        0.0,
        -0.0,
        1e-320,
        1e308,
        -1e308,
        float("nan"),
        float("inf"),
        float("-inf"),
    ]
)
TEXT = st.text(max_size=12) | st.sampled_from(
    [
        "",
        " ",
        "N/A",
        "---",
        "nan",
        "inf",
        "-1",
        "1e999",
        "\x00",
        "\ud800",
        "é€𝄞",
        "0x10",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | EDGE_NUMBERS
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON-ish value, NaN and huge integers included."""


def nested(depth: int) -> Any:
    """Return lists nested ``depth`` deep (deeper than any parser's recursion)."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.sampled_from([1_000, 100_000]).map(lambda n: "[" * n + "]" * n)
"""JSON text nested past Python's recursion limit."""


def objects(
    keys: list[str], **fixed: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of ``keys`` holding any value; ``fixed`` keys always set."""
    return st.fixed_dictionaries(
        fixed, optional={key: JSON_VALUES for key in keys if key not in fixed}
    )


def dumps(value: Any) -> str:
    """Write ``value`` as JSON text, NaN and Infinity as the bare tokens."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False)


def encoded(value: Any) -> bytes:
    """Write ``value`` as UTF-8 JSON, lone surrogates escaped (``surrogatepass``)."""
    return dumps(value).encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """Return ``value`` with some of its members replaced, dropped or kept.

    Real payloads (fixtures) keep their shape, so the decoders go deep; the
    replaced leaves and subtrees are any JSON value.
    """
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            choice = draw(st.integers(0, 5))
            if choice == 0:
                continue  # dropped
            result[key] = draw(mutated(item)) if choice > 1 else item
        return result
    if isinstance(value, list):
        return [draw(mutated(item)) for item in value]
    return value


def outcome(
    call: Callable[[], Any], *errors: type[BaseException]
) -> tuple[Any, BaseException | None]:
    """Return ``(result, None)``, or ``(None, error)`` when ``call`` raised ``errors``.

    Anything else propagates: that is what a fuzz test is looking for.
    """
    try:
        return call(), None
    except errors as exc:
        return None, exc


def env_names(model: type[BaseSettings]) -> list[str]:
    """Return the variable names a settings model reads: prefix + field, aliases."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(prefix + name.upper())
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(c.upper() for c in choices if isinstance(c, str))
    return sorted(names)


ENV_VALUES = TEXT | st.sampled_from(
    ["1e999", "nan", "-0", "9" * 5000, "yes", "0.5", "٣", "{", "[1]", '{"a": 1}',
     "127.0.0.1:99999", "[::1]:80", "::", "a,b,,c", " ", "http://x"]
)  # fmt: skip
"""What a variable may hold: any text the OS takes (see ``environment``)."""


@contextmanager
def environment(values: dict[str, str]) -> Iterator[dict[str, str]]:
    """Set ``values`` in ``os.environ`` for the block (restored after).

    NUL and lone surrogates are replaced: the OS takes neither in a variable.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(_OURS):
                patch.delenv(name)
        for name, value in values.items():
            text = value.replace("\x00", "").encode("utf-8", "replace").decode()
            patch.setenv(name, text)
        yield dict(os.environ)


_OURS = (
    "PHD2",
    "AAISP",
    "TAPO",
    "TP_LINK",
    "SNP",
    "STARLINK",
    "SIMULATION",
    "EXPORTERHUB",
)
