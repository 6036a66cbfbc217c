"""Classify one CHAOS v2 HTTP answer as an ``Answer`` or a ``Failure``. Pure, no I/O.

Reference: ``shared/protocols/chaos.md`` §5. ``parse_answer`` turns one HTTP answer
(status, content type, body, headers) into the decoded top-level JSON object or a
classified failure (``ErrorType``, retryable, ``Retry-After``, a redacted detail);
``retry_after_seconds`` reads ``Retry-After`` on its own.

This module must not raise on what the server sent, log, read the network or a
clock (``now`` is passed in), or look inside a payload beyond its envelope and
``error`` (extracting lines is ``payloads``). A failure's ``detail`` is redacted
and never becomes a label value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

import orjson

from exporterhub.exporters.chaos.fields import MAX_DIGITS, as_text, options

__all__ = [
    "AUTH_ERRORS",
    "Answer",
    "ErrorType",
    "Failure",
    "parse_answer",
    "retry_after_seconds",
]

AUTH_ERRORS: Final = frozenset({"control authorisation failed", "bad control-login"})
"""The two known authentication error strings (§2, §5), lower-cased."""

_ENVELOPE: Final = frozenset(
    {"subsystem", "command", "request", "prices", "state", "options", "error", "terms"}
)
# "rate" alone would also match rate-card errors: only limit wording counts.
_RATE_TEXT: Final = re.compile(r"rate[-_ ]?limit|too many requests|rate too high", re.I)
_MAX_RETRY_AFTER: Final = 3600.0
"""A Retry-After beyond an hour is capped: never pause a login for years."""
_SECRET: Final = re.compile(
    r"(?i)(pass(?:word|wd)?|pwd|secret|token|authori[sz]ation)"
    r"([\"']?\s*[:=]\s*(?:basic\s+|bearer\s+)?[\"']?)[^\s\"'&<>,;]+"
)
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
    # RFC 9110 delay-seconds are ASCII digits; str.isdigit also takes "²" or "٣",
    # which int() refuses or reads as a number no server meant.
    if text.isascii() and text.isdigit():
        if len(text) > MAX_DIGITS:
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


def _error_text(value: object) -> str | None:
    """Return the ``error`` text, or None when the key is absent or empty."""
    text = as_text(value)
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
    for option in options(payload):
        name = str(option.get("name", "")).lower().replace("-", "_")
        credential = name in {"control_login", "control_password"}
        if (credential or name.startswith("account_")) and as_text(option.get("error")):
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
        text = body[:4096].decode("utf-8", errors="replace")
        # The whole detail is redacted and capped: the server chose the content
        # type as much as the body.
        detail = _redact(f"not a JSON object ({kind}): {text}")
        return Failure(ErrorType.PARSE, False, None, detail)
    if not any(key not in _ENVELOPE for key in decoded):
        return Failure(
            ErrorType.PARSE, False, None, "JSON answer without payload or error"
        )
    return Answer(decoded)
