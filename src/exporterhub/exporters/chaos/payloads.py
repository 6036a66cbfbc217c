"""Extract typed lines from the payload of a successful CHAOS v2 answer. Pure, no I/O.

Reference: ``shared/protocols/chaos.md`` §3, §4. Each extractor takes the payload of
an ``Answer`` and returns frozen dataclasses or IDs in answer order: ``services_list``
and ``login_services`` (IDs), ``service_choices`` (the ``service`` option),
``info_lines`` (``InfoLine``), ``quota_lines`` (``QuotaLine``) and ``ratecard``
(``RateCard`` of ``Rate``). Fields are read tolerantly (see ``fields``); a missing
or unreadable value is None, a line without an ``ID`` is skipped.

Nothing here may raise on what the server sent, log, read the network or a clock,
or classify failures (that is ``answers``).

Field glossary (marks: C confirmed, S single client, D A&A document only, G guess)::

    broadband/services  services[]         line IDs as strings (S)
    broadband/info      info[] per line:   (C unless marked)
        ID                str   A&A line ID, kept as text (the ``service`` label)
        login             str   per-line login ``abc@a.1``
        postcode          str   installation postcode, stripped; blank for a tunnel (G)
        tx_rate           bit/s download sync rate; absent on some FTTP lines (S)
        rx_rate           bit/s upload sync rate
        tx_rate_adjusted  bit/s download rate A&A shapes to
        quota_monthly     bytes the month's quota; "0" = unlimited (S)
        quota_remaining   bytes left; may exceed quota_monthly, may be <= 0 (G)
        quota_timestamp   "YYYY-MM-DD HH:MM:SS" Europe/London wall time, on the hour
    broadband/quota     quota[]: ID, quota_monthly, quota_remaining,
                        quota_timestamp only (C) - no login, no postcode
    options[]           groups {title, option[]}; the "Service" select lists one
                        choice per line, value = ID (C); an option's ``error``
                        names the faulty attribute (C for control_login)
    telephony/ratecard  rate_card.codes.code[] {prefix (G), rate} and
                        rate_card.rates.rate[] {rate, peak_ppm, offpeak_ppm,
                        weekend_ppm, min_charge} in pence (S)
    login/services      services[] control logins (D)
    error               one human-readable string, present only on failure (C)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exporterhub.exporters.chaos.fields import (
    as_float,
    as_int,
    as_text,
    items,
    norm,
    options,
    parse_uk_timestamp,
)

__all__ = [
    "InfoLine",
    "QuotaLine",
    "Rate",
    "RateCard",
    "info_lines",
    "login_services",
    "quota_lines",
    "ratecard",
    "service_choices",
    "services_list",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InfoLine:
    """One ``info[]`` element; ints in bit/s or bytes, None when missing or blank."""

    service_id: str
    login: str | None = None
    postcode: str = ""
    tx_rate: int | None = None
    rx_rate: int | None = None
    tx_rate_adjusted: int | None = None
    quota_monthly: int | None = None
    quota_remaining: int | None = None
    quota_timestamp: float | None = None
    """Unix seconds, converted from Europe/London wall time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaLine:
    """One ``quota[]`` element: bytes and Unix seconds, None when missing."""

    service_id: str
    quota_monthly: int | None = None
    quota_remaining: int | None = None
    quota_timestamp: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    """One rate of the rate card: pence per minute, pence, and prefix count."""

    name: str
    peak_ppm: float | None = None
    offpeak_ppm: float | None = None
    weekend_ppm: float | None = None
    min_charge: float | None = None
    prefixes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCard:
    """The telephony rate card (§4.7), rates in answer order."""

    rates: tuple[Rate, ...] = ()

    def only(self, names: Iterable[str]) -> RateCard:
        """Return the card restricted to the given rate names (cardinality)."""
        wanted = set(names)
        return RateCard(rates=tuple(r for r in self.rates if r.name in wanted))


