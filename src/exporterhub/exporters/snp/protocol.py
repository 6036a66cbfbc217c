"""Parses and encodes the SNP's WebSocket frames and REST bodies. Pure: no I/O.

Wire facts (``shared/protocols/snp.md``; C/S/D/G are its confidence marks):

- Every server frame is one JSON object with a string ``msgType`` (C, §4.3). A
  frame that is not, is *malformed*; an unknown ``msgType`` is *not*: it is
  ignored (a newer firmware's message).
- ``statusState`` and ``allStatuses`` carry ``statuses``: a list of **strings**,
  each one JSON object (C). Each item is decoded on its own, so a broken item
  costs only itself; an item that is already an object is accepted (G).
- ``objectsState`` carries ``configurations``: strings (or objects) of JSON
  configuration objects (D), used for processor personality changes.
- ``activeAlarmStatus`` carries ``activeAlarms``: the complete current set, never
  a delta (C); its length is what the exporter exports.
- Spelling traps: subscriptions say ``elementIP`` and ``objectId``; other commands
  ``elementIp``; returned objects ``object_ID`` (§4.2). The periodic
  ``permissionsMsg`` and ``logsState`` are spelled so on the wire (C); the vendor's
  ``permissionMessage``/``logState`` spellings are accepted too.
- The REST login answers the token as plain text, already carrying its scheme
  (``Bearer eyJ…``), used verbatim (C, §2); a config answer is an envelope whose
  ``config`` member is a string of JSON (C, §3.1).

Value strings (§5.1): numbers mostly arrive as ``"<number> <unit>"``
(``"44.0 °C"``, ``"1319.14 Mbps"``, ``"0.132 us"``); ``"N/A"``, ``"---"``, ``""``,
``"Not Present"`` or anything without a leading number is *no value*, never 0.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson

__all__ = [
    "MsgType",
    "StatusItems",
    "as_bool",
    "as_count",
    "as_index",
    "as_number",
    "decode_frame",
    "decode_items",
    "microseconds",
    "ok_string",
    "parse_quantity",
    "personality_from_config",
    "rate_bytes_per_second",
    "seconds",
    "subscription_frame",
    "text",
    "token_from_body",
]


class MsgType(StrEnum):
    """Server message types of §4.3 (and the vendor's misspellings of two)."""

    STATUS_STATE = "statusState"
    ALL_STATUSES = "allStatuses"
    ACTIVE_ALARMS = "activeAlarmStatus"
    FMM_STATUS = "fmmStatus"
    PERMISSIONS = "permissionsMsg"
    PERMISSIONS_VENDOR = "permissionMessage"
    LOGS_STATE = "logsState"
    LOGS_STATE_VENDOR = "logState"
    OBJECTS_STATE = "objectsState"
    ALL_OBJECTS = "allObjects"
    ELEMENT_STATUS = "elementStatus"
    ALARM_CONFIGURE = "alarmConfigure"


_NUMBER: Final = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S*)")

_TIME_UNITS: Final = {
    "ns": 1e9,
    "us": 1e6,
    "µs": 1e6,
    "μs": 1e6,  # GREEK SMALL LETTER MU, as some firmware may print it
    "ms": 1e3,
    "s": 1.0,
    "sec": 1.0,
}
"""Units per second of the time strings (``"0.132 us"``, ``"1001 ms"``)."""

_RATE_UNITS: Final = {
    "bps": 1.0,
    "kbps": 1e3,
    "mbps": 1e6,
    "gbps": 1e9,
    "tbps": 1e12,
}
"""Bits per second per unit of the rate strings, by lower-cased unit."""


