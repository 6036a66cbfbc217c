"""Classify CHAOS v2 answers and extract typed lines from them. Pure, no I/O.

Reference: ``shared/protocols/chaos.md``. ``parse_answer`` turns one HTTP answer
(status, content type, body, headers) into an ``Answer`` or a ``Failure`` following
§5; the extractors turn a payload into frozen dataclasses. Nothing here logs, reads
the network or raises on what the server sent: every value is parsed tolerantly
(JSON strings or numbers, ``""`` = missing, one object or a list, ``-`` or ``_``,
any key case), because A&A may add or drop fields without notice.

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

>>> parse_answer(200, "application/json", b'{"services": ["40211"]}')
Answer(payload={'services': ['40211']})
>>> parse_answer(200, "application/json", b'{"error": "Bad control-login"}').error_type
<ErrorType.AUTH: 'auth'>
>>> parse_uk_timestamp("2025-03-10 14:00:00")
1741615200.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson

__all__ = [
    "AUTH_ERRORS",
    "Answer",
    "ErrorType",
    "Failure",
    "InfoLine",
    "QuotaLine",
    "Rate",
    "RateCard",
    "info_lines",
    "login_services",
    "parse_answer",
    "parse_uk_timestamp",
    "quota_lines",
    "ratecard",
    "service_choices",
    "services_list",
]

UK: Final = ZoneInfo("Europe/London")

AUTH_ERRORS: Final = frozenset({"control authorisation failed", "bad control-login"})
"""The two known authentication error strings (§2, §5), lower-cased."""

_ENVELOPE: Final = frozenset(
    {"subsystem", "command", "request", "prices", "state", "options", "error", "terms"}
)
# "rate" alone would also match rate-card errors: only limit wording counts.
_RATE_TEXT: Final = re.compile(r"rate[-_ ]?limit|too many requests|rate too high", re.I)
_MAX_DIGITS: Final = 30
"""Longest integer text accepted; bytes and bit/s never need more, and a longer
string (hostile or broken) would raise in float()."""
_MAX_RETRY_AFTER: Final = 3600.0
"""A Retry-After beyond an hour is capped: never pause a login for years."""
_SECRET: Final = re.compile(
    r"(?i)(pass(?:word|wd)?|pwd|secret|token|authori[sz]ation)"
    r"([\"']?\s*[:=]\s*(?:basic\s+|bearer\s+)?[\"']?)[^\s\"'&<>,;]+"
)
_TIMESTAMP: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d*)?"
)
_INTEGER: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DETAIL_MAX: Final = 200


class ErrorType(StrEnum):
    """Failure classes of §8.3, the ``error_type`` label values."""

    AUTH = "auth"
    API_ERROR = "api_error"
    HTTP_ERROR = "http_error"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    PARSE = "parse"


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: the decoded top-level JSON object (envelope included)."""

    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed answer, classified.

    Attributes:
        error_type: the §5 class.
        retryable: True when a later attempt may succeed (5xx, rate limit).
        retry_after: seconds the server asked to wait (``Retry-After``), if any.
        detail: short redacted text for one log line; never a label value.
        status: the HTTP status, 0 when no answer arrived (set by the client).
    """

    error_type: ErrorType
    retryable: bool
    retry_after: float | None
    detail: str
    status: int = 0


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


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return None


def _http_date(text: str) -> float | None:
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Return ``Retry-After`` as seconds to wait, or None when absent or unreadable.

    An HTTP-date is measured from the answer's ``Date`` header, else from ``now``;
    without either it cannot be converted and None is returned. Never negative.

    >>> retry_after_seconds({"Retry-After": "60"})
    60.0
    >>> retry_after_seconds({"retry-after": "Mon, 10 Mar 2025 14:01:00 GMT"},
    ...                     now=1741615200.0)
    60.0
    """
    text = _header(headers, "retry-after")
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        if len(text) > _MAX_DIGITS:
            return _MAX_RETRY_AFTER
        return min(float(int(text)), _MAX_RETRY_AFTER)
    when = _http_date(text)
    if when is None:
        return None
    date = _header(headers, "date")
    reference = _http_date(date) if date is not None else None
    if reference is None:
        reference = now
    if reference is None:
        return None
    return min(max(0.0, when - reference), _MAX_RETRY_AFTER)


def _redact(text: str) -> str:
    """Strip password-like values and control characters, keep ≤ 200 chars."""
    text = _SECRET.sub(r"\1\2(redacted)", text[:4096])
    text = " ".join(text.split())
    return text[:_DETAIL_MAX]


