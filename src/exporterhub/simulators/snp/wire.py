"""The SNP's wire formats: WebSocket messages, REST bodies, tokens, value strings.

Pure functions, no I/O (protocol document ``snp.md`` §2 to §5). Server → client
messages are built as UTF-8 JSON bytes, ready to be framed by :func:`ws_frame`:
``statusState`` and ``allStatuses`` carry each status object as a **JSON string**
inside ``statuses`` (§4.3), ``objectsState`` and ``allObjects`` each
configuration as a JSON string inside ``configurations``. Client → server
messages are parsed by :func:`parse_client_message` and :func:`parse_subscription`,
keeping the spelling traps of §4.2: ``elementIP`` in subscriptions, ``elementIp``
in other commands.

Value strings (§5.1): temperatures ``"46.0 °C"`` (degrees Celsius, one decimal),
fan speeds ``"12024 RPM"`` (whole revolutions per minute), PTP offset and delay
``"-0.087 us"`` (microseconds, three decimals), ``ptpUTC`` in C ``ctime`` format
(``"Mon Mar  9 14:02:17 2026"``), ``fmmStatus.description`` the SMM's local time
``DD-MM-YYYY HH:MM:SS`` (the simulator's local time is UTC).

Malformed frames for robustness tests live in ``malformed``. This module must not
open sockets, read clocks (times are passed in) or hold state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

__all__ = [
    "LOCAL_ELEMENT_IP",
    "OP_BINARY",
    "OP_TEXT",
    "ClientMessageError",
    "ObjectRef",
    "Subscription",
    "active_alarm_status",
    "alarm_configure",
    "all_objects",
    "all_statuses",
    "celsius_text",
    "config_envelope",
    "dumps",
    "element_status",
    "fmm_status",
    "issue_token",
    "logs_state",
    "micros_text",
    "normalise_token",
    "objects_state",
    "parse_client_message",
    "parse_subscription",
    "permissions_msg",
    "power_on_text",
    "ptp_utc",
    "rpm_text",
    "status_item",
    "status_state",
    "uptime_text",
    "ws_frame",
]

LOCAL_ELEMENT_IP: Final = "127.0.0.1"
"""The ``elementIP`` an SMM on the SNP answers subscriptions for (§4.2)."""
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
_FIN: Final = 0x80
_JWT_HEADER: Final = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"HS256"}').rstrip(
    b"="
)
_PAD_CHUNK: Final = 64 * 1024


def dumps(value: object) -> bytes:
    """Encode compact UTF-8 JSON (the degree sign unescaped, as the device sends)."""
    return orjson.dumps(value)


def status_item(obj: Mapping[str, Any]) -> str:
    """Return one status object as the JSON string that goes inside ``statuses``."""
    return orjson.dumps(obj).decode()


def status_state(items: Sequence[str]) -> bytes:
    """Return a ``statusState`` message carrying ``items`` (JSON strings)."""
    return dumps({"msgType": "statusState", "statuses": list(items)})


def all_statuses(element_ip: str, items: Sequence[str]) -> bytes:
    """Return an ``allStatuses`` message (the answer to ``getAllStatuses``)."""
    return dumps(
        {"msgType": "allStatuses", "elementIp": element_ip, "statuses": list(items)}
    )


def smm_time(wall: float) -> str:
    """Return ``wall`` (Unix seconds) as the SMM prints it: ``DD-MM-YYYY HH:MM:SS``."""
    return time.strftime("%d-%m-%Y %H:%M:%S", time.gmtime(wall))


def fmm_status(wall: float) -> bytes:
    """Return the ``fmmStatus`` keepalive stamped with ``wall`` (Unix seconds)."""
    return dumps(
        {
            "msgType": "fmmStatus",
            "event": "keepalive",
            "status": "success",
            "description": smm_time(wall),
            "managed_services": 0,
            "available_services": 0,
        }
    )


def permissions_msg(user: Mapping[str, Any], group: Mapping[str, Any]) -> bytes:
    """Return a ``permissionsMsg`` (``group["permissions"]`` is a JSON string)."""
    return dumps({"msgType": "permissionsMsg", "currentUser": user, "userGroup": group})


def active_alarm_status(alarms: Sequence[Mapping[str, Any]]) -> bytes:
    """Return an ``activeAlarmStatus``: the complete current set, never a delta."""
    return dumps({"msgType": "activeAlarmStatus", "activeAlarms": list(alarms)})


def objects_state(configs: Sequence[str]) -> bytes:
    """Return an ``objectsState`` carrying configurations as JSON strings."""
    return dumps({"msgType": "objectsState", "configurations": list(configs)})


def logs_state(logs: Mapping[str, Any]) -> bytes:
    """Return a ``logsState`` message."""
    return dumps({"msgType": "logsState", "logs": logs})


def element_status(status: str) -> bytes:
    """Return an ``elementStatus`` (``status`` is a JSON string, as VWS shows)."""
    return dumps({"msgType": "elementStatus", "status": status})


def alarm_configure(alarms: Sequence[Mapping[str, Any]]) -> bytes:
    """Return an ``alarmConfigure`` message (alarm ids with their priority)."""
    return dumps({"msgType": "alarmConfigure", "alarms": list(alarms)})


def all_objects(configs: Sequence[str], *, fme_ip: str, pad_to: int = 0) -> bytes:
    """Return an ``allObjects`` message, padded with filler configurations.

    Args:
        configs: configuration objects as JSON strings.
        fme_ip: the device's address, written into each filler object.
        pad_to: add ``simPadding`` configurations until the message is larger
            than this many bytes (a real answer exceeds 1 MiB, §1); 0 = none.
    """
    items = list(configs)
    size = sum(len(c) for c in items)
    index = 0
    while pad_to and size <= pad_to:
        index += 1
        filler = status_item(
            {
                "type": "simPadding",
                "name": f"padding-{index}",
                "object_ID": f"padding-{index}",
                "fme_ip": fme_ip,
                "data": "x" * _PAD_CHUNK,
            }
        )
        items.append(filler)
        size += len(filler)
    return dumps({"msgType": "allObjects", "configurations": items})


def ws_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    r"""Frame ``payload`` as one unmasked server-to-client WebSocket frame (RFC 6455).

    >>> ws_frame(b"hi")
    b'\x81\x02hi'
    """
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", _FIN | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", _FIN | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", _FIN | opcode, 127, length)
    return header + payload


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def issue_token(username: str, *, now: float, lifetime: float, key: bytes) -> str:
    """Return a fresh JWT-like token with its scheme, as ``POST /api/auth`` answers.

    The header is ``{"typ":"JWT","alg":"HS256"}`` (§2); the claims (``nbf``,
    ``exp``, ``user``, a random ``jti``) are the simulator's guess.

    Args:
        username: written into the claims.
        now: issue time, Unix seconds.
        lifetime: seconds until ``exp``.
        key: HMAC-SHA256 signing key.
    """
    claims = dumps(
        {
            "nbf": int(now),
            "exp": int(now + lifetime),
            "user": username,
            "jti": secrets.token_hex(8),
        }
    )
    signing_input = _JWT_HEADER + b"." + _b64(claims)
    signature = _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
    return "Bearer " + (signing_input + b"." + signature).decode()


def normalise_token(text: str) -> str:
    """Return a token as issued: trimmed, unquoted, with its ``Bearer`` scheme.

    >>> normalise_token(' "Bearer abc" ')
    'Bearer abc'
    >>> normalise_token("abc")
    'Bearer abc'
    """
    token = text.strip()
    if len(token) >= 2 and token[0] == token[-1] == '"':
        token = token[1:-1].strip()
    return token if token.startswith("Bearer ") else f"Bearer {token}"


def config_envelope(config: Mapping[str, Any], *, fme_ip: str) -> dict[str, Any]:
    """Return the REST configuration envelope: ``config`` as a JSON string (§3.1)."""
    return {
        "type": config.get("type"),
        "fme_ip": fme_ip,
        "name": config.get("name"),
        "object_ID": config.get("object_ID"),
        "config": orjson.dumps(config).decode(),
    }


def celsius_text(value: float) -> str:
    """Format a temperature as the SNP does: ``"46.0 °C"``."""
    return f"{value:.1f} °C"


def rpm_text(value: float) -> str:
    """Format a fan speed as the SNP does: ``"12024 RPM"``."""
    return f"{round(value)} RPM"


def micros_text(value: float) -> str:
    """Format a PTP offset or delay in microseconds: ``"-0.087 us"``."""
    return f"{value:.3f} us"


def ptp_utc(wall: float) -> str:
    """Format ``ptpUTC`` in C ``ctime`` style (two spaces before a one-digit day).

    >>> ptp_utc(1773064937)
    'Mon Mar  9 14:02:17 2026'
    """
    return time.asctime(time.gmtime(wall))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def uptime_text(seconds: float) -> str:
    """Format ``upTime`` like ``uptime -p``.

    >>> uptime_text(14 * 86400 + 3600 + 25 * 60 + 9)
    'up 2 weeks, 1 hour, 25 minutes'
    """
    minutes = int(seconds) // 60
    weeks, minutes = divmod(minutes, 7 * 24 * 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        _plural(n, unit)
        for n, unit in ((weeks, "week"), (days, "day"), (hours, "hour"))
        if n
    ]
    if minutes or not parts:
        parts.append(_plural(minutes, "minute"))
    return "up " + ", ".join(parts)


def power_on_text(seconds: float) -> str:
    """Format ``pwrOnTime``.

    >>> power_on_text(14 * 86400 + 3600 + 26 * 60 + 9)
    '14 days 01 hours 26 minutes 09 sec'
    """
    total = int(seconds)
    days, total = divmod(total, 86400)
    hours, total = divmod(total, 3600)
    minutes, secs = divmod(total, 60)
    return f"{days} days {hours:02d} hours {minutes:02d} minutes {secs:02d} sec"


class ClientMessageError(ValueError):
    """A client message the SMM would not act on (the reason is the message)."""


def parse_client_message(text: str) -> dict[str, Any]:
    """Decode a client text frame into a JSON object with a string ``msgType``.

    Raises:
        ClientMessageError: not JSON, not an object, or no string ``msgType``.
    """
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ClientMessageError("not JSON") from exc
    if not isinstance(message, dict) or not isinstance(message.get("msgType"), str):
        raise ClientMessageError("not an object with a string msgType")
    return message


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectRef:
    """One entry of a subscription's ``objectIds``.

    Attributes:
        element_ip: ``elementIP`` as sent; ``None`` when missing (or misspelt).
        object_type: ``objectType``.
        object_id: ``objectId``; ``None`` for singletons (``ptp``, ``system`` …).
    """

    element_ip: str | None
    object_type: str
    object_id: str | None = None

    @property
    def local(self) -> bool:
        """Whether the SMM on the SNP answers it (``elementIP`` 127.0.0.1)."""
        return self.element_ip == LOCAL_ELEMENT_IP


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A parsed ``statusListSubscribe`` or ``statusListUnsubscribe``.

    Attributes:
        frequency: minimum spacing per object, seconds (``frequency`` ms / 1000);
            ``None`` for an unsubscription.
        refs: the ``objectIds`` entries.
    """

    frequency: float | None
    refs: tuple[ObjectRef, ...]


def parse_subscription(
    message: Mapping[str, Any], *, unsubscribe: bool
) -> Subscription:
    """Validate a (un)subscription: ``frequency`` and ``objectIds`` (§4.2).

    ``frequency`` is in milliseconds and must be a positive multiple of 1000.

    Raises:
        ClientMessageError: a bad ``frequency`` or ``objectIds``.
    """
    frequency: float | None = None
    if not unsubscribe:
        raw = message.get("frequency")
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ClientMessageError("frequency must be a number of milliseconds")
        if raw <= 0 or raw % 1000:
            raise ClientMessageError("frequency must be a positive multiple of 1000")
        frequency = raw / 1000
    entries = message.get("objectIds")
    if not isinstance(entries, list):
        raise ClientMessageError("objectIds must be a list")
    refs: list[ObjectRef] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("objectType"), str):
            raise ClientMessageError("each objectIds entry needs a string objectType")
        element_ip = entry.get("elementIP")
        object_id = entry.get("objectId")
        refs.append(
            ObjectRef(
                element_ip=element_ip if isinstance(element_ip, str) else None,
                object_type=entry["objectType"],
                object_id=object_id if isinstance(object_id, str) else None,
            )
        )
    return Subscription(frequency=frequency, refs=tuple(refs))
