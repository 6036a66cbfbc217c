"""The original snp-exporter's connection records, to and from this project's settings.

The original kept one flat JSON record per connection (``COMPAT.md``): ``name``,
``restapi``, ``websocket``, ``username``, ``password``, ``objects_ids`` (a list of
``{elementIP, objectType, objectId?}``) and ``enabled``; its API added ``id``,
``created_at``, ``updated_at`` and, in lists, ``status`` and ``last_update``
(SQLite's ``YYYY-MM-DD HH:MM:SS``, UTC). ``SnpTargetSettings`` holds the same
fields (the name in the store's own column), so a record maps onto it key for key
and the settings' further keys (TLS, timing) ride along as extra keys of a record.

Pure functions; no I/O, no HTTP, no store. Passwords pass through as values and are
never put into messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import SecretStr

__all__ = [
    "READ_ONLY",
    "REQUIRED",
    "TLS_FIELDS",
    "enabled_of",
    "export_record",
    "record_answer",
    "settings_from_record",
    "sqlite_time",
    "status_of",
]

REQUIRED: Final = (
    "name",
    "restapi",
    "websocket",
    "username",
    "password",
    "objects_ids",
)
"""What the original's import required of every connection."""
READ_ONLY: Final = ("id", "status", "last_update", "created_at", "updated_at")
"""Keys the original's answers carry that a client may send back: ignored."""
TLS_FIELDS: Final = ("tls_verify", "ca_file", "tls_fingerprint", "legacy_tls")
"""This project's TLS settings; a record without any of them is the original's."""
_FIRST: Final = ("restapi", "websocket", "username", "password", "objects_ids")
_OBJECT_KEYS: Final = ("elementIP", "objectType", "objectId")
_DEFAULT_RECONNECT_MAX: Final = 60.0


def sqlite_time(when: datetime | float | None) -> str | None:
    """Return a time as the original's SQLite did: ``YYYY-MM-DD HH:MM:SS`` in UTC.

    >>> sqlite_time(1_700_000_000.5), sqlite_time(None)
    ('2023-11-14 22:13:20', None)
    """
    if when is None:
        return None
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def enabled_of(value: object) -> bool | None:
    """Return ``enabled`` as a bool; the original stored 0/1 and took either.

    >>> enabled_of(True), enabled_of(0), enabled_of("yes")
    (True, False, None)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def settings_from_record(
    record: Mapping[str, Any], *, interval: float, legacy: bool
) -> dict[str, Any]:
    """Return a record's settings: every key but the name, enabled and read-only ones.

    Args:
        record: the connection as the original's API or export has it, possibly
            with this project's extra keys.
        interval: the base reconnect delay (``INTERVAL``) for a record naming none.
        legacy: the record comes from the original (an import or the migration):
            unless it names a TLS setting of its own, verification is off and the
            connection is marked ``legacy_tls``, as the original never verified.

    >>> settings_from_record({"name": "a", "id": 4, "username": "u"},
    ...                      interval=5, legacy=True)
    {'username': 'u', 'interval': 5, 'tls_verify': False, 'legacy_tls': True}
    """
    skip = {"name", "enabled", *READ_ONLY}
    settings = {key: value for key, value in record.items() if key not in skip}
    if "interval" not in settings:
        settings["interval"] = interval
        if interval > _DEFAULT_RECONNECT_MAX and "reconnect_max" not in settings:
            settings["reconnect_max"] = interval
    if legacy and not any(key in record for key in TLS_FIELDS):
        settings["tls_verify"] = False
        settings["legacy_tls"] = True
    return settings


def _object(item: Any) -> Any:  # noqa: ANN401 - stored JSON, possibly invalid
    """Return one entry in the wire's key order, without a null ``objectId``."""
    if not isinstance(item, dict):
        return item
    first = {k: item[k] for k in _OBJECT_KEYS if k in item}
    entry = {**first, **{k: v for k, v in item.items() if k not in first}}
    if entry.get("objectId", "") is None:
        del entry["objectId"]
    return entry


def _objects(value: Any) -> Any:  # noqa: ANN401 - stored JSON, possibly invalid
    """Return ``objects_ids`` as the original showed them.

    >>> _objects([{"objectType": "ptp", "objectId": None, "elementIP": "127.0.0.1"}])
    [{'elementIP': '127.0.0.1', 'objectType': 'ptp'}]
    """
    return [_object(item) for item in value] if isinstance(value, list) else value


def _ordered(name: str, settings: Mapping[str, Any], enabled: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name}
    for key in _FIRST:
        if key in settings:
            record[key] = settings[key]
    record["enabled"] = enabled
    record.update((k, v) for k, v in settings.items() if k not in record)
    if "objects_ids" in record:
        record["objects_ids"] = _objects(record["objects_ids"])
    return record


def status_of(answer: Mapping[str, Any]) -> str:
    """Return the original's ``status`` word for a target answer.

    ``connecting``, ``connected``, ``disconnected`` or ``error`` as the worker
    reports it; a disabled connection is ``disconnected`` (no worker), one whose
    settings no longer validate ``error``.

    >>> status_of({"enabled": True, "invalid": None, "link": "connected"})
    'connected'
    >>> status_of({"enabled": False, "invalid": None, "link": "connected"})
    'disconnected'
    """
    if answer["invalid"]:
        return "error"
    if not answer["enabled"]:
        return "disconnected"
    link = answer["link"]
    return str(link) if link else "disconnected"


def record_answer(
    answer: Mapping[str, Any], conn_id: int, *, with_status: bool
) -> dict[str, Any]:
    """Return a target answer (secrets already null) as the original's record.

    The original's keys in its order (``password`` null: write-only here),
    ``legacy_tls``, and with ``with_status`` (the list) ``status`` and
    ``last_update``.
    """
    settings = answer["settings"]
    record: dict[str, Any] = {"id": conn_id, "name": answer["name"]}
    for key in _FIRST:
        record[key] = settings.get(key)
    record["objects_ids"] = _objects(record["objects_ids"])
    record["enabled"] = answer["enabled"]
    record["legacy_tls"] = settings.get("legacy_tls") is True
    record["created_at"] = sqlite_time(answer["created_at"])
    record["updated_at"] = sqlite_time(answer["updated_at"])
    if with_status:
        record["status"] = status_of(answer)
        record["last_update"] = sqlite_time(answer["changed_at"])
    return record


def _plain(value: Any, include_secrets: bool) -> Any:  # noqa: ANN401 - JSON values
    if isinstance(value, dict):
        return {
            k: _plain(v, include_secrets)
            for k, v in value.items()
            if include_secrets or not isinstance(v, SecretStr)
        }
    if isinstance(value, list):
        return [_plain(v, include_secrets) for v in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def export_record(
    name: str, settings: Mapping[str, Any], enabled: bool, *, include_secrets: bool
) -> dict[str, Any]:
    """Return a stored connection as an entry of the original's export document.

    The original's keys first, then this project's settings (TLS, timing), so an
    import of the file restores them; ``password`` only with ``include_secrets``.

    >>> export_record("a", {"username": "u", "password": SecretStr("pw")}, True,
    ...               include_secrets=False)
    {'name': 'a', 'username': 'u', 'enabled': True}
    """
    return _ordered(name, _plain(dict(settings), include_secrets), enabled)
