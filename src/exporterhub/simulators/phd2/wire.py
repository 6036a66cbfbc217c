r"""PHD2 wire format for the simulator: JSON text, request framing, version features.

Writes JSON the way PHD2's ``event_server.cpp`` does (member order as given,
``%.3f``/``%.2f``/``%.0f``/``%g`` numbers, only ``\``, ``"``, CR and LF escaped,
``\r\n`` line ends), splits client input into request lines with PHD2's 1023-byte
limit and knows which protocol features each PHD2 version has (protocol doc §2,
§9-§11). Pure functions; this module must not do I/O or keep global state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FORMATS",
    "LEGACY_VERSION",
    "MAX_REQUEST",
    "Features",
    "Fields",
    "Num",
    "RequestBuffer",
    "RpcError",
    "encode",
    "features_for",
    "malformed",
    "rpc_response",
]

LEGACY_VERSION: Final = "2.6.5"
MAX_REQUEST: Final = 1023  # bytes before "\n"; PHD2 reads into a 1024-byte buffer

Fields = list[tuple[str, object]]

# Field formats of PHD2's events (§5, §6) as format() specs, used for plain floats
# pushed by tests; any other float is written with %g, as PHD2's NV(double) does.
FORMATS: Final[dict[str, dict[str, str]]] = {
    "GuideStep": {
        **dict.fromkeys(("Time", "dx", "dy"), ".3f"),
        **dict.fromkeys(("RADistanceRaw", "DECDistanceRaw"), ".3f"),
        **dict.fromkeys(("RADistanceGuide", "DECDistanceGuide"), ".3f"),
        **dict.fromkeys(("SNR", "HFD", "AvgDist"), ".2f"),
        "StarMass": ".0f",
    },
    "StarLost": {
        "Time": ".3f",
        "StarMass": ".0f",
        **dict.fromkeys(("SNR", "HFD", "AvgDist"), ".2f"),
    },
    "LoopingExposures": {"StarMass": ".0f", "SNR": ".2f", "HFD": ".2f"},
    "StarSelected": {"X": ".3f", "Y": ".3f"},
    "LockPositionSet": {"X": ".3f", "Y": ".3f"},
    "GuidingDithered": {"dx": ".3f", "dy": ".3f"},
    "Settling": {"Distance": ".2f", "Time": ".1f", "SettleTime": ".1f"},
}


@dataclass(frozen=True, slots=True)
class Num:
    """A number written with the ``format()`` spec PHD2 uses for it (``".3f"``)."""

    value: float
    spec: str = "g"


@dataclass(frozen=True, slots=True)
class Features:
    """Protocol features that depend on the PHD2 version (§11)."""

    version: str
    overlap: bool  # >= 2.6.7: OverlapSupport, every pipelined request processed
    hfd: bool  # >= 2.6.7: HFD in GuideStep and StarLost
    config_change: bool  # >= 2.6.7: ConfigurationChange
    calibrating_events: bool  # >= 2.6.6: Calibrating step events
    loop_star_data: bool  # >= 2.6.10: star data and ErrorCode in LoopingExposures
    cooler: bool  # >= 2.6.5: get_cooler_status, get_ccd_temperature
    v2614: bool  # >= 2.6.14: variable delay and limit frame methods


def features_for(version: str) -> Features:
    """Return the feature set of a PHD2 version string such as ``"2.6.14"``.

    >>> features_for("2.6.5").overlap, features_for("2.6.14dev8").v2614
    (False, True)
    """
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    v = tuple(parts + [0] * (3 - len(parts)))
    return Features(
        version=version,
        overlap=v >= (2, 6, 7),
        hfd=v >= (2, 6, 7),
        config_change=v >= (2, 6, 7),
        calibrating_events=v >= (2, 6, 6),
        loop_star_data=v >= (2, 6, 10),
        cooler=v >= (2, 6, 5),
        v2614=v >= (2, 6, 14),
    )


def _escape(text: str) -> str:
    # PHD2 escapes only backslash, quote, CR and LF (json_escape in event_server.cpp).
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def encode(value: object, *, in_array: bool = False) -> str:
    """Return JSON text for ``value`` with PHD2's number formatting.

    Plain floats are written with ``%g`` (``%.2f`` inside arrays), as PHD2's ``NV``
    and ``JAry`` do; :class:`Num` carries an explicit format. NaN and infinity come
    out as ``nan``/``inf``, which is not JSON, exactly like PHD2's printf.

    >>> encode({"a": [1.0, Num(-0.0004, ".3f"), 7], "b": 1e-05, "c": None})
    '{"a":[1.00,-0.000,7],"b":1e-05,"c":null}'

    Raises:
        TypeError: for values that have no JSON form.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Num):
        return format(value.value, value.spec)
    if isinstance(value, float):
        return format(value, ".2f" if in_array else "g")
    if isinstance(value, str):
        return '"' + _escape(value) + '"'
    if isinstance(value, Mapping):
        items = (f'"{_escape(str(k))}":{encode(v)}' for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v, in_array=True) for v in value) + "]"
    msg = f"cannot encode {type(value).__name__}"
    raise TypeError(msg)


