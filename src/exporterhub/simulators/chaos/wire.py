r"""CHAOS v2 on the wire: request attributes in, JSON or XML envelopes out. No I/O.

Request attribute names are folded (case-insensitive, ``-`` ≡ ``_``) and merged
from HTTP Basic auth, the query string and a form or JSON body
(``shared/protocols/chaos.md`` §1, §2); answers are serialised as CHAOS does, JSON
with four-space indent and ``\/`` for ``/``, or XML with the data in hyphenated
attributes (§6).

This module must not read sockets or build answers (``server`` and ``model`` do).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

__all__ = ["normalise_name", "parse_attributes", "to_json", "to_xml"]


def normalise_name(name: str) -> str:
    """Fold an attribute name: case-insensitive, ``-`` ≡ ``_`` (§1).

    >>> normalise_name("Control-Login")
    'control_login'
    """
    return name.strip().lower().replace("-", "_")


def parse_attributes(
    headers: dict[str, str], query: str, body: bytes
) -> dict[str, str]:
    """Merge Basic auth, query and body attributes, names normalised (§1, §2).

    Args:
        headers: HTTP headers with lower-case names.
        query: the URL query string.
        body: the request body, form-coded or JSON (by ``content-type``).

    >>> parse_attributes({}, "Control-Login=x@a&SERVICE=1", b"")
    {'control_login': 'x@a', 'service': '1'}
    """
    attrs: dict[str, str] = {}
    auth = headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            user, _, password = (
                base64.b64decode(auth[6:], validate=True).decode().partition(":")
            )
            attrs["control_login"] = user
            attrs["control_password"] = password
    pairs: list[tuple[str, Any]] = parse_qsl(query, keep_blank_values=True)
    if body and "json" in headers.get("content-type", "").lower():
        with contextlib.suppress(ValueError):
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                pairs += [
                    (k, v) for k, v in loaded.items() if not isinstance(v, dict | list)
                ]
    elif body:
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    for name, value in pairs:
        attrs[normalise_name(name)] = "" if value is None else str(value)
    return attrs


def to_json(document: dict[str, Any]) -> bytes:
    r"""Serialise like CHAOS: four-space indent, forward slashes as ``\/`` (§1).

    >>> to_json({"a": "1/2"})
    b'{\n    "a": "1\\/2"\n}'
    """
    # Outside strings JSON has no "/", so a plain replace escapes only string text.
    return json.dumps(document, indent=4).replace("/", "\\/").encode()


def to_xml(document: dict[str, Any]) -> bytes:
    """Serialise the XML form (§6): data in attributes with hyphenated names.

    Only ``request``, the payload lists and ``error`` are written, as in
    ``fixtures/chaos/broadband_quota.xml``.
    """
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<chaos xmlns="https://chaos2.aa.net.uk/">',
    ]
    skip = {"subsystem", "command", "prices", "state", "options"}
    for key, value in document.items():
        if key in skip:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                attrs = "".join(
                    f" {k.replace('_', '-')}={quoteattr(str(v))}"
                    for k, v in item.items()
                    if not isinstance(v, dict | list)
                )
                out.append(f" <{key}{attrs}/>")
            else:
                text = str(item).replace("&", "&amp;").replace("<", "&lt;")
                out.append(f" <{key}>{text}</{key}>")
    out.append("</chaos>")
    return ("\n".join(out) + "\n").encode()
