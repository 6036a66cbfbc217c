"""Content negotiation for ``/metrics``: which exposition format, and gzip or not.

Reads ``Accept`` and ``Accept-Encoding`` header values (RFC 9110 §12.5) with their
q-values: the supported entry with the highest q wins (the header's own order breaks
ties, as Prometheus' client libraries do), ``q=0`` means "not this", and an
OpenMetrics entry naming a version we do not produce does not count. Nothing
acceptable falls back to the text format, as every Prometheus exporter does. Pure
functions, no I/O.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "OPENMETRICS_CONTENT_TYPE",
    "TEXT_CONTENT_TYPE",
    "Format",
    "accepts_gzip",
    "negotiate",
]

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4"
"""Exactly what the original exporters answered (COMPAT); the body is UTF-8."""
OPENMETRICS_CONTENT_TYPE: Final = (
    "application/openmetrics-text; version=1.0.0; charset=utf-8"
)
_OPENMETRICS_VERSIONS: Final = ("1.0.0", "0.0.1")
"""Versions whose body is what prometheus_client's OpenMetrics encoder writes."""


class Format(NamedTuple):
    """The chosen exposition format and the exact Content-Type to answer with."""

    openmetrics: bool
    content_type: str


TEXT: Final = Format(openmetrics=False, content_type=TEXT_CONTENT_TYPE)
_OPENMETRICS: Final = {
    version: Format(
        openmetrics=True,
        content_type=f"application/openmetrics-text; version={version}; charset=utf-8",
    )
    for version in _OPENMETRICS_VERSIONS
}


class _Entry(NamedTuple):
    media: str
    params: dict[str, str]
    q: float


def _entries(header: str) -> list[_Entry]:
    """Split an Accept-style header into entries; a malformed q drops its entry."""
    entries = []
    for part in header.split(","):
        media, *raw_params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        params: dict[str, str] = {}
        q = 1.0
        valid = True
        for raw in raw_params:
            key, _, value = raw.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    valid = False
                    break
                valid = 0.0 <= q <= 1.0
            elif key:
                params[key] = value
        if valid:
            entries.append(_Entry(media.lower(), params, q))
    # Highest q first; sorted() is stable, so equal q keeps the header's order.
    return sorted(entries, key=lambda e: -e.q)


def _supported(entry: _Entry) -> Format | None:
    if entry.media == "application/openmetrics-text":
        return _OPENMETRICS.get(entry.params.get("version", "1.0.0"))
    if entry.media in ("text/plain", "text/*", "*/*"):
        # Any text version: a 0.0.4 body is valid in every later text version.
        return TEXT
    return None


def negotiate(accept: str) -> Format:
    """Return the format an ``Accept`` header asks for.

    >>> negotiate("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")[0]
    True
    >>> negotiate("application/openmetrics-text;q=0.1, text/plain;q=1.0")[0]
    False
    >>> negotiate("application/openmetrics-text;version=2.0.0")[0]
    False
    >>> negotiate("application/openmetrics-text;version=0.0.1").content_type
    'application/openmetrics-text; version=0.0.1; charset=utf-8'
    """
    for entry in _entries(accept):
        if entry.q <= 0:
            break  # sorted: every later entry is refused too
        chosen = _supported(entry)
        if chosen is not None:
            return chosen
    return TEXT


def accepts_gzip(accept_encoding: str) -> bool:
    """Say whether an ``Accept-Encoding`` header admits gzip (``q`` above 0).

    >>> accepts_gzip("gzip, deflate"), accepts_gzip("gzip;q=0"), accepts_gzip("*")
    (True, False, True)
    >>> accepts_gzip("identity"), accepts_gzip("*;q=0, br")
    (False, False)
    """
    wildcard = 0.0
    for entry in _entries(accept_encoding):
        if entry.media in ("gzip", "x-gzip"):
            return entry.q > 0
        if entry.media == "*":
            wildcard = max(wildcard, entry.q)
    return wildcard > 0
