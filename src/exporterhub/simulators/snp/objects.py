"""A device's status objects: copy-on-write over the shared catalog templates.

:class:`ObjectStore` answers reads from the shared templates (``catalog``) with
the device's ``fme_ip`` until an object is edited; :meth:`ObjectStore.edit` then
gives the device its own shallow copy of that object with only the named members
deep-copied, so thousands of devices that drift a few values share everything
else. Encoded status items (the JSON strings inside ``statuses``) are cached per
edited object until the next edit.

No I/O, no clock, no change notification (``model`` does that).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from exporterhub.simulators.snp.catalog import Catalog, ObjectKey
from exporterhub.simulators.snp.wire import status_item

__all__ = ["ObjectStore"]


class ObjectStore:
    """The status objects of one device."""

    def __init__(self, catalog: Catalog, fme_ip: str) -> None:
        self.fme_ip = fme_ip
        self._catalog = catalog
        self._own: dict[ObjectKey, dict[str, Any]] = {}
        self._owned: dict[ObjectKey, set[str]] = {}
        self._encoded: dict[ObjectKey, str] = {}
        self._extra: list[ObjectKey] = []

    def all_keys(self) -> list[ObjectKey]:
        """Return every object's key, in ``allStatuses`` order."""
        return [*self._catalog.objects, *self._extra]

    def find(self, object_type: str, object_id: str | None = None) -> ObjectKey:
        """Return the key of an object; a singleton may be named by type alone.

        Raises:
            KeyError: no such object.
        """
        if object_id is not None:
            key = (object_type, object_id)
            if key in self._own or self._catalog.template(key) is not None:
                return key
        else:
            for key in self.all_keys():
                if key[0] == object_type:
                    return key
        raise KeyError((object_type, object_id))

    def obj(self, key: ObjectKey) -> dict[str, Any]:
        """Return an object for reading (a template view or the device's copy).

        Raises:
            KeyError: no such object.
        """
        own = self._own.get(key)
        if own is not None:
            return own
        template = self._catalog.template(key)
        if template is None:
            raise KeyError(key)
        return {**template, "fme_ip": self.fme_ip}

    def item(self, key: ObjectKey) -> str:
        """Return an object as the JSON string sent inside ``statuses``."""
        if key not in self._own:
            return self._catalog.encoded(key, self.fme_ip)
        encoded = self._encoded.get(key)
        if encoded is None:
            encoded = self._encoded[key] = status_item(self._own[key])
        return encoded

    def edit(self, key: ObjectKey, *members: str) -> dict[str, Any]:
        """Return the device's own copy of ``key`` to change, ``members`` deep-copied.

        Raises:
            KeyError: no such object.
        """
        obj = self._own.get(key)
        if obj is None:
            obj = self._own[key] = self.obj(key)
            self._owned[key] = set()
        owned = self._owned[key]
        for member in members:
            if member not in owned:
                obj[member] = copy.deepcopy(obj[member])
                owned.add(member)
        self._encoded.pop(key, None)
        return obj

    def replace(self, obj: Mapping[str, Any]) -> ObjectKey:
        """Store a whole object (a deep copy), keyed by ``type`` and ``object_ID``."""
        key = (str(obj["type"]), str(obj["object_ID"]))
        if self._catalog.template(key) is None and key not in self._extra:
            self._extra.append(key)
        self._own[key] = copy.deepcopy(dict(obj))
        self._owned[key] = set(self._own[key])
        self._encoded.pop(key, None)
        return key