def parse_quantity(value: object) -> tuple[float, str] | None:
    """Return the leading number of a value string and the unit after it.

    A JSON number is a number without unit. No value (``"N/A"``, ``"---"``,
    ``""``, booleans, anything without a leading number, infinities) is None.

    >>> parse_quantity("44.0 °C"), parse_quantity("-0.087 us"), parse_quantity(7)
    ((44.0, '°C'), (-0.087, 'us'), (7.0, ''))
    >>> parse_quantity("N/A"), parse_quantity("---"), parse_quantity(True)
    (None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return (number, "") if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@functools.lru_cache(maxsize=8192)
def _parse_text(value: str) -> tuple[float, str] | None:
    """Return ``parse_quantity`` of a string, remembered.

    Most values repeat frame after frame (the same delay, the same
    temperature): a thousand streaming devices parse each distinct string once.
    """
    match = _NUMBER.match(value)
    if match is None:
        return None
    number = float(match.group(1))
    if not math.isfinite(number):
        return None
    return number, match.group(2)


def as_number(value: object) -> float | None:
    """Return a value string's number, ignoring its unit (temperatures, dBm, RPM).

    Temperatures are always Celsius, whatever the degree sign arrived as (§5.1).

    >>> as_number("36.8 °C"), as_number("-2.1 dBm"), as_number("N/A")
    (36.8, -2.1, None)
    """
    quantity = parse_quantity(value)
    return None if quantity is None else quantity[0]


def _time(value: object, default_unit: str) -> tuple[float, float] | None:
    """Return a time string's number and its unit's count per second."""
    quantity = parse_quantity(value)
    if quantity is None:
        return None
    number, unit = quantity
    per_second = _TIME_UNITS.get(unit or default_unit)
    return None if per_second is None else (number, per_second)


def seconds(value: object, default_unit: str = "us") -> float | None:
    """Return a time string in seconds, converting by its unit.

    A bare number takes ``default_unit``; an unknown unit is no value.

    >>> seconds("-0.087 us"), seconds("1001 ms"), seconds("0.000 ms")
    (-8.7e-08, 1.001, 0.0)
    >>> seconds("5 parsecs")
    """
    found = _time(value, default_unit)
    return None if found is None else found[0] / found[1]


def microseconds(value: object) -> float | None:
    """Return a time string in microseconds (§6.1 ``ic_snp_ptp_master_*``).

    >>> microseconds("0.132 us"), microseconds("-87 ns"), microseconds("N/A")
    (0.132, -0.087, None)
    """
    found = _time(value, "us")
    if found is None:
        return None
    number, per_second = found
    # Divide or multiply by a whole power of ten: no rounding noise for ns or ms.
    if per_second >= 1e6:
        return number / (per_second / 1e6)
    return number * (1e6 / per_second)


def rate_bytes_per_second(value: object, default_unit: str = "mbps") -> float | None:
    """Return a bit-rate string in bytes per second, converting by its unit.

    >>> rate_bytes_per_second("1319.14 Mbps"), rate_bytes_per_second("8 Gbps")
    (164892500.0, 1000000000.0)
    >>> rate_bytes_per_second("2429.1"), rate_bytes_per_second("1 parsec")
    (303637500.0, None)
    """
    quantity = parse_quantity(value)
    if quantity is None:
        return None
    number, unit = quantity
    scale = _RATE_UNITS.get((unit or default_unit).lower())
    return None if scale is None else number * scale / 8


def as_count(value: object) -> int | None:
    """Return a count sent as an int or a decimal string (``"23"``); else None.

    >>> as_count("1221876063"), as_count(12), as_count("12.5"), as_count(True)
    (1221876063, 12, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdigit():
            return int(stripped)
    return None


def as_bool(value: object) -> bool | None:
    """Return a flag: JSON booleans (C), and 0/1 or "true"/"false" (G); else None.

    >>> as_bool(True), as_bool(0), as_bool("false"), as_bool("yes")
    (True, False, False, None)
    """
    if isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return None


def ok_string(value: object) -> bool | None:
    """Say whether a status string is ``"OK"``; None when it is missing.

    Failure strings are unknown (G): anything else counts as not OK (§5.2).

    >>> ok_string("OK"), ok_string("Failed"), ok_string(None)
    (True, False, None)
    """
    if not isinstance(value, str):
        return None
    return value.strip() == "OK"


def as_index(value: object) -> str | None:
    """Return an ``idx`` as its decimal string label (a JSON int, or digits).

    >>> as_index(3), as_index(" 4 "), as_index("x"), as_index(True)
    ('3', '4', None, None)
    """
    count = as_count(value)
    return None if count is None else str(count)


def text(value: object) -> str | None:
    """Return a label value from a device string: stripped; None when not a string.

    >>> text("XPK2122331      "), text(5)
    ('XPK2122331', None)
    """
    return value.strip() if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class StatusItems:
    """The objects of a status frame and how many of its items were unusable."""

    objects: list[dict[str, Any]]
    errors: int


def decode_items(items: object) -> StatusItems:
    """Decode a ``statuses``/``configurations`` member item by item.

    Each item is a JSON string holding one object with a string ``type`` (an
    object is accepted as is). A member that is not a list is one error.

    >>> r = decode_items(['{"type":"ptp"}', "{broken", {"type": "system"}, "{}"])
    >>> [o["type"] for o in r.objects], r.errors
    (['ptp', 'system'], 2)
    """
    if not isinstance(items, list):
        return StatusItems([], 1)
    objects: list[dict[str, Any]] = []
    errors = 0
    for item in items:
        decoded: object = item
        if isinstance(item, str | bytes):
            try:
                decoded = orjson.loads(item)
            except orjson.JSONDecodeError:
                errors += 1
                continue
        if isinstance(decoded, dict) and isinstance(decoded.get("type"), str):
            objects.append(decoded)
        else:
            errors += 1
    return StatusItems(objects, errors)


def decode_frame(data: bytes | str) -> tuple[str, dict[str, Any]] | None:
    """Return a frame's ``msgType`` and its object; None when malformed.

    >>> decode_frame(b'{"msgType":"fmmStatus","event":"keepalive"}')[0]
    'fmmStatus'
    >>> decode_frame("keepalive"), decode_frame("[1]"), decode_frame('{"a":1}')
    (None, None, None)
    """
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    kind = message.get("msgType")
    if not isinstance(kind, str):
        return None
    return kind, message


def token_from_body(body: str) -> str | None:
    r"""Return the login answer's token, verbatim; None for an empty answer.

    Whitespace and one pair of surrounding double quotes are trimmed (one known
    client strips them defensively, G).

    >>> token_from_body('  "Bearer abc.def"\n'), token_from_body("  ")
    ('Bearer abc.def', None)
    """
    token = body.strip()
    if len(token) >= 2 and token[0] == token[-1] == '"':
        token = token[1:-1].strip()
    return token or None


def subscription_frame(
    objects: Iterable[Mapping[str, str]], frequency_ms: int
) -> bytes:
    """Return the ``statusListSubscribe`` frame for the stored ``objects_ids``.

    >>> subscription_frame([{"elementIP": "127.0.0.1", "objectType": "ptp"}], 1000)
    b'{"msgType":"statusListSubscribe","frequency":1000,"objectIds":[{"elementIP":"127.0.0.1","objectType":"ptp"}]}'
    """
    return orjson.dumps(
        {
            "msgType": "statusListSubscribe",
            "frequency": frequency_ms,
            "objectIds": [dict(o) for o in objects],
        }
    )


def personality_from_config(envelope: object) -> str | None:
    """Return ``general.personality`` from a processor's config envelope (§3.1).

    The envelope's ``config`` is a string of JSON (C); an object is accepted too.
    An objectsState configuration (the inner object itself) works as well.

    >>> personality_from_config({"config": '{"general":{"personality":" Sync "}}'})
    'Sync'
    >>> personality_from_config({"config": "{}"}), personality_from_config([])
    (None, None)
    """
    if not isinstance(envelope, dict):
        return None
    config: object = envelope.get("config", envelope)
    if isinstance(config, str):
        try:
            config = orjson.loads(config)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(config, dict):
        return None
    general = config.get("general")
    if not isinstance(general, dict):
        return None
    personality = text(general.get("personality"))
    return personality or None
