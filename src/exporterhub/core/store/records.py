"""What the store hands out: a stored target and a target's last known status.

Plain frozen values; no I/O, no database types. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["StoredTarget", "TargetStatus"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTarget:
    """One target row.

    Attributes:
        id: the row's surrogate key, stable for the row's life; users and the
            API address targets by ``kind`` and ``name``.
        kind: the exporter that watches it (``phd2`` …).
        name: unique within its kind.
        settings: the kind's settings as a python-mode ``model_dump()``; every
            secret is a ``pydantic.SecretStr`` again, so the dict can be fed
            straight to the kind's settings model.
        enabled: whether the reconcile loop should run it.
        created_at: when the row was created (UTC).
        updated_at: when its settings or ``enabled`` last changed (UTC).
        revision: 1 on create, +1 on every change; a write naming another
            revision is refused with ``StaleRevisionError``.
    """

    id: int
    kind: str
    name: str
    settings: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetStatus:
    """A target's runtime status, kept in memory and stored when it changes.

    Attributes:
        kind: the target's kind.
        name: the target's name (file-configured targets have statuses too).
        link: a short state word from the worker (``connected``, ``backoff`` …).
        up: whether the last poll or stream was healthy and fresh.
        changed_at: when ``link`` or ``up`` last changed (UTC).
        last_error_kind: a short fixed word for the last error, or None.
        last_error: the last error's text (never a secret), or None.
        last_success: the last healthy poll or frame (UTC), or None.
    """

    kind: str
    name: str
    link: str
    up: bool
    changed_at: datetime
    last_error_kind: str | None = None
    last_error: str | None = None
    last_success: datetime | None = None
