"""Reads the Prometheus text exposition the core renders back into samples.

The target page shows a target's current values and the history charts its key
metrics; both read the same bytes ``/probe`` serves (``Exposition.target_body``)
rather than the exporters' snapshots, so the page shows exactly what Prometheus
scrapes. Only the text format 0.0.4 as ``core.metrics`` writes it is read. Pure
functions: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "Family",
    "Sample",
    "finite",
    "parse_exposition",
    "parse_sample",
    "unit_of",
]

_LABEL: Final = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE: Final = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_UNITS: Final = (
    ("_timestamp_seconds", "timestamp"),
    ("_bytes_per_second", "bytes/s"),
    ("_bytes", "bytes"),
    ("_bps", "bits/s"),
    ("_seconds", "seconds"),
    ("_ratio", "ratio"),
    ("_percent", "%"),
    ("_watts", "W"),
    ("_joules", "J"),
    ("_volts", "V"),
    ("_amperes", "A"),
    ("_celsius", "°C"),
    ("_meters", "m"),
    ("_degrees", "°"),
    ("_mbps", "Mbit/s"),
    ("_ms", "ms"),
    ("_dbm", "dBm"),
    ("_db", "dB"),
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One series' value: metric name, labels in exposition order, value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(slots=True)
class Family:
    """One family of the exposition: its help, type and samples."""

    name: str
    help: str = ""
    type: str = "untyped"
    samples: list[Sample] = field(default_factory=list)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return re.sub(r"\\.", lambda m: _UNESCAPE.get(m.group(0), m.group(0)), value)


def parse_sample(line: str) -> Sample | None:
    """Parse one sample line; None for a comment, a blank or a malformed line.

    >>> parse_sample('phd2_rms{target="a",scale="px"} 0.25')
    Sample(name='phd2_rms', labels=(('target', 'a'), ('scale', 'px')), value=0.25)
    >>> parse_sample("starlink_up 1.0").value, parse_sample("# HELP x y")
    (1.0, None)
    """
    if not line or line.startswith("#"):
        return None
    brace = line.find("{")
    space = line.find(" ")
    if space < 0:
        return None
    labels: tuple[tuple[str, str], ...] = ()
    if 0 <= brace < space:
        end = line.rfind("}")
        if end < brace:
            return None
        name = line[:brace]
        labels = tuple(
            (m.group(1), _unescape(m.group(2)))
            for m in _LABEL.finditer(line, brace + 1, end)
        )
        rest = line[end + 1 :].split()
    else:
        name = line[:space]
        rest = line[space + 1 :].split()
    if not rest:
        return None
    try:
        value = float(rest[0])
    except ValueError:
        return None
    return Sample(name, labels, value)


def parse_exposition(text: str) -> list[Family]:
    r"""Return the families of an exposition text, in order, with their samples.

    >>> body = "# HELP a_total Things.\n# TYPE a_total counter\na_total 3.0\n"
    >>> [(f.name, f.type, f.help, f.samples) for f in parse_exposition(body)]
    [('a_total', 'counter', 'Things.', [Sample(name='a_total', labels=(), value=3.0)])]
    """
    families: dict[str, Family] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 3:
                continue
            family = families.setdefault(parts[2], Family(parts[2]))
            rest = _unescape(parts[3]) if len(parts) == 4 else ""
            if parts[1] == "HELP":
                family.help = rest
            else:
                family.type = rest
            continue
        sample = parse_sample(line)
        if sample is None:
            continue
        family = families.get(sample.name) or _owner(families, sample.name)
        family.samples.append(sample)
    return [f for f in families.values() if f.samples]


def _owner(families: dict[str, Family], name: str) -> Family:
    """Return the family a sample name belongs to, making one for a stray sample."""
    for suffix in ("_total", "_info"):
        base = name.removesuffix(suffix)
        if base != name and base in families:
            return families[base]
    return families.setdefault(name, Family(name))


def unit_of(name: str) -> str:
    """Return the unit a metric's name declares, for display; "" when none.

    >>> unit_of("tapo_power_watts"), unit_of("phd2_rms"), unit_of("x_ratio")
    ('W', '', 'ratio')
    """
    base = name.removesuffix("_total")
    for suffix, unit in _UNITS:
        if base.endswith(suffix):
            return unit
    return ""


def finite(values: Iterator[float]) -> list[float | None]:
    """Return values as JSON numbers, NaN and infinities as None.

    >>> finite(iter([1.0, float("nan"), float("inf")]))
    [1.0, None, None]
    """
    return [v if math.isfinite(v) else None for v in values]
