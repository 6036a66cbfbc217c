r"""Frame, parse and encode PHD2 event-server messages. Pure functions, no I/O.

PHD2's event server (protocol reference: ``shared/protocols/phd2.md``) sends one JSON
object per ``\r\n``-terminated line: events and JSON-RPC responses interleaved. This
module turns lines into typed messages (``parse_line``; ``LineBuffer``, from
``framing`` and re-exported here, makes the lines) and requests into bytes
(``encode_request``); the read loop uses ``parse_message``, which checks an
event but leaves it as its parsed object (``EventFields``), so a GuideStep costs no
allocation beyond the parser's. It never touches a socket, never logs and never
raises on input from the wire.

Common fields of every event (§4)::

    Event      str    event name
    Timestamp  float  PHD2 host wall clock, Unix seconds (not the exporter's clock)
    Host       str    PHD2 host name as the OS reports it (case varies)
    Inst       int    PHD2 instance number, 1-based (port 4400 + Inst - 1)

Field glossary of the events the exporter reads (§5, §6; units as PHD2 sends them —
``fields.py``/``events.py`` convert to base units)::

    Version      PHDVersion str, PHDSubver str ("" for releases),
                 OverlapSupport bool (>= 2.6.7), MsgVersion int (always 1)
    AppState     State str: Stopped Selected Calibrating Guiding LostLock Paused
                 Looping (catch-up block only)
    GuideStep    Frame int; Time s since guiding started; Mount str;
                 dx, dy camera px; RADistanceRaw, DECDistanceRaw px (measured error,
                 signed); RADistanceGuide, DECDistanceGuide px (algorithm output);
                 RADuration ms + RADirection East/West (AO: Left/Right), only when an
                 RA pulse was sent; DECDuration ms + DECDirection North/South
                 (AO: Up/Down), only when a Dec pulse was sent; Pos [x, y] AO steps
                 (AO only); StarMass ADU sum; SNR; HFD px (>= 2.6.7, absent before);
                 AvgDist px (smoothed distance); ErrorCode int (only when non-zero);
                 RALimited / DecLimited bool (only when the pulse was clipped)
    StarLost     Frame int, Time s, StarMass, SNR, HFD px (>= 2.6.7), AvgDist px,
                 ErrorCode int (optional; 0 when absent), Status str (translated)
    LoopingExposures  Frame int; StarMass, SNR, HFD, ErrorCode, Status (>= 2.6.10)
    GuidingDithered   dx, dy px along the RA and Dec axes
    SettleBegin  (>= 2.6.4)
    Settling     Distance px, Time s, SettleTime s, StarLocked bool (>= 2.6.3)
    SettleDone   Status int (0 ok, 1 failed), Error str (failures only),
                 TotalFrames int, DroppedFrames int (>= 2.6.3)
    StartCalibration / CalibrationComplete / CalibrationFailed  Mount str;
                 CalibrationFailed also Reason str; Calibrating (>= 2.6.6) per step
    Alert        Msg str, Type info/question/warning/error
    ConfigurationChange (>= 2.6.7), LockPositionShiftLimitReached (>= 2.6.7)

RPC responses: ``{"jsonrpc":"2.0","result":...,"id":N}`` or
``{"jsonrpc":"2.0","error":{"code":int,"message":str},"id":N}`` (§9).

>>> buffer = LineBuffer()
>>> buffer.feed(b'{"Event":"Resumed","Host":"OBS","Inst":1}\r\n{"jsonrpc"')
[b'{"Event":"Resumed","Host":"OBS","Inst":1}']
>>> parse_line(b'{"jsonrpc":"2.0","result":1.93,"id":7}')
RpcResponse(id=7, result=1.93, error=None)
>>> encode_request("get_app_state", 3)
b'{"method":"get_app_state","id":3}\n'
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NoReturn

import orjson

from exporterhub.exporters.phd2.framing import DEFAULT_MAX_LINE, LineBuffer

__all__ = [
    "DEFAULT_MAX_LINE",
    "KNOWN_EVENTS",
    "MAX_REQUEST_BYTES",
    "Event",
    "EventFields",
    "GuiderState",
    "LineBuffer",
    "Malformed",
    "MalformedReason",
    "RpcError",
    "RpcResponse",
    "encode_request",
    "event_from_fields",
    "parse_line",
    "parse_message",
]

MAX_REQUEST_BYTES: Final = 1023
"""PHD2 discards request lines longer than this (§2); counted with the newline."""

KNOWN_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "Version",
        "AppState",
        "ConfigurationChange",
        "GuideParamChange",
        "Alert",
        "LoopingExposures",
        "LoopingExposuresStopped",
        "StarSelected",
        "LockPositionSet",
        "LockPositionLost",
        "LockPositionShiftLimitReached",
        "StartCalibration",
        "Calibrating",
        "CalibrationComplete",
        "CalibrationFailed",
        "CalibrationDataFlipped",
        "StartGuiding",
        "GuideStep",
        "StarLost",
        "GuidingDithered",
        "Paused",
        "Resumed",
        "GuidingStopped",
        "SettleBegin",
        "Settling",
        "SettleDone",
        "SingleFrameComplete",
    }
)
"""Event names of PHD2 2.6.14 (§5); anything else is a newer or unknown event."""

_CONTROL_BYTES: Final = re.compile(rb"[\x00-\x1f]")
_orjson_loads: Final = orjson.loads
_JSONDecodeError: Final = orjson.JSONDecodeError
_common_members: Final = operator.itemgetter("Event", "Timestamp", "Host", "Inst")


class GuiderState(StrEnum):
    """PHD2's application states, as ``AppState`` and ``get_app_state`` name them."""

    STOPPED = "Stopped"
    SELECTED = "Selected"
    CALIBRATING = "Calibrating"
    GUIDING = "Guiding"
    LOST_LOCK = "LostLock"
    PAUSED = "Paused"
    LOOPING = "Looping"


