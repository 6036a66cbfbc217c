"""The original pyprom-exporters ``config.yaml``, read as that program meant it.

andylamp/pyprom-exporters rewrote ``config.yaml`` with every key on every start, so
every install of it has one: top level ``config_file``, ``write_non_default_config``,
``log_level``, ``prometheus_port`` and ``exporters.tapo`` with ``devices``,
``prometheus_options.refresh_interval`` (default 1; ``null`` = read the plugs when
scraped), ``discovery_options`` (``perform_discovery`` … ``timeout``,
``with_update``, ``current_consumption_key``, ``tapo_username_env_key``,
``tapo_password_env_key``), ``supported_device_families`` (``PLUG: true``: the
original wrote enum names, and read names or values) and
``per_device_family_metrics.plug`` (per metric ``name``, ``documentation``,
``labels``). A file without ``exporters`` is the older layout: the tapo keys at the
top level (this reader also takes the four top-level keys beside them there, which
the original refused).

``read_original`` turns such a mapping into ``OriginalFile``: the top-level port
and log level, the section in today's keys (``section.TapoSection`` validates it),
what today's section has no key for (the refresh interval as given, the plug
family switch, the metric names, the credential variables' names) and, in
``ignored``, every key that cannot be honoured, for one WARNING line at start.
Missing keys take the original's defaults (a file written with
``write_non_default_config: true`` holds only what differed from them).

Pure: no environment, no files, no logging; the caller does those.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Final

from exporterhub.core.errors import ConfigError

__all__ = [
    "HUB_KEYS",
    "ORIGINAL_DEFAULT_REFRESH",
    "ORIGINAL_METRICS",
    "LegacyMetric",
    "OriginalFile",
    "is_original",
    "read_original",
]

ORIGINAL_DEFAULT_REFRESH: Final = 1.0
"""The original's ``refresh_interval`` default, seconds."""
_TOP_KEYS: Final = (
    "config_file",
    "write_non_default_config",
    "log_level",
    "prometheus_port",
)
HUB_KEYS: Final = frozenset({"exporters", "web", "log", "store"})
"""Top-level keys of an exporterhub file: not the original's, but not unknown."""
_DISCOVERY_ONLY: Final = (
    "with_update",
    "current_consumption_key",
    "tapo_username_env_key",
    "tapo_password_env_key",
    "timeout",
)
_SECTION_ONLY: Final = ("supported_device_families", "per_device_family_metrics")
_OLDER_LAYOUT: Final = (
    *_SECTION_ONLY,
    "devices",
    "prometheus_options",
    "discovery_options",
    "log_level",
    "prometheus_port",
)
"""Keys that make a file without ``exporters`` the original's older layout."""
_TODAY_SECTION: Final = frozenset(
    {"enabled", "devices", "discovery_options", "prometheus_options", "credentials"}
    | {"timeout", "poll_deadline"}
)
_TODAY_PROMETHEUS: Final = frozenset({"refresh_interval", "legacy_metrics"})

