"""The ``host:port`` grammar of the dish address, as one regular expression.

``HOST_PORT_PATTERN`` accepts

- an RFC 1123 host name: dot-separated labels of 1-63 letters, digits and inner
  hyphens, the last label starting with a letter (RFC 1123 §2.1: the top-level
  label is alphabetic, so a dotted quad is never read as a name), no trailing dot;
- a dotted-quad IPv4 address without leading zeros (``010`` would be octal to
  ``inet_aton``);
- an IPv6 address in brackets, exactly RFC 3986's ``IPv6address`` (``::``
  compression and a trailing IPv4 part allowed, no zone index);

then ``:`` and a port 1-65535 without leading zeros. ``MAX_ADDRESS_LENGTH``
bounds the whole string, so the host part never passes RFC 1123's 253
characters. The expression uses only what pydantic's Rust regex engine,
ECMA-262 (the JSON Schema ``pattern``) and Python's ``re`` read alike, so the
served schema and the validation are one rule.

Pure: it only builds strings; it must not resolve names or touch the network.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HOST_PORT_PATTERN", "MAX_ADDRESS_LENGTH"]

MAX_ADDRESS_LENGTH: Final = 255
"""Longest ``host:port``: a host of at most 253 characters, ``:`` and a port."""

_ALNUM = "[A-Za-z0-9]"
_INNER = "[A-Za-z0-9-]{0,61}"
_LABEL = f"{_ALNUM}(?:{_INNER}{_ALNUM})?"
_TOP_LABEL = f"[A-Za-z](?:{_INNER}{_ALNUM})?"
_HOST_NAME = rf"(?:{_LABEL}\.)*{_TOP_LABEL}"

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"

_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"


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


_PORT = (
    "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}"
    "|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
)

HOST_PORT_PATTERN: Final = rf"^(?:{_HOST_NAME}|{_IPV4}|\[{_ipv6()}\]):{_PORT}$"
"""``host:port`` as described in the module docstring, anchored at both ends."""