class MalformedReason(StrEnum):
    """Why a line was not a usable message (a short fixed set, safe as a label)."""

    JSON = "json"
    """Not valid UTF-8 JSON, or a number PHD2 printed as ``nan``/``inf``."""
    SHAPE = "shape"
    """Valid JSON, but not an event or response object, or with wrongly typed fields."""
    BATCH = "batch"
    """A JSON array (a batch response); the exporter never sends batches."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One PHD2 event.

    Attributes:
        name: the ``Event`` member.
        timestamp: ``Timestamp``, PHD2 host clock in Unix seconds, None if absent.
        host: ``Host`` as sent (not lower-cased), None if absent.
        inst: ``Inst``, PHD2 instance number, None if absent.
        fields: the whole parsed object, common members included.
    """

    name: str
    timestamp: float | None
    host: str | None
    inst: int | None
    fields: dict[str, Any]


EventFields = dict[str, Any]
"""An event as its parsed JSON object, checked by ``parse_message``: ``"Event"`` is a
str, ``"Timestamp"`` a number, ``"Host"`` a str and ``"Inst"`` an int, each of the
last three possibly absent or null. ``Event.fields`` is such an object."""


@dataclass(frozen=True, slots=True)
class RpcError:
    """The ``error`` member of a JSON-RPC response.

    Attributes:
        code: JSON-RPC code (-32700 … -32600, or PHD2's method-specific 1, 2, 3).
        message: human text; free text, never use it as a label.
    """

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class RpcResponse:
    """One JSON-RPC response.

    Attributes:
        id: the request id echoed by PHD2 (None for parse errors); integral floats
            are returned as int.
        result: the ``result`` member (may be None, e.g. ``get_pixel_scale``).
        error: the error, or None for a success.
    """

    id: int | float | str | None
    result: Any
    error: RpcError | None


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not a usable message.

    Attributes:
        reason: why, from a short fixed set.
    """

    reason: MalformedReason


def _reject_constant(text: str) -> NoReturn:
    raise ValueError(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _loads_lenient(line: bytes) -> object:
    """Parse a line orjson refused; raise ``ValueError`` unless it is lenient JSON."""
    # PHD2 escapes only backslash, quote, CR and LF inside strings, so a raw tab in
    # a host name or alert text reaches us unescaped (§10). Only then take the slow
    # lenient path.
    if _CONTROL_BYTES.search(line) is None:
        raise ValueError("not JSON")
    try:
        value = json.loads(
            line.decode("utf-8"),
            strict=False,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
        # orjson refuses what it could not have produced itself (lone surrogates,
        # integers beyond 64 bits), so both paths yield the same kind of values.
        orjson.dumps(value)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError("lenient parse failed") from exc
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_MALFORMED_JSON: Final = Malformed(MalformedReason.JSON)
_MALFORMED_SHAPE: Final = Malformed(MalformedReason.SHAPE)
_MALFORMED_BATCH: Final = Malformed(MalformedReason.BATCH)


def _event(obj: dict[str, Any]) -> EventFields | Malformed:
    timestamp = obj.get("Timestamp")
    host = obj.get("Host")
    inst = obj.get("Inst")
    if (
        not isinstance(obj["Event"], str)
        or (timestamp is not None and not _is_number(timestamp))
        or (host is not None and not isinstance(host, str))
        or (inst is not None and (type(inst) is not int))
    ):
        return _MALFORMED_SHAPE
    return obj


def _response(obj: dict[str, Any]) -> RpcResponse | Malformed:
    request_id = obj.get("id")
    if isinstance(request_id, float) and request_id.is_integer():
        request_id = int(request_id)
    elif request_id is not None and (
        isinstance(request_id, bool) or not isinstance(request_id, int | float | str)
    ):
        return _MALFORMED_SHAPE
    error = obj.get("error")
    if error is None:
        if "result" not in obj:
            return _MALFORMED_SHAPE
        return RpcResponse(request_id, obj["result"], None)
    if not isinstance(error, dict):
        return _MALFORMED_SHAPE
    code = error.get("code")
    message = error.get("message", "")
    if isinstance(code, bool) or not isinstance(code, int):
        return _MALFORMED_SHAPE
    if not isinstance(message, str):
        message = ""
    return RpcResponse(request_id, None, RpcError(code, message))


def parse_message(line: bytes) -> EventFields | RpcResponse | Malformed:
    r"""Classify and parse one line, leaving an event as its parsed JSON object.

    The read loop's form of ``parse_line``: an event costs no object beyond the
    ``dict`` the JSON parser built, which is returned as it is once its common
    members have the types ``EventFields`` promises. Never raises.

    Args:
        line: one complete line, without its ``\n`` (from ``LineBuffer``); a
            trailing ``\r`` may stay, JSON reads it as whitespace.

    Returns:
        The object (an ``EventFields``) for objects with ``"Event"``, otherwise
        what ``parse_line`` returns.

    >>> parse_message(b'{"Event":"Paused","Host":"h"}')
    {'Event': 'Paused', 'Host': 'h'}
    >>> parse_message(b'{"Event":7}')
    Malformed(reason=<MalformedReason.SHAPE: 'shape'>)
    """
    try:
        obj = _orjson_loads(line)
        # Fast path for what PHD2 always sends: one C call reads the common
        # members of an object; anything else raises and takes the general path.
        name, timestamp, host, inst = _common_members(obj)
    except _JSONDecodeError:
        try:
            obj = _loads_lenient(line)
        except (ValueError, RecursionError):
            return _MALFORMED_JSON
    except (KeyError, TypeError):
        pass  # not an object, or one without all four members
    else:
        if (
            type(name) is str
            and type(timestamp) is float
            and type(host) is str
            and type(inst) is int
        ):
            fields: EventFields = obj
            return fields
    if type(obj) is dict:
        if "Event" in obj:
            return _event(obj)
        if "jsonrpc" in obj or ("id" in obj and ("result" in obj or "error" in obj)):
            return _response(obj)
        return _MALFORMED_SHAPE
    if type(obj) is list:
        return _MALFORMED_BATCH
    return _MALFORMED_SHAPE


def event_from_fields(fields: EventFields) -> Event:
    """Return the typed ``Event`` of an object ``parse_message`` accepted.

    >>> event_from_fields({"Event": "Resumed", "Timestamp": 17}).timestamp
    17.0
    """
    timestamp = fields.get("Timestamp")
    return Event(
        name=fields["Event"],
        timestamp=None if timestamp is None else float(timestamp),
        host=fields.get("Host"),
        inst=fields.get("Inst"),
        fields=fields,
    )


def parse_line(line: bytes) -> Event | RpcResponse | Malformed:
    """Classify and parse one line from PHD2. Never raises.

    Args:
        line: one complete line, without its line ending (from ``LineBuffer``).

    Returns:
        An ``Event`` for objects with ``"Event"``, an ``RpcResponse`` for objects
        with ``"jsonrpc"`` or with ``"id"`` and ``"result"``/``"error"``, otherwise
        ``Malformed`` with the reason.

    >>> parse_line(b'{"Event":"Paused","Timestamp":1.5,"Host":"h","Inst":2}').name
    'Paused'
    >>> parse_line(b'{"Event":"GuideStep","SNR":nan}').reason
    <MalformedReason.JSON: 'json'>
    >>> parse_line(b"[]").reason
    <MalformedReason.BATCH: 'batch'>
    """
    message = parse_message(line)
    if isinstance(message, dict):
        return event_from_fields(message)
    return message


def encode_request(method: str, request_id: int, params: object | None = None) -> bytes:
    r"""Encode one JSON-RPC request line for PHD2.

    Args:
        method: the method name, e.g. ``get_pixel_scale``.
        request_id: a small positive integer, echoed in the response.
        params: positional (list) or named (dict) parameters; omitted when None.

    Returns:
        Compact JSON terminated by ``\n``.

    Raises:
        ValueError: the line would exceed ``MAX_REQUEST_BYTES`` (PHD2 would discard
            it), or ``request_id`` is not an int.
        TypeError: ``params`` is not JSON-serialisable.

    >>> encode_request("get_calibration_data", 9, {"which": "Mount"})
    b'{"method":"get_calibration_data","params":{"which":"Mount"},"id":9}\n'
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ValueError("request_id must be an int")
    request: dict[str, object] = {"method": method}
    if params is not None:
        request["params"] = params
    request["id"] = request_id
    line = orjson.dumps(request, option=orjson.OPT_APPEND_NEWLINE)
    if len(line) > MAX_REQUEST_BYTES:
        raise ValueError(f"request of {len(line)} bytes exceeds {MAX_REQUEST_BYTES}")
    return line
