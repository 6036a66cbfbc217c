"""Fixture files of the SNP exporter's tests (``tests/fixtures/snp``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "snp"


def frame(name: str) -> bytes:
    """Return a WebSocket frame fixture's bytes (``ws/<name>``)."""
    return (FIXTURES / "ws" / name).read_bytes()


def obj(name: str) -> dict[str, Any]:
    """Return a decoded status object fixture (``objects/<name>.json``)."""
    loaded: dict[str, Any] = orjson.loads(
        (FIXTURES / "objects" / f"{name}.json").read_bytes()
    )
    return loaded


def rest(name: str) -> bytes:
    """Return a REST answer fixture's bytes (``rest/<name>``)."""
    return (FIXTURES / "rest" / name).read_bytes()


def status_frame(*objects: dict[str, Any], kind: str = "statusState") -> bytes:
    """Return a status frame whose items are the objects as JSON strings."""
    return orjson.dumps(
        {"msgType": kind, "statuses": [orjson.dumps(o).decode() for o in objects]}
    )
