"""Fold CHAOS answers into an immutable ``ChaosSnapshot``. Pure, clock passed in.

No I/O, no logging, no clock reads: every method takes ``now`` (exporter wall clock,
Unix seconds). Rules followed (``shared/protocols/chaos.md`` §4, §7, §8, §9):

- Lines are keyed by the A&A ``ID``. The known lines are the SLOW tier's service
  list united with the latest ``service`` option choices (§4.1). ``apply_services``
  and ``apply_choices`` forget every line outside that union: all its series vanish
  at the next scrape. Info and quota answers never forget lines; a line they
  describe is shown (it exists: CHAOS answered for it) until the next list or
  choices leave it out.
- Labels: ``login`` and ``postcode`` come only from the latest ``broadband/info``
  answer for that ID, never from the control login (§4.3, §11). Quota values of a
  line no info answer has described yet are held back (not shown with an empty or
  borrowed login); the start-up order SLOW → MEDIUM → FAST makes that rare.
  ``service_up`` is the exception: a line whose polls fail before any info answer
  arrived shows ``service_up 0`` with ``login=""``, so a broken line is visible.
- Info answers carry quota figures too; when an info line has any quota field it
  refreshes the quota values exactly like a quota answer (same hourly data, same
  ``quota_timestamp``); an info line without quota fields leaves them alone.
- Ageing per tier, at scrape time: the snapshot is ``AgeingData`` (core). Every
  value carries the instant it expires and the core asks ``ChaosSnapshot.at(now)``
  when it renders, so values go at their age whether or not the worker publishes
  again (an API that hangs instead of refusing). A line's quota values go once
  they are older than ``fast_max_age``, its sync rates once older than
  ``medium_max_age``; ``service_up`` goes with the later of the two. The line's
  ``service_info`` row (login, postcode) stays for as long as the line is known.
  ``snapshot(now)`` already leaves out what has expired by ``now``.
- ``aaisp_up``: the snapshot counts as current (``ChaosSnapshot.current``) only
  while every kind of data it ever fetched is within its tier's age: quota
  (``fast_max_age``; an info answer with quota fields refreshes it too), info
  (``medium_max_age``), and each SLOW-tier answer (``slow_max_age``). So
  ``aaisp_up`` drops to 0 the moment enabled data goes stale, before the worker
  notices anything.
- ``complete=True`` (bulk mode: the answer covered every line the login sees): a
  known line missing from the answer loses that tier's values at once instead of
  at their age. Its ``service_up`` is left alone - the worker asks for it
  individually, and that poll's outcome (``apply_*`` or ``service_failed``) decides.
- ``service_up`` (§8.1) is 1 when the latest info or quota poll of the line
  returned data, 0 when it returned an error (``service_failed``).
- SLOW-tier extras (rate card, control logins, per-subsystem service counts) are
  shown once set and go once their own answer is older than ``slow_max_age``. The
  service list behind the broadband count keeps its lines known (and their
  ``service_info``) after that; only the count goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from exporterhub.exporters.chaos.payloads import InfoLine, QuotaLine, RateCard

__all__ = ["ChaosSnapshot", "ChaosState", "LineSnapshot"]

BROADBAND: Final = "broadband"
LOGIN: Final = "login"
TELEPHONY: Final = "telephony"

QUOTA_PART: Final = "broadband/quota"
INFO_PART: Final = "broadband/info"
RATECARD_PART: Final = "telephony/ratecard"
"""Parts of the snapshot that age on their own, named after the answer they come
from; the service counts' parts are ``<subsystem>/services``."""


def _services_part(subsystem: str) -> str:
    return f"{subsystem}/services"