def _norm(obj: Mapping[Any, Any]) -> dict[str, Any]:
    """Return the mapping with keys lower-cased and ``-`` read as ``_``."""
    return {str(k).lower().replace("-", "_"): v for k, v in obj.items()}


def _items(value: object) -> list[dict[str, Any]]:
    """Return a repeatable child as a list of normalised objects."""
    if isinstance(value, Mapping):
        return [_norm(value)]
    if isinstance(value, list):
        return [_norm(v) for v in value if isinstance(v, Mapping)]
    return []


def _options(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for group in _items(payload.get("options")):
        options.extend(_items(group.get("option")))
    return options


def _text(value: object) -> str | None:
    """Return a non-empty stripped string for a string or integral number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, str):
        return value.strip() or None
    return None


def _int(value: object) -> int | None:
    """Parse a signed integer from a string or number; None when not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**_MAX_DIGITS else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_DIGITS:
            return None
        if _INTEGER.fullmatch(text):
            return int(text)
        number = _float(text)
        return None if number is None else int(number)
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        number = value
    elif isinstance(value, int):
        if abs(value) > 2**1000:  # float() would overflow
            return None
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            return None
        number = float(text)
    else:
        return None
    return number if math.isfinite(number) else None


def _error_text(value: object) -> str | None:
    """Return the ``error`` text, or None when the key is absent or empty."""
    text = _text(value)
    if text is None and value not in (None, "", [], {}) and not isinstance(value, str):
        return "unreadable error value"
    return text


def _classify(error: str, payload: Mapping[str, Any], retry: float | None) -> Failure:
    detail = _redact(error)
    if error.strip().lower() in AUTH_ERRORS or _auth_option_error(payload):
        return Failure(ErrorType.AUTH, False, None, detail)
    if _RATE_TEXT.search(error):
        return Failure(ErrorType.RATE_LIMITED, True, retry, detail)
    return Failure(ErrorType.API_ERROR, False, None, detail)


def _auth_option_error(payload: Mapping[str, Any]) -> bool:
    for option in _options(payload):
        name = str(option.get("name", "")).lower().replace("-", "_")
        credential = name in {"control_login", "control_password"}
        if (credential or name.startswith("account_")) and _text(option.get("error")):
            return True
    return False


def parse_answer(
    status: int,
    content_type: str | None,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    now: float | None = None,
) -> Answer | Failure:
    """Classify one HTTP answer from CHAOS (§5). Never raises.

    A non-empty top-level ``error`` means failure whatever the status. HTTP 429 and
    503 are ``rate_limited``; other 5xx (500 included: the caller decides that a
    500 from ``telephony/services`` means "no telephony" and is not retried) are
    ``http_error`` and retryable; 401/403 are ``auth``; other non-2xx are
    ``http_error``. A 2xx body that is not a JSON object, or an object with neither
    a payload key nor ``error``, is ``parse``.

    Args:
        status: the HTTP status.
        content_type: the ``Content-Type`` header, used only in the detail text.
        body: the raw body.
        headers: answer headers (any case), for ``Retry-After`` and ``Date``.
        now: Unix seconds to measure a ``Retry-After`` HTTP-date from when the
            answer has no ``Date`` header.

    Returns:
        The decoded answer, or the classified failure.
    """
    retry = retry_after_seconds(headers, now)
    decoded: Any = None
    try:
        decoded = orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        decoded = None
    if isinstance(decoded, dict):
        error = _error_text(decoded.get("error"))
        if error is not None:
            return _classify(error, decoded, retry)
    # 429 always means "slow down"; a 503 only when it says when to come back
    # (a plain 503 is maintenance: an ordinary retryable server error).
    if status == 429 or (status == 503 and retry is not None):
        return Failure(ErrorType.RATE_LIMITED, True, retry, f"HTTP {status}")
    if status >= 500:
        return Failure(ErrorType.HTTP_ERROR, True, retry, f"HTTP {status}")
    if status in (401, 403):
        return Failure(ErrorType.AUTH, False, None, f"HTTP {status}")
    if not 200 <= status < 300:
        return Failure(ErrorType.HTTP_ERROR, False, None, f"HTTP {status}")
    if not isinstance(decoded, dict):
        kind = content_type or "no content type"
        text = _redact(body.decode("utf-8", errors="replace"))
        return Failure(
            ErrorType.PARSE, False, None, f"not a JSON object ({kind}): {text}"
        )
    if not any(key not in _ENVELOPE for key in decoded):
        return Failure(
            ErrorType.PARSE, False, None, "JSON answer without payload or error"
        )
    return Answer(decoded)


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
            item = _norm(value)
            ident = _text(item.get("id")) or _text(item.get("value"))
            if ident is not None:
                found[ident] = None
            else:
                walk(item.get("service"), depth + 1)
        else:
            ident = _text(value)
            if ident is not None:
                found[ident] = None

    walk(payload.get("services"), 0)
    return list(found)


def service_choices(payload: Mapping[str, Any]) -> list[str]:
    """Return the line IDs listed as choices of the ``service`` option (§3).

    The blank "Select service" choice is skipped.
    """
    found: dict[str, None] = {}
    for option in _options(payload):
        if str(option.get("name", "")).lower() != "service":
            continue
        for choice in _items(option.get("choice")):
            ident = _text(choice.get("value"))
            if ident is not None:
                found[ident] = None
    return list(found)


def parse_uk_timestamp(text: str) -> float | None:
    """Convert a Europe/London ``YYYY-MM-DD HH:MM:SS`` to Unix seconds.

    At the October change-over the repeated hour is read as its first (BST)
    occurrence (``fold=0``). A wall time inside the March gap (01:00-01:59, which
    never happens) is read with the offset in force before the jump, GMT, so
    ``01:30`` is the same instant as ``02:30`` BST. Returns None for anything else.

    >>> gmt = parse_uk_timestamp("2025-10-26 01:00:00")
    >>> gmt - parse_uk_timestamp("2025-10-26 00:00:00")
    3600.0
    """
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    second = int(match.group(6) or 0)
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=UK, fold=0)
        return wall.timestamp()
    except (ValueError, OverflowError):
        return None


