"""Per-target published state: an immutable record swapped by reference.

A worker folds what it receives into its exporter's own frozen snapshot type and
publishes it wrapped in a ``TargetRecord`` together with the target's health. Readers
(the renderer, the API) only ever see whole records. This module must not do I/O.

Freshness is decided by whoever reads, at the moment it reads, from the instants a
record carries; it never waits for the worker to publish again. A record's data is
current for ``max_age`` seconds after ``taken_at``, and never while the wall clock
reads earlier than ``taken_at``: a clock stepped back (NTP, a resumed VM) says
nothing about how old the data is, and data of unknown age is not current. Data
whose parts age at different rates (CHAOS: quota after 2 x the fast interval, sync
rates after 2 x the medium one) implements ``AgeingData``: the reader asks it for
the view at ``now`` and whether the target still counts as fresh. ``schedule``
lists every instant at which what a reader shows of a record can change, so a
rendered view can be kept exactly until the next one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Generic, Protocol, Self, TypeVar, cast, runtime_checkable

__all__ = [
    "AgeingData",
    "LinkState",
    "TargetRecord",
    "expires_at",
    "is_fresh",
    "schedule",
    "view",
    "within_max_age",
]

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
        changed_at: wall-clock seconds of the last change of ``link``.
        error: the short fixed kind of the last failure (``timeout``,
            ``refused``, ``auth`` …), kept after a recovery; None before any.
        error_detail: one line about that failure, for people (never secrets).
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
    changed_at: float | None = None
    error: str | None = None
    error_detail: str | None = None

    def with_data(self, data: S, now: float) -> TargetRecord[S]:
        """Return a copy holding new data taken at ``now``; a success by definition.

        Built field by field rather than with ``dataclasses.replace``: a stream
        publishes on every frame, and ``replace`` costs three times as much.
        """
        return type(self)(
            name=self.name,
            identity=self.identity,
            data=data,
            taken_at=now,
            max_age=self.max_age,
            link=self.link,
            healthy=True,
            last_success=now,
            reconnects=self.reconnects,
            attempted=True,
            changed_at=self.changed_at,
            error=self.error,
            error_detail=self.error_detail,
        )

    def with_link(
        self,
        link: LinkState,
        *,
        healthy: bool | None = None,
        now: float | None = None,
    ) -> TargetRecord[S]:
        """Return a copy in another link state; leaving the link drops health.

        ``now`` stamps ``changed_at`` when the state really changes.
        """
        if healthy is None:
            healthy = self.healthy and link is LinkState.CONNECTED
        attempted = self.attempted or link is not LinkState.CONNECTING
        changed_at = now if link is not self.link and now is not None else None
        return replace(
            self,
            link=link,
            healthy=healthy,
            attempted=attempted,
            changed_at=changed_at if changed_at is not None else self.changed_at,
        )


@runtime_checkable
class AgeingData(Protocol):
    """Snapshot data whose parts expire on their own, before the record does.

    An instant ``t`` below means "still valid at ``t``, expired just after": a part
    valid until ``t`` is shown while ``now <= t``. Contract: ``at(now)`` and
    ``current(now)`` change only at the instants ``expiries()`` lists; between two
    of them (and before the first, and after the last) they answer the same for
    every ``now``. That is what lets a reader render a view once and keep it until
    the next instant. All three must be pure and cheap: they run at render time.
    """

    def expiries(self) -> Iterable[float]:
        """Return the wall-clock instants at which some part expires (any order)."""
        ...

    def at(self, now: float) -> Self:
        """Return the view to show at ``now``: parts past their age left out."""
        ...

    def current(self, now: float) -> bool:
        """Say whether every part the target needs is still within its age."""
        ...


_AGEING_TYPES: dict[type, bool] = {}


def _ageing(data: object) -> AgeingData | None:
    """Return ``data`` if its type implements ``AgeingData``, else None.

    Remembered per type: a runtime protocol check costs microseconds, and this
    runs for every render of every target.
    """
    kind = type(data)
    known = _AGEING_TYPES.get(kind)
    if known is None:
        known = _AGEING_TYPES[kind] = isinstance(data, AgeingData)
    return cast("AgeingData", data) if known else None


def expires_at(record: TargetRecord[object]) -> float | None:
    """Return the instant after which the record's data is stale; None without data.

    >>> r = TargetRecord(name="a", identity=(), data=1, taken_at=100.0, max_age=10)
    >>> expires_at(r), expires_at(TargetRecord(name="b", identity=()))
    (110.0, None)
    """
    if record.data is None or record.taken_at is None:
        return None
    return record.taken_at + record.max_age


def within_max_age(record: TargetRecord[object], now: float) -> bool:
    """Say whether the record's data as a whole is still within its max age.

    Past it every value row goes; only rows kept when stale remain. Before
    ``taken_at`` (the wall clock was stepped back since) the data's age is
    unknown, and it counts as stale too.

    >>> r = TargetRecord(name="a", identity=(), data=1, taken_at=100.0, max_age=10)
    >>> within_max_age(r, 110.0), within_max_age(r, 110.5), within_max_age(r, 99.0)
    (True, False, False)
    """
    until = expires_at(record)
    return (
        until is not None
        and record.taken_at is not None
        and record.taken_at <= now <= until
    )


def is_fresh(record: TargetRecord[object], now: float) -> bool:
    """Say whether the target's data counts as current (``<prefix>_up`` reads this).

    True within the record's max age, and for ``AgeingData`` only while the data
    says every part it needs is within its own age.

    >>> r = TargetRecord(name="a", identity=(), data=1, taken_at=100.0, max_age=10)
    >>> is_fresh(r, 105.0), is_fresh(r, 111.0)
    (True, False)
    """
    if not within_max_age(record, now):
        return False
    data = _ageing(record.data)
    return data is None or data.current(now)


def view(record: TargetRecord[object], now: float) -> object:
    """Return what the metric table reads at ``now``: ``AgeingData`` pruned by age."""
    data = _ageing(record.data)
    return record.data if data is None else data.at(now)


def schedule(record: TargetRecord[object]) -> tuple[float, ...]:
    """Return, sorted, every instant at which what a reader shows may change.

    The record's own expiry and, for ``AgeingData``, its parts' expiries. Between
    two consecutive instants the rendered view of the record stays the same. The
    first is the float just below ``taken_at``: up to it (a clock stepped back)
    the data is stale.

    >>> r = TargetRecord(name="a", identity=(), data=1, taken_at=100.0, max_age=10)
    >>> schedule(r), schedule(TargetRecord(name="b", identity=()))
    ((99.99999999999999, 110.0), ())
    """
    instants: set[float] = set()
    until = expires_at(record)
    if until is not None and record.taken_at is not None:
        instants.add(math.nextafter(record.taken_at, -math.inf))
        instants.add(until)
    data = _ageing(record.data)
    if data is not None:
        instants.update(data.expiries())
    return tuple(sorted(instants))
