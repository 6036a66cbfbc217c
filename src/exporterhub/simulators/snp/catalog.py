"""The bundled object set every simulated SNP starts from (``data/``).

Loads the fixture-shaped files once per process and derives the device's 45
status objects (``snp.md`` §5): ``system``, ``ptp``, ``ipVidRx``, ``ipWan``,
``videoGenLock`` (object id ``GenLock``), four ``processor`` and 36
``procChannelHD`` (``A-HD-1`` … ``D-HD-9``, ACO on B for ``B-HD-2``), plus the
four processor configurations with their personalities, the system
configuration, the console status, the initial active alarms and the ``syncMe``
answers.

Templates are shared by every device of a process and must never be mutated:
``model`` copies what it changes. A template's ``fme_ip`` is a placeholder that
:meth:`Catalog.encoded` replaces with the device's address, so a device that never
changed an object costs no memory for it. This module reads package data only;
it must not do other I/O or hold per-device state.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from exporterhub.simulators.snp.wire import status_item

__all__ = ["PROCESSORS", "Catalog", "ObjectKey", "identity", "load_catalog"]

ObjectKey = tuple[str, str]
"""A status object's identity: ``(type, object_ID)``."""

PROCESSORS: Final = ("processorA", "processorB", "processorC", "processorD")
FME_IP_PLACEHOLDER: Final = "@@FME_IP@@"
_FME_IP_JSON: Final = f'"fme_ip":"{FME_IP_PLACEHOLDER}"'
CHANNELS_PER_PROCESSOR: Final = 9
FIXTURE_FME_IP: Final = "192.0.2.21"
FIXTURE_SERIAL: Final = 2119004417
FIXTURE_NIC: Final = 0x3A1020  # the NIC part of the fixture's MAC_0


def _nic(nic: int, sep: str) -> str:
    return sep.join(f"{(nic >> s) & 0xFF:02X}" for s in (16, 8, 0))


def identity(index: int) -> tuple[dict[str, str], str]:
    """Return device ``index``'s ``SNP_HW_Stats`` serial and MACs, and PTP clock id.

    Device 0 is the fixture's device; later ones count up.

    >>> hardware, clock_identity = identity(1)
    >>> hardware["Serial"], hardware["MAC_0"], clock_identity
    ('2119004418', '00:90:f9:3A:10:24', '00 90 F9 FF FE 3A 10 26')
    """
    nic = FIXTURE_NIC + 4 * index
    hardware = {
        "Serial": str(FIXTURE_SERIAL + index),
        "MAC_0": "00:90:f9:" + _nic(nic, ":"),
        "MAC_1": "00:90:f9:" + _nic(nic + 1, ":"),
    }
    return hardware, "00 90 F9 FF FE " + _nic(nic + 2, " ")


def _load(name: str) -> Any:  # noqa: ANN401 - JSON of any shape
    text = (resources.files("exporterhub.simulators.snp") / "data" / name).read_text(
        encoding="utf-8"
    )
    return json.loads(text)


def _template(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "fme_ip": FME_IP_PLACEHOLDER} if "fme_ip" in obj else obj


def _channels() -> list[dict[str, Any]]:
    on_a = _load("procChannelHD_A-HD-1.json")
    on_b = _load("procChannelHD_B-HD-2.json")
    channels = []
    for letter in "ABCD":
        for number in range(1, CHANNELS_PER_PROCESSOR + 1):
            object_id = f"{letter}-HD-{number}"
            base = on_b if object_id == "B-HD-2" else on_a
            channels.append({**base, "name": object_id, "object_ID": object_id})
    return channels


def _processors() -> list[dict[str, Any]]:
    base = _load("processor_status_processorA.json")
    return [{**base, "name": name, "object_ID": name} for name in PROCESSORS]


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """Shared, read-only templates of a device's objects and answers.

    Attributes:
        objects: status objects by key, in ``allStatuses`` order; ``fme_ip`` is
            a placeholder.
        ptp_unlocked: the ``ptpStatus`` member an unlocked controller reports.
        configs: inner configurations by object id (``processorA`` …, ``system``).
        console: the ``GET /api/console/status`` answer.
        alarms: the initial ``activeAlarms`` entries.
        alarm_config: ``alarmConfigure.alarms``.
        element_status: ``elementStatus.status`` (a JSON string).
        logs: ``logsState.logs``.
        user: ``permissionsMsg.currentUser``.
        group: ``permissionsMsg.userGroup``.
    """

    objects: dict[ObjectKey, dict[str, Any]]
    ptp_unlocked: dict[str, Any]
    configs: dict[str, dict[str, Any]]
    console: dict[str, Any]
    alarms: list[dict[str, Any]]
    alarm_config: list[dict[str, Any]]
    element_status: str
    logs: dict[str, Any]
    user: dict[str, Any]
    group: dict[str, Any]
    _encoded: dict[ObjectKey, str]

    def template(self, key: ObjectKey) -> dict[str, Any] | None:
        """Return the shared template of ``key`` (do not mutate it)."""
        return self.objects.get(key)

    def encoded(self, key: ObjectKey, fme_ip: str) -> str:
        """Return the template of ``key`` as a status item for a device at ``fme_ip``.

        Raises:
            KeyError: no such object.
        """
        return self._encoded[key].replace(_FME_IP_JSON, f'"fme_ip":"{fme_ip}"', 1)


@functools.cache
def load_catalog() -> Catalog:
    """Load the bundled data (once per process)."""
    singletons = [
        _load(name)
        for name in (
            "system.json",
            "ptp_locked.json",
            "ipVidRx.json",
            "ipWan.json",
            "videoGenLock.json",
        )
    ]
    objects: dict[ObjectKey, dict[str, Any]] = {}
    for obj in [*singletons, *_processors(), *_channels()]:
        objects[(obj["type"], obj["object_ID"])] = _template(obj)
    configs = {}
    for name in (*PROCESSORS, "system"):
        envelope = _load(f"config_{name}.json")
        configs[name] = json.loads(envelope["config"])
    permissions = _load("server_permissionsMsg.json")
    return Catalog(
        objects=objects,
        ptp_unlocked=_load("ptp_unlocked.json")["ptpStatus"],
        configs=configs,
        console=_load("console_status.json"),
        alarms=_load("server_activeAlarmStatus.json")["activeAlarms"],
        alarm_config=_load("server_alarmConfigure.json")["alarms"],
        element_status=_load("server_elementStatus.json")["status"],
        logs=_load("server_logsState.json")["logs"],
        user=permissions["currentUser"],
        group=permissions["userGroup"],
        _encoded={key: status_item(obj) for key, obj in objects.items()},
    )