def _valid(until: float | None, now: float) -> bool:
    return until is None or now <= until


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSnapshot:
    """What a scrape may show of one broadband line.

    Attributes:
        service_id: A&A line ID (``service`` label).
        login: per-line login from the latest info answer ("" when it had none);
            None while no info answer has described the line.
        postcode: stripped postcode from the latest info answer ("" for tunnels).
        up: 1/0 outcome of the latest info or quota poll; None before any poll.
        tx_rate: download sync rate in bit/s (``tx_rate``).
        rx_rate: upload sync rate in bit/s (``rx_rate``).
        tx_rate_adjusted: download rate A&A shapes to in bit/s.
        quota_monthly: the month's quota in bytes; 0 or None means no quota.
        quota_remaining: bytes left; may exceed the quota or be negative.
        quota_timestamp: Unix seconds of the quota figures.
        up_until: wall-clock instant after which ``up`` is no longer shown.
        info_until: instant after which the sync rates are no longer shown.
        quota_until: instant after which the quota values are no longer shown.

    The ``*_until`` instants are bookkeeping, not something a scrape shows: they
    take no part in equality.
    """

    service_id: str
    login: str | None = None
    postcode: str = ""
    up: bool | None = None
    tx_rate: int | None = None
    rx_rate: int | None = None
    tx_rate_adjusted: int | None = None
    quota_monthly: int | None = None
    quota_remaining: int | None = None
    quota_timestamp: float | None = None
    up_until: float | None = field(default=None, compare=False)
    info_until: float | None = field(default=None, compare=False)
    quota_until: float | None = field(default=None, compare=False)

    @property
    def has_quota(self) -> bool:
        """True when the line has a quota (``quota_monthly`` > 0, §7)."""
        return self.quota_monthly is not None and self.quota_monthly > 0

    def expiries(self) -> Iterable[float]:
        """Return the instants at which part of the line expires."""
        return (u for u in (self.up_until, self.info_until, self.quota_until) if u)

    def at(self, now: float) -> LineSnapshot | None:
        """Return the line as shown at ``now``; None when nothing is left to show."""
        up = _valid(self.up_until, now)
        info = _valid(self.info_until, now)
        quota = _valid(self.quota_until, now)
        if up and info and quota:
            return self
        if self.login is None and not up:
            return None  # no labels yet and no failing poll to show (see above)
        return replace(
            self,
            up=self.up if up else None,
            tx_rate=self.tx_rate if info else None,
            rx_rate=self.rx_rate if info else None,
            tx_rate_adjusted=self.tx_rate_adjusted if info else None,
            quota_monthly=self.quota_monthly if quota else None,
            quota_remaining=self.quota_remaining if quota else None,
            quota_timestamp=self.quota_timestamp if quota else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosSnapshot:
    """Everything the chaos metric table reads, frozen; ``AgeingData`` for the core.

    Attributes:
        lines: per-line values, sorted by ID.
        ratecard: the telephony rate card, when polled.
        control_logins: logins from ``login/services``, when polled.
        service_counts: (subsystem, number of services) per ``services`` answer.
        parts: (part, instant it expires) for every kind of answer fetched so far
            (``broadband/quota``, ``broadband/info``, ``<subsystem>/services``,
            ``telephony/ratecard``).
    """

    lines: tuple[LineSnapshot, ...] = ()
    ratecard: RateCard | None = None
    control_logins: tuple[str, ...] | None = None
    service_counts: tuple[tuple[str, int], ...] = ()
    parts: tuple[tuple[str, float], ...] = ()

    def expiries(self) -> Iterable[float]:
        """Return every instant at which something this snapshot shows expires."""
        found = {until for _, until in self.parts}
        for line in self.lines:
            found.update(line.expiries())
        return found

    def current(self, now: float) -> bool:
        """Say whether every part fetched so far is still within its tier's age."""
        return all(now <= until for _, until in self.parts)

    def at(self, now: float) -> ChaosSnapshot:
        """Return what a scrape at ``now`` shows: values past their age left out."""
        expired = {part for part, until in self.parts if now > until}
        lines = tuple(x for x in (line.at(now) for line in self.lines) if x)
        return replace(
            self,
            lines=lines,
            ratecard=None if RATECARD_PART in expired else self.ratecard,
            control_logins=(
                None if _services_part(LOGIN) in expired else self.control_logins
            ),
            service_counts=tuple(
                (subsystem, count)
                for subsystem, count in self.service_counts
                if _services_part(subsystem) not in expired
            ),
        )


@dataclass(slots=True)
class _Line:
    info: InfoLine | None = None
    info_at: float = 0.0
    quota: QuotaLine | None = None
    quota_at: float = 0.0
    up: bool | None = None
    up_at: float = 0.0


@dataclass(slots=True)
class ChaosState:
    """Mutable fold of one control login's answers; ``snapshot`` freezes it.

    Args:
        fast_max_age: seconds quota values stay valid (2 x the FAST interval).
        medium_max_age: seconds info values stay valid (2 x the MEDIUM interval).
        slow_max_age: seconds SLOW-tier answers stay valid (2 x the SLOW interval).
    """

    fast_max_age: float
    medium_max_age: float
    slow_max_age: float
    _lines: dict[str, _Line] = field(default_factory=dict)
    _fetched: dict[str, float] = field(default_factory=dict)
    _listed: list[str] | None = None
    _choices: list[str] = field(default_factory=list)
    _ratecard: RateCard | None = None
    _logins: tuple[str, ...] | None = None
    _counts: dict[str, int] = field(default_factory=dict)

    def _known(self) -> set[str] | None:
        if self._listed is None:
            return None
        return {*self._listed, *self._choices}

    def _forget_unknown(self) -> None:
        known = self._known()
        if known is not None:
            for ident in [i for i in self._lines if i not in known]:
                del self._lines[ident]

    def _line(self, ident: str) -> _Line:
        line = self._lines.get(ident)
        if line is None:
            line = self._lines[ident] = _Line()
        return line

    def apply_services(self, ids: Sequence[str], now: float) -> None:
        """Take the SLOW tier's ``broadband/services`` list; forget lines not in it.

        Lines still offered as ``service`` choices are kept (§4.1).
        """
        self._listed = list(dict.fromkeys(ids))
        self._counts[BROADBAND] = len(self._listed)
        self._fetched[_services_part(BROADBAND)] = now
        self._forget_unknown()

    def apply_choices(self, ids: Sequence[str]) -> None:
        """Take the ``service`` option choices of the latest info or quota answer."""
        self._choices = list(dict.fromkeys(ids))
        self._forget_unknown()

    def apply_info(
        self, lines: Sequence[InfoLine], now: float, *, complete: bool
    ) -> None:
        """Fold a ``broadband/info`` answer.

        Args:
            lines: the answer's lines.
            now: when the answer arrived.
            complete: the answer covered every line (bulk mode); known lines
                missing from it lose their info values now.
        """
        seen = set()
        self._fetched[INFO_PART] = now
        for item in lines:
            line = self._line(item.service_id)
            line.info, line.info_at = item, now
            quota = (item.quota_monthly, item.quota_remaining, item.quota_timestamp)
            if quota != (None, None, None):
                line.quota = QuotaLine(
                    service_id=item.service_id,
                    quota_monthly=item.quota_monthly,
                    quota_remaining=item.quota_remaining,
                    quota_timestamp=item.quota_timestamp,
                )
                line.quota_at = now
                self._fetched[QUOTA_PART] = now
            line.up, line.up_at = True, now
            seen.add(item.service_id)
        if complete:
            for ident, line in self._lines.items():
                if ident not in seen and line.info is not None:
                    # Keep login and postcode for the labels; drop the values.
                    line.info = InfoLine(
                        service_id=ident,
                        login=line.info.login,
                        postcode=line.info.postcode,
                    )

    def apply_quota(
        self, lines: Sequence[QuotaLine], now: float, *, complete: bool
    ) -> None:
        """Fold a ``broadband/quota`` answer; ``complete`` as in ``apply_info``."""
        seen = set()
        self._fetched[QUOTA_PART] = now
        for item in lines:
            line = self._line(item.service_id)
            line.quota, line.quota_at = item, now
            line.up, line.up_at = True, now
            seen.add(item.service_id)
        if complete:
            for ident, line in self._lines.items():
                if ident not in seen:
                    line.quota = None

    def service_failed(self, service_id: str, now: float) -> None:
        """Record that an info or quota poll of one line returned an error."""
        line = self._line(service_id)
        line.up, line.up_at = False, now

    def apply_ratecard(self, card: RateCard, now: float) -> None:
        """Take the (possibly filtered) telephony rate card."""
        self._ratecard = card
        self._fetched[RATECARD_PART] = now

    def apply_login_services(self, logins: Sequence[str], now: float) -> None:
        """Take the control logins of ``login/services``."""
        self._logins = tuple(dict.fromkeys(logins))
        self._counts[LOGIN] = len(self._logins)
        self._fetched[_services_part(LOGIN)] = now

    def set_telephony_services(self, count: int | None, now: float) -> None:
        """Set the number of telephony services: 0 = none (HTTP 500), None = unknown."""
        if count is None:
            self._counts.pop(TELEPHONY, None)
            self._fetched.pop(_services_part(TELEPHONY), None)
        else:
            self._counts[TELEPHONY] = count
            self._fetched[_services_part(TELEPHONY)] = now

    def services(self) -> list[str]:
        """Return the lines to poll one by one: the list, choices and info lines."""
        found = dict.fromkeys(self._listed or ())
        found.update(dict.fromkeys(self._choices))
        found.update(
            dict.fromkeys(i for i, line in self._lines.items() if line.info is not None)
        )
        return list(found)

    def _max_age(self, part: str) -> float:
        if part == QUOTA_PART:
            return self.fast_max_age
        if part == INFO_PART:
            return self.medium_max_age
        return self.slow_max_age

    def snapshot(self, now: float) -> ChaosSnapshot:
        """Freeze the state: each value with its expiry, those past it left out."""
        lines = []
        up_max_age = max(self.fast_max_age, self.medium_max_age)
        for ident in sorted(self._lines):
            line = self._lines[ident]
            info, quota = line.info, line.quota
            up_until = line.up_at + up_max_age if line.up is not None else None
            if info is None:
                # No labels yet: only a failing poll is worth showing (see above).
                if line.up is False:
                    lines.append(
                        LineSnapshot(service_id=ident, up=False, up_until=up_until)
                    )
                continue
            lines.append(
                LineSnapshot(
                    service_id=ident,
                    login=info.login or "",
                    postcode=info.postcode,
                    up=line.up,
                    tx_rate=info.tx_rate,
                    rx_rate=info.rx_rate,
                    tx_rate_adjusted=info.tx_rate_adjusted,
                    quota_monthly=quota.quota_monthly if quota else None,
                    quota_remaining=quota.quota_remaining if quota else None,
                    quota_timestamp=quota.quota_timestamp if quota else None,
                    up_until=up_until,
                    info_until=line.info_at + self.medium_max_age,
                    quota_until=line.quota_at + self.fast_max_age if quota else None,
                )
            )
        parts = tuple(
            sorted(
                (part, at + self._max_age(part)) for part, at in self._fetched.items()
            )
        )
        return ChaosSnapshot(
            lines=tuple(lines),
            ratecard=self._ratecard,
            control_logins=self._logins,
            service_counts=tuple(sorted(self._counts.items())),
            parts=parts,
        ).at(now)