def xy(point: tuple[float, float]) -> Fields:
    """Return the ``X``/``Y`` members of StarSelected and LockPositionSet."""
    return [("X", Num(point[0], ".3f")), ("Y", Num(point[1], ".3f"))]


def malformed(line: bytes, variant: int) -> bytes:
    r"""Return a broken copy of an event line: a ``nan`` member or a truncation.

    >>> malformed(b'{"Event":"X"}\r\n', 0)
    b'{"Event":"X","SNR":nan}\r\n'
    >>> malformed(b'{"Event":"X"}\r\n', 1)
    b'{"Even\r\n'
    """
    body = line.rstrip(b"\r\n")
    if variant % 2 == 0:
        return body[:-1] + b',"SNR":nan}\r\n'
    return body[: max(1, len(body) // 2)] + b"\r\n"


class RequestBuffer:
    r"""Split client input into request lines the way PHD2's reader does (§2).

    Lines end in ``\n``; a line longer than 1023 bytes yields ``None`` (to be
    answered "too big") and is discarded up to its newline.

    >>> buf = RequestBuffer()
    >>> buf.feed(b'{"id":1}\n{"i'), buf.feed(b'd":2}\r\n')
    ([b'{"id":1}'], [b'{"id":2}\r'])
    """

    __slots__ = ("_buf", "_discarding")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes, *, first_only: bool = False) -> list[bytes | None]:
        """Add one read's bytes and return the complete lines (``None``: too big).

        Args:
            data: bytes from one socket read.
            first_only: PHD2 < 2.6.7 behaviour: handle the first complete line
                and throw away the rest of this read.
        """
        self._buf += data
        out: list[bytes | None] = []
        while (nl := self._buf.find(b"\n")) >= 0:
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._discarding:
                self._discarding = False
                continue
            out.append(None if len(line) > MAX_REQUEST else line)
            if first_only:
                self._buf.clear()
                break
        if self._discarding:
            self._buf.clear()
        elif len(self._buf) > MAX_REQUEST:
            out.append(None)
            self._buf.clear()
            self._discarding = True
        return out


class RpcError(Exception):
    """A JSON-RPC error object to send back (§9 error codes)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def rpc_response(
    rid: object, *, result: object = None, error: RpcError | None = None
) -> str:
    """Return a response object with PHD2's member order jsonrpc, result|error, id.

    >>> rpc_response(7, result=1.93)
    '{"jsonrpc":"2.0","result":1.93,"id":7}'
    """
    body = (
        f'"error":{{"code":{error.code},"message":{encode(error.message)}}}'
        if error is not None
        else f'"result":{encode(result)}'
    )
    # PHD2 stores non-integer ids as doubles and prints them with %g (§9).
    rid_text = format(rid, "g") if isinstance(rid, float) else encode(rid)
    return f'{{"jsonrpc":"2.0",{body},"id":{rid_text}}}'


def params_of(params: object, *names: str) -> dict[str, object]:
    """Map request params by name: arrays by position, objects as they are."""
    if isinstance(params, list):
        return dict(zip(names, params, strict=False))
    if isinstance(params, dict):
        return params
    return {}


def number(value: object) -> float | None:
    """Return ``value`` as a float if it is a JSON number (not a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Num):
        return value.value
    return None


def flag(value: object) -> bool | None:
    """Return ``value`` as a bool if PHD2 would accept it as one (bool or int)."""
    return bool(value) if isinstance(value, bool | int) else None
