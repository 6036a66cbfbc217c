"""A device's active alarm set and the ``Alarm_Stats`` numbers derived from it.

Entries are :class:`SnpAlarm`; on the wire (``activeAlarmStatus``, ``snp.md``
§4.3) each becomes ``id``, ``reason``, ``location``, ``fme_ip_address``,
``time_stamp``, ``object_id`` — there is no severity field, so the simulator keeps
its own ``major`` flag to fill ``majorInstances``/``minorInstances``.

No I/O, no clock (times are passed in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AlarmSet", "SnpAlarm"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SnpAlarm:
    """One active alarm.

    Attributes:
        id: alarm type number (53 front fan, 55 power supply, 35 IP video input …).
        reason: free text.
        location: free text (``"System Fan"``).
        object_id: the object it concerns (``"system"``, ``"A-HD-3"``).
        major: counted in ``majorInstances`` (else ``minorInstances``).
        time_stamp: UTC ISO 8601 time raised; ``None`` = when it is raised.
    """

    id: int
    reason: str
    location: str = "System"
    object_id: str = "system"
    major: bool = False
    time_stamp: str | None = None

    @classmethod
    def from_wire(cls, entry: Mapping[str, Any], *, major: bool = False) -> SnpAlarm:
        """Build an alarm from an ``activeAlarms`` entry (extra keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in entry.items() if k in names}
        return cls(**{"major": major, **fields})


class AlarmSet:
    """The complete set of active alarms of one device."""

    def __init__(self, alarms: Iterable[SnpAlarm] = ()) -> None:
        self.alarms = list(alarms)

    def replace(self, alarms: Iterable[SnpAlarm | Mapping[str, Any]]) -> None:
        """Replace the whole set."""
        self.alarms = [
            a if isinstance(a, SnpAlarm) else SnpAlarm.from_wire(a) for a in alarms
        ]

    def add(self, alarm: SnpAlarm, *, now: str) -> bool:
        """Add ``alarm`` unless the same one is active; stamp it ``now`` if unset.

        Returns:
            Whether the set changed.
        """
        same = (alarm.id, alarm.location, alarm.reason)
        if any((a.id, a.location, a.reason) == same for a in self.alarms):
            return False
        self.alarms.append(
            dataclasses.replace(alarm, time_stamp=alarm.time_stamp or now)
        )
        return True

    def remove(self, alarm_id: int, location: str | None = None) -> bool:
        """Remove the alarms with this id (and location, when given).

        Returns:
            Whether the set changed.
        """
        kept = [
            a
            for a in self.alarms
            if a.id != alarm_id or location not in (None, a.location)
        ]
        changed = len(kept) != len(self.alarms)
        self.alarms = kept
        return changed

    def stats(self) -> dict[str, int]:
        """Return ``Alarm_Stats``: major and minor instances, distinct ids."""
        major = sum(1 for a in self.alarms if a.major)
        return {
            "majorInstances": major,
            "minorInstances": len(self.alarms) - major,
            "uniqueTypes": len({a.id for a in self.alarms}),
        }

    def wire(self, *, fme_ip: str, now: str) -> list[dict[str, Any]]:
        """Return the ``activeAlarms`` entries as sent."""
        return [
            {
                "id": a.id,
                "reason": a.reason,
                "location": a.location,
                "fme_ip_address": fme_ip,
                "time_stamp": a.time_stamp or now,
                "object_id": a.object_id,
            }
            for a in self.alarms
        ]