def _timestamp(value: object) -> float | None:
    return parse_uk_timestamp(value) if isinstance(value, str) else None


def info_lines(payload: Mapping[str, Any]) -> list[InfoLine]:
    """Return the ``info[]`` lines that carry an ``ID``, in answer order."""
    lines: list[InfoLine] = []
    for item in _items(payload.get("info")):
        ident = _text(item.get("id"))
        if ident is None:
            continue
        postcode = item.get("postcode")
        lines.append(
            InfoLine(
                service_id=ident,
                login=_text(item.get("login")),
                postcode=postcode.strip() if isinstance(postcode, str) else "",
                tx_rate=_int(item.get("tx_rate")),
                rx_rate=_int(item.get("rx_rate")),
                tx_rate_adjusted=_int(item.get("tx_rate_adjusted")),
                quota_monthly=_int(item.get("quota_monthly")),
                quota_remaining=_int(item.get("quota_remaining")),
                quota_timestamp=_timestamp(item.get("quota_timestamp")),
            )
        )
    return lines


def quota_lines(payload: Mapping[str, Any]) -> list[QuotaLine]:
    """Return the ``quota[]`` lines that carry an ``ID``, in answer order."""
    return [
        QuotaLine(
            service_id=ident,
            quota_monthly=_int(item.get("quota_monthly")),
            quota_remaining=_int(item.get("quota_remaining")),
            quota_timestamp=_timestamp(item.get("quota_timestamp")),
        )
        for item in _items(payload.get("quota"))
        if (ident := _text(item.get("id"))) is not None
    ]


def _child(value: object, name: str) -> list[dict[str, Any]]:
    """Read ``{name: [...]}`` or a bare list/object as a list of objects."""
    if isinstance(value, Mapping) and name in _norm(value):
        return _items(_norm(value)[name])
    return _items(value)


def ratecard(payload: Mapping[str, Any]) -> RateCard:
    """Return the rate card of a ``telephony/ratecard`` answer (§4.7).

    Rates named only by prefix codes appear with unknown prices.
    """
    cards = _items(payload.get("rate_card"))
    if not cards:
        return RateCard()
    card = cards[0]
    counts: dict[str, int] = {}
    for code in _child(card.get("codes"), "code"):
        name = _text(code.get("rate"))
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    rates: dict[str, Rate] = {}
    for item in _child(card.get("rates"), "rate"):
        name = _text(item.get("rate")) or _text(item.get("name"))
        if name is None or name in rates:
            continue
        rates[name] = Rate(
            name=name,
            peak_ppm=_float(item.get("peak_ppm")),
            offpeak_ppm=_float(item.get("offpeak_ppm")),
            weekend_ppm=_float(item.get("weekend_ppm")),
            min_charge=_float(item.get("min_charge")),
            prefixes=counts.get(name, 0),
        )
    for name, count in counts.items():
        if name not in rates:
            rates[name] = Rate(name=name, prefixes=count)
    return RateCard(rates=tuple(rates.values()))


def login_services(payload: Mapping[str, Any]) -> list[str]:
    """Return the control logins of a ``login/services`` answer (§4.6)."""
    return services_list(payload)
