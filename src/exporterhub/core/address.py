"""Host names, IP addresses, ports and http(s) URLs, as one grammar each.

Each rule is a regular expression that is also the field's JSON Schema
``pattern``, so the served schema and the validation are one rule:

- a host name: RFC 1123 — dot-separated labels of 1-63 letters, digits and
  inner hyphens, the last label starting with a letter (RFC 1123 §2.1: the
  top-level label is alphabetic, so a dotted quad is never read as a name), no
  trailing dot;
- an IPv4 address: a dotted quad without leading zeros (``010`` would be octal
  to ``inet_aton``);
- an IPv6 address: exactly RFC 3986's ``IPv6address`` (``::`` compression and a
  trailing IPv4 part allowed, no zone index);
- a port: 1-65535 without leading zeros.

Which hosts a field takes is the field's own choice: ``HOST_PATTERN`` (a name,
IPv4 or a bare IPv6 address, as sockets take them), ``IPV4_HOST_PATTERN`` (no
IPv6: plug discovery), ``HOST_PORT_PATTERN`` (``host:port``, IPv6 in brackets)
and ``HTTP_URL_PATTERN`` (``http(s)://host[:port][/path]``, no user, query or
fragment). The ``MAX_*`` lengths bound the whole string, so a host never passes
RFC 1123's 253 characters. ``Host``, ``Ipv4Host``, ``HostPort`` and
``HttpUrl`` are the string types built on them, refusing a mismatch with a
sentence instead of the pattern. The expressions use only what pydantic's Rust
regex engine, ECMA-262 (JSON Schema's ``pattern``, also with the ``u`` and
``v`` flags an HTML ``pattern`` attribute adds: ``-``, ``(`` and ``)`` are
escaped inside classes) and Python's ``re`` read alike.

Pure: it only builds strings and types; it must not resolve names or touch the
network.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import StringConstraints

from exporterhub.core.fields import on_mismatch

__all__ = [
    "HOST_NAME",
    "HOST_PATTERN",
    "HOST_PORT_PATTERN",
    "HTTP_URL_PATTERN",
    "IPV4",
    "IPV4_HOST_PATTERN",
    "IPV6",
    "MAX_ADDRESS_LENGTH",
    "MAX_HOST_LENGTH",
    "MAX_URL_LENGTH",
    "PORT",
    "Host",
    "HostPort",
    "HttpUrl",
    "Ipv4Host",
]

MAX_HOST_LENGTH: Final = 253
"""Longest host: RFC 1123's limit for a name (addresses are shorter)."""
MAX_ADDRESS_LENGTH: Final = 255
"""Longest ``host:port``."""
MAX_URL_LENGTH: Final = 2048
"""Longest http(s) URL."""

_ALNUM = "[A-Za-z0-9]"
_INNER = r"[A-Za-z0-9\-]{0,61}"
_LABEL = f"{_ALNUM}(?:{_INNER}{_ALNUM})?"
_TOP_LABEL = f"[A-Za-z](?:{_INNER}{_ALNUM})?"
HOST_NAME: Final = rf"(?:{_LABEL}\.)*{_TOP_LABEL}"
"""An RFC 1123 host name (unanchored)."""

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4: Final = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
"""A dotted-quad IPv4 address without leading zeros (unanchored)."""

_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{IPV4})"


def _ipv6() -> str:
    """Return RFC 3986 §3.2.2 ``IPv6address`` as a regular expression."""
    # [ *n( h16 ":" ) h16 ] "::" followed by k groups, for each legal (n, tail).
    tails = [
        f"(?:{_H16}:){{5}}{_LS32}",
        f"(?:{_H16}:){{4}}{_LS32}",
        f"(?:{_H16}:){{3}}{_LS32}",
        f"(?:{_H16}:){{2}}{_LS32}",
        f"{_H16}:{_LS32}",
        _LS32,
        _H16,
        "",
    ]
    forms = [f"(?:{_H16}:){{6}}{_LS32}", f"::{tails[0]}"]
    for n, tail in enumerate(tails[1:]):
        head = _H16 if n == 0 else f"(?:(?:{_H16}:){{0,{n}}}{_H16})"
        forms.append(f"(?:{head})?::{tail}")
    return "(?:" + "|".join(forms) + ")"


IPV6: Final = _ipv6()
"""An IPv6 address as RFC 3986 writes it, without brackets (unanchored)."""

PORT: Final = (
    "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}"
    "|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
)
"""A port 1-65535 without leading zeros (unanchored)."""

# RFC 3986 pchar: unreserved, percent-encoded, sub-delims, ":" and "@".
_SEGMENT = r"(?:[A-Za-z0-9._~!$&'\(\)*+,;=:@\-]|%[0-9A-Fa-f]{2})*"

HOST_PATTERN: Final = rf"^(?:{HOST_NAME}|{IPV4}|{IPV6})$"
"""A host name, an IPv4 address or a bare IPv6 address, anchored."""
IPV4_HOST_PATTERN: Final = rf"^(?:{HOST_NAME}|{IPV4})$"
"""A host name or an IPv4 address, anchored."""
HOST_PORT_PATTERN: Final = rf"^(?:{HOST_NAME}|{IPV4}|\[{IPV6}\]):{PORT}$"
"""``host:port`` with a host name, IPv4 or ``[IPv6]`` address, anchored."""
HTTP_URL_PATTERN: Final = (
    rf"^https?://(?:{HOST_NAME}|{IPV4}|\[{IPV6}\])(?::{PORT})?(?:/{_SEGMENT})*$"
)
"""``http://`` or ``https://``, a host (IPv6 in brackets), an optional port and
an optional path; no user, query or fragment. Anchored."""

Host = Annotated[
    str,
    StringConstraints(max_length=MAX_HOST_LENGTH, pattern=HOST_PATTERN),
    on_mismatch("must be a host name, an IPv4 address or an IPv6 address"),
]
"""A host to connect to: a name, an IPv4 address or a bare IPv6 address."""
Ipv4Host = Annotated[
    str,
    StringConstraints(max_length=MAX_HOST_LENGTH, pattern=IPV4_HOST_PATTERN),
    on_mismatch("must be a host name or an IPv4 address (no IPv6)"),
]
"""A host name or an IPv4 address."""
HostPort = Annotated[
    str,
    StringConstraints(max_length=MAX_ADDRESS_LENGTH, pattern=HOST_PORT_PATTERN),
    on_mismatch(
        "must be host:port: a host name, an IPv4 address or an [IPv6] address, "
        "then a port 1-65535"
    ),
]
"""``host:port``."""
HttpUrl = Annotated[
    str,
    StringConstraints(max_length=MAX_URL_LENGTH, pattern=HTTP_URL_PATTERN),
    on_mismatch(
        "must be an http:// or https:// URL: a host name, an IPv4 or [IPv6] "
        "address, an optional port 1-65535 and path; no query"
    ),
]
"""An http(s) URL without user, query or fragment (an API's base)."""
