"""Malformed server frames for robustness tests (``snp.md`` §8 "Faults").

:func:`malformed_frame` builds each :class:`MalformedKind` from the device's
current objects, with the shapes of ``shared/fixtures/snp/ws/malformed/``: non-JSON
text, truncated JSON, no ``msgType``, ``statuses`` not a list, a bad item beside a
good one, an item without ``type``, an item that is an object instead of a string
(which a client should accept), a binary frame, odd values (``"---"``, numeric
strings, a missing array), an unknown ``msgType`` and a frame above 1 MiB.

Pure functions; this module must not do I/O or hold state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from exporterhub.simulators.snp.wire import (
    OP_BINARY,
    OP_TEXT,
    dumps,
    status_item,
    status_state,
)

__all__ = ["OVERSIZE_BYTES", "MalformedKind", "malformed_frame"]

OVERSIZE_BYTES: Final = 1024 * 1024 + 4096
"""Size of the ``oversize`` frame: past the usual 1 MiB client limit (§1)."""


class MalformedKind(StrEnum):
    """The bad frames :meth:`SnpFaults.send_malformed` can send."""

    NOT_JSON = "not_json"
    TRUNCATED = "truncated"
    NO_MSG_TYPE = "no_msg_type"
    STATUSES_NOT_LIST = "statuses_not_list"
    BAD_ITEM = "bad_item"
    ITEM_NO_TYPE = "item_no_type"
    ITEM_IS_OBJECT = "item_is_object"
    BINARY = "binary"
    ODD_VALUES = "odd_values"
    UNKNOWN_MSG_TYPE = "unknown_msg_type"
    OVERSIZE = "oversize"


def _odd_system(system: Mapping[str, Any]) -> dict[str, Any]:
    """The ``system`` object with the odd values of ``system_odd_values.json``."""
    odd = copy.deepcopy(dict(system))
    odd.get("Board_Temperatures", {})["Main_Board"] = "---"
    fans = odd.get("Front_Fan_Stats") or []
    if len(fans) > 1:
        fans[1]["RotationalSpeed"] = "N/A"
    stats = odd.get("Alarm_Stats", {})
    stats["minorInstances"] = str(stats.get("minorInstances", 0))
    odd.pop("FPGA_HW_Stats", None)
    return odd


def malformed_frame(
    kind: MalformedKind | str,
    *,
    ptp: Mapping[str, Any],
    system: Mapping[str, Any],
) -> tuple[bytes, int]:
    """Return ``(payload, opcode)`` of one malformed frame.

    Args:
        kind: which frame.
        ptp: the current ``ptp`` object (the "good" item where one is needed).
        system: the current ``system`` object (for ``odd_values``).

    Raises:
        ValueError: ``kind`` is not a :class:`MalformedKind`.
    """
    kind = MalformedKind(kind)
    good = status_item(ptp)
    text: bytes
    if kind is MalformedKind.NOT_JSON:
        text = b"keepalive"
    elif kind is MalformedKind.TRUNCATED:
        full = status_state([good])
        text = full[: len(full) // 2]
    elif kind is MalformedKind.NO_MSG_TYPE:
        text = dumps({"statuses": [good]})
    elif kind is MalformedKind.STATUSES_NOT_LIST:
        text = dumps({"msgType": "statusState", "statuses": good})
    elif kind is MalformedKind.BAD_ITEM:
        text = status_state([good[: len(good) // 2], good])
    elif kind is MalformedKind.ITEM_NO_TYPE:
        text = status_state(
            [status_item({"name": ptp.get("name"), "object_ID": ptp.get("object_ID")})]
        )
    elif kind is MalformedKind.ITEM_IS_OBJECT:
        text = dumps({"msgType": "statusState", "statuses": [ptp]})
    elif kind is MalformedKind.BINARY:
        return status_state([good]), OP_BINARY
    elif kind is MalformedKind.ODD_VALUES:
        text = status_state([status_item(_odd_system(system))])
    elif kind is MalformedKind.UNKNOWN_MSG_TYPE:
        text = dumps({"msgType": "someFutureMessage", "payload": {"x": 1}})
    else:  # OVERSIZE: a valid statusState whose extra object is huge
        filler = {"type": "simPadding", "object_ID": "padding", "data": ""}
        filler["data"] = "x" * OVERSIZE_BYTES
        text = status_state([good, status_item(filler)])
    return text, OP_TEXT
