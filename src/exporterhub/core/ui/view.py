"""What the pages show, as plain data: targets, their state in words, values.

Builds the dictionaries the templates render (the same ``TargetAnswer`` data the
REST API answers, so the first paint and the live updates agree) and formats
numbers and times for people. Reads the control plane and the exposition; never
changes anything, never awaits anything.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from exporterhub.core.api.targets import target_answer
from exporterhub.core.catalog import Entry
from exporterhub.core.ui.samples import parse_exposition, unit_of

if TYPE_CHECKING:
    from exporterhub.core.app import HubState
    from exporterhub.core.control import ControlPlane

__all__ = [
    "ago",
    "all_targets",
    "display",
    "find_target",
    "flat_settings",
    "state_of",
    "values_of",
]

_SI: Final = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def all_targets(plane: ControlPlane) -> list[dict[str, Any]]:
    """Return every target as ``GET /api/targets`` lists them, discovered ones too."""
    answers = [target_answer(plane, e) for e in plane.catalog.entries()]
    known = {(e.kind, e.name) for e in plane.catalog.entries()}
    for target in plane.runner.targets:
        if (target.kind, target.name) in known:
            continue
        kind = plane.catalog.kinds.get(target.kind)
        entry = Entry(
            kind=target.kind,
            name=target.name,
            source="store",
            enabled=True,
            settings=kind.settings(target) if kind is not None else {},
            target=target,
        )
        answer = target_answer(plane, entry)
        answer["source"] = "discovery"
        answers.append(answer)
    return answers


def find_target(plane: ControlPlane, kind: str, name: str) -> dict[str, Any] | None:
    """Return one target's answer, or None when no source has it."""
    entry = plane.catalog.entry(kind, name)
    if entry is not None:
        return target_answer(plane, entry)
    for answer in all_targets(plane):
        if (answer["kind"], answer["name"]) == (kind, name):
            return answer
    return None


def state_of(answer: dict[str, Any]) -> str:
    """Return the state ``/api/targets?state=`` filters by.

    >>> state_of({"shadowed": False, "invalid": None, "enabled": True, "up": True})
    'up'
    """
    if answer["shadowed"]:
        return "shadowed"
    if answer["invalid"]:
        return "invalid"
    if not answer["enabled"]:
        return "disabled"
    return "up" if answer["up"] else "down"


def ago(when: float | None, now: float) -> str:
    """Return how long ago ``when`` was, in words.

    >>> ago(None, 100.0), ago(88.0, 100.0), ago(0.0, 7200.0)
    ('never', '12 s ago', '2 h ago')
    """
    if when is None:
        return "never"
    seconds = max(0.0, now - when)
    if seconds < 1:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _si(value: float, unit: str) -> str:
    magnitude = abs(value)
    for size, prefix in _SI:
        if magnitude >= size:
            return f"{value / size:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def display(value: float, unit: str) -> str:
    """Return a sample value for people, in its unit.

    >>> display(6.1140287331e11, "bytes"), display(0.5, "ratio"), display(3.0, "")
    ('611 GB', '50 %', '3')
    >>> display(1.7e9, "timestamp"), display(float("nan"), "W")
    ('2023-11-14 22:13:20 UTC', 'NaN')
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if unit == "timestamp":
        if value <= 0:
            return "never"
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if unit == "bytes":
        return _si(value, "B")
    if unit == "bits/s":
        return _si(value, "bit/s")
    if unit == "ratio":
        return f"{value * 100:.3g} %"
    whole = value.is_integer() and abs(value) < 1e15
    text = str(int(value)) if whole else f"{value:.6g}"
    return f"{text} {unit}" if unit else text


def values_of(state: HubState, kind: str, name: str) -> list[dict[str, Any]] | None:
    """Return a target's current series as rows for the values table.

    Each row: family, help, the sample's extra labels (identity labels left
    out), the raw value and the value for people. None for an unknown target.
    """
    body = state.exposition.target_body(kind, name)
    if body is None:
        return None
    record = state.exposition.section(kind).get(name)
    identity = {k for k, _ in record.identity} if record is not None else set()
    rows = []
    for family in parse_exposition(body.decode()):
        unit = unit_of(family.name)
        for sample in family.samples:
            rows.append(
                {
                    "family": family.name,
                    "help": family.help,
                    "labels": ", ".join(
                        f"{k}={v}" for k, v in sample.labels if k not in identity
                    ),
                    "value": sample.value if math.isfinite(sample.value) else None,
                    "display": display(sample.value, unit),
                }
            )
    return rows


def flat_settings(
    settings: Any,  # noqa: ANN401 - JSON settings
    secrets: dict[str, bool],
    path: str = "",
) -> list[tuple[str, str]]:
    """Return settings as (dotted path, text) rows; secrets as set or not set.

    >>> flat_settings({"a": 1, "pw": None, "d": {"h": "x"}, "l": []}, {"pw": True})
    [('a', '1'), ('pw', 'set'), ('d.h', 'x'), ('l', '(none)')]
    """
    if path in secrets:
        return [(path, "set" if secrets[path] else "not set")]
    if isinstance(settings, dict) and settings:
        rows: list[tuple[str, str]] = []
        for key, value in settings.items():
            rows += flat_settings(value, secrets, f"{path}.{key}" if path else key)
        return rows
    if isinstance(settings, list) and settings:
        rows = []
        for index, value in enumerate(settings):
            rows += flat_settings(value, secrets, f"{path}.{index}")
        return rows
    if settings is None or settings == [] or settings == {}:
        return [(path, "(none)")]
    if isinstance(settings, bool):
        return [(path, "yes" if settings else "no")]
    return [(path, str(settings))]
