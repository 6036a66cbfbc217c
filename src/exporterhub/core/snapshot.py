"""Per-target published state: an immutable record swapped by reference.

A worker folds what it receives into its exporter's own frozen snapshot type and
publishes it wrapped in a ``TargetRecord`` together with the target's health. Readers
(the renderer, the API) only ever see whole records. This module must not do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Generic, TypeVar

__all__ = ["LinkState", "TargetRecord", "is_fresh"]

S = TypeVar("S")


class LinkState(StrEnum):
    """Where a target's worker stands with its device."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetRecord(Generic[S]):
    """Everything a scrape may say about one target, frozen.

    Attributes:
        name: the target's unique name within its exporter.
        identity: label pairs that identify the target's series, in output order.
        data: the exporter's snapshot, or None before any data arrived.
        taken_at: wall-clock seconds when ``data`` was last refreshed.
        max_age: seconds after ``taken_at`` when value series must be dropped.
        link: the worker's link state.
        healthy: True while the worker's last poll or stream read succeeded.
        last_success: wall-clock seconds of the last successful poll or read.
        reconnects: how many times the worker has reconnected (never decreases).
        attempted: the worker has finished its first attempt (success or not);
            readiness waits for this.
    """

    name: str
    identity: tuple[tuple[str, str], ...]
    data: S | None = None
    taken_at: float | None = None
    max_age: float = 60.0
    link: LinkState = LinkState.CONNECTING
    healthy: bool = False
    last_success: float | None = None
    reconnects: int = 0
    attempted: bool = False

    def with_data(self, data: S, now: float) -> TargetRecord[S]:
        """Return a copy holding new data taken at ``now``; a success by definition."""
        return replace(
            self,
            data=data,
            taken_at=now,
            healthy=True,
            last_success=now,
            attempted=True,
        )

    def with_link(
        self, link: LinkState, *, healthy: bool | None = None
    ) -> TargetRecord[S]:
        """Return a copy in another link state; leaving the link drops health."""
        if healthy is None:
            healthy = self.healthy and link is LinkState.CONNECTED
        attempted = self.attempted or link is not LinkState.CONNECTING
        return replace(self, link=link, healthy=healthy, attempted=attempted)


def is_fresh(record: TargetRecord[object], now: float) -> bool:
    """Say whether the record's data may still be served as current.

    >>> r = TargetRecord(name="a", identity=(), data=1, taken_at=100.0, max_age=10)
    >>> is_fresh(r, 105.0), is_fresh(r, 111.0)
    (True, False)
    """
    if record.data is None or record.taken_at is None:
        return False
    return now - record.taken_at <= record.max_age
