"""The CHAOS simulator's accounts: control logins and their lines, from a data file.

:func:`load_data` reads a data file (``data/chaos.json`` in this package by
default): control logins with passwords, telephony numbers and broadband lines. A
line is a map of string fields (``ID``, ``login``, ``postcode``,
``tx_rate``/``rx_rate``/``tx_rate_adjusted`` in bit/s,
``quota_monthly``/``quota_remaining`` in bytes, ``quota_timestamp`` as UK wall
time ``YYYY-MM-DD HH:MM:SS``) answered verbatim, so new fields or shapes need no
code; ``aliases`` (phone numbers, circuit IDs) select a line but are never sent.
:func:`generate_lines` pads a login with plausible lines (benchmarks).

This module must not build answers (``model`` does) or do I/O beyond reading the
data file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ChaosData", "Login", "generate_lines", "load_data"]


@dataclass(slots=True, kw_only=True)
class Login:
    """One control login: its password, telephony numbers and broadband lines."""

    login: str
    password: str
    telephony: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ChaosData:
    """Everything the simulator answers from; mutable (quota ticks, generators)."""

    logins: list[Login]
    rate_card: dict[str, list[dict[str, str]]]


def load_data(path: Path | None = None) -> ChaosData:
    """Load a data file (JSON or YAML); the packaged default when ``path`` is None.

    Raises:
        ValueError: the file does not describe logins as expected.
        OSError: the file cannot be read.
    """
    if path is None:
        text = (
            resources.files("exporterhub.simulators.chaos")
            .joinpath("data/chaos.json")
            .read_text()
        )
    else:
        text = path.read_text(encoding="utf-8")
    raw: Any = yaml.safe_load(text)  # YAML is a superset of JSON
    if not isinstance(raw, dict) or not isinstance(raw.get("logins"), list):
        msg = "CHAOS data: expected a mapping with a 'logins' list"
        raise ValueError(msg)
    logins = []
    for item in raw["logins"]:
        if not isinstance(item, dict) or not {"login", "password"} <= item.keys():
            msg = "CHAOS data: every login needs 'login' and 'password'"
            raise ValueError(msg)
        lines = [
            {k: v if k == "aliases" else str(v) for k, v in line.items()}
            for line in item.get("lines") or []
        ]
        if any("ID" not in line for line in lines):
            msg = "CHAOS data: every line needs an 'ID'"
            raise ValueError(msg)
        logins.append(
            Login(
                login=str(item["login"]),
                password=str(item["password"]),
                telephony=[str(n) for n in item.get("telephony") or []],
                lines=lines,
            )
        )
    card = raw.get("rate_card") or {}
    rate_card = {
        "codes": [_strings(c) for c in card.get("codes") or []],
        "rates": [_strings(r) for r in card.get("rates") or []],
    }
    return ChaosData(logins=logins, rate_card=rate_card)


def _strings(item: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in item.items()}


def generate_lines(login: Login, count: int, seed: int | None = None) -> None:
    """Pad (or cut) ``login``'s lines to ``count``, generating plausible ones.

    Existing lines are kept first, so the fixture lines survive when ``count`` ≥ 3.
    Generated IDs start at 50001 and are unique within the data.
    """
    rng = random.Random(seed)
    del login.lines[count:]
    used = {line["ID"] for line in login.lines}
    next_id = 50001
    while len(login.lines) < count:
        while str(next_id) in used:
            next_id += 1
        n = len(login.lines) + 1
        sync = rng.choice((40_000_000, 67_496_000, 80_000_000, 1_000_000_000))
        monthly = rng.choice((0, 100_000_000_000, 500_000_000_000))
        remaining = rng.randrange(0, 2 * monthly) if monthly else 0
        login.lines.append(
            {
                "ID": str(next_id),
                "login": f"{login.login}.{n}",
                "postcode": "ZZ1 1AA",
                "tx_rate": str(sync),
                "rx_rate": str(sync // 4),
                "tx_rate_adjusted": str(sync * 95 // 100),
                "quota_monthly": str(monthly),
                "quota_remaining": str(remaining),
                "quota_timestamp": "2025-03-10 14:00:00",
                "aliases": [f"0163296{next_id:04d}"[-11:]],
            }
        )
        used.add(str(next_id))
