"""Classify CHAOS v2 answers and extract typed lines from them. Pure, no I/O.

Reference: ``shared/protocols/chaos.md``. ``parse_answer`` turns one HTTP answer
(status, content type, body, headers) into an ``Answer`` or a ``Failure`` following
§5; the extractors turn a payload into frozen dataclasses. Nothing here logs, reads
the network or raises on what the server sent: every value is parsed tolerantly
(JSON strings or numbers, ``""`` = missing, one object or a list, ``-`` or ``_``,
any key case), because A&A may add or drop fields without notice.

This module is the stable import point; the code lives in sibling modules and is
re-exported here unchanged:

- ``answers``: ``parse_answer``, ``retry_after_seconds``, ``Answer``, ``Failure``,
  ``ErrorType``, ``AUTH_ERRORS`` (§5 classification).
- ``payloads``: the extractors (``services_list``, ``service_choices``,
  ``info_lines``, ``quota_lines``, ``ratecard``, ``login_services``), their
  dataclasses and the field glossary.
- ``fields``: tolerant scalar reads and ``parse_uk_timestamp``.

It must not grow code of its own: new parsing goes in the module it belongs to.

>>> parse_answer(200, "application/json", b'{"services": ["40211"]}')
Answer(payload={'services': ['40211']})
>>> parse_answer(200, "application/json", b'{"error": "Bad control-login"}').error_type
<ErrorType.AUTH: 'auth'>
>>> parse_uk_timestamp("2025-03-10 14:00:00")
1741615200.0
"""

from __future__ import annotations

from exporterhub.exporters.chaos.answers import (
    AUTH_ERRORS,
    Answer,
    ErrorType,
    Failure,
    parse_answer,
    retry_after_seconds,
)
from exporterhub.exporters.chaos.fields import UK, parse_uk_timestamp
from exporterhub.exporters.chaos.payloads import (
    InfoLine,
    QuotaLine,
    Rate,
    RateCard,
    info_lines,
    login_services,
    quota_lines,
    ratecard,
    service_choices,
    services_list,
)

__all__ = [
    "AUTH_ERRORS",
    "UK",
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
    "retry_after_seconds",
    "service_choices",
    "services_list",
]