ORIGINAL_METRICS: Final = {
    "CURRENT_VOLTAGE": "current_voltage",
    "CURRENT_CURRENT": "current_current",
    "CURRENT_RSSI": "current_rssi",
    "CURRENT_MONTH_CONSUMPTION": "current_month_consumption",
    "CURRENT_TODAY_CONSUMPTION": "current_consumption_today",
    "CURRENT_CONSUMPTION": "current_consumption",
}
"""The original's plug metrics: enum name (as it wrote them) to value (its name)."""
_DEFAULT_DOCS: Final = frozenset(
    {
        "Current voltage in volts",
        "Current current in amps",
        "Current RSSI (Received Signal Strength Indicator)",
        "Energy consumed this month in watt-hours",
        "Energy consumed today in watt-hours",
        "Current consumption in watts",
    }
)
"""The original's HELP texts: ours are kept for those (they say kWh, correctly)."""
_DEFAULT_LABELS: Final = ("host", "alias")
_METRIC_NAME: Final = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OUR_LABELS: Final = frozenset({"target"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyMetric:
    """One of the original's plug metrics as the file names it.

    Attributes:
        key: the original's name (``current_voltage`` …), which picks the value.
        name: the exposed name (``per_device_family_metrics.plug.<M>.name``).
        documentation: the HELP text; None keeps ours.
        labels: the names of the two labels, the plug's host and its alias.
        enabled: False when the file set the metric to ``null`` or ``false``.
    """

    key: str
    name: str
    documentation: str | None = None
    labels: tuple[str, str] = _DEFAULT_LABELS
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginalFile:
    """What an original ``config.yaml`` says, in terms today's exporter uses.

    Attributes:
        prometheus_port: the top-level port, as written (the settings validate it).
        log_level: the top-level level, as written (a name or a number).
        section: the ``exporters.tapo`` section in today's keys.
        refresh_interval: seconds between polls as given; None = when scraped.
        plug_family: ``supported_device_families.plug`` (False: no plug is read).
        metrics: the original's metric names, in its order.
        username_env: the variable holding the username (``TP_LINK_USERNAME``).
        password_env: likewise for the password.
        username: a username written in ``discovery_options.credentials``.
        password: likewise a password.
        ignored: ``key (why)`` for every key that cannot be honoured.
    """

    prometheus_port: Any = None
    log_level: Any = None
    section: dict[str, Any] = field(default_factory=dict)
    refresh_interval: float | None = ORIGINAL_DEFAULT_REFRESH
    plug_family: bool = True
    metrics: tuple[LegacyMetric, ...] = ()
    username_env: str = "TP_LINK_USERNAME"
    password_env: str = "TP_LINK_PASSWORD"  # noqa: S105 - a variable's name
    username: str | None = None
    password: str | None = None
    ignored: tuple[str, ...] = ()


def _section_of(data: Mapping[str, Any]) -> object:
    """Return the tapo section: ``exporters.tapo``, or the file (older layout)."""
    if "exporters" not in data:
        return {k: v for k, v in data.items() if k not in _TOP_KEYS}
    exporters = data.get("exporters")
    return exporters.get("tapo") if isinstance(exporters, Mapping) else None


def is_original(data: Mapping[str, Any]) -> bool:
    """Say whether a parsed ``config.yaml`` is (or has keys of) the original's.

    >>> is_original({"exporters": {"tapo": {"devices": ["a"]}}})
    False
    >>> is_original({"write_non_default_config": False})
    True
    >>> is_original({"devices": ["a"]})  # the older layout
    True
    >>> is_original({"web": {"listen_address": ":8750"}})  # an exporterhub file
    False
    """
    if any(key in data for key in ("config_file", "write_non_default_config")):
        return True
    if "exporters" not in data:
        return any(key in data for key in _OLDER_LAYOUT)
    section = _section_of(data)
    if not isinstance(section, Mapping):
        return False
    if any(key in section for key in _SECTION_ONLY):
        return True
    discovery = section.get("discovery_options")
    # discovery_options.timeout alone is no mark: it reads the same either way.
    return isinstance(discovery, Mapping) and any(
        key in discovery for key in _DISCOVERY_ONLY if key != "timeout"
    )


class _Reader:
    """Collects the translation and what it could not honour."""

    def __init__(self, source: str, prefix: str) -> None:
        self.source = source
        self.prefix = prefix
        self.ignored: list[str] = []

    def ignore(self, key: str, why: str) -> None:
        self.ignored.append(f"{self.prefix}{key} ({why})")

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {problem}")

    def mapping(self, value: object, key: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a mapping")
        return value

    def env_name(self, value: object, key: str, default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be the name of an environment variable")
        return value.strip()


def _refresh(reader: _Reader, options: Mapping[str, Any]) -> float | None:
    if "refresh_interval" not in options:
        return ORIGINAL_DEFAULT_REFRESH
    value = options["refresh_interval"]
    if value is None:
        return None
    if isinstance(value, str):  # OmegaConf turned "5" into 5 for the int field
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(
            "prometheus_options.refresh_interval", "must be seconds or null"
        )
    if value < 1:
        reader.ignore(
            "prometheus_options.refresh_interval",
            f"{value} s would poll without pause; 1 s is used",
        )
        return 1.0
    if value > 86400:
        raise reader.fail(
            "prometheus_options.refresh_interval", "must be at most 86400 seconds"
        )
    return float(value)


def _families(reader: _Reader, value: object) -> bool:
    families = reader.mapping(value, "supported_device_families")
    plug = True
    for family, enabled in families.items():
        if str(family).lower() == "plug":
            if not isinstance(enabled, bool):
                raise reader.fail(
                    f"supported_device_families.{family}", "must be true or false"
                )
            plug = enabled
        else:
            reader.ignore(
                f"supported_device_families.{family}", "unknown family; plugs only"
            )
    return plug


def _labels(reader: _Reader, key: str, value: object) -> tuple[str, str] | None:
    names = value if isinstance(value, list) else None
    if (
        names is None
        or len(names) != 2
        or not all(isinstance(n, str) and _LABEL_NAME.match(n) for n in names)
        or names[0] == names[1]
        or any(n in _OUR_LABELS or n.startswith("__") for n in names)
    ):
        reader.ignore(
            key,
            "must name the two labels host and alias, valid, distinct and not "
            "target; host, alias kept",
        )
        return None
    return (names[0], names[1])


def _metric(
    reader: _Reader, key: str, original: str, value: object, taken: set[str]
) -> LegacyMetric:
    where = f"per_device_family_metrics.plug.{key}"
    if value is None or value is False:
        return LegacyMetric(key=original, name=original, enabled=False)
    if not isinstance(value, Mapping):
        raise reader.fail(where, "must be a mapping with name, documentation, labels")
    name = value.get("name", original)
    if name is None:
        return LegacyMetric(key=original, name=original, enabled=False)
    if not isinstance(name, str) or not _METRIC_NAME.match(name):
        reader.ignore(
            f"{where}.name", f"{name!r} is not a metric name; {original} kept"
        )
        name = original
    elif name != original and (name.startswith("tapo_") or name in taken):
        reader.ignore(f"{where}.name", f"{name!r} is taken; {original} kept")
        name = original
    taken.add(name)
    documentation = value.get("documentation")
    if documentation is not None and not isinstance(documentation, str):
        raise reader.fail(f"{where}.documentation", "must be text")
    if documentation in _DEFAULT_DOCS or documentation == "":
        documentation = None
    labels = _DEFAULT_LABELS
    if "labels" in value and value["labels"] != list(_DEFAULT_LABELS):
        labels = _labels(reader, f"{where}.labels", value["labels"]) or labels
    for extra in sorted(set(value) - {"name", "documentation", "labels"}):
        reader.ignore(f"{where}.{extra}", "unknown key")
    return LegacyMetric(
        key=original, name=name, documentation=documentation, labels=labels
    )


def _metrics(reader: _Reader, value: object) -> tuple[LegacyMetric, ...]:
    families = reader.mapping(value, "per_device_family_metrics")
    given: Mapping[str, Any] = {}
    for family, metrics in families.items():
        if str(family).lower() == "plug":
            given = reader.mapping(metrics, f"per_device_family_metrics.{family}")
        else:
            reader.ignore(f"per_device_family_metrics.{family}", "unknown family")
    values = set(ORIGINAL_METRICS.values())
    chosen: dict[str, tuple[str, object]] = {}
    for key, entry in given.items():
        text = str(key)
        original = ORIGINAL_METRICS.get(text.upper())  # the enum name, as written
        if original is None and text.lower() in values:
            original = text.lower()  # the enum value, which the original read too
        if original is None:
            reader.ignore(f"per_device_family_metrics.plug.{key}", "unknown metric")
            continue
        chosen[original] = (str(key), entry)
    taken = {v for v in ORIGINAL_METRICS.values() if v not in chosen}
    result = []
    for original in ORIGINAL_METRICS.values():
        if original not in chosen:
            result.append(LegacyMetric(key=original, name=original))
            continue
        key, entry = chosen[original]
        taken.discard(original)
        result.append(_metric(reader, key, original, entry, taken))
    return tuple(result)


def _discovery(
    reader: _Reader, value: object, section: dict[str, Any]
) -> dict[str, Any]:
    """Today's ``discovery_options``; the original's own keys handled here."""
    given = dict(reader.mapping(value, "discovery_options"))
    today: dict[str, Any] = {"perform_discovery": True}  # the original's default
    credentials = given.pop("credentials", None)
    if isinstance(credentials, str):
        today["credentials"] = credentials  # today's: a named set
    timeout = given.pop("timeout", None)
    if timeout is not None and "timeout" not in section:
        section["timeout"] = timeout  # the per-request timeout, as python-kasa's
    if given.pop("with_update", True) is not True:
        reader.ignore(
            "discovery_options.with_update", "plugs are always read after discovery"
        )
    key = given.pop("current_consumption_key", "current_consumption")
    if key != "current_consumption":
        reader.ignore(
            "discovery_options.current_consumption_key",
            "the original never used it; power is python-kasa's current_consumption",
        )
    given.pop("tapo_username_env_key", None)
    given.pop("tapo_password_env_key", None)
    today.update(given)
    return today


def _credentials(reader: _Reader, discovery: object) -> tuple[str | None, str | None]:
    if not isinstance(discovery, Mapping):
        return None, None
    given = discovery.get("credentials")
    if given is None or isinstance(given, str):
        return None, None
    creds = reader.mapping(given, "discovery_options.credentials")
    username, password = creds.get("username"), creds.get("password")
    if not all(v is None or isinstance(v, str) for v in (username, password)):
        raise reader.fail(
            "discovery_options.credentials", "username and password are text"
        )
    return username, password


def _once(devices: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for device in devices:
        if device not in seen:
            seen.append(device)
    return seen


def read_original(data: Mapping[str, Any], source: str) -> OriginalFile:
    """Read an original ``config.yaml`` (either layout) into ``OriginalFile``.

    Args:
        data: the parsed file.
        source: the file's path, for errors.

    Raises:
        ConfigError: a value of the wrong kind, naming the file and the key.
    """
    wrapped = "exporters" in data
    prefix = "exporters.tapo." if wrapped else ""
    top = _Reader(source, "")
    if wrapped:
        for key in data:
            if key not in _TOP_KEYS and key not in HUB_KEYS:
                top.ignore(str(key), "unknown key")
        exporters = top.mapping(data["exporters"], "exporters")
        for key in exporters:
            if key != "tapo":
                top.ignore(
                    f"exporters.{key}", "this command runs the tapo exporter only"
                )
    named = data.get("config_file")
    if named is not None and str(named) != PurePath(source).name:
        top.ignore("config_file", f"this file is {source}; --config names another")
    if data.get("write_non_default_config") is True:
        top.ignore("write_non_default_config", "config.yaml is never written")
    raw = dict(top.mapping(_section_of(data), "exporters.tapo"))
    reader = _Reader(source, prefix)
    section: dict[str, Any] = {}
    options = dict(
        reader.mapping(raw.pop("prometheus_options", None), "prometheus_options")
    )
    refresh = _refresh(reader, options)
    options.pop("refresh_interval", None)
    for key in set(options) - _TODAY_PROMETHEUS:
        reader.ignore(f"prometheus_options.{key}", "unknown key")
        del options[key]
    # The original's names were its only ones: served unless the file says not.
    options.setdefault("legacy_metrics", True)
    section["prometheus_options"] = options
    plug = _families(reader, raw.pop("supported_device_families", None))
    metrics = _metrics(reader, raw.pop("per_device_family_metrics", None))
    discovery_raw = raw.pop("discovery_options", None)
    given = reader.mapping(discovery_raw, "discovery_options")
    username, password = _credentials(reader, discovery_raw)
    env_user = reader.env_name(
        given.get("tapo_username_env_key"),
        "discovery_options.tapo_username_env_key",
        "TP_LINK_USERNAME",
    )
    env_pass = reader.env_name(
        given.get("tapo_password_env_key"),
        "discovery_options.tapo_password_env_key",
        "TP_LINK_PASSWORD",
    )
    for key in sorted(set(raw) - _TODAY_SECTION, key=str):
        reader.ignore(str(key), "unknown key")
        del raw[key]
    section.update(raw)
    if isinstance(section.get("devices"), list):
        # The original kept its plugs in a dict by address: a repeat was one plug.
        section["devices"] = _once(section["devices"])
    section["discovery_options"] = _discovery(reader, discovery_raw, section)
    return OriginalFile(
        prometheus_port=data.get("prometheus_port"),
        log_level=data.get("log_level"),
        section=section,
        refresh_interval=refresh,
        plug_family=plug,
        metrics=metrics,
        username_env=env_user,
        password_env=env_pass,
        username=username,
        password=password,
        ignored=(*top.ignored, *reader.ignored),
    )