def services_list(payload: Mapping[str, Any]) -> list[str]:
    """Return the IDs of a ``services`` answer, in order, without duplicates.

    Accepts a flat list of strings or numbers, a single string, and objects
    carrying ``ID``, ``value`` or a nested ``service`` list.

    >>> services_list({"services": ["40211", 40212, {"ID": "40213"}, ""]})
    ['40211', '40212', '40213']
    """
    found: dict[str, None] = {}

    def walk(value: object, depth: int) -> None:
        if depth > 3:
            return
        if isinstance(value, list):
            for item in value:
                walk(item, depth + 1)
        elif isinstance(value, Mapping):
            item = norm(value)
            ident = as_text(item.get("id")) or as_text(item.get("value"))
            if ident is not None:
                found[ident] = None
            else:
                walk(item.get("service"), depth + 1)
        else:
            ident = as_text(value)
            if ident is not None:
                found[ident] = None

    walk(payload.get("services"), 0)
    return list(found)


def service_choices(payload: Mapping[str, Any]) -> list[str]:
    """Return the line IDs listed as choices of the ``service`` option (§3).

    The blank "Select service" choice is skipped.
    """
    found: dict[str, None] = {}
    for option in options(payload):
        if str(option.get("name", "")).lower() != "service":
            continue
        for choice in items(option.get("choice")):
            ident = as_text(choice.get("value"))
            if ident is not None:
                found[ident] = None
    return list(found)


def _timestamp(value: object) -> float | None:
    return parse_uk_timestamp(value) if isinstance(value, str) else None


def info_lines(payload: Mapping[str, Any]) -> list[InfoLine]:
    """Return the ``info[]`` lines that carry an ``ID``, in answer order."""
    lines: list[InfoLine] = []
    for item in items(payload.get("info")):
        ident = as_text(item.get("id"))
        if ident is None:
            continue
        postcode = item.get("postcode")
        lines.append(
            InfoLine(
                service_id=ident,
                login=as_text(item.get("login")),
                postcode=postcode.strip() if isinstance(postcode, str) else "",
                tx_rate=as_int(item.get("tx_rate")),
                rx_rate=as_int(item.get("rx_rate")),
                tx_rate_adjusted=as_int(item.get("tx_rate_adjusted")),
                quota_monthly=as_int(item.get("quota_monthly")),
                quota_remaining=as_int(item.get("quota_remaining")),
                quota_timestamp=_timestamp(item.get("quota_timestamp")),
            )
        )
    return lines


def quota_lines(payload: Mapping[str, Any]) -> list[QuotaLine]:
    """Return the ``quota[]`` lines that carry an ``ID``, in answer order."""
    return [
        QuotaLine(
            service_id=ident,
            quota_monthly=as_int(item.get("quota_monthly")),
            quota_remaining=as_int(item.get("quota_remaining")),
            quota_timestamp=_timestamp(item.get("quota_timestamp")),
        )
        for item in items(payload.get("quota"))
        if (ident := as_text(item.get("id"))) is not None
    ]


def _child(value: object, name: str) -> list[dict[str, Any]]:
    """Read ``{name: [...]}`` or a bare list/object as a list of objects."""
    if isinstance(value, Mapping) and name in norm(value):
        return items(norm(value)[name])
    return items(value)


def ratecard(payload: Mapping[str, Any]) -> RateCard:
    """Return the rate card of a ``telephony/ratecard`` answer (§4.7).

    Rates named only by prefix codes appear with unknown prices.
    """
    cards = items(payload.get("rate_card"))
    if not cards:
        return RateCard()
    card = cards[0]
    counts: dict[str, int] = {}
    for code in _child(card.get("codes"), "code"):
        name = as_text(code.get("rate"))
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    rates: dict[str, Rate] = {}
    for item in _child(card.get("rates"), "rate"):
        name = as_text(item.get("rate")) or as_text(item.get("name"))
        if name is None or name in rates:
            continue
        rates[name] = Rate(
            name=name,
            peak_ppm=as_float(item.get("peak_ppm")),
            offpeak_ppm=as_float(item.get("offpeak_ppm")),
            weekend_ppm=as_float(item.get("weekend_ppm")),
            min_charge=as_float(item.get("min_charge")),
            prefixes=counts.get(name, 0),
        )
    for name, count in counts.items():
        if name not in rates:
            rates[name] = Rate(name=name, prefixes=count)
    return RateCard(rates=tuple(rates.values()))


def login_services(payload: Mapping[str, Any]) -> list[str]:
    """Return the control logins of a ``login/services`` answer (§4.6)."""
    return services_list(payload)
