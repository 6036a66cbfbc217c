"""A device's configuration side: personalities, config objects, SMM answers.

Processor personalities live in configuration, not in status (``snp.md`` §3.1,
§5.6): :class:`ConfigStore` renders ``processorA`` … ``processorD`` and ``system``
from the shared catalog with this device's personality changes, as dicts (REST
envelopes) or as JSON strings with ``fme_ip`` (``objectsState``, ``allObjects``),
and the other per-device answers built from the catalog: ``elementStatus``,
``alarmConfigure``, the ``permissionsMsg`` user and the console status.

No I/O, no clock (times are passed in), no notifications (``model`` sends them).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from exporterhub.simulators.snp.catalog import FIXTURE_FME_IP, PROCESSORS, Catalog
from exporterhub.simulators.snp.wire import power_on_text, uptime_text

__all__ = ["CONFIG_OBJECTS", "ConfigStore"]

CONFIG_OBJECTS: Final = (*PROCESSORS, "system")


class ConfigStore:
    """The configurations and SMM answers of one device."""

    def __init__(self, catalog: Catalog, *, fme_ip: str, serial: str) -> None:
        self._catalog = catalog
        self._fme_ip = fme_ip
        self._serial = serial
        self._personalities: dict[str, str] = {}

    def get(self, object_id: str) -> dict[str, Any] | None:
        """Return ``processorA`` … ``processorD`` or ``system``, else ``None``."""
        template = self._catalog.configs.get(object_id)
        if template is None or object_id not in self._personalities:
            return template
        general = {**template["general"], "personality": self._personalities[object_id]}
        return {**template, "general": general}

    def set_personality(self, processor: str, personality: str) -> None:
        """Change a processor's personality.

        Raises:
            KeyError: no such processor.
        """
        if processor not in PROCESSORS:
            raise KeyError(f"no processor {processor!r}")
        self._personalities[processor] = personality

    def item(self, object_id: str) -> str:
        """Return a configuration as sent in ``configurations`` (with ``fme_ip``).

        Raises:
            KeyError: no such configuration.
        """
        config = self.get(object_id)
        if config is None:
            raise KeyError(object_id)
        return orjson.dumps({**config, "fme_ip": self._fme_ip}).decode()

    def items(self) -> list[str]:
        """Return every configuration as :meth:`item` does."""
        return [self.item(object_id) for object_id in CONFIG_OBJECTS]

    def element_status(self) -> str:
        """Return ``elementStatus.status`` with this device's address."""
        return self._catalog.element_status.replace(FIXTURE_FME_IP, self._fme_ip)

    def alarm_config(self) -> list[dict[str, Any]]:
        """Return ``alarmConfigure.alarms`` with this device's address."""
        return [
            {**a, "fme_ip_address": self._fme_ip} for a in self._catalog.alarm_config
        ]

    def user(self, username: str) -> dict[str, Any]:
        """Return ``permissionsMsg.currentUser`` for ``username``."""
        email = f"{username}@example.net"
        return {**self._catalog.user, "username": username, "email": email}

    def console_status(self, up_seconds: float) -> dict[str, Any]:
        """Return ``GET /api/console/status`` for a device up ``up_seconds``."""
        data = {
            **self._catalog.console["data"],
            "upTime": uptime_text(up_seconds),
            "pwrOnTime": power_on_text(up_seconds),
            "serialNum": self._serial,
        }
        return {**self._catalog.console, "data": data}
